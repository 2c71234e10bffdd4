package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// gemmShapes covers the tile remainders: rows below, at and above multiples
// of gemmRows, token counts below, at and above multiples of gemmCols, and
// odd block counts.
var gemmShapes = []struct{ rows, blocks, n int }{
	{1, 1, 4}, {5, 3, 7}, {16, 1, 8}, {17, 2, 9}, {33, 7, 16}, {40, 9, 21}, {48, 28, 5},
}

// gemmCase returns rows random weight rows of type typ (cols elements) and
// n random activation rows already in typ's vec_dot type, with their row
// sizes in bytes.
func gemmCase(t *testing.T, typ Type, rows, cols, n int, seed uint64) (w, act []byte, rowBytes, actBytes int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, uint64(typ)))
	w = mustQuantize(t, typ, randRow(rng, rows*cols), false)
	at, _ := VecDotType(typ)
	size, _ := at.RowSize(int64(cols))
	act = make([]byte, 0, n*int(size))
	for i := 0; i < n; i++ {
		act = append(act, mustQuantize(t, at, randRow(rng, cols), true)...)
	}
	rb, _ := typ.RowSize(int64(cols))
	return w, act, int(rb), int(size)
}

// TestGEMMMatchesRows checks every GEMM kernel this CPU can run against the
// row kernels for all tile remainders and sub-ranges of rows: the results
// must equal the float64 product of the dequantized operands to 1e-5 of
// Σ|w·a|, and, for the types whose row kernels share the GEMM's arithmetic
// (exact block sums, one FMA per block against dx·dy), bit for bit.
func TestGEMMMatchesRows(t *testing.T) {
	if len(simdGemmKernels) == 0 {
		t.Skip("no GEMM kernels on this CPU")
	}
	sameBits := map[Type]bool{Q4_0: true, Q5_0: true, Q8_0: true}
	for typ, k := range simdGemmKernels {
		for _, sh := range gemmShapes {
			cols := sh.blocks * k.elems
			t.Run(fmt.Sprintf("%s/%dx%dx%d", typ, sh.rows, cols, sh.n), func(t *testing.T) {
				w, act, rowBytes, actBytes := gemmCase(t, typ, sh.rows, cols, sh.n, uint64(sh.rows*1000+sh.n))
				// Rows [r0, r1) into a larger output with a stride, as
				// MatMulRows workers do; the rest must stay untouched.
				r0 := sh.rows / 3
				stride := sh.rows + 3
				y := make([]float32, sh.n*stride)
				for i := range y {
					y[i] = -1234
				}
				gemmRange(k, w, rowBytes, cols, r0, sh.rows, act, actBytes, sh.n, y, stride)
				row := make([]float32, sh.rows)
				rowK := simdRowKernels[typ]
				for i := 0; i < sh.n; i++ {
					a := act[i*actBytes : (i+1)*actBytes]
					if rowK != nil {
						rowK(w, rowBytes, a, cols, row)
					}
					for r := 0; r < stride; r++ {
						got := y[i*stride+r]
						if r < r0 || r >= sh.rows {
							if got != -1234 {
								t.Fatalf("token %d row %d outside [%d,%d) written: %v", i, r, r0, sh.rows, got)
							}
							continue
						}
						ref, abs := refDot(t, typ, w[r*rowBytes:(r+1)*rowBytes], a, cols)
						if d := math.Abs(float64(got) - ref); d > 1e-5*abs+1e-30 {
							t.Errorf("token %d row %d: GEMM %v, reference %v (rel %.3g)", i, r, got, ref, d/abs)
						}
						if rowK != nil && sameBits[typ] && math.Float32bits(got) != math.Float32bits(row[r]) {
							t.Errorf("token %d row %d: GEMM %v, row kernel %v", i, r, got, row[r])
						}
					}
				}
			})
		}
	}
}

// TestMatMulBatchPaths checks MatMul on a batch large enough for the GEMM
// path against per-token MatVec (the decode path) for every type.
func TestMatMulBatchPaths(t *testing.T) {
	const rows, cols, n = 37, 512, 13
	for _, typ := range matTypes {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, uint64(typ)))
			w := mustQuantize(t, typ, randRow(rng, rows*cols), false)
			x := randRow(rng, n*cols)
			y := make([]float32, n*rows)
			MatMul(typ, w, rows, cols, x, y, n)
			yi := make([]float32, rows)
			for i := 0; i < n; i++ {
				MatVec(typ, w, rows, cols, x[i*cols:(i+1)*cols], yi)
				for r, v := range yi {
					got := y[i*rows+r]
					if d := math.Abs(float64(got - v)); d > 1e-4*(math.Abs(float64(v))+1) {
						t.Errorf("token %d row %d: MatMul %v, MatVec %v", i, r, got, v)
					}
				}
			}
		})
	}
}

