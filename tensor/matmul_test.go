package tensor

import (
	"math"
	"math/rand/v2"
	"testing"
)

var matTypes = []Type{F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_XS}

func randRow(rng *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		if i%61 == 5 {
			x[i] *= 4 // a few outliers, as in real activations
		}
	}
	return x
}

func mustQuantize(t *testing.T, typ Type, x []float32, act bool) []byte {
	t.Helper()
	size, ok := typ.RowSize(int64(len(x)))
	if !ok {
		t.Fatalf("%d elements not a whole number of %s blocks", len(x), typ)
	}
	b := make([]byte, size)
	quant := Quantize
	if act {
		quant = QuantizeActivation
	}
	if err := quant(typ, x, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustDequantize(t *testing.T, typ Type, b []byte, n int) []float32 {
	t.Helper()
	out := make([]float32, n)
	if err := Dequantize(typ, b, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// refDot is the float64 dot product of the dequantized weight row with the
// dequantized activation row, i.e. what the kernel computes up to float32
// rounding. For Q8_1 activations ggml uses the stored f16 s = d·Σq for the
// weight-min term, so the reference does too.
func refDot(t *testing.T, wt Type, w, a []byte, n int) (dot, absSum float64) {
	act, _ := VecDotType(wt)
	dw := mustDequantize(t, wt, w, n)
	da := mustDequantize(t, act, a, n)
	for i := range dw {
		p := float64(dw[i]) * float64(da[i])
		dot += p
		absSum += math.Abs(p)
	}
	if act == Q8_1 {
		wbs := wt.TypeSize()
		for b := 0; b < n/32; b++ {
			m := float64(f16At(w, b*wbs+2))
			ab := a[36*b : 36*b+36]
			q := 0
			for _, v := range ab[4:] {
				q += int(int8(v))
			}
			dot += m * (float64(f16At(ab, 2)) - float64(f16At(ab, 0))*float64(q))
		}
	}
	return dot, absSum
}

// TestMatVecMatchesReference checks every kernel on random data: MatVec
// must equal the float64 product of the dequantized weight and the
// dequantized quantized activation to ~1e-5 relative, and stay close to the
// plain float dot product with the unquantized activation.
func TestMatVecMatchesReference(t *testing.T) {
	const rows, cols = 6, 1024
	for _, typ := range matTypes {
		t.Run(typ.String(), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(typ)))
			wf := randRow(rng, rows*cols)
			w := mustQuantize(t, typ, wf, false)
			x := randRow(rng, cols)
			y := make([]float32, rows)
			MatVec(typ, w, rows, cols, x, y)

			act, ok := VecDotType(typ)
			if !ok {
				t.Fatalf("no vec_dot type for %s", typ)
			}
			a := mustQuantize(t, act, x, true)
			rowBytes, _ := typ.RowSize(cols)
			// Plain-float tolerance: the activation quantization error.
			plainTol := map[Type]float64{F32: 1e-6, F16: 2e-3, BF16: 1e-2, Q8_0: 2e-2, Q8_1: 2e-2, Q8_K: 2e-2}[act]
			var worstRef, worstPlain float64
			for r := 0; r < rows; r++ {
				wr := w[int64(r)*rowBytes : int64(r+1)*rowBytes]
				ref, abs := refDot(t, typ, wr, a, cols)
				worstRef = max(worstRef, math.Abs(float64(y[r])-ref)/abs)
				if d := math.Abs(float64(y[r]) - ref); d > 1e-5*abs {
					t.Errorf("row %d: MatVec %v, reference %v (diff %.3g = %.3g of Σ|w·a|)", r, y[r], ref, d, d/abs)
				}
				dw := mustDequantize(t, typ, wr, cols)
				var plain, pabs float64
				for i := range dw {
					p := float64(dw[i]) * float64(x[i])
					plain += p
					pabs += math.Abs(p)
				}
				worstPlain = max(worstPlain, math.Abs(float64(y[r])-plain)/pabs)
				if d := math.Abs(float64(y[r]) - plain); d > plainTol*pabs {
					t.Errorf("row %d: MatVec %v, float dot %v (diff %.3g of Σ|w·x|)", r, y[r], plain, d/pabs)
				}
				got, err := VecDot(typ, wr, a, cols)
				if err != nil || got != y[r] {
					t.Errorf("row %d: VecDot = %v, %v; MatVec %v", r, got, err, y[r])
				}
			}
			t.Logf("worst |diff|/Σ|w·a|: vs reference %.2g, vs float dot %.2g", worstRef, worstPlain)
		})
	}
}

// TestVecDotGolden dots ggml's own weight bytes with ggml's own activation
// bytes from quant.json.
func TestVecDotGolden(t *testing.T) {
	in, entries := loadQuantGolden(t)
	acts := map[Type][]byte{}
	for _, e := range entries {
		if e.role == "activation" {
			acts[e.typ] = e.data
		}
	}
	n := len(in)
	for _, e := range entries {
		if e.role != "weight" {
			continue
		}
		t.Run(e.name, func(t *testing.T) {
			act, ok := VecDotType(e.typ)
			if !ok {
				t.Fatalf("no kernel for %s", e.typ)
			}
			a, ok := acts[act]
			if !ok {
				a = mustQuantize(t, act, in, true)
			}
			got, err := VecDot(e.typ, e.data, a, n)
			if err != nil {
				t.Fatal(err)
			}
			ref, abs := refDot(t, e.typ, e.data, a, n)
			if d := math.Abs(float64(got) - ref); d > 1e-5*abs {
				t.Errorf("VecDot %v, reference %v (rel %.3g)", got, ref, d/abs)
			}
		})
	}
}

func TestMatMulRows(t *testing.T) {
	const rows, cols, n = 5, 512, 3
	for _, typ := range []Type{F16, Q4_0, Q4_K, Q6_K} {
		rng := rand.New(rand.NewPCG(7, uint64(typ)))
		w := mustQuantize(t, typ, randRow(rng, rows*cols), false)
		x := randRow(rng, n*cols)
		y := make([]float32, n*rows)
		MatMul(typ, w, rows, cols, x, y, n)
		for i := 0; i < n; i++ {
			yi := make([]float32, rows)
			MatVec(typ, w, rows, cols, x[i*cols:(i+1)*cols], yi)
			for r := range yi {
				if math.Float32bits(yi[r]) != math.Float32bits(y[i*rows+r]) {
					t.Errorf("%s: MatMul[%d][%d] = %v, MatVec %v", typ, i, r, y[i*rows+r], yi[r])
				}
			}
		}
		act, _ := VecDotType(typ)
		a := mustQuantize(t, act, x[:cols], true)
		yq := make([]float32, rows)
		if err := MatVecQuantized(typ, w, rows, cols, a, yq); err != nil {
			t.Fatal(err)
		}
		for r := range yq {
			if yq[r] != y[r] {
				t.Errorf("%s: MatVecQuantized[%d] = %v, MatMul %v", typ, r, yq[r], y[r])
			}
		}
	}
}

func TestMatMulErrors(t *testing.T) {
	w := make([]byte, 4*18)
	x := make([]float32, 64)
	y := make([]float32, 4)
	cases := []struct {
		name          string
		typ           Type
		w             []byte
		rows, cols, n int
		x, y          []float32
	}{
		{"no kernel", IQ2_XXS, make([]byte, 1024), 1, 256, 1, make([]float32, 256), y},
		{"partial block", Q4_0, w, 2, 48, 1, x, y},
		{"short weight", Q4_0, w, 4, 64, 1, x, y},
		{"short x", Q4_0, w, 2, 64, 2, x, y},
		{"short y", Q4_0, w, 2, 64, 1, x, y[:1]},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := MatMulChecked(c.typ, c.w, c.rows, c.cols, c.x, c.y, c.n); err == nil {
				t.Error("no error")
			}
		})
	}
	defer func() {
		if recover() == nil {
			t.Error("MatVec with an unsupported type did not panic")
		}
	}()
	MatVec(IQ2_XXS, make([]byte, 1024), 1, 256, make([]float32, 256), y)
}

