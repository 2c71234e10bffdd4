// Package chat renders the Jinja2 chat templates that GGUF files carry in
// tokenizer.chat_template, byte for byte as Hugging Face transformers'
// apply_chat_template does.
//
// It is a self-contained Jinja2 subset (lexer, parser, tree-walking
// evaluator) with Python semantics where templates can observe them: None
// prints as "None", lists and dicts print as Python repr, tojson is
// json.dumps (", " / ": " separators, raw non-ASCII, no HTML escaping),
// strings count code points, `+` on str and non-str raises TypeError, and
// the environment is transformers' ImmutableSandboxedEnvironment with
// trim_blocks, lstrip_blocks and loopcontrols (list.append/pop raise
// SecurityError). Globals: range, namespace, dict, raise_exception and
// strftime_now.
//
// Checked against Jinja2 3.1.6: all 353 fixture cases (29 templates), all 68
// templates of llama.cpp's models/templates over 27 conversations, and
// thousands of random templates (testdata/jinja2_random.json keeps 591).
//
// Known differences from Python, none of which the fixture templates hit:
// integers are int64 (overflow raises OverflowError instead of growing);
// generator and bound-method reprs print without a memory address; unknown
// filters and tests fail when reached instead of at parse time; slicing a
// range gives a list; include/import/extends/block are not supported (chat
// templates are single files).
package chat

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"time"
)

// Template is a parsed chat template. Set its fields before use; Render does
// not modify the template, so concurrent Render calls are safe.
type Template struct {
	body []node
	// Now returns the clock strftime_now formats; nil means time.Now.
	Now func() time.Time
	// AllowMutation permits list.append/pop/extend/insert/remove/clear/
	// reverse/sort and dict.update/pop/setdefault/clear, as llama.cpp's
	// engine does. By default they raise SecurityError like transformers'
	// ImmutableSandboxedEnvironment. A mutated list is stored back where the
	// call found it (variable, namespace attribute, dict key or list
	// element); other references to the same list do not see the change.
	// Render deep-copies dicts it is given in this mode, so the caller's
	// values are never modified.
	AllowMutation bool
}

// Parse compiles a Jinja2 template source.
func Parse(src string) (*Template, error) {
	body, err := parse(src)
	if err != nil {
		return nil, fmt.Errorf("chat: parse template: %w", err)
	}
	return &Template{body: body}, nil
}

// Render evaluates the template with vars as its whole context. Values may
// be nil, bool, any integer or float type, string, *Dict, map[string]any
// (keys sorted, since Go maps have no order; use *Dict or ParseJSON to keep
// an order), slices and Message/ToolCall values. A failure is returned as an
// error wrapping *Error; for raise_exception its message is the template's.
func (t *Template) Render(vars map[string]any) (out string, err error) {
	ev := &evaluator{now: time.Now(), mutable: t.AllowMutation}
	if t.Now != nil {
		ev.now = t.Now()
	}
	root := newScope(nil)
	err = catch(func() {
		for k, v := range vars {
			v = normalize(v, 0)
			if t.AllowMutation {
				v = deepCopy(v, 0)
			}
			root.vars[k] = v
		}
		w := &writer{limit: maxOutput}
		ev.execBody(t.body, root, w)
		out = w.b.String()
	})
	if err != nil {
		return "", fmt.Errorf("chat: render: %w", err)
	}
	return out, nil
}

// AsError returns the template *Error inside err, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// normalize converts Go input values into renderer values.
func normalize(v any, depth int) any {
	if depth > maxDepth {
		throw("ValueError", "input nested too deeply")
	}
	switch x := v.(type) {
	case nil, bool, int64, float64, string, *Dict, Tuple, *Namespace:
		return x
	case int:
		return int64(x)
	case int32:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint:
		return int64(x)
	case uint32:
		return int64(x)
	case uint16:
		return int64(x)
	case uint8:
		return int64(x)
	case uint64:
		return int64(x)
	case float32:
		return float64(x)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalize(e, depth+1)
		}
		return out
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		d := NewDict()
		for _, k := range keys {
			d.Set(k, normalize(x[k], depth+1))
		}
		return d
	case Message:
		return x.toDict(depth)
	case []Message:
		out := make([]any, len(x))
		for i, m := range x {
			out[i] = m.toDict(depth + 1)
		}
		return out
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface(), depth+1)
		}
		return out
	case reflect.Map:
		if rv.Type().Key().Kind() == reflect.String {
			keys := make([]string, 0, rv.Len())
			for _, k := range rv.MapKeys() {
				keys = append(keys, k.String())
			}
			sort.Strings(keys)
			d := NewDict()
			for _, k := range keys {
				d.Set(k, normalize(rv.MapIndex(reflect.ValueOf(k).Convert(rv.Type().Key())).Interface(), depth+1))
			}
			return d
		}
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface(), depth+1)
	}
	throw("TypeError", "unsupported input value of Go type %T", v)
	return nil
}

