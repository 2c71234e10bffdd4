package grammar

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand"
	"slices"
	"sync"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/tokenizer"
)

var vocabCache sync.Map // fixture path -> *Vocab

// fixtureVocab loads (once per test binary) the Vocab of a tiny fixture
// model: "llama-tiny.gguf" (32000-token SPM) or "qwen2-tiny.gguf"
// (151936-token byte-level BPE).
func fixtureVocab(t testing.TB, name string) *Vocab {
	t.Helper()
	path := fixtures.Path(t, "models/tiny/"+name)
	if v, ok := vocabCache.Load(path); ok {
		return v.(*Vocab)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatalf("tokenizer %s: %v", name, err)
	}
	v, err := VocabFromTokenizer(tok)
	if err != nil {
		t.Fatal(err)
	}
	vocabCache.Store(path, v)
	return v
}

var fixtureVocabs = []string{"llama-tiny.gguf", "qwen2-tiny.gguf"}

func TestVocabTrie(t *testing.T) {
	pieces := [][]byte{[]byte("ab"), []byte("a"), nil, []byte("abc"), []byte("b"), []byte("ab"), {0xC3}, {0xA9}, []byte("é")}
	v, err := NewVocab(pieces, []int32{2})
	if err != nil {
		t.Fatal(err)
	}
	// Every non-empty piece is reachable in the trie, with its id.
	for id, p := range pieces {
		if len(p) == 0 {
			continue
		}
		n := int32(0)
		for _, b := range p {
			found := false
			for ch := n + 1; ch < v.end[n]; ch = v.end[ch] {
				if v.b[ch] == b {
					n, found = ch, true
					break
				}
			}
			if !found {
				t.Fatalf("piece %q not in trie", p)
			}
		}
		ok := false
		for _, x := range v.toks[v.tokStart[n]:v.tokStart[n+1]] {
			ok = ok || x == int32(id)
		}
		if !ok {
			t.Errorf("token %d not at its node", id)
		}
	}
	if _, err := NewVocab(pieces, []int32{99}); err == nil {
		t.Error("out-of-range EOG accepted")
	}
	// Mask over this vocab for a grammar that needs "é" then "b".
	c := NewConstraint(MustParseGBNF(`root ::= "a" "é"? "b"`), v)
	mask := make([]bool, len(pieces))
	check := func(want ...int) {
		t.Helper()
		n := c.Allowed(mask)
		var got []int
		for i, m := range mask {
			if m {
				got = append(got, i)
			}
		}
		if n != len(want) || len(got) != len(want) {
			t.Fatalf("allowed %v, want %v", got, want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("allowed %v, want %v", got, want)
			}
		}
	}
	check(0, 1, 5) // "ab", "a", "ab"
	if err := c.Accept(1); err != nil {
		t.Fatal(err)
	}
	check(4, 6, 8) // "b", first byte of é, "é"
	if err := c.Accept(6); err != nil {
		t.Fatal(err)
	}
	check(7) // second byte of é
	if err := c.Accept(7); err != nil {
		t.Fatal(err)
	}
	check(4)
	if err := c.Accept(2); err == nil {
		t.Fatal("EOG accepted before completion")
	}
	if err := c.Accept(4); err != nil {
		t.Fatal(err)
	}
	check(2) // only EOG
	if err := c.Accept(2); err != nil || !c.Done() {
		t.Fatal("EOG not accepted at the end")
	}
	if c.Allowed(mask) != 0 {
		t.Error("tokens allowed after EOG")
	}
}

// bruteAllowed decides each token on its own with a cloned Matcher.
func bruteAllowed(c *Constraint, mask []bool) int {
	n := 0
	for id := range mask {
		mask[id] = false
		if c.v.isEOG[id] {
			mask[id] = c.m.Accepting()
		} else if p := c.v.pieces[id]; len(p) > 0 && bytes.IndexByte(p, 0) < 0 {
			mask[id] = c.m.Clone().Accept(p)
		}
		if mask[id] {
			n++
		}
	}
	return n
}

