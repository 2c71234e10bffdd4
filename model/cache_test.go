package model

import (
	"math"
	"strings"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/tensor"
)

// loadWithCache loads a fixture with the given KV cache type.
func loadWithCache(t testing.TB, rel, kvType string) (Model, error) {
	t.Helper()
	f, err := gguf.Open(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return LoadOptions(f, Options{KVCacheType: kvType})
}

// cacheRunLogits evaluates a 70-token prompt in one batch (the float32
// attention kernel where the head size allows it) and then 12 tokens one
// at a time (the one-row kernel), returning all logits in order.
func cacheRunLogits(t *testing.T, m Model) []float32 {
	t.Helper()
	nv := m.Config().VocabSize
	toks := make([]int32, 82)
	for i := range toks {
		toks[i] = int32(1 + (i*131+7)%(nv-1))
	}
	c := m.NewCache(len(toks))
	out, err := m.Forward(c, toks[:70], true)
	if err != nil {
		t.Fatal(err)
	}
	all := append([]float32(nil), out...)
	for _, tok := range toks[70:] {
		out, err := m.Forward(c, []int32{tok}, false)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, out...)
	}
	return all
}

// TestKVCacheTypes compares each cache type's logits with the F16 cache's
// on models whose head size fits the type's blocks, and checks the cache
// sizes: Q8_0 takes 34/64 of F16's bytes, F32 twice.
func TestKVCacheTypes(t *testing.T) {
	type bound struct {
		typ    string
		maxRel float64 // largest allowed |logit - F16 cache logit| / max |F16 cache logit|
		ratio  float64 // cache bytes / F16 cache bytes
	}
	tests := []struct {
		model string
		types []bound
	}{
		// stories260K has 8-element heads and the tiny llama and qwen2 16:
		// only the plain types fit. The tiny random models are sensitive:
		// even an F32 cache moves logits of up to 50 by 0.1-0.3.
		{"models/stories260K.gguf", []bound{{"f32", 0.002, 2}, {"bf16", 0.01, 1}}},
		{"models/tiny/llama-tiny.gguf", []bound{{"f32", 0.005, 2}, {"bf16", 0.02, 1}}},
		{"models/tiny/qwen2-tiny.gguf", []bound{{"f32", 0.01, 2}}},
		{"models/tiny/llama-q256.gguf", []bound{{"f32", 0.005, 2}, {"bf16", 0.02, 1}, {"q8_0", 0.06, 34.0 / 64}, {"q4_0", 0.75, 18.0 / 64}}},
	}
	for _, tc := range tests {
		t.Run(tc.model, func(t *testing.T) {
			ref, err := loadWithCache(t, tc.model, "f16")
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("head size %d", ref.Config().HeadDim)
			want := cacheRunLogits(t, ref)
			refBytes := ref.NewCache(100).Bytes()
			for _, b := range tc.types {
				m, err := loadWithCache(t, tc.model, b.typ)
				if err != nil {
					t.Fatalf("%s: %v", b.typ, err)
				}
				got := cacheRunLogits(t, m)
				var worst, scale float64
				top1 := 0
				for i := range want {
					worst = max(worst, math.Abs(float64(got[i])-float64(want[i])))
					scale = max(scale, math.Abs(float64(want[i])))
				}
				nv := m.Config().VocabSize
				for r := 0; r < len(want)/nv; r++ {
					if argmax(got[r*nv:(r+1)*nv]) == argmax(want[r*nv:(r+1)*nv]) {
						top1++
					}
				}
				c := m.NewCache(100)
				ratio := float64(c.Bytes()) / float64(refBytes)
				kt, vt := c.Types()
				t.Logf("%s cache: max |logit - f16 cache logit| %.4g (logits up to %.3g), same top-1 %d/%d, %d bytes for 100 positions (%.4g× f16)",
					b.typ, worst, scale, top1, len(want)/nv, c.Bytes(), ratio)
				if want, _ := ParseKVCacheType(b.typ); kt != want || vt != want {
					t.Errorf("%s: cache types %s/%s", b.typ, kt, vt)
				}
				if worst > b.maxRel*scale || math.IsNaN(worst) {
					t.Errorf("%s: max logit difference %.4g > %g × %.3g", b.typ, worst, b.maxRel, scale)
				}
				if math.Abs(ratio-b.ratio) > 1e-9 {
					t.Errorf("%s: cache is %.4g× the f16 cache, want %.4g×", b.typ, ratio, b.ratio)
				}
			}
		})
	}
}

