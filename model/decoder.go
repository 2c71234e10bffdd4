package model

import (
	"fmt"

	"golem/tensor"
)

// layer holds one transformer block's weights. Optional parts are nil when
// the architecture lacks them.
type layer struct {
	attnNorm     []float32
	wq, wk, wv   *weight   // separate projections, or
	wqkv         *weight   // fused q|k|v rows (phi3)
	bq, bk, bv   []float32 // optional biases (qwen2; some llama files)
	bo           []float32
	qNorm, kNorm []float32 // per-head RMS norms before RoPE (qwen3, gemma3)
	wo           *weight
	postAttnNorm []float32 // gemma: normalizes the attention output

	ffnNorm     []float32
	wGate, wUp  *weight // separate projections, or
	wGateUp     *weight // fused gate|up rows (phi3)
	wDown       *weight
	bGate, bUp  []float32 // optional FFN biases (some llama files)
	bDown       []float32
	postFFNNorm []float32 // gemma: normalizes the FFN output
}

// decoder is the forward pass shared by all architectures: pre-norm
// blocks of attention and gated feed-forward with residual connections.
type decoder struct {
	cfg     Config
	geglu   bool // FFN activation gelu(gate)*up instead of silu(gate)*up
	scaleQ  bool // multiply Q by AttnScale before attention (gemma, phi3), as llama.cpp does
	tokEmbd *weight
	outNorm []float32
	output  *weight
	layers  []layer
	kt, vt  tensor.Type // KV cache storage types (Options)
	s       scratch
	mt      mulTask
	at      attnTask
	bt      batchAttnTask
}

// scratch holds the activation buffers, sized for the largest batch so far
// so that steady-state decoding allocates nothing.
type scratch struct {
	x, xb, xb2          []float32 // n × embd
	q, k, v, qkv, att   []float32
	gate, up, gateUp, h []float32
	scores              []float32
	parts               []attnScratch  // attentionAny scratch, one per part
	batch               []batchScratch // batchAttnTask scratch, one per part
	kf, vf              []float32      // batchAttnTask: keys/values as float32
	accF16              []uint16       // attentionOneRow accumulators, one row per part
	qF16                []float32
	oneRowExp           []float32 // attentionOneRow's exponentials, one row per part (scores holds its score differences)
	cs, csSWA           []float32
	logits              []float32
	// act holds the activations quantized for mulFused, one slot per
	// fused matrix; actType and actCols say what each slot holds.
	act     [maxFused][]byte
	actType [maxFused]tensor.Type
	actCols [maxFused]int

	// rowCache and rowPos say, for each of the n token rows of a step,
	// which sequence's cache it belongs to and its position there: all
	// the same cache for Forward, one cache per row for ForwardBatch.
	rowCache []*Cache
	rowPos   []int
	// ctxStride is the scores row length per attnTask part (the largest
	// cache of the step).
	ctxStride int
}

func (m *decoder) Config() *Config { return &m.cfg }

func (m *decoder) kvDim() int { return m.cfg.HeadCountKV * m.cfg.HeadDim }

// NewCache allocates a KV cache for nCtx positions (at least 1).
func (m *decoder) NewCache(nCtx int) *Cache {
	return newCache(m.cfg.BlockCount, m.kvDim(), m.cfg.HeadDim, max(nCtx, 1), m.kt, m.vt)
}

