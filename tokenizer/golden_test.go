package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"golem/internal/fixtures"
)

type goldenLogits struct {
	Model   string `json:"model"`
	AddBOS  bool   `json:"add_bos"`
	NVocab  int    `json:"n_vocab"`
	Prompts []struct {
		Text      string  `json:"text"`
		PromptIDs []int32 `json:"prompt_ids"`
	} `json:"prompts"`
}

type goldenBert struct {
	Model      string `json:"model"`
	Embeddings []struct {
		Text     string  `json:"text"`
		TokenIDs []int32 `json:"token_ids"`
	} `json:"embeddings"`
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// goldenFiles lists golden/*.json with prompts (not quant.json or bert).
func goldenFiles(t *testing.T) []string {
	t.Helper()
	dir := fixtures.Path(t, "golden")
	all, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range all {
		base := filepath.Base(p)
		if base == "quant.json" || base == "bert-tiny.json" {
			continue
		}
		out = append(out, base)
	}
	sort.Strings(out)
	if len(out) == 0 {
		t.Fatal("no golden logits files")
	}
	return out
}

// TestGoldenPromptIDs checks Encode(text, true, false) against the prompt
// ids llama.cpp used for every golden logits file, and that decoding gives
// the text back.
func TestGoldenPromptIDs(t *testing.T) {
	cache := map[string]*Tokenizer{}
	for _, name := range goldenFiles(t) {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			var g goldenLogits
			readJSON(t, fixtures.Path(t, "golden/"+name), &g)
			tok := cache[g.Model]
			if tok == nil {
				tok = loadTokenizer(t, g.Model)
				cache[g.Model] = tok
			}
			if g.NVocab != 0 && tok.VocabSize() != g.NVocab {
				t.Errorf("vocab size %d, golden n_vocab %d", tok.VocabSize(), g.NVocab)
			}
			if tok.AddBOS() != g.AddBOS {
				t.Errorf("AddBOS %v, golden add_bos %v", tok.AddBOS(), g.AddBOS)
			}
			for _, p := range g.Prompts {
				got := tok.Encode(p.Text, true, false)
				if !equalIDs(got, p.PromptIDs) {
					t.Errorf("Encode(%.40q)\n got %v\nwant %v", p.Text, got, p.PromptIDs)
				}
				// llama.cpp keeps the SentencePiece space after a BOS (also
				// with remove_special), so round-trip the ids after BOS.
				ids := p.PromptIDs
				if len(ids) > 0 && ids[0] == tok.BOS() {
					ids = ids[1:]
				}
				if dec := tok.Decode(ids); dec != p.Text {
					t.Errorf("Decode = %q, want %q", dec, p.Text)
				}
				if dec := tok.Decode(p.PromptIDs); tok.AddBOS() && dec != " "+p.Text {
					t.Errorf("Decode with BOS = %q, want %q", dec, " "+p.Text)
				}
			}
		})
	}
}

// TestGoldenBertTokenIDs checks the WordPiece ids of the BERT embeddings.
func TestGoldenBertTokenIDs(t *testing.T) {
	var g goldenBert
	readJSON(t, fixtures.Path(t, "golden/bert-tiny.json"), &g)
	tok := loadTokenizer(t, g.Model)
	if len(g.Embeddings) == 0 {
		t.Fatal("no embeddings in bert-tiny.json")
	}
	for _, e := range g.Embeddings {
		got := tok.Encode(e.Text, true, false)
		if !equalIDs(got, e.TokenIDs) {
			t.Errorf("Encode(%.40q)\n got %v\nwant %v", e.Text, got, e.TokenIDs)
		}
		if got[0] != tok.BOS() || got[len(got)-1] != tok.SEP() {
			t.Errorf("want [CLS] ... [SEP], got %v", got)
		}
	}
}
