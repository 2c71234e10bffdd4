// Package synth writes GGUF files of random-weight language models with
// the shapes of real ones, so that Golem and llama.cpp can be benchmarked
// on any machine without downloading a model.
//
// A synthetic file is a complete, loadable model: the llama.cpp metadata
// keys for its architecture, every tensor of the real model with the same
// shape and the same per-tensor quantization types llama-quantize would
// choose (see TensorType), and a small but valid byte-level BPE
// tokenizer. The weights are random (normal with standard deviation 0.02,
// norms near 1), deterministic for a given seed, so activations stay in a
// realistic range and the speed of every kernel is that of the real model.
// The text such a model generates is meaningless.
package synth

import (
	"fmt"
	"sort"
	"strings"
)

// Preset describes the shape of a model to synthesize.
type Preset struct {
	Name      string  // preset name, e.g. "llama3.2-1b"
	Arch      string  // general.architecture: "llama" or "qwen2"
	Embd      int     // n_embd
	Layers    int     // block count
	Heads     int     // query heads
	HeadsKV   int     // key/value heads
	FFN       int     // feed-forward length
	Vocab     int     // vocabulary size (rows of token_embd)
	RopeBase  float32 // rope.freq_base
	RMSEps    float32 // attention.layer_norm_rms_epsilon
	Context   int     // context_length
	QKVBias   bool    // q/k/v projections have biases (qwen2)
	Tied      bool    // no output.weight: the output matrix is token_embd
	HeadDim   int     // per-head size; 0 means Embd/Heads
	ModelName string  // general.name
}

// headDim returns the per-head dimension.
func (p *Preset) headDim() int {
	if p.HeadDim > 0 {
		return p.HeadDim
	}
	return p.Embd / p.Heads
}

// Params returns the number of parameters (elements of all tensors) the
// synthesized file holds.
func (p *Preset) Params() int64 {
	var n int64
	for _, t := range p.tensors() {
		e := int64(1)
		for _, d := range t.shape {
			e *= d
		}
		n += e
	}
	return n
}

// validate checks that the shape is one the model package and llama.cpp
// can load.
func (p *Preset) validate() error {
	switch {
	case p.Arch != "llama" && p.Arch != "qwen2":
		return fmt.Errorf("synth: preset %q: unsupported architecture %q (llama or qwen2)", p.Name, p.Arch)
	case p.Embd <= 0 || p.Layers <= 0 || p.Heads <= 0 || p.HeadsKV <= 0 || p.FFN <= 0:
		return fmt.Errorf("synth: preset %q: sizes must be positive", p.Name)
	case p.Heads%p.HeadsKV != 0:
		return fmt.Errorf("synth: preset %q: %d heads is not a multiple of %d KV heads", p.Name, p.Heads, p.HeadsKV)
	case p.HeadDim == 0 && p.Embd%p.Heads != 0:
		return fmt.Errorf("synth: preset %q: n_embd %d is not a multiple of %d heads", p.Name, p.Embd, p.Heads)
	case p.headDim()%2 != 0:
		return fmt.Errorf("synth: preset %q: head dimension %d is odd (RoPE rotates pairs)", p.Name, p.headDim())
	case p.Vocab < minVocab:
		return fmt.Errorf("synth: preset %q: vocabulary %d is smaller than the %d tokens the tokenizer needs", p.Name, p.Vocab, minVocab)
	}
	return nil
}