// ensure sizes the scratch buffers for a batch of n tokens over a cache of
// nCtx positions and nOut output rows.
func (m *decoder) ensure(n, nCtx, nOut int) {
	c := &m.cfg
	s := &m.s
	grow := func(b *[]float32, size int) {
		if cap(*b) < size {
			*b = make([]float32, size)
		}
		*b = (*b)[:size]
	}
	qDim, kvDim, ff := c.HeadCount*c.HeadDim, m.kvDim(), c.FeedForwardLength
	grow(&s.x, n*c.EmbeddingLength)
	grow(&s.xb, n*max(c.EmbeddingLength, qDim))
	grow(&s.xb2, n*c.EmbeddingLength)
	grow(&s.q, n*qDim)
	grow(&s.k, n*kvDim)
	grow(&s.v, n*kvDim)
	grow(&s.att, n*qDim)
	if m.layers[0].wqkv != nil {
		grow(&s.qkv, n*(qDim+2*kvDim))
	}
	if m.layers[0].wGateUp != nil {
		grow(&s.gateUp, n*2*ff)
	}
	grow(&s.gate, n*ff)
	grow(&s.up, n*ff)
	grow(&s.h, n*ff)
	workersOnce.Do(startWorkers)
	grow(&s.scores, (nWorkers+1)*nCtx) // one row per part of attnTask
	grow(&s.oneRowExp, (nWorkers+1)*nCtx)
	grow(&s.qF16, (nWorkers+1)*c.HeadDim)
	if len(s.parts) < nWorkers+1 || len(s.parts[0].qh) != c.HeadDim {
		s.parts = make([]attnScratch, nWorkers+1)
		for i := range s.parts {
			hd := c.HeadDim
			s.parts[i] = attnScratch{qh: make([]float32, hd), acc32: make([]float32, hd), acc16: make([]uint16, hd),
				qAct: make([]byte, 4*hd), vChunk: make([]float32, anyChunk*hd)}
		}
	}
	if len(s.accF16) < (nWorkers+1)*c.HeadDim {
		s.accF16 = make([]uint16, (nWorkers+1)*c.HeadDim)
	}
	grow(&s.cs, c.Rope.Dims)
	grow(&s.csSWA, c.RopeSWA.Dims)
	grow(&s.logits, nOut*c.VocabSize)
	s.ctxStride = nCtx
	if cap(s.rowCache) < n {
		s.rowCache = make([]*Cache, n)
		s.rowPos = make([]int, n)
	}
	s.rowCache, s.rowPos = s.rowCache[:n], s.rowPos[:n]
}

// Forward evaluates tokens at positions c.Len()... and appends their keys
// and values to c. See Model.Forward.
func (m *decoder) Forward(c *Cache, tokens []int32, all bool) ([]float32, error) {
	cfg := &m.cfg
	n := len(tokens)
	if n == 0 {
		return nil, fmt.Errorf("model: forward: no tokens")
	}
	if c == nil || c.layers() != cfg.BlockCount || c.kvDim != m.kvDim() {
		return nil, fmt.Errorf("model: forward: cache does not belong to this model")
	}
	if c.n+n > c.nCtx {
		return nil, fmt.Errorf("model: forward: %d tokens at position %d exceed the context of %d", n, c.n, c.nCtx)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.tokEmbd.rows {
			return nil, fmt.Errorf("model: forward: token %d (index %d) out of range [0, %d)", t, i, m.tokEmbd.rows)
		}
	}
	nOut := 1
	if all {
		nOut = n
	}
	m.ensure(n, c.nCtx, nOut)
	s := &m.s
	for i := range n {
		s.rowCache[i], s.rowPos[i] = c, c.n+i
	}
	if err := m.embed(tokens); err != nil {
		return nil, err
	}
	for il := range m.layers {
		m.attentionBlock(il, n, n)
		m.ffnBlock(il, n)
	}
	c.n += n
	return m.outputRows(n, nOut), nil
}

// embed fills the residual stream x with the (scaled) embeddings of tokens.
func (m *decoder) embed(tokens []int32) error {
	cfg, s := &m.cfg, &m.s
	d := cfg.EmbeddingLength
	for i, t := range tokens {
		row := s.x[i*d : (i+1)*d]
		if err := m.tokEmbd.row(int(t), row); err != nil {
			return fmt.Errorf("model: forward: embedding: %w", err)
		}
		if cfg.EmbedScale != 0 {
			for j := range row {
				row[j] *= cfg.EmbedScale
			}
		}
	}
	return nil
}

// outputRows applies the final norm and output projection to the last nOut
// of the n rows of x and returns their logits (nOut × VocabSize).
func (m *decoder) outputRows(n, nOut int) []float32 {
	cfg, s := &m.cfg, &m.s
	d := cfg.EmbeddingLength
	first := n - nOut
	for i := first; i < n; i++ {
		rmsNorm(s.xb[(i-first)*d:(i-first+1)*d], s.x[i*d:(i+1)*d], m.outNorm, cfg.RMSEps)
	}
	m.mul(m.output, s.xb, s.logits, nOut)
	if cfg.FinalSoftcap > 0 {
		// ggml: scale by 1/cap, tanh, scale by cap.
		inv := 1 / cfg.FinalSoftcap
		for i, z := range s.logits {
			s.logits[i] = tanh32(z*inv) * cfg.FinalSoftcap
		}
	}
	return s.logits[:nOut*cfg.VocabSize]
}

