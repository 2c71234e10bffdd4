package sample

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestMT19937 checks the generator against the C++ standard, which
// requires the 10000th output of a default-constructed std::mt19937 (seed
// 5489) to be 4123659995, and against its well-known first outputs.
func TestMT19937(t *testing.T) {
	m := NewMT19937(5489)
	first := []uint32{3499211612, 581869302, 3890346734, 3586334585, 545404204}
	for i, want := range first {
		if got := m.Uint32(); got != want {
			t.Fatalf("output %d = %d, want %d", i+1, got, want)
		}
	}
	for range 10000 - len(first) - 1 {
		m.Uint32()
	}
	if got := m.Uint32(); got != 4123659995 {
		t.Errorf("10000th output = %d, want 4123659995", got)
	}
	// Float64 combines two outputs, the first as the low part.
	m.Seed(5489)
	want := (3499211612.0 + 581869302.0*(1<<32)) / (1 << 64)
	if got := m.Float64(); got != want {
		t.Errorf("Float64 = %v, want %v", got, want)
	}
	for range 1000 {
		if u := m.Float64(); u < 0 || u >= 1 {
			t.Fatalf("Float64 = %v outside [0, 1)", u)
		}
	}
}

// opts returns options with every filter and penalty off and temperature 1.
func plainOptions() Options {
	o := DefaultOptions()
	o.Seed = 1
	o.TopK, o.TopP, o.MinP, o.TypicalP = 0, 1, 0, 1
	o.RepeatPenalty, o.RepeatLastN = 1, 0
	o.Temperature = 1
	return o
}

func newSampler(t testing.TB, o Options) *Sampler {
	t.Helper()
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// logOf returns natural logs of probabilities, as logits.
func logOf(p ...float64) []float32 {
	l := make([]float32, len(p))
	for i, v := range p {
		l[i] = float32(math.Log(v))
	}
	return l
}

func ids(c []Token) []int32 {
	out := make([]int32, len(c))
	for i, t := range c {
		out[i] = t.ID
	}
	return out
}

func TestGreedy(t *testing.T) {
	cases := []struct {
		name    string
		logits  []float32
		history []int
		want    int
	}{
		{"argmax", []float32{0.1, 3, -1, 2.9}, nil, 1},
		{"tie takes lowest id", []float32{1, 5, 5, 5}, nil, 1},
		{"negative logits", []float32{-3, -1, -2}, nil, 1},
		{"NaN ignored", []float32{float32(math.NaN()), 0.5, 0.25}, nil, 1},
		{"+Inf wins", []float32{1, float32(math.Inf(1)), 2}, nil, 1},
		{"penalties do not apply when greedy", []float32{1, 1.05, 0.2}, []int{1}, 1},
		{"all -Inf", []float32{float32(math.Inf(-1)), float32(math.Inf(-1))}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Temperature = 0
			s := newSampler(t, o)
			for _, h := range tc.history {
				s.Accept(h)
			}
			got, err := s.Sample(tc.logits)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("Sample = %d, want %d", got, tc.want)
			}
		})
	}
	if _, err := newSampler(t, DefaultOptions()).Sample(nil); err == nil {
		t.Error("Sample(nil) succeeded")
	}
}

