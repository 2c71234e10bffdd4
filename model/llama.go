package model

import "golem/gguf"

// loadLlama builds a llama model: RMS-normed attention with adjacent-pair
// RoPE (optionally divided by rope_freqs, Llama-3.1) and grouped-query
// heads, then a SwiGLU FFN; output matrix separate or tied to token_embd.
func loadLlama(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, false)
	if err != nil {
		return nil, err
	}
	return newDecoder(f, cfg, func(ld *loader, il int, l *layer) error {
		if err := loadAttention(ld, il, l, false, false); err != nil {
			return err
		}
		return loadFFN(ld, il, l)
	})
}
