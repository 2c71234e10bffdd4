// Package toolcall turns the raw text a model generates into plain content
// and structured tool calls.
//
// Every chat-model family writes tool calls in its own textual syntax (Hermes
// and Qwen wrap JSON in <tool_call> tags, Mistral prefixes [TOOL_CALLS],
// gpt-oss uses harmony channels, ...). Detect picks the family from the chat
// template stored in the GGUF file, Parse splits a finished generation, and
// Stream does the same incrementally while tokens arrive: it holds back text
// that may be the start of a tool-call marker and reports each call as soon
// as its closing syntax has been seen.
//
// Parse is defined as one Push of the whole text followed by Flush, so the
// streaming and non-streaming results are identical for every way of cutting
// the text into chunks. Text that looks like a tool call but does not parse
// (malformed JSON, a missing closing tag) stays in the content unchanged.
//
// Around the parsers: ForcingGrammar compiles tool_choice "required" or a
// named function into a grammar (via the grammar package's JSON Schema
// rules) that lets the model write exactly one call in its family's syntax
// with arguments valid for the tool's parameters; ThinkSplitter separates
// a reasoning block (<think>...</think> and other families' tags, found by
// DetectThinkTags) from the answer while it streams; SpecialTokens names
// the control tokens a format's markers are, which a runtime must show in
// the output for the parsers to see them.
package toolcall

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// Format names a tool-call output syntax.
type Format int

// The supported output syntaxes.
const (
	// FormatNone: the template has no (supported) tool-call syntax; all text
	// is content.
	FormatNone Format = iota
	// FormatHermes: <tool_call>{"name":..., "arguments":{...}}</tool_call>
	// (Hermes 2 Pro / 3, Qwen 2.5, Qwen 3, QwQ, Granite 4).
	FormatHermes
	// FormatMistral: [TOOL_CALLS][{"name":..., "arguments":{...}, "id":...}]
	// (Mistral Nemo) or [TOOL_CALLS]name[CALL_ID]id[ARGS]{...} / [TOOL_CALLS]name[ARGS]{...}
	// (Mistral Small 3.2, Devstral).
	FormatMistral
	// FormatLlama3: a bare JSON object {"name":..., "parameters":{...}},
	// optionally after <|python_tag|> (Llama 3.1 / 3.2 / 3.3).
	FormatLlama3
	// FormatGranite: <|tool_call|>[{"name":..., "arguments":{...}}] (Granite 3.x).
	FormatGranite
	// FormatCommandR: Action: ```json [{"tool_name":..., "parameters":{...}}] ```
	// (Command-R / R+) or <|START_ACTION|>[...]<|END_ACTION|> (Command R7B).
	FormatCommandR
	// FormatFunctionary: >>>name\n{...} with >>>all\n for plain text
	// (functionary v3.2; the generation prompt already ends with ">>>").
	FormatFunctionary
	// FormatHarmony: gpt-oss harmony messages; a call is a message whose
	// header carries to=functions.NAME.
	FormatHarmony
	// FormatDeepSeek: <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>... (DeepSeek R1
	// and its distills with fenced JSON, DeepSeek V3.1 with bare JSON).
	FormatDeepSeek
	// FormatQwenXML: <tool_call><function=NAME><parameter=KEY>value</parameter></function></tool_call>
	// (Qwen3-Coder, Qwen3.5); JSON inside <tool_call> is accepted too.
	FormatQwenXML
	// FormatGLM: <tool_call>NAME<arg_key>KEY</arg_key><arg_value>value</arg_value></tool_call>
	// (GLM-4.5 / 4.6).
	FormatGLM
	numFormats
)

var formatNames = [...]string{"none", "hermes", "mistral", "llama3", "granite", "command-r", "functionary", "harmony", "deepseek", "qwen-xml", "glm"}