// attentionBlock runs x += [postnorm](attention(norm(x))) for layer il on
// n token rows, row i at position s.rowPos[i] of cache s.rowCache[i],
// storing their keys/values there. perSeq is the number of tokens each
// sequence contributes to the step; it picks the attention kernel the way
// llama.cpp's batch size does, so a batched decode step (perSeq 1) uses
// the same kernel as a single-token Forward.
func (m *decoder) attentionBlock(il, n, perSeq int) {
	cfg := &m.cfg
	l := &m.layers[il]
	s := &m.s
	d, hd := cfg.EmbeddingLength, cfg.HeadDim
	nh, nkv := cfg.HeadCount, cfg.HeadCountKV
	qDim, kvDim := nh*hd, nkv*hd

	for i := 0; i < n; i++ {
		rmsNorm(s.xb[i*d:(i+1)*d], s.x[i*d:(i+1)*d], l.attnNorm, cfg.RMSEps)
	}
	if l.wqkv != nil {
		m.mul(l.wqkv, s.xb, s.qkv, n)
		w := qDim + 2*kvDim
		for i := 0; i < n; i++ {
			row := s.qkv[i*w : (i+1)*w]
			copy(s.q[i*qDim:(i+1)*qDim], row[:qDim])
			copy(s.k[i*kvDim:(i+1)*kvDim], row[qDim:qDim+kvDim])
			copy(s.v[i*kvDim:(i+1)*kvDim], row[qDim+kvDim:])
		}
	} else {
		m.mulFused(s.xb, n, l.wq, s.q, l.wk, s.k, l.wv, s.v)
	}
	addBias(s.q, l.bq, n)
	addBias(s.k, l.bk, n)
	addBias(s.v, l.bv, n)

	swa := cfg.IsSWA(il)
	rope, cs := &cfg.Rope, s.cs
	if swa {
		rope, cs = &cfg.RopeSWA, s.csSWA
	}
	work := 0 // multiply-adds of the attention, for the parallel split
	for i := 0; i < n; i++ {
		c, pos := s.rowCache[i], s.rowPos[i]
		work += nh * (pos + 1) * hd
		q := s.q[i*qDim : (i+1)*qDim]
		k := s.k[i*kvDim : (i+1)*kvDim]
		if l.qNorm != nil {
			for h := 0; h < nh; h++ {
				rmsNorm(q[h*hd:(h+1)*hd], q[h*hd:(h+1)*hd], l.qNorm, cfg.RMSEps)
			}
			for h := 0; h < nkv; h++ {
				rmsNorm(k[h*hd:(h+1)*hd], k[h*hd:(h+1)*hd], l.kNorm, cfg.RMSEps)
			}
		}
		rope.angles(pos, c.nCtx, cs)
		applyRope(q, nh, hd, rope, cs)
		applyRope(k, nkv, hd, rope, cs)
		c.store(il, pos, k, s.v[i*kvDim:(i+1)*kvDim])
	}
	scale := cfg.AttnScale
	if m.scaleQ {
		for i := range s.q[:n*qDim] {
			s.q[i] *= scale
		}
		scale = 1
	}
	oneRow := false
	switch cfg.Attention {
	case AttentionGGML:
		oneRow = perSeq < 64 || hd%16 != 0
	case AttentionOneRow:
		oneRow = true
	}
	if !oneRow && perSeq == n && n >= batchBlock && littleEndian {
		// One sequence, many tokens (Forward of a prompt): tiled.
		c := s.rowCache[0]
		m.bt = batchAttnTask{m: m, c: c, il: il, n: n, npos: c.n + n, swa: swa, scale: scale}
		m.bt.prepare()
		m.ensureBatch(nWorkers+1, c.n+n)
		runParallel(&m.bt, m.bt.units())
	} else {
		m.at = attnTask{m: m, il: il, n: n, swa: swa, scale: scale, oneRow: oneRow}
		units := n * nh
		if work < minParallelWork {
			units = 1
		}
		runParallel(&m.at, units)
	}
	m.mul(l.wo, s.att, s.xb2, n)
	addBias(s.xb2, l.bo, n)
	m.residual(l.postAttnNorm, n)
}

