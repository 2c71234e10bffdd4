package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

// withAttnKernels runs f once per available implementation of the
// attention helpers (portable, then AVX2 and AVX-512 where the CPU has
// them and GOLEM_NO_SIMD is unset), restoring the selection afterwards.
func withAttnKernels(t *testing.T, f func(t *testing.T, name string)) {
	simd, avx512 := attnSIMD, attnAVX512
	defer func() { setAttnKernels(simd, avx512) }()
	setAttnKernels(false, false)
	f(t, "portable")
	if simd {
		setAttnKernels(true, false)
		f(t, "avx2")
	}
	if avx512 {
		setAttnKernels(true, true)
		f(t, "avx512")
	}
}

// randomF16 returns n F16 values of magnitude up to scale, with a few
// zeros, subnormals and negative zeros mixed in.
func randomF16(r *rand.Rand, n int, scale float32) []uint16 {
	v := make([]uint16, n)
	for i := range v {
		switch r.IntN(50) {
		case 0:
			v[i] = 0x8000
		case 1:
			v[i] = uint16(r.IntN(0x400)) // subnormal
		default:
			v[i] = F32ToF16((2*r.Float32() - 1) * scale)
		}
	}
	return v
}

// TestAttnHelpersMatchPortable checks every helper bit for bit against the
// portable code (and the portable lane emulation against a float64 dot)
// for lengths around the 8- and 64-element steps.
func TestAttnHelpersMatchPortable(t *testing.T) {
	lengths := []int{0, 1, 7, 8, 15, 63, 64, 65, 80, 96, 127, 128, 200, 256}
	type result struct {
		dot            []float32
		axpy, scale    [][]uint16
		toF16          [][]uint16
		toF32, rounded [][]float32
	}
	var want *result
	withAttnKernels(t, func(t *testing.T, name string) {
		r := rand.New(rand.NewPCG(7, 11))
		got := &result{}
		for _, n := range lengths {
			for range 20 {
				k := randomF16(r, n, 4)
				q := make([]float32, n)
				for i := range q {
					q[i] = RoundF16((2*r.Float32() - 1) * 3)
				}
				d := DotF16(k, q)
				got.dot = append(got.dot, d)
				var exact float64
				for i := range k {
					exact += float64(F16ToF32(k[i])) * float64(q[i])
				}
				if diff := math.Abs(float64(d) - exact); diff > 1e-5*(1+math.Abs(exact))*float64(n) {
					t.Errorf("%s: DotF16 n=%d = %g, float64 dot %g", name, n, d, exact)
				}
				acc, v := randomF16(r, n, 2), randomF16(r, n, 2)
				s := 2*r.Float32() - 1
				AxpyF16(acc, v, s)
				got.axpy = append(got.axpy, acc)
				sc := randomF16(r, n, 8)
				ScaleF16(sc, s*1.5)
				got.scale = append(got.scale, sc)
				src := make([]float32, n)
				for i := range src {
					src[i] = float32(r.NormFloat64()) * float32(math.Pow(2, float64(r.IntN(40)-25)))
				}
				h := make([]uint16, n)
				F32ToF16Slice(h, src)
				got.toF16 = append(got.toF16, h)
				f := make([]float32, n)
				F16ToF32Slice(f, k)
				got.toF32 = append(got.toF32, f)
				RoundF16Slice(src)
				got.rounded = append(got.rounded, src)
				for i := range h {
					if h[i] != F32ToF16(src[i]) || f[i] != F16ToF32(k[i]) {
						t.Fatalf("%s: conversion of element %d of %d differs from the scalar one", name, i, n)
					}
				}
			}
		}
		if want == nil {
			want = got
			return
		}
		for i := range want.dot {
			if math.Float32bits(got.dot[i]) != math.Float32bits(want.dot[i]) {
				t.Errorf("%s: dot %d = %g, portable %g", name, i, got.dot[i], want.dot[i])
			}
		}
		for _, p := range []struct {
			what      string
			got, want [][]uint16
		}{{"axpy", got.axpy, want.axpy}, {"scale", got.scale, want.scale}, {"f32->f16", got.toF16, want.toF16}} {
			for i := range p.want {
				for j := range p.want[i] {
					if p.got[i][j] != p.want[i][j] {
						t.Fatalf("%s: %s case %d element %d: %#04x, portable %#04x", name, p.what, i, j, p.got[i][j], p.want[i][j])
					}
				}
			}
		}
		for i := range want.rounded {
			for j := range want.rounded[i] {
				if math.Float32bits(got.rounded[i][j]) != math.Float32bits(want.rounded[i][j]) ||
					got.toF32[i][j] != want.toF32[i][j] {
					t.Fatalf("%s: rounding/f16->f32 case %d element %d differs from portable", name, i, j)
				}
			}
		}
	})
}