// String returns the short lower-case name of the format.
func (f Format) String() string {
	if f >= 0 && f < numFormats {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Call is one parsed tool call.
type Call struct {
	// Name is the function name.
	Name string
	// Arguments is the decoded JSON object of arguments (numbers are
	// json.Number so that integers survive unchanged).
	Arguments map[string]any
	// RawArguments is the arguments object as compact JSON text with the
	// keys in the order the model wrote them (a Go map loses that order).
	RawArguments string
	// ID is the call id when the format carries one (Mistral), else "".
	ID string
}

// Detect picks the tool-call format from a Jinja chat template text (the
// GGUF key tokenizer.chat_template). It returns FormatNone when the template
// shows no tool-call syntax this package understands (for example the XML
// style of Qwen3-Coder and GLM-4.6, or Kimi-K2's sections).
func Detect(chatTemplate string) Format {
	t := chatTemplate
	has := func(s string) bool { return strings.Contains(t, s) }
	switch {
	case has("<｜tool▁calls▁begin｜>") || has("<｜tool▁call▁begin｜>"):
		return FormatDeepSeek
	case has("<|channel|>") && has("to="):
		return FormatHarmony
	case has(">>>all") || has("<|recipient|>"):
		return FormatFunctionary
	case has("[TOOL_CALLS]"):
		return FormatMistral
	case has("<|tool_call|>"):
		return FormatGranite
	case has("<|START_ACTION|>") || has("Action:") && has("tool_name"):
		return FormatCommandR
	case has("<tool_call>") && has("<arg_key>"):
		return FormatGLM
	case has("<tool_call>") && has("<function="):
		return FormatQwenXML
	case has("<tool_call>"):
		return FormatHermes
	case has("<|python_tag|>") || has("ipython") && has("parameters"):
		return FormatLlama3
	}
	return FormatNone
}

// Parse splits a complete generation into content and tool calls. Text that
// looks like a call but does not parse stays in content. The error is only
// for an unknown format value.
func Parse(format Format, text string) (content string, calls []Call, err error) {
	if format < 0 || format >= numFormats {
		return "", nil, fmt.Errorf("toolcall: parse: unknown format %d", int(format))
	}
	s := NewStream(format)
	c1, k1 := s.Push(text)
	c2, k2 := s.Flush()
	return c1 + c2, append(k1, k2...), nil
}

// status is a block parser's verdict on the text after a marker.
type status int

const (
	stDone     status = iota // a complete block: consume n bytes
	stNeedMore               // could still become a block; wait for more text
	stInvalid                // not a block: the marker is plain content
)

// block is the result of parsing text that starts with a marker.
type block struct {
	st      status
	n       int    // bytes consumed (stDone)
	calls   []Call // calls found (stDone)
	content string // content produced by the block itself (harmony)
	// reasoning is reasoning text the block carries (harmony's analysis
	// channel), kept apart from content.
	reasoning string
}

// spec describes one format for the shared scanner.
type spec struct {
	markers []string
	// parse looks at s, which starts with marker m. final says no more
	// text will come. It must be stable: a verdict of stDone or stInvalid
	// on a prefix must be the verdict on every longer text.
	parse func(s, m string, final bool) block
	// implicit is a marker the generation prompt already wrote (functionary's
	// ">>>"); it is parsed as if present but never emitted.
	implicit string
	// afterCall lists the bytes dropped from content directly after a call.
	afterCall string
}

// maxBlock bounds how far a block may extend past its marker; a longer
// unfinished block is treated as content so a stream never buffers without
// limit.
const maxBlock = 1 << 16

const ws = " \t\r\n"

var specs = [numFormats]spec{
	FormatNone:        {},
	FormatHermes:      {markers: []string{"<tool_call>"}, parse: parseHermes, afterCall: ws},
	FormatMistral:     {markers: []string{"[TOOL_CALLS]"}, parse: parseMistral, afterCall: ws},
	FormatLlama3:      {markers: []string{"<|python_tag|>", "{\"", "{ \"", "{\n"}, parse: parseLlama3, afterCall: ws + ";"},
	FormatGranite:     {markers: []string{"<|tool_call|>"}, parse: parseGranite, afterCall: ws},
	FormatCommandR:    {markers: []string{"Action:", "<|START_ACTION|>"}, parse: parseCommandR, afterCall: ws},
	FormatFunctionary: {markers: []string{">>>"}, parse: parseFunctionary, implicit: ">>>", afterCall: ws},
	FormatHarmony: {markers: []string{"<|start|>", "<|channel|>", "<|end|>", "<|call|>", "<|return|>"},
		parse: parseHarmony, afterCall: ws},
	FormatDeepSeek: {markers: []string{dsCallsBegin, dsCallsEnd, dsCallBegin}, parse: parseDeepSeek, afterCall: ws},
	FormatQwenXML:  {markers: []string{"<tool_call>"}, parse: parseQwenXML, afterCall: ws},
	FormatGLM:      {markers: []string{"<tool_call>"}, parse: parseGLM, afterCall: ws},
}

// Stream parses a generation incrementally. The zero value is not usable;
// call NewStream.
type Stream struct {
	sp        *spec
	buf       string // unconsumed text
	hidden    int    // bytes at the start of buf that must never be emitted
	afterCall bool   // the last thing produced was a call
	flushed   bool
	reasoning strings.Builder
}

// TakeReasoning returns the reasoning text parsed since the last call
// (gpt-oss's analysis channel; other formats have none here) and forgets
// it. Parse drops it.
func (s *Stream) TakeReasoning() string {
	r := s.reasoning.String()
	s.reasoning.Reset()
	return r
}

// NewStream returns a streaming parser for format. An unknown format
// behaves like FormatNone.
func NewStream(format Format) *Stream {
	s := &Stream{sp: &specs[FormatNone]}
	if format >= 0 && format < numFormats {
		s.sp = &specs[format]
	}
	s.buf = s.sp.implicit
	s.hidden = len(s.buf)
	return s
}

// Push adds generated text. It returns the content that is now certain not
// to belong to a tool call and the calls completed by this chunk.
func (s *Stream) Push(chunk string) (contentDelta string, completed []Call) {
	if s.flushed {
		return "", nil
	}
	s.buf += chunk
	return s.run(false)
}

// Flush ends the stream: held-back text is resolved (an unfinished call
// becomes content) and returned. Later Push calls return nothing.
func (s *Stream) Flush() (contentDelta string, completed []Call) {
	if s.flushed {
		return "", nil
	}
	c, calls := s.run(true)
	s.flushed = true
	return c, calls
}

// run scans the buffer, emitting content and calls, and keeps what is
// still undecided.
func (s *Stream) run(final bool) (string, []Call) {
	var out strings.Builder
	var calls []Call
	pos := 0
	emit := func(a, b int) {
		if a < s.hidden {
			a = s.hidden
		}
		if a < b {
			s.emitText(&out, s.buf[a:b])
		}
	}
	// next caches each marker's next position in buf (-2 unknown, -1 none)
	// so that many invalid markers do not make the scan quadratic.
	next := make([]int, len(s.sp.markers))
	for j := range next {
		next[j] = -2
	}
	for {
		rest := s.buf[pos:]
		i, m := s.findMarker(pos, next)
		if i < 0 {
			keep := 0
			if !final {
				keep = s.holdBack(rest)
			}
			emit(pos, len(s.buf)-keep)
			pos = len(s.buf) - keep
			break
		}
		emit(pos, pos+i)
		pos += i
		view := s.buf[pos:]
		truncated := false
		if len(view) > maxBlock {
			view, truncated = view[:maxBlock], true
		}
		b := s.sp.parse(view, m, final)
		if b.st == stNeedMore && (final || truncated) {
			b.st = stInvalid
		}
		if b.st == stNeedMore {
			break
		}
		if b.st == stInvalid {
			emit(pos, pos+len(m))
			pos += len(m)
			continue
		}
		if b.content != "" {
			s.emitText(&out, b.content)
		}
		s.reasoning.WriteString(b.reasoning)
		if len(b.calls) > 0 {
			calls = append(calls, b.calls...)
			s.afterCall = true
		}
		pos += b.n
	}
	s.buf = s.buf[pos:]
	s.hidden = max(0, s.hidden-pos)
	return out.String(), calls
}

// emitText appends content, dropping separator bytes right after a call.
func (s *Stream) emitText(out *strings.Builder, t string) {
	if s.afterCall {
		t = strings.TrimLeft(t, s.sp.afterCall)
		if t == "" {
			return
		}
		s.afterCall = false
	}
	out.WriteString(t)
}

// findMarker returns the offset from pos of the earliest (then longest)
// marker in buf[pos:], using and updating the position cache next.
func (s *Stream) findMarker(pos int, next []int) (int, string) {
	best, bm := -1, ""
	for j, m := range s.sp.markers {
		if next[j] == -1 {
			continue
		}
		if next[j] < pos {
			next[j] = -1
			if k := strings.Index(s.buf[pos:], m); k >= 0 {
				next[j] = pos + k
			}
		}
		if next[j] >= 0 {
			if i := next[j] - pos; best < 0 || i < best || i == best && len(m) > len(bm) {
				best, bm = i, m
			}
		}
	}
	return best, bm
}

// holdBack returns the length of the longest suffix of t that is a proper
// prefix of a marker.
func (s *Stream) holdBack(t string) int {
	keep := 0
	for _, m := range s.sp.markers {
		for k := min(len(m)-1, len(t)); k > keep; k-- {
			if strings.HasSuffix(t, m[:k]) {
				keep = k
				break
			}
		}
	}
	return keep
}

// ---- shared helpers ----

func skipWS(s string, p int) int {
	for p < len(s) && strings.IndexByte(ws, s[p]) >= 0 {
		p++
	}
	return p
}

// scanJSON finds the end of the JSON object or array starting at s[p]
// (after optional white space). It checks only bracket structure; the
// caller decodes the text.
func scanJSON(s string, p int) (end int, st status) {
	p = skipWS(s, p)
	if p >= len(s) {
		return 0, stNeedMore
	}
	if s[p] != '{' && s[p] != '[' {
		return 0, stInvalid
	}
	depth, inStr, esc := 0, false, false
	for i := p; i < len(s); i++ {
		c := s[i]
		switch {
		case inStr:
			switch {
			case esc:
				esc = false
			case c == '\\':
				esc = true
			case c == '"':
				inStr = false
			}
		case c == '"':
			inStr = true
		case c == '{' || c == '[':
			depth++
			if depth > 512 {
				return 0, stInvalid
			}
		case c == '}' || c == ']':
			depth--
			if depth == 0 {
				return i + 1, stDone
			}
		}
	}
	return 0, stNeedMore
}

// decodeObject decodes a JSON object keeping raw member values.
func decodeObject(raw string) (map[string]json.RawMessage, bool) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &obj); err != nil || obj == nil {
		return nil, false
	}
	return obj, true
}

