package engine

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"golem/chat"
	"golem/internal/fixtures"
)

// TestLogprobs checks the per-token log-probabilities of a greedy run: the
// chosen token is the most likely one, ids are llama.cpp's, and the
// alternatives are sorted and proper probabilities.
func TestLogprobs(t *testing.T) {
	r, exp := loadStories(t)
	var got []TokenLogprobs
	req := Request{Prompt: exp.Prompt, Raw: true, Options: greedy(16), TopLogprobs: 5,
		OnLogprobs: func(lp TokenLogprobs) { got = append(got, lp) }}
	if _, err := r.Generate(context.Background(), req, func(string) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 16 {
		t.Fatalf("%d logprob entries, want 16", len(got))
	}
	for i, lp := range got {
		if lp.ID != exp.GeneratedIDs[i] || len(lp.Top) != 5 || lp.Top[0].ID != lp.ID || lp.Top[0].Logprob != lp.Logprob {
			t.Fatalf("token %d: %+v, llama.cpp id %d", i, lp, exp.GeneratedIDs[i])
		}
		sum := 0.0
		for j, tp := range lp.Top {
			if tp.Logprob > 0 || j > 0 && tp.Logprob > lp.Top[j-1].Logprob {
				t.Errorf("token %d: top %d logprob %v out of order or positive", i, j, tp.Logprob)
			}
			sum += math.Exp(tp.Logprob)
		}
		if sum > 1+1e-9 || string(lp.Piece) != string(r.Tokenizer.Piece(lp.ID)) {
			t.Errorf("token %d: top-5 probability mass %v, piece %q", i, sum, lp.Piece)
		}
	}
}

func TestFormatMessages(t *testing.T) {
	msgs := []chat.Message{{Role: "system", Content: "Be kind."}, {Role: "user", Content: "Hello"}, {Role: "assistant", Content: "Hi!"}, {Role: "user", Content: "Bye"}}
	// Without a chat template the contents are joined.
	r, _ := loadStories(t)
	got, err := r.FormatPrompt(Request{Messages: msgs})
	if err != nil || got != "Be kind.\n\nHello\n\nHi!\n\nBye" {
		t.Errorf("plain conversation %q, %v", got, err)
	}
	// With one, Messages go through it with the template variables.
	q, err := Load(fixtures.Path(t, "models/tiny/qwen2-tiny.gguf"), 256)
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	tools := []any{map[string]any{"type": "function", "function": map[string]any{"name": "lookup"}}}
	got, err = q.FormatPrompt(Request{Messages: msgs, TemplateVars: map[string]any{"tools": tools}})
	if err != nil {
		t.Fatal(err)
	}
	want, err := chat.Apply(q.Template, msgs, true, map[string]any{"tools": tools, "bos_token": string(q.Tokenizer.PieceSpecial(q.Tokenizer.BOS())),
		"eos_token": string(q.Tokenizer.PieceSpecial(q.Tokenizer.EOS()))})
	if err != nil || got != want || !strings.Contains(got, "lookup") || !strings.HasSuffix(got, "<|im_start|>assistant\n") {
		t.Errorf("templated %q, want %q (%v)", got, want, err)
	}
}

func TestEmbedder(t *testing.T) {
	e, err := LoadEmbedder(fixtures.Path(t, "models/tiny/bert-tiny.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	b, err := os.ReadFile(fixtures.Path(t, "golden/bert-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Tolerance struct {
			Max float64 `json:"normalized_max_abs"`
		} `json:"tolerance"`
		Embeddings []struct {
			Text       string    `json:"text"`
			TokenIDs   []int     `json:"token_ids"`
			Normalized []float32 `json:"normalized"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(b, &golden); err != nil {
		t.Fatal(err)
	}
	for i, g := range golden.Embeddings {
		v, n, err := e.Embed(g.Text, false)
		if err != nil || n != len(g.TokenIDs) || len(v) != len(g.Normalized) {
			t.Fatalf("text %d: %d tokens (want %d), %d dims, %v", i, n, len(g.TokenIDs), len(v), err)
		}
		for j := range v {
			if d := math.Abs(float64(v[j] - g.Normalized[j])); d > golden.Tolerance.Max {
				t.Fatalf("text %d dim %d: %v vs llama.cpp %v", i, j, v[j], g.Normalized[j])
			}
		}
	}
	long := strings.Repeat("word ", e.ContextLength()+10)
	if _, _, err := e.Embed(long, false); !errors.Is(err, ErrContextFull) {
		t.Errorf("too long without truncate: %v", err)
	}
	if _, n, err := e.Embed(long, true); err != nil || n != e.ContextLength() {
		t.Errorf("truncated: %d tokens, %v", n, err)
	}
	if _, err := Load(fixtures.Path(t, "models/tiny/bert-tiny.gguf"), 0); err == nil {
		t.Error("Load accepted an embedding model")
	}
	if _, err := LoadEmbedder(fixtures.Path(t, "models/stories260K.gguf")); err == nil {
		t.Error("LoadEmbedder accepted a decoder")
	}
}
