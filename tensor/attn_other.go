//go:build !amd64

package tensor

// Without assembly the attention helpers run their portable Go code.

const (
	attnSIMD   = false
	attnAVX512 = false
)

func dotF16SIMD(k []uint16, q []float32) float32 { return dotF16ChunksGo(k, q) }
func axpyF16SIMD(acc, v []uint16, s float32)     {}
func scaleF16SIMD(acc []uint16, s float32)       {}
func f32ToF16SIMD(dst []uint16, src []float32)   {}
func f16ToF32SIMD(dst []float32, src []uint16)   {}
func roundF16SIMD(x []float32)                   {}

// AttnKernelSet names the attention helpers in use.
func AttnKernelSet() string { return "portable" }

// setAttnKernels is a no-op without assembly (for tests).
func setAttnKernels(simd, avx512 bool) {}

func weightedSum32SIMD(dst, w, rows []float32, stride int) {}

func expF32SIMD(dst, src []float32, shift float32) {}
