package model

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math"
	"math/big"
	"math/rand/v2"
	"os"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
)

// bertGolden is the part of golden/bert-tiny.json the tests use.
type bertGolden struct {
	Model     string `json:"model"`
	SHA256    string `json:"sha256"`
	NEmbd     int    `json:"n_embd"`
	Pooling   string `json:"pooling"`
	Tolerance struct {
		NormalizedMaxAbs float64 `json:"normalized_max_abs"`
	} `json:"tolerance"`
	Embeddings []struct {
		Text       string    `json:"text"`
		TokenIDs   []int32   `json:"token_ids"`
		Pooled     []float32 `json:"pooled"`
		Normalized []float32 `json:"normalized"`
	} `json:"embeddings"`
}

// loadBERTFixture opens the golden file and its model (checking the model's
// sha256 against the golden file's) and loads the encoder.
func loadBERTFixture(t testing.TB) (*BERT, *bertGolden) {
	t.Helper()
	raw, err := os.ReadFile(fixtures.Path(t, "golden/bert-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g bertGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("golden/bert-tiny.json: %v", err)
	}
	path := fixtures.Path(t, g.Model)
	fd, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, fd)
	fd.Close()
	if err != nil {
		t.Fatal(err)
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != g.SHA256 {
		t.Fatalf("%s: sha256 %s, golden file was made from %s", g.Model, sum, g.SHA256)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := LoadBERT(f)
	if err != nil {
		t.Fatalf("LoadBERT: %v", err)
	}
	if m.EmbeddingLength != g.NEmbd || m.Pooling.String() != g.Pooling {
		t.Fatalf("model has n_embd %d pooling %v; golden file says %d %s", m.EmbeddingLength, m.Pooling, g.NEmbd, g.Pooling)
	}
	if len(g.Embeddings) == 0 {
		t.Fatal("golden file has no embeddings")
	}
	return m, &g
}

// bertSameBits counts the elements of got that equal want exactly.
func bertSameBits(got, want []float32) int {
	n := 0
	for i := range got {
		if i < len(want) && got[i] == want[i] {
			n++
		}
	}
	return n
}

func bertMaxAbsDiff(t *testing.T, got, want []float32) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("length %d, want %d", len(got), len(want))
	}
	var d float64
	for i := range got {
		d = math.Max(d, math.Abs(float64(got[i])-float64(want[i])))
	}
	return d
}

// bertStrictNormalized bounds the normalized difference far below the
// golden tolerance. Embed follows ggml's kernels closely enough to agree
// with llama.cpp to about one float32 rounding (3e-8); ordinary float32
// arithmetic in a different order (e.g. tensor.MatMul's sequential sums)
// drifts to 7e-5 through the F16 roundings of attention and GELU, so this
// check catches a lost mirror of ggml's order while leaving room for other
// platforms' math.Exp/Tanh.
const bertStrictNormalized = 1e-5

// TestBERTEmbedGolden compares Embed with llama.cpp's pooled and normalized
// embeddings of the three golden sentences. The normalized vectors must be
// within the golden file's tolerance (3 × llama.cpp's own flash-attention
// on/off spread) and within bertStrictNormalized; the pooled ones within
// the golden tolerance scaled by the pooled vector's length.
func TestBERTEmbedGolden(t *testing.T) {
	m, g := loadBERTFixture(t)
	tol := g.Tolerance.NormalizedMaxAbs
	if tol <= 0 {
		t.Fatalf("golden tolerance %v", tol)
	}
	var worstPooled, worstNorm float64
	for _, e := range g.Embeddings {
		t.Run(e.Text[:min(len(e.Text), 24)], func(t *testing.T) {
			m.Normalize = false
			pooled, err := m.Embed(e.TokenIDs)
			if err != nil {
				t.Fatal(err)
			}
			var norm2 float64
			for _, v := range e.Pooled {
				norm2 += float64(v) * float64(v)
			}
			pooledTol := tol * math.Sqrt(norm2)
			dp := bertMaxAbsDiff(t, pooled, e.Pooled)
			pooled0 := append([]float32(nil), pooled...)
			if dp > pooledTol {
				t.Errorf("pooled max abs diff %.3g > %.3g", dp, pooledTol)
			}

			m.Normalize = true
			normalized, err := m.Embed(e.TokenIDs)
			if err != nil {
				t.Fatal(err)
			}
			dn := bertMaxAbsDiff(t, normalized, e.Normalized)
			if dn > tol {
				t.Errorf("normalized max abs diff %.3g > %.3g", dn, tol)
			} else if dn > bertStrictNormalized {
				t.Errorf("normalized max abs diff %.3g > %.3g: within llama.cpp's tolerance but no longer following its kernels", dn, bertStrictNormalized)
			}
			// Normalizing the pooled vector afterwards gives the same.
			BERTNormalizeL2(pooled)
			if d := bertMaxAbsDiff(t, pooled, normalized); d != 0 {
				t.Errorf("BERTNormalizeL2(pooled) differs from Embed with Normalize by %g", d)
			}
			t.Logf("%d tokens: pooled max abs diff %.3g (tol %.3g, %d/%d bit-identical), normalized %.3g (tol %.3g, %d/%d bit-identical)",
				len(e.TokenIDs), dp, pooledTol, bertSameBits(pooled0, e.Pooled), len(e.Pooled),
				dn, tol, bertSameBits(normalized, e.Normalized), len(e.Normalized))
			worstPooled = math.Max(worstPooled, dp)
			worstNorm = math.Max(worstNorm, dn)
		})
	}
	t.Logf("worst: pooled %.3g, normalized %.3g", worstPooled, worstNorm)
}

