package grammar

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// patternToGBNF converts a JSON Schema "pattern" into a GBNF expression
// matching the pattern's strings as they appear inside a JSON string (with
// '"', '\' and control characters escaped). charRule names the rule for
// one arbitrary JSON string character, used for unanchored ends: as in JSON
// Schema a pattern matches anywhere unless anchored with ^ and $.
//
// Supported subset (RE2/ECMAScript syntax): literals, escapes \n \r \t \f
// \v \xHH \uHHHH and escaped punctuation, classes [...] / [^...] with
// ranges and \d \w \s (and \D \W \S outside classes), '.', groups (...),
// (?:...), named groups, alternation '|', quantifiers * + ? {m} {m,} {m,n}
// (lazy forms accepted, same language), and ^ / $ at the ends. Not
// supported (error): backreferences, lookaround, word boundaries, flags,
// possessive quantifiers, anchors in the middle.
func patternToGBNF(pat, charRule string) (string, error) {
	if !utf8.ValidString(pat) {
		return "", fmt.Errorf("pattern is not valid UTF-8")
	}
	p := &reParser{src: []rune(pat)}
	anchoredStart := len(p.src) > 0 && p.src[0] == '^'
	if anchoredStart {
		p.pos++
	}
	end := len(p.src)
	// A final '$' is an anchor unless escaped, i.e. preceded by an odd
	// number of backslashes (`a\\$` is "a", a backslash, then the end).
	slashes := 0
	for i := end - 2; i >= p.pos && p.src[i] == '\\'; i-- {
		slashes++
	}
	anchoredEnd := end > p.pos && p.src[end-1] == '$' && slashes%2 == 0
	if anchoredEnd {
		p.src = p.src[:end-1]
	}
	e, err := p.alt()
	if err != nil {
		return "", err
	}
	if p.pos < len(p.src) {
		return "", fmt.Errorf("pattern %q: unexpected %q at offset %d", pat, p.src[p.pos], p.pos)
	}
	out := "(" + e.g + ")"
	if !anchoredStart {
		out = charRule + "* " + out
	}
	if !anchoredEnd {
		out += " " + charRule + "*"
	}
	return out, nil
}

type reParser struct {
	src []rune
	pos int
}

func (p *reParser) errf(format string, args ...any) error {
	return fmt.Errorf("pattern offset %d: %s", p.pos, fmt.Sprintf(format, args...))
}

// reExpr is a parsed regular expression: its GBNF, whether it matches
// the empty string, and (when it does) a way to build the GBNF of its
// non-empty strings. GBNF, like llama.cpp's, refuses to repeat without
// bound an item that can be empty (x* is a right-recursive rule, which
// would then be left-recursive), so an unbounded repetition of a nullable
// x is written as a repetition of x's non-empty part: the same language.
type reExpr struct {
	g        string
	nullable bool
	ne       func() string // nullable only: GBNF of the non-empty strings, "" when there are none
}

// nonEmpty returns the GBNF of e's non-empty strings ("" when none).
func (e reExpr) nonEmpty() string {
	if !e.nullable {
		return e.g
	}
	return e.ne()
}

// maxPatternGBNF bounds the GBNF of one pattern, which rewriting
// repetitions of nullable items could otherwise grow without limit.
const maxPatternGBNF = 1 << 16

func (p *reParser) alt() (reExpr, error) {
	var alts []reExpr
	for {
		s, err := p.seq()
		if err != nil {
			return reExpr{}, err
		}
		alts = append(alts, s)
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			continue
		}
		break
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	gs := make([]string, len(alts))
	e := reExpr{}
	for i, a := range alts {
		gs[i] = a.g
		e.nullable = e.nullable || a.nullable
	}
	e.g = "(" + strings.Join(gs, " | ") + ")"
	e.ne = func() string {
		var nes []string
		for _, a := range alts {
			if n := a.nonEmpty(); n != "" {
				nes = append(nes, n)
			}
		}
		if len(nes) == 0 {
			return ""
		}
		return "(" + strings.Join(nes, " | ") + ")"
	}
	return e, nil
}

