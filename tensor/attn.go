package tensor

// Vector helpers for attention over an F16 key/value cache. They follow the
// arithmetic of ggml's CPU flash-attention one-row kernel on an AVX-512
// machine (the machine llama.cpp's golden outputs come from), so that a
// decoded token's logits do not depend on which implementation runs:
//
//   - DotF16 is ggml_vec_dot_f16: whole 64-element chunks go through four
//     16-lane float32 FMA accumulators, the rest is summed in float64;
//   - AxpyF16 is ggml_vec_mad_f16: acc += v·s with one F16 rounding per
//     element, fused for whole 64-element chunks, unfused for the rest;
//   - ScaleF16 is ggml_vec_scale_f16: acc *= s, rounded to F16.
//
// On amd64 CPUs with AVX2, FMA and F16C (and AVX-512 for the dot product)
// the work is done in assembly (attn_amd64.s) with the same lane layout and
// reduction order, so both paths agree bit for bit; GOLEM_NO_SIMD=1 forces
// the portable Go code. Every function works on the common length of its
// arguments and never reads or writes past it.

import "math"

// attnChunk is the element count of one ggml AVX-512 F16 step (GGML_F16_STEP).
const attnChunk = 64

// DotF16 returns the dot product of the F16 vector k and the float32
// vector q over min(len(k), len(q)) elements, as ggml_vec_dot_f16 computes
// it on AVX-512: the leading multiple of 64 elements in four 16-lane FMA
// accumulators (summed pairwise 0+2, 1+3, then together, then across lanes
// by halves), the remainder as exact products summed in float64. q should
// hold F16-representable values (ggml converts the query to F16 first).
func DotF16(k []uint16, q []float32) float32 {
	n := min(len(k), len(q))
	simd := n &^ (attnChunk - 1)
	var lanes float32
	if simd > 0 {
		lanes = dotF16Chunks(k[:simd], q[:simd])
	}
	var tail float64
	for i := simd; i < n; i++ {
		tail += float64(F16ToF32(k[i]) * q[i])
	}
	return float32(float64(lanes) + tail)
}

// DotF16Rows sets out[r] = DotF16(k[r·stride:r·stride+len(q)], q) for
// every r < len(out): one query against consecutive cached keys, choosing
// the kernel once for all of them (the results are DotF16's).
func DotF16Rows(k []uint16, stride int, q []float32, out []float32) {
	n := len(q)
	if len(out) == 0 || n == 0 {
		clear(out)
		return
	}
	_ = k[(len(out)-1)*stride+n-1]
	if n%attnChunk != 0 || !attnSIMD {
		for r := range out {
			out[r] = DotF16(k[r*stride:r*stride+n], q)
		}
		return
	}
	for r := range out {
		out[r] = dotF16SIMD(k[r*stride:r*stride+n], q)
	}
}

// AxpyF16 sets acc[i] = F16(acc[i] + v[i]·s) over min(len(acc), len(v))
// elements, as ggml_vec_mad_f16 does on AVX-512: one fused multiply-add
// for the leading multiple of 64 elements, a rounded product then a sum
// for the rest.
func AxpyF16(acc, v []uint16, s float32) {
	n := min(len(acc), len(v))
	simd := n &^ (attnChunk - 1)
	if simd > 0 {
		axpyF16Chunks(acc[:simd], v[:simd], s)
	}
	for i := simd; i < n; i++ {
		acc[i] = F32ToF16(F16ToF32(acc[i]) + float32(F16ToF32(v[i])*s))
	}
}

// ScaleF16 sets acc[i] = F16(acc[i]·s).
func ScaleF16(acc []uint16, s float32) {
	n := len(acc) &^ 7
	if n > 0 && attnSIMD {
		scaleF16SIMD(acc[:n], s)
	} else {
		n = 0
	}
	for i := n; i < len(acc); i++ {
		acc[i] = F32ToF16(F16ToF32(acc[i]) * s)
	}
}

// F32ToF16Slice converts src to half precision into dst (rounding to
// nearest even, as F32ToF16), over min(len(dst), len(src)) elements.
func F32ToF16Slice(dst []uint16, src []float32) {
	n := min(len(dst), len(src))
	m := n &^ 7
	if m > 0 && attnSIMD {
		f32ToF16SIMD(dst[:m], src[:m])
	} else {
		m = 0
	}
	for i := m; i < n; i++ {
		dst[i] = F32ToF16(src[i])
	}
}

// F16ToF32Slice converts src from half precision into dst (exact), over
// min(len(dst), len(src)) elements.
func F16ToF32Slice(dst []float32, src []uint16) {
	n := min(len(dst), len(src))
	m := n &^ 7
	if m > 0 && attnSIMD {
		f16ToF32SIMD(dst[:m], src[:m])
	} else {
		m = 0
	}
	for i := m; i < n; i++ {
		dst[i] = F16ToF32(src[i])
	}
}

// RoundF16Slice rounds every element of x to the nearest F16 value in
// place (ggml converts the query row to F16 before the one-row kernel).
func RoundF16Slice(x []float32) {
	m := len(x) &^ 7
	if m > 0 && attnSIMD {
		roundF16SIMD(x[:m])
	} else {
		m = 0
	}
	for i := m; i < len(x); i++ {
		x[i] = RoundF16(x[i])
	}
}

// dotF16Chunks is DotF16's lane part; len(k) == len(q), a multiple of 64.
func dotF16Chunks(k []uint16, q []float32) float32 {
	if attnSIMD {
		return dotF16SIMD(k, q)
	}
	return dotF16ChunksGo(k, q)
}

