package quantize

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"golem/gguf"
	"golem/tensor"
)

// category is the broad role of a tensor that the type rules look at
// (llama.cpp's tensor_category).
type category int

const (
	catOther category = iota
	catOutput
	catTokenEmbd
	catAttnQKV
	catAttnKVB
	catAttnV
	catAttnK
	catAttnQ
	catAttnOutput
	catFFNUp
	catFFNGate
	catFFNDown
)

// categoryOf classifies a tensor by name, testing the patterns in the same
// order as llama.cpp so that overlapping names land in the same category.
func categoryOf(name string) category {
	switch {
	case name == "output.weight":
		return catOutput
	case name == "token_embd.weight" || name == "per_layer_token_embd.weight":
		return catTokenEmbd
	case strings.Contains(name, "attn_qkv.weight"):
		return catAttnQKV
	case strings.Contains(name, "attn_kv_b.weight"):
		return catAttnKVB
	case strings.Contains(name, "attn_v.weight"):
		return catAttnV
	case strings.Contains(name, "attn_k.weight"):
		return catAttnK
	case strings.Contains(name, "attn_q.weight"):
		return catAttnQ
	case strings.Contains(name, "attn_output.weight"):
		return catAttnOutput
	case strings.Contains(name, "ffn_up"):
		return catFFNUp
	case strings.Contains(name, "ffn_gate"):
		return catFFNGate
	case strings.Contains(name, "ffn_down"):
		return catFFNDown
	}
	return catOther
}

// isAttnV reports the attention-value-like categories, which are more
// sensitive to quantization and get more bits in several mixtures.
func (c category) isAttnV() bool { return c == catAttnV || c == catAttnQKV || c == catAttnKVB }

// noQuantSubstrings are parts of tensor names that llama.cpp never
// quantizes (small or precision-critical tensors).
var noQuantSubstrings = []string{
	"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight",
	"altup", "laurel", "per_layer_model_proj",
	"ssm_conv1d", "shortconv.conv.weight",
	"indexer.k_proj.weight", "indexer.q_proj.weight",
	"time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
	"time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
	"time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight",
	"time_mix_g1.weight", "time_mix_g2.weight",
	"time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
	"attn_rel_b.weight",
	".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger",
	"a.rvq.codebook", "mm.a.code_embd",
}

// allowsQuantization reports whether llama.cpp would change the type of a
// tensor at all: only 2-D and higher "*weight" tensors that are not norms
// or one of the special small tensors (tensor_allows_quantization).
func allowsQuantization(name string, shape []int64) bool {
	if nDims(shape) < 2 || !strings.HasSuffix(name, "weight") {
		return false
	}
	if name == "position_embd.weight" || name == "token_types.weight" {
		return false
	}
	for _, s := range noQuantSubstrings {
		if strings.Contains(name, s) {
			return false
		}
	}
	return true
}

// nDims is ggml_n_dims: the number of dimensions up to the last one larger
// than 1 (at least 1).
func nDims(shape []int64) int {
	n := 1
	for i, d := range shape {
		if d > 1 {
			n = i + 1
		}
	}
	return n
}

// layerOf returns N for a name "blk.N...." and -1 otherwise, like the
// sscanf("blk.%d.") of llama.cpp's tensor ordering.
func layerOf(name string) int {
	rest, ok := strings.CutPrefix(name, "blk.")
	if !ok {
		return -1
	}
	end := 0
	if end < len(rest) && (rest[end] == '-' || rest[end] == '+') {
		end++
	}
	for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
		end++
	}
	n, err := strconv.Atoi(rest[:end])
	if err != nil {
		return -1
	}
	return n
}

// modelInfo holds the hyperparameters the rules depend on.
type modelInfo struct {
	arch       string
	nLayer     int
	nGQA       int // head_count / head_count_kv of layer 0 (0 if unknown)
	nExpert    int
	is70B      bool
	tiedEmbd   bool // no output.weight: token_embd doubles as the output
	nAttnV     int
	iAttnV     int
	iFFNDown   int
	iFFNGate   int
	iFFNUp     int
	nFallbacks int
}

// firstUint reads an integer key that may also be stored as a per-layer
// array (then its first element counts, as llama.cpp's n_gqa(0)).
func firstUint(f *gguf.File, key string) (int, bool) {
	if v, ok := f.Uint(key); ok {
		return int(v), true
	}
	if a, ok := f.Array(key); ok {
		switch vs := a.Values.(type) {
		case []int32:
			if len(vs) > 0 {
				return int(vs[0]), true
			}
		case []uint32:
			if len(vs) > 0 {
				return int(vs[0]), true
			}
		}
	}
	return 0, false
}

