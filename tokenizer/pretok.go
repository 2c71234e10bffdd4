package tokenizer

// Pre-tokenization for byte-level BPE: the text is cut into "words" by a
// sequence of split steps, each a regular expression from the model's
// tokenizer.json. llama.cpp runs them one after the other: every step
// re-splits each fragment produced so far, and both the matches and the
// text between matches become fragments. Steps work on codepoints.
//
// Go's regexp cannot express these patterns (lookahead, and llama.cpp's own
// way of mapping \p{..} categories and \s), so each one is a small
// hand-written matcher that follows the semantics llama.cpp gets from its
// custom splitters or from std::regex (leftmost match, first alternative
// that succeeds, greedy quantifiers).

// splitStep re-splits fragments (given as codepoint counts) of cpts.
type splitStep func(cpts []uint32, frags []int) []int

// splitWords runs the steps over text and returns the words.
func splitWords(text string, steps []splitStep) [][]uint32 {
	cpts := decodeCpts(text)
	if len(cpts) == 0 {
		return nil
	}
	frags := []int{len(cpts)}
	for _, st := range steps {
		frags = st(cpts, frags)
	}
	words := make([][]uint32, 0, len(frags))
	start := 0
	for _, n := range frags {
		words = append(words, cpts[start:start+n])
		start += n
	}
	return words
}

// fragmentCutter collects token ends inside one fragment.
type fragmentCutter struct {
	out  []int
	prev int
}

func (c *fragmentCutter) cut(end int) int {
	n := end - c.prev
	if n > 0 {
		c.out = append(c.out, n)
	}
	c.prev = end
	return n
}

// customSplit adapts a matcher that walks one fragment [ini,end) and cuts it.
func customSplit(walk func(cpts []uint32, ini, end int, c *fragmentCutter)) splitStep {
	return func(cpts []uint32, frags []int) []int {
		c := &fragmentCutter{out: make([]int, 0, len(frags))}
		start := 0
		for _, n := range frags {
			c.prev = start
			walk(cpts, start, start+n, c)
			start += n
		}
		return c.out
	}
}

// splitGPT2 implements
//
//	's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
//
// (plus a trailing \s+ catch-all) exactly as llama.cpp's custom GPT-2 splitter.
var splitGPT2 = customSplit(func(cpts []uint32, ini, end int, c *fragmentCutter) {
	get := func(p int) uint32 {
		if p >= ini && p < end {
			return cpts[p]
		}
		return outOfRange
	}
	flags := func(p int) uint16 {
		if p >= ini && p < end {
			return cptFlags(cpts[p])
		}
		return 0
	}
	for pos := ini; pos < end; {
		cpt := get(pos)
		f := flags(pos)
		if cpt == '\'' && pos+1 < end {
			nx := get(pos + 1)
			if nx == 's' || nx == 't' || nx == 'm' || nx == 'd' {
				pos += c.cut(pos + 2)
				continue
			}
			if pos+2 < end {
				nn := get(pos + 2)
				if (nx == 'r' && nn == 'e') || (nx == 'v' && nn == 'e') || (nx == 'l' && nn == 'l') {
					pos += c.cut(pos + 3)
					continue
				}
			}
		}
		f2 := f
		if cpt == ' ' {
			f2 = flags(pos + 1)
		}
		if isLetter(f2) {
			if cpt == ' ' {
				pos++
			}
			for isLetter(f2) {
				pos++
				f2 = flags(pos)
			}
			c.cut(pos)
			continue
		}
		if isNumber(f2) {
			if cpt == ' ' {
				pos++
			}
			for isNumber(f2) {
				pos++
				f2 = flags(pos)
			}
			c.cut(pos)
			continue
		}
		if f2&(cpWhitespace|cpLetter|cpNumber) == 0 && f2 != 0 {
			if cpt == ' ' {
				pos++
			}
			for f2&(cpWhitespace|cpLetter|cpNumber) == 0 && f2 != 0 {
				pos++
				f2 = flags(pos)
			}
			c.cut(pos)
			continue
		}
		nws := 0
		for isSpace(flags(pos + nws)) {
			nws++
		}
		if nws > 1 && get(pos+nws) != outOfRange {
			pos += nws - 1
			c.cut(pos)
			continue
		}
		if nws > 0 {
			pos += nws
			c.cut(pos)
			continue
		}
		pos++
		c.cut(pos)
	}
})