// TestMaskMatchesBruteForce checks the trie walk and TokenAllowed against
// deciding every token separately with a cloned Matcher, at states inside strings, numbers, between members,
// mid-UTF-8 and at the end, for both fixture vocabularies.
func TestMaskMatchesBruteForce(t *testing.T) {
	schema := `{"type":"object","properties":{"name":{"type":"string","maxLength":5},"tags":{"type":"array","items":{"enum":["x","yy"]}},"n":{"type":"integer","minimum":-5,"maximum":300}},"required":["name"]}`
	sg, err := FromSchema([]byte(schema))
	if err != nil {
		t.Fatal(err)
	}
	prefixes := []struct {
		g      *Grammar
		prefix string
	}{
		{JSON(), ""},
		{JSON(), "{"},
		{JSON(), `{"ké`},
		{JSON(), "{\"k\xC3"},
		{JSON(), "{\"k\xE2\x82"},
		{JSON(), `{"k": 12`},
		{JSON(), `{"k": [true, `},
		{JSON(), `{"k": {}}`},
		{sg, `{"name": "ab`},
		{sg, `{"name": "abcde`},
		{sg, `{"name":"a", "tags": ["`},
		{sg, `{"name":"a","n":2`},
		{sg, `{"name":"a"}`},
	}
	for _, name := range fixtureVocabs {
		v := fixtureVocab(t, name)
		fast := make([]bool, v.Size())
		slow := make([]bool, v.Size())
		for _, p := range prefixes {
			c := NewConstraint(p.g, v)
			if !c.Matcher().AcceptString(p.prefix) {
				t.Fatalf("prefix %q rejected", p.prefix)
			}
			nf := c.Allowed(fast)
			ns := bruteAllowed(c, slow)
			if nf != ns {
				t.Errorf("%s %q: trie walk allows %d tokens, brute force %d", name, p.prefix, nf, ns)
			}
			for id := range fast {
				if fast[id] != slow[id] {
					t.Errorf("%s %q: token %d %q: walk %v, brute %v", name, p.prefix, id, v.Piece(int32(id)), fast[id], slow[id])
					break
				}
				if one := c.TokenAllowed(int32(id)); one != slow[id] {
					t.Errorf("%s %q: token %d %q: TokenAllowed %v, brute %v", name, p.prefix, id, v.Piece(int32(id)), one, slow[id])
					break
				}
			}
			if nf == 0 {
				t.Errorf("%s %q: dead end", name, p.prefix)
			}
			t.Logf("%s %-28q allowed %6d", name, p.prefix, nf)
		}
	}
}

// walkSchemas are the five schemas of the random-walk property test.
var walkSchemas = []struct{ name, schema string }{
	{"nested", `{"type":"object","properties":{"id":{"type":"integer","minimum":0,"maximum":999},"user":{"type":"object","properties":{"name":{"type":"string","maxLength":12},"active":{"type":"boolean"},"address":{"type":"object","properties":{"city":{"type":"string","minLength":1,"maxLength":10},"zip":{"type":"string","pattern":"^[0-9]{5}$"}},"required":["city"]}},"required":["name","address"]}},"required":["id","user"]}`},
	{"arrays", `{"type":"object","properties":{"scores":{"type":"array","items":{"type":"number","minimum":0,"maximum":10},"minItems":1,"maxItems":4},"weights":{"type":"array","items":{"type":"number"},"maxItems":3},"matrix":{"type":"array","items":{"type":"array","items":{"type":"integer"},"maxItems":3},"maxItems":3},"tags":{"type":"array","items":{"type":"string","maxLength":6}}},"required":["scores","matrix"]}`},
	{"enums", `{"type":"object","properties":{"color":{"enum":["red","green","blue","ünïcødé"]},"size":{"type":"string","enum":["S","M","L"]},"level":{"enum":[1,2,3,null,true]},"fixed":{"const":"yes"}},"required":["color","size","level","fixed"],"additionalProperties":false}`},
	{"pattern", `{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2,3}-\\d{2,4}$"},"email":{"type":"string","pattern":"^[a-z0-9._]{1,10}@[a-z]{2,8}\\.(com|org|net)$"},"day":{"type":"string","format":"date"}},"required":["code","email","day"]}`},
	{"anyOf", `{"type":"object","properties":{"shape":{"anyOf":[{"type":"object","properties":{"kind":{"const":"circle"},"radius":{"type":"number","minimum":0}},"required":["kind","radius"]},{"type":"object","properties":{"kind":{"const":"rect"},"w":{"type":"integer","minimum":1,"maximum":100},"h":{"type":"integer","minimum":1,"maximum":100}},"required":["kind","w","h"]},{"type":"null"}]},"label":{"anyOf":[{"type":"string","maxLength":8},{"type":"integer"}]}},"required":["shape"],"additionalProperties":{"type":"boolean"}}`},
}