func newModelInfo(f *gguf.File, names []string) *modelInfo {
	arch := f.Architecture()
	mi := &modelInfo{arch: arch, tiedEmbd: true}
	if n, ok := f.Uint(arch + ".block_count"); ok {
		mi.nLayer = int(n)
	}
	if n, ok := f.Uint(arch + ".expert_count"); ok {
		mi.nExpert = int(n)
	}
	heads, _ := firstUint(f, arch+".attention.head_count")
	kv, ok := firstUint(f, arch+".attention.head_count_kv")
	if !ok {
		kv = heads
	}
	if kv > 0 {
		mi.nGQA = heads / kv
	}
	// llama.cpp calls an 80-layer llama "70B" and gives its attn_v more bits.
	mi.is70B = arch == "llama" && mi.nLayer == 80
	for _, n := range names {
		c := categoryOf(n)
		if c.isAttnV() {
			mi.nAttnV++
		}
		if c == catOutput {
			mi.tiedEmbd = false
		}
	}
	return mi
}

// useMoreBits selects the layers the mixtures favour: the first and last
// eighth and every third layer in between.
func useMoreBits(i, n int) bool {
	return i < n/8 || i >= 7*n/8 || (i-n/8)%3 == 2
}

// layerIndex returns the layer number a per-layer rule uses: the running
// count, or for mixture-of-experts models the number in the name.
func (mi *modelInfo) layerIndex(count int, name string) (int, error) {
	if mi.nExpert <= 1 {
		return count, nil
	}
	l := layerOf(name)
	if l < 0 || l >= mi.nLayer {
		return 0, fmt.Errorf("quantize: cannot determine the layer of tensor %s (want blk.N with N < %d)", name, mi.nLayer)
	}
	return l, nil
}

// mixtureType applies llama.cpp's per-category rules
// (llama_tensor_get_type_impl) for the file types this package writes, and
// advances the per-category counters.
func (mi *modelInfo) mixtureType(t tensor.Type, name string, shape []int64, ft uint32, cat category) (tensor.Type, error) {
	falcon := mi.arch == "falcon"
	switch {
	case cat == catOutput || mi.tiedEmbd && cat == catTokenEmbd:
		if falcon || shape[0]%int64(t.BlockSize()) != 0 {
			t = tensor.Q8_0
		} else if t != tensor.Q8_0 {
			t = tensor.Q6_K
		}
	case cat == catTokenEmbd:
		// no rule for the file types supported here
	case cat.isAttnV():
		switch {
		case ft == ftQ2_K:
			if mi.nGQA >= 4 {
				t = tensor.Q4_K
			} else {
				t = tensor.Q3_K
			}
		case ft == ftQ3_KM:
			if mi.iAttnV < 2 {
				t = tensor.Q5_K
			} else {
				t = tensor.Q4_K
			}
		case ft == ftQ3_KL:
			t = tensor.Q5_K
		case (ft == ftIQ4NL || ft == ftIQ4XS) && mi.nGQA >= 4:
			t = tensor.Q5_K
		case (ft == ftQ4_KM || ft == ftQ5_KM) && useMoreBits(mi.iAttnV, mi.nAttnV):
			t = tensor.Q6_K
		case ft == ftQ4_KS && mi.iAttnV < 4:
			t = tensor.Q5_K
		}
		if mi.is70B && (t == tensor.Q3_K || t == tensor.Q4_K) {
			t = tensor.Q5_K
		}
		if mi.nExpert == 8 {
			t = tensor.Q8_0
		}
		mi.iAttnV++
	case cat == catAttnK:
		if mi.nExpert == 8 {
			t = tensor.Q8_0
		}
	case cat == catFFNDown:
		il, err := mi.layerIndex(mi.iFFNDown, name)
		if err != nil {
			return 0, err
		}
		n := mi.nLayer
		switch {
		case ft == ftQ2_K:
			t = tensor.Q3_K
		case ft == ftQ3_KM:
			switch {
			case il < n/16:
				t = tensor.Q5_K
			case !falcon || useMoreBits(il, n):
				t = tensor.Q4_K
			default:
				t = tensor.Q3_K
			}
		case ft == ftQ3_KL:
			if falcon {
				t = tensor.Q4_K
			} else {
				t = tensor.Q5_K
			}
		case ft == ftQ4_KM:
			if falcon {
				switch {
				case il < n/16:
					t = tensor.Q6_K
				case useMoreBits(il, n):
					t = tensor.Q5_K
				default:
					t = tensor.Q4_K
				}
			} else if useMoreBits(il, n) {
				t = tensor.Q6_K
			}
		case il < n/8 && (ft == ftIQ4NL || ft == ftIQ4XS):
			t = tensor.Q5_K
		case ft == ftQ5_KM && useMoreBits(il, n):
			t = tensor.Q6_K
		case ft == ftQ4_KS && !falcon && il < n/8:
			t = tensor.Q5_K
		}
		mi.iFFNDown++
	case cat == catAttnOutput:
		if !falcon {
			if mi.nExpert == 8 {
				switch ft {
				case ftQ2_K, ftQ3_KS, ftQ3_KM, ftIQ4NL, ftQ4_KS, ftQ4_KM, ftIQ4XS:
					t = tensor.Q5_K
				}
			} else {
				switch ft {
				case ftQ2_K:
					t = tensor.Q3_K
				case ftQ3_KM:
					t = tensor.Q4_K
				case ftQ3_KL:
					t = tensor.Q5_K
				}
			}
		} else if ft == ftQ3_KL {
			t = tensor.Q4_K
		}
	case cat == catAttnQKV:
		// unreachable: attn_qkv is attn_v-like above (as in llama.cpp)
	case cat == catFFNGate:
		if _, err := mi.layerIndex(mi.iFFNGate, name); err != nil {
			return 0, err
		}
		mi.iFFNGate++
	case cat == catFFNUp:
		if _, err := mi.layerIndex(mi.iFFNUp, name); err != nil {
			return 0, err
		}
		mi.iFFNUp++
	}
	return t, nil
}

