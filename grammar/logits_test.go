package grammar

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"strings"
	"sync"
	"testing"
	"time"
)

// This file checks constrained decoding end to end on real vocabularies:
// random schemas from schemaGen, compiled, then decoded with random logits
// through the same sample / check / mask / resample path the engine uses
// (engine.genState.sample). Every output must be complete, parse and
// validate against its schema, and no step may reach a dead end (no token
// allowed while the output is not complete).

// splitmix is a fast deterministic generator for the logits (a full
// vocabulary of random logits per step must be cheap).
type splitmix uint64

func (s *splitmix) next() uint64 {
	*s += 0x9E3779B97F4A7C15
	z := uint64(*s)
	z = (z ^ z>>30) * 0xBF58476D1CE4E5B9
	z = (z ^ z>>27) * 0x94D049BB133111EB
	return z ^ z>>31
}

// float returns a float32 in [0, 1).
func (s *splitmix) float() float32 { return float32(s.next()>>40) / (1 << 24) }

// argmax returns the index of the largest finite logit (-1 if none).
func argmax(logits []float32) int32 {
	best, id := float32(math.Inf(-1)), int32(-1)
	for i, l := range logits {
		if l > best {
			best, id = l, int32(i)
		}
	}
	return id
}

// decodeStats counts what a decode did.
type decodeStats struct {
	steps, masked, checked, finish int
	naturalEnd                     bool // EOG picked by the random logits
}

// logitsBufs holds a decode's vocabulary-sized buffers, reused across
// decodes on the same vocabulary.
type logitsBufs struct {
	logits, masked, bias, noise []float32
	inMask                      []bool
}

func newLogitsBufs(n int) *logitsBufs {
	return &logitsBufs{logits: make([]float32, n), masked: make([]float32, n), bias: make([]float32, n),
		noise: make([]float32, n), inMask: make([]bool, n)}
}

// logitsDecode generates one output under c with random logits: for the
// first randomSteps tokens it picks the argmax of the logits the way the
// engine samples (raw pick; if the constraint refuses it, mask a copy with
// Apply and pick again); after that it finishes the output, still among
// the tokens the constraint allows, by the single-byte token that brings
// the grammar closest to completion (ties broken at random), and EOG as
// soon as it is allowed. Every fifth step the full mask is checked
// against TokenAllowed on random tokens.
//
// The logits of a step are a per-decode bias plus per-decode noise read
// at a random rotation (as random as fresh noise for this purpose, and
// several times cheaper on a 152k vocabulary).
func logitsDecode(c *Constraint, b *logitsBufs, seed uint64, randomSteps int) (string, decodeStats, error) {
	v := c.v
	n := v.size
	rng := splitmix(seed)
	logits, masked, inMask, bias, noise := b.logits[:n], b.masked[:n], b.inMask[:n], b.bias[:n], b.noise[:n]
	// A per-decode preference, as a model has: a random bias on every
	// token, a boost of the EOG tokens (so decodes differ in how they
	// end) and, in half of the decodes, a strong boost of a few short
	// JSON-ish tokens (quotes, escapes, digits, brackets), so that the
	// same structural tokens are tried again and again.
	scale := rng.float()
	for i := range bias {
		bias[i] = scale * rng.float()
		noise[i] = rng.float()
	}
	if rng.next()%2 == 0 {
		for _, fav := range favourites(v) {
			for i := 0; i < 24 && len(fav) > 0; i++ {
				bias[fav[rng.next()%uint64(len(fav))]] += 1 + rng.float()
			}
		}
	}
	eogBoost := rng.float()
	for _, id := range v.eog {
		bias[id] += eogBoost
	}
	var st decodeStats
	var out []byte
	const maxFinish = 6000
	for step := 0; step < randomSteps+maxFinish; step++ {
		st.steps++
		var id int32
		if step < randomSteps {
			off := int(rng.next() % uint64(n))
			for i, x := range noise[off:] {
				logits[i] = bias[i] + x
			}
			for i, x := range noise[:off] {
				logits[n-off+i] = bias[n-off+i] + x
			}
			// The engine's path.
			id = argmax(logits)
			if !c.TokenAllowed(id) {
				st.masked++
				copy(masked, logits)
				if c.Apply(masked) == 0 {
					return string(out), st, fmt.Errorf("dead end after %q: no token allowed", out)
				}
				id = argmax(masked)
				if id < 0 || !c.TokenAllowed(id) {
					return string(out), st, fmt.Errorf("after %q: masked pick %d is refused by TokenAllowed", out, id)
				}
			}
			if step%5 == 0 {
				st.checked++
				if err := checkMask(c, inMask, &rng, id); err != nil {
					return string(out), st, fmt.Errorf("after %q: %v", out, err)
				}
			}
		} else {
			st.finish++
			ids := c.AllowedTokens(nil)
			if len(ids) == 0 {
				return string(out), st, fmt.Errorf("dead end after %q: no token allowed", out)
			}
			var err error
			if id, err = finishPick(c, ids, &rng); err != nil {
				return string(out), st, fmt.Errorf("after %q: %v", out, err)
			}
		}
		if err := c.Accept(id); err != nil {
			return string(out), st, err
		}
		if c.Done() {
			st.naturalEnd = step < randomSteps
			return string(out), st, nil
		}
		out = append(out, v.pieces[id]...)
	}
	return string(out), st, fmt.Errorf("no end after %d tokens: %q", st.steps, out)
}