// randomWalk generates one output: random allowed tokens (uniform over
// the allowed set, found by rejection sampling with a full-mask fallback),
// EOG taken with probability 1/2 whenever allowed, and after maxSteps a
// greedy finish (single-byte tokens that shorten the shortest completion
// most) so every walk ends. It fails the test on a dead end.
func randomWalk(t testing.TB, c *Constraint, rng *rand.Rand, byteTok map[byte]int32, maxSteps int) (string, int, bool) {
	v := c.v
	var out []byte
	eog := v.eog[0]
	for step := 0; step < maxSteps+400; step++ {
		if c.Accepting() && (step >= maxSteps || rng.Intn(2) == 0) {
			if err := c.Accept(eog); err != nil {
				t.Fatalf("EOG: %v", err)
			}
			return string(out), step, true
		}
		id := int32(-1)
		if step < maxSteps {
			for try := 0; try < 8 && id < 0; try++ {
				cand := int32(rng.Intn(v.Size()))
				if !v.isEOG[cand] && c.TokenAllowed(cand) {
					id = cand
				}
			}
			if id < 0 {
				all := c.AllowedTokens(nil)
				if len(all) == 0 {
					t.Fatalf("dead end after %q", out)
				}
				var ids []int32
				for _, x := range all {
					if !v.isEOG[x] {
						ids = append(ids, x)
					}
				}
				if len(ids) == 0 {
					continue // only EOG allowed: taken at the loop top
				}
				id = ids[rng.Intn(len(ids))]
			}
		} else {
			best := 1 << 30
			for bi := 0; bi < 256; bi++ {
				b := byte(bi)
				tok, ok := byteTok[b]
				if !ok {
					continue
				}
				st, pt, ok := c.m.g.advance(c.m.stacks, c.m.part, b, nil, nil)
				if ok {
					if r := finishScore(c.m.g, st, pt); r < best {
						best, id = r, tok
					}
				}
			}
			if id < 0 {
				if len(c.AllowedTokens(nil)) == 0 {
					t.Fatalf("dead end after %q", out)
				}
				t.Fatalf("finish: no single byte continues %q", out)
			}
		}
		if err := c.Accept(id); err != nil {
			t.Fatalf("accept %d: %v", id, err)
		}
		out = append(out, v.Piece(id)...)
	}
	return string(out), maxSteps + 400, false
}

// byteTokens maps each byte to a token whose text is that byte alone.
func byteTokens(v *Vocab) map[byte]int32 {
	m := map[byte]int32{}
	for id := int32(0); int(id) < v.Size(); id++ {
		if p := v.Piece(id); len(p) == 1 && !v.IsEOG(id) {
			if _, ok := m[p[0]]; !ok {
				m[p[0]] = id
			}
		}
	}
	return m
}