// decodeArgs decodes an arguments value: a JSON object, or a JSON string
// holding a JSON object (the OpenAI wire form some models copy). A missing
// value means no arguments.
func decodeArgs(raw json.RawMessage) (map[string]any, string, bool) {
	if len(raw) == 0 || string(raw) == "null" {
		return map[string]any{}, "{}", true
	}
	if raw[0] == '"' {
		var inner string
		if err := json.Unmarshal(raw, &inner); err != nil {
			return nil, "", false
		}
		if strings.TrimSpace(inner) == "" {
			return map[string]any{}, "{}", true
		}
		raw = json.RawMessage(inner)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var args map[string]any
	if err := d.Decode(&args); err != nil || args == nil || d.More() {
		return nil, "", false
	}
	var c bytes.Buffer
	if err := json.Compact(&c, raw); err != nil {
		return nil, "", false
	}
	return args, c.String(), true
}

// callFromObject builds a call from a JSON object using the first present
// key of nameKeys and argKeys. The name must be a non-empty string.
func callFromObject(obj map[string]json.RawMessage, nameKeys, argKeys []string) (Call, bool) {
	var c Call
	for _, k := range nameKeys {
		if v, ok := obj[k]; ok {
			if err := json.Unmarshal(v, &c.Name); err != nil {
				return c, false
			}
			break
		}
	}
	if c.Name == "" {
		return c, false
	}
	var raw json.RawMessage
	for _, k := range argKeys {
		if v, ok := obj[k]; ok {
			raw = v
			break
		}
	}
	args, compact, ok := decodeArgs(raw)
	if !ok {
		return c, false
	}
	c.Arguments, c.RawArguments = args, compact
	if v, ok := obj["id"]; ok {
		_ = json.Unmarshal(v, &c.ID) // a non-string id is ignored
	}
	return c, true
}

// callsFromJSON decodes an object or an array of objects into calls.
func callsFromJSON(raw string, nameKeys, argKeys []string) ([]Call, bool) {
	raw = strings.TrimSpace(raw)
	if strings.HasPrefix(raw, "{") {
		obj, ok := decodeObject(raw)
		if !ok {
			return nil, false
		}
		c, ok := callFromObject(obj, nameKeys, argKeys)
		return []Call{c}, ok
	}
	var arr []map[string]json.RawMessage
	if err := json.Unmarshal([]byte(raw), &arr); err != nil || len(arr) == 0 {
		return nil, false
	}
	calls := make([]Call, 0, len(arr))
	for _, obj := range arr {
		c, ok := callFromObject(obj, nameKeys, argKeys)
		if !ok {
			return nil, false
		}
		calls = append(calls, c)
	}
	return calls, true
}

// expect checks for the literal lit at s[p]: found (consumed length), a
// proper prefix of it at the end of s (need more), or something else.
func expect(s string, p int, lit string) status {
	rest := s[p:]
	switch {
	case strings.HasPrefix(rest, lit):
		return stDone
	case strings.HasPrefix(lit, rest):
		return stNeedMore
	}
	return stInvalid
}

// closeWith finishes a block after its JSON at p: optional white space and
// then closer. When final, a missing closer (generation stopped) is accepted.
func closeWith(s string, p int, closer string, final bool, calls []Call) block {
	q := skipWS(s, p)
	switch expect(s, q, closer) {
	case stDone:
		return block{st: stDone, n: q + len(closer), calls: calls}
	case stNeedMore:
		if final {
			return block{st: stDone, n: len(s), calls: calls}
		}
		return block{st: stNeedMore}
	}
	return block{st: stInvalid}
}

var (
	nameKeys     = []string{"name"}
	argKeys      = []string{"arguments", "parameters"}
	llamaArgKeys = []string{"parameters", "arguments"}
)

// isNameByte reports whether c may appear in a bare function name.
func isNameByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':'
}

