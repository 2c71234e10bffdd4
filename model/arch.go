package model

import (
	"fmt"

	"golem/gguf"
)

// newDecoder loads what every decoder architecture shares (token
// embeddings, final norm, output matrix or tied embeddings) and calls
// loadLayer for each block.
func newDecoder(f *gguf.File, cfg *Config, loadLayer func(ld *loader, il int, l *layer) error) (*decoder, error) {
	ld := &loader{f: f, cfg: cfg}
	ti, ok := f.Tensor("token_embd.weight")
	if !ok || len(ti.Shape) != 2 {
		return nil, fmt.Errorf("missing or malformed tensor token_embd.weight")
	}
	nVocab := int(ti.Shape[1])
	emb, err := ld.weight("token_embd.weight", cfg.EmbeddingLength, nVocab)
	if err != nil {
		return nil, err
	}
	m := &decoder{cfg: *cfg, tokEmbd: emb}
	if m.outNorm, err = ld.vector("output_norm.weight", cfg.EmbeddingLength); err != nil {
		return nil, err
	}
	if m.output, err = ld.optWeight("output.weight", cfg.EmbeddingLength, nVocab); err != nil {
		return nil, err
	}
	if m.output == nil {
		m.output = emb
		m.cfg.TiedEmbedding = true
	}
	m.cfg.VocabSize = nVocab
	m.layers = make([]layer, cfg.BlockCount)
	for il := range m.layers {
		if err := loadLayer(ld, il, &m.layers[il]); err != nil {
			return nil, fmt.Errorf("layer %d: %w", il, err)
		}
	}
	return m, nil
}

// blk returns the name of tensor part of block il ("blk.<il>.<part>.weight").
func blk(il int, part string) string { return fmt.Sprintf("blk.%d.%s", il, part) }

// loadAttention loads the attention norm and separate q/k/v/output
// projections and any biases they have (bias: q/k/v biases required), and
// with qkNorm the per-head q/k RMS norm weights.
func loadAttention(ld *loader, il int, l *layer, bias, qkNorm bool) error {
	c := ld.cfg
	d, qDim, kvDim := c.EmbeddingLength, c.HeadCount*c.HeadDim, c.HeadCountKV*c.HeadDim
	var err error
	if l.attnNorm, err = ld.vector(blk(il, "attn_norm.weight"), d); err != nil {
		return err
	}
	if l.wq, err = ld.weight(blk(il, "attn_q.weight"), d, qDim); err != nil {
		return err
	}
	if l.wk, err = ld.weight(blk(il, "attn_k.weight"), d, kvDim); err != nil {
		return err
	}
	if l.wv, err = ld.weight(blk(il, "attn_v.weight"), d, kvDim); err != nil {
		return err
	}
	if l.wo, err = ld.weight(blk(il, "attn_output.weight"), qDim, d); err != nil {
		return err
	}
	vec := ld.optVector
	if bias {
		vec = ld.vector
	}
	if l.bq, err = vec(blk(il, "attn_q.bias"), qDim); err != nil {
		return err
	}
	if l.bk, err = vec(blk(il, "attn_k.bias"), kvDim); err != nil {
		return err
	}
	if l.bv, err = vec(blk(il, "attn_v.bias"), kvDim); err != nil {
		return err
	}
	if l.bo, err = ld.optVector(blk(il, "attn_output.bias"), d); err != nil {
		return err
	}
	if qkNorm {
		if l.qNorm, err = ld.vector(blk(il, "attn_q_norm.weight"), c.HeadDim); err != nil {
			return err
		}
		if l.kNorm, err = ld.vector(blk(il, "attn_k_norm.weight"), c.HeadDim); err != nil {
			return err
		}
	}
	return nil
}

// loadFFN loads the FFN norm and separate gate/up/down projections.
func loadFFN(ld *loader, il int, l *layer) error {
	c := ld.cfg
	d, ff := c.EmbeddingLength, c.FeedForwardLength
	var err error
	if l.ffnNorm, err = ld.vector(blk(il, "ffn_norm.weight"), d); err != nil {
		return err
	}
	if l.wGate, err = ld.weight(blk(il, "ffn_gate.weight"), d, ff); err != nil {
		return err
	}
	if l.wUp, err = ld.weight(blk(il, "ffn_up.weight"), d, ff); err != nil {
		return err
	}
	if l.wDown, err = ld.weight(blk(il, "ffn_down.weight"), ff, d); err != nil {
		return err
	}
	if l.bGate, err = ld.optVector(blk(il, "ffn_gate.bias"), ff); err != nil {
		return err
	}
	if l.bUp, err = ld.optVector(blk(il, "ffn_up.bias"), ff); err != nil {
		return err
	}
	l.bDown, err = ld.optVector(blk(il, "ffn_down.bias"), d)
	return err
}
