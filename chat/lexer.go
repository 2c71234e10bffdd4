package chat

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// tokKind classifies a lexer token.
type tokKind int

const (
	tText       tokKind = iota // raw template text between tags
	tVarBegin                  // {{
	tVarEnd                    // }}
	tBlockBegin                // {%
	tBlockEnd                  // %}
	tName                      // identifier or keyword
	tString                    // string literal (val holds the decoded text)
	tInt                       // integer literal
	tFloat                     // float literal
	tOp                        // operator or punctuation
	tEOF
)

// token is one lexical unit; expression tokens appear between a Begin/End pair.
type token struct {
	kind tokKind
	val  string
	line int
	i    int64
	f    float64
}

func (t token) String() string {
	switch t.kind {
	case tEOF:
		return "end of template"
	case tText:
		return "template text"
	case tString:
		return strconv.Quote(t.val)
	}
	return "'" + t.val + "'"
}

// lexer splits a template into tokens with Jinja2's whitespace rules as
// configured by transformers: trim_blocks and lstrip_blocks on, one trailing
// newline of the source dropped.
type lexer struct {
	src  string
	pos  int
	line int
	toks []token
}

// normalizeSource applies Jinja2's newline handling: \r\n and \r become \n and
// a single trailing newline is removed (keep_trailing_newline=False).
func normalizeSource(src string) string {
	src = strings.ReplaceAll(src, "\r\n", "\n")
	src = strings.ReplaceAll(src, "\r", "\n")
	return strings.TrimSuffix(src, "\n")
}

// lex tokenizes the whole template.
func lex(src string) ([]token, error) {
	lx := &lexer{src: normalizeSource(src), line: 1}
	if err := lx.run(); err != nil {
		return nil, err
	}
	lx.toks = append(lx.toks, token{kind: tEOF, line: lx.line})
	return lx.toks, nil
}