// TestKVCacheTypeOptions checks the environment variables, per-part
// overrides and errors.
func TestKVCacheTypeOptions(t *testing.T) {
	t.Setenv(kvEnv, "q8_0")
	t.Setenv(kvEnvV, "")
	m, err := loadWithCache(t, "models/tiny/llama-q256.gguf", "")
	if err != nil {
		t.Fatal(err)
	}
	if k, v := m.NewCache(4).Types(); k != tensor.Q8_0 || v != tensor.Q8_0 {
		t.Errorf("GOLEM_KV_CACHE_TYPE=q8_0: cache %s/%s", k, v)
	}
	t.Setenv(kvEnvV, "F32")
	if m, err = loadWithCache(t, "models/tiny/llama-q256.gguf", ""); err != nil {
		t.Fatal(err)
	}
	if k, v := m.NewCache(4).Types(); k != tensor.Q8_0 || v != tensor.F32 {
		t.Errorf("GOLEM_KV_CACHE_TYPE_V=F32: cache %s/%s", k, v)
	}
	// Options win over the environment.
	f, err := gguf.Open(fixtures.Path(t, "models/tiny/llama-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m, err = LoadOptions(f, Options{KVCacheType: "f16", KVCacheTypeV: "bf16"}); err != nil {
		t.Fatal(err)
	}
	if k, v := m.NewCache(4).Types(); k != tensor.F16 || v != tensor.BF16 {
		t.Errorf("options f16/bf16: cache %s/%s", k, v)
	}
	t.Setenv(kvEnv, "")
	t.Setenv(kvEnvV, "")
	for _, tc := range []struct{ model, typ, want string }{
		{"models/tiny/llama-tiny.gguf", "q9_9", "unknown KV cache type"},
		{"models/tiny/llama-tiny.gguf", "q4_k", "unknown KV cache type"},
		{"models/stories260K.gguf", "q8_0", "multiple of 32"},
		{"models/tiny/llama-tiny.gguf", "q4_0", "multiple of 32"},
	} {
		if _, err := loadWithCache(t, tc.model, tc.typ); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %s cache: error %v, want %q", tc.model, tc.typ, err, tc.want)
		}
	}
}