func TestPenalties(t *testing.T) {
	o := plainOptions()
	o.RepeatLastN = 3
	o.RepeatPenalty = 2
	o.FrequencyPenalty = 0.5
	o.PresencePenalty = 0.25
	s := newSampler(t, o)
	// Token 3 falls out of the 3-token window; 0 is seen twice, 1 once.
	for _, tok := range []int{3, 0, 1, 0} {
		s.Accept(tok)
	}
	s.load([]float32{2, -2, 1, 0.5})
	s.penalize()
	want := []float32{
		2/2.0 - 2*0.5 - 0.25, // positive: divided, then 2 occurrences
		-2*2.0 - 0.5 - 0.25,  // negative: multiplied
		1,                    // never seen
		0.5,                  // left the window
	}
	for i, w := range want {
		if got := s.cand[i].Logit; math.Abs(float64(got-w)) > 1e-6 {
			t.Errorf("token %d logit %v, want %v", i, got, w)
		}
	}
	// Applying twice in a row must not double the penalty.
	s.load([]float32{2, -2, 1, 0.5})
	s.penalize()
	if got := s.cand[0].Logit; got != want[0] {
		t.Errorf("second call: token 0 logit %v, want %v", got, want[0])
	}
	// Reset forgets the history.
	s.Reset()
	s.load([]float32{2, -2, 1, 0.5})
	s.penalize()
	if got := s.cand[0].Logit; got != 2 {
		t.Errorf("after Reset: token 0 logit %v, want 2", got)
	}
	// Tokens beyond the vocabulary of the current logits are ignored.
	s.Accept(100)
	if _, err := s.Sample([]float32{1, 2}); err != nil {
		t.Fatal(err)
	}
}

func TestTopK(t *testing.T) {
	cases := []struct {
		k    int
		want []int32
	}{
		{0, []int32{0, 1, 2, 3, 4}}, // disabled: untouched, unsorted
		{1, []int32{1}},
		{2, []int32{1, 3}}, // 5 and 5: lower id first
		{3, []int32{1, 3, 2}},
		{5, []int32{1, 3, 2, 4, 0}}, // k = n still sorts
		{9, []int32{1, 3, 2, 4, 0}},
	}
	for _, tc := range cases {
		s := newSampler(t, plainOptions())
		s.load([]float32{1, 5, 3, 5, 2})
		s.topK(tc.k)
		if got := ids(s.cand); !slices.Equal(got, tc.want) {
			t.Errorf("top_k %d kept %v, want %v", tc.k, got, tc.want)
		}
	}
}

func TestSelectTopMatchesSort(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 50 {
		n := 1 + r.IntN(3000)
		c := make([]Token, n)
		for i := range c {
			// Few distinct values, so that ties are common.
			c[i] = Token{ID: int32(i), Logit: float32(r.IntN(50))}
		}
		full := slices.Clone(c)
		slices.SortFunc(full, cmpTokens)
		k := 1 + r.IntN(n)
		selectTop(c, k)
		if !slices.Equal(c[:k], full[:k]) {
			t.Fatalf("trial %d: selectTop(%d of %d) differs from a full sort", trial, k, n)
		}
	}
}

func TestTopP(t *testing.T) {
	cases := []struct {
		p       float32
		minKeep int
		want    []int32
	}{
		{1, 0, []int32{0, 1, 2, 3}}, // disabled
		{0.75, 0, []int32{2, 0}},
		{0.85, 0, []int32{2, 0, 1}},
		{0.1, 0, []int32{2}},
		{0.1, 3, []int32{2, 0, 1}},
		{0.999, 0, []int32{2, 0, 1, 3}},
	}
	for _, tc := range cases {
		o := plainOptions()
		o.MinKeep = tc.minKeep
		s := newSampler(t, o)
		s.load(logOf(0.3, 0.15, 0.5, 0.05))
		s.topP(tc.p)
		if got := ids(s.cand); !slices.Equal(got, tc.want) {
			t.Errorf("top_p %v min_keep %d kept %v, want %v", tc.p, tc.minKeep, got, tc.want)
		}
	}
}

// TestTopPLargeVocab checks the partial-sort shortcut on a big unsorted
// list against a plain reference: sort by probability, keep the prefix.
func TestTopPLargeVocab(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, p := range []float32{0.05, 0.5, 0.9, 0.99} {
		logits := make([]float32, 5000)
		for i := range logits {
			logits[i] = float32(r.NormFloat64() * 3)
		}
		s := newSampler(t, plainOptions())
		s.load(logits)
		s.topP(p)

		ref := newSampler(t, plainOptions())
		ref.load(logits)
		ref.softmax(true)
		var cum float32
		n := len(ref.cand)
		for i, c := range ref.cand {
			cum += c.P
			if cum >= p {
				n = i + 1
				break
			}
		}
		if got, want := ids(s.cand), ids(ref.cand[:n]); !slices.Equal(got, want) {
			t.Errorf("top_p %v: kept %d tokens, reference %d", p, len(got), len(want))
		}
	}
}