func (p *reParser) seq() (reExpr, error) {
	var items []reExpr
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '|' || c == ')' {
			break
		}
		var e reExpr
		if c == '(' {
			g, err := p.group()
			if err != nil {
				return reExpr{}, err
			}
			e = g
		} else {
			a, err := p.atom()
			if err != nil {
				return reExpr{}, err
			}
			e = reExpr{g: a}
		}
		e, err := p.quant(e)
		if err != nil {
			return reExpr{}, err
		}
		items = append(items, e)
	}
	if len(items) == 0 {
		return reExpr{g: `""`, nullable: true, ne: func() string { return "" }}, nil
	}
	if len(items) == 1 {
		return items[0], nil
	}
	gs := make([]string, len(items))
	e := reExpr{nullable: true}
	for i, it := range items {
		gs[i] = it.g
		e.nullable = e.nullable && it.nullable
	}
	e.g = strings.Join(gs, " ")
	// Every item can be empty: a non-empty string has a first non-empty
	// item i, after empty items 0..i-1.
	e.ne = func() string {
		var terms []string
		for i, it := range items {
			if n := it.nonEmpty(); n != "" {
				terms = append(terms, strings.TrimSpace("("+n+") "+strings.Join(gs[i+1:], " ")))
			}
		}
		if len(terms) == 0 {
			return ""
		}
		return "(" + strings.Join(terms, " | ") + ")"
	}
	return e, nil
}

// quant applies the quantifiers that follow an atom.
func (p *reParser) quant(a reExpr) (reExpr, error) {
	for p.pos < len(p.src) {
		lo, hi := 0, -1 // hi -1: unbounded
		switch p.src[p.pos] {
		case '*':
			p.pos++
		case '+':
			lo = 1
			p.pos++
		case '?':
			hi = 1
			p.pos++
		case '{':
			close := -1
			for i := p.pos; i < len(p.src); i++ {
				if p.src[i] == '}' {
					close = i
					break
				}
			}
			if close < 0 {
				return reExpr{}, p.errf("unterminated {")
			}
			inner := string(p.src[p.pos+1 : close])
			parts := strings.SplitN(inner, ",", 2)
			var err error
			lo, err = strconv.Atoi(parts[0])
			if err != nil || lo < 0 || lo > maxRepeat {
				return reExpr{}, p.errf("bad repetition {%s}", inner)
			}
			hi = lo
			if len(parts) == 2 {
				hi = -1
				if parts[1] != "" {
					hi, err = strconv.Atoi(parts[1])
					if err != nil || hi < lo || hi > maxRepeat {
						return reExpr{}, p.errf("bad repetition {%s}", inner)
					}
				}
			}
			p.pos = close + 1
		default:
			return a, nil
		}
		if p.pos < len(p.src) && p.src[p.pos] == '?' {
			p.pos++ // lazy: same language
		} else if p.pos < len(p.src) && p.src[p.pos] == '+' {
			return reExpr{}, p.errf("possessive quantifiers are not supported")
		}
		var err error
		if a, err = repeat(a, lo, hi); err != nil {
			return reExpr{}, p.errf("%v", err)
		}
	}
	return a, nil
}

// repeat returns a{lo,hi} (hi -1: unbounded).
func repeat(a reExpr, lo, hi int) (reExpr, error) {
	if a.nullable && hi < 0 {
		// a{lo,} = a* when a can be empty = (non-empty a)*.
		n := a.nonEmpty()
		if len(n) > maxPatternGBNF {
			return reExpr{}, fmt.Errorf("pattern too complex (repetition of an item that can be empty)")
		}
		if n == "" {
			return reExpr{g: `""`, nullable: true, ne: func() string { return "" }}, nil
		}
		return reExpr{g: "(" + n + ")*", nullable: true, ne: func() string { return "(" + n + ")+" }}, nil
	}
	q := fmt.Sprintf("{%d,%d}", lo, hi)
	switch {
	case lo == 0 && hi < 0:
		q = "*"
	case lo == 1 && hi < 0:
		q = "+"
	case lo == 0 && hi == 1:
		q = "?"
	case hi < 0:
		q = fmt.Sprintf("{%d,}", lo)
	case lo == hi:
		q = fmt.Sprintf("{%d}", lo)
	}
	e := reExpr{g: "(" + a.g + ")" + q, nullable: a.nullable || lo == 0 || hi == 0}
	if e.nullable {
		// A non-empty string of a{0..hi}: drop the empty copies before the
		// first non-empty one, which leaves at most hi-1 copies after it.
		e.ne = func() string {
			n := a.nonEmpty()
			if n == "" || hi == 0 {
				return ""
			}
			switch {
			case hi < 0:
				return "(" + n + ") (" + a.g + ")*"
			case hi == 1:
				return "(" + n + ")"
			}
			return fmt.Sprintf("(%s) (%s){0,%d}", n, a.g, hi-1)
		}
	}
	return e, nil
}

