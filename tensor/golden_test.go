package tensor

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"sync"
	"testing"

	"golem/internal/fixtures"
)

// quantGolden is golden/quant.json: one 4096-float row quantized by ggml
// for each type (see fixtures/golden/README.md, "Quantization file").
type quantGolden struct {
	Format string    `json:"format"`
	Seed   string    `json:"seed"`
	N      int       `json:"n"`
	Input  string    `json:"input_f32_b64"`
	First8 []float32 `json:"input_first8"`
	Types  []struct {
		Type      string  `json:"type"`
		GGMLType  uint32  `json:"ggml_type"`
		Role      string  `json:"role"`
		BlockSize int     `json:"block_size"`
		TypeSize  int     `json:"type_size"`
		Bytes     int     `json:"bytes"`
		Data      string  `json:"data_b64"`
		RMSE      float64 `json:"rmse"`
		Dequant   string  `json:"dequant_f32_b64"`
	} `json:"types"`
}

// goldenEntry is one decoded type of quant.json.
type goldenEntry struct {
	name    string
	typ     Type
	role    string
	data    []byte
	dequant []float32
	rmse    float64
}

var (
	goldenOnce    sync.Once
	goldenInput   []float32
	goldenEntries []goldenEntry
	goldenErr     error
)

// loadQuantGolden reads and decodes quant.json once per test binary.
func loadQuantGolden(t *testing.T) ([]float32, []goldenEntry) {
	t.Helper()
	path := fixtures.Path(t, "golden/quant.json")
	goldenOnce.Do(func() {
		raw, err := os.ReadFile(path)
		if err != nil {
			goldenErr = err
			return
		}
		var g quantGolden
		if goldenErr = json.Unmarshal(raw, &g); goldenErr != nil {
			return
		}
		in, err := base64.StdEncoding.DecodeString(g.Input)
		if err != nil {
			goldenErr = err
			return
		}
		goldenInput = bytesToF32(in)
		for _, e := range g.Types {
			data, err := base64.StdEncoding.DecodeString(e.Data)
			if err != nil {
				goldenErr = err
				return
			}
			dq, err := base64.StdEncoding.DecodeString(e.Dequant)
			if err != nil {
				goldenErr = err
				return
			}
			goldenEntries = append(goldenEntries, goldenEntry{
				name: e.Type, typ: Type(e.GGMLType), role: e.Role,
				data: data, dequant: bytesToF32(dq), rmse: e.RMSE,
			})
		}
	})
	if goldenErr != nil {
		t.Fatalf("quant.json: %v", goldenErr)
	}
	return goldenInput, goldenEntries
}

func bytesToF32(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

// quantInputs regenerates quant.json's input row (README: 64-bit LCG,
// sum of four uniforms, every 64th element from index 7 scaled by 5).
func quantInputs(seed uint64, n int) []float32 {
	s := seed
	u := func() float64 {
		s = s*6364136223846793005 + 1442695040888963407
		return float64(s>>11) * (1.0 / 9007199254740992.0)
	}
	out := make([]float32, n)
	for i := range out {
		a := u()
		a += u()
		a += u()
		a += u()
		x := (a - 2.0) * 1.7320508075688772
		if i%64 == 7 {
			x *= 5
		}
		out[i] = float32(x)
	}
	return out
}

func rmse(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s / float64(len(a)))
}

func TestGoldenInputGenerator(t *testing.T) {
	in, _ := loadQuantGolden(t)
	gen := quantInputs(0x5eed1234abcd, len(in))
	if len(in) != 4096 {
		t.Fatalf("input has %d floats, want 4096", len(in))
	}
	for i := range in {
		if math.Float32bits(in[i]) != math.Float32bits(gen[i]) {
			t.Fatalf("input[%d] = %v, generator gives %v", i, in[i], gen[i])
		}
	}
}

// TestDequantizeGolden checks every type in quant.json: dequantizing ggml's
// bytes must give ggml's floats bit for bit.
func TestDequantizeGolden(t *testing.T) {
	_, entries := loadQuantGolden(t)
	seen := map[Type]bool{}
	for _, e := range entries {
		t.Run(e.role+"/"+e.name, func(t *testing.T) {
			if !CanDequantize(e.typ) {
				t.Fatalf("no dequantizer for %s", e.typ)
			}
			got := make([]float32, len(e.dequant))
			if err := Dequantize(e.typ, e.data, got); err != nil {
				t.Fatal(err)
			}
			bad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(e.dequant[i]) {
					if bad < 5 {
						t.Errorf("[%d] = %v (%#08x), want %v (%#08x)", i, got[i], math.Float32bits(got[i]), e.dequant[i], math.Float32bits(e.dequant[i]))
					}
					bad++
				}
			}
			if bad > 0 {
				t.Errorf("%d/%d elements differ", bad, len(got))
			}
			seen[e.typ] = true
		})
	}
	for _, typ := range []Type{F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_NL, IQ4_XS} {
		if !seen[typ] {
			t.Errorf("quant.json has no entry for %s", typ)
		}
	}
}
