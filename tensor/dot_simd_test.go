package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// portableDots are the plain Go kernels, named explicitly so the tests
// compare them with the assembly ones whatever GOLEM_NO_SIMD says.
var portableDots = map[Type]dotKernel{
	F32: dotF32, F16: dotF16, BF16: dotBF16,
	Q4_0: dotQ4_0, Q4_1: dotQ4_1, Q5_0: dotQ5_0, Q5_1: dotQ5_1, Q8_0: dotQ8_0, IQ4_NL: dotIQ4_NL,
	Q2_K: dotQ2_K, Q3_K: dotQ3_K, Q4_K: dotQ4_K, Q5_K: dotQ5_K, Q6_K: dotQ6_K, IQ4_XS: dotIQ4_XS,
}

// Row generation modes: random quants, all quants at their largest value,
// all at their smallest, and random quants with extreme block scales.
const (
	modeRandom = iota
	modeMax
	modeMin
	modeScales
	numModes
)

// edgeF16 are block scales at the ends of the half-float range.
var edgeF16 = []uint16{
	0x0000, 0x8000, // ±0
	0x0001, 0x03ff, 0x0400, // smallest subnormal, largest subnormal, smallest normal
	0x7bff, 0xfbff, // ±65504
	0x3c00, 0xbc00, // ±1
}

// simdScale returns a half-float block scale for the mode.
func simdScale(rng *rand.Rand, mode int) uint16 {
	if mode == modeScales {
		return edgeF16[rng.IntN(len(edgeF16))]
	}
	return F32ToF16(float32(rng.NormFloat64() * 0.05))
}

// fillQuants fills q with random bytes, or with hi/lo in the extreme modes.
func fillQuants(rng *rand.Rand, q []byte, mode int, lo, hi byte) {
	for i := range q {
		switch mode {
		case modeMax:
			q[i] = hi
		case modeMin:
			q[i] = lo
		default:
			q[i] = byte(rng.Uint32())
		}
	}
}

// fillInt8 fills q with int8 quants in [-127, 127], the range ggml's (and
// our) activation quantizers produce; the kernels for signed weights rely on
// it, as ggml's do (VPSIGNB cannot negate -128).
func fillInt8(rng *rand.Rand, q []byte, mode int) {
	for i := range q {
		switch mode {
		case modeMax:
			q[i] = 127
		case modeMin:
			q[i] = 0x81 // -127
		default:
			q[i] = byte(int8(rng.IntN(255) - 127))
		}
	}
}

