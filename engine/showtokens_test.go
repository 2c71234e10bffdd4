package engine

import (
	"testing"

	"golem/internal/fixtures"
	"golem/sample"
)

// TestShowTokens: control tokens named in ShowTokens are written out,
// other control tokens stay invisible, ordinary tokens are unaffected,
// and text held back by the UTF-8 decoder comes out before a shown token.
func TestShowTokens(t *testing.T) {
	r, err := Load(fixtures.Path(t, "models/tiny/qwen3-tiny.gguf"), 64)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := func(s string) int32 {
		ids := r.Tokenizer.Encode(s, false, true)
		if len(ids) != 1 {
			t.Fatalf("%q is %d tokens", s, len(ids))
		}
		return ids[0]
	}
	shown, hidden, word := id("<|im_start|>"), id("<|object_ref_start|>"), id("hello")
	if !r.Tokenizer.IsControl(shown) || !r.Tokenizer.IsControl(hidden) {
		t.Fatal("fixture tokens are not control tokens")
	}
	g, _, err := r.prepare(Request{Prompt: "hi", Raw: true, Options: sample.DefaultOptions(), ShowTokens: []string{"<|im_start|>", "hello", "<no such token>"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.show) != 1 || !g.show[shown] {
		t.Fatalf("show set %v", g.show)
	}
	if got := g.text(shown); got != "<|im_start|>" {
		t.Errorf("shown control token: %q", got)
	}
	if got := g.text(hidden); got != "" {
		t.Errorf("hidden control token: %q", got)
	}
	if got := g.text(word); got != "hello" {
		t.Errorf("ordinary token: %q", got)
	}
	// "𝄞" is two byte-level tokens: the first holds an incomplete UTF-8
	// sequence back; with the second it completes before the shown token.
	e := r.Tokenizer.Encode("𝄞", false, false)
	if len(e) != 2 {
		t.Fatalf("𝄞 is %d tokens", len(e))
	}
	if got := g.text(e[0]); got != "" {
		t.Errorf("half a character emitted: %q", got)
	}
	e = e[1:]
	var out string
	for _, x := range e {
		out += g.text(x)
	}
	out += g.text(shown)
	if out != "𝄞<|im_start|>" {
		t.Errorf("held-back text then shown token: %q (pieces %v)", out, e)
	}
	// Without ShowTokens nothing changes.
	g2, _, _ := r.prepare(Request{Prompt: "hi", Raw: true, Options: sample.DefaultOptions()})
	if got := g2.text(shown); got != "" {
		t.Errorf("control token shown without ShowTokens: %q", got)
	}
}
