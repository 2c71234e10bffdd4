package tokenizer

import (
	"math/rand"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzVocabs are the vocabularies the fuzz and random tests exercise: one
// per algorithm and the pre-tokenizers with the most hand-written logic.
var fuzzVocabs = []string{
	"vocab/ggml-vocab-llama-spm.gguf",
	"vocab/ggml-vocab-qwen2.gguf",
	"vocab/ggml-vocab-gpt-2.gguf",
	"vocab/ggml-vocab-deepseek-llm.gguf",
	"vocab/ggml-vocab-falcon.gguf",
	"vocab/ggml-vocab-bert-bge.gguf",
}

func loadFuzzVocabs(t testing.TB) []*Tokenizer {
	toks := make([]*Tokenizer, len(fuzzVocabs))
	for i, v := range fuzzVocabs {
		toks[i] = loadTokenizer(t, v)
	}
	return toks
}

// checkEncode encodes s every way and checks ids are in range, decoding
// does not fail, and lossless vocabularies give s back.
func checkEncode(t testing.TB, tok *Tokenizer, s string) {
	for _, mode := range [][2]bool{{false, false}, {true, true}} {
		ids := tok.Encode(s, mode[0], mode[1])
		for _, id := range ids {
			if !tok.valid(id) {
				t.Fatalf("%s: Encode(%q) gave out-of-range id %d", tok.model, s, id)
			}
		}
		_ = tok.Detokenize(ids, true, true)
	}
	if roundTrips(tok, s) {
		ids := tok.Encode(s, false, false)
		if got := streamAll(tok, ids); got != s {
			t.Fatalf("%s/%s: decode(encode(%q)) = %q (ids %v)", tok.model, tok.pre, s, got, ids)
		}
	}
}

// FuzzEncode: go test ./tokenizer -run '^$' -fuzz FuzzEncode -fuzztime 45s
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "Hello, y'all! How are you 😁 ?我想在apple工作1314151天～",
		"\n\n\t  x", "3333333", "ied 4 ½ months", "<|im_start|>hi<|im_end|>", "<s> </s>",
		"\xff\xfe bad", "Ⅻ ǅ ǈ\u0301\u0308 \u00a0\u2009\u3000", "'S 'Ll 're", "e\u0301"} {
		f.Add(s)
	}
	toks := loadFuzzVocabs(f)
	f.Fuzz(func(t *testing.T, s string) {
		for _, tok := range toks {
			checkEncode(t, tok, s)
		}
	})
}

// randomText draws from characters that stress the splitters: spaces of
// several kinds, newlines, digits, apostrophes, punctuation and symbols,
// accents, combining marks, CJK, emoji (incl. ZWJ sequences) and, now and
// then, invalid UTF-8.
func randomText(r *rand.Rand) string {
	pieces := []string{" ", "  ", "\t", "\n", "\r\n", "\u00a0", "\u3000", "a", "Z", "hello", "World",
		"0", "42", "1234567", "'", "'s", "'LL", ".", ",", "!?", "$", "+", "<", "`", "~", "|", "(", ")",
		"é", "Ä", "ß", "ǅ", "\u0301", "\u0308", "ё", "Ж", "中", "文字", "한", "ア", "ก", "ا", "½", "²", "Ⅻ",
		"😁", "🦙", "😶\u200d🌫️", "\u2581", "<s>", "<|endoftext|>", "[CLS]", "\x00", "\x7f", "\u0085"}
	var sb strings.Builder
	n := r.Intn(24)
	for range n {
		if r.Intn(40) == 0 {
			sb.WriteByte(byte(0x80 + r.Intn(0x80))) // stray byte
			continue
		}
		if r.Intn(30) == 0 {
			sb.WriteRune(rune(r.Intn(0x30000))) // anything, incl. unassigned
			continue
		}
		sb.WriteString(pieces[r.Intn(len(pieces))])
	}
	return sb.String()
}

// TestRandomEncode is the fuzz property on a fixed random sample, so it
// runs in every test run.
func TestRandomEncode(t *testing.T) {
	toks := loadFuzzVocabs(t)
	r := rand.New(rand.NewSource(1))
	checked := 0
	for range 400 {
		s := randomText(r)
		for _, tok := range toks {
			checkEncode(t, tok, s)
		}
		if utf8.ValidString(s) {
			checked++
		}
	}
	t.Logf("400 random strings (%d valid UTF-8) on %d vocabularies", checked, len(toks))
}
