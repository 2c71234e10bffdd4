// Package modelfile parses and prints Ollama Modelfiles.
//
// A Modelfile is a list of instructions, one per line, each a
// case-insensitive keyword followed by whitespace and a value:
//
//	# comment (only at the start of a line)
//	FROM llama3.2
//	PARAMETER temperature 0.7
//	PARAMETER stop "<|eot_id|>"
//	TEMPLATE """{{ .System }} {{ .Prompt }}"""
//	SYSTEM You are a helpful assistant.
//	MESSAGE user Is the sky blue?
//	MESSAGE assistant Yes.
//	REQUIRES 0.5.0
//	PRESET structured task="Review this diff" role="a senior Go reviewer"
//
// PRESET is Golem's own instruction: it names a prompt preset (see package
// presets) and optionally gives its placeholders values as key=value
// pairs, a value with spaces in double quotes (\" and \\ escape, \n is a
// line break). The pairs may also span lines inside """...""". `golem
// create` expands it into SYSTEM, PARAMETER and MESSAGE commands, so the
// created model carries no PRESET and works with any Ollama client.
//
// Values follow Ollama's rules: an unquoted value runs to the end of the
// line (so '#' inside it is literal) and is trimmed; a value starting with
// " or """ may span lines and ends at the first line end where the trimmed
// text read so far ends with the same quote. Non-printable characters other
// than tab and newline are dropped, CRLF and CR line ends read as LF, and
// UTF-8 or UTF-16 input with a byte-order mark is accepted.
//
// Unlike Ollama, which checks parameters only when it creates the model,
// Parse validates PARAMETER names and values at once, and accepts parameter
// names and MESSAGE roles in any case.
package modelfile

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// Instruction keywords, as Format writes them.
const (
	From      = "FROM"      // base model: a name, or a path to a GGUF file or model directory
	Parameter = "PARAMETER" // a runtime option (see Parameters)
	Template  = "TEMPLATE"  // Go text/template prompt template
	System    = "SYSTEM"    // default system message
	Adapter   = "ADAPTER"   // LoRA adapter path
	License   = "LICENSE"   // license text; may repeat
	Message   = "MESSAGE"   // a message of the conversation history
	Requires  = "REQUIRES"  // minimum Ollama version (semver)
	Draft     = "DRAFT"     // draft model for speculative decoding
	Renderer  = "RENDERER"  // built-in prompt renderer name
	Parser    = "PARSER"    // built-in output parser name
	Preset    = "PRESET"    // Golem: a prompt preset, expanded at create time
)

var instructions = []string{From, Parameter, Template, System, Adapter, License, Message, Requires, Draft, Renderer, Parser, Preset}

// Roles a MESSAGE may have.
var Roles = []string{"system", "user", "assistant"}

// ErrNoFrom is returned (wrapped) for a Modelfile without a FROM line.
var ErrNoFrom = errors.New("no FROM instruction: a Modelfile needs one to name its base model")

// Command is one instruction of a Modelfile.
type Command struct {
	// Instruction is the upper-case keyword, e.g. From or Parameter.
	Instruction string
	// Name is the option name (lower case) of a PARAMETER, the role
	// (lower case) of a MESSAGE and the preset name of a PRESET; empty
	// otherwise.
	Name string
	// Value is the argument text with quotes removed.
	Value string
	// Line is the 1-based line the command starts on, 0 if not parsed.
	Line int
}

// Modelfile is a parsed Modelfile: its commands in order.
type Modelfile struct {
	Commands []Command
}

// Error is a syntax or validation error at a line of a Modelfile.
type Error struct {
	Line int // 1-based; 0 when the error concerns the whole file
	Msg  string
	Err  error // optional cause, for errors.Is
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("modelfile: line %d: %s", e.Line, e.Msg)
	}
	return "modelfile: " + e.Msg
}

func (e *Error) Unwrap() error { return e.Err }

// Parse reads and parses a Modelfile.
func Parse(r io.Reader) (*Modelfile, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("modelfile: read: %w", err)
	}
	return ParseString(decode(b))
}

// decode converts the file to a string, honouring a UTF-8 or UTF-16
// byte-order mark as Ollama does. Invalid UTF-8 later reads as U+FFFD.
func decode(b []byte) string {
	switch {
	case len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF:
		return string(b[3:])
	case len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF):
		le := b[0] == 0xFF
		u := make([]uint16, 0, len(b)/2)
		for i := 2; i+1 < len(b); i += 2 {
			if le {
				u = append(u, uint16(b[i])|uint16(b[i+1])<<8)
			} else {
				u = append(u, uint16(b[i])<<8|uint16(b[i+1]))
			}
		}
		return string(utf16.Decode(u))
	}
	return string(b)
}

