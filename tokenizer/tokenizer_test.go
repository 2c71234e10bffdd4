package tokenizer

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"
	"unicode/utf8"

	"golem/gguf"
)

// buildGGUF writes a tensor-less GGUF v3 holding the given metadata
// (string, bool, uint32, []string values).
func buildGGUF(t *testing.T, kvs [][2]any) *gguf.File {
	t.Helper()
	var b bytes.Buffer
	le := binary.LittleEndian
	str := func(s string) {
		binary.Write(&b, le, uint64(len(s)))
		b.WriteString(s)
	}
	b.WriteString("GGUF")
	binary.Write(&b, le, uint32(3))
	binary.Write(&b, le, uint64(0))
	binary.Write(&b, le, uint64(len(kvs)))
	for _, kv := range kvs {
		str(kv[0].(string))
		switch v := kv[1].(type) {
		case string:
			binary.Write(&b, le, uint32(8))
			str(v)
		case bool:
			binary.Write(&b, le, uint32(7))
			if v {
				b.WriteByte(1)
			} else {
				b.WriteByte(0)
			}
		case uint32:
			binary.Write(&b, le, uint32(4))
			binary.Write(&b, le, v)
		case []string:
			binary.Write(&b, le, uint32(9))
			binary.Write(&b, le, uint32(8))
			binary.Write(&b, le, uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		default:
			t.Fatalf("unsupported test value %T", v)
		}
	}
	f, err := gguf.Parse("test.gguf", b.Bytes())
	if err != nil {
		t.Fatalf("parse test gguf: %v", err)
	}
	return f
}

func TestFromGGUFErrors(t *testing.T) {
	if _, err := FromGGUF(nil); err == nil {
		t.Error("FromGGUF(nil): no error")
	}
	tests := []struct {
		name string
		kvs  [][2]any
		want string
	}{
		{"no model", [][2]any{{"tokenizer.ggml.tokens", []string{"a"}}}, "tokenizer.ggml.model"},
		{"unknown model", [][2]any{{"tokenizer.ggml.model", "t5"}, {"tokenizer.ggml.tokens", []string{"a"}}}, "unsupported tokenizer model"},
		{"unknown pre", [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "nope"},
			{"tokenizer.ggml.tokens", []string{"a"}}, {"tokenizer.ggml.merges", []string{}}}, "unsupported pre-tokenizer"},
		{"no tokens", [][2]any{{"tokenizer.ggml.model", "llama"}}, "tokenizer.ggml.tokens"},
		{"no merges", [][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.pre", "gpt-2"},
			{"tokenizer.ggml.tokens", []string{"a"}}}, "tokenizer.ggml.merges"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := FromGGUF(buildGGUF(t, tc.kvs))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

// TestTinyBPE checks merges, byte-level mapping and special ids on a
// hand-made vocabulary.
func TestTinyBPE(t *testing.T) {
	tokens := []string{"h", "e", "l", "o", "Ġ", "he", "ll", "hell", "hello", "Ġhello", "<|end|>"}
	f := buildGGUF(t, [][2]any{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "gpt-2"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.merges", []string{"h e", "l l", "he ll", "hell o", "Ġ hello"}},
		{"tokenizer.ggml.eos_token_id", uint32(10)},
	})
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	// Without parseSpecial "<|end|>" is text: words "<|", "end", "|>";
	// bytes without a token are dropped, as llama.cpp does.
	if got, want := tok.Encode("hello hello<|end|>", false, false), []int32{8, 9, 1}; !equalIDs(got, want) {
		t.Errorf("Encode = %v, want %v", got, want)
	}
	// <|end|> is an end-of-generation text, so it is made a control token.
	if got, want := tok.Encode("hello<|end|>", false, true), []int32{8, 10}; !equalIDs(got, want) {
		t.Errorf("Encode(parseSpecial) = %v, want %v", got, want)
	}
	if !tok.IsEOG(10) || tok.EOS() != 10 {
		t.Errorf("EOS %d, IsEOG(10) %v", tok.EOS(), tok.IsEOG(10))
	}
	if s := tok.Decode([]int32{8, 9}); s != "hello hello" {
		t.Errorf("Decode = %q", s)
	}
}

func TestSpecialTokens(t *testing.T) {
	tok := loadTokenizer(t, "vocab/ggml-vocab-qwen2.gguf")
	start, ok1 := tok.TokenID("<|im_start|>")
	end, ok2 := tok.TokenID("<|im_end|>")
	if !ok1 || !ok2 {
		t.Fatal("qwen2 vocab lacks <|im_start|>/<|im_end|>")
	}
	text := "<|im_start|>user\nhi<|im_end|>"
	got := tok.Encode(text, false, true)
	if got[0] != start || got[len(got)-1] != end {
		t.Errorf("parseSpecial: %v, want %d ... %d", got, start, end)
	}
	plain := tok.Encode(text, false, false)
	for _, id := range plain {
		if id == start || id == end {
			t.Errorf("without parseSpecial the control token %d was matched: %v", id, plain)
		}
	}
	if tok.Decode(plain) != text {
		t.Errorf("Decode(plain) = %q", tok.Decode(plain))
	}
	if !tok.IsEOG(end) || !tok.IsControl(end) || tok.IsEOG(start) {
		t.Errorf("IsEOG(im_end)=%v IsControl=%v IsEOG(im_start)=%v", tok.IsEOG(end), tok.IsControl(end), tok.IsEOG(start))
	}
	if eot, ok := tok.TokenID("<|endoftext|>"); !ok || !tok.IsEOG(eot) {
		t.Error("<|endoftext|> should end generation")
	}
	if p := tok.Piece(end); len(p) != 0 {
		t.Errorf("Piece(control) = %q, want empty", p)
	}
	if p := string(tok.PieceSpecial(end)); p != "<|im_end|>" {
		t.Errorf("PieceSpecial = %q", p)
	}
	if s := tok.Detokenize(got, false, true); s != text {
		t.Errorf("Detokenize(unparse) = %q, want %q", s, text)
	}

	spm := loadTokenizer(t, "vocab/ggml-vocab-llama-spm.gguf")
	// After a special token SentencePiece adds the space prefix again.
	ids := spm.Encode("<s>Hello", false, true)
	want := append([]int32{spm.BOS()}, spm.Encode("Hello", false, false)...)
	if !equalIDs(ids, want) {
		t.Errorf("SPM Encode(<s>Hello) = %v, want %v", ids, want)
	}
	if spm.Model() != "llama" || tok.Model() != "gpt2" || tok.Pre() != "qwen2" {
		t.Errorf("names: %q %q %q", spm.Model(), tok.Model(), tok.Pre())
	}
}

func TestPieces(t *testing.T) {
	spm := loadTokenizer(t, "vocab/ggml-vocab-llama-spm.gguf")
	nl, ok := spm.TokenID("<0x0A>")
	if !ok || string(spm.Piece(nl)) != "\n" {
		t.Errorf("<0x0A> piece = %q", spm.Piece(nl))
	}
	hello, ok := spm.TokenID("▁Hello")
	if !ok || string(spm.Piece(hello)) != " Hello" {
		t.Errorf("▁Hello piece = %q", spm.Piece(hello))
	}
	if len(spm.Piece(spm.BOS())) != 0 || string(spm.PieceSpecial(spm.BOS())) != "<s>" {
		t.Errorf("BOS pieces %q %q", spm.Piece(spm.BOS()), spm.PieceSpecial(spm.BOS()))
	}
	if spm.Piece(-1) != nil || spm.Piece(int32(spm.VocabSize())) != nil || spm.Token(-5) != "" {
		t.Error("out-of-range ids must give nothing")
	}
	gpt := loadTokenizer(t, "vocab/ggml-vocab-gpt-2.gguf")
	sp, ok := gpt.TokenID("Ġ")
	if !ok || string(gpt.Piece(sp)) != " " {
		t.Errorf("Ġ piece = %q", gpt.Piece(sp))
	}
}

// TestStreamDecoder splits multi-byte characters across tokens.
func TestStreamDecoder(t *testing.T) {
	tests := []struct {
		vocab string
		text  string
	}{
		{"vocab/ggml-vocab-llama-spm.gguf", "Hi 🦙 llama ☕ and ünïcödé 中文"},
		{"vocab/ggml-vocab-qwen2.gguf", "Hi 🦙 llama ☕ and ünïcödé 中文 ༄༅"},
		{"vocab/ggml-vocab-gpt-2.gguf", "🦙🦙 emoji soup 😶‍🌫️"},
	}
	for _, tc := range tests {
		tok := loadTokenizer(t, tc.vocab)
		ids := tok.Encode(tc.text, false, false)
		d := NewStreamDecoder(tok)
		var sb strings.Builder
		split := false
		for _, id := range ids {
			out := d.Add(id)
			if !utf8.ValidString(out) {
				t.Errorf("%s: Add(%d) returned invalid UTF-8 %q", tc.vocab, id, out)
			}
			if p := tok.Piece(id); len(p) > 0 && !utf8.Valid(p) {
				split = true
			}
			sb.WriteString(out)
		}
		sb.WriteString(d.Flush())
		if sb.String() != tc.text {
			t.Errorf("%s: stream = %q, want %q", tc.vocab, sb.String(), tc.text)
		}
		if !split {
			t.Errorf("%s: no token ended inside a character; the test proves nothing", tc.vocab)
		}
	}

	// Byte tokens of one emoji: nothing until the last byte.
	spm := loadTokenizer(t, "vocab/ggml-vocab-llama-spm.gguf")
	d := NewStreamDecoder(spm)
	d.StripLeadingSpace = false
	var outs []string
	for _, b := range []byte("🦙") {
		outs = append(outs, d.Add(spm.byteToken(b)))
	}
	if outs[0] != "" || outs[1] != "" || outs[2] != "" || outs[3] != "🦙" {
		t.Errorf("byte stream outputs %q", outs)
	}
	// An invalid byte is not held forever.
	if out := d.Add(spm.byteToken(0xFF)) + d.Flush(); out != "\xff" {
		t.Errorf("invalid byte: %q", out)
	}
}

func TestCleanSpaces(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"a , b . c ? d !", "a, b. c? d!"},
		{"it ' s", "it's"},
		{"I 'm you 're we 've he 's it 'll 't 'd", "I'm you're we've he's it 'll 't 'd"},
	}
	for _, tc := range tests {
		if got := string(cleanSpaces([]byte(tc.in))); got != tc.want {
			t.Errorf("cleanSpaces(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestConcurrentEncode: a Tokenizer is shared by goroutines.
func TestConcurrentEncode(t *testing.T) {
	tok := loadTokenizer(t, "vocab/ggml-vocab-gpt-2.gguf")
	text := "Concurrent 🦙 tokenization, 1234 times\n\tover."
	want := tok.Encode(text, false, false)
	done := make(chan []int32)
	for range 4 {
		go func() { done <- tok.Encode(text, false, false) }()
	}
	for range 4 {
		if got := <-done; !equalIDs(got, want) {
			t.Errorf("concurrent Encode = %v, want %v", got, want)
		}
	}
}