func TestMinP(t *testing.T) {
	cases := []struct {
		name    string
		p       float32
		minKeep int
		sorted  bool
		want    []int32
	}{
		{"disabled", 0, 0, false, []int32{0, 1, 2, 3}},
		{"unsorted keeps order", 0.2, 0, false, []int32{0, 1, 3}},
		{"sorted", 0.2, 0, true, []int32{1, 3, 0}},
		{"strict", 0.9, 0, false, []int32{1}},
		{"min_keep", 0.9, 2, false, []int32{1, 3}},
	}
	for _, tc := range cases {
		o := plainOptions()
		o.MinKeep = tc.minKeep
		s := newSampler(t, o)
		s.load(logOf(0.15, 0.5, 0.05, 0.3))
		if tc.sorted {
			s.sortAll()
		}
		s.minP(tc.p)
		if got := ids(s.cand); !slices.Equal(got, tc.want) {
			t.Errorf("%s: min_p %v kept %v, want %v", tc.name, tc.p, got, tc.want)
		}
	}
}

// TestTypical uses p = (0.5, 0.3, 0.15, 0.05): entropy H = 1.1421 nats;
// |-ln p - H| = 0.449, 0.062, 0.755, 1.854, so the typical order is ids 1,
// 0, 2, 3 and tokens are kept until their probabilities pass typical_p.
func TestTypical(t *testing.T) {
	cases := []struct {
		p       float32
		minKeep int
		want    []int32
	}{
		{1, 0, []int32{0, 1, 2, 3}},
		{0.2, 0, []int32{1}},
		{0.5, 0, []int32{1, 0}},
		{0.9, 0, []int32{1, 0, 2}},
		{0.2, 3, []int32{1, 0, 2}},
	}
	for _, tc := range cases {
		o := plainOptions()
		o.MinKeep = tc.minKeep
		s := newSampler(t, o)
		s.load(logOf(0.5, 0.3, 0.15, 0.05))
		s.typical(tc.p)
		if got := ids(s.cand); !slices.Equal(got, tc.want) {
			t.Errorf("typical_p %v min_keep %d kept %v, want %v", tc.p, tc.minKeep, got, tc.want)
		}
		if tc.p < 1 && s.sorted {
			t.Error("typical must leave the list marked unsorted")
		}
	}
}

func TestTemperature(t *testing.T) {
	s := newSampler(t, plainOptions())
	s.load([]float32{2, -1, 0.5})
	s.temperature(0.5)
	for i, want := range []float32{4, -2, 1} {
		if s.cand[i].Logit != want {
			t.Errorf("logit %d = %v, want %v", i, s.cand[i].Logit, want)
		}
	}
}

// frequencies draws n tokens and returns how often each id came up.
func frequencies(t *testing.T, s *Sampler, logits []float32, n int) []float64 {
	t.Helper()
	f := make([]float64, len(logits))
	for range n {
		tok, err := s.Sample(logits)
		if err != nil {
			t.Fatal(err)
		}
		f[tok]++
	}
	for i := range f {
		f[i] /= float64(n)
	}
	return f
}