// ParseString parses Modelfile text.
func ParseString(src string) (*Modelfile, error) {
	p := &parser{src: src, line: 1}
	var f Modelfile
	for {
		p.skipBlank()
		r, ok := p.peek()
		if !ok {
			break
		}
		if r == '#' {
			p.skipLine()
			continue
		}
		cmd, err := p.command()
		if err != nil {
			return nil, err
		}
		f.Commands = append(f.Commands, cmd)
	}
	for _, c := range f.Commands {
		if c.Instruction == From {
			return &f, nil
		}
	}
	return nil, &Error{Msg: ErrNoFrom.Error(), Err: ErrNoFrom}
}

// parser is a cursor over the source text. It reads CRLF and lone CR as a
// single '\n' and counts lines.
type parser struct {
	src  string
	pos  int
	line int
}

func (p *parser) peek() (rune, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	r, _ := utf8.DecodeRuneInString(p.src[p.pos:])
	if r == '\r' {
		r = '\n'
	}
	return r, true
}

func (p *parser) next() (rune, bool) {
	if p.pos >= len(p.src) {
		return 0, false
	}
	r, n := utf8.DecodeRuneInString(p.src[p.pos:])
	p.pos += n
	if r == '\r' {
		if p.pos < len(p.src) && p.src[p.pos] == '\n' {
			p.pos++
		}
		r = '\n'
	}
	if r == '\n' {
		p.line++
	}
	return r, true
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' }
func isAlpha(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }

// skipBlank skips spaces, tabs and line ends.
func (p *parser) skipBlank() {
	for r, ok := p.peek(); ok && (isSpace(r) || r == '\n'); r, ok = p.peek() {
		p.next()
	}
}

func (p *parser) skipSpaces() {
	for r, ok := p.peek(); ok && isSpace(r); r, ok = p.peek() {
		p.next()
	}
}

func (p *parser) skipLine() {
	for r, ok := p.next(); ok && r != '\n'; r, ok = p.next() {
	}
}

// word reads a run of runes accepted by ok.
func (p *parser) word(accept func(rune) bool) string {
	start := p.pos
	for r, ok := p.peek(); ok && accept(r); r, ok = p.peek() {
		p.next()
	}
	return p.src[start:p.pos]
}

func (p *parser) errorf(line int, format string, args ...any) error {
	return &Error{Line: line, Msg: fmt.Sprintf(format, args...)}
}

// describe names the rune found where something else was expected.
func describe(r rune, ok bool) string {
	switch {
	case !ok:
		return "end of file"
	case r == '\n':
		return "end of line"
	default:
		return strconv.QuoteRune(r)
	}
}

// separator requires whitespace after a keyword, parameter name or role.
func (p *parser) separator(line int, after, want string) error {
	r, ok := p.peek()
	if ok && isSpace(r) {
		p.skipSpaces()
		return nil
	}
	return p.errorf(line, "expected %s after %s, found %s", want, after, describe(r, ok))
}

// command parses one instruction starting at a non-blank, non-comment rune.
func (p *parser) command() (Command, error) {
	line := p.line
	kw := p.word(isAlpha)
	if kw == "" {
		r, ok := p.peek()
		return Command{}, p.errorf(line, "expected an instruction (%s), found %s", strings.Join(instructions, ", "), describe(r, ok))
	}
	cmd := Command{Instruction: strings.ToUpper(kw), Line: line}
	known := false
	for _, in := range instructions {
		known = known || in == cmd.Instruction
	}
	if !known {
		return Command{}, p.errorf(line, "unknown instruction %q: expected one of %s", kw, strings.Join(instructions, ", "))
	}

	switch cmd.Instruction {
	case Parameter:
		if err := p.separator(line, kw, "a parameter name"); err != nil {
			return Command{}, err
		}
		name := p.word(func(r rune) bool { return isAlpha(r) || isDigit(r) || r == '_' })
		if name == "" {
			r, ok := p.peek()
			return Command{}, p.errorf(line, "PARAMETER: expected a parameter name, found %s", describe(r, ok))
		}
		cmd.Name = strings.ToLower(name)
		if err := p.separator(line, "PARAMETER "+name, "a value"); err != nil {
			return Command{}, err
		}
	case Message:
		if err := p.separator(line, kw, "a role (system, user or assistant)"); err != nil {
			return Command{}, err
		}
		role := p.word(func(r rune) bool { return !isSpace(r) && r != '\n' })
		cmd.Name = strings.ToLower(role)
		valid := false
		for _, r := range Roles {
			valid = valid || r == cmd.Name
		}
		if !valid {
			return Command{}, p.errorf(line, "MESSAGE: role %q is not one of system, user, assistant", role)
		}
		if err := p.separator(line, "MESSAGE "+role, "the message text"); err != nil {
			return Command{}, err
		}
	case Preset:
		if err := p.separator(line, kw, "a preset name"); err != nil {
			return Command{}, err
		}
		cmd.Name = p.word(func(r rune) bool { return isAlpha(r) || isDigit(r) || r == '_' || r == '-' || r == '.' })
		if cmd.Name == "" {
			r, ok := p.peek()
			return Command{}, p.errorf(line, "PRESET: expected a preset name, found %s", describe(r, ok))
		}
		r, ok := p.peek()
		if !ok || r == '\n' {
			return cmd, nil // no vars
		}
		if err := p.separator(line, "PRESET "+cmd.Name, "the preset's vars (key=value ...)"); err != nil {
			return Command{}, err
		}
	default:
		if err := p.separator(line, kw, "a value"); err != nil {
			return Command{}, err
		}
	}

	v, err := p.value(line, cmd.Instruction)
	if err != nil {
		return Command{}, err
	}
	cmd.Value = v
	if err := check(&cmd); err != nil {
		return Command{}, p.errorf(line, "%v", err)
	}
	return cmd, nil
}

// value reads a value with Ollama's rules: text accumulates line by line
// and ends at the first line end (or end of file) where the trimmed text is
// complete, i.e. unquoted, or "…" or """…""" with its closing quote.
func (p *parser) value(line int, instruction string) (string, error) {
	var b strings.Builder
	// start and end delimit the trimmed text (first to last non-blank
	// byte), tracked as runes arrive so each line end costs O(1).
	start, end := -1, 0
	trimmed := func() string {
		if start < 0 {
			return ""
		}
		return b.String()[start:end]
	}
	for {
		r, ok := p.next()
		if !ok || r == '\n' {
			if v, done := unquote(trimmed()); done {
				return v, nil
			}
			if !ok {
				q := `"`
				if strings.HasPrefix(trimmed(), `"""`) {
					q = `"""`
				}
				return "", p.errorf(line, `%s: unterminated %s string: the value ends at the first line that ends with %s (nothing may follow it on that line)`, instruction, q, q)
			}
			b.WriteByte('\n')
			continue
		}
		switch {
		case isSpace(r):
			b.WriteRune(r)
		case strconv.IsPrint(r):
			if start < 0 {
				start = b.Len()
			}
			b.WriteRune(r)
			end = b.Len()
		}
	}
}

// unquote strips the quotes of a complete value; done is false while a
// quoted value still lacks its closing quote.
func unquote(s string) (v string, done bool) {
	switch {
	case strings.HasPrefix(s, `"""`):
		if len(s) >= 6 && strings.HasSuffix(s, `"""`) {
			return s[3 : len(s)-3], true
		}
		return "", false
	case strings.HasPrefix(s, `"`):
		if len(s) >= 2 && strings.HasSuffix(s, `"`) {
			return s[1 : len(s)-1], true
		}
		return "", false
	}
	return s, true
}

// check validates and normalizes a parsed command's value.
func check(c *Command) error {
	switch c.Instruction {
	case From, Adapter, Draft:
		if c.Value == "" {
			return fmt.Errorf("%s: expected a model name or path, found an empty value", c.Instruction)
		}
	case Parameter:
		if c.Value == "" {
			return fmt.Errorf("PARAMETER %s: expected a value, found an empty one", c.Name)
		}
		if _, err := ParseParameter(c.Name, c.Value); err != nil {
			return err
		}
	case Preset:
		if _, err := ParsePresetVars(c.Value); err != nil {
			return fmt.Errorf("PRESET %s: %w", c.Name, err)
		}
	case Requires:
		v, err := normalizeVersion(c.Value)
		if err != nil {
			return fmt.Errorf("REQUIRES: %w", err)
		}
		c.Value = v
	}
	return nil
}

// normalizeVersion validates a semantic version as golang.org/x/mod/semver
// does (with an optional leading "v"; "1" and "1.2" are shorthands) and
// returns it without the "v", as Ollama stores it.
func normalizeVersion(s string) (string, error) {
	v := strings.TrimPrefix(s, "v")
	bad := fmt.Errorf("%q is not a semantic version (e.g. 0.14.0)", s)
	core, build, hasBuild := strings.Cut(v, "+")
	core, pre, hasPre := strings.Cut(core, "-")
	nums := strings.Split(core, ".")
	if len(nums) > 3 || (len(nums) < 3 && (hasPre || hasBuild)) {
		return "", bad
	}
	for _, n := range nums {
		if n == "" || strings.Trim(n, "0123456789") != "" || len(n) > 1 && n[0] == '0' {
			return "", bad
		}
	}
	idents := func(s string, numeric bool) bool {
		for _, id := range strings.Split(s, ".") {
			if id == "" || strings.Trim(id, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-") != "" {
				return false
			}
			if numeric && strings.Trim(id, "0123456789") == "" && len(id) > 1 && id[0] == '0' {
				return false
			}
		}
		return true
	}
	if hasPre && !idents(pre, true) || hasBuild && !idents(build, false) {
		return "", bad
	}
	return v, nil
}

// From returns the first FROM value (the base model), or "".
func (f *Modelfile) From() string {
	for _, c := range f.Commands {
		if c.Instruction == From {
			return c.Value
		}
	}
	return ""
}

// Values returns the values of every command with the given instruction,
// in order (e.g. all LICENSE texts).
func (f *Modelfile) Values(instruction string) []string {
	var out []string
	for _, c := range f.Commands {
		if c.Instruction == instruction {
			out = append(out, c.Value)
		}
	}
	return out
}

// Last returns the value of the last command with the given instruction
// (later TEMPLATE or SYSTEM lines override earlier ones).
func (f *Modelfile) Last(instruction string) (string, bool) {
	v, ok := "", false
	for _, c := range f.Commands {
		if c.Instruction == instruction {
			v, ok = c.Value, true
		}
	}
	return v, ok
}

// Options returns the PARAMETER values typed as Ollama stores them in the
// params layer (see ParseParameter): a later value of an option replaces an
// earlier one, except stop, whose values accumulate. Deprecated parameters
// are left out, as Ollama ignores them.
func (f *Modelfile) Options() (map[string]any, error) {
	out := map[string]any{}
	for _, c := range f.Commands {
		if c.Instruction != Parameter || DeprecatedParameters[c.Name] {
			continue
		}
		v, err := ParseParameter(c.Name, c.Value)
		if err != nil {
			return nil, &Error{Line: c.Line, Msg: err.Error()}
		}
		if l, ok := v.([]string); ok {
			prev, _ := out[c.Name].([]string)
			v = append(prev, l...)
		}
		out[c.Name] = v
	}
	return out, nil
}

// Msg is one MESSAGE of the conversation history.
type Msg struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// Messages returns the MESSAGE commands in order.
func (f *Modelfile) Messages() []Msg {
	var out []Msg
	for _, c := range f.Commands {
		if c.Instruction == Message {
			out = append(out, Msg{Role: c.Name, Content: c.Value})
		}
	}
	return out
}

// Format prints the Modelfile with one instruction per line, the way
// `ollama show --modelfile` prints commands, quoting a value only when it
// must be: "…" or """…""" when it is empty, spans lines, has leading or
// trailing blanks or starts with a quote. Parsing the result yields the
// same commands. (Values containing characters the parser drops, or whose
// lines end in quotes such that no quoting reads back the same, cannot be
// represented exactly.)
func (f *Modelfile) Format() string {
	var b strings.Builder
	for _, c := range f.Commands {
		b.WriteString(c.String())
		b.WriteByte('\n')
	}
	return b.String()
}

// FormatShow prints the Modelfile as `ollama show --modelfile` does for a
// GGUF model, with its header comments naming the model.
func (f *Modelfile) FormatShow(shortName string) string {
	return "# Modelfile generated by \"golem show\"\n" +
		"# To build a new Modelfile based on this, replace FROM with:\n" +
		"# FROM " + shortName + "\n\n" + f.Format()
}

// String formats the command as one Modelfile instruction.
func (c Command) String() string {
	switch c.Instruction {
	case Parameter, Message:
		return c.Instruction + " " + c.Name + " " + Quote(c.Value)
	case Preset:
		if c.Value == "" {
			return c.Instruction + " " + c.Name
		}
		return c.Instruction + " " + c.Name + " " + Quote(c.Value)
	default:
		return c.Instruction + " " + Quote(c.Value)
	}
}

// Quote returns s as a Modelfile value that parses back to s: bare when
// possible, else "s", else """s""".
func Quote(s string) string {
	for _, q := range []string{s, `"` + s + `"`, `"""` + s + `"""`} {
		if q == "" {
			continue
		}
		p := &parser{src: q + "\n", line: 1}
		if v, err := p.value(1, ""); err == nil && v == s && p.pos == len(p.src) {
			return q
		}
	}
	return `"""` + s + `"""`
}