// group parses a parenthesized group (capturing, non-capturing or
// named).
func (p *reParser) group() (reExpr, error) {
	p.pos++
	if p.pos < len(p.src) && p.src[p.pos] == '?' {
		rest := string(p.src[p.pos:])
		switch {
		case strings.HasPrefix(rest, "?:"):
			p.pos += 2
		case strings.HasPrefix(rest, "?P<") || strings.HasPrefix(rest, "?<") && !strings.HasPrefix(rest, "?<=") && !strings.HasPrefix(rest, "?<!"):
			i := strings.IndexRune(rest, '>')
			if i < 0 {
				return reExpr{}, p.errf("unterminated group name")
			}
			p.pos += utf8.RuneCountInString(rest[:i+1])
		default:
			return reExpr{}, p.errf("lookaround and inline flags are not supported")
		}
	}
	body, err := p.alt()
	if err != nil {
		return reExpr{}, err
	}
	if p.pos >= len(p.src) || p.src[p.pos] != ')' {
		return reExpr{}, p.errf("missing )")
	}
	p.pos++
	body.g = "(" + body.g + ")"
	return body, nil
}

func (p *reParser) atom() (string, error) {
	c := p.src[p.pos]
	switch c {
	case '[':
		return p.class()
	case '.':
		p.pos++
		return setGBNF([]cpRange{{'\n', '\n'}}, true), nil
	case '\\':
		rs, neg, single, err := p.escape(false)
		if err != nil {
			return "", err
		}
		if single {
			return litGBNF(rs[0].lo), nil
		}
		return setGBNF(rs, neg), nil
	case '^', '$':
		return "", p.errf("anchor %q is only supported at the start/end of the pattern", c)
	case '*', '+', '?', '{':
		return "", p.errf("nothing to repeat before %q", c)
	case ')':
		return "", p.errf("unmatched )")
	}
	p.pos++
	return litGBNF(c), nil
}

var (
	digitRanges = []cpRange{{'0', '9'}}
	wordRanges  = []cpRange{{'0', '9'}, {'A', 'Z'}, {'_', '_'}, {'a', 'z'}}
	spaceRanges = []cpRange{{'\t', '\n'}, {'\f', '\r'}, {' ', ' '}}
)

// escape parses a backslash escape. It returns the ranges it denotes,
// whether they are negated (\D \W \S), and whether it is a single char.
func (p *reParser) escape(inClass bool) ([]cpRange, bool, bool, error) {
	p.pos++
	if p.pos >= len(p.src) {
		return nil, false, false, p.errf("trailing backslash")
	}
	c := p.src[p.pos]
	p.pos++
	one := func(r rune) ([]cpRange, bool, bool, error) { return []cpRange{{r, r}}, false, true, nil }
	switch c {
	case 'd':
		return digitRanges, false, false, nil
	case 'w':
		return wordRanges, false, false, nil
	case 's':
		return spaceRanges, false, false, nil
	case 'D', 'W', 'S':
		if inClass {
			return nil, false, false, p.errf("\\%c inside a class is not supported", c)
		}
		m := map[rune][]cpRange{'D': digitRanges, 'W': wordRanges, 'S': spaceRanges}
		return m[c], true, false, nil
	case 'n':
		return one('\n')
	case 'r':
		return one('\r')
	case 't':
		return one('\t')
	case 'f':
		return one('\f')
	case 'v':
		return one('\v')
	case '0':
		return one(0)
	case 'x', 'u':
		n := 2
		if c == 'u' {
			n = 4
		}
		if p.pos+n > len(p.src) {
			return nil, false, false, p.errf("short \\%c escape", c)
		}
		v, err := strconv.ParseUint(string(p.src[p.pos:p.pos+n]), 16, 32)
		if err != nil {
			return nil, false, false, p.errf("bad \\%c escape", c)
		}
		p.pos += n
		return one(rune(v))
	}
	if c >= '1' && c <= '9' {
		return nil, false, false, p.errf("backreferences are not supported")
	}
	if c == 'b' || c == 'B' || c == 'A' || c == 'z' || c == 'Z' || c == 'p' || c == 'P' {
		return nil, false, false, p.errf("escape \\%c is not supported", c)
	}
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
		return nil, false, false, p.errf("unknown escape \\%c", c)
	}
	return one(c)
}