// simdWeightRow builds nb blocks of weight type t.
func simdWeightRow(rng *rand.Rand, t Type, nb, mode int) []byte {
	bs := t.TypeSize()
	w := make([]byte, nb*bs)
	for i := 0; i < nb; i++ {
		b := w[i*bs : (i+1)*bs]
		switch t {
		case Q8_0:
			fillInt8(rng, b[2:], mode)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
		case Q4_0:
			fillQuants(rng, b[2:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
		case Q5_0, IQ4_NL:
			fillQuants(rng, b[2:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
		case Q4_1, Q5_1:
			fillQuants(rng, b[4:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
			binary.LittleEndian.PutUint16(b[2:], simdScale(rng, mode))
		case Q4_K:
			fillQuants(rng, b[4:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
			binary.LittleEndian.PutUint16(b[2:], simdScale(rng, mode))
		case Q2_K:
			fillQuants(rng, b[:80], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b[80:], simdScale(rng, mode))
			binary.LittleEndian.PutUint16(b[82:], simdScale(rng, mode))
		case Q3_K:
			fillQuants(rng, b[:108], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b[108:], simdScale(rng, mode))
		case IQ4_XS:
			fillQuants(rng, b[2:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
		case Q5_K:
			fillQuants(rng, b[4:], mode, 0x00, 0xff)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
			binary.LittleEndian.PutUint16(b[2:], simdScale(rng, mode))
		case Q6_K:
			fillQuants(rng, b[:192], mode, 0x00, 0xff)
			fillQuants(rng, b[192:208], mode, 0x80, 0x7f)
			binary.LittleEndian.PutUint16(b[208:], simdScale(rng, mode))
		case F16:
			for j := 0; j < bs/2; j++ {
				v := simdScale(rng, mode)
				if mode == modeRandom {
					v = F32ToF16(float32(rng.NormFloat64()))
				}
				binary.LittleEndian.PutUint16(b[2*j:], v)
			}
		case F32:
			for j := 0; j < bs/4; j++ {
				v := float32(rng.NormFloat64())
				switch mode {
				case modeMax:
					v = 1e17 // 2079 products of 1e34 stay finite
				case modeMin:
					v = -1e-18
				case modeScales:
					v = F16ToF32(edgeF16[rng.IntN(len(edgeF16))])
				}
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(v))
			}
		default:
			panic(fmt.Sprintf("no generator for %s", t))
		}
	}
	return w
}

// simdActRow builds the activation row (type act) for nb weight blocks of
// elements each.
func simdActRow(rng *rand.Rand, act Type, n, mode int) []byte {
	sz, _ := act.RowSize(int64(n))
	a := make([]byte, sz)
	switch act {
	case Q8_0:
		for i := 0; i < n/32; i++ {
			b := a[34*i : 34*i+34]
			fillInt8(rng, b[2:], mode)
			binary.LittleEndian.PutUint16(b, simdScale(rng, mode))
		}
	case Q8_1: // s = d·Σq, as the quantizer stores it
		for i := 0; i < n/32; i++ {
			b := a[36*i : 36*i+36]
			fillInt8(rng, b[4:], mode)
			h := simdScale(rng, mode)
			binary.LittleEndian.PutUint16(b, h)
			sum := 0
			for _, q := range b[4:] {
				sum += int(int8(q))
			}
			putF16(b, 2, F16ToF32(h)*float32(sum))
		}
	case Q8_K:
		for i := 0; i < n/QK_K; i++ {
			b := a[292*i : 292*i+292]
			fillInt8(rng, b[4:260], mode) // quantQ8_K never writes -128
			for j := 0; j < 16; j++ {
				s := 0
				for _, q := range b[4+16*j : 20+16*j] {
					s += int(int8(q))
				}
				binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(s)))
			}
			d := float32(rng.ExpFloat64() * 1e-2)
			if mode == modeScales {
				d = []float32{0, 1, 1e-30, 3e4}[rng.IntN(4)]
			}
			binary.LittleEndian.PutUint32(b, math.Float32bits(d))
		}
	case F16, F32:
		return simdWeightRow(rng, act, n/act.BlockSize(), mode)
	default:
		panic(fmt.Sprintf("no generator for %s", act))
	}
	return a
}

func finite(f float32) bool { return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0) }

// sameNonFinite reports whether got and want are both NaN or the same
// infinity.
func sameNonFinite(got, want float32) bool {
	if math.IsNaN(float64(want)) {
		return math.IsNaN(float64(got))
	}
	return got == want
}

// simdTypes lists the types with an assembly kernel on this machine.
func simdTypes() []Type {
	var ts []Type
	for t := range simdKernels {
		ts = append(ts, t)
	}
	slices.Sort(ts)
	return ts
}

// absTerms returns Σ|w_i·a_i| over the dequantized rows, the scale of the
// float rounding the kernels may differ by, and the float64 dot product.
func absTerms(t *testing.T, wt Type, w, a []byte, n int) (abs, dot float64) {
	t.Helper()
	act, _ := VecDotType(wt)
	dw := mustDequantize(t, wt, w, n)
	da := mustDequantize(t, act, a, n)
	for i := range dw {
		p := float64(dw[i]) * float64(da[i])
		abs += math.Abs(p)
		dot += p
	}
	return abs, dot
}

// simdTolerance is how far an assembly result may be from the portable one:
// 1e-6 of Σ|terms|, plus, where the portable kernel sums many float terms
// serially (F16/F32: one per element; IQ4_XS: one per 32-element
// sub-block, each rounded twice, where the assembly sums integers per
// super-block), the portable kernel's own error against the float64 dot
// product, since it is then the less accurate of the two.
func simdTolerance(t Type, portable float32, abs, dot float64) float64 {
	tol := 1e-6 * abs
	if t == F16 || t == F32 || t == IQ4_XS {
		tol += math.Abs(float64(portable) - dot)
	}
	return tol
}

// TestKernelSet checks that the active kernel set follows the CPU and
// GOLEM_NO_SIMD.
func TestKernelSet(t *testing.T) {
	t.Logf("kernel set %q, CPU features %v", KernelSet(), CPUFeatures())
	v := os.Getenv("GOLEM_NO_SIMD")
	want := "portable"
	if len(simdKernels) > 0 && (v == "" || v == "0") {
		want = "avx2"
		if simd512Available() && !envSet("GOLEM_NO_AVX512") {
			want = "avx512vnni"
		}
	}
	if got := KernelSet(); got != want {
		t.Errorf("KernelSet() = %q, want %q (GOLEM_NO_SIMD=%q, %d SIMD kernels)", got, want, v, len(simdKernels))
	}
	if want != "portable" && len(vecDotRows) != len(simdRowKernels) {
		t.Errorf("%d multi-row kernels installed, %d available", len(vecDotRows), len(simdRowKernels))
	}
}

// TestSIMDDotMatchesPortable runs, for each kernel set the CPU can run
// (forKernelSets), every assembly kernel against the portable one on rows
// of 1..64 blocks (odd counts included) with random, extreme-quant and
// extreme-scale data. The integer block sums are exact in both, so results
// may differ only by float accumulation order.
func TestSIMDDotMatchesPortable(t *testing.T) { forKernelSets(t, testSIMDDotMatchesPortable) }

func testSIMDDotMatchesPortable(t *testing.T) {
	types := simdTypes()
	if len(types) == 0 {
		t.Skip("no SIMD kernels on this CPU")
	}
	blocks := []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			act, _ := VecDotType(typ)
			bsz := typ.BlockSize()
			if bsz == 1 { // F16/F32: exercise the 32-element loop and its tail
				bsz = 32
			}
			fast, slow := simdKernels[typ], portableDots[typ]
			rng := rand.New(rand.NewPCG(11, uint64(typ)))
			cases, worst := 0, 0.0
			for _, nb := range blocks {
				for mode := 0; mode < numModes; mode++ {
					for _, extra := range []int{0, 1, 7, 31} {
						n := nb * bsz
						if typ.BlockSize() == 1 {
							n += extra
						} else if extra != 0 {
							continue
						}
						w := simdWeightRow(rng, typ, n/typ.BlockSize(), mode)
						a := simdActRow(rng, act, n, mode)
						got, want := fast(w, a, n), slow(w, a, n)
						abs, dot := absTerms(t, typ, w, a, n)
						cases++
						if !finite(want) { // overflowing edge-scale products: same Inf/NaN
							if !sameNonFinite(got, want) {
								t.Errorf("n=%d mode=%d: simd %v, portable %v", n, mode, got, want)
							}
							continue
						}
						diff := math.Abs(float64(got) - float64(want))
						if abs > 0 {
							worst = max(worst, diff/abs)
						}
						if diff > simdTolerance(typ, want, abs, dot) || math.IsNaN(diff) {
							t.Errorf("n=%d mode=%d: simd %v, portable %v (diff %.3g, Σ|terms| %.3g)", n, mode, got, want, diff, abs)
						}
					}
				}
			}
			t.Logf("%s: %d cases, worst |simd-portable|/Σ|terms| = %.3g", typ, cases, worst)
		})
	}
}

// TestSIMDDotQuantized checks the assembly kernels on rows produced by the
// real quantizers, through VecDot, against the portable kernel.
func TestSIMDDotQuantized(t *testing.T) { forKernelSets(t, testSIMDDotQuantized) }

func testSIMDDotQuantized(t *testing.T) {
	for _, typ := range simdTypes() {
		t.Run(typ.String(), func(t *testing.T) {
			const n = 4096
			rng := rand.New(rand.NewPCG(5, uint64(typ)))
			act, _ := VecDotType(typ)
			w := mustQuantize(t, typ, randRow(rng, n), false)
			a := mustQuantize(t, act, randRow(rng, n), true)
			got, want := simdKernels[typ](w, a, n), portableDots[typ](w, a, n)
			abs, dot := absTerms(t, typ, w, a, n)
			if d := math.Abs(float64(got) - float64(want)); d > simdTolerance(typ, want, abs, dot) {
				t.Errorf("simd %v, portable %v (rel %.3g)", got, want, d/abs)
			}
		})
	}
}

// BenchmarkDot compares portable and SIMD kernels per type on rows of 2048
// and 8192 elements; throughput is weight bytes per second.
func BenchmarkDot(b *testing.B) {
	for _, typ := range []Type{Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, IQ4_NL, Q4_K, Q5_K, Q6_K, Q2_K, Q3_K, IQ4_XS, F16, F32} {
		act, _ := VecDotType(typ)
		for _, n := range []int{2048, 8192} {
			rng := rand.New(rand.NewPCG(1, 2))
			w := simdWeightRow(rng, typ, n/typ.BlockSize(), modeRandom)
			a := simdActRow(rng, act, n, modeRandom)
			kernels := []struct {
				name string
				k    dotKernel
			}{{"portable", portableDots[typ]}, {"simd", simdKernels[typ]}}
			for _, k := range kernels {
				if k.k == nil {
					continue
				}
				b.Run(fmt.Sprintf("%s/%d/%s", typ, n, k.name), func(b *testing.B) {
					b.SetBytes(int64(len(w)))
					var s float32
					for b.Loop() {
						s += k.k(w, a, n)
					}
					_ = s
				})
			}
		}
	}
}

// TestSIMDDotRows checks the multi-row kernels and dotRows: each row must
// be bit-identical to the single-row assembly kernel (so results do not
// depend on how rows are grouped) and match the portable kernel, for row
// counts around the two-, four- and eight-row group sizes and for padded
// row strides, in each kernel set the CPU can run.
func TestSIMDDotRows(t *testing.T) { forKernelSets(t, testSIMDDotRows) }

func testSIMDDotRows(t *testing.T) {
	types := simdTypes()
	if len(types) == 0 {
		t.Skip("no SIMD kernels on this CPU")
	}
	for _, typ := range types {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(13, uint64(typ)))
			act, _ := VecDotType(typ)
			cases := 0
			for _, nb := range []int{1, 3, 8, 17} {
				n := nb * typ.BlockSize()
				if typ.BlockSize() == 1 {
					n = nb*32 + nb%3 // F16/F32: with and without a tail
				}
				rowBytes, _ := typ.RowSize(int64(n))
				for _, rows := range []int{1, 3, 4, 5, 8, 11, 19} {
					for _, pad := range []int{0, 7} {
						for mode := 0; mode < numModes; mode++ {
							stride := int(rowBytes) + pad
							w := make([]byte, rows*stride)
							for r := 0; r < rows; r++ {
								copy(w[r*stride:], simdWeightRow(rng, typ, n/typ.BlockSize(), mode))
							}
							a := simdActRow(rng, act, n, mode)
							out := make([]float32, rows)
							if got := simdRowKernels[typ](w, stride, a, n, out); got != rows {
								t.Fatalf("rows=%d: kernel did %d rows", rows, got)
							}
							all := make([]float32, rows)
							dotRows(typ, w, stride, a, n, all)
							for r := 0; r < rows; r++ {
								wr := w[r*stride : r*stride+int(rowBytes)]
								one := simdKernels[typ](wr, a, n)
								want := portableDots[typ](wr, a, n)
								cases++
								if math.Float32bits(out[r]) != math.Float32bits(one) {
									t.Errorf("nb=%d rows=%d pad=%d mode=%d row %d: rows kernel %v, single-row kernel %v", nb, rows, pad, mode, r, out[r], one)
								}
								if !finite(want) {
									continue
								}
								abs, dot := absTerms(t, typ, wr, a, n)
								if d := math.Abs(float64(all[r]) - float64(want)); d > simdTolerance(typ, want, abs, dot) {
									t.Errorf("nb=%d rows=%d pad=%d mode=%d row %d: dotRows %v, portable %v", nb, rows, pad, mode, r, all[r], want)
								}
							}
						}
					}
				}
			}
			t.Logf("%s: %d rows checked", typ, cases)
		})
	}
}

