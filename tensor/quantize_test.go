package tensor

import (
	"bytes"
	"math"
	"testing"
)

// TestQuantizeGolden quantizes quant.json's input with each weight
// quantizer and each activation quantizer and compares with ggml: the
// reference algorithms must reproduce ggml's bytes exactly, and the
// round-trip RMSE must be within 5% of ggml's.
func TestQuantizeGolden(t *testing.T) {
	in, entries := loadQuantGolden(t)
	for _, e := range entries {
		t.Run(e.role+"/"+e.name, func(t *testing.T) {
			quant := Quantize
			if e.role == "activation" {
				quant = QuantizeActivation
			}
			size, _ := e.typ.RowSize(int64(len(in)))
			got := make([]byte, size)
			if err := quant(e.typ, in, got); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, e.data) {
				bs := e.typ.TypeSize()
				bad, first := 0, -1
				for i := 0; i < len(got); i += bs {
					if !bytes.Equal(got[i:i+bs], e.data[i:i+bs]) {
						if first < 0 {
							first = i / bs
						}
						bad++
					}
				}
				t.Errorf("bytes differ from ggml in %d/%d blocks (first: block %d)", bad, len(got)/bs, first)
			}
			deq := make([]float32, len(in))
			if err := Dequantize(e.typ, got, deq); err != nil {
				t.Fatal(err)
			}
			r := rmse(deq, in)
			if r > e.rmse*1.05 {
				t.Errorf("rmse %.6g, ggml %.6g (+%.1f%%)", r, e.rmse, 100*(r/e.rmse-1))
			}
			t.Logf("rmse %.6g (ggml %.6g)", r, e.rmse)
		})
	}
}

func TestQuantizeErrors(t *testing.T) {
	src := make([]float32, 64)
	cases := []struct {
		name string
		typ  Type
		src  []float32
		dst  []byte
	}{
		{"unsupported type", IQ2_XXS, make([]float32, 256), make([]byte, 1024)},
		{"partial block", Q4_0, src[:33], make([]byte, 64)},
		{"short dst", Q8_0, src, make([]byte, 67)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := Quantize(c.typ, c.src, c.dst); err == nil {
				t.Errorf("Quantize(%s, %d floats, %d bytes): no error", c.typ, len(c.src), len(c.dst))
			}
		})
	}
	if err := QuantizeActivation(Q4_0, src, make([]byte, 64)); err == nil {
		t.Error("QuantizeActivation(Q4_0): no error")
	}
}

// TestActivationRounding pins down where ggml's x86 activation quantizer
// (AVX2: multiplier 127/amax, round half to even) differs from the
// reference quantizer (1/d, roundf: half away from zero): with amax = 127
// the multiplier is exactly 1, so 0.5 and 2.5 are ties.
func TestActivationRounding(t *testing.T) {
	x := make([]float32, 32)
	x[0], x[1], x[2], x[3] = 127, 0.5, 2.5, -1.5
	cases := []struct {
		name  string
		typ   Type
		quant func(Type, []float32, []byte) error
		off   int
		want  [4]int8
	}{
		{"Q8_0 activation", Q8_0, QuantizeActivation, 2, [4]int8{127, 0, 2, -2}},
		{"Q8_0 reference", Q8_0, Quantize, 2, [4]int8{127, 1, 3, -2}},
		{"Q8_1 activation", Q8_1, QuantizeActivation, 4, [4]int8{127, 0, 2, -2}},
		{"Q8_1 reference", Q8_1, Quantize, 4, [4]int8{127, 1, 3, -2}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := make([]byte, c.typ.TypeSize())
			if err := c.quant(c.typ, x, b); err != nil {
				t.Fatal(err)
			}
			for i, w := range c.want {
				if got := int8(b[c.off+i]); got != w {
					t.Errorf("q[%d] = %d, want %d", i, got, w)
				}
			}
			if d := f16At(b, 0); d != RoundF16(1) {
				t.Errorf("d = %v, want 1", d)
			}
		})
	}
}

// TestQuantizeSpecialInputs runs every quantizer on degenerate blocks (all
// zero, constant, one spike, denormal-small): no panics, finite output,
// zeros stay zeros, and a constant block is reproduced closely.
func TestQuantizeSpecialInputs(t *testing.T) {
	const n = 512
	inputs := map[string]func(i int) float32{
		"zero":     func(int) float32 { return 0 },
		"constant": func(int) float32 { return 0.75 },
		"negative": func(int) float32 { return -2 },
		"spike": func(i int) float32 {
			if i%97 == 3 {
				return 1000
			}
			return 0
		},
		"tiny": func(i int) float32 { return float32(i%7-3) * 1e-20 },
	}
	for typ := range quantizers {
		for name, gen := range inputs {
			x := make([]float32, n)
			for i := range x {
				x[i] = gen(i)
			}
			size, _ := typ.RowSize(n)
			b := make([]byte, size)
			if err := Quantize(typ, x, b); err != nil {
				t.Fatalf("%s/%s: %v", typ, name, err)
			}
			y := make([]float32, n)
			if err := Dequantize(typ, b, y); err != nil {
				t.Fatalf("%s/%s: %v", typ, name, err)
			}
			for i, v := range y {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatalf("%s/%s: y[%d] = %v", typ, name, i, v)
				}
				if name == "zero" && v != 0 {
					t.Fatalf("%s/zero: y[%d] = %v", typ, i, v)
				}
			}
			if name == "constant" || name == "negative" {
				if r := rmse(y, x); r > 0.05*math.Abs(float64(x[0])) {
					t.Errorf("%s/%s: rmse %.3g", typ, name, r)
				}
			}
		}
	}
}