// ---- per-format block parsers ----

// parseHermes: <tool_call> {json object} </tool_call>.
func parseHermes(s, m string, final bool) block {
	p := len(m)
	end, st := scanJSON(s, p)
	if st != stDone {
		return block{st: st}
	}
	calls, ok := callsFromJSON(s[p:end], nameKeys, argKeys)
	if !ok || len(calls) != 1 {
		return block{st: stInvalid}
	}
	return closeWith(s, end, "</tool_call>", final, calls)
}

// parseGranite: <|tool_call|> [json array] (or a single object); the call
// list runs to the end of the message.
func parseGranite(s, m string, final bool) block {
	p := len(m)
	end, st := scanJSON(s, p)
	if st != stDone {
		return block{st: st}
	}
	calls, ok := callsFromJSON(s[p:end], nameKeys, argKeys)
	if !ok {
		return block{st: stInvalid}
	}
	return block{st: stDone, n: end, calls: calls}
}

// parseLlama3: <|python_tag|>{...} or a bare {"name":..., "parameters":...}.
// Llama's built-in tool syntax (brave_search.call(...)) is not handled.
func parseLlama3(s, m string, final bool) block {
	p := 0
	if m == "<|python_tag|>" {
		p = len(m)
	}
	end, st := scanJSON(s, p)
	if st != stDone {
		return block{st: st}
	}
	raw := strings.TrimSpace(s[p:end])
	if !strings.HasPrefix(raw, "{") {
		return block{st: stInvalid}
	}
	obj, ok := decodeObject(raw)
	if !ok {
		return block{st: stInvalid}
	}
	if t, ok := obj["type"]; ok && string(t) != `"function"` {
		return block{st: stInvalid}
	}
	if fn, ok := obj["function"]; ok { // {"type":"function","function":{...}}
		if obj, ok = decodeObject(string(fn)); !ok {
			return block{st: stInvalid}
		}
	}
	if _, ok := obj["parameters"]; !ok {
		if _, ok := obj["arguments"]; !ok {
			return block{st: stInvalid} // a JSON object that is not a call
		}
	}
	c, ok := callFromObject(obj, nameKeys, llamaArgKeys)
	if !ok {
		return block{st: stInvalid}
	}
	return block{st: stDone, n: end, calls: []Call{c}}
}