// TestDecodeAllocs checks that steady-state decoding allocates nothing:
// runs of 16 single-token Forward calls (positions 8-23, so the attention
// split and the cache length change from step to step) after a warm-up,
// for each cache type and on a qwen2 model (biases, fused Q/K/V dispatch).
func TestDecodeAllocs(t *testing.T) {
	for _, tc := range []struct{ model, kv string }{
		{"models/tiny/llama-q256.gguf", "f16"},
		{"models/tiny/llama-q256.gguf", "q8_0"},
		{"models/tiny/llama-q256.gguf", "f32"},
		{"models/tiny/qwen2-tiny.gguf", "f16"},
	} {
		t.Run(tc.model+"/"+tc.kv, func(t *testing.T) {
			m, err := loadWithCache(t, tc.model, tc.kv)
			if err != nil {
				t.Fatal(err)
			}
			c := m.NewCache(64)
			prompt := []int32{1, 2, 3, 4, 5, 6, 7, 8}
			tok := []int32{9}
			steps := func() {
				if err := c.Truncate(0); err != nil {
					t.Fatal(err)
				}
				if _, err := m.Forward(c, prompt, false); err != nil {
					t.Fatal(err)
				}
				for range 16 {
					if _, err := m.Forward(c, tok, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			steps() // warm-up: buffers sized, workers started
			if allocs := testing.AllocsPerRun(5, steps); allocs != 0 {
				t.Errorf("%g allocations per 8-token prompt and 16 decoded tokens", allocs)
			}
		})
	}
}

// TestAttentionAny checks the kernel for caches of other types against a
// float64 softmax over the stored (dequantized) keys and values: the
// float32 kernel to float32 precision, the one-row kernel within the error
// of converting the query to the key type's dot-product type.
func TestAttentionAny(t *testing.T) {
	const hd, nkv, n = 64, 2, 150
	rnd := uint64(7)
	next := func() float32 {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return float32(int64(rnd>>11))/float32(1<<52) - 1
	}
	for _, tc := range []struct {
		k, v   tensor.Type
		oneRow float64 // tolerance of the one-row kernel
	}{
		{tensor.Q8_0, tensor.Q8_0, 0.005}, {tensor.Q4_0, tensor.Q4_0, 0.005}, {tensor.F32, tensor.F32, 1e-5},
		{tensor.BF16, tensor.BF16, 0.005}, {tensor.F16, tensor.Q8_0, 1e-3}, {tensor.Q8_0, tensor.F16, 0.005},
	} {
		c := newCache(1, nkv*hd, hd, n, tc.k, tc.v)
		kr, vr := make([]float32, nkv*hd), make([]float32, nkv*hd)
		for p := 0; p < n; p++ {
			for i := range kr {
				kr[i], vr[i] = 2*next(), next()
			}
			c.store(0, p, kr, vr)
		}
		// The stored values, expanded.
		kf, vf := make([]float32, n*nkv*hd), make([]float32, n*nkv*hd)
		for g := 0; g < nkv; g++ {
			for p := 0; p < n; p++ {
				dk, dv := kf[(g*n+p)*hd:][:hd], vf[(g*n+p)*hd:][:hd]
				if c.k16 != nil {
					tensor.F16ToF32Slice(dk, c.k16[0][p*nkv*hd+g*hd:])
				} else if err := tensor.Dequantize(tc.k, c.kRows(0, g, p, p+1), dk); err != nil {
					t.Fatal(err)
				}
				if c.v16 != nil {
					tensor.F16ToF32Slice(dv, c.v16[0][p*nkv*hd+g*hd:])
				} else if err := tensor.Dequantize(tc.v, c.vRows(0, g, p, p+1), dv); err != nil {
					t.Fatal(err)
				}
			}
		}
		q := make([]float32, hd)
		for i := range q {
			q[i] = 2 * next()
		}
		scale := float32(0.125)
		sc := &attnScratch{qh: make([]float32, hd), acc32: make([]float32, hd), acc16: make([]uint16, hd),
			qAct: make([]byte, 4*hd), vChunk: make([]float32, anyChunk*hd), scores: make([]float32, n)}
		for _, g := range []int{0, 1} {
			lo, hi := 3+g, n-1-7*g
			w := make([]float64, 0, n)
			var wsum float64
			for p := lo; p <= hi; p++ {
				var s float64
				for i := range q {
					s += float64(q[i]) * float64(kf[(g*n+p)*hd+i])
				}
				w = append(w, math.Exp(s*float64(scale)))
				wsum += w[len(w)-1]
			}
			want := make([]float64, hd)
			for p := lo; p <= hi; p++ {
				for i := range want {
					want[i] += w[p-lo] / wsum * float64(vf[(g*n+p)*hd+i])
				}
			}
			for _, oneRow := range []bool{false, true} {
				out := make([]float32, hd)
				attentionAny(out, q, c, 0, g, lo, hi, scale, 0, oneRow, sc)
				var d float64
				for i := range want {
					d = max(d, math.Abs(float64(out[i])-want[i]))
				}
				tol := 1e-5
				if oneRow {
					tol = tc.oneRow
				}
				if !oneRow && c.v16 != nil {
					tol = 2e-3 // values accumulated in F16
				}
				t.Logf("K %s V %s head %d oneRow %v: max error %.3g", tc.k, tc.v, g, oneRow, d)
				if d > tol || math.IsNaN(d) {
					t.Errorf("K %s V %s head %d oneRow %v: max error %.3g > %g", tc.k, tc.v, g, oneRow, d, tol)
				}
			}
		}
	}
}