// fallback replaces a type whose block size does not divide the row length
// with a compatible one (llama.cpp's tensor_type_fallback), F16 as the
// last resort. Unlike llama.cpp it never fails: for a legacy type (Q4_0,
// Q8_0, ...) without a defined fallback it also chooses F16.
func (mi *modelInfo) fallback(t tensor.Type, rowLen int64) tensor.Type {
	if rowLen%int64(t.BlockSize()) == 0 {
		return t
	}
	mi.nFallbacks++
	var r tensor.Type
	switch t {
	case tensor.IQ4_XS:
		r = tensor.IQ4_NL
	case tensor.Q2_K, tensor.Q3_K:
		r = tensor.Q4_0
	case tensor.Q4_K:
		r = tensor.Q5_0
	case tensor.Q5_K:
		r = tensor.Q5_1
	case tensor.Q6_K:
		r = tensor.Q8_0
	default:
		// llama.cpp has no fallback for the legacy types and refuses the
		// model; F16, the end of its fallback chain, keeps such a model
		// quantizable (what llama-quantize --tensor-type NAME=f16 gives).
		r = tensor.F16
	}
	if rowLen%int64(r.BlockSize()) != 0 {
		r = tensor.F16
	}
	return r
}

// isQuantized reports whether t is a block-quantized type (not F32, F16,
// BF16 or an integer type).
func isQuantized(t tensor.Type) bool {
	switch t {
	case tensor.F32, tensor.F16, tensor.BF16, tensor.F64, tensor.I8, tensor.I16, tensor.I32, tensor.I64:
		return false
	}
	return true
}

// Tensor is one tensor of a quantization plan.
type Tensor struct {
	Name  string
	Shape []int64
	From  tensor.Type // type in the source file
	To    tensor.Type // type in the output
	src   *gguf.TensorInfo
}

// Override forces the type of the tensors whose name Pattern matches
// (anywhere in the name), like llama-quantize's --tensor-type
// PATTERN=TYPE. The first matching override wins.
type Override struct {
	Pattern *regexp.Regexp
	Type    tensor.Type
}

// Plan lists the tensors of src in the order llama-quantize writes them
// (non-layer tensors first, then by layer number, each group sorted by
// name) with the type each gets for the target ft.
func Plan(src *gguf.File, ft FileType, overrides ...Override) ([]Tensor, error) {
	plan := make([]Tensor, len(src.Tensors))
	for i := range src.Tensors {
		ti := &src.Tensors[i]
		plan[i] = Tensor{Name: ti.Name, Shape: ti.Shape, From: ti.Type, To: ti.Type, src: ti}
	}
	sort.SliceStable(plan, func(i, j int) bool {
		a, b := layerOf(plan[i].Name), layerOf(plan[j].Name)
		if a != b {
			return a < b
		}
		return plan[i].Name < plan[j].Name
	})
	names := make([]string, len(plan))
	for i := range plan {
		names[i] = plan[i].Name
	}
	mi := newModelInfo(src, names)
	for i := range plan {
		p := &plan[i]
		if !allowsQuantization(p.Name, p.Shape) {
			continue
		}
		t := ft.Default
		if isQuantized(t) {
			manual := false
			for _, o := range overrides {
				if o.Pattern.MatchString(p.Name) {
					t, manual = o.Type, true
					break
				}
			}
			if !manual {
				var err error
				if t, err = mi.mixtureType(t, p.Name, p.Shape, ft.ID, categoryOf(p.Name)); err != nil {
					return nil, err
				}
			}
			t = mi.fallback(t, p.Shape[0])
		}
		p.To = t
	}
	return plan, nil
}