// presets are the built-in shapes. The real models' hyperparameters come
// from their published config.json files.
var presets = map[string]Preset{
	"llama3.2-1b": {
		Name: "llama3.2-1b", Arch: "llama", ModelName: "Synthetic Llama 3.2 1B",
		Embd: 2048, Layers: 16, Heads: 32, HeadsKV: 8, FFN: 8192, Vocab: 128256,
		RopeBase: 500000, RMSEps: 1e-5, Context: 131072, Tied: true,
	},
	"qwen2.5-0.5b": {
		Name: "qwen2.5-0.5b", Arch: "qwen2", ModelName: "Synthetic Qwen2.5 0.5B",
		Embd: 896, Layers: 24, Heads: 14, HeadsKV: 2, FFN: 4864, Vocab: 151936,
		RopeBase: 1e6, RMSEps: 1e-6, Context: 32768, QKVBias: true, Tied: true,
	},
	// tiny is a llama small enough for tests; its sizes are multiples of
	// 256 so every type, k-quants included, applies.
	"tiny": {
		Name: "tiny", Arch: "llama", ModelName: "Synthetic tiny llama",
		Embd: 256, Layers: 2, Heads: 4, HeadsKV: 2, FFN: 512, Vocab: 1000,
		RopeBase: 10000, RMSEps: 1e-5, Context: 512, Tied: true,
	},
	// tiny-qwen2 has n_embd 224, not a multiple of 256, so the k-quant
	// mixes exercise llama.cpp's fallback types as qwen2.5-0.5b's 896 does;
	// it has a separate output matrix to cover untied models.
	"tiny-qwen2": {
		Name: "tiny-qwen2", Arch: "qwen2", ModelName: "Synthetic tiny qwen2",
		Embd: 224, Layers: 2, Heads: 4, HeadsKV: 2, FFN: 512, Vocab: 1000,
		RopeBase: 1e6, RMSEps: 1e-6, Context: 512, QKVBias: true, Tied: false,
	},
}

// LookupPreset returns the built-in preset called name.
func LookupPreset(name string) (Preset, bool) {
	p, ok := presets[strings.ToLower(name)]
	return p, ok
}

// PresetNames lists the built-in presets in sorted order.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// tensorSpec is one tensor of the synthesized model.
type tensorSpec struct {
	name  string
	shape []int64 // ggml order: shape[0] is the row length
	kind  kind
	layer int // block index, -1 outside the blocks
}

// kind says what a tensor is, for choosing its type and its values.
type kind int

const (
	kindTokenEmbd kind = iota
	kindOutput
	kindNorm
	kindBias
	kindAttnQ
	kindAttnK
	kindAttnV
	kindAttnOut
	kindFFNGate
	kindFFNUp
	kindFFNDown
)

// tensors lists the model's tensors in the order llama.cpp's converter
// writes them: embeddings, the blocks in order, then the output norm and
// matrix. Quantization rules that count attn_v tensors depend on it.
func (p *Preset) tensors() []tensorSpec {
	e, kv, ff, v := int64(p.Embd), int64(p.HeadsKV*p.headDim()), int64(p.FFN), int64(p.Vocab)
	q := int64(p.Heads * p.headDim())
	ts := []tensorSpec{{"token_embd.weight", []int64{e, v}, kindTokenEmbd, -1}}
	for il := 0; il < p.Layers; il++ {
		b := fmt.Sprintf("blk.%d.", il)
		add := func(name string, k kind, shape ...int64) {
			ts = append(ts, tensorSpec{b + name, shape, k, il})
		}
		add("attn_norm.weight", kindNorm, e)
		add("attn_q.weight", kindAttnQ, e, q)
		if p.QKVBias {
			add("attn_q.bias", kindBias, q)
		}
		add("attn_k.weight", kindAttnK, e, kv)
		if p.QKVBias {
			add("attn_k.bias", kindBias, kv)
		}
		add("attn_v.weight", kindAttnV, e, kv)
		if p.QKVBias {
			add("attn_v.bias", kindBias, kv)
		}
		add("attn_output.weight", kindAttnOut, q, e)
		add("ffn_norm.weight", kindNorm, e)
		add("ffn_gate.weight", kindFFNGate, e, ff)
		add("ffn_up.weight", kindFFNUp, e, ff)
		add("ffn_down.weight", kindFFNDown, ff, e)
	}
	ts = append(ts, tensorSpec{"output_norm.weight", []int64{e}, kindNorm, -1})
	if !p.Tied {
		ts = append(ts, tensorSpec{"output.weight", []int64{e, v}, kindOutput, -1})
	}
	return ts
}
