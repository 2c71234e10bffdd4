package synth

import (
	"fmt"
	"sort"
	"strings"

	"golem/tensor"
)

// Mix is a llama.cpp file type (llama_ftype): the default type of the
// weight matrices plus llama-quantize's per-tensor exceptions.
type Mix struct {
	Name     string      // e.g. "Q4_K_M"
	FileType uint32      // general.file_type (llama_ftype value)
	Base     tensor.Type // type of an ordinary weight matrix
	// medium marks the _M k-quant mixes, which give attn_v and ffn_down
	// more bits in some layers.
	medium bool
}

// mixes are the supported file types, with llama.cpp's llama_ftype ids.
var mixes = map[string]Mix{
	"F32":    {Name: "F32", FileType: 0, Base: tensor.F32},
	"F16":    {Name: "F16", FileType: 1, Base: tensor.F16},
	"Q4_0":   {Name: "Q4_0", FileType: 2, Base: tensor.Q4_0},
	"Q4_1":   {Name: "Q4_1", FileType: 3, Base: tensor.Q4_1},
	"Q8_0":   {Name: "Q8_0", FileType: 7, Base: tensor.Q8_0},
	"Q5_0":   {Name: "Q5_0", FileType: 8, Base: tensor.Q5_0},
	"Q5_1":   {Name: "Q5_1", FileType: 9, Base: tensor.Q5_1},
	"Q4_K_M": {Name: "Q4_K_M", FileType: 15, Base: tensor.Q4_K, medium: true},
	"Q5_K_M": {Name: "Q5_K_M", FileType: 17, Base: tensor.Q5_K, medium: true},
	"Q6_K":   {Name: "Q6_K", FileType: 18, Base: tensor.Q6_K},
}

// LookupMix returns the file type called name (case-insensitive), e.g.
// "Q4_K_M", "Q4_0", "Q8_0", "F16".
func LookupMix(name string) (Mix, bool) {
	m, ok := mixes[strings.ToUpper(name)]
	return m, ok
}

// MixNames lists the supported file types in sorted order.
func MixNames() []string {
	names := make([]string, 0, len(mixes))
	for n := range mixes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// quantized reports whether the mix's base type is a quantized one (as
// ggml_is_quantized: not F32, F16 or BF16). Only then does llama-quantize
// apply its per-tensor rules.
func (m Mix) quantized() bool {
	switch m.Base {
	case tensor.F32, tensor.F16, tensor.BF16:
		return false
	}
	return true
}

// useMoreBits is llama-quantize's choice of the layers that get more bits
// in the _M mixes: the first and last eighth and every third layer between.
func useMoreBits(layer, layers int) bool {
	return layer < layers/8 || layer >= 7*layers/8 || (layer-layers/8)%3 == 2
}

// tensorType returns the type llama-quantize (without an importance matrix
// or overrides) gives tensor t of preset p when quantizing to mix m, for
// the dense llama and qwen2 architectures:
//
//   - 1-D tensors (norms, biases) stay F32;
//   - the output matrix, or token_embd when the output is tied to it, is
//     Q6_K unless the mix is Q8_0 (Q8_0 when its rows do not fill k-quant
//     blocks);
//   - in Q4_K_M and Q5_K_M, attn_v and ffn_down are Q6_K in the layers
//     useMoreBits picks;
//   - a k-quant type whose 256-element blocks do not divide the row length
//     falls back to Q5_0 (for Q4_K), Q5_1 (Q5_K) or Q8_0 (Q6_K), and to
//     F16 if even that does not fit.
//
// The rules are those of llama.cpp's llama_tensor_get_type for these
// architectures and file types (src/llama-quant.cpp).
func (m Mix) tensorType(p *Preset, t tensorSpec) (tensor.Type, error) {
	if len(t.shape) < 2 {
		return tensor.F32, nil
	}
	typ := m.Base
	if !m.quantized() {
		return typ, nil
	}
	nx := t.shape[0]
	switch {
	case t.kind == kindOutput || (p.Tied && t.kind == kindTokenEmbd):
		if nx%int64(typ.BlockSize()) != 0 {
			typ = tensor.Q8_0
		} else if typ != tensor.Q8_0 {
			typ = tensor.Q6_K
		}
	case t.kind == kindAttnV:
		// attn_v tensors are met in layer order, so the running count
		// llama-quantize keeps equals the layer index.
		if m.medium && useMoreBits(t.layer, p.Layers) {
			typ = tensor.Q6_K
		}
	case t.kind == kindFFNDown:
		if m.medium && useMoreBits(t.layer, p.Layers) {
			typ = tensor.Q6_K
		}
	}
	if nx%int64(typ.BlockSize()) == 0 {
		return typ, nil
	}
	var fb tensor.Type
	switch typ {
	case tensor.Q4_K:
		fb = tensor.Q5_0
	case tensor.Q5_K:
		fb = tensor.Q5_1
	case tensor.Q6_K:
		fb = tensor.Q8_0
	default:
		return 0, fmt.Errorf("synth: tensor %s: row length %d is not a multiple of %s's block size %d and %s has no fallback type",
			t.name, nx, typ, typ.BlockSize(), typ)
	}
	if nx%int64(fb.BlockSize()) != 0 {
		fb = tensor.F16
	}
	return fb, nil
}

// ftypeName is llama.cpp's llama_model_ftype_name for the mix, the name
// llama-bench prints in its model column.
func (m Mix) ftypeName() string {
	switch m.Name {
	case "F32":
		return "all F32"
	case "Q4_K_M":
		return "Q4_K - Medium"
	case "Q5_K_M":
		return "Q5_K - Medium"
	}
	return m.Name
}

// FileTypeLabel returns llama.cpp's display name for a general.file_type
// value ("Q4_0", "Q4_K - Medium", "F16", ...), or "" for a type this
// package does not write.
func FileTypeLabel(ft uint32) string {
	for _, m := range mixes {
		if m.FileType == ft {
			return m.ftypeName()
		}
	}
	return ""
}