// splitLlama3 returns llama.cpp's custom splitter for
//
//	(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
//
// maxDigits is 3 for llama3 and 1 for qwen2. word is the letter class:
// cpLetter, or cpLetter|cpAccentMark for qwen35 ([\p{L}\p{M}]+ and
// [^\s\p{L}\p{M}\p{N}]).
func splitLlama3(maxDigits int, word uint16) splitStep {
	return customSplit(func(cpts []uint32, ini, end int, c *fragmentCutter) {
		get := func(p int) uint32 {
			if p >= ini && p < end {
				return cpts[p]
			}
			return outOfRange
		}
		flags := func(p int) uint16 {
			if p >= ini && p < end {
				return cptFlags(cpts[p])
			}
			return 0
		}
		for pos := ini; pos < end; {
			cpt := get(pos)
			f := flags(pos)
			if cpt == '\'' && pos+1 < end {
				nx := toLower(get(pos + 1))
				if nx == 's' || nx == 't' || nx == 'm' || nx == 'd' {
					pos += c.cut(pos + 2)
					continue
				}
				if pos+2 < end {
					nn := toLower(get(pos + 2))
					if (nx == 'r' && nn == 'e') || (nx == 'v' && nn == 'e') || (nx == 'l' && nn == 'l') {
						pos += c.cut(pos + 3)
						continue
					}
				}
			}
			// [^\r\n\p{L}\p{N}]?\p{L}+
			if !(cpt == '\r' || cpt == '\n' || isNumber(f)) {
				if f&word != 0 || flags(pos+1)&word != 0 {
					pos++
					for flags(pos)&word != 0 {
						pos++
					}
					c.cut(pos)
					continue
				}
			}
			// \p{N}{1,maxDigits}
			if isNumber(f) {
				ini := pos
				for isNumber(flags(pos)) {
					pos++
					if pos-ini >= maxDigits {
						c.cut(pos)
						ini = pos
					}
				}
				c.cut(pos)
				continue
			}
			// <space>?[^\s\p{L}\p{N}]+[\r\n]*
			f2 := f
			if cpt == ' ' {
				f2 = flags(pos + 1)
			}
			if f2&(cpWhitespace|word|cpNumber) == 0 && f != 0 {
				if cpt == ' ' {
					pos++
				}
				for f2&(cpWhitespace|word|cpNumber) == 0 && f2 != 0 {
					pos++
					f2 = flags(pos)
				}
				for c2 := get(pos); c2 == '\r' || c2 == '\n'; c2 = get(pos) {
					pos++
				}
				c.cut(pos)
				continue
			}
			nws, lastRN := 0, 0
			for isSpace(flags(pos + nws)) {
				if c2 := get(pos + nws); c2 == '\r' || c2 == '\n' {
					lastRN = pos + nws + 1
				}
				nws++
			}
			if lastRN > 0 { // \s*[\r\n]+
				pos = lastRN
				c.cut(pos)
				continue
			}
			if nws > 1 && get(pos+nws) != outOfRange { // \s+(?!\S)
				pos += nws - 1
				c.cut(pos)
				continue
			}
			if nws > 0 { // \s+
				pos += nws
				c.cut(pos)
				continue
			}
			pos++
			c.cut(pos)
		}
	})
}

// Steps below reproduce patterns that llama.cpp hands to std::regex. It
// runs them either on a "collapsed" text (when the pattern uses \p{..}):
// ASCII stays, other whitespace becomes 0x0B and every other codepoint a
// byte naming its category; or on the codepoints with non-ASCII whitespace
// replaced by 0x0B. \s then means the six ASCII spaces \t\n\v\f\r and ' '.

// Collapsed category markers.
const (
	colOther  = 0xD0
	colNumber = 0xD1
	colLetter = 0xD2
	colPunct  = 0xD3
	colAccent = 0xD4
	colSymbol = 0xD5
)

// collapse maps a codepoint as llama.cpp's collapsed text does.
func collapse(c uint32) uint32 {
	if c < 128 {
		return c
	}
	f := cptFlags(c)
	if f&cpWhitespace != 0 {
		return 0x0B
	}
	switch f & cpCategories {
	case cpNumber:
		return colNumber
	case cpLetter:
		return colLetter
	case cpPunctuation:
		return colPunct
	case cpAccentMark:
		return colAccent
	case cpSymbol:
		return colSymbol
	}
	return colOther
}

// wide maps a codepoint as llama.cpp's wide-regex text does.
func wide(c uint32) uint32 {
	if c > 0x7F && cptFlags(c)&cpWhitespace != 0 {
		return 0x0B
	}
	return c
}

