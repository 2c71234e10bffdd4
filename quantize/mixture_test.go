package quantize

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golem/gguf"
	"golem/tensor"
)

// TestMixturesOn16Layers checks the per-layer choices of the K-quant
// mixtures on a synthetic 16-layer model with grouped-query attention
// (n_gqa 4), where the layer thresholds of llama.cpp's rules (n/16, n/8,
// use_more_bits: layers 0,1,4,7,10,13,14,15) all show. The fixtures'
// 2-layer model cannot tell these apart.
func TestMixturesOn16Layers(t *testing.T) {
	const nLayer = 16
	w := gguf.NewWriter()
	w.Set("general.architecture", "llama")
	w.Set("llama.block_count", uint32(nLayer))
	w.Set("llama.attention.head_count", uint32(8))
	w.Set("llama.attention.head_count_kv", uint32(2))
	add := func(name string, shape ...int64) {
		n := int64(1)
		for _, d := range shape {
			n *= d
		}
		if err := w.AddTensor(name, shape, tensor.F32, make([]byte, n*4)); err != nil {
			t.Fatal(err)
		}
	}
	add("token_embd.weight", 256, 8)
	add("output.weight", 256, 8)
	add("output_norm.weight", 256)
	for i := range nLayer {
		add(fmt.Sprintf("blk.%d.attn_v.weight", i), 256, 2)
		add(fmt.Sprintf("blk.%d.attn_output.weight", i), 256, 2)
		add(fmt.Sprintf("blk.%d.ffn_down.weight", i), 256, 2)
		add(fmt.Sprintf("blk.%d.attn_norm.weight", i), 256)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()

	more := func(i int) bool { return i < 2 || i >= 14 || (i-2)%3 == 2 }
	pick := func(c bool, a, b tensor.Type) tensor.Type {
		if c {
			return a
		}
		return b
	}
	const (
		q2, q3, q4, q5, q6 = tensor.Q2_K, tensor.Q3_K, tensor.Q4_K, tensor.Q5_K, tensor.Q6_K
	)
	for _, c := range []struct {
		ft                      string
		attnV, attnOut, ffnDown func(i int) tensor.Type
		output, embd            tensor.Type
	}{
		{"Q4_K_M", func(i int) tensor.Type { return pick(more(i), q6, q4) }, func(int) tensor.Type { return q4 },
			func(i int) tensor.Type { return pick(more(i), q6, q4) }, q6, q4},
		{"Q5_K_M", func(i int) tensor.Type { return pick(more(i), q6, q5) }, func(int) tensor.Type { return q5 },
			func(i int) tensor.Type { return pick(more(i), q6, q5) }, q6, q5},
		{"Q4_K_S", func(i int) tensor.Type { return pick(i < 4, q5, q4) }, func(int) tensor.Type { return q4 },
			func(i int) tensor.Type { return pick(i < 2, q5, q4) }, q6, q4},
		{"Q5_K_S", func(int) tensor.Type { return q5 }, func(int) tensor.Type { return q5 },
			func(int) tensor.Type { return q5 }, q6, q5},
		{"Q3_K_S", func(int) tensor.Type { return q3 }, func(int) tensor.Type { return q3 },
			func(int) tensor.Type { return q3 }, q6, q3},
		{"Q3_K_M", func(i int) tensor.Type { return pick(i < 2, q5, q4) }, func(int) tensor.Type { return q4 },
			func(i int) tensor.Type { return pick(i < 1, q5, q4) }, q6, q3},
		{"Q3_K_L", func(int) tensor.Type { return q5 }, func(int) tensor.Type { return q5 },
			func(int) tensor.Type { return q5 }, q6, q3},
		{"Q2_K", func(int) tensor.Type { return q4 }, func(int) tensor.Type { return q3 },
			func(int) tensor.Type { return q3 }, q6, q2},
		{"IQ4_XS", func(int) tensor.Type { return q5 }, func(int) tensor.Type { return tensor.IQ4_XS },
			func(i int) tensor.Type { return pick(i < 2, q5, tensor.IQ4_XS) }, q6, tensor.IQ4_XS},
		{"Q6_K", func(int) tensor.Type { return q6 }, func(int) tensor.Type { return q6 },
			func(int) tensor.Type { return q6 }, q6, q6},
		{"Q8_0", func(int) tensor.Type { return tensor.Q8_0 }, func(int) tensor.Type { return tensor.Q8_0 },
			func(int) tensor.Type { return tensor.Q8_0 }, tensor.Q8_0, tensor.Q8_0},
	} {
		ft, err := ParseFileType(c.ft)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := Plan(f, ft)
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]tensor.Type{}
		for _, p := range plan {
			got[p.Name] = p.To
		}
		want := map[string]tensor.Type{"output.weight": c.output, "token_embd.weight": c.embd, "output_norm.weight": tensor.F32}
		for i := range nLayer {
			want[fmt.Sprintf("blk.%d.attn_v.weight", i)] = c.attnV(i)
			want[fmt.Sprintf("blk.%d.attn_output.weight", i)] = c.attnOut(i)
			want[fmt.Sprintf("blk.%d.ffn_down.weight", i)] = c.ffnDown(i)
			want[fmt.Sprintf("blk.%d.attn_norm.weight", i)] = tensor.F32
		}
		bad := 0
		for name, w := range want {
			if got[name] != w {
				bad++
				if bad <= 3 {
					t.Errorf("%s: %s is %s, want %s", c.ft, name, got[name], w)
				}
			}
		}
		// Tensors are in llama-quantize's order: non-layer ones first, by
		// name, then layer by layer (blk.2 before blk.10).
		if plan[0].Name != "output.weight" || plan[3].Name != "blk.0.attn_norm.weight" || plan[3+4*2].Name != "blk.2.attn_norm.weight" {
			t.Errorf("order: %s, %s, %s", plan[0].Name, plan[3].Name, plan[11].Name)
		}
	}
}

