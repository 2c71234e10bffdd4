package grammar

import "testing"

// benchStates are the matcher states the masking benchmarks start from:
// inside a string (nearly every token allowed: the worst case), after an
// opening brace (few allowed), and inside a number.
var benchStates = []struct{ name, prefix string }{
	{"string", `{"key": "some text`},
	{"object-start", `{`},
	{"number", `{"key": 12`},
}

func benchAllowed(b *testing.B, vocab string) {
	v := fixtureVocab(b, vocab)
	mask := make([]bool, v.Size())
	for _, st := range benchStates {
		for _, cached := range []bool{false, true} {
			name := st.name + "/cold"
			if cached {
				name = st.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				c := NewConstraint(JSON(), v)
				c.noCache = !cached
				if !c.Matcher().AcceptString(st.prefix) {
					b.Fatal("prefix rejected")
				}
				n := 0
				for b.Loop() {
					n = c.Allowed(mask)
				}
				b.ReportMetric(float64(n), "allowed")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(v.Size()), "ns/vocab-token")
			})
		}
	}
}

func BenchmarkAllowedLlama32k(b *testing.B) { benchAllowed(b, "llama-tiny.gguf") }
func BenchmarkAllowedQwen150k(b *testing.B) { benchAllowed(b, "qwen2-tiny.gguf") }

// BenchmarkTokenAllowed is the cost of checking one sampled token (the
// fast path: sample first, mask only on rejection).
func BenchmarkTokenAllowed(b *testing.B) {
	v := fixtureVocab(b, "qwen2-tiny.gguf")
	c := NewConstraint(JSON(), v)
	c.Matcher().AcceptString(`{"key": "some text`)
	id := int32(0)
	for i := int32(0); int(i) < v.Size(); i++ {
		if string(v.Piece(i)) == " hello" {
			id = i
		}
	}
	for b.Loop() {
		if !c.TokenAllowed(id) {
			b.Fatal("not allowed")
		}
	}
}

// BenchmarkAccept is the cost of advancing by one token.
func BenchmarkAccept(b *testing.B) {
	v := fixtureVocab(b, "qwen2-tiny.gguf")
	c := NewConstraint(JSON(), v)
	c.Matcher().AcceptString(`{"key": "`)
	id := int32(0)
	for i := int32(0); int(i) < v.Size(); i++ {
		if string(v.Piece(i)) == " hello" {
			id = i
		}
	}
	saved := c.Matcher().Save()
	for b.Loop() {
		c.Matcher().Restore(saved)
		if err := c.Accept(id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkNewVocab is the one-time cost of building the trie.
func BenchmarkNewVocab(b *testing.B) {
	v := fixtureVocab(b, "qwen2-tiny.gguf")
	pieces := v.pieces
	for b.Loop() {
		if _, err := NewVocab(pieces, v.eog); err != nil {
			b.Fatal(err)
		}
	}
}