// rxSpace is std::regex's \s in the C locale.
func rxSpace(c uint32) bool { return c == ' ' || (c >= '\t' && c <= '\r') }

// Category classes on collapsed text (ASCII members are exactly the ASCII
// characters of that Unicode category).
func colL(c uint32) bool { return c == colLetter || (c < 128 && asciiIs(c, cpLetter)) }
func colN(c uint32) bool { return c == colNumber || (c >= '0' && c <= '9') }
func colP(c uint32) bool { return c == colPunct || (c < 128 && asciiIs(c, cpPunctuation)) }

func asciiIs(c uint32, cat uint16) bool { return cptFlags(c)&cat != 0 }

// regexSplit turns a leftmost-match finder into a split step. find gets the
// mapped codepoints of one fragment and a start index and returns the
// first match [s,e) at or after start (s<0: none). Matches are never empty.
func regexSplit(mapCpt func(uint32) uint32, find func(t []uint32, from int) (int, int)) splitStep {
	return func(cpts []uint32, frags []int) []int {
		out := make([]int, 0, len(frags))
		t := make([]uint32, len(cpts))
		for i, c := range cpts {
			t[i] = mapCpt(c)
		}
		start := 0
		for _, n := range frags {
			frag := t[start : start+n]
			pos := 0
			for pos < n {
				s, e := find(frag, pos)
				if s < 0 {
					break
				}
				if s > pos {
					out = append(out, s-pos)
				}
				out = append(out, e-s)
				pos = e
			}
			if pos < n {
				out = append(out, n-pos)
			}
			start += n
		}
		return out
	}
}

// findRun matches class+ .
func findRun(class func(uint32) bool) func([]uint32, int) (int, int) {
	return func(t []uint32, from int) (int, int) {
		for s := from; s < len(t); s++ {
			if class(t[s]) {
				e := s + 1
				for e < len(t) && class(t[e]) {
					e++
				}
				return s, e
			}
		}
		return -1, -1
	}
}

// findOne matches a single class character.
func findOne(class func(uint32) bool) func([]uint32, int) (int, int) {
	return func(t []uint32, from int) (int, int) {
		for s := from; s < len(t); s++ {
			if class(t[s]) {
				return s, s + 1
			}
		}
		return -1, -1
	}
}

// findSpaceRun matches \s?class+ .
func findSpaceRun(class func(uint32) bool) func([]uint32, int) (int, int) {
	return func(t []uint32, from int) (int, int) {
		for s := from; s < len(t); s++ {
			var b int
			switch {
			case rxSpace(t[s]) && s+1 < len(t) && class(t[s+1]):
				b = s + 1
			case class(t[s]):
				b = s
			default:
				continue
			}
			e := b + 1
			for e < len(t) && class(t[e]) {
				e++
			}
			return s, e
		}
		return -1, -1
	}
}

// findTrailingSpace matches \s+$ .
func findTrailingSpace(t []uint32, from int) (int, int) {
	q := len(t)
	for q > from && rxSpace(t[q-1]) {
		q--
	}
	if q == len(t) {
		return -1, -1
	}
	return q, len(t)
}

// findDigits3 matches [0-9][0-9][0-9] .
func findDigits3(t []uint32, from int) (int, int) {
	d := func(c uint32) bool { return c >= '0' && c <= '9' }
	for s := from; s+3 <= len(t); s++ {
		if d(t[s]) && d(t[s+1]) && d(t[s+2]) {
			return s, s + 3
		}
	}
	return -1, -1
}

// charClass builds a membership test from a bracket-expression body made
// of single characters and a-b ranges (no escapes), e.g. "A-Za-zµ".
func charClass(body string) func(uint32) bool {
	rs := []rune(body)
	type rng struct{ lo, hi uint32 }
	var ranges []rng
	for i := 0; i < len(rs); i++ {
		lo := uint32(rs[i])
		hi := lo
		if i+2 < len(rs) && rs[i+1] == '-' {
			hi = uint32(rs[i+2])
			i += 2
		}
		ranges = append(ranges, rng{lo, hi})
	}
	return func(c uint32) bool {
		for _, r := range ranges {
			if c >= r.lo && c <= r.hi {
				return true
			}
		}
		return false
	}
}

func isCR(c uint32) bool { return c == '\r' || c == '\n' }

// Character classes of the default and falcon patterns:
// [\p{P}\$\+<=>\^~\|]+ and [\p{P}\$\+<=>\^~\|`]+ on collapsed text.
func defaultPunct(c uint32) bool {
	return colP(c) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' || c == '|'
}
func falconPunct(c uint32) bool { return defaultPunct(c) || c == '`' }

