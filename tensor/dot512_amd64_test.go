//go:build amd64

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// with512 runs f with the AVX-512 kernels switched on or off.
func with512(on bool, f func()) {
	old := use512
	use512 = on
	defer func() { use512 = old }()
	f()
}

// TestAVX512MatchesAVX2 checks that the AVX-512 multi-row kernels give
// results bit-identical to the AVX2 ones for every row count, odd and even
// block counts, padded strides and all data modes, and that they never
// read past the last row or the activation: both end at an inaccessible
// page.
func TestAVX512MatchesAVX2(t *testing.T) {
	if !hasAVX512VNNI {
		t.Skip("CPU lacks AVX-512 VNNI/VBMI")
	}
	for _, typ := range []Type{Q4_0, Q5_0, Q8_0, IQ4_NL} {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(21, uint64(typ)))
			act, _ := VecDotType(typ)
			cases := 0
			for _, nb := range []int{1, 2, 3, 4, 5, 8, 17, 28, 33} {
				n := nb * typ.BlockSize()
				rowBytes, _ := typ.RowSize(int64(n))
				for _, rows := range []int{8, 9, 16, 19, 24} {
					for _, pad := range []int{0, 5} {
						for mode := 0; mode < numModes; mode++ {
							stride := int(rowBytes) + pad
							w, freeW := guardedBuffer(t, (rows-1)*stride+int(rowBytes))
							for r := 0; r < rows; r++ {
								copy(w[r*stride:], simdWeightRow(rng, typ, nb, mode))
							}
							src := simdActRow(rng, act, n, mode)
							a, freeA := guardedBuffer(t, len(src))
							copy(a, src)
							got, want := make([]float32, rows), make([]float32, rows)
							with512(true, func() { simdRowKernels[typ](w, stride, a, n, got) })
							with512(false, func() { simdRowKernels[typ](w, stride, a, n, want) })
							for r := range got {
								cases++
								if math.Float32bits(got[r]) != math.Float32bits(want[r]) {
									t.Errorf("nb=%d rows=%d pad=%d mode=%d row %d: avx512 %v, avx2 %v", nb, rows, pad, mode, r, got[r], want[r])
								}
							}
							freeW()
							freeA()
						}
					}
				}
			}
			t.Logf("%s: %d rows bit-identical", typ, cases)
		})
	}
}

// BenchmarkAVX512 compares the AVX2 and AVX-512 kernel sets on a
// cache-resident 256×4096 weight (compute rate).
func BenchmarkAVX512(b *testing.B) {
	if !hasAVX512VNNI {
		b.Skip("CPU lacks AVX-512 VNNI/VBMI")
	}
	for _, typ := range []Type{Q4_0, Q5_0, Q8_0, IQ4_NL, Q4_K, Q5_K, Q6_K} {
		const rows, n = 256, 4096
		act, _ := VecDotType(typ)
		rng := rand.New(rand.NewPCG(3, 4))
		w := simdWeightRow(rng, typ, rows*n/typ.BlockSize(), modeRandom)
		a := simdActRow(rng, act, n, modeRandom)
		out := make([]float32, rows)
		for _, on := range []bool{false, true} {
			b.Run(fmt.Sprintf("%s/avx512=%v", typ, on), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				with512(on, func() {
					for b.Loop() {
						simdRowKernels[typ](w, len(w)/rows, a, n, out)
					}
				})
			})
		}
	}
}

// forKernelSets runs f as a subtest once per assembly kernel set this CPU
// can run: "avx2" (the AVX-512 kernels switched off) and, where available,
// "avx512".
func forKernelSets(t *testing.T, f func(t *testing.T)) {
	t.Run("avx2", func(t *testing.T) { with512(false, func() { f(t) }) })
	if hasAVX512VNNI {
		t.Run("avx512", func(t *testing.T) { with512(true, func() { f(t) }) })
	}
}

// BenchmarkDecodeSets compares the AVX2 and AVX-512 kernel sets on the
// decode matrix-vector product at the models' row lengths (896 columns,
// Qwen2.5-0.5B; 2048 for the K-quants, Llama-3.2-1B) with 64 MiB of
// weights, streamed from memory; cpuGB/s is per second of the benchmark
// thread's CPU time (steadier on a shared machine than the wall clock).
func BenchmarkDecodeSets(b *testing.B) {
	if !hasAVX512VNNI {
		b.Skip("CPU lacks AVX-512 VNNI/VBMI")
	}
	for _, tc := range []struct {
		typ  Type
		cols int
	}{{Q4_0, 896}, {Q8_0, 896}, {Q5_0, 896}, {IQ4_NL, 896}, {Q4_K, 2048}, {Q5_K, 2048}, {Q6_K, 2048}} {
		rowBytes, _ := tc.typ.RowSize(int64(tc.cols))
		rows := int((64<<20)/rowBytes) &^ 7
		rng := rand.New(rand.NewPCG(7, uint64(tc.typ)))
		w := simdWeightRow(rng, tc.typ, rows*tc.cols/tc.typ.BlockSize(), modeRandom)
		act, _ := VecDotType(tc.typ)
		a := simdActRow(rng, act, tc.cols, modeRandom)
		out := make([]float32, rows)
		for _, on := range []bool{false, true} {
			name := map[bool]string{false: "avx2", true: "avx512"}[on]
			b.Run(fmt.Sprintf("%s/%d/%s", tc.typ, tc.cols, name), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0, ok := threadCPUTime()
				iters := 0
				with512(on, func() {
					for b.Loop() {
						dotRows(tc.typ, w, int(rowBytes), a, tc.cols, out)
						iters++
					}
				})
				if c1, _ := threadCPUTime(); ok && c1 > c0 {
					b.ReportMetric(float64(len(w))*float64(iters)/float64(c1-c0), "cpuGB/s")
				}
			})
		}
	}
}