// TestBERTNormalizeL2 checks the normalization on its own: applied to the
// golden pooled vectors it must give the golden normalized vectors bit for
// bit, and a zero vector must stay zero.
func TestBERTNormalizeL2(t *testing.T) {
	raw, err := os.ReadFile(fixtures.Path(t, "golden/bert-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var g bertGolden
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatal(err)
	}
	same, total := 0, 0
	for _, e := range g.Embeddings {
		v := append([]float32(nil), e.Pooled...)
		BERTNormalizeL2(v)
		same += bertSameBits(v, e.Normalized)
		total += len(e.Normalized)
	}
	if total == 0 || same != total {
		t.Errorf("%d of %d normalized values bit-identical, want all", same, total)
	}
	zero := make([]float32, 4)
	BERTNormalizeL2(zero)
	for _, v := range zero {
		if v != 0 {
			t.Fatalf("zero vector normalized to %v", zero)
		}
	}
}

// TestBERTPoolingModes checks the other pooling types against the per-token
// output: cls is the first row, last the last, and mean pooling equals the
// average of the rows of pooling none.
func TestBERTPoolingModes(t *testing.T) {
	m, g := loadBERTFixture(t)
	tokens := g.Embeddings[0].TokenIDs
	n, d := len(tokens), m.EmbeddingLength
	m.Normalize = false
	embed := func(p BERTPooling) []float32 {
		t.Helper()
		m.Pooling = p
		out, err := m.Embed(tokens)
		if err != nil {
			t.Fatalf("%v: %v", p, err)
		}
		return out
	}
	all := embed(BERTPoolingNone)
	if len(all) != n*d {
		t.Fatalf("pooling none returned %d values, want %d", len(all), n*d)
	}
	tests := []struct {
		pool BERTPooling
		want []float32
	}{
		{BERTPoolingCLS, all[:d]},
		{BERTPoolingLast, all[(n-1)*d:]},
	}
	for _, tc := range tests {
		if diff := bertMaxAbsDiff(t, embed(tc.pool), tc.want); diff != 0 {
			t.Errorf("%v pooling differs from the token row by %g", tc.pool, diff)
		}
	}
	mean := make([]float32, d)
	for r := 0; r < n; r++ {
		for j := range mean {
			mean[j] += all[r*d+j] / float32(n)
		}
	}
	if diff := bertMaxAbsDiff(t, embed(BERTPoolingMean), mean); diff > 1e-5 {
		t.Errorf("mean pooling differs from the average of the token rows by %g", diff)
	}

	// With Normalize every token row of pooling none has unit length.
	m.Normalize = true
	all = embed(BERTPoolingNone)
	for r := 0; r < n; r++ {
		var s float64
		for _, v := range all[r*d : (r+1)*d] {
			s += float64(v) * float64(v)
		}
		if math.Abs(math.Sqrt(s)-1) > 1e-6 {
			t.Errorf("token %d: normalized length %v", r, math.Sqrt(s))
		}
	}
}

// TestBERTEmbedBadInput checks that invalid inputs give errors, not panics.
func TestBERTEmbedBadInput(t *testing.T) {
	m, _ := loadBERTFixture(t)
	long := make([]int32, m.ContextLength+1)
	for i := range long {
		long[i] = 101
	}
	tests := []struct {
		name   string
		tokens []int32
	}{
		{"empty", nil},
		{"negative id", []int32{101, -1, 102}},
		{"id = vocab size", []int32{101, int32(m.VocabSize), 102}},
		{"huge id", []int32{101, math.MaxInt32}},
		{"longer than context", long},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := m.Embed(tc.tokens)
			if err == nil {
				t.Fatalf("no error (got %d values)", len(out))
			}
			t.Log(err)
		})
	}
	m.Pooling = BERTPooling(7)
	if _, err := m.Embed([]int32{101, 102}); err == nil {
		t.Error("unknown pooling type: no error")
	}
}

