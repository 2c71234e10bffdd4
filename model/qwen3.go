package model

import "golem/gguf"

// loadQwen3 builds a qwen3 model: llama with NeoX RoPE and per-head RMS
// norms of q and k (attn_q_norm, attn_k_norm) applied before RoPE; the
// head size may differ from n_embd/n_head.
func loadQwen3(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, true)
	if err != nil {
		return nil, err
	}
	return newDecoder(f, cfg, func(ld *loader, il int, l *layer) error {
		if err := loadAttention(ld, il, l, false, true); err != nil {
			return err
		}
		return loadFFN(ld, il, l)
	})
}