// deepCopy copies dicts and lists so that AllowMutation cannot reach the
// caller's values.
func deepCopy(v any, depth int) any {
	if depth > maxDepth {
		throw("ValueError", "input nested too deeply")
	}
	switch x := v.(type) {
	case *Dict:
		d := NewDict()
		for _, k := range x.keys {
			d.set(k, deepCopy(x.value(k), depth+1))
		}
		return d
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = deepCopy(e, depth+1)
		}
		return out
	case Tuple:
		out := make(Tuple, len(x))
		for i, e := range x {
			out[i] = deepCopy(e, depth+1)
		}
		return out
	}
	return v
}

// ToolCall is an assistant's request to call a function, in transformers'
// format {id, type: "function", function: {name, arguments}}.
type ToolCall struct {
	ID   string
	Name string
	// Arguments is either a JSON string (OpenAI wire format) or a value such
	// as *Dict (transformers' format); templates differ in which they accept.
	Arguments any
}

// Message is one chat turn.
type Message struct {
	Role    string
	Content string
	// NullContent renders content as None instead of Content (assistant
	// turns that only carry tool calls, in transformers' format).
	NullContent bool
	// Parts, when non-nil, replaces Content with OpenAI typed content
	// (a list of {type: "text", text: ...} parts).
	Parts []string
	// ReasoningContent and Thinking carry an assistant turn's reasoning
	// (templates read one or the other: Qwen3/DeepSeek use
	// reasoning_content, gpt-oss uses thinking).
	ReasoningContent string
	Thinking         string
	ToolCalls        []ToolCall
	ToolCallID       string // tool result messages
	Name             string // tool result messages
}

// toDict builds the dict shape templates expect. Optional fields are
// present only when set, so `message.tool_calls is defined` works; the key
// order (role, reasoning_content, thinking, tool_call_id, name, content,
// tool_calls) matches what OpenAI-style clients send, in case a template
// prints a whole message.
func (m Message) toDict(depth int) *Dict {
	d := NewDict()
	d.Set("role", m.Role)
	if m.ReasoningContent != "" {
		d.Set("reasoning_content", m.ReasoningContent)
	}
	if m.Thinking != "" {
		d.Set("thinking", m.Thinking)
	}
	if m.ToolCallID != "" {
		d.Set("tool_call_id", m.ToolCallID)
	}
	if m.Name != "" {
		d.Set("name", m.Name)
	}
	switch {
	case m.Parts != nil:
		parts := make([]any, len(m.Parts))
		for i, p := range m.Parts {
			pd := NewDict()
			pd.Set("type", "text")
			pd.Set("text", p)
			parts[i] = pd
		}
		d.Set("content", parts)
	case m.NullContent:
		d.Set("content", nil)
	default:
		d.Set("content", m.Content)
	}
	if len(m.ToolCalls) > 0 {
		calls := make([]any, len(m.ToolCalls))
		for i, tc := range m.ToolCalls {
			fn := NewDict()
			fn.Set("name", tc.Name)
			fn.Set("arguments", normalize(tc.Arguments, depth+2))
			c := NewDict()
			c.Set("id", tc.ID)
			c.Set("type", "function")
			c.Set("function", fn)
			calls[i] = c
		}
		d.Set("tool_calls", calls)
	}
	return d
}

// Apply renders a conversation. The context is extra (bos_token, eos_token,
// tools, enable_thinking, ...) plus messages and add_generation_prompt, which
// replace any entries of those names in extra. A variable that is not given
// stays undefined in the template, as llama.cpp does (transformers instead
// passes tools=None, which makes the tool_use templates fail without tools).
func Apply(tmpl *Template, messages []Message, addGenerationPrompt bool, extra map[string]any) (string, error) {
	if tmpl == nil {
		return "", errors.New("chat: apply: nil template")
	}
	vars := make(map[string]any, len(extra)+2)
	for k, v := range extra {
		vars[k] = v
	}
	vars["messages"] = messages
	vars["add_generation_prompt"] = addGenerationPrompt
	return tmpl.Render(vars)
}
