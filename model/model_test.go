package model

import (
	"bytes"
	"encoding/binary"
	"math"
	"slices"
	"strings"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/tensor"
)

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// TestRopeAngles checks the cos/sin table against angles derived by hand:
// dims 4, base 10000 gives per-pair frequencies 1 and 10000^(-1/2) = 0.01,
// so position 3 has angles 3 and 0.03 before scaling.
func TestRopeAngles(t *testing.T) {
	base := Rope{Dims: 4, Base: 10000, FreqScale: 1, AttnFactor: 1}
	tests := []struct {
		name   string
		modify func(r *Rope)
		want   [2]float64 // angles of pairs 0 and 1
		mag    float64    // |cos + i sin|
	}{
		{"plain", func(r *Rope) {}, [2]float64{3, 0.03}, 1},
		{"rope_freqs", func(r *Rope) { r.FreqFactors = []float32{1, 2} }, [2]float64{3, 0.015}, 1},
		{"linear x4", func(r *Rope) { r.FreqScale = 0.25 }, [2]float64{0.75, 0.0075}, 1},
		{"attn factor", func(r *Rope) { r.AttnFactor = 0.5 }, [2]float64{3, 0.03}, 0.5},
		{"longrope short", func(r *Rope) {
			r.OrigCtx, r.FreqFactors, r.FreqFactorsLong = 16, []float32{1, 3}, []float32{2, 6}
		}, [2]float64{3, 0.01}, 1},
		{"longrope long", func(r *Rope) {
			r.OrigCtx, r.FreqFactors, r.FreqFactorsLong = 8, []float32{1, 3}, []float32{2, 6}
		}, [2]float64{1.5, 0.005}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			tc.modify(&r)
			cs := make([]float32, 4)
			r.angles(3, 16, cs)
			for i, th := range tc.want {
				c, s := float64(cs[2*i]), float64(cs[2*i+1])
				if !near(c, tc.mag*math.Cos(th), 1e-6) || !near(s, tc.mag*math.Sin(th), 1e-6) {
					t.Errorf("pair %d: cos,sin = %g,%g, want angle %g magnitude %g", i, c, s, th, tc.mag)
				}
			}
		})
	}
}

// TestYarn checks YaRN's correction range and ramp. For dims 128,
// original context 4096, base 10000: the dimension making 32 rotations is
// 128·ln(4096/(32·2π))/(2·ln 10000) = 20.94 (floor 20) and the one making
// 1 rotation 45.03 (ceil 46). Pairs below 20 keep the original angle,
// pairs above 46 are interpolated (× freq_scale), pair 33 is half-way.
func TestYarn(t *testing.T) {
	corr := yarnCorrDims(128, 4096, 10000, 32, 1)
	if corr != [2]float32{20, 46} {
		t.Fatalf("corr dims %v, want [20 46]", corr)
	}
	const theta, scale = 0.8, 0.25
	for _, tc := range []struct {
		i0   int
		want float64
	}{
		{0, theta},  // ramp 1: extrapolated (original) angle
		{40, theta}, // pair 20: still 1
		{66, 0.5 * (theta + scale*theta)},
		{92, scale * theta}, // pair 46: ramp 0
		{126, scale * theta},
	} {
		c, s := ropeYarn(theta, scale, corr, tc.i0, 1, 1)
		mag := 1 + 0.1*math.Log(1/scale)
		if got := math.Atan2(float64(s), float64(c)); !near(got, tc.want, 1e-6) {
			t.Errorf("i0 %d: angle %g, want %g", tc.i0, got, tc.want)
		}
		if got := math.Hypot(float64(c), float64(s)); !near(got, mag, 1e-6) {
			t.Errorf("i0 %d: magnitude %g, want %g", tc.i0, got, mag)
		}
	}
	// llama.cpp's context setup divides rope_yarn's 1+0.1·ln(factor) back
	// out of the attention factor it passes: for factor 4 that leaves 1
	// (net magnitude 1+0.1·ln 4 as above); with a log multiplier m it is
	// 1/(1+0.1·m·ln 4): m = 0.0707 gives 1/1.0098013 = 0.9902940.
	if got := yarnAttnFactor(4, 0); !near(float64(got), 1, 1e-6) {
		t.Errorf("yarnAttnFactor(4, 0) = %g, want 1", got)
	}
	if got := yarnAttnFactor(4, 0.0707); !near(float64(got), 0.9902940, 1e-6) {
		t.Errorf("yarnAttnFactor(4, 0.0707) = %g, want 0.9902940", got)
	}
	if got := yarnAttnFactor(1, 0); got != 1 {
		t.Errorf("yarnAttnFactor(1, 0) = %g, want 1", got)
	}
}