// The CJK class shared by the deepseek patterns: [一-龥ࠀ-一가-퟿].
var deepseekCJK = charClass("\u4E00-\u9FA5\u0800-\u4E00\uAC00-\uD7FF")

// deepseekLetters is the letter class of the deepseek-llm pattern.
var deepseekLetters = charClass("A-Za-z\u00B5\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u01BA\u01BC-\u01BF\u01C4-\u0293\u0295-\u02AF\u0370-\u0373\u0376\u0377\u037B-\u037D\u037F\u0386\u0388-\u038A\u038C\u038E-\u03A1\u03A3-\u03F5\u03F7-\u0481\u048A-\u052F\u0531-\u0556\u10A0-\u10C5\u13A0-\u13F5\u13F8-\u13FD\u1C90-\u1CBA\u1CBD-\u1CBF\u1D00-\u1D2B\u1D6B-\u1D77\u1D79-\u1D9A\u1E00-\u1F15\u1F18-\u1F1D\u1F20-\u1F45\u1F48-\u1F4D\u1F50-\u1F57\u1F59\u1F5B\u1F5D\u1F5F-\u1F7D\u1F80-\u1FB4\u1FB6-\u1FBC\u1FBE\u1FC2-\u1FC4\u1FC6-\u1FCC\u1FD0-\u1FD3\u1FD6-\u1FDB\u1FE0-\u1FEC\u1FF2-\u1FF4\u1FF6-\u1FFC\u2102\u2107\u210A-\u2113\u2115\u2119-\u211D\u2124\u2126\u2128\u212A-\u212D\u212F-\u2134\u2139\u213C-\u213F\u2145-\u2149\u214E\u2183\u2184\u2C00-\u2C7B\u2C7E-\u2CE4\u2CEB-\u2CEE\u2CF2\u2CF3\uA640-\uA66D\uA680-\uA69B\uA722-\uA76F\uA771-\uA787\uA78B-\uA78E\uAB70-\uABBF\uFB00-\uFB06\uFB13-\uFB17\uFF21-\uFF3A\uFF41-\uFF5A\U00010400-\U0001044F\U000104B0-\U000104D3\U000104D8-\U000104FB\U00010C80-\U00010CB2\U00010CC0-\U00010CF2\U000118A0-\U000118DF\U0001E900-\U0001E943")

// deepseekPunct is the punctuation class of the deepseek-llm pattern.
var deepseekPunct = charClass("!-/:-~\uFF01-\uFF0F\uFF1A-\uFF5E\u2018-\u201F\u3000-\u3002")

// preSteps returns the split steps for a pre-tokenizer kind, or nil if the
// kind is not implemented.
func preSteps(kind string) []splitStep {
	switch kind {
	case preDefault:
		return []splitStep{
			regexSplit(collapse, findRun(defaultPunct)),
			splitGPT2,
			regexSplit(collapse, findRun(colN)),
			regexSplit(collapse, findDigits3),
		}
	case preLlama3:
		return []splitStep{splitLlama3(3, cpLetter)}
	case preQwen2:
		return []splitStep{splitLlama3(1, cpLetter)}
	case preQwen35:
		return []splitStep{splitLlama3(1, cpLetter|cpAccentMark)}
	case preGPT2:
		return []splitStep{splitGPT2}
	case preStarcoder:
		return []splitStep{regexSplit(collapse, findOne(colN)), splitGPT2}
	case preFalcon:
		return []splitStep{
			regexSplit(collapse, findRun(falconPunct)),
			splitGPT2,
			regexSplit(collapse, findDigits3),
		}
	case preDeepseekLLM:
		return []splitStep{
			regexSplit(wide, findOne(isCR)),
			regexSplit(wide, findSpaceRun(deepseekLetters)),
			regexSplit(wide, findSpaceRun(deepseekPunct)),
			regexSplit(wide, findTrailingSpace),
			regexSplit(wide, findRun(deepseekCJK)),
			regexSplit(collapse, findRun(colN)),
		}
	case preDeepseekCoder:
		return []splitStep{
			regexSplit(wide, findOne(isCR)),
			regexSplit(collapse, findSpaceRun(colL)),
			regexSplit(collapse, findSpaceRun(colP)),
			regexSplit(wide, findRun(deepseekCJK)),
			regexSplit(collapse, findOne(colN)),
		}
	}
	return nil
}