// parseMistral: [TOOL_CALLS][{...},...] (Nemo) or
// [TOOL_CALLS]name([CALL_ID]id)?[ARGS]{...} (Small 3.2, Devstral).
func parseMistral(s, m string, final bool) block {
	p := skipWS(s, len(m))
	if p >= len(s) {
		return block{st: stNeedMore}
	}
	if s[p] == '[' {
		end, st := scanJSON(s, p)
		if st != stDone {
			return block{st: st}
		}
		calls, ok := callsFromJSON(s[p:end], nameKeys, argKeys)
		if !ok {
			return block{st: stInvalid}
		}
		return block{st: stDone, n: end, calls: calls}
	}
	q := p
	for q < len(s) && isNameByte(s[q]) {
		q++
	}
	if q == len(s) {
		return block{st: stNeedMore}
	}
	if q == p {
		return block{st: stInvalid}
	}
	c := Call{Name: s[p:q]}
	if st := expect(s, q, "[CALL_ID]"); st == stDone {
		q += len("[CALL_ID]")
		r := q
		for r < len(s) && isNameByte(s[r]) {
			r++
		}
		if r == len(s) {
			return block{st: stNeedMore}
		}
		c.ID, q = s[q:r], r
	} else if st == stNeedMore {
		return block{st: stNeedMore}
	}
	switch expect(s, q, "[ARGS]") {
	case stNeedMore:
		return block{st: stNeedMore}
	case stInvalid:
		return block{st: stInvalid}
	}
	q += len("[ARGS]")
	end, st := scanJSON(s, q)
	if st != stDone {
		return block{st: st}
	}
	args, compact, ok := decodeArgs(json.RawMessage(strings.TrimSpace(s[q:end])))
	if !ok {
		return block{st: stInvalid}
	}
	c.Arguments, c.RawArguments = args, compact
	return block{st: stDone, n: end, calls: []Call{c}}
}

