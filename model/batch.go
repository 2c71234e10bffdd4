package model

import "fmt"

// Batched decoding: several independent sequences (say the slots of a
// server) each add one token, and the step runs as one forward pass over
// n token rows. Every weight matrix — the Q/K/V/output projections, the
// feed-forward and the output matrix — is then multiplied once by n
// activations instead of n times by one, so the weights stream from
// memory once per step for all sequences. Token generation is bound by
// that memory traffic, which is why n streams decoded together give more
// tokens per second than n streams decoded one after another.
//
// Only attention differs per row: each row attends over its own cache at
// its own position (RoPE included). Row i's arithmetic is exactly that of
// Forward(caches[i], []int32{tokens[i]}, false): the matrix kernels
// compute each activation row independently, and the attention kernel is
// chosen per sequence (one token per sequence: the one-row kernel under
// AttentionGGML, as for any single-token decode step).

// BatchModel is a Model that can decode one token for each of several
// sequences in a single forward pass. The decoder-only models Load returns
// implement it.
type BatchModel interface {
	Model
	// ForwardBatch evaluates tokens[i] at position caches[i].Len() of
	// sequence i, appends its key/value to caches[i], and returns the
	// logits, len(tokens)×VocabSize values, row i for sequence i. The
	// caches must be distinct and belong to this model. The returned
	// slice is reused by the next call (Forward or ForwardBatch). On
	// error no cache is changed.
	ForwardBatch(caches []*Cache, tokens []int32) ([]float32, error)
}

// ForwardBatch decodes one token per cache in one pass. See BatchModel.
func (m *decoder) ForwardBatch(caches []*Cache, tokens []int32) ([]float32, error) {
	cfg := &m.cfg
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("model: forward batch: no tokens")
	}
	if len(caches) != n {
		return nil, fmt.Errorf("model: forward batch: %d caches for %d tokens", len(caches), n)
	}
	maxCtx := 0
	for i, c := range caches {
		if c == nil || c.layers() != cfg.BlockCount || c.kvDim != m.kvDim() {
			return nil, fmt.Errorf("model: forward batch: cache %d does not belong to this model", i)
		}
		if c.n+1 > c.nCtx {
			return nil, fmt.Errorf("model: forward batch: sequence %d: position %d exceeds the context of %d", i, c.n, c.nCtx)
		}
		for j := range i {
			if caches[j] == c {
				return nil, fmt.Errorf("model: forward batch: sequences %d and %d share a cache", j, i)
			}
		}
		if t := tokens[i]; t < 0 || int(t) >= m.tokEmbd.rows {
			return nil, fmt.Errorf("model: forward batch: token %d (sequence %d) out of range [0, %d)", t, i, m.tokEmbd.rows)
		}
		maxCtx = max(maxCtx, c.nCtx)
	}
	m.ensure(n, maxCtx, n)
	s := &m.s
	for i, c := range caches {
		s.rowCache[i], s.rowPos[i] = c, c.n
	}
	if err := m.embed(tokens); err != nil {
		return nil, err
	}
	for il := range m.layers {
		m.attentionBlock(il, n, 1)
		m.ffnBlock(il, n)
	}
	for _, c := range caches {
		c.n++
	}
	return m.outputRows(n, n), nil
}
