package tokenizer

import (
	"container/heap"
	"strings"
)

// fragment is a piece of the input: either raw text or an already
// recognised special token.
type fragment struct {
	text  string
	token int32 // -1 for text
}

// Encode tokenizes text like llama_tokenize. addSpecial adds BOS/EOS as the
// vocabulary asks (CLS and SEP for BERT). parseSpecial makes control tokens
// written in the text (e.g. "<|im_start|>") map to their ids; user-defined
// tokens are always matched, as in llama.cpp.
func (t *Tokenizer) Encode(text string, addSpecial, parseSpecial bool) []int32 {
	var frags []fragment
	if text != "" {
		frags = t.partition(text, parseSpecial)
	}
	out := make([]int32, 0, len(text)/3+4)
	switch t.typ {
	case typeSPM:
		if addSpecial && t.addBOS && t.bos != null {
			out = append(out, t.bos)
		}
		prevSpecial := true // the first text fragment gets the space prefix
		for _, fr := range frags {
			if fr.token >= 0 {
				out = append(out, fr.token)
				prevSpecial = true
				continue
			}
			s := fr.text
			if t.addSpacePrefix && prevSpecial {
				s = " " + s
			}
			out = t.spm(strings.ReplaceAll(s, " ", "\u2581"), out)
			prevSpecial = false
		}
		if addSpecial && t.addEOS && t.eos != null {
			out = append(out, t.eos)
		}
	case typeBPE:
		if addSpecial && t.addBOS && t.bos != null {
			out = append(out, t.bos)
		}
		for _, fr := range frags {
			if fr.token >= 0 {
				out = append(out, fr.token)
				continue
			}
			out = t.bpe(fr.text, out)
		}
		if addSpecial && t.addEOS && t.eos != null {
			out = append(out, t.eos)
		}
	case typeWPM:
		if addSpecial && t.bos != null {
			out = append(out, t.bos)
		}
		for _, fr := range frags {
			if fr.token >= 0 {
				out = append(out, fr.token)
				continue
			}
			out = t.wpm(fr.text, out)
		}
		if addSpecial && t.sep != null {
			out = append(out, t.sep)
		}
	}
	return out
}

// cSpace is C's isspace in the "C" locale.
func cSpace(b byte) bool { return b == ' ' || (b >= '\t' && b <= '\r') }

// partition cuts text at occurrences of special tokens, longest first.
// Control and unknown tokens are only considered when parseSpecial is set.
func (t *Tokenizer) partition(text string, parseSpecial bool) []fragment {
	frags := []fragment{{text: text, token: -1}}
	for _, id := range t.specials {
		a := t.attrs[id]
		if !parseSpecial && a&(attrControl|attrUnknown) != 0 {
			continue
		}
		tok := t.tokens[id]
		var next []fragment
		changed := false
		for _, fr := range frags {
			if fr.token >= 0 || !strings.Contains(fr.text, tok) {
				next = append(next, fr)
				continue
			}
			changed = true
			rest := fr.text
			for {
				k := strings.Index(rest, tok)
				if k < 0 {
					if rest != "" {
						next = append(next, fragment{text: rest, token: -1})
					}
					break
				}
				left := rest[:k]
				if a&attrLStrip != 0 {
					left = strings.TrimRightFunc(left, func(r rune) bool { return r < 0x80 && cSpace(byte(r)) })
				}
				if left != "" {
					next = append(next, fragment{text: left, token: -1})
				}
				next = append(next, fragment{token: id})
				rest = rest[k+len(tok):]
				if a&attrRStrip != 0 {
					j := 0
					for j < len(rest) && cSpace(rest[j]) {
						j++
					}
					rest = rest[j:]
				}
			}
		}
		if changed {
			frags = next
		}
	}
	return frags
}

