package gguf

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ParameterCount returns the number of model parameters: the sum of the
// element counts of all tensors (saturating at MaxInt64 for absurd files).
func (f *File) ParameterCount() int64 {
	var n int64
	for i := range f.Tensors {
		e := f.Tensors[i].Elements()
		if e > math.MaxInt64-n {
			return math.MaxInt64
		}
		n += e
	}
	return n
}

// FileType returns the name of the file's general.file_type (see
// FileTypeName), or "" when the key is absent or not an integer.
func (f *File) FileType() string {
	v, ok := f.Uint("general.file_type")
	if !ok || v > math.MaxUint32 {
		return ""
	}
	return FileTypeName(uint32(v))
}

// fileTypeGuessed is llama.cpp's LLAMA_FTYPE_GUESSED flag: the file type was
// inferred from the tensors rather than stored.
const fileTypeGuessed = 1024

// fileTypeNames are the names of llama.cpp's enum llama_ftype values with
// the LLAMA_FTYPE_MOSTLY_ / LLAMA_FTYPE_ALL_ prefix removed, the form
// Ollama shows as the quantization level. Retired values are kept so old
// files are still described.
var fileTypeNames = map[uint32]string{
	0:  "F32",
	1:  "F16",
	2:  "Q4_0",
	3:  "Q4_1",
	4:  "Q4_1_SOME_F16", // retired
	5:  "Q4_2",          // retired
	6:  "Q4_3",          // retired
	7:  "Q8_0",
	8:  "Q5_0",
	9:  "Q5_1",
	10: "Q2_K",
	11: "Q3_K_S",
	12: "Q3_K_M",
	13: "Q3_K_L",
	14: "Q4_K_S",
	15: "Q4_K_M",
	16: "Q5_K_S",
	17: "Q5_K_M",
	18: "Q6_K",
	19: "IQ2_XXS",
	20: "IQ2_XS",
	21: "Q2_K_S",
	22: "IQ3_XS",
	23: "IQ3_XXS",
	24: "IQ1_S",
	25: "IQ4_NL",
	26: "IQ3_S",
	27: "IQ3_M",
	28: "IQ2_S",
	29: "IQ2_M",
	30: "IQ4_XS",
	31: "IQ1_M",
	32: "BF16",
	33: "Q4_0_4_4", // retired
	34: "Q4_0_4_8", // retired
	35: "Q4_0_8_8", // retired
	36: "TQ1_0",
	37: "TQ2_0",
	38: "MXFP4_MOE",
	39: "NVFP4",
	40: "Q1_0",
	41: "Q2_0",
}

// FileTypeName names a general.file_type value (llama.cpp's llama_ftype):
// 0 is "F32", 1 "F16", 7 "Q8_0", 15 "Q4_K_M" and so on. A value with the
// GUESSED flag (1024) set gets " (guessed)" appended; an unknown value is
// named "unknown(N)".
func FileTypeName(ft uint32) string {
	if ft&fileTypeGuessed != 0 {
		return FileTypeName(ft&^fileTypeGuessed) + " (guessed)"
	}
	if s, ok := fileTypeNames[ft]; ok {
		return s
	}
	return fmt.Sprintf("unknown(%d)", ft)
}

// FormatParamCount formats a parameter count for people: "293K",
// "494.03M", "1.24B", "8B". Billions and millions get up to two decimals
// (trailing zeros dropped), thousands none.
func FormatParamCount(n int64) string {
	x := float64(n)
	switch {
	case n >= 1e9:
		return trimmed(x/1e9) + "B"
	case n >= 1e6:
		return trimmed(x/1e6) + "M"
	case n >= 1e3:
		return strconv.FormatFloat(x/1e3, 'f', 0, 64) + "K"
	}
	return strconv.FormatInt(n, 10)
}

// trimmed prints v with two decimals, dropping trailing zeros.
func trimmed(v float64) string {
	s := strconv.FormatFloat(v, 'f', 2, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