// buildLlama16 writes a 16-layer llama to dir: llama-q256's metadata with
// block_count 16 and its two layers repeated (layer i is a copy of layer
// i%2), the model testdata/llama16-types.json was made from.
func buildLlama16(t *testing.T, dir string) string {
	t.Helper()
	src := openFixture(t, "models/tiny/llama-q256.gguf")
	w := gguf.FromFile(src)
	if err := w.Set("llama.block_count", uint32(16)); err != nil {
		t.Fatal(err)
	}
	for il := 2; il < 16; il++ {
		for i := range src.Tensors {
			ti := &src.Tensors[i]
			pre := fmt.Sprintf("blk.%d.", il%2)
			if !strings.HasPrefix(ti.Name, pre) {
				continue
			}
			name := fmt.Sprintf("blk.%d.", il) + strings.TrimPrefix(ti.Name, pre)
			if err := w.AddTensor(name, ti.Shape, ti.Type, src.TensorData(ti)); err != nil {
				t.Fatal(err)
			}
		}
	}
	path := filepath.Join(dir, "llama16.gguf")
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestMixturesMatchLlamaQuantize16 compares the plan for a 16-layer model
// with the tensor order and types llama-quantize wrote for it, for every
// K-quant mixture (recorded in testdata/llama16-types.json; the files
// themselves were also byte-identical to File's output when recorded).
func TestMixturesMatchLlamaQuantize16(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "llama16-types.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Tensors []string            `json:"tensors"`
		Types   map[string][]string `json:"types"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(buildLlama16(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if len(golden.Types) < 10 {
		t.Fatalf("golden file has %d types", len(golden.Types))
	}
	for name, want := range golden.Types {
		ft, err := ParseFileType(name)
		if err != nil {
			t.Fatal(err)
		}
		plan, err := Plan(f, ft)
		if err != nil {
			t.Fatal(err)
		}
		if len(plan) != len(golden.Tensors) || len(want) != len(plan) {
			t.Fatalf("%s: %d tensors planned, llama-quantize wrote %d", name, len(plan), len(golden.Tensors))
		}
		bad := 0
		for i, p := range plan {
			if p.Name != golden.Tensors[i] || p.To.String() != want[i] {
				if bad++; bad <= 3 {
					t.Errorf("%s: tensor %d is %s as %s, llama-quantize wrote %s as %s", name, i, p.Name, p.To, golden.Tensors[i], want[i])
				}
			}
		}
	}
}