// TestLlama3FreqFactors checks Llama-3.1 frequency scaling by hand and
// against the rope_freqs.weight that the converter stored in llama-tiny
// (dims 16, base 5e5, factor 32, low 1, high 4, original context 8192).
// Pair i has wavelength 2π·500000^(i/8): pairs 0-3 are below 8192/4 = 2048
// (kept, 1), pairs 5-7 above 8192 (divided by 32), and pair 4, wavelength
// 2π·sqrt(5e5) = 4442.88, is smoothed: s = (8192/4442.88 - 1)/3 = 0.28128,
// factor 1/((1-s)/32 + s) = 3.29226.
func TestLlama3FreqFactors(t *testing.T) {
	got := llama3FreqFactors(16, 500000, 32, 1, 4, 8192)
	want := []float32{1, 1, 1, 1, 3.292262, 32, 32, 32}
	for i := range want {
		if !near(float64(got[i]), float64(want[i]), 1e-5) {
			t.Errorf("pair %d: %g, want %g", i, got[i], want[i])
		}
	}
	f, err := gguf.Open(fixtures.Path(t, "models/tiny/llama-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ti, ok := f.Tensor("rope_freqs.weight")
	if !ok {
		t.Fatal("llama-tiny has no rope_freqs.weight")
	}
	stored := make([]float32, ti.Shape[0])
	if err := tensor.Dequantize(ti.Type, f.TensorData(ti), stored); err != nil {
		t.Fatal(err)
	}
	for i := range stored {
		if !near(float64(got[i]), float64(stored[i]), 1e-5) {
			t.Errorf("pair %d: computed %g, file has %g", i, got[i], stored[i])
		}
	}
}

// TestGELU checks the GELU table against the tanh formula and ggml's
// clamping outside [-10, 10].
func TestGELU(t *testing.T) {
	for _, x := range []float32{-12, -10, -3, -1, -0.5, 0, 0.25, 1, 2.5, 9.99, 10, 20} {
		want := float64(x)
		switch {
		case x <= -10:
			want = 0
		case x < 10:
			xf := float64(tensor.RoundF16(x))
			want = 0.5 * xf * (1 + math.Tanh(math.Sqrt(2/math.Pi)*xf*(1+0.044715*xf*xf)))
		}
		if got := gelu(x); !near(float64(got), want, 1e-3*math.Max(1, math.Abs(want))) {
			t.Errorf("gelu(%g) = %g, want %g", x, got, want)
		}
	}
}

// minimalGGUF returns a GGUF v3 file with the given string metadata and no tensors.
func minimalGGUF(kv map[string]string) []byte {
	var b bytes.Buffer
	b.WriteString("GGUF")
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { w(uint64(len(s))); b.WriteString(s) }
	w(uint32(3))
	w(uint64(0))
	w(uint64(len(kv)))
	keys := make([]string, 0, len(kv))
	for k := range kv {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		str(k)
		w(uint32(gguf.TypeString))
		str(kv[k])
	}
	return b.Bytes()
}

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		kv   map[string]string
		want string
	}{
		{"unsupported", map[string]string{"general.architecture": "mamba"}, "unsupported architecture"},
		{"no architecture", map[string]string{}, "unsupported architecture"},
		{"no hyperparameters", map[string]string{"general.architecture": "llama"}, "embedding_length"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := gguf.Parse(tc.name, minimalGGUF(tc.kv))
			if err != nil {
				t.Fatal(err)
			}
			_, err = Load(f)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Load: %v, want error containing %q", err, tc.want)
			}
		})
	}
}

