package quantize

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/model"
	"golem/tensor"
	"golem/tokenizer"
)

// TestMatchesLlamaQuantize re-quantizes F32 fixtures and compares the
// result with llama-quantize's output for the same type (models/quant):
// same tensor order, names and types, and byte-identical tensor data and
// metadata, i.e. the whole file is identical. llama-q256 (n_embd 256)
// exercises every K-quant mixture; stories260K (n_embd 64) the legacy
// types and the F16 fallback of ffn_down (n_ff 172 is not a multiple of
// 32).
func TestMatchesLlamaQuantize(t *testing.T) {
	cases := []struct {
		model string
		types []string
	}{
		{"llama-q256", []string{"Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q3_K_M", "Q2_K", "IQ4_NL", "IQ4_XS", "F16"}},
		{"stories260K", []string{"Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "F16"}},
	}
	for _, c := range cases {
		srcPath := "models/tiny/" + c.model + ".gguf"
		if c.model == "stories260K" {
			srcPath = "models/stories260K.gguf"
		}
		src := openFixture(t, srcPath)
		for _, ft := range c.types {
			t.Run(c.model+"/"+ft, func(t *testing.T) {
				want := openFixture(t, "models/quant/"+c.model+"-"+ft+".gguf")
				out := filepath.Join(t.TempDir(), "out.gguf")
				var last, total int64
				opts := Options{Threads: 2, Progress: func(d, tot int64) { last, total = d, tot }}
				if c.model == "stories260K" {
					// As the fixtures were made (models/SOURCES.md).
					opts.Overrides = []Override{{regexp.MustCompile("ffn_down"), tensor.F16}}
				}
				if _, err := File(src, out, ft, opts); err != nil {
					t.Fatal(err)
				}
				if last != total || total == 0 {
					t.Errorf("progress ended at %d of %d bytes", last, total)
				}
				got, err := gguf.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				defer got.Close()
				compareFiles(t, got, want)
			})
		}
	}
}

func openFixture(t *testing.T, rel string) *gguf.File {
	t.Helper()
	f, err := gguf.Open(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func compareFiles(t *testing.T, got, want *gguf.File) {
	t.Helper()
	if len(got.Tensors) != len(want.Tensors) {
		t.Fatalf("%d tensors, llama-quantize wrote %d", len(got.Tensors), len(want.Tensors))
	}
	for i := range want.Tensors {
		g, w := &got.Tensors[i], &want.Tensors[i]
		switch {
		case g.Name != w.Name:
			t.Errorf("tensor %d is %s, llama-quantize has %s", i, g.Name, w.Name)
		case g.Type != w.Type:
			t.Errorf("%s: type %s, llama-quantize chose %s", g.Name, g.Type, w.Type)
		case !bytes.Equal(got.TensorData(g), want.TensorData(w)):
			t.Errorf("%s (%s): data differs from llama-quantize's", g.Name, g.Type)
		}
	}
	if len(got.KV) != len(want.KV) {
		t.Errorf("%d metadata keys, llama-quantize wrote %d", len(got.KV), len(want.KV))
	}
	for i := 0; i < len(got.KV) && i < len(want.KV); i++ {
		if got.KV[i].Key != want.KV[i].Key {
			t.Errorf("metadata key %d is %s, llama-quantize has %s", i, got.KV[i].Key, want.KV[i].Key)
			break
		}
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("file differs from llama-quantize's (%d vs %d bytes)", len(got.Bytes()), len(want.Bytes()))
	}
}

// TestKQuantsOnSmallModelLoadAndGenerate quantizes stories260K (rows of
// 64 and 172 elements, so every K-quant falls back to legacy types) to
// several mixtures and checks the planned types, that the file loads, and
// that greedy decoding produces the story the F32 model tells for the
// first tokens.
func TestKQuantsOnSmallModelLoadAndGenerate(t *testing.T) {
	src := openFixture(t, "models/stories260K.gguf")
	cases := []struct {
		ft                   string
		attnQ, ffnDown, outp tensor.Type
	}{
		// Q4_K -> Q5_0 (64 % 256 != 0), ffn_down rows of 172 -> F16,
		// output.weight: Q8_0 because 64 % 256 != 0.
		{"Q4_K_M", tensor.Q5_0, tensor.F16, tensor.Q8_0},
		{"Q5_K_S", tensor.Q5_1, tensor.F16, tensor.Q8_0},
		{"Q6_K", tensor.Q8_0, tensor.F16, tensor.Q8_0},
		{"Q2_K", tensor.Q4_0, tensor.F16, tensor.Q8_0},
		{"Q3_K_L", tensor.Q4_0, tensor.F16, tensor.Q8_0},
		{"IQ4_XS", tensor.IQ4_NL, tensor.F16, tensor.Q8_0},
		{"Q8_0", tensor.Q8_0, tensor.F16, tensor.Q8_0},
		{"BF16", tensor.BF16, tensor.BF16, tensor.BF16},
	}
	for _, c := range cases {
		t.Run(c.ft, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m.gguf")
			plan, err := File(src, out, c.ft, Options{})
			if err != nil {
				t.Fatal(err)
			}
			types := map[string]tensor.Type{}
			for _, p := range plan {
				types[p.Name] = p.To
				if len(p.Shape) == 1 && p.To != p.From {
					t.Errorf("1-D tensor %s converted to %s", p.Name, p.To)
				}
			}
			for name, want := range map[string]tensor.Type{
				"blk.0.attn_q.weight":    c.attnQ,
				"blk.0.ffn_down.weight":  c.ffnDown,
				"output.weight":          c.outp,
				"blk.0.attn_norm.weight": tensor.F32,
			} {
				if types[name] != want {
					t.Errorf("%s: %s, want %s", name, types[name], want)
				}
			}
			f, err := gguf.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := f.FileType(); got != c.ft {
				t.Errorf("general.file_type is %s, want %s", got, c.ft)
			}
			text := greedy(t, f, "Once upon a time", 12)
			t.Logf("%s: %q", c.ft, text)
			if c.ft == "Q8_0" || c.ft == "BF16" || c.ft == "Q6_K" {
				// Close to F32: the F32 model's greedy story (llama.cpp).
				if !strings.HasPrefix(text, ", there was a little girl") {
					t.Errorf("generated %q, want the F32 story's start", text)
				}
			} else if len(strings.TrimSpace(text)) == 0 {
				t.Error("generated nothing")
			}
		})
	}
}

// greedy generates n tokens by argmax after prompt.
func greedy(t *testing.T, f *gguf.File, prompt string, n int) string {
	t.Helper()
	m, err := model.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(prompt, true, false)
	c := m.NewCache(64)
	var out []int32
	for range n {
		logits, err := m.Forward(c, ids, false)
		if err != nil {
			t.Fatal(err)
		}
		best := 0
		for i, v := range logits {
			if v > logits[best] {
				best = i
			}
		}
		out = append(out, int32(best))
		ids = []int32{int32(best)}
	}
	return tok.Decode(out)
}

func TestParseFileType(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
		id   uint32
		ok   bool
	}{
		{"q4_k_m", "Q4_K_M", 15, true},
		{"Q4_K", "Q4_K_M", 15, true},
		{"q8_0", "Q8_0", 7, true},
		{" f16 ", "F16", 1, true},
		{"bf16", "BF16", 32, true},
		{"IQ4_xs", "IQ4_XS", 30, true},
		{"Q3_K_S", "Q3_K_S", 11, true},
		{"q7_0", "", 0, false},
		{"", "", 0, false},
		{"IQ2_XXS", "", 0, false}, // needs an importance matrix: not offered
	} {
		ft, err := ParseFileType(c.in)
		if (err == nil) != c.ok {
			t.Errorf("ParseFileType(%q): err %v, want ok=%v", c.in, err, c.ok)
			continue
		}
		if c.ok && (ft.Name != c.want || ft.ID != c.id) {
			t.Errorf("ParseFileType(%q) = %s/%d, want %s/%d", c.in, ft.Name, ft.ID, c.want, c.id)
		}
		if !c.ok && !strings.Contains(err.Error(), "Q4_K_M") {
			t.Errorf("error %q does not list the supported types", err)
		}
	}
}

// TestRules checks llama.cpp's per-layer choices on a synthetic 32-layer
// plan, where use_more_bits and the n/16, n/8 thresholds matter.
func TestRules(t *testing.T) {
	for _, c := range []struct {
		i, n int
		want bool
	}{{0, 32, true}, {3, 32, true}, {4, 32, false}, {6, 32, true}, {9, 32, true}, {27, 32, true}, {26, 32, false}, {28, 32, true}, {31, 32, true}, {0, 2, false}, {1, 2, true}} {
		if got := useMoreBits(c.i, c.n); got != c.want {
			t.Errorf("useMoreBits(%d, %d) = %v", c.i, c.n, got)
		}
	}
	for _, c := range []struct {
		name string
		want int
	}{{"blk.12.attn_q.weight", 12}, {"token_embd.weight", -1}, {"blk.x", -1}, {"blk.7", 7}} {
		if got := layerOf(c.name); got != c.want {
			t.Errorf("layerOf(%q) = %d, want %d", c.name, got, c.want)
		}
	}
	mi := &modelInfo{}
	for _, c := range []struct {
		t    tensor.Type
		row  int64
		want tensor.Type
	}{
		{tensor.Q4_K, 256, tensor.Q4_K}, {tensor.Q4_K, 64, tensor.Q5_0}, {tensor.Q5_K, 96, tensor.Q5_1},
		{tensor.Q6_K, 64, tensor.Q8_0}, {tensor.Q2_K, 32, tensor.Q4_0}, {tensor.Q3_K, 100, tensor.F16},
		{tensor.IQ4_XS, 64, tensor.IQ4_NL},
		{tensor.Q8_0, 172, tensor.F16}, // llama.cpp refuses; we keep the model quantizable
	} {
		if got := mi.fallback(c.t, c.row); got != c.want {
			t.Errorf("fallback(%s, %d) = %s; want %s", c.t, c.row, got, c.want)
		}
	}
	for _, c := range []struct {
		name  string
		shape []int64
		want  bool
	}{
		{"blk.0.attn_q.weight", []int64{256, 256}, true},
		{"blk.0.attn_norm.weight", []int64{256}, false},
		{"blk.0.ffn_norm.weight", []int64{256, 2}, false},
		{"blk.0.attn_q.bias", []int64{256, 256}, false},
		{"blk.0.ffn_gate_inp.weight", []int64{256, 8}, false},
		{"position_embd.weight", []int64{256, 512}, false},
		{"output.weight", []int64{256, 512}, true},
		{"x.weight", []int64{256, 1, 1}, false},
	} {
		if got := allowsQuantization(c.name, c.shape); got != c.want {
			t.Errorf("allowsQuantization(%s, %v) = %v", c.name, c.shape, got)
		}
	}
}