// ffnBlock runs x += [postnorm](down(act(gate(norm(x))) * up(norm(x)))).
func (m *decoder) ffnBlock(il int, n int) {
	cfg := &m.cfg
	l := &m.layers[il]
	s := &m.s
	d, ff := cfg.EmbeddingLength, cfg.FeedForwardLength
	for i := 0; i < n; i++ {
		rmsNorm(s.xb[i*d:(i+1)*d], s.x[i*d:(i+1)*d], l.ffnNorm, cfg.RMSEps)
	}
	gate, up := s.gate[:n*ff], s.up[:n*ff]
	if l.wGateUp != nil {
		m.mul(l.wGateUp, s.xb, s.gateUp, n)
		for i := 0; i < n; i++ {
			row := s.gateUp[i*2*ff : (i+1)*2*ff]
			copy(gate[i*ff:(i+1)*ff], row[:ff])
			copy(up[i*ff:(i+1)*ff], row[ff:])
		}
	} else {
		m.mulFused(s.xb, n, l.wGate, gate, l.wUp, up, nil, nil)
		addBias(gate, l.bGate, n)
		addBias(up, l.bUp, n)
	}
	if m.geglu {
		geglu(s.h[:n*ff], gate, up)
	} else {
		swiglu(s.h[:n*ff], gate, up)
	}
	m.mul(l.wDown, s.h, s.xb2, n)
	addBias(s.xb2, l.bDown, n)
	m.residual(l.postFFNNorm, n)
}

// residual adds the block output in xb2 (optionally RMS-normalized with
// post) to the residual stream x.
func (m *decoder) residual(post []float32, n int) {
	s := &m.s
	d := m.cfg.EmbeddingLength
	for i := 0; i < n; i++ {
		o := s.xb2[i*d : (i+1)*d]
		if post != nil {
			rmsNorm(o, o, post, m.cfg.RMSEps)
		}
		x := s.x[i*d : (i+1)*d]
		for j := range x {
			x[j] += o[j]
		}
	}
}

// attnTask computes the attention output of the n token rows of a step
// (row i at s.rowPos[i] in s.rowCache[i]) in layer il for all heads, split
// over (token, head) pairs.
type attnTask struct {
	m      *decoder
	il     int
	n      int
	swa    bool
	scale  float32
	oneRow bool // attentionOneRow instead of attention
}

func (a *attnTask) run(part, parts int) {
	m, cfg, s := a.m, &a.m.cfg, &a.m.s
	nh, hd := cfg.HeadCount, cfg.HeadDim
	qDim, kvDim, group := nh*hd, m.kvDim(), nh/cfg.HeadCountKV
	scores := s.scores[part*s.ctxStride : (part+1)*s.ctxStride]
	u0, u1 := span(a.n*nh, part, parts)
	for u := u0; u < u1; u++ {
		i, h := u/nh, u%nh
		pos := s.rowPos[i]
		c := s.rowCache[i]
		lo := 0
		if a.swa {
			lo = max(0, pos-cfg.SlidingWindow+1)
		}
		q := s.q[i*qDim+h*hd : i*qDim+(h+1)*hd]
		out := s.att[i*qDim+h*hd : i*qDim+(h+1)*hd]
		off := (h / group) * hd
		switch {
		case c.k16 == nil || c.v16 == nil:
			sc := &s.parts[part]
			sc.scores = scores
			attentionAny(out, q, c, a.il, h/group, lo, pos, a.scale, cfg.AttnSoftcap, a.oneRow, sc)
		case a.oneRow:
			attentionOneRow(out, q, c.k16[a.il], c.v16[a.il], kvDim, off, lo, pos, a.scale, cfg.AttnSoftcap,
				s.accF16[part*hd:(part+1)*hd], s.qF16[part*hd:(part+1)*hd],
				scores, s.oneRowExp[part*s.ctxStride:(part+1)*s.ctxStride])
		default:
			attention(out, q, c.k16[a.il], c.v16[a.il], kvDim, off, lo, pos, a.scale, cfg.AttnSoftcap, scores)
		}
	}
}
