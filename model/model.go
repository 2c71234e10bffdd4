// Package model runs decoder-only transformer language models stored in
// GGUF files (llama, qwen2, qwen3, gemma2, gemma3, phi3) and reproduces the
// logits of llama.cpp's CPU backend to within its own run-to-run spread.
//
// All architectures share one forward pass (decoder.go) built from the
// blocks in blocks.go (RMS norm, RoPE, attention over the KV cache,
// SwiGLU/GEGLU feed-forward); each architecture file only says which
// tensors exist and which options apply. Weights stay in the memory-mapped
// GGUF file and are multiplied in place by the tensor kernels, the Q/K/V
// and gate/up projections each in one parallel dispatch (parallel.go).
//
// Numerics follow ggml where it matters at the 1e-3 level: the KV cache is
// F16 by default (other types via Options, cache.go), RMS norms sum
// squares in float64, GELU is ggml's F16 table, RoPE angles are built by
// repeated float32 multiplication, and attention picks the kernel
// llama.cpp's CPU flash attention would (see AttentionKernel): float32 for
// large batches (tiled over KV heads and query blocks, attn_batch.go), the
// one-row F16-accumulating kernel for single-token decoding (vectorized in
// tensor.DotF16/AxpyF16, bit for bit the scalar form).
//
// ForwardBatch (batch.go) decodes one token for each of several sequences
// in a single pass, so the weights stream from memory once for all of
// them; each sequence's logits are bit-identical to a Forward of its own.
package model

import (
	"fmt"
	"math"

	"golem/gguf"
	"golem/tensor"
)

// Config holds the hyperparameters of a model, read from GGUF metadata
// (<arch>.embedding_length and so on) and from tensor shapes where the
// metadata leaves them out.
type Config struct {
	Arch              string // general.architecture
	VocabSize         int    // rows of the output matrix
	ContextLength     int    // training context (<arch>.context_length)
	EmbeddingLength   int    // n_embd
	BlockCount        int    // number of layers
	HeadCount         int    // query heads
	HeadCountKV       int    // key/value heads (GQA when < HeadCount)
	HeadDim           int    // key and value head size
	FeedForwardLength int    // n_ff
	RMSEps            float32

	// Rope describes rotary position embedding for full-attention layers;
	// RopeSWA for sliding-window layers (gemma3 uses another base there).
	Rope, RopeSWA Rope

	// SlidingWindow > 0 makes the layers selected by SlidingWindowPattern
	// attend only to the last SlidingWindow positions: with pattern n,
	// layer il is windowed when il%n < n-1 (llama.cpp's convention).
	SlidingWindow        int
	SlidingWindowPattern int

	AttnScale     float32 // multiplies Q·K (default 1/sqrt(HeadDim))
	AttnSoftcap   float32 // scores s → c·tanh(s/c) when > 0 (gemma2)
	FinalSoftcap  float32 // logits z → c·tanh(z/c) when > 0 (gemma2)
	EmbedScale    float32 // input embeddings × this when != 0 (gemma: sqrt(n_embd))
	TiedEmbedding bool    // output matrix is token_embd

	// Attention selects the attention arithmetic (may be changed between
	// Forward calls).
	Attention AttentionKernel
}

// AttentionKernel selects how attention is computed over the F16 KV cache.
type AttentionKernel int

const (
	// AttentionGGML does what llama.cpp's CPU backend does on an AVX-512
	// machine: the float32 kernel (like ggml's tiled flash attention) for
	// batches of at least 64 tokens when the head size is a multiple of 16,
	// else ggml's one-row kernel (F16 query, F16 accumulation), which is
	// what every single-token decode step of llama.cpp uses.
	AttentionGGML AttentionKernel = iota
	// AttentionF32 always uses the float32 kernel (closest to exact).
	AttentionF32
	// AttentionOneRow always uses the one-row F16 kernel.
	AttentionOneRow
)

// IsSWA reports whether layer il uses the sliding-window mask.
func (c *Config) IsSWA(il int) bool {
	if c.SlidingWindow <= 0 || c.SlidingWindowPattern <= 0 {
		return false
	}
	return il%c.SlidingWindowPattern < c.SlidingWindowPattern-1
}

// Model is a loaded language model. A Model keeps its activation buffers
// between calls, so it must not run Forward concurrently; use one Model
// (one Load) per goroutine, or serialize calls. Caches are independent.
type Model interface {
	// Config returns the model's hyperparameters (do not modify).
	Config() *Config
	// NewCache allocates a KV cache for nCtx positions, stored in the
	// type chosen at load (F16 by default).
	NewCache(nCtx int) *Cache
	// Forward evaluates tokens at positions c.Len() ... c.Len()+len(tokens)-1,
	// appends their keys/values to c, and returns the logits:
	// len(tokens)*VocabSize values if all is true, else VocabSize values for
	// the last token. The returned slice is reused by the next call.
	Forward(c *Cache, tokens []int32, all bool) ([]float32, error)
}

// Load builds the model described by f's general.architecture with the
// default options (the KV cache type from GOLEM_KV_CACHE_TYPE, else F16).
// The model keeps references into f's memory mapping, so f must stay open
// while the model is used.
func Load(f *gguf.File) (Model, error) {
	return LoadOptions(f, Options{})
}

// LoadOptions is Load with options (see Options).
func LoadOptions(f *gguf.File, o Options) (Model, error) {
	arch := f.Architecture()
	build, ok := architectures[arch]
	if !ok {
		return nil, fmt.Errorf("model: unsupported architecture %q (supported: %s)", arch, supportedList())
	}
	kt, vt, err := o.kvTypesFor()
	if err != nil {
		return nil, err
	}
	m, err := build(f)
	if err != nil {
		return nil, fmt.Errorf("model: load %s: %w", arch, err)
	}
	if d, ok := m.(*decoder); ok {
		for _, t := range []tensor.Type{kt, vt} {
			if err := checkKVType(t, d.cfg.HeadDim); err != nil {
				return nil, fmt.Errorf("model: load %s: %w", arch, err)
			}
		}
		d.kt, d.vt = kt, vt
	}
	return m, nil
}

// architectures maps general.architecture to a loader.
var architectures = map[string]func(*gguf.File) (Model, error){
	"llama":  loadLlama,
	"qwen2":  loadQwen2,
	"qwen3":  loadQwen3,
	"gemma2": loadGemma2,
	"gemma3": loadGemma3,
	"phi3":   loadPhi3,
}

func supportedList() string {
	return "llama, qwen2, qwen3, gemma2, gemma3, phi3"
}

// metaKey returns "<arch>.<key>".
func metaKey(f *gguf.File, key string) string { return f.Architecture() + "." + key }

func metaInt(f *gguf.File, key string, def int) int {
	if v, ok := f.Uint(metaKey(f, key)); ok && v <= math.MaxInt32 {
		return int(v)
	}
	return def
}

func metaFloat(f *gguf.File, key string, def float32) float32 {
	if v, ok := f.Float(metaKey(f, key)); ok {
		return float32(v)
	}
	return def
}