func TestMatVecAllocs(t *testing.T) {
	const rows, cols = 4, 512
	rng := rand.New(rand.NewPCG(3, 3))
	wf, x := randRow(rng, rows*cols), randRow(rng, cols)
	y := make([]float32, rows)
	for _, typ := range matTypes {
		w := mustQuantize(t, typ, wf, false)
		MatVec(typ, w, rows, cols, x, y)
		if n := testing.AllocsPerRun(10, func() { MatVec(typ, w, rows, cols, x, y) }); n > 0 {
			t.Errorf("%s: MatVec allocates %v times per call", typ, n)
		}
	}
}

func TestVecDotTypes(t *testing.T) {
	want := map[Type]Type{
		F32: F32, F16: F16, BF16: BF16,
		Q4_0: Q8_0, Q5_0: Q8_0, Q8_0: Q8_0, IQ4_NL: Q8_0,
		Q4_1: Q8_1, Q5_1: Q8_1,
		Q2_K: Q8_K, Q3_K: Q8_K, Q4_K: Q8_K, Q5_K: Q8_K, Q6_K: Q8_K, IQ4_XS: Q8_K,
	}
	for w, a := range want {
		if got, ok := VecDotType(w); !ok || got != a {
			t.Errorf("VecDotType(%s) = %s, %v; want %s", w, got, ok, a)
		}
	}
	if _, ok := VecDotType(Q8_K); ok {
		t.Error("VecDotType(Q8_K) reported a kernel")
	}
}