// parseCommandR: Action: ```json [...] ``` or <|START_ACTION|>[...]<|END_ACTION|>.
func parseCommandR(s, m string, final bool) block {
	ck := []string{"tool_name", "name"}
	ak := []string{"parameters", "arguments"}
	p := skipWS(s, len(m))
	if m == "<|START_ACTION|>" {
		end, st := scanJSON(s, p)
		if st != stDone {
			return block{st: st}
		}
		calls, ok := callsFromJSON(s[p:end], ck, ak)
		if !ok {
			return block{st: stInvalid}
		}
		return closeWith(s, end, "<|END_ACTION|>", final, calls)
	}
	if p >= len(s) {
		return block{st: stNeedMore}
	}
	switch expect(s, p, "```json") {
	case stDone:
		p += len("```json")
	case stNeedMore:
		return block{st: stNeedMore}
	default:
		if expect(s, p, "```") == stDone {
			p += 3
		}
	}
	end, st := scanJSON(s, p)
	if st != stDone {
		return block{st: st}
	}
	calls, ok := callsFromJSON(s[p:end], ck, ak)
	if !ok {
		return block{st: stInvalid}
	}
	q := skipWS(s, end)
	switch expect(s, q, "```") {
	case stDone:
		return block{st: stDone, n: q + 3, calls: calls}
	case stNeedMore:
		if !final {
			return block{st: stNeedMore}
		}
	}
	return block{st: stDone, n: end, calls: calls}
}

// parseFunctionary: >>>recipient\n then, for "all", plain text (left to the
// scanner as content) or, for a function, its JSON arguments.
func parseFunctionary(s, m string, final bool) block {
	p := len(m)
	q := p
	for q < len(s) && isNameByte(s[q]) && q-p < 256 {
		q++
	}
	if q == len(s) {
		return block{st: stNeedMore}
	}
	if s[q] != '\n' || q == p {
		return block{st: stInvalid}
	}
	name := s[p:q]
	q++
	if name == "all" {
		return block{st: stDone, n: q}
	}
	end, st := scanJSON(s, q)
	if st != stDone {
		return block{st: st}
	}
	args, compact, ok := decodeArgs(json.RawMessage(strings.TrimSpace(s[q:end])))
	if !ok {
		return block{st: stInvalid}
	}
	return block{st: stDone, n: end, calls: []Call{{Name: name, Arguments: args, RawArguments: compact}}}
}

// parseHarmony parses one gpt-oss message: header up to <|message|>, body
// up to <|end|>, <|call|>, <|return|> or the next message. A header with
// to=functions.NAME makes the body a call's JSON arguments; a final or
// commentary body is content; an analysis body (reasoning) goes to
// TakeReasoning.
// Lone <|end|>/<|call|>/<|return|> tokens are dropped.
func parseHarmony(s, m string, final bool) block {
	switch m {
	case "<|end|>", "<|call|>", "<|return|>":
		return block{st: stDone, n: len(m)}
	}
	const msg = "<|message|>"
	const maxHeader = 1024
	h := strings.Index(s[:min(len(s), maxHeader+len(msg))], msg)
	if h < 0 {
		if len(s) > maxHeader+len(msg) || strings.Contains(s[len(m):], "\n") {
			return block{st: stInvalid}
		}
		return block{st: stNeedMore}
	}
	header := s[:h]
	if strings.Contains(header, "\n") {
		return block{st: stInvalid}
	}
	body := s[h+len(msg):]
	end, n := -1, 0
	for _, t := range []string{"<|end|>", "<|call|>", "<|return|>", "<|start|>", "<|channel|>"} {
		if i := strings.Index(body, t); i >= 0 && (end < 0 || i < end) {
			end, n = i, len(t)
			if t == "<|start|>" || t == "<|channel|>" {
				n = 0 // belongs to the next message
			}
		}
	}
	if end < 0 {
		if !final {
			return block{st: stNeedMore}
		}
		end, n = len(body), 0
	}
	consumed := h + len(msg) + end + n
	text := body[:end]
	channel := ""
	if i := strings.Index(header, "<|channel|>"); i >= 0 {
		channel = header[i+len("<|channel|>"):]
		if j := strings.IndexAny(channel, " <"); j >= 0 {
			channel = channel[:j]
		}
	}
	if i := strings.Index(header, "to=functions."); i >= 0 {
		name := header[i+len("to=functions."):]
		j := 0
		for j < len(name) && isNameByte(name[j]) {
			j++
		}
		name = name[:j]
		args, compact, ok := decodeArgs(json.RawMessage(strings.TrimSpace(text)))
		if name == "" || !ok {
			return block{st: stInvalid}
		}
		return block{st: stDone, n: consumed, calls: []Call{{Name: name, Arguments: args, RawArguments: compact}}}
	}
	if channel == "analysis" {
		return block{st: stDone, n: consumed, reasoning: text}
	}
	return block{st: stDone, n: consumed, content: text}
}