func loadFixture(t testing.TB, rel string) Model {
	t.Helper()
	f, err := gguf.Open(fixtures.Path(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	m, err := Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestCache checks that a batch, token-by-token evaluation and re-use of a
// truncated cache give identical logits, and the error cases of Forward.
func TestCache(t *testing.T) {
	for _, rel := range []string{"models/stories260K.gguf", "models/tiny/gemma2-tiny.gguf"} {
		t.Run(rel, func(t *testing.T) {
			m := loadFixture(t, rel)
			nv := m.Config().VocabSize
			// 24 tokens: longer than gemma2-tiny's window of 16.
			toks := make([]int32, 24)
			for i := range toks {
				toks[i] = int32(1 + (i*37)%(nv-1))
			}
			c := m.NewCache(len(toks))
			out, err := m.Forward(c, toks, true)
			if err != nil {
				t.Fatal(err)
			}
			batch := slices.Clone(out)
			if c.Len() != len(toks) {
				t.Fatalf("Len %d after %d tokens", c.Len(), len(toks))
			}
			if _, err := m.Forward(c, toks[:1], false); err == nil {
				t.Error("Forward on a full cache: no error")
			}
			if err := c.Truncate(5); err != nil {
				t.Fatal(err)
			}
			for i := 5; i < len(toks); i++ {
				out, err := m.Forward(c, toks[i:i+1], false)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(out, batch[i*nv:(i+1)*nv]) {
					t.Fatalf("position %d: token-by-token logits differ from the batch", i)
				}
			}
			c.Reset()
			out, err = m.Forward(c, toks[:3], false)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != nv || !slices.Equal(out, batch[2*nv:3*nv]) {
				t.Fatal("last-row logits after Reset differ from the batch")
			}
			if err := c.Truncate(4); err == nil {
				t.Error("Truncate beyond Len: no error")
			}
			for _, bad := range [][]int32{{-1}, {int32(nv)}, {}} {
				if _, err := m.Forward(c, bad, false); err == nil {
					t.Errorf("Forward(%v): no error", bad)
				}
			}
			if c.Len() != 3 {
				t.Errorf("failed calls changed the cache length to %d", c.Len())
			}
		})
	}
}

// TestForwardAllocs checks that decoding a token allocates nothing once
// the buffers exist.
func TestForwardAllocs(t *testing.T) {
	m := loadFixture(t, "models/tiny/llama-tiny.gguf")
	c := m.NewCache(8)
	if _, err := m.Forward(c, []int32{1, 2, 3}, true); err != nil {
		t.Fatal(err)
	}
	tok := []int32{42}
	allocs := testing.AllocsPerRun(20, func() {
		if err := c.Truncate(3); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Forward(c, tok, false); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%g allocations per decoded token", allocs)
	}
}

// TestAttentionKernels checks the one-row F16 kernel and the float32 kernel
// against a float64 reference on random data: both within F16 precision,
// the float32 one much closer. Head sizes cover the scalar-only (16) and
// AVX-512-lane (128 = 2×64) dot products, with and without soft-capping.
func TestAttentionKernels(t *testing.T) {
	rnd := uint64(12345)
	next := func() float32 { // uniform in [-1, 1)
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return float32(int64(rnd>>11))/float32(1<<52) - 1
	}
	tab := f16Table()
	for _, tc := range []struct {
		hd      int
		softcap float32
	}{{16, 0}, {128, 0}, {32, 10}} {
		const n = 40
		kc, vc := make([]uint16, n*tc.hd), make([]uint16, n*tc.hd)
		for i := range kc {
			kc[i], vc[i] = tensor.F32ToF16(2*next()), tensor.F32ToF16(next())
		}
		q := make([]float32, tc.hd)
		for i := range q {
			q[i] = 2 * next()
		}
		scale := float32(1 / math.Sqrt(float64(tc.hd)))
		// float64 reference over positions 3..n-1
		lo, hi := 3, n-1
		w := make([]float64, 0, n)
		var wsum float64
		for p := lo; p <= hi; p++ {
			var s float64
			for i := range q {
				s += float64(q[i]) * float64(tab[kc[p*tc.hd+i]])
			}
			s *= float64(scale)
			if tc.softcap > 0 {
				s = float64(tc.softcap) * math.Tanh(s/float64(tc.softcap))
			}
			w = append(w, math.Exp(s))
			wsum += w[len(w)-1]
		}
		want := make([]float64, tc.hd)
		for p := lo; p <= hi; p++ {
			for i := range want {
				want[i] += w[p-lo] / wsum * float64(tab[vc[p*tc.hd+i]])
			}
		}
		f32, one := make([]float32, tc.hd), make([]float32, tc.hd)
		attention(f32, q, kc, vc, tc.hd, 0, lo, hi, scale, tc.softcap, make([]float32, n))
		attentionOneRow(one, q, kc, vc, tc.hd, 0, lo, hi, scale, tc.softcap, make([]uint16, tc.hd), make([]float32, tc.hd), make([]float32, n), make([]float32, n))
		var d32, d16 float64
		for i := range want {
			d32 = max(d32, math.Abs(float64(f32[i])-want[i]))
			d16 = max(d16, math.Abs(float64(one[i])-want[i]))
		}
		t.Logf("head size %d cap %g: max error float32 kernel %.3g, one-row %.3g", tc.hd, tc.softcap, d32, d16)
		if d32 > 1e-6 || d16 > 2e-3 {
			t.Errorf("head size %d cap %g: max error float32 kernel %.3g (want <= 1e-6), one-row %.3g (want <= 2e-3)", tc.hd, tc.softcap, d32, d16)
		}
	}
}

// BenchmarkDecode measures one decoded token (after a 32-token prompt) and
// a 64-token prompt batch on llama-q256 (n_embd 256, Q4_K_M).
func BenchmarkDecode(b *testing.B) {
	m := loadFixture(b, "models/quant/llama-q256-Q4_K_M.gguf")
	prompt := make([]int32, 64)
	for i := range prompt {
		prompt[i] = int32(1 + i*7)
	}
	c := m.NewCache(128)
	b.Run("token", func(b *testing.B) {
		if _, err := m.Forward(c, prompt[:32], false); err != nil {
			b.Fatal(err)
		}
		tok := []int32{5}
		for b.Loop() {
			c.Truncate(32)
			if _, err := m.Forward(c, tok, false); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("prompt64", func(b *testing.B) {
		for b.Loop() {
			c.Reset()
			if _, err := m.Forward(c, prompt, false); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// expF32Ref is e^x as the one-row kernel computes it (tensor.ExpF32Slice,
// whose scalar and vector forms agree bit for bit).
func expF32Ref(x float32) float32 {
	v := []float32{x}
	tensor.ExpF32Slice(v, v)
	return v[0]
}

// attentionOneRowRef is the scalar form of attentionOneRow (ggml's one-row
// kernel written element by element with the F16 table), kept to check
// that the vectorized kernel gives bit-identical outputs.
func attentionOneRowRef(out, q []float32, kc, vc []uint16, kvStride, off, lo, hi int, scale, cap float32) {
	tab := f16Table()
	hd := len(q)
	qh := make([]float32, hd)
	acc := make([]uint16, hd)
	for i, v := range q {
		qh[i] = tensor.RoundF16(v)
	}
	if cap > 0 {
		scale /= cap
	}
	fma32 := func(a, b, c float32) float32 { return float32(math.FMA(float64(a), float64(b), float64(c))) }
	simd := hd &^ 63
	var sum, m float32 = 0, float32(math.Inf(-1))
	for p := lo; p <= hi; p++ {
		k := kc[p*kvStride+off : p*kvStride+off+hd]
		var lanes [4][16]float32
		for c := 0; c < simd; c += 64 {
			for j := range 4 {
				for l := range 16 {
					e := c + 16*j + l
					lanes[j][l] = fma32(tab[k[e]], qh[e], lanes[j][l])
				}
			}
		}
		var r [16]float32
		for l := range r {
			r[l] = (lanes[0][l] + lanes[2][l]) + (lanes[1][l] + lanes[3][l])
		}
		for w := 8; w >= 1; w /= 2 {
			for l := 0; l < w; l++ {
				r[l] += r[l+w]
			}
		}
		var tail float64
		for i := simd; i < hd; i++ {
			tail += float64(tab[k[i]] * qh[i])
		}
		s := float32(float64(r[0]) + tail)
		if simd == 0 {
			s = float32(tail)
		}
		s *= scale
		if cap > 0 {
			s = cap * tanh32(s)
		}
		ms, vs := float32(1), float32(1)
		if s > m {
			ms = expF32Ref(m - s)
			m = s
			for i, a := range acc {
				acc[i] = tensor.F32ToF16(tab[a] * ms)
			}
		} else {
			vs = expF32Ref(s - m)
		}
		v := vc[p*kvStride+off : p*kvStride+off+hd]
		for i, vv := range v {
			a := tab[acc[i]]
			if i < simd {
				a = fma32(tab[vv], vs, a)
			} else {
				a = a + float32(tab[vv]*vs)
			}
			acc[i] = tensor.F32ToF16(a)
		}
		sum = sum*ms + vs
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	for i, a := range acc {
		out[i] = tab[a] * inv
	}
}

// TestAttentionOneRowMatchesReference checks the vectorized one-row kernel
// bit for bit against its scalar form, for head sizes with and without
// whole 64-element chunks, GQA offsets, windows and soft-capping.
func TestAttentionOneRowMatchesReference(t *testing.T) {
	rnd := uint64(99)
	next := func() float32 {
		rnd = rnd*6364136223846793005 + 1442695040888963407
		return float32(int64(rnd>>11))/float32(1<<52) - 1
	}
	for _, tc := range []struct {
		hd, heads, lo, hi int
		softcap           float32
	}{{64, 2, 0, 0, 0}, {64, 2, 0, 99, 0}, {128, 1, 5, 70, 0}, {80, 3, 0, 40, 0}, {16, 2, 2, 30, 0}, {256, 2, 0, 50, 30}, {96, 1, 0, 63, 50}} {
		stride := tc.hd * tc.heads
		n := tc.hi + 1
		kc, vc := make([]uint16, n*stride), make([]uint16, n*stride)
		for i := range kc {
			kc[i], vc[i] = tensor.F32ToF16(3*next()), tensor.F32ToF16(next())
		}
		q := make([]float32, tc.hd)
		for i := range q {
			q[i] = 2 * next()
		}
		scale := float32(1 / math.Sqrt(float64(tc.hd)))
		for h := range tc.heads {
			got, want := make([]float32, tc.hd), make([]float32, tc.hd)
			attentionOneRow(got, q, kc, vc, stride, h*tc.hd, tc.lo, tc.hi, scale, tc.softcap, make([]uint16, tc.hd), make([]float32, tc.hd), make([]float32, n), make([]float32, n))
			attentionOneRowRef(want, q, kc, vc, stride, h*tc.hd, tc.lo, tc.hi, scale, tc.softcap)
			for i := range want {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("hd %d head %d [%d,%d] cap %g: out[%d] = %g, scalar %g", tc.hd, h, tc.lo, tc.hi, tc.softcap, i, got[i], want[i])
				}
			}
		}
	}
}