var favouriteCache sync.Map // *Vocab -> [2][]int32

// favourites returns two sets of short tokens (at most 4 bytes) worth
// repeating: JSON punctuation and whitespace ("\"", "\",", "{\"", "\\"),
// and the letters and digits of escapes and numbers ("u", "00", "d8", "e").
func favourites(v *Vocab) [2][]int32 {
	if f, ok := favouriteCache.Load(v); ok {
		return f.([2][]int32)
	}
	var sets [2][]int32
	only := func(p []byte, chars string) bool {
		for _, b := range p {
			if strings.IndexByte(chars, b) < 0 {
				return false
			}
		}
		return true
	}
	for id, p := range v.pieces {
		if len(p) == 0 || len(p) > 4 || v.isEOG[id] {
			continue
		}
		switch {
		case only(p, "\\\"{}[],: \n\t"):
			sets[0] = append(sets[0], int32(id))
		case only(p, "\\0123456789abcdefABCDEFnrtuU.-+"):
			sets[1] = append(sets[1], int32(id))
		}
	}
	favouriteCache.Store(v, sets)
	return sets
}

// checkMask compares the full mask with TokenAllowed on the picked token
// and 32 random ones.
func checkMask(c *Constraint, inMask []bool, rng *splitmix, picked int32) error {
	if n := c.Allowed(inMask); n == 0 {
		return errors.New("dead end: Allowed gives no token")
	}
	if !inMask[picked] {
		return fmt.Errorf("picked token %d (%q) is not in the mask", picked, c.v.pieces[picked])
	}
	for i := 0; i < 32; i++ {
		id := int32(rng.next() % uint64(c.v.size))
		if c.TokenAllowed(id) != inMask[id] {
			return fmt.Errorf("token %d (%q): TokenAllowed %v, mask %v", id, c.v.pieces[id], !inMask[id], inMask[id])
		}
	}
	return nil
}

// finishPick chooses among the allowed ids: EOG when allowed, else the
// single-byte token with the best finishScore (ties broken at random). It
// fails when no allowed token gets closer to the end.
func finishPick(c *Constraint, ids []int32, rng *splitmix) (int32, error) {
	v := c.v
	if c.Accepting() {
		for _, id := range ids {
			if v.isEOG[id] {
				return id, nil
			}
		}
		return 0, errors.New("accepting, but no EOG token in the mask")
	}
	cur := finishScore(c.m.g, c.m.stacks, c.m.part)
	best, pick, tie := 1<<30, int32(-1), uint64(0)
	try := func(id int32) {
		m := c.m.Clone()
		if !m.Accept(v.pieces[id]) {
			return
		}
		s := finishScore(m.g, m.stacks, m.part)
		if r := rng.next(); s < best || s == best && r > tie {
			best, pick, tie = s, id, r
		}
	}
	for _, id := range ids {
		if len(v.pieces[id]) == 1 {
			try(id)
		}
	}
	if best >= cur {
		for _, id := range ids { // no single-byte token helps: try them all
			if !v.isEOG[id] && len(v.pieces[id]) > 1 {
				try(id)
			}
		}
	}
	if pick < 0 || best >= cur {
		return 0, fmt.Errorf("no allowed token gets closer to the end (%d tokens allowed)", len(ids))
	}
	return pick, nil
}

// logitsResult is what one generated case gave.
type logitsResult struct {
	schema, out string
	recursive   bool
	st          decodeStats
}

