package model

import (
	"math"

	"golem/gguf"
)

// loadGemma2 builds a gemma2 model: embeddings × sqrt(n_embd), NeoX RoPE,
// Q pre-scaled by 1/sqrt(head_dim), attention scores soft-capped
// (attn_logit_softcapping), RMS post-norms after attention and FFN, GEGLU
// FFN, soft-capped final logits, tied output, and sliding-window attention
// on every layer but each pattern's last (default window 4096, pattern 2).
func loadGemma2(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, true)
	if err != nil {
		return nil, err
	}
	cfg.SlidingWindow = metaInt(f, "attention.sliding_window", 4096)
	cfg.SlidingWindowPattern = metaInt(f, "attention.sliding_window_pattern", 2)
	cfg.RopeSWA.Base = metaFloat(f, "rope.freq_base_swa", cfg.Rope.Base)
	cfg.AttnSoftcap = metaFloat(f, "attn_logit_softcapping", 0)
	return loadGemma(f, cfg, false, 46)
}

// loadGemma3 builds a gemma3 model: like gemma2 without attention
// soft-capping but with per-head q/k RMS norms, and with its own RoPE base
// on sliding-window layers (rope.freq_base_swa, default 10000, unscaled).
func loadGemma3(f *gguf.File) (Model, error) {
	cfg, err := readConfig(f, true)
	if err != nil {
		return nil, err
	}
	cfg.SlidingWindow = metaInt(f, "attention.sliding_window", 0)
	if cfg.SlidingWindow > 0 {
		cfg.SlidingWindowPattern = metaInt(f, "attention.sliding_window_pattern", 6)
		cfg.RopeSWA.Base = metaFloat(f, "rope.freq_base_swa", 10000)
		cfg.RopeSWA.FreqScale = 1
		cfg.RopeSWA.ExtFactor = 0
		cfg.RopeSWA.AttnFactor = 1
	}
	return loadGemma(f, cfg, true, 62)
}

// loadGemma loads the tensors shared by gemma2 and gemma3. big27B marks
// the layer count of the 27B model, whose queries are scaled by
// 1/sqrt(n_embd/n_head) instead of 1/sqrt(head_dim) (llama.cpp keys this
// on the model size too).
func loadGemma(f *gguf.File, cfg *Config, qkNorm bool, big27B int) (Model, error) {
	cfg.FinalSoftcap = metaFloat(f, "final_logit_softcapping", 0)
	cfg.EmbedScale = float32(math.Sqrt(float64(cfg.EmbeddingLength)))
	if cfg.BlockCount == big27B {
		cfg.AttnScale = float32(1 / math.Sqrt(float64(cfg.EmbeddingLength/cfg.HeadCount)))
	}
	m, err := newDecoder(f, cfg, func(ld *loader, il int, l *layer) error {
		if err := loadAttention(ld, il, l, false, qkNorm); err != nil {
			return err
		}
		if err := loadFFN(ld, il, l); err != nil {
			return err
		}
		var err error
		d := cfg.EmbeddingLength
		if l.postAttnNorm, err = ld.vector(blk(il, "post_attention_norm.weight"), d); err != nil {
			return err
		}
		l.postFFNNorm, err = ld.vector(blk(il, "post_ffw_norm.weight"), d)
		return err
	})
	if err != nil {
		return nil, err
	}
	m.geglu = true
	m.scaleQ = true
	return m, nil
}
