package grammar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
)

// jsonPrimitives are the GBNF rules for JSON values shared by the "json"
// format and schema grammars. Every value rule ends with optional
// whitespace ("space", bounded so a model cannot loop on it forever).
// Numbers are bounded (as llama.cpp bounds them, and tighter on the
// exponent) so every one fits a float64: at most 16 integer digits, 16
// fraction digits and 2 exponent digits. Strings allow
// every JSON escape but no raw control characters or DEL; a \u escape of a
// UTF-16 surrogate comes only as a high-low pair, which is one character
// (so a lone surrogate, which is not Unicode text, is never produced, and
// minLength/maxLength count a pair once, as validators do).
// In the bodies "@" marks a reference to another primitive, so the rules
// can be emitted under a name prefix.
var jsonPrimitives = []struct{ name, body string }{
	{"space", `| " " | "\n" [ \t]{0,20}`},
	{"char", `[^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" ([0-9a-cA-Ce-fE-F] [0-9a-fA-F]{3} | [dD] [0-7] [0-9a-fA-F]{2} | [dD] [89abAB] [0-9a-fA-F]{2} "\\u" [dD] [c-fC-F] [0-9a-fA-F]{2}))`},
	{"string", `"\"" @char* "\"" @space`},
	{"integral-part", `[0] | [1-9] [0-9]{0,15}`},
	{"decimal-part", `[0-9]{1,16}`},
	{"number", `"-"? @integral-part ("." @decimal-part)? ([eE] [-+]? [0-9]{1,2})? @space`},
	{"integer", `"-"? @integral-part @space`},
	{"boolean", `("true" | "false") @space`},
	{"null", `"null" @space`},
	{"value", `@object | @array | @string | @number | @boolean | @null`},
	{"object", `"{" @space ( @string ":" @space @value ("," @space @string ":" @space @value)* )? "}" @space`},
	{"array", `"[" @space ( @value ("," @space @value)* )? "]" @space`},
}

// primitiveRule renders primitive r with every rule name prefixed.
func primitiveRule(prefix, name, body string) string {
	return prefix + name + " ::= " + strings.ReplaceAll(body, "@", prefix) + "\n"
}

var (
	jsonOnce    sync.Once
	jsonGrammar *Grammar
)

// JSON returns the grammar of format "json": a JSON object at the top
// level (as Ollama requires), with bounded whitespace between tokens.
func JSON() *Grammar {
	jsonOnce.Do(func() {
		var b strings.Builder
		b.WriteString("root ::= object\n")
		for _, r := range jsonPrimitives {
			b.WriteString(primitiveRule("", r.name, r.body))
		}
		jsonGrammar = MustParseGBNF(b.String())
	})
	return jsonGrammar
}

// FromFormat compiles an Ollama-style "format" value: the JSON string
// "json" for any JSON object, or a JSON Schema object. An empty value,
// null or "" means no constraint (nil, nil).
func FromFormat(format json.RawMessage) (*Grammar, error) {
	f := bytes.TrimSpace(format)
	if len(f) == 0 || string(f) == "null" || string(f) == `""` {
		return nil, nil
	}
	if f[0] == '"' {
		var s string
		if err := json.Unmarshal(f, &s); err != nil {
			return nil, fmt.Errorf("grammar: format: %w", err)
		}
		if s == "json" {
			return JSON(), nil
		}
		return nil, fmt.Errorf("grammar: unsupported format %q (want \"json\" or a JSON schema)", s)
	}
	return FromSchema(f)
}

// FromResponseFormat compiles an OpenAI-style "response_format" object:
// {"type":"text"} (no constraint: nil, nil), {"type":"json_object"} (any
// JSON object) or {"type":"json_schema","json_schema":{"schema":{...}}}.
// The schema is enforced whether or not "strict" is set.
func FromResponseFormat(rf json.RawMessage) (*Grammar, error) {
	f := bytes.TrimSpace(rf)
	if len(f) == 0 || string(f) == "null" {
		return nil, nil
	}
	var v struct {
		Type       string `json:"type"`
		JSONSchema *struct {
			Name   string          `json:"name"`
			Schema json.RawMessage `json:"schema"`
			Strict *bool           `json:"strict"`
		} `json:"json_schema"`
	}
	if err := json.Unmarshal(f, &v); err != nil {
		return nil, fmt.Errorf("grammar: response_format: %w", err)
	}
	switch v.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return JSON(), nil
	case "json_schema":
		if v.JSONSchema == nil || len(bytes.TrimSpace(v.JSONSchema.Schema)) == 0 {
			return nil, fmt.Errorf("grammar: response_format json_schema without a schema")
		}
		g, err := FromSchema(v.JSONSchema.Schema)
		if err != nil {
			return nil, fmt.Errorf("grammar: response_format schema %q: %w", v.JSONSchema.Name, err)
		}
		return g, nil
	}
	return nil, fmt.Errorf("grammar: unsupported response_format type %q", v.Type)
}