// BenchmarkDotRows compares one call per row (the single-row kernel, as
// MatVec does today) with one dotRows call for the whole matrix, on a
// 256×256 weight (a tiny model's layer: call overhead matters) and a
// 64×4096 one; both are cache-resident, so kernel cost dominates.
func BenchmarkDotRows(b *testing.B) {
	for _, typ := range []Type{Q4_0, Q8_0, Q4_K, Q6_K, F16} {
		for _, shape := range [][2]int{{256, 256}, {64, 4096}} {
			rows, n := shape[0], shape[1]
			act, _ := VecDotType(typ)
			rng := rand.New(rand.NewPCG(3, 4))
			w := simdWeightRow(rng, typ, rows*n/typ.BlockSize(), modeRandom)
			a := simdActRow(rng, act, n, modeRandom)
			stride := len(w) / rows
			out := make([]float32, rows)
			name := fmt.Sprintf("%s/%dx%d/", typ, rows, n)
			b.Run(name+"single", func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				dot := vecDots[typ].dot
				for b.Loop() {
					for r := range out {
						out[r] = dot(w[r*stride:], a, n)
					}
				}
			})
			b.Run(name+"rows", func(b *testing.B) {
				b.SetBytes(int64(len(w)))
				for b.Loop() {
					dotRows(typ, w, stride, a, n, out)
				}
			})
		}
	}
}