func (lx *lexer) errorf(format string, args ...any) error {
	return &Error{Type: "TemplateSyntaxError", Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (line %d)", lx.line)}
}

func (lx *lexer) emit(kind tokKind, val string) {
	lx.toks = append(lx.toks, token{kind: kind, val: val, line: lx.line})
}

// nextTagStart finds the next "{{", "{%" or "{#" at or after pos.
func (lx *lexer) nextTagStart() int {
	s := lx.src
	for i := lx.pos; i+1 < len(s); i++ {
		if s[i] == '{' && (s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#') {
			return i
		}
	}
	return -1
}

// allSpace reports whether s is only whitespace (Python's \s, which is what
// Jinja2 3.1's lstrip_blocks tests).
func allSpace(s string) bool {
	for _, r := range s {
		if !pyIsSpace(r) {
			return false
		}
	}
	return true
}

// lstrip applies lstrip_blocks to the text before a block or comment tag:
// whitespace between the last line start and the tag is dropped.
func lstrip(text string, lineStarting bool) string {
	lpos := strings.LastIndexByte(text, '\n') + 1
	if (lpos > 0 || lineStarting) && allSpace(text[lpos:]) {
		return text[:lpos]
	}
	return text
}

func (lx *lexer) run() error {
	lineStarting := true
	for lx.pos < len(lx.src) {
		idx := lx.nextTagStart()
		if idx < 0 {
			lx.emitText(lx.src[lx.pos:])
			lx.pos = len(lx.src)
			break
		}
		text := lx.src[lx.pos:idx]
		kind := lx.src[idx+1]
		after := idx + 2
		sign := byte(0)
		if after < len(lx.src) && (lx.src[after] == '-' || lx.src[after] == '+') {
			sign = lx.src[after]
			after++
		}
		switch {
		case sign == '-':
			text = strings.TrimRightFunc(text, pyIsSpace)
		case sign != '+' && kind != '{':
			text = lstrip(text, lineStarting)
		}
		lx.emitText(text)
		lx.line += strings.Count(lx.src[lx.pos:idx], "\n") - strings.Count(text, "\n")
		lx.pos = after
		var err error
		switch kind {
		case '#':
			lineStarting, err = lx.comment()
		case '{':
			lineStarting, err = lx.tag(tVarBegin, tVarEnd, "}}")
		case '%':
			if lx.isRaw() {
				lineStarting, err = lx.raw()
			} else {
				lineStarting, err = lx.tag(tBlockBegin, tBlockEnd, "%}")
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (lx *lexer) emitText(text string) {
	if text == "" {
		return
	}
	lx.emit(tText, text)
	lx.line += strings.Count(text, "\n")
}

// skipTrailing handles what follows a closing delimiter: "-" strips all
// whitespace, trim_blocks (block and comment tags only) eats one newline.
// It reports whether the consumed text ended with a newline.
func (lx *lexer) skipTrailing(minus, trim bool) bool {
	start := lx.pos
	if minus {
		for lx.pos < len(lx.src) {
			r, n := utf8.DecodeRuneInString(lx.src[lx.pos:])
			if !pyIsSpace(r) {
				break
			}
			lx.pos += n
		}
	} else if trim && lx.pos < len(lx.src) && lx.src[lx.pos] == '\n' {
		lx.pos++
	}
	lx.line += strings.Count(lx.src[start:lx.pos], "\n")
	if lx.pos > start {
		return lx.src[lx.pos-1] == '\n'
	}
	return lx.pos > 0 && lx.src[lx.pos-1] == '\n'
}

func (lx *lexer) comment() (bool, error) {
	end := strings.Index(lx.src[lx.pos:], "#}")
	if end < 0 {
		return false, lx.errorf("missing end of comment tag")
	}
	body := lx.src[lx.pos : lx.pos+end]
	lx.line += strings.Count(body, "\n")
	minus := strings.HasSuffix(body, "-")
	lx.pos += end + 2
	return lx.skipTrailing(minus, true), nil
}

// isRaw reports whether the block tag at pos is {% raw %}.
func (lx *lexer) isRaw() bool {
	rest := strings.TrimLeft(lx.src[lx.pos:], " \t\n")
	if !strings.HasPrefix(rest, "raw") {
		return false
	}
	rest = strings.TrimLeft(rest[3:], " \t\n")
	return strings.HasPrefix(rest, "%}") || strings.HasPrefix(rest, "-%}")
}

// raw copies everything up to {% endraw %} as text. As in Jinja2, the raw
// tag itself gets no trim_blocks newline removal (only "-%}" strips), while
// the endraw tag honours "-", "+", lstrip_blocks and trim_blocks.
func (lx *lexer) raw() (bool, error) {
	i := strings.Index(lx.src[lx.pos:], "%}")
	if i < 0 {
		return false, lx.errorf("missing end of raw tag")
	}
	minus := i > 0 && lx.src[lx.pos+i-1] == '-'
	lx.line += strings.Count(lx.src[lx.pos:lx.pos+i], "\n")
	lx.pos += i + 2
	lineStarting := lx.skipTrailing(minus, false)
	for search := lx.pos; ; {
		j := strings.Index(lx.src[search:], "{%")
		if j < 0 {
			return false, lx.errorf("missing endraw")
		}
		k := search + j + 2
		sign := byte(0)
		if k < len(lx.src) && (lx.src[k] == '-' || lx.src[k] == '+') {
			sign = lx.src[k]
			k++
		}
		rest := strings.TrimLeftFunc(lx.src[k:], pyIsSpace)
		if !strings.HasPrefix(rest, "endraw") {
			search = k
			continue
		}
		after := strings.TrimLeftFunc(rest[len("endraw"):], pyIsSpace)
		closeSign := byte(0)
		if after != "" && (after[0] == '-' || after[0] == '+') {
			closeSign = after[0]
			after = after[1:]
		}
		if !strings.HasPrefix(after, "%}") {
			search = k
			continue
		}
		text := lx.src[lx.pos : search+j]
		switch {
		case sign == '-':
			text = strings.TrimRightFunc(text, pyIsSpace)
		case sign != '+':
			text = lstrip(text, lineStarting)
		}
		lx.emitText(text)
		end := len(lx.src) - len(after) + 2
		lx.line += strings.Count(lx.src[search+j:end], "\n") + strings.Count(lx.src[lx.pos:search+j], "\n") - strings.Count(text, "\n")
		lx.pos = end
		return lx.skipTrailing(closeSign == '-', closeSign != '+'), nil
	}
}

// tag tokenizes the expression inside {{ }} or {% %}.
func (lx *lexer) tag(begin, end tokKind, closer string) (bool, error) {
	lx.emit(begin, "")
	depth := 0
	s := lx.src
	for {
		// skip whitespace
		for lx.pos < len(s) && (s[lx.pos] == ' ' || s[lx.pos] == '\t' || s[lx.pos] == '\n' || s[lx.pos] == '\r') {
			if s[lx.pos] == '\n' {
				lx.line++
			}
			lx.pos++
		}
		if lx.pos >= len(s) {
			return false, lx.errorf("unexpected end of template, expected %q", closer)
		}
		rest := s[lx.pos:]
		if depth == 0 {
			if strings.HasPrefix(rest, closer) {
				lx.pos += len(closer)
				lx.emit(end, "")
				return lx.skipTrailing(false, end == tBlockEnd), nil
			}
			if (rest[0] == '-' || rest[0] == '+') && strings.HasPrefix(rest[1:], closer) {
				lx.pos += 1 + len(closer)
				lx.emit(end, "")
				if rest[0] == '+' {
					return lx.skipTrailing(false, false), nil
				}
				return lx.skipTrailing(true, false), nil
			}
		}
		c := rest[0]
		switch {
		case c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80:
			n := 0
			for n < len(rest) {
				r, w := utf8.DecodeRuneInString(rest[n:])
				if r == '_' || unicode.IsLetter(r) || (n > 0 && unicode.IsDigit(r)) {
					n += w
					continue
				}
				break
			}
			if n == 0 {
				return false, lx.errorf("unexpected char %q", rest[:1])
			}
			lx.emit(tName, rest[:n])
			lx.pos += n
		case c >= '0' && c <= '9':
			if err := lx.number(); err != nil {
				return false, err
			}
		case c == '\'' || c == '"':
			if err := lx.str(c); err != nil {
				return false, err
			}
		default:
			op := ""
			for _, cand := range []string{"//", "**", "==", "!=", "<=", ">="} {
				if strings.HasPrefix(rest, cand) {
					op = cand
					break
				}
			}
			if op == "" {
				if !strings.ContainsRune("+-*/%~<>=()[]{},.:|;!", rune(c)) {
					return false, lx.errorf("unexpected char %q", rest[:1])
				}
				op = rest[:1]
			}
			switch op {
			case "(", "[", "{":
				depth++
			case ")", "]", "}":
				if depth > 0 {
					depth--
				}
			}
			lx.emit(tOp, op)
			lx.pos += len(op)
		}
	}
}

func (lx *lexer) number() error {
	s := lx.src[lx.pos:]
	n := 0
	digits := func() {
		for n < len(s) && (s[n] >= '0' && s[n] <= '9' || s[n] == '_' && n+1 < len(s) && s[n+1] >= '0' && s[n+1] <= '9') {
			n++
		}
	}
	digits()
	isFloat := false
	if n+1 < len(s) && s[n] == '.' && s[n+1] >= '0' && s[n+1] <= '9' {
		// "x.0.1" style attribute chains are not supported; a dot followed by digits is a float.
		n++
		digits()
		isFloat = true
	}
	if n < len(s) && (s[n] == 'e' || s[n] == 'E') {
		m := n + 1
		if m < len(s) && (s[m] == '+' || s[m] == '-') {
			m++
		}
		if m < len(s) && s[m] >= '0' && s[m] <= '9' {
			n = m
			digits()
			isFloat = true
		}
	}
	text := strings.ReplaceAll(s[:n], "_", "")
	tok := token{line: lx.line, val: s[:n]}
	if isFloat {
		f, err := strconv.ParseFloat(text, 64)
		if err != nil {
			return lx.errorf("bad float %q", s[:n])
		}
		tok.kind, tok.f = tFloat, f
	} else {
		i, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return lx.errorf("bad integer %q", s[:n])
		}
		tok.kind, tok.i = tInt, i
	}
	lx.toks = append(lx.toks, tok)
	lx.pos += n
	return nil
}

// str lexes a quoted string literal with Python escape rules.
func (lx *lexer) str(q byte) error {
	s := lx.src
	i := lx.pos + 1
	var b strings.Builder
	startLine := lx.line
	for {
		if i >= len(s) {
			lx.line = startLine
			return lx.errorf("unterminated string")
		}
		c := s[i]
		if c == q {
			i++
			break
		}
		if c == '\n' {
			lx.line++
		}
		if c != '\\' || i+1 >= len(s) {
			b.WriteByte(c)
			i++
			continue
		}
		e := s[i+1]
		i += 2
		switch e {
		case '\\', '\'', '"':
			b.WriteByte(e)
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case 'a':
			b.WriteByte('\a')
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'v':
			b.WriteByte('\v')
		case '\n':
			lx.line++
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+n > len(s) {
				return lx.errorf("truncated \\%c escape", e)
			}
			v, err := strconv.ParseUint(s[i:i+n], 16, 32)
			if err != nil {
				return lx.errorf("bad \\%c escape", e)
			}
			b.WriteRune(rune(v))
			i += n
		case '0', '1', '2', '3', '4', '5', '6', '7':
			j := i - 1
			for j < len(s) && j < i+2 && s[j] >= '0' && s[j] <= '7' {
				j++
			}
			v, _ := strconv.ParseUint(s[i-1:j], 8, 32)
			b.WriteRune(rune(v))
			i = j
		default:
			b.WriteByte('\\')
			b.WriteByte(e)
		}
	}
	lx.toks = append(lx.toks, token{kind: tString, val: b.String(), line: startLine})
	lx.pos = i
	return nil
}