// DeepSeek special tokens (full-width bars and U+2581 spaces).
const (
	dsCallsBegin = "<｜tool▁calls▁begin｜>"
	dsCallsEnd   = "<｜tool▁calls▁end｜>"
	dsCallBegin  = "<｜tool▁call▁begin｜>"
	dsCallEnd    = "<｜tool▁call▁end｜>"
	dsSep        = "<｜tool▁sep｜>"
)

// parseDeepSeek: R1 style <｜tool▁call▁begin｜>function<｜tool▁sep｜>name\n```json\n{...}\n```<｜tool▁call▁end｜>
// or V3.1 style <｜tool▁call▁begin｜>name<｜tool▁sep｜>{...}<｜tool▁call▁end｜>.
// The section tokens around the calls are dropped.
func parseDeepSeek(s, m string, final bool) block {
	if m != dsCallBegin {
		return block{st: stDone, n: len(m)}
	}
	p := len(m)
	const maxHead = 256
	i := strings.Index(s[p:min(len(s), p+maxHead+len(dsSep))], dsSep)
	if i < 0 {
		if len(s)-p > maxHead+len(dsSep) {
			return block{st: stInvalid}
		}
		return block{st: stNeedMore}
	}
	first := s[p : p+i]
	q := p + i + len(dsSep)
	var name string
	if first == "function" {
		r := q
		for r < len(s) && isNameByte(s[r]) {
			r++
		}
		if r == len(s) {
			return block{st: stNeedMore}
		}
		if s[r] != '\n' || r == q {
			return block{st: stInvalid}
		}
		name = s[q:r]
		q = skipWS(s, r)
		switch expect(s, q, "```json") {
		case stDone:
			q += len("```json")
		case stNeedMore:
			return block{st: stNeedMore}
		default:
			if expect(s, q, "```") == stDone {
				q += 3
			}
		}
	} else {
		name = strings.TrimSpace(first)
		for j := 0; j < len(name); j++ {
			if !isNameByte(name[j]) {
				return block{st: stInvalid}
			}
		}
		if name == "" {
			return block{st: stInvalid}
		}
	}
	end, st := scanJSON(s, q)
	if st != stDone {
		return block{st: st}
	}
	args, compact, ok := decodeArgs(json.RawMessage(strings.TrimSpace(s[q:end])))
	if !ok {
		return block{st: stInvalid}
	}
	r := skipWS(s, end)
	switch expect(s, r, "```") {
	case stDone:
		r += 3
	case stNeedMore:
		if !final {
			return block{st: stNeedMore}
		}
	}
	return closeWith(s, r, dsCallEnd, final, []Call{{Name: name, Arguments: args, RawArguments: compact}})
}

// xmlArgs collects XML-style arguments in the order written and renders
// them as a JSON object.
type xmlArgs struct {
	m   map[string]any
	raw strings.Builder
}