// BenchmarkGEMM multiplies a 2048×8192 weight matrix (llama3.2-1b's
// ffn_down shape) with 512 tokens on one goroutine, through the row kernels
// ("rows") and through matMulRange, which picks the GEMM kernels where
// there are some ("gemm"), and reports GFLOP/s (2 per
// multiply-add) per wall-clock and per CPU second:
// go test -bench GEMM -run - ./tensor/
func BenchmarkGEMM(b *testing.B) {
	const rows, cols, n = 2048, 8192, 512
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K, Q6_K, Q5_0, F16} {
		rng := rand.New(rand.NewPCG(13, uint64(typ)))
		rowBytes, _ := typ.RowSize(cols)
		w := simdWeightRow(rng, typ, rows*cols/typ.BlockSize(), modeRandom)
		at, _ := VecDotType(typ)
		actBytes, _ := at.RowSize(cols)
		act := make([]byte, 0, n*int(actBytes))
		for i := 0; i < n; i++ {
			act = append(act, simdActRow(rng, at, cols, modeRandom)...)
		}
		y := make([]float32, n*rows)
		run := func(b *testing.B, f func()) {
			c0 := cpuTime()
			for b.Loop() {
				f()
			}
			flop := 2 * rows * cols * n * float64(b.N)
			b.ReportMetric(flop/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			if c := cpuTime() - c0; c > 0 {
				// Per CPU second: what one core does when the machine is
				// shared (GC and the benchmark's other goroutines count too).
				b.ReportMetric(flop/c.Seconds()/1e9, "GFLOP/cpu-s")
			}
		}
		b.Run(typ.String()+"/rows", func(b *testing.B) {
			run(b, func() { rowsRange(typ, w, int(rowBytes), cols, 0, rows, act, int(actBytes), n, y, rows) })
		})
		b.Run(typ.String()+"/gemm", func(b *testing.B) {
			run(b, func() { matMulRange(typ, w, int(rowBytes), cols, 0, rows, act, int(actBytes), n, y, rows) })
		})
	}
}

// TestGEMMF16MatchesRows checks the F16 tile kernel against the F16 row
// kernel in use for all tile remainders: the results must be bit-identical
// (the tile keeps the row kernel's lanes and reduction order).
func TestGEMMF16MatchesRows(t *testing.T) {
	if simdF16Tile == nil {
		t.Skip("no F16 GEMM kernel on this CPU")
	}
	order := probeF16Order(simdF16Tile, simdF16Convert)
	if order < 0 {
		if KernelSet() == "portable" {
			t.Skip("portable F16 row kernel: the F16 GEMM is not used")
		}
		t.Fatalf("no F16 tile reduction order matches the %s F16 row kernel", KernelSet())
	}
	t.Logf("F16 tile reduction order %d", order)
	for _, sh := range []struct{ rows, cols, n int }{
		{1, 32, 1}, {2, 64, 3}, {3, 64, 4}, {4, 96, 5}, {7, 256, 9}, {11, 2048, 13}, {10, 32, 40}, {50, 1088, 70}, {9, 544, 130}, {26, 2336, 7},
	} {
		t.Run(fmt.Sprintf("%dx%dx%d", sh.rows, sh.cols, sh.n), func(t *testing.T) {
			w, act, rowBytes, actBytes := gemmCase(t, F16, sh.rows, sh.cols, sh.n, uint64(sh.rows*100+sh.n))
			r0, stride := sh.rows/3, sh.rows+2
			y := make([]float32, sh.n*stride)
			gemmF16Range(simdF16Tile, simdF16Convert, order, w, rowBytes, sh.cols, r0, sh.rows, act, actBytes, sh.n, y, stride)
			row := make([]float32, sh.rows)
			for i := 0; i < sh.n; i++ {
				dotRows(F16, w, rowBytes, act[i*actBytes:(i+1)*actBytes], sh.cols, row)
				for r := r0; r < sh.rows; r++ {
					if got := y[i*stride+r]; math.Float32bits(got) != math.Float32bits(row[r]) {
						t.Errorf("token %d row %d: GEMM %v, row kernel %v", i, r, got, row[r])
					}
				}
				for r := sh.rows; r < stride; r++ {
					if y[i*stride+r] != 0 {
						t.Errorf("token %d: row %d outside the range written", i, r)
					}
				}
			}
		})
	}
}

// TestSumInt8x32 checks the word-parallel byte sum against a plain loop,
// including the extremes.
func TestSumInt8x32(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][]byte{make([]byte, 32), bytesOf(32, 0x80), bytesOf(32, 0x7f), bytesOf(32, 0xff)}
	for i := 0; i < 100; i++ {
		b := make([]byte, 32)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		cases = append(cases, b)
	}
	for _, b := range cases {
		var want int32
		for _, v := range b {
			want += int32(int8(v))
		}
		if got := sumInt8x32(b); got != want {
			t.Fatalf("sumInt8x32(%x) = %d, want %d", b, got, want)
		}
	}
}

func bytesOf(n int, v byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = v
	}
	return b
}
