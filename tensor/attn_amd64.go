//go:build amd64

package tensor

import "unsafe"

// Assembly attention helpers (attn_amd64.s). The AVX2 set needs AVX2, FMA
// and F16C; the dot product and the multiply-add also have AVX-512
// versions (16 lanes per register, ggml's native width). All compute the
// same lanes in the same order as the portable code in attn.go.

//go:noescape
func dotF16x64AVX2(k *uint16, q *float32, n int) float32

//go:noescape
func dotF16x64AVX512(k *uint16, q *float32, n int) float32

//go:noescape
func axpyF16x64AVX2(acc, v *uint16, n int, s float32)

//go:noescape
func axpyF16x64AVX512(acc, v *uint16, n int, s float32)

//go:noescape
func scaleF16x8AVX2(acc *uint16, n int, s float32)

//go:noescape
func cvtF32ToF16x8AVX2(dst *uint16, src *float32, n int)

//go:noescape
func cvtF16ToF32x8AVX2(dst *float32, src *uint16, n int)

//go:noescape
func roundF16x8AVX2(x *float32, n int)

//go:noescape
func expF32x8AVX2(dst, src *float32, n int, shift float32)

//go:noescape
func weightedSum32AVX2(dst, w *float32, n int, rows *float32, stride int)

// attnSIMD selects the assembly helpers, attnAVX512 their AVX-512 variants;
// both are fixed at start-up (tests switch them to compare the paths).
var (
	attnSIMD   = hasAVX2 && !simdDisabled()
	attnAVX512 = attnSIMD && hasAVX512
)

// AttnKernelSet names the attention helpers in use: "avx512", "avx2" or
// "portable".
func AttnKernelSet() string {
	switch {
	case attnAVX512:
		return "avx512"
	case attnSIMD:
		return "avx2"
	}
	return "portable"
}

// The wrappers below are only called with equal lengths that are positive
// multiples of the kernel's step (checked by the callers in attn.go).

func dotF16SIMD(k []uint16, q []float32) float32 {
	if attnAVX512 {
		return dotF16x64AVX512(unsafe.SliceData(k), unsafe.SliceData(q), len(k))
	}
	return dotF16x64AVX2(unsafe.SliceData(k), unsafe.SliceData(q), len(k))
}

func axpyF16SIMD(acc, v []uint16, s float32) {
	if attnAVX512 {
		axpyF16x64AVX512(unsafe.SliceData(acc), unsafe.SliceData(v), len(acc), s)
		return
	}
	axpyF16x64AVX2(unsafe.SliceData(acc), unsafe.SliceData(v), len(acc), s)
}

func scaleF16SIMD(acc []uint16, s float32) {
	scaleF16x8AVX2(unsafe.SliceData(acc), len(acc), s)
}

func f32ToF16SIMD(dst []uint16, src []float32) {
	cvtF32ToF16x8AVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(dst))
}

func f16ToF32SIMD(dst []float32, src []uint16) {
	cvtF16ToF32x8AVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(dst))
}

func roundF16SIMD(x []float32) {
	roundF16x8AVX2(unsafe.SliceData(x), len(x))
}

// setAttnKernels selects the helpers (for tests).
func setAttnKernels(simd, avx512 bool) { attnSIMD, attnAVX512 = simd, avx512 }

// weightedSum32SIMD is WeightedSumF32 for one strip of 32 columns; len(w)
// > 0 and rows holds (len(w)-1)·stride + 32 elements.
func weightedSum32SIMD(dst, w, rows []float32, stride int) {
	weightedSum32AVX2(unsafe.SliceData(dst), unsafe.SliceData(w), len(w), unsafe.SliceData(rows), stride)
}

func expF32SIMD(dst, src []float32, shift float32) {
	expF32x8AVX2(unsafe.SliceData(dst), unsafe.SliceData(src), len(dst), shift)
}