// add records one argument. The text format does not say whether "42" is a
// number or a string (the template prints non-string values as JSON and
// strings bare, and llama.cpp decides from the tool's schema, which this
// package does not see), so a value that is valid JSON other than a bare
// string is taken as JSON, anything else as a string.
func (a *xmlArgs) add(key, val string) {
	if a.m == nil {
		a.m = map[string]any{}
		a.raw.WriteByte('{')
	} else {
		a.raw.WriteByte(',')
	}
	kb, _ := json.Marshal(key)
	a.raw.Write(kb)
	a.raw.WriteByte(':')
	var v any = val
	var compact bytes.Buffer
	if t := strings.TrimSpace(val); t != "" && t[0] != '"' && json.Valid([]byte(t)) {
		d := json.NewDecoder(strings.NewReader(t))
		d.UseNumber()
		if d.Decode(&v) == nil && json.Compact(&compact, []byte(t)) == nil {
			a.m[key] = v
			a.raw.Write(compact.Bytes())
			return
		}
		v = val
	}
	vb, _ := json.Marshal(v)
	a.m[key] = val
	a.raw.Write(vb)
}

func (a *xmlArgs) call(name string) Call {
	if a.m == nil {
		return Call{Name: name, Arguments: map[string]any{}, RawArguments: "{}"}
	}
	return Call{Name: name, Arguments: a.m, RawArguments: a.raw.String() + "}"}
}

// trimNL removes one leading and one trailing newline, the layout the
// templates put around XML values.
func trimNL(v string) string {
	v = strings.TrimPrefix(v, "\n")
	return strings.TrimSuffix(v, "\n")
}

// tagValue reads "<open>value</close>" at s[p] and returns the value and
// the index after the closing tag.
func tagValue(s string, p int, open, close string) (string, int, status) {
	switch expect(s, p, open) {
	case stNeedMore:
		return "", 0, stNeedMore
	case stInvalid:
		return "", 0, stInvalid
	}
	p += len(open)
	i := strings.Index(s[p:], close)
	if i < 0 {
		return "", 0, stNeedMore
	}
	return s[p : p+i], p + i + len(close), stDone
}

// parseQwenXML: <tool_call>\n<function=NAME>\n<parameter=KEY>\nVALUE\n</parameter>\n</function>\n</tool_call>.
func parseQwenXML(s, m string, final bool) block {
	p := skipWS(s, len(m))
	if p < len(s) && s[p] == '{' {
		return parseHermes(s, m, final)
	}
	name, p, st := tagValue(s, p, "<function=", ">")
	if st != stDone {
		return block{st: st}
	}
	for j := 0; j < len(name); j++ {
		if !isNameByte(name[j]) {
			return block{st: stInvalid}
		}
	}
	if name == "" {
		return block{st: stInvalid}
	}
	var args xmlArgs
	for {
		p = skipWS(s, p)
		switch expect(s, p, "</function>") {
		case stDone:
			return closeWith(s, p+len("</function>"), "</tool_call>", final, []Call{args.call(name)})
		case stNeedMore:
			if p == len(s) || !strings.HasPrefix("<parameter=", s[p:]) {
				return block{st: stNeedMore}
			}
		}
		key, q, st := tagValue(s, p, "<parameter=", ">")
		if st != stDone {
			return block{st: st}
		}
		i := strings.Index(s[q:], "</parameter>")
		if i < 0 {
			return block{st: stNeedMore}
		}
		if key == "" || strings.ContainsAny(key, "<\n") {
			return block{st: stInvalid}
		}
		args.add(key, trimNL(s[q:q+i]))
		p = q + i + len("</parameter>")
	}
}

// parseGLM: <tool_call>NAME\n<arg_key>KEY</arg_key>\n<arg_value>VALUE</arg_value>\n</tool_call>.
func parseGLM(s, m string, final bool) block {
	p := len(m)
	q := p
	for q < len(s) && isNameByte(s[q]) {
		q++
	}
	if q == len(s) {
		return block{st: stNeedMore}
	}
	if q == p || strings.IndexByte(ws+"<", s[q]) < 0 {
		return block{st: stInvalid}
	}
	name := s[p:q]
	var args xmlArgs
	for {
		q = skipWS(s, q)
		switch expect(s, q, "</tool_call>") {
		case stDone:
			return block{st: stDone, n: q + len("</tool_call>"), calls: []Call{args.call(name)}}
		case stNeedMore:
			if q == len(s) || !strings.HasPrefix("<arg_key>", s[q:]) {
				return block{st: stNeedMore}
			}
		}
		key, r, st := tagValue(s, q, "<arg_key>", "</arg_key>")
		if st != stDone {
			return block{st: st}
		}
		r = skipWS(s, r)
		val, r2, st := tagValue(s, r, "<arg_value>", "</arg_value>")
		if st != stDone {
			return block{st: st}
		}
		if key == "" || strings.ContainsAny(key, "<\n") {
			return block{st: stInvalid}
		}
		args.add(key, val)
		q = r2
	}
}
