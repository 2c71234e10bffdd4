package toolcall

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"golem/grammar"
)

// Tool is a function the model may call, as the forcing grammar needs it:
// its name and the JSON Schema of its arguments object (nil or empty: any
// JSON object).
type Tool struct {
	Name       string
	Parameters json.RawMessage
}

// ErrNoForcing is returned by ForcingGrammar for a format whose call
// syntax it cannot write.
var ErrNoForcing = errors.New("no forcing grammar for this tool-call format")

// ForcingGrammar compiles ForcingGBNF's grammar.
func ForcingGrammar(format Format, tools []Tool) (*grammar.Grammar, error) {
	src, err := ForcingGBNF(format, tools)
	if err != nil {
		return nil, err
	}
	g, err := grammar.ParseGBNF(src)
	if err != nil {
		return nil, fmt.Errorf("toolcall: forcing grammar: %w", err)
	}
	return g, nil
}

// ForcingGBNF returns GBNF text whose sentences are exactly one tool
// call in format's syntax, calling one of tools with arguments that
// validate against that tool's parameters schema (compiled with
// grammar.SchemaToGBNFRule). It is what tool_choice "required" or a named
// function compiles to. The call is written the way the family's chat
// template writes calls in past turns, so the model's own habits fit it:
//
//	hermes, qwen-xml: <tool_call>\n{"name": "NAME", "arguments": {...}}\n</tool_call>
//	llama3:           {"name": "NAME", "parameters": {...}}
//	mistral:          [TOOL_CALLS][{"name": "NAME", "arguments": {...}}]
//
// Other formats give an error wrapping ErrNoForcing; a parameters schema
// the grammar package cannot enforce gives its error (wrapping
// grammar.ErrUnsupported when that is the reason).
func ForcingGBNF(format Format, tools []Tool) (string, error) {
	if len(tools) == 0 {
		return "", errors.New("toolcall: forcing grammar: no tools")
	}
	var open, argKey, close string
	switch format {
	case FormatHermes, FormatQwenXML:
		open, argKey, close = "<tool_call>\n{\"name\": ", "arguments", "}\n</tool_call>"
	case FormatLlama3:
		open, argKey, close = "{\"name\": ", "parameters", "}"
	case FormatMistral:
		open, argKey, close = "[TOOL_CALLS][{\"name\": ", "arguments", "}]"
	default:
		return "", fmt.Errorf("toolcall: %w (%s)", ErrNoForcing, format)
	}
	var b, rules strings.Builder
	b.WriteString("root ::= " + grammar.QuoteGBNF(open) + " (")
	seen := map[string]bool{}
	for i, t := range tools {
		if t.Name == "" {
			return "", fmt.Errorf("toolcall: forcing grammar: tool %d has no name", i)
		}
		if seen[t.Name] {
			return "", fmt.Errorf("toolcall: forcing grammar: tool %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		schema := t.Parameters
		if s := strings.TrimSpace(string(schema)); s == "" || s == "null" || s == "{}" {
			schema = json.RawMessage(`{"type":"object"}`)
		}
		rule := fmt.Sprintf("tool%d-args", i)
		r, err := grammar.SchemaToGBNFRule(schema, rule)
		if err != nil {
			return "", fmt.Errorf("tool %q parameters: %w", t.Name, err)
		}
		rules.WriteString(r)
		name, _ := json.Marshal(t.Name)
		if i > 0 {
			b.WriteString(" |")
		}
		fmt.Fprintf(&b, " %s %s", grammar.QuoteGBNF(string(name)+", \""+argKey+"\": "), rule)
	}
	b.WriteString(" ) " + grammar.QuoteGBNF(close) + "\n")
	b.WriteString(rules.String())
	return b.String(), nil
}
