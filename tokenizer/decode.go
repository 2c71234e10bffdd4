package tokenizer

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// piece returns the bytes token id stands for, like llama_token_to_piece
// with lstrip 0. Control and unknown tokens give nil unless special.
func (t *Tokenizer) piece(id int32, special bool) []byte {
	if !t.valid(id) {
		return nil
	}
	a := t.attrs[id]
	if !special && a&(attrUnknown|attrControl) != 0 {
		return nil
	}
	text := t.tokens[id]
	switch {
	case a&(attrUnknown|attrControl|attrUserDefined) != 0:
		return []byte(text)
	case a&attrNormal != 0:
		if t.typ == typeBPE && !t.escapeWhitespace {
			return decodeByteLevel(text)
		}
		return []byte(strings.ReplaceAll(text, "\u2581", " "))
	case a&attrByte != 0:
		if b, ok := parseByteToken(text); ok {
			return []byte{b}
		}
	}
	return nil
}

// parseByteToken reads the byte of a "<0xXX>" token.
func parseByteToken(s string) (byte, bool) {
	if len(s) < 5 || s[:3] != "<0x" {
		return 0, false
	}
	var v byte
	for _, c := range []byte(s[3:5]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | (c - '0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | (c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | (c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return v, true
}

// decodeByteLevel undoes the GPT-2 byte-to-unicode mapping. Codepoints
// outside the mapping are rendered as llama.cpp does ("[UNK_BYTE_0x..]").
func decodeByteLevel(text string) []byte {
	byteOnce.Do(initByteMap)
	out := make([]byte, 0, len(text))
	for _, c := range decodeCpts(text) {
		if b, ok := runeToByte[rune(c)]; ok {
			out = append(out, b)
			continue
		}
		out = append(out, "[UNK_BYTE_0x"...)
		for _, x := range appendCpt(nil, c) {
			out = append(out, fmt.Sprintf("%02x", x)...)
		}
		out = append(out, text...)
		out = append(out, ']')
	}
	return out
}

// Piece returns the bytes id decodes to on its own: SentencePiece ▁ become
// spaces, <0xNN> tokens their byte, byte-level BPE tokens their raw bytes.
// Control and unknown tokens give nothing; see PieceSpecial.
func (t *Tokenizer) Piece(id int32) []byte { return t.piece(id, false) }

// PieceSpecial is Piece but renders control and unknown tokens as their
// text (e.g. "<|im_end|>").
func (t *Tokenizer) PieceSpecial(id int32) []byte { return t.piece(id, true) }

// Decode turns ids back into text like llama_detokenize with
// remove_special and unparse_special false: the space SentencePiece adds
// in front of the first word is dropped, and for vocabularies that ask for
// it (clean_up_tokenization_spaces) spaces before punctuation and
// contractions are removed.
func (t *Tokenizer) Decode(ids []int32) string { return t.Detokenize(ids, false, false) }

// Detokenize is llama_detokenize. removeSpecial drops a leading BOS and a
// trailing EOS the vocabulary adds; unparseSpecial renders control tokens.
func (t *Tokenizer) Detokenize(ids []int32, removeSpecial, unparseSpecial bool) string {
	removeSpace := t.addSpacePrefix
	if removeSpecial && t.addBOS && len(ids) > 0 && ids[0] == t.bos {
		removeSpace = false
		ids = ids[1:]
	}
	if removeSpecial && t.addEOS && len(ids) > 0 && ids[len(ids)-1] == t.eos {
		ids = ids[:len(ids)-1]
	}
	var b []byte
	for _, id := range ids {
		p := t.piece(id, unparseSpecial)
		if removeSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
		removeSpace = false
		b = append(b, p...)
	}
	if t.cleanSpaces {
		b = cleanSpaces(b)
	}
	return string(b)
}

// cleanSpaces is llama.cpp's three clean-up passes: drop the space before
// ? ! . , ; drop the spaces around a lone apostrophe; drop the space
// before 's 'm 're 've.
func cleanSpaces(t []byte) []byte {
	if len(t) == 0 {
		return t
	}
	// pass 1
	out := []byte{t[0]}
	for i := 1; i < len(t); i++ {
		x := t[i]
		if t[i-1] == ' ' && (x == '?' || x == '!' || x == '.' || x == ',') {
			out = out[:len(out)-1]
		}
		out = append(out, x)
	}
	// pass 2 (works in place in llama.cpp: a removed next space is zeroed)
	t = out
	out = []byte{t[0]}
	for i := 1; i < len(t); i++ {
		x := t[i]
		if x == '\'' && i+1 < len(t) && t[i-1] == ' ' && t[i+1] == ' ' {
			out = out[:len(out)-1]
			t[i+1] = 0
			out = append(out, x)
			i++
			continue
		}
		out = append(out, x)
	}
	// pass 3
	t = out
	out = []byte{t[0]}
	for i := 1; i < len(t); i++ {
		x := t[i]
		if t[i-1] == ' ' && x == '\'' && i+1 < len(t) {
			x1 := t[i+1]
			switch {
			case x1 == 's' || x1 == 'm':
				out = out[:len(out)-1]
			case i+2 < len(t) && ((x1 == 'r' && t[i+2] == 'e') || (x1 == 'v' && t[i+2] == 'e')):
				out = out[:len(out)-1]
			}
		}
		out = append(out, x)
	}
	return out
}

// StreamDecoder turns a stream of ids into text incrementally. Add returns
// only complete UTF-8: the bytes of a character split across tokens are
// held back until it completes. Concatenating every Add result and Flush
// gives the pieces of all ids joined (without Decode's clean-up of spaces
// before punctuation, which needs to see ahead).
type StreamDecoder struct {
	tok *Tokenizer
	// Special renders control tokens as their text.
	Special bool
	// StripLeadingSpace drops the leading space of the first non-empty
	// piece, as Decode does for SentencePiece vocabularies. NewStreamDecoder
	// sets it from the vocabulary; clear it when decoding a continuation of
	// text already shown.
	StripLeadingSpace bool
	pending           []byte
	started           bool
}

// NewStreamDecoder returns a decoder for a fresh sequence.
func NewStreamDecoder(tok *Tokenizer) *StreamDecoder {
	return &StreamDecoder{tok: tok, StripLeadingSpace: tok.addSpacePrefix}
}

// Add appends the piece of id and returns the text that is now complete.
func (d *StreamDecoder) Add(id int32) string {
	p := d.tok.piece(id, d.Special)
	if !d.started {
		// Like llama_detokenize, only the very first token may lose a space.
		d.started = true
		if d.StripLeadingSpace && len(p) > 0 && p[0] == ' ' {
			p = p[1:]
		}
	}
	d.pending = append(d.pending, p...)
	n := completePrefix(d.pending)
	out := string(d.pending[:n])
	d.pending = append(d.pending[:0], d.pending[n:]...)
	return out
}

// Flush returns whatever is held back (possibly invalid UTF-8) and resets
// the decoder for a new sequence.
func (d *StreamDecoder) Flush() string {
	out := string(d.pending)
	d.pending = d.pending[:0]
	d.started = false
	return out
}

// completePrefix returns the length of b without a trailing incomplete but
// so far valid UTF-8 sequence.
func completePrefix(b []byte) int {
	for k := 1; k <= utf8.UTFMax && k <= len(b); k++ {
		if b[len(b)-k]&0xC0 == 0x80 {
			continue // continuation byte: the lead is further back
		}
		if !utf8.FullRune(b[len(b)-k:]) {
			return len(b) - k
		}
		break
	}
	return len(b)
}