// TestDistribution checks draw frequencies against the softmax over 40000
// draws with a fixed seed (standard error at most 0.0025, allowance 0.01).
func TestDistribution(t *testing.T) {
	p := []float64{0.1, 0.2, 0.3, 0.4}
	cases := []struct {
		name   string
		adjust func(*Options)
		want   []float64
	}{
		{"temperature 1", func(*Options) {}, p},
		// At temperature 0.5 probabilities go as p².
		{"temperature 0.5", func(o *Options) { o.Temperature = 0.5 }, []float64{1.0 / 30, 4.0 / 30, 9.0 / 30, 16.0 / 30}},
		// At temperature 2 as √p.
		{"temperature 2", func(o *Options) { o.Temperature = 2 }, normalize(math.Sqrt(0.1), math.Sqrt(0.2), math.Sqrt(0.3), math.Sqrt(0.4))},
		{"top_k 2", func(o *Options) { o.TopK = 2 }, []float64{0, 0, 3.0 / 7, 4.0 / 7}},
		{"top_p 0.6", func(o *Options) { o.TopP = 0.6 }, []float64{0, 0, 3.0 / 7, 4.0 / 7}},
		{"min_p 0.5", func(o *Options) { o.MinP = 0.5 }, []float64{0, 2.0 / 9, 3.0 / 9, 4.0 / 9}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := plainOptions()
			o.Seed = 42
			tc.adjust(&o)
			got := frequencies(t, newSampler(t, o), logOf(p...), 40000)
			for i := range got {
				if math.Abs(got[i]-tc.want[i]) > 0.01 {
					t.Errorf("token %d drawn %.4f of the time, want %.4f", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func normalize(v ...float64) []float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	for i := range v {
		v[i] /= s
	}
	return v
}

// TestTopKOneIsGreedy compares top_k 1 at a high temperature with greedy
// sampling on random logits.
func TestTopKOneIsGreedy(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	o := DefaultOptions()
	o.Seed = 7
	o.TopK = 1
	o.Temperature = 5
	o.RepeatPenalty = 1 // greedy ignores penalties; compare like with like
	g := DefaultOptions()
	g.Temperature = 0
	sk, sg := newSampler(t, o), newSampler(t, g)
	logits := make([]float32, 1000)
	for range 200 {
		for i := range logits {
			logits[i] = float32(r.NormFloat64())
		}
		a, _ := sk.Sample(logits)
		b, _ := sg.Sample(logits)
		if a != b {
			t.Fatalf("top_k 1 picked %d, greedy %d", a, b)
		}
		sk.Accept(a)
		sg.Accept(b)
	}
}

// run samples n tokens with penalties fed back, from deterministic logits.
func run(t *testing.T, s *Sampler, n int) []int {
	r := rand.New(rand.NewPCG(9, 9))
	logits := make([]float32, 500)
	var out []int
	for range n {
		for i := range logits {
			logits[i] = float32(r.NormFloat64() * 2)
		}
		tok, err := s.Sample(logits)
		if err != nil {
			t.Fatal(err)
		}
		s.Accept(tok)
		out = append(out, tok)
	}
	return out
}

func TestDeterminism(t *testing.T) {
	o := DefaultOptions()
	o.Seed = 1234
	a := run(t, newSampler(t, o), 300)
	b := run(t, newSampler(t, o), 300)
	if !slices.Equal(a, b) {
		t.Error("same seed gave different tokens")
	}
	s := newSampler(t, o)
	run(t, s, 50)
	s.Reset()
	if c := run(t, s, 300); !slices.Equal(a, c) {
		t.Error("Reset did not restart the sequence")
	}
	o.Seed = 1235
	if d := run(t, newSampler(t, o), 300); slices.Equal(a, d) {
		t.Error("different seeds gave identical tokens")
	}
	// A random seed is reported and reproduces the run.
	o.Seed = -1
	rs := newSampler(t, o)
	e := run(t, rs, 100)
	o.Seed = int(rs.Seed())
	if f := run(t, newSampler(t, o), 100); !slices.Equal(e, f) {
		t.Error("rerunning with the reported seed gave different tokens")
	}
}

// TestNoAllocs checks that sampling allocates nothing in steady state, for
// the default chain and for chains that exercise every step.
func TestNoAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	cases := map[string]func(*Options){
		"default":      func(*Options) {},
		"greedy":       func(o *Options) { o.Temperature = 0 },
		"no top_k":     func(o *Options) { o.TopK = 0; o.MinP = 0.01 },
		"typical":      func(o *Options) { o.TypicalP = 0.9; o.TopK = 100 },
		"all freq pen": func(o *Options) { o.FrequencyPenalty = 0.3; o.PresencePenalty = 0.2; o.RepeatLastN = -1 },
	}
	for name, adjust := range cases {
		o := DefaultOptions()
		o.Seed = 3
		adjust(&o)
		s := newSampler(t, o)
		step := func() {
			tok, err := s.Sample(logits)
			if err != nil {
				t.Fatal(err)
			}
			s.Accept(tok)
		}
		for range 5 {
			step()
		}
		if n := testing.AllocsPerRun(50, step); n != 0 {
			t.Errorf("%s: %v allocations per Sample", name, n)
		}
	}
}

func TestOptions(t *testing.T) {
	o := DefaultOptions()
	want := Options{NumCtx: 4096, NumKeep: 4, NumPredict: -1, Seed: -1, Temperature: 0.8, TopK: 40, TopP: 0.9,
		MinP: 0, TypicalP: 1, RepeatLastN: 64, RepeatPenalty: 1.1}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("DefaultOptions = %+v", o)
	}
	// Ollama's JSON names; absent fields keep their defaults.
	raw := `{"temperature":0,"top_k":5,"top_p":0.5,"min_p":0.1,"typical_p":0.7,"repeat_last_n":-1,
		"repeat_penalty":1.3,"presence_penalty":0.4,"frequency_penalty":0.6,"seed":42,"num_predict":128,
		"stop":["\n\n","User:"],"num_ctx":2048}`
	if err := json.Unmarshal([]byte(raw), &o); err != nil {
		t.Fatal(err)
	}
	want = Options{NumCtx: 2048, NumKeep: 4, NumPredict: 128, Seed: 42, Temperature: 0, TopK: 5, TopP: 0.5,
		MinP: 0.1, TypicalP: 0.7, RepeatLastN: -1, RepeatPenalty: 1.3, PresencePenalty: 0.4, FrequencyPenalty: 0.6,
		Stop: []string{"\n\n", "User:"}}
	if !reflect.DeepEqual(o, want) {
		t.Errorf("decoded %+v\nwant    %+v", o, want)
	}
	if err := o.Validate(); err != nil {
		t.Error(err)
	}
	b, _ := json.Marshal(DefaultOptions())
	for _, key := range []string{"temperature", "top_k", "top_p", "min_p", "typical_p", "repeat_last_n", "repeat_penalty",
		"presence_penalty", "frequency_penalty", "seed", "num_predict", "stop", "num_ctx"} {
		if !strings.Contains(string(b), `"`+key+`"`) {
			t.Errorf("JSON lacks %q: %s", key, b)
		}
	}

	bad := []struct {
		adjust func(*Options)
		want   string
	}{
		{func(o *Options) { o.RepeatPenalty = 0 }, "repeat_penalty"},
		{func(o *Options) { o.RepeatPenalty = -1 }, "repeat_penalty"},
		{func(o *Options) { o.Temperature = float32(math.NaN()) }, "temperature"},
		{func(o *Options) { o.TopP = float32(math.Inf(1)) }, "top_p"},
		{func(o *Options) { o.RepeatLastN = -2 }, "repeat_last_n"},
		{func(o *Options) { o.RepeatLastN = -1; o.NumCtx = 0 }, "num_ctx"},
		{func(o *Options) { o.MinKeep = -1 }, "min_keep"},
	}
	for _, tc := range bad {
		o := DefaultOptions()
		tc.adjust(&o)
		if _, err := New(o); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want an error about %s", o, err, tc.want)
		}
	}
}

// BenchmarkSample measures one Sample+Accept over a 32000-token vocabulary
// with Ollama's default options.
func BenchmarkSample(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	logits := make([]float32, 32000)
	for i := range logits {
		logits[i] = float32(r.NormFloat64() * 3)
	}
	for _, name := range []string{"default", "top_k=0"} {
		b.Run(name, func(b *testing.B) {
			o := DefaultOptions()
			o.Seed = 1
			if name == "top_k=0" {
				o.TopK = 0
			}
			s, _ := New(o)
			b.ReportAllocs()
			for b.Loop() {
				tok, _ := s.Sample(logits)
				s.Accept(tok)
			}
		})
	}
}