// actTestRow returns a row of n activations of the given kind, built from
// 32-element pieces so that every block of a Q8_0 and Q8_K row meets
// special values: zeros, ties at .5 after scaling, NaN, ±Inf, subnormal and
// huge magnitudes.
func actTestRow(rng *rand.Rand, n, kind int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	switch kind {
	case 1: // ties: amax 127 gives scale 1 (Q8_0 and Q8_K), halves are ties
		for i := range x {
			x[i] = float32(rng.IntN(254)-127) + 0.5
		}
		for b := 0; b < n; b += 32 {
			x[b+rng.IntN(32)] = -127
		}
	case 2: // zero blocks, -0 and denormals
		for b := 0; b < n; b += 64 {
			clear(x[b : b+32])
			x[b+3] = float32(math.Copysign(0, -1))
		}
		x[n-1] = math.Float32frombits(1)
	case 3: // NaN and ±Inf in some blocks
		x[rng.IntN(n)] = float32(math.NaN())
		x[rng.IntN(n)] = float32(math.Inf(1))
		x[rng.IntN(n)] = float32(math.Inf(-1))
	case 5: // F16 edges: NaN payloads (quiet and signalling), overflow, half subnormals, ties
		for i := range x {
			switch rng.IntN(6) {
			case 0:
				x[i] = math.Float32frombits(0x7f800000 | rng.Uint32()&0x807fffff | 1)
			case 1:
				x[i] = float32(rng.IntN(70000) - 35000)
				x[i] += 65504 * float32(rng.IntN(3)-1)
			case 2:
				x[i] = float32(rng.NormFloat64() * 1e-6)
			case 3: // exactly halfway between two halves (subnormal or normal)
				h := uint16(rng.IntN(0x7bfe))
				lo, hi := F16ToF32(h), F16ToF32(h+1)
				x[i] = (lo + (hi-lo)/2) * float32(1-2*rng.IntN(2))
			}
		}
	case 4: // magnitudes from subnormal to near MaxFloat32, block by block
		scales := []float32{1e-44, 1e-38, 1e-31, 1e-29, 1e-10, 1, 1e10, 1e30, 3e38}
		for b := 0; b < n; b += 32 {
			s := scales[(b/32)%len(scales)]
			for i := b; i < b+32; i++ {
				x[i] = max(-math.MaxFloat32, min(math.MaxFloat32, x[i]*s))
			}
		}
	}
	return x
}

