package model

import "golem/gguf"

// loadQwen2 builds a qwen2 model: llama with biases on the q/k/v
// projections and NeoX-layout RoPE.
func loadQwen2(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, true)
	if err != nil {
		return nil, err
	}
	return newDecoder(f, cfg, func(ld *loader, il int, l *layer) error {
		if err := loadAttention(ld, il, l, true, false); err != nil {
			return err
		}
		return loadFFN(ld, il, l)
	})
}