// byteToken returns the token of a raw byte for byte fallback: "<0xXX>",
// else the one-byte text, else unk (llama.cpp would abort there).
func (t *Tokenizer) byteToken(b byte) int32 {
	const hex = "0123456789ABCDEF"
	if id, ok := t.toID[string([]byte{'<', '0', 'x', hex[b>>4], hex[b&15], '>'})]; ok {
		return id
	}
	if id, ok := t.toID[string([]byte{b})]; ok {
		return id
	}
	return t.unk
}

// --- SentencePiece BPE ---

type symbol struct {
	prev, next int
	start, n   int // byte span in the text
}

type spmBigram struct {
	left, right int
	score       float32
	size        int
}

type spmQueue []spmBigram

func (q spmQueue) Len() int { return len(q) }
func (q spmQueue) Less(i, j int) bool {
	// Highest score first; on ties the leftmost pair.
	if q[i].score != q[j].score {
		return q[i].score > q[j].score
	}
	return q[i].left < q[j].left
}
func (q spmQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *spmQueue) Push(x any)   { *q = append(*q, x.(spmBigram)) }
func (q *spmQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// spm tokenizes one escaped fragment: start from UTF-8 characters and keep
// merging the adjacent pair whose concatenation is the best-scoring token;
// pieces that are not tokens fall back to byte tokens.
func (t *Tokenizer) spm(text string, out []int32) []int32 {
	if text == "" {
		return out
	}
	var syms []symbol
	for off := 0; off < len(text); {
		n := min(utf8Len(text[off]), len(text)-off)
		idx := len(syms)
		next := idx + 1
		if off+n == len(text) {
			next = -1
		}
		syms = append(syms, symbol{prev: idx - 1, next: next, start: off, n: n})
		off += n
	}
	var q spmQueue
	revMerge := map[string][2]int{}
	tryAdd := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		s := text[syms[l].start : syms[l].start+syms[l].n+syms[r].n]
		id, ok := t.toID[s]
		if !ok {
			return
		}
		heap.Push(&q, spmBigram{left: l, right: r, score: t.scores[id], size: len(s)})
		revMerge[s] = [2]int{l, r}
	}
	for i := 1; i < len(syms); i++ {
		tryAdd(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(&q).(spmBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || l.n+r.n != b.size {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		tryAdd(l.prev, b.left)
		tryAdd(b.left, l.next)
	}
	var reseg func(i int)
	reseg = func(i int) {
		s := text[syms[i].start : syms[i].start+syms[i].n]
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
			return
		}
		if p, ok := revMerge[s]; ok {
			reseg(p[0])
			reseg(p[1])
			return
		}
		for k := 0; k < len(s); k++ {
			if id := t.byteToken(s[k]); id != null {
				out = append(out, id)
			}
		}
	}
	for i := 0; i != -1; i = syms[i].next {
		reseg(i)
	}
	return out
}

// --- byte-level BPE ---

type bpeBigram struct {
	left, right int
	text        string
	rank        int
}

type bpeQueue []bpeBigram

func (q bpeQueue) Len() int { return len(q) }
func (q bpeQueue) Less(i, j int) bool {
	if q[i].rank != q[j].rank {
		return q[i].rank < q[j].rank
	}
	return q[i].left < q[j].left
}
func (q bpeQueue) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *bpeQueue) Push(x any)   { *q = append(*q, x.(bpeBigram)) }
func (q *bpeQueue) Pop() any {
	old := *q
	x := old[len(old)-1]
	*q = old[:len(old)-1]
	return x
}

// bpe pre-tokenizes a fragment into words and merges each word by rank.
func (t *Tokenizer) bpe(text string, out []int32) []int32 {
	for _, w := range splitWords(text, t.steps) {
		word := byteEncode(cptsToString(w))
		out = t.bpeWord(word, out)
	}
	return out
}

func (t *Tokenizer) bpeWord(word string, out []int32) []int32 {
	if t.ignoreMerges {
		if id, ok := t.toID[word]; ok {
			return append(out, id)
		}
	}
	var syms []symbol
	for off := 0; off < len(word); {
		n := min(utf8Len(word[off]), len(word)-off)
		idx := len(syms)
		next := idx + 1
		if off+n == len(word) {
			next = -1
		}
		syms = append(syms, symbol{prev: idx - 1, next: next, start: off, n: n})
		off += n
	}
	str := func(i int) string { return word[syms[i].start : syms[i].start+syms[i].n] }
	var q bpeQueue
	add := func(l, r int) {
		if l < 0 || r < 0 {
			return
		}
		ls, rs := str(l), str(r)
		rank, ok := t.ranks[mergePair{ls, rs}]
		if !ok {
			return
		}
		heap.Push(&q, bpeBigram{left: l, right: r, text: ls + rs, rank: rank})
	}
	for i := 1; i < len(syms); i++ {
		add(i-1, i)
	}
	for q.Len() > 0 {
		b := heap.Pop(&q).(bpeBigram)
		l, r := &syms[b.left], &syms[b.right]
		if l.n == 0 || r.n == 0 || str(b.left)+str(b.right) != b.text {
			continue
		}
		l.n += r.n
		r.n = 0
		l.next = r.next
		if r.next >= 0 {
			syms[r.next].prev = b.left
		}
		add(l.prev, b.left)
		add(b.left, l.next)
	}
	for i := range syms {
		if syms[i].n == 0 {
			continue
		}
		s := str(i)
		if id, ok := t.toID[s]; ok {
			out = append(out, id)
			continue
		}
		for k := 0; k < len(s); k++ {
			if id, ok := t.toID[s[k:k+1]]; ok {
				out = append(out, id)
			}
		}
	}
	return out
}

// --- WordPiece ---

// isChineseChar is BERT's CJK test (with the HF upper bound quirk).
func isChineseChar(c uint32) bool {
	return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
		(c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
		(c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
		(c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F)
}

// wpmWords normalizes (lowercase, strip accents) and splits on whitespace,
// punctuation, ASCII symbols and CJK characters.
func (t *Tokenizer) wpmWords(text string) []string {
	cpts := decodeCpts(text)
	var words []string
	var cur []byte
	flush := func() {
		if len(cur) > 0 {
			words = append(words, string(cur))
			cur = cur[:0]
		}
	}
	for _, c := range cpts {
		if t.stripAccents {
			c = toNFD(c)
		}
		f := cptFlags(c)
		if f&cpWhitespace != 0 {
			flush()
			continue
		}
		if c == 0 || c == replacementChar || f&cpControl != 0 {
			continue
		}
		if t.stripAccents && f&cpAccentMark != 0 {
			continue
		}
		lc := c
		if t.lowercase {
			lc = toLower(c)
		}
		if f&cpPunctuation != 0 || (c < 0x7F && f&cpSymbol != 0) || isChineseChar(c) {
			flush()
			words = append(words, string(appendCpt(nil, lc)))
			continue
		}
		cur = appendCpt(cur, lc)
	}
	flush()
	return words
}

// wpm tokenizes a fragment by greedy longest match per word, the word
// prefixed with ▁ (llama.cpp's GGUF stores word-initial pieces as ▁piece
// and continuation pieces without ##). A word with an unmatched position
// becomes [UNK].
func (t *Tokenizer) wpm(text string, out []int32) []int32 {
	for _, w := range t.wpmWords(text) {
		word := "\u2581" + w
		n := len(word)
		mark := len(out)
		for i := 0; i < n; i++ {
			matched := false
			for j := min(n, i+t.maxTokenLen+1); j > i; j-- {
				if id, ok := t.toID[word[i:j]]; ok {
					out = append(out, id)
					matched = true
					i = j - 1
					break
				}
			}
			if !matched {
				out = out[:mark]
				break
			}
		}
		if len(out) == mark && t.unk != null {
			out = append(out, t.unk)
		}
	}
	return out
}