// TestRandomWalks is the property test: 100 random walks per schema and
// vocabulary; every output must parse as JSON and validate.
func TestRandomWalks(t *testing.T) {
	walks := 100
	if testing.Short() {
		walks = 20
	}
	for _, name := range fixtureVocabs {
		v := fixtureVocab(t, name)
		ascii := byteTokens(v)
		cases := append(walkSchemas[:len(walkSchemas):len(walkSchemas)], struct{ name, schema string }{"format-json", ""})
		for si, s := range cases {
			g, vs := JSON(), `{"type":"object"}`
			if s.schema != "" {
				var err error
				if g, err = FromSchema([]byte(s.schema)); err != nil {
					t.Fatalf("%s: %v", s.name, err)
				}
				vs = s.schema
			}
			val, err := newValidator(vs)
			if err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewSource(int64(1000*si + len(name))))
			total, natural, valid := 0, 0, 0
			const maxSteps = 60
			for w := 0; w < walks; w++ {
				c := NewConstraint(g, v)
				out, steps, ok := randomWalk(t, c, rng, ascii, maxSteps)
				if !ok {
					t.Fatalf("%s/%s walk %d did not finish: %q", name, s.name, w, out)
				}
				if err := val.validateText(out); err != nil {
					t.Fatalf("%s/%s walk %d: output %q invalid: %v", name, s.name, w, out, err)
				}
				valid++
				total += len(out)
				if steps < maxSteps {
					natural++
				}
			}
			t.Logf("%s/%s: %d/%d walks valid (%d ended by a random EOG before the greedy finish), mean %d bytes", name, s.name, valid, walks, natural, total/walks)
		}
	}
}

// TestMaskCache follows random walks with and without the mask cache and
// requires identical allowed sets at every step.
func TestMaskCache(t *testing.T) {
	v := fixtureVocab(t, "llama-tiny.gguf")
	g, err := FromSchema([]byte(walkSchemas[4].schema))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(3))
	for _, gr := range []*Grammar{JSON(), g} {
		c := NewConstraint(gr, v)
		ref := NewConstraint(gr, v)
		ref.noCache = true
		steps := 0
		for step := 0; step < 150 && !c.Done(); step++ {
			steps++
			a := c.AllowedTokens(nil)
			b := ref.AllowedTokens(nil)
			slices.Sort(a)
			slices.Sort(b)
			if !slices.Equal(a, b) {
				t.Fatalf("step %d: cached mask has %d tokens, fresh walk %d", step, len(a), len(b))
			}
			id := a[rng.Intn(len(a))]
			if step > 100 && c.Accepting() {
				id = v.eog[0]
			}
			if err := c.Accept(id); err != nil {
				t.Fatal(err)
			}
			if err := ref.Accept(id); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("mask cache hits: %d of %d steps", c.cacheHits, steps)
	}
}

// TestApplyRandomLogits drives generation the way an engine would: random
// logits, Apply, argmax. The argmax must always be allowed and the output
// must be a JSON object.
func TestApplyRandomLogits(t *testing.T) {
	v := fixtureVocab(t, "llama-tiny.gguf")
	rng := rand.New(rand.NewSource(11))
	logits := make([]float32, v.Size())
	c := NewConstraint(JSON(), v)
	var out []byte
	for step := 0; step < 200 && !c.Done(); step++ {
		for i := range logits {
			logits[i] = rng.Float32()
		}
		if c.Accepting() {
			logits[v.eog[0]] = 2 // a model that wants to stop once it may
		}
		n := c.Apply(logits)
		if n == 0 {
			t.Fatalf("dead end after %q", out)
		}
		best := 0
		finite := 0
		for i, l := range logits {
			if l > logits[best] {
				best = i
			}
			if !math.IsInf(float64(l), -1) {
				finite++
			}
		}
		if finite != n {
			t.Fatalf("Apply kept %d logits but reported %d", finite, n)
		}
		if !c.TokenAllowed(int32(best)) {
			t.Fatalf("argmax %d not allowed", best)
		}
		if err := c.Accept(int32(best)); err != nil {
			t.Fatal(err)
		}
		out = append(out, v.Piece(int32(best))...)
	}
	if c.Done() && !json.Valid(out) {
		t.Fatalf("output %q is not JSON", out)
	}
	t.Logf("done=%v after %d bytes", c.Done(), len(out))
}
