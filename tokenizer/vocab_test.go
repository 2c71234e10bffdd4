package tokenizer

import (
	"os"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"golem/gguf"
	"golem/internal/fixtures"
)

// loadTokenizer opens a fixture GGUF and builds its tokenizer.
func loadTokenizer(t testing.TB, rel string) *Tokenizer {
	t.Helper()
	f, err := gguf.Open(fixtures.Path(t, rel))
	if err != nil {
		t.Fatalf("open %s: %v", rel, err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatalf("FromGGUF %s: %v", rel, err)
	}
	return tok
}

type vocabCase struct {
	text string
	ids  []int32
}

// readVocabCases parses llama.cpp's test-tokenizer-0 vectors: inputs are
// separated by "\n__ggml_vocab_test__\n" (so each string keeps its own
// trailing newlines, minus the one before the separator) and the .out file
// has one line of space-separated ids per input.
func readVocabCases(t *testing.T, inp, out string) []vocabCase {
	t.Helper()
	raw, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	outRaw, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	const sep = "\n__ggml_vocab_test__\n"
	var texts []string
	s := string(raw)
	for pos := 0; pos < len(s); {
		k := strings.Index(s[pos:], sep)
		if k < 0 {
			texts = append(texts, s[pos:])
			break
		}
		texts = append(texts, s[pos:pos+k])
		pos += k + len(sep)
	}
	lines := strings.Split(string(outRaw), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) != len(texts) {
		t.Fatalf("%s: %d inputs but %d outputs", inp, len(texts), len(lines))
	}
	cases := make([]vocabCase, len(texts))
	for i, line := range lines {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(line) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(v))
		}
	}
	return cases
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestVocabVectors runs llama.cpp's tokenizer test vectors
// (add_special=false, parse_special=false) for every vocabulary we have.
func TestVocabVectors(t *testing.T) {
	tests := []struct{ name, gguf, vectors string }{
		{"bert-bge", "vocab/ggml-vocab-bert-bge.gguf", "vocab/ggml-vocab-bert-bge.gguf"},
		{"deepseek-coder", "vocab/ggml-vocab-deepseek-coder.gguf", "vocab/ggml-vocab-deepseek-coder.gguf"},
		{"deepseek-llm", "vocab/ggml-vocab-deepseek-llm.gguf", "vocab/ggml-vocab-deepseek-llm.gguf"},
		{"falcon", "vocab/ggml-vocab-falcon.gguf", "vocab/ggml-vocab-falcon.gguf"},
		{"gpt-2", "vocab/ggml-vocab-gpt-2.gguf", "vocab/ggml-vocab-gpt-2.gguf"},
		{"llama-spm", "vocab/ggml-vocab-llama-spm.gguf", "vocab/ggml-vocab-llama-spm.gguf"},
		{"mpt", "vocab/ggml-vocab-mpt.gguf", "vocab/ggml-vocab-mpt.gguf"},
		{"phi-3", "vocab/ggml-vocab-phi-3.gguf", "vocab/ggml-vocab-phi-3.gguf"},
		{"refact", "vocab/ggml-vocab-refact.gguf", "vocab/ggml-vocab-refact.gguf"},
		{"starcoder", "vocab/ggml-vocab-starcoder.gguf", "vocab/ggml-vocab-starcoder.gguf"},
		{"llama-bpe", "vocab/ggml-vocab-llama-bpe.gguf", "vocab/ggml-vocab-llama-bpe.gguf"},
		{"qwen2", "vocab/ggml-vocab-qwen2.gguf", "vocab/ggml-vocab-qwen2.gguf"},
		// The tiny qwen2 model carries the real Qwen2 vocabulary.
		{"qwen2-tiny", "models/tiny/qwen2-tiny.gguf", "vocab/ggml-vocab-qwen2.gguf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok := loadTokenizer(t, tc.gguf)
			cases := readVocabCases(t, fixtures.Path(t, tc.vectors+".inp"), fixtures.Path(t, tc.vectors+".out"))
			pass, trips := 0, 0
			for _, c := range cases {
				got := tok.Encode(c.text, false, false)
				if equalIDs(got, c.ids) {
					pass++
				} else {
					t.Errorf("Encode(%q)\n got %v\nwant %v", c.text, got, c.ids)
				}
				if roundTrips(tok, c.text) {
					trips++
					if s := streamAll(tok, c.ids); s != c.text {
						t.Errorf("stream-decoded %v = %q, want %q", c.ids, s, c.text)
					}
				}
			}
			t.Logf("%s: %d/%d cases pass, %d decoded back", tc.name, pass, len(cases), trips)
		})
	}
}

// roundTrips reports whether llama.cpp's tokenization of s is lossless:
// SentencePiece and byte-level BPE on valid UTF-8 whose every byte has a
// token, with no literal ▁ (it decodes to a space) and no special token in
// the text (SentencePiece adds a space after one).
func roundTrips(tok *Tokenizer, s string) bool {
	if tok.typ == typeWPM || !utf8.ValidString(s) {
		return false
	}
	if tok.typ == typeSPM && (strings.Contains(s, "\u2581") || len(tok.partition(s, false)) > 1) {
		return false
	}
	// Bytes without a token (some BPE vocabularies lack control bytes)
	// are dropped by llama.cpp.
	byteOnce.Do(initByteMap)
	for i := 0; i < len(s); i++ {
		if tok.typ == typeBPE {
			if _, ok := tok.toID[string(byteToRune[s[i]])]; !ok {
				return false
			}
		} else if tok.byteToken(s[i]) == null {
			return false
		}
	}
	// Bytes without a token (some BPE vocabularies lack control bytes)
	// are dropped by llama.cpp.
	byteOnce.Do(initByteMap)
	for i := 0; i < len(s); i++ {
		if tok.typ == typeBPE {
			if _, ok := tok.toID[string(byteToRune[s[i]])]; !ok {
				return false
			}
		} else if tok.byteToken(s[i]) == null {
			return false
		}
	}
	return true
}

// streamAll decodes ids through a StreamDecoder.
func streamAll(tok *Tokenizer, ids []int32) string {
	d := NewStreamDecoder(tok)
	var sb strings.Builder
	for _, id := range ids {
		sb.WriteString(d.Add(id))
	}
	sb.WriteString(d.Flush())
	return sb.String()
}