// logitsCase generates a schema from src, compiles it and decodes it once
// on v with random logits (seeded by seed, at most maxRandom random
// steps), then validates the output. It returns errUnsupportedSchema
// (wrapped) when the converter reports the schema unsupported up front;
// any other error is a failure of the grammar.
func logitsCase(v *Vocab, b *logitsBufs, src []byte, seed uint64, maxRandom int) (logitsResult, error) {
	schema, recursive := genSchema(src)
	r := logitsResult{schema: string(schema), recursive: recursive}
	g, err := FromSchema(schema)
	if err != nil {
		if errors.Is(err, ErrUnsupported) && strings.HasPrefix(err.Error(), "unsupported schema: ") {
			return r, fmt.Errorf("%w: %s: %v", errUnsupportedSchema, schema, err)
		}
		return r, fmt.Errorf("schema %s: compile error that is not an unsupported-schema error: %v", schema, err)
	}
	val, err := newValidator(string(schema))
	if err != nil {
		return r, fmt.Errorf("schema %s: validator: %v", schema, err)
	}
	randomSteps := int(seed % uint64(maxRandom+1))
	r.out, r.st, err = logitsDecode(NewConstraint(g, v), b, seed, randomSteps)
	if err != nil {
		return r, fmt.Errorf("schema %s (seed %d): %v", schema, seed, err)
	}
	if err := val.validateText(r.out); err != nil {
		return r, fmt.Errorf("schema %s (seed %d): output %q does not validate: %v", schema, seed, r.out, err)
	}
	return r, nil
}

var errUnsupportedSchema = errors.New("generated schema reported unsupported")

// TestRandomSchemaLogits runs generated schemas through random-logit
// decoding on the SPM (llama, 32000 tokens with byte fallback) and
// byte-level BPE (qwen2, 151936 tokens) fixture vocabularies.
func TestRandomSchemaLogits(t *testing.T) {
	for k, name := range fixtureVocabs {
		v := fixtureVocab(t, name)
		// 200 schemas on the 32000-token vocabulary, 100 on the
		// 151936-token one (each step costs passes over the logits).
		n := 200
		if v.Size() > 100000 {
			n = 100
		}
		if testing.Short() {
			n /= 8
		}
		bufs := newLogitsBufs(v.Size())
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			rng := rand.New(rand.NewSource(int64(k + 1)))
			var unsupported, recursive, natural, steps, masked, checked, bytes int
			for i := 0; i < n; i++ {
				src := make([]byte, 16+rng.Intn(240))
				rng.Read(src)
				r, err := logitsCase(v, bufs, src, rng.Uint64(), 160)
				if errors.Is(err, errUnsupportedSchema) {
					unsupported++
					t.Logf("unsupported: %v", err)
					continue
				}
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				if i < 3 {
					t.Logf("%s -> %.200q", r.schema, r.out)
				}
				steps += r.st.steps
				masked += r.st.masked
				checked += r.st.checked
				bytes += len(r.out)
				if r.st.naturalEnd {
					natural++
				}
				if r.recursive {
					recursive++
				}
			}
			t.Logf("%d schemas (%d recursive), %d unsupported; %d tokens, %d output bytes, %d masked picks, %d mask checks; %d ended by the logits; %v",
				n, recursive, unsupported, steps, bytes, masked, checked, natural, time.Since(start).Round(time.Millisecond))
			if unsupported > 0 {
				t.Errorf("%d of %d generated schemas were reported unsupported", unsupported, n)
			}
		})
	}
}

// FuzzSchemaLogits: for any input, the generated schema compiles (or is
// reported unsupported up front), and random-logit decoding never reaches
// a dead end and gives an output that validates. An execution takes tens
// of milliseconds, so keep minimization short:
//
//	go test ./grammar -run '^$' -fuzz FuzzSchemaLogits -fuzztime 60s -fuzzminimizetime 5s
func FuzzSchemaLogits(f *testing.F) {
	rng := rand.New(rand.NewSource(11))
	for i := 0; i < 16; i++ {
		src := make([]byte, 8+rng.Intn(120))
		rng.Read(src)
		f.Add(src, rng.Uint64())
	}
	f.Add([]byte{}, uint64(0))
	// Three decodes in four on the 32000-token vocabulary, which is
	// cheaper, one on the 151936-token one.
	small, large := fixtureVocab(f, "llama-tiny.gguf"), fixtureVocab(f, "qwen2-tiny.gguf")
	bufs := newLogitsBufs(max(small.Size(), large.Size()))
	f.Fuzz(func(t *testing.T, src []byte, seed uint64) {
		if len(src) > 512 {
			return
		}
		tm := time.AfterFunc(20*time.Second, func() {
			schema, _ := genSchema(src)
			panic(fmt.Sprintf("slow: %s (seed %d)", schema, seed))
		})
		defer tm.Stop()
		v := small
		if seed%4 == 3 {
			v = large
		}
		_, err := logitsCase(v, bufs, src, seed, 60)
		if errors.Is(err, errUnsupportedSchema) {
			t.Fatalf("generated schema reported unsupported: %v", err)
		}
		if err != nil {
			t.Fatal(err)
		}
	})
}
