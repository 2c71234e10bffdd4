// Package quantize re-quantizes GGUF models the way llama.cpp's
// llama-quantize does (without an importance matrix): it chooses a storage
// type per tensor with the same rules as llama_tensor_get_type in
// src/llama-quant.cpp (K-quant mixtures such as Q4_K_M give attn_v and
// ffn_down more bits in some layers, output.weight gets Q6_K, row lengths
// that are not a multiple of the block size fall back to a legacy type,
// norms and other 1-D tensors stay as they are), orders the tensors as
// llama-quantize writes them, sets general.file_type and
// general.quantization_version, and streams each tensor through
// gguf.Writer so that only a few rows are in memory at a time.
//
// Since the tensor package's quantizers are bit-exact with ggml's reference
// quantizers, the output of File for an F32 source is byte-identical to
// llama-quantize's for the same file type.
package quantize

import (
	"fmt"
	"sort"
	"strings"

	"golem/tensor"
)

// FileType is a target of re-quantization: one of llama.cpp's llama_ftype
// values (general.file_type) with its name and default tensor type.
type FileType struct {
	Name    string      // llama-quantize's name, e.g. "Q4_K_M"
	ID      uint32      // llama_ftype value stored in general.file_type
	Default tensor.Type // type of the tensors no rule singles out
}

// The llama_ftype values this package can write (include/llama.h).
const (
	ftF32   = 0
	ftF16   = 1
	ftQ4_0  = 2
	ftQ4_1  = 3
	ftQ8_0  = 7
	ftQ5_0  = 8
	ftQ5_1  = 9
	ftQ2_K  = 10
	ftQ3_KS = 11
	ftQ3_KM = 12
	ftQ3_KL = 13
	ftQ4_KS = 14
	ftQ4_KM = 15
	ftQ5_KS = 16
	ftQ5_KM = 17
	ftQ6_K  = 18
	ftIQ4NL = 25
	ftIQ4XS = 30
	ftBF16  = 32
)

// fileTypes lists every supported target, in llama-quantize's help order.
var fileTypes = []FileType{
	{"Q4_0", ftQ4_0, tensor.Q4_0},
	{"Q4_1", ftQ4_1, tensor.Q4_1},
	{"Q5_0", ftQ5_0, tensor.Q5_0},
	{"Q5_1", ftQ5_1, tensor.Q5_1},
	{"IQ4_NL", ftIQ4NL, tensor.IQ4_NL},
	{"IQ4_XS", ftIQ4XS, tensor.IQ4_XS},
	{"Q2_K", ftQ2_K, tensor.Q2_K},
	{"Q3_K_S", ftQ3_KS, tensor.Q3_K},
	{"Q3_K_M", ftQ3_KM, tensor.Q3_K},
	{"Q3_K_L", ftQ3_KL, tensor.Q3_K},
	{"Q4_K_S", ftQ4_KS, tensor.Q4_K},
	{"Q4_K_M", ftQ4_KM, tensor.Q4_K},
	{"Q5_K_S", ftQ5_KS, tensor.Q5_K},
	{"Q5_K_M", ftQ5_KM, tensor.Q5_K},
	{"Q6_K", ftQ6_K, tensor.Q6_K},
	{"Q8_0", ftQ8_0, tensor.Q8_0},
	{"F16", ftF16, tensor.F16},
	{"BF16", ftBF16, tensor.BF16},
	{"F32", ftF32, tensor.F32},
}

// aliases are the short names llama-quantize also accepts.
var aliases = map[string]string{
	"Q3_K": "Q3_K_M",
	"Q4_K": "Q4_K_M",
	"Q5_K": "Q5_K_M",
}

// FileTypes returns the names of all supported targets.
func FileTypes() []string {
	out := make([]string, len(fileTypes))
	for i, ft := range fileTypes {
		out[i] = ft.Name
	}
	return out
}

// ParseFileType looks up a target by name, case-insensitively ("q4_k_m",
// "Q8_0"; "Q4_K" means Q4_K_M as in llama-quantize).
func ParseFileType(name string) (FileType, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if a, ok := aliases[n]; ok {
		n = a
	}
	for _, ft := range fileTypes {
		if ft.Name == n {
			return ft, nil
		}
	}
	names := FileTypes()
	sort.Strings(names)
	return FileType{}, fmt.Errorf("quantize: unknown quantization type %q (supported: %s)", name, strings.Join(names, ", "))
}