// TestSIMDActQuantizeBitExact checks that the assembly activation
// quantizers write exactly the bytes of the portable ones.
func TestSIMDActQuantizeBitExact(t *testing.T) {
	portable := map[Type]func([]float32, []byte){Q8_0: quantQ8_0Act, Q8_1: quantQ8_1Act, Q8_K: quantQ8_K, F16: quantF16}
	if len(simdActQuantizers) == 0 {
		t.Skip("no SIMD quantizers on this CPU")
	}
	for _, typ := range []Type{F16, Q8_0, Q8_1, Q8_K} {
		fast := simdActQuantizers[typ]
		if fast == nil {
			continue
		}
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(17, uint64(typ)))
			rows := 0
			for _, n := range []int{256, 512, 2304, 4096} {
				for kind := 0; kind < 6; kind++ {
					for rep := 0; rep < 4; rep++ {
						x := actTestRow(rng, n, kind)
						if typ == F16 && rep > 0 {
							x = x[:n-rep] // F16 has no blocks: exercise the Go tail
						}
						size, _ := typ.RowSize(int64(len(x)))
						got, want := make([]byte, size), make([]byte, size)
						for i := range got {
							got[i], want[i] = 0xa5, 0xa5 // catch unwritten bytes
						}
						fast(x, got)
						portable[typ](x, want)
						rows++
						if i := firstDiff(got, want); i >= 0 {
							t.Fatalf("n=%d kind=%d: byte %d differs: simd %#x, portable %#x", n, kind, i, got[i], want[i])
						}
					}
				}
			}
			t.Logf("%s: %d rows bit-identical", typ, rows)
		})
	}
}

func firstDiff(a, b []byte) int {
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// BenchmarkQuantizeActivation compares the portable and assembly
// activation quantizers on a 4096-element row.
func BenchmarkQuantizeActivation(b *testing.B) {
	portable := map[Type]func([]float32, []byte){Q8_0: quantQ8_0Act, Q8_1: quantQ8_1Act, Q8_K: quantQ8_K, F16: quantF16}
	rng := rand.New(rand.NewPCG(1, 1))
	x := randRow(rng, 4096)
	for _, typ := range []Type{F16, Q8_0, Q8_1, Q8_K} {
		size, _ := typ.RowSize(4096)
		dst := make([]byte, size)
		for _, k := range []struct {
			name string
			f    func([]float32, []byte)
		}{{"portable", portable[typ]}, {"simd", simdActQuantizers[typ]}} {
			if k.f == nil {
				continue
			}
			b.Run(typ.String()+"/"+k.name, func(b *testing.B) {
				b.SetBytes(4 * 4096)
				for b.Loop() {
					k.f(x, dst)
				}
			})
		}
	}
}
