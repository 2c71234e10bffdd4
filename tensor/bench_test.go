package tensor

import (
	"math/rand/v2"
	"runtime"
	"testing"
)

// BenchmarkMatVec measures one 1024×1024 matrix-vector product per type
// (go test -bench MatVec ./tensor/).
func BenchmarkMatVec(b *testing.B) {
	const rows, cols = 1024, 1024
	rng := rand.New(rand.NewPCG(9, 9))
	wf := randRow(rng, rows*cols)
	x := randRow(rng, cols)
	y := make([]float32, rows)
	for _, typ := range matTypes {
		size, _ := typ.RowSize(rows * cols)
		w := make([]byte, size)
		if err := Quantize(typ, wf, w); err != nil {
			b.Fatal(err)
		}
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				MatVec(typ, w, rows, cols, x, y)
			}
		})
	}
}

// BenchmarkDecodeStream measures the decode (one-token) matrix-vector
// product per type on three weight matrices: "mem", 64 MiB with 4096
// columns, far larger than the caches, so the figure (weight bytes per
// second, one core) is the memory streaming rate the kernels reach; "l2",
// 256 KiB with 4096 columns, which stays in the L2 cache, so the figure is
// the kernel's compute rate; and "model", 64 MiB at a real model's row
// length (896 columns, Qwen2.5-0.5B, or 2048 for the K-quants,
// Llama-3.2-1B), where per-row costs weigh more (go test -bench
// DecodeStream ./tensor/). cpuGB/s is the same per second of the
// benchmark thread's CPU time, which is steadier than wall-clock time on a
// shared machine.
func BenchmarkDecodeStream(b *testing.B) {
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K, Q6_K, Q5_0, F16} {
		modelCols := 896
		if typ.BlockSize() == QK_K {
			modelCols = 2048
		}
		for _, size := range []struct {
			name   string
			cols   int
			target int64
		}{{"mem", 4096, 64 << 20}, {"l2", 4096, 256 << 10}, {"model", modelCols, 64 << 20}} {
			b.Run(typ.String()+"/"+size.name, func(b *testing.B) {
				cols := size.cols
				rowBytes, _ := typ.RowSize(int64(cols))
				rows := int(size.target/rowBytes) &^ 7
				rng := rand.New(rand.NewPCG(5, uint64(typ)))
				w := simdWeightRow(rng, typ, rows*cols/typ.BlockSize(), modeRandom)
				act, _ := VecDotType(typ)
				a := simdActRow(rng, act, cols, modeRandom)
				out := make([]float32, rows)
				b.SetBytes(int64(len(w)))
				runtime.LockOSThread()
				defer runtime.UnlockOSThread()
				c0, ok := threadCPUTime()
				iters := 0
				for b.Loop() {
					dotRows(typ, w, int(rowBytes), a, cols, out)
					iters++
				}
				if c1, _ := threadCPUTime(); ok && c1 > c0 {
					b.ReportMetric(float64(len(w))*float64(iters)/float64(c1-c0), "cpuGB/s")
				}
			})
		}
	}
}
