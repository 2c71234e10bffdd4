package grammar

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// expr is a node of a parsed rule body.
type expr interface{ isExpr() }

type (
	// seqExpr matches its items one after another (empty: matches "").
	seqExpr struct{ items []expr }
	// altExpr matches any one of its alternatives.
	altExpr struct{ alts []expr }
	// litExpr matches a literal string.
	litExpr struct{ text []rune }
	// classExpr matches one codepoint in (or, negated, not in) ranges.
	classExpr struct {
		ranges []cpRange
		neg    bool
	}
	// refExpr names a rule.
	refExpr struct {
		name      string
		line, col int
	}
	// ruleIDExpr refers to a compiled rule by id (synthesized rules).
	ruleIDExpr struct{ id int32 }
	// repExpr matches sub between min and max times (max < 0: unbounded).
	repExpr struct {
		sub      expr
		min, max int
	}
)

func (*seqExpr) isExpr()    {}
func (*altExpr) isExpr()    {}
func (*litExpr) isExpr()    {}
func (*classExpr) isExpr()  {}
func (*refExpr) isExpr()    {}
func (*ruleIDExpr) isExpr() {}
func (*repExpr) isExpr()    {}

// ruleDef is one parsed "name ::= body" definition.
type ruleDef struct {
	name      string
	body      expr
	line, col int
}

// ParseError is a syntax or semantic error in grammar text, with the
// 1-based line and column (in characters) where it was found.
type ParseError struct {
	Line, Col int
	Msg       string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("gbnf: line %d, col %d: %s", e.Line, e.Col, e.Msg)
}

// maxRepeat bounds {m,n} counts so a typo cannot expand into millions of
// elements.
const maxRepeat = 10000

// ParseGBNF parses a grammar in llama.cpp's GBNF syntax and compiles it.
// The start rule is "root".
//
// Syntax: rules "name ::= alternatives" (names use letters, digits, '-' and
// '_'); alternatives separated by '|'; sequences of string literals "...",
// character classes [a-z] / [^...], '.' (any character, newline included,
// as in llama.cpp), rule names and parenthesized groups, each optionally
// followed by '*', '+', '?', '{m}', '{m,}' or '{m,n}'. llama.cpp's token
// references (<[id]>, <name>, !<...>) are rejected with an error: this
// matcher works on text. Escapes in literals and classes: \n \r \t \\ \" \'
// \[ \] \- \/ \xHH \uHHHH \UHHHHHHHH. '#' starts a comment to the end of the
// line. Newlines are whitespace: a rule ends where the next "name ::="
// begins, so multi-line rules need no continuation marks.
func ParseGBNF(src string) (*Grammar, error) {
	rules, err := parseRules(src)
	if err != nil {
		return nil, err
	}
	return compile(rules, "root")
}

// MustParseGBNF is ParseGBNF for grammars known to be valid (package
// constants); it panics on error.
func MustParseGBNF(src string) *Grammar {
	g, err := ParseGBNF(src)
	if err != nil {
		panic(err)
	}
	return g
}

type parser struct {
	src string
	pos int
}

func parseRules(src string) ([]*ruleDef, error) {
	if !utf8.ValidString(src) {
		return nil, &ParseError{Line: 1, Col: 1, Msg: "grammar is not valid UTF-8"}
	}
	p := &parser{src: src}
	var rules []*ruleDef
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			break
		}
		line, col := p.lineCol(p.pos)
		name := p.name()
		if name == "" {
			return nil, p.errf("expected rule name, found %s", p.peekDesc())
		}
		p.skipSpace()
		if !strings.HasPrefix(p.src[p.pos:], "::=") {
			return nil, p.errf("expected '::=' after rule name %q, found %s", name, p.peekDesc())
		}
		p.pos += 3
		body, err := p.alternates(0)
		if err != nil {
			return nil, err
		}
		rules = append(rules, &ruleDef{name: name, body: body, line: line, col: col})
	}
	if len(rules) == 0 {
		return nil, &ParseError{Line: 1, Col: 1, Msg: "grammar has no rules"}
	}
	return rules, nil
}