// TestLoadBERTWrongArchitecture checks that a non-BERT model is refused.
func TestLoadBERTWrongArchitecture(t *testing.T) {
	f, err := gguf.Open(fixtures.Path(t, "models/tiny/llama-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := LoadBERT(f); err == nil {
		t.Fatal("LoadBERT accepted a llama model")
	}
}

// TestBERTGELU checks GELU against values worked out by hand from
// 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))) with x rounded to F16 first
// and the result rounded to F16, plus the cut-offs at ±10.
func TestBERTGELU(t *testing.T) {
	tests := []struct {
		x, want float32
	}{
		{0, 0},
		{1, 0.84130859375},           // 0.841192 → F16
		{-1, -0.1588134765625},       // -0.158808
		{2, 1.955078125},             // 1.954598
		{0.5, 0.345703125},           // 0.345714
		{-0.25, -0.100341796875},     // -0.100325
		{-3, -0.0036373138427734375}, // -0.0036374
		{3.14159, 3.138671875},       // x → 3.140625 in F16, 3.138333
		{1.0001, 0.84130859375},      // rounds to 1 in F16
		{9.99, 9.9921875},            // x → 9.9921875, GELU(x) ≈ x
		{10, 10},                     // ≥ 10 passes through
		{12.5, 12.5},                 //
		{-10, 0},                     // ≤ -10 is 0
		{-20, 0},                     //
		{float32(math.Inf(1)), float32(math.Inf(1))},
	}
	for _, tc := range tests {
		if got := bertGELU(tc.x); got != tc.want {
			t.Errorf("bertGELU(%v) = %v, want %v", tc.x, got, tc.want)
		}
	}
	if got := bertGELU(float32(math.NaN())); !math.IsNaN(float64(got)) {
		t.Errorf("bertGELU(NaN) = %v, want NaN", got)
	}
}

// TestBERTFMA compares bertFMA with a*b+c computed exactly and rounded
// once to float32, on random inputs and on inputs built so that the float64
// sum lands on a float32 rounding midpoint (the double-rounding case).
func TestBERTFMA(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	exact := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(2000).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	doubleRounded := 0
	for i := 0; i < 20000; i++ {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64())
		c := float32(rng.NormFloat64())
		if i%2 == 1 {
			// a*b = ±2^-24·(1 - 2^-46)·2^e lies just inside half a
			// float32 step of c (in [1,2)·2^e, last bit odd), so the
			// float64 sum rounds onto the midpoint and a second
			// rounding to even would move to the wrong neighbour.
			e := rng.IntN(40) - 20
			c = float32(math.Ldexp(1+float64(rng.IntN(1<<22)*2+1)/(1<<23), e))
			a = 1 + 1.0/(1<<23)
			b = float32(math.Ldexp(1-1.0/(1<<23), e-24))
			if rng.IntN(2) == 0 {
				b = -b
			}
		}
		p := float64(a) * float64(b)
		want := exact(a, b, c)
		if float32(p+float64(c)) != want {
			doubleRounded++ // plain float64 arithmetic gets this one wrong
		}
		if got := bertFMA(a, b, c); got != want {
			t.Fatalf("bertFMA(%g, %g, %g) = %g, want %g", a, b, c, got, want)
		}
	}
	if doubleRounded == 0 {
		t.Error("no input exercised the double-rounding case")
	}
	t.Logf("%d inputs where float32(float64 a*b+c) is wrong, bertFMA right", doubleRounded)
}

// BenchmarkBERTEmbed embeds the longest golden sentence (89 tokens).
func BenchmarkBERTEmbed(b *testing.B) {
	m, g := loadBERTFixture(b)
	tokens := g.Embeddings[len(g.Embeddings)-1].TokenIDs
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Embed(tokens); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(tokens)), "tokens/op")
}
