//go:build amd64

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// TestF16RowsAVX512MatchesAVX2 checks that the AVX-512 F16 row kernel
// gives results bit-identical to the AVX2 one (whose lane order the F16
// GEMM reproduces) for odd and even numbers of 32-element steps, several
// row counts and padded strides, over every data mode.
func TestF16RowsAVX512MatchesAVX2(t *testing.T) {
	if !hasAVX512 || !hasAVX2 {
		t.Skip("CPU lacks AVX-512 or AVX2")
	}
	rng := rand.New(rand.NewPCG(16, 512))
	for _, n := range []int{32, 64, 96, 896, 2048, 4864 + 32} {
		for _, rows := range []int{1, 2, 3, 7} {
			for _, pad := range []int{0, 64, 2} {
				for mode := 0; mode < numModes; mode++ {
					name := fmt.Sprintf("n%d/rows%d/pad%d/mode%d", n, rows, pad, mode)
					stride := 2*n + pad
					w := make([]byte, (rows-1)*stride+2*n)
					for r := 0; r < rows; r++ {
						copy(w[r*stride:], simdWeightRow(rng, F16, n, mode))
					}
					a := simdActRow(rng, F16, n, mode)
					want := make([]float32, rows)
					got := make([]float32, rows)
					dotF16RowsAVX2(&w[0], stride, &a[0], n, &want[0], rows)
					dotF16RowsAVX512(&w[0], stride, &a[0], n, &got[0], rows)
					for r := range want {
						if math.Float32bits(got[r]) != math.Float32bits(want[r]) &&
							!(math.IsNaN(float64(got[r])) && math.IsNaN(float64(want[r]))) {
							t.Fatalf("%s: row %d: AVX-512 %v (%#x), AVX2 %v (%#x)", name, r,
								got[r], math.Float32bits(got[r]), want[r], math.Float32bits(want[r]))
						}
					}
				}
			}
		}
	}
}

// BenchmarkF16Stream measures the F16 row kernels streaming a 128 MiB
// matrix with 2048 columns (Llama-3.2-1B's row length) from memory, with
// one thread and with two threads each streaming half the rows (the
// decode case), in weight bytes per second of wall time and (cpuGB/s)
// per second of CPU time of one core, steadier on a shared machine
// (go test -bench F16Stream ./tensor/).
func BenchmarkF16Stream(b *testing.B) {
	const cols = 2048
	const rows = (128 << 20) / (2 * cols)
	rng := rand.New(rand.NewPCG(3, 3))
	w := simdWeightRow(rng, F16, rows*cols, modeRandom)
	a := simdActRow(rng, F16, cols, modeRandom)
	out := make([]float32, rows)
	kernels := []struct {
		name string
		fn   func(x *byte, stride int, y *byte, nb int, out *float32, rows int)
	}{{"avx2", dotF16RowsAVX2}, {"avx512", dotF16RowsAVX512}}
	for _, k := range kernels {
		if k.name == "avx512" && !hasAVX512 {
			continue
		}
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", k.name, threads), func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				c0 := cpuTime()
				iters := 0
				for b.Loop() {
					iters++
					per := rows / threads
					done := make(chan struct{}, threads)
					for t := 0; t < threads; t++ {
						go func(r0 int) {
							k.fn(&w[r0*2*cols], 2*cols, &a[0], cols, &out[r0], per)
							done <- struct{}{}
						}(t * per)
					}
					for t := 0; t < threads; t++ {
						<-done
					}
				}
				if c1 := cpuTime(); c1 > c0 {
					b.ReportMetric(float64(len(w))*float64(iters)/float64(c1-c0), "cpuGB/s")
				}
			})
		}
	}
}