func (p *parser) lineCol(pos int) (int, int) {
	line, col := 1, 1
	for _, r := range p.src[:pos] {
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

func (p *parser) errf(format string, args ...any) error {
	l, c := p.lineCol(p.pos)
	return &ParseError{Line: l, Col: c, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) peekDesc() string {
	if p.pos >= len(p.src) {
		return "end of input"
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	return strconv.QuoteRune(r)
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func (p *parser) name() string {
	start := p.pos
	for p.pos < len(p.src) && isNameByte(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// atRuleStart reports whether the input continues with "name ::=", the start
// of the next rule.
func (p *parser) atRuleStart() bool {
	save := p.pos
	defer func() { p.pos = save }()
	if p.name() == "" {
		return false
	}
	p.skipSpace()
	return strings.HasPrefix(p.src[p.pos:], "::=")
}

// alternates parses "seq | seq | ..." up to ')' (depth > 0) or the end of
// the rule.
func (p *parser) alternates(depth int) (expr, error) {
	var alts []expr
	for {
		seq, err := p.sequence(depth)
		if err != nil {
			return nil, err
		}
		alts = append(alts, seq)
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == '|' {
			p.pos++
			continue
		}
		break
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return &altExpr{alts: alts}, nil
}

func (p *parser) sequence(depth int) (expr, error) {
	var items []expr
	for {
		p.skipSpace()
		if p.pos >= len(p.src) {
			break
		}
		c := p.src[p.pos]
		if c == '|' || c == ')' {
			if c == ')' && depth == 0 {
				return nil, p.errf("unmatched ')'")
			}
			break
		}
		if isNameByte(c) && p.atRuleStart() {
			if depth > 0 {
				return nil, p.errf("missing ')' before next rule")
			}
			break
		}
		it, err := p.primary(depth)
		if err != nil {
			return nil, err
		}
		it, err = p.quantifiers(it)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	if len(items) == 1 {
		return items[0], nil
	}
	return &seqExpr{items: items}, nil
}

func (p *parser) primary(depth int) (expr, error) {
	c := p.src[p.pos]
	switch {
	case c == '"':
		return p.literal()
	case c == '[':
		return p.class()
	case c == '.':
		p.pos++ // any character, newline included (as llama.cpp's CHAR_ANY)
		return &classExpr{neg: true}, nil
	case c == '<' || c == '!':
		return nil, p.errf("token references (<...>, !<...>) are not supported: this matcher works on text")
	case c == '(':
		p.pos++
		e, err := p.alternates(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, p.errf("expected ')', found %s", p.peekDesc())
		}
		p.pos++
		return e, nil
	case isNameByte(c):
		l, col := p.lineCol(p.pos)
		return &refExpr{name: p.name(), line: l, col: col}, nil
	}
	return nil, p.errf("unexpected %s", p.peekDesc())
}

func (p *parser) quantifiers(e expr) (expr, error) {
	for {
		save := p.pos
		p.skipSpace()
		if p.pos >= len(p.src) {
			p.pos = save
			return e, nil
		}
		switch p.src[p.pos] {
		case '*':
			p.pos++
			e = &repExpr{sub: e, min: 0, max: -1}
		case '+':
			p.pos++
			e = &repExpr{sub: e, min: 1, max: -1}
		case '?':
			p.pos++
			e = &repExpr{sub: e, min: 0, max: 1}
		case '{':
			p.pos++
			lo, hi, err := p.braces()
			if err != nil {
				return nil, err
			}
			e = &repExpr{sub: e, min: lo, max: hi}
		default:
			p.pos = save
			return e, nil
		}
	}
}

// braces parses "m}", "m,}" or "m,n}" after '{'.
func (p *parser) braces() (int, int, error) {
	num := func() (int, bool, error) {
		p.skipSpace()
		start := p.pos
		for p.pos < len(p.src) && p.src[p.pos] >= '0' && p.src[p.pos] <= '9' {
			p.pos++
		}
		if start == p.pos {
			return 0, false, nil
		}
		n, err := strconv.Atoi(p.src[start:p.pos])
		if err != nil || n > maxRepeat {
			p.pos = start
			return 0, false, p.errf("repetition count %s exceeds %d", p.src[start:p.pos], maxRepeat)
		}
		return n, true, nil
	}
	lo, ok, err := num()
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, p.errf("expected a number after '{'")
	}
	hi := lo
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ',' {
		p.pos++
		var has bool
		hi, has, err = num()
		if err != nil {
			return 0, 0, err
		}
		if !has {
			hi = -1
		}
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '}' {
		return 0, 0, p.errf("expected '}' in repetition, found %s", p.peekDesc())
	}
	p.pos++
	if hi >= 0 && hi < lo {
		return 0, 0, p.errf("repetition {%d,%d}: max below min", lo, hi)
	}
	return lo, hi, nil
}

// escape parses one character of a literal or class at p.pos, handling
// backslash escapes.
func (p *parser) char() (rune, error) {
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	if r != '\\' {
		p.pos += n
		return r, nil
	}
	p.pos++
	if p.pos >= len(p.src) {
		return 0, p.errf("unfinished escape")
	}
	c := p.src[p.pos]
	p.pos++
	switch c {
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case '\\', '"', '\'', '[', ']', '-', '/', '^', '.', '(', ')', '|', '*', '+', '?', '{', '}':
		return rune(c), nil
	case 'x', 'u', 'U':
		n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[c]
		if p.pos+n > len(p.src) {
			return 0, p.errf("short \\%c escape", c)
		}
		v, err := strconv.ParseUint(p.src[p.pos:p.pos+n], 16, 32)
		if err != nil || v > utf8.MaxRune {
			return 0, p.errf("bad \\%c escape %q", c, p.src[p.pos:p.pos+n])
		}
		p.pos += n
		return rune(v), nil
	}
	p.pos--
	return 0, p.errf("unknown escape \\%c", c)
}

func (p *parser) literal() (expr, error) {
	p.pos++ // opening quote
	var text []rune
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			return nil, p.errf("unterminated string literal")
		}
		if p.src[p.pos] == '"' {
			p.pos++
			return &litExpr{text: text}, nil
		}
		r, err := p.char()
		if err != nil {
			return nil, err
		}
		text = append(text, r)
	}
}

func (p *parser) class() (expr, error) {
	p.pos++ // '['
	ce := &classExpr{}
	if p.pos < len(p.src) && p.src[p.pos] == '^' {
		ce.neg = true
		p.pos++
	}
	for {
		if p.pos >= len(p.src) {
			return nil, p.errf("unterminated character class")
		}
		if p.src[p.pos] == ']' {
			p.pos++
			return ce, nil
		}
		lo, err := p.char()
		if err != nil {
			return nil, err
		}
		hi := lo
		if p.pos+1 < len(p.src) && p.src[p.pos] == '-' && p.src[p.pos+1] != ']' {
			p.pos++
			hi, err = p.char()
			if err != nil {
				return nil, err
			}
			if hi < lo {
				return nil, p.errf("character range %q-%q is reversed", lo, hi)
			}
		}
		ce.ranges = append(ce.ranges, cpRange{lo, hi})
	}
}