func (p *reParser) class() (string, error) {
	p.pos++ // '['
	neg := false
	if p.pos < len(p.src) && p.src[p.pos] == '^' {
		neg = true
		p.pos++
	}
	var rs []cpRange
	first := true
	for {
		if p.pos >= len(p.src) {
			return "", p.errf("unterminated [")
		}
		c := p.src[p.pos]
		if c == ']' && !first {
			p.pos++
			break
		}
		first = false
		var lo rune
		if c == '\\' {
			e, _, single, err := p.escape(true)
			if err != nil {
				return "", err
			}
			if !single {
				rs = append(rs, e...)
				continue
			}
			lo = e[0].lo
		} else {
			if c == '[' && p.pos+1 < len(p.src) && p.src[p.pos+1] == ':' {
				return "", p.errf("POSIX classes are not supported")
			}
			lo = c
			p.pos++
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			if p.src[p.pos] == '\\' {
				e, _, single, err := p.escape(true)
				if err != nil {
					return "", err
				}
				if !single {
					return "", p.errf("class escape as range end")
				}
				hi = e[0].lo
			} else {
				hi = p.src[p.pos]
				p.pos++
			}
			if hi < lo {
				return "", p.errf("reversed range")
			}
		}
		rs = append(rs, cpRange{lo, hi})
	}
	return setGBNF(rs, neg), nil
}

// normalize sorts and merges ranges.
func normalize(rs []cpRange) []cpRange {
	rs = append([]cpRange(nil), rs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].lo < rs[j].lo })
	var out []cpRange
	for _, r := range rs {
		if n := len(out); n > 0 && r.lo <= out[n-1].hi+1 {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// complement returns the codepoints in [0, MaxRune] outside rs.
func complement(rs []cpRange) []cpRange {
	var out []cpRange
	next := rune(0)
	for _, r := range normalize(rs) {
		if r.lo > next {
			out = append(out, cpRange{next, r.lo - 1})
		}
		next = r.hi + 1
	}
	if next <= utf8.MaxRune {
		out = append(out, cpRange{next, utf8.MaxRune})
	}
	return out
}

// jsonSpecial are the characters a JSON string must escape (plus DEL,
// which this package always escapes).
var jsonSpecial = []cpRange{{0, 0x1F}, {'"', '"'}, {'\\', '\\'}, {0x7F, 0x7F}}

// setGBNF renders a codepoint set as GBNF for its JSON-encoded form: a
// class of the characters written raw, plus one literal alternative per
// escaped character in the set.
func setGBNF(rs []cpRange, neg bool) string {
	pos := normalize(rs)
	if neg {
		pos = complement(pos)
	}
	safe := normalize(append(complement(jsonSpecial), []cpRange{}...))
	var alts []string
	var raw []cpRange
	for _, r := range pos {
		for _, s := range safe {
			lo, hi := max(r.lo, s.lo), min(r.hi, s.hi)
			if lo <= hi {
				raw = append(raw, cpRange{lo, hi})
			}
		}
	}
	if len(raw) > 0 {
		cl := charClass{ranges: raw}
		alts = append(alts, cl.String())
	}
	for _, r := range pos {
		for _, sp := range jsonSpecial {
			for c := max(r.lo, sp.lo); c <= min(r.hi, sp.hi); c++ {
				alts = append(alts, litGBNF(c))
			}
		}
	}
	if len(alts) == 0 {
		return `[^\x00-\U0010FFFF]` // matches nothing; the grammar check rejects it
	}
	if len(alts) == 1 {
		return alts[0]
	}
	return "(" + strings.Join(alts, " | ") + ")"
}

// litGBNF matches one character in its canonical JSON encoding.
func litGBNF(r rune) string { return QuoteGBNF(encodeJSONRune(r)) }