// axpyF16Chunks is AxpyF16's fused part; len(acc) == len(v), a multiple of 64.
func axpyF16Chunks(acc, v []uint16, s float32) {
	if attnSIMD {
		axpyF16SIMD(acc, v, s)
		return
	}
	for i, x := range v {
		acc[i] = F32ToF16(fma32(F16ToF32(x), s, F16ToF32(acc[i])))
	}
}

// dotF16ChunksGo emulates the AVX-512 loop: acc[j][l] accumulates elements
// 64c + 16j + l, then the accumulators are combined in ggml's order.
func dotF16ChunksGo(k []uint16, q []float32) float32 {
	var acc [4][16]float32
	for c := 0; c+attnChunk <= len(k); c += attnChunk {
		for j := range 4 {
			for l := range 16 {
				e := c + 16*j + l
				acc[j][l] = fma32(F16ToF32(k[e]), q[e], acc[j][l])
			}
		}
	}
	var r [16]float32
	for l := range r {
		r[l] = (acc[0][l] + acc[2][l]) + (acc[1][l] + acc[3][l])
	}
	for w := 8; w >= 1; w /= 2 {
		for l := 0; l < w; l++ {
			r[l] += r[l+w]
		}
	}
	return r[0]
}

// fma32 is a·b+c rounded to float32. The product of two float32 values is
// exact in float64, so this differs from a single-rounding FMA only when
// the float64 sum lands exactly on a float32 tie, which is vanishingly rare.
func fma32(a, b, c float32) float32 {
	return float32(math.FMA(float64(a), float64(b), float64(c)))
}

// WeightedSumF32 sets dst[d] = Σ_i w[i]·rows[i·stride + d] for d <
// len(dst) and i < len(w): the weighted sum of len(w) rows of a row-major
// float32 matrix (the softmax-weighted values of attention). Each element
// accumulates its rows in order with fused multiply-adds. It returns
// without writing when rows is too short (len(w) rows of stride >=
// len(dst) elements are needed).
func WeightedSumF32(dst, w, rows []float32, stride int) {
	n, d := len(w), len(dst)
	if n == 0 {
		clear(dst)
		return
	}
	if stride < d || len(rows) < (n-1)*stride+d {
		return
	}
	strips := 0
	if attnSIMD {
		strips = d / 32 * 32
		for c := 0; c < strips; c += 32 {
			weightedSum32SIMD(dst[c:c+32], w, rows[c:], stride)
		}
	}
	for c := strips; c < d; c++ {
		var acc float32
		for i, wi := range w {
			acc = fma32(wi, rows[i*stride+c], acc)
		}
		dst[c] = acc
	}
}

// Constants of ExpF32Slice's exp: Cephes' expf (range reduction by ln 2
// split in two parts, a degree-6 polynomial), accurate to about 1 ulp.
const (
	expHi    = 88.37000274658203
	expLo    = -87.33654022216797
	expLog2e = 1.44269504088896341
	expC1    = 0.693359375
	expC2    = -2.12194440e-4
	expP0    = 1.9875691500e-4
	expP1    = 1.3981999507e-3
	expP2    = 8.3334519073e-3
	expP3    = 4.1665795894e-2
	expP4    = 1.6666665459e-1
	expP5    = 5.0000001201e-1
)

// ExpF32Slice sets dst[i] = e^src[i] over min(len(dst), len(src))
// elements (dst may be src), within about 1 ulp of the exact value.
// Inputs are clamped to [-87.34, 88.37], so that 2^round(x·log2 e) stays
// finite: very negative ones give the smallest normal float32 instead of
// 0, and NaN inputs give unspecified results. The assembly and the
// portable code perform the same float32 operations in the same order and
// agree bit for bit. It serves softmax weights and SiLU, where llama.cpp
// also uses a vectorized approximation of expf.
func ExpF32Slice(dst, src []float32) {
	ExpShiftF32Slice(dst, src, 0)
}

// ExpShiftF32Slice sets dst[i] = e^(src[i]-shift), the subtraction rounded
// to float32 first (softmax weights e^(s-max) in one pass); otherwise as
// ExpF32Slice.
func ExpShiftF32Slice(dst, src []float32, shift float32) {
	n := min(len(dst), len(src))
	m := n &^ 7
	if m > 0 && attnSIMD {
		expF32SIMD(dst[:m], src[:m], shift)
	} else {
		m = 0
	}
	for i := m; i < n; i++ {
		dst[i] = expF32(src[i] - shift)
	}
}

// expF32 is one element of ExpF32Slice. The explicit float32 conversions
// keep the compiler from fusing multiplies into adds, so the rounding is
// that of the assembly's separate VMULPS and VADDPS.
func expF32(x float32) float32 {
	x = min(max(x, expLo), expHi)
	fx := float32(math.RoundToEven(float64(float32(x * expLog2e))))
	r := float32(x - float32(fx*expC1))
	r = float32(r - float32(fx*expC2))
	y := float32(expP0)
	y = float32(float32(y*r) + expP1)
	y = float32(float32(y*r) + expP2)
	y = float32(float32(y*r) + expP3)
	y = float32(float32(y*r) + expP4)
	y = float32(float32(y*r) + expP5)
	y = float32(float32(y*float32(r*r)) + r)
	y = float32(y + 1)
	return y * math.Float32frombits(uint32(int32(fx)+127)<<23)
}