// TestDotF16Lanes checks the lane order: values chosen so that the
// float32 lane sums are exact give the float64 dot, and a case where the
// order matters gives what ggml's reduction gives.
func TestDotF16Lanes(t *testing.T) {
	withAttnKernels(t, func(t *testing.T, name string) {
		k, q := make([]uint16, 128), make([]float32, 128)
		var want float64
		for i := range k {
			kv := RoundF16(float32(i%7) - 3.25)
			qv := RoundF16(float32(i%5)*0.5 - 1)
			k[i], q[i] = F32ToF16(kv), qv
			want += float64(kv) * float64(qv)
		}
		if got := DotF16(k, q); float64(got) != want {
			t.Errorf("%s: DotF16 = %g, want %g", name, got, want)
		}
		// Lane 0 of accumulator 0 holds 2^24, lane 0 of accumulator 2
		// holds 1, lane 0 of accumulator 1 holds -2^24 and every other
		// product is 0: (2^24 + 1) + (-2^24) is 0 in float32, while a
		// sequential sum would give 1.
		for i := range k {
			k[i], q[i] = 0, 0
		}
		k[0], q[0] = F32ToF16(4096), 4096
		k[32], q[32] = F32ToF16(1), 1
		k[16], q[16] = F32ToF16(-4096), 4096
		if got := DotF16(k[:64], q[:64]); got != 0 {
			t.Errorf("%s: DotF16 lane order: got %g, want 0", name, got)
		}
	})
}

// BenchmarkAttnHelpers measures one 64-element dot and multiply-add (a
// head of llama3.2-1b / qwen2.5-0.5b) per iteration.
func BenchmarkAttnHelpers(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	k, acc := randomF16(r, 64, 1), randomF16(r, 64, 1)
	q := make([]float32, 64)
	for i := range q {
		q[i] = RoundF16(r.Float32())
	}
	var sink float32
	for b.Loop() {
		sink += DotF16(k, q)
		AxpyF16(acc, k, 0.5)
	}
	_ = sink
}

// TestWeightedSumF32 checks the weighted row sum against a float64 sum and
// bit for bit against the portable code, for widths around the 32-column
// strips and strides wider than the rows.
func TestWeightedSumF32(t *testing.T) {
	type key struct{ n, d, stride int }
	want := map[key][]float32{}
	withAttnKernels(t, func(t *testing.T, name string) {
		r := rand.New(rand.NewPCG(3, 4))
		for _, n := range []int{0, 1, 5, 64, 300} {
			for _, d := range []int{8, 32, 40, 64, 128} {
				for _, stride := range []int{d, d + 24} {
					w := make([]float32, n)
					for i := range w {
						w[i] = r.Float32()
					}
					rows := make([]float32, max(n*stride, 1))
					for i := range rows {
						rows[i] = 2*r.Float32() - 1
					}
					dst := make([]float32, d)
					for i := range dst {
						dst[i] = 99 // must be overwritten
					}
					WeightedSumF32(dst, w, rows, stride)
					for c := range dst {
						var exact float64
						for i := range w {
							exact += float64(w[i]) * float64(rows[i*stride+c])
						}
						if math.Abs(float64(dst[c])-exact) > 1e-5*float64(n+1) {
							t.Fatalf("%s: n=%d d=%d stride=%d col %d: %g, float64 %g", name, n, d, stride, c, dst[c], exact)
						}
					}
					k := key{n, d, stride}
					if ref, ok := want[k]; !ok {
						want[k] = dst
					} else {
						for c := range ref {
							if math.Float32bits(ref[c]) != math.Float32bits(dst[c]) {
								t.Fatalf("%s: n=%d d=%d stride=%d col %d: %g, portable %g", name, n, d, stride, c, dst[c], ref[c])
							}
						}
					}
				}
			}
		}
		// Too short a matrix: nothing written, no panic.
		dst := []float32{7, 7}
		WeightedSumF32(dst, []float32{1, 1}, []float32{1, 2, 3}, 2)
		if dst[0] != 7 {
			t.Errorf("%s: short matrix written", name)
		}
	})
}

