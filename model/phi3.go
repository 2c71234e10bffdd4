package model

import "golem/gguf"

// loadPhi3 builds a phi3 model: one fused attn_qkv projection whose output
// rows are q|k|v, NeoX RoPE, Q pre-scaled by 1/sqrt(head_dim), and a fused
// ffn_up whose output rows are gate|up feeding silu(gate)*up.
func loadPhi3(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, true)
	if err != nil {
		return nil, err
	}
	// Like llama.cpp, ignore attention.sliding_window: phi3 runs full attention.
	m, err := newDecoder(f, cfg, func(ld *loader, il int, l *layer) error {
		c := ld.cfg
		d, ff := c.EmbeddingLength, c.FeedForwardLength
		qDim, kvDim := c.HeadCount*c.HeadDim, c.HeadCountKV*c.HeadDim
		var err error
		if l.attnNorm, err = ld.vector(blk(il, "attn_norm.weight"), d); err != nil {
			return err
		}
		if l.wqkv, err = ld.weight(blk(il, "attn_qkv.weight"), d, qDim+2*kvDim); err != nil {
			return err
		}
		if l.wo, err = ld.weight(blk(il, "attn_output.weight"), qDim, d); err != nil {
			return err
		}
		if l.ffnNorm, err = ld.vector(blk(il, "ffn_norm.weight"), d); err != nil {
			return err
		}
		if l.wGateUp, err = ld.weight(blk(il, "ffn_up.weight"), d, 2*ff); err != nil {
			return err
		}
		l.wDown, err = ld.weight(blk(il, "ffn_down.weight"), ff, d)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.scaleQ = true
	return m, nil
}