// TestExpF32Slice checks the vector exp against math.Exp (relative error
// below 3 ulp over the whole range, 0 for very negative inputs within the
// smallest normal) and bit for bit against the portable code.
func TestExpF32Slice(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	src := []float32{0, 1, -1, 0.5, 88.3, -87.3, -100, -1e30, 1e-30, -1e-30, float32(math.Log(2)), 10, -10, 20}
	for range 5000 {
		src = append(src, (2*r.Float32()-1)*88)
	}
	for range 1000 {
		src = append(src, -r.Float32()*20) // softmax range
	}
	var want []float32
	withAttnKernels(t, func(t *testing.T, name string) {
		got := make([]float32, len(src))
		ExpF32Slice(got, src)
		for i, x := range src {
			exact := math.Exp(float64(x))
			if x < -87.33 {
				if got[i] > 1.2e-38 || got[i] < 0 {
					t.Errorf("%s: exp(%g) = %g, want about 0", name, x, got[i])
				}
				continue
			}
			if rel := math.Abs(float64(got[i])-exact) / exact; rel > 3.0/(1<<23) {
				t.Errorf("%s: exp(%g) = %g, math.Exp %g (relative error %.3g)", name, x, got[i], exact, rel)
			}
		}
		if want == nil {
			want = got
			return
		}
		for i := range want {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%s: exp(%g) = %g, portable %g", name, src[i], got[i], want[i])
			}
		}
		// With a shift: the same as shifting first.
		shifted := make([]float32, len(src))
		for i, x := range src {
			shifted[i] = x - 3.5
		}
		a, b := make([]float32, len(src)), make([]float32, len(src))
		ExpShiftF32Slice(a, src, 3.5)
		ExpF32Slice(b, shifted)
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%s: exp(%g - 3.5) = %g, exp(%g) = %g", name, src[i], a[i], shifted[i], b[i])
			}
		}
		// In place.
		x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8}
		ExpF32Slice(x, x)
		if x[0] != 1 || math.Abs(float64(x[8])-math.Exp(8)) > 1e-6*math.Exp(8) {
			t.Errorf("%s: in place: %v", name, x)
		}
	})
}

// TestDotF16RowsMatchesDotF16 checks the many-position score helper
// against DotF16 row by row, bit for bit, for head sizes with and without
// whole 64-element chunks and for strides wider than the row.
func TestDotF16RowsMatchesDotF16(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, tc := range []struct{ n, stride, rows int }{{64, 64, 5}, {128, 256, 9}, {80, 160, 4}, {16, 48, 3}, {64, 192, 1}, {0, 64, 2}} {
		k := randomF16(r, max((tc.rows-1)*tc.stride+tc.n, 1), 2)
		q := make([]float32, tc.n)
		for i := range q {
			q[i] = RoundF16(2*r.Float32() - 1)
		}
		withAttnKernels(t, func(t *testing.T, name string) {
			got := make([]float32, tc.rows)
			DotF16Rows(k, tc.stride, q, got)
			for r := range got {
				want := DotF16(k[r*tc.stride:r*tc.stride+tc.n], q)
				if math.Float32bits(got[r]) != math.Float32bits(want) {
					t.Fatalf("%s: n %d stride %d row %d: %g, DotF16 %g", name, tc.n, tc.stride, r, got[r], want)
				}
			}
		})
	}
}
