package toolcall

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"golem/grammar"
)

var forceTools = []Tool{
	{Name: "get_weather", Parameters: json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"},"unit":{"enum":["celsius","fahrenheit"]}},"required":["city","unit"]}`)},
	{Name: "roll", Parameters: json.RawMessage(`{"type":"object","properties":{"sides":{"type":"integer","minimum":2,"maximum":100}},"required":["sides"]}`)},
	{Name: "now"},
}

func accepts(g *grammar.Grammar, s string) bool {
	m := grammar.NewMatcher(g)
	return m.AcceptString(s) && m.Accepting()
}

// TestForcingGrammar checks, for each format with a forcing grammar, that
// calls written in the family's syntax are accepted and parse back to the
// same call, and that wrong names, arguments and syntax are refused.
func TestForcingGrammar(t *testing.T) {
	for _, tc := range []struct {
		format Format
		wrap   func(name, args string) string
	}{
		{FormatHermes, func(n, a string) string {
			return "<tool_call>\n{\"name\": \"" + n + "\", \"arguments\": " + a + "}\n</tool_call>"
		}},
		{FormatQwenXML, func(n, a string) string {
			return "<tool_call>\n{\"name\": \"" + n + "\", \"arguments\": " + a + "}\n</tool_call>"
		}},
		{FormatLlama3, func(n, a string) string { return "{\"name\": \"" + n + "\", \"parameters\": " + a + "}" }},
		{FormatMistral, func(n, a string) string { return "[TOOL_CALLS][{\"name\": \"" + n + "\", \"arguments\": " + a + "}]" }},
	} {
		t.Run(tc.format.String(), func(t *testing.T) {
			g, err := ForcingGrammar(tc.format, forceTools)
			if err != nil {
				t.Fatal(err)
			}
			good := []struct{ name, args string }{
				{"get_weather", `{"city": "Oslo", "unit": "celsius"}`},
				{"get_weather", `{"city":"Paris, \"FR\"","unit":"fahrenheit"}`},
				{"roll", `{"sides": 20}`},
				{"now", `{}`},
				{"now", `{"anything": [1, 2]}`},
			}
			for _, c := range good {
				text := tc.wrap(c.name, c.args)
				if !accepts(g, text) {
					t.Errorf("refuses %q", text)
					continue
				}
				content, calls, err := Parse(tc.format, text)
				if err != nil || strings.TrimSpace(content) != "" || len(calls) != 1 || calls[0].Name != c.name {
					t.Errorf("%q parses to content %q calls %+v (%v)", text, content, calls, err)
					continue
				}
				var want map[string]any
				json.Unmarshal([]byte(c.args), &want)
				got, _ := json.Marshal(calls[0].Arguments)
				wantJ, _ := json.Marshal(want)
				if string(got) != string(wantJ) {
					t.Errorf("%q: arguments %s, want %s", text, got, wantJ)
				}
			}
			bad := []string{
				tc.wrap("get_weather", `{"city": "Oslo"}`),
				tc.wrap("get_weather", `{"city": "Oslo", "unit": "kelvin"}`),
				tc.wrap("roll", `{"sides": 1}`),
				tc.wrap("roll", `{"sides": "6"}`),
				tc.wrap("delete_all", `{}`),
				tc.wrap("now", `[]`),
				"Sure! " + tc.wrap("now", `{}`),
				tc.wrap("now", `{}`) + tc.wrap("now", `{}`),
			}
			for _, s := range bad {
				if accepts(g, s) {
					t.Errorf("accepts %q", s)
				}
			}
		})
	}
}

func TestForcingGrammarErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		format Format
		tools  []Tool
		is     error
		msg    string
	}{
		{"no forcing for granite", FormatGranite, forceTools, ErrNoForcing, "granite"},
		{"no forcing for none", FormatNone, forceTools, ErrNoForcing, "none"},
		{"no tools", FormatHermes, nil, nil, "no tools"},
		{"unnamed", FormatHermes, []Tool{{}}, nil, "no name"},
		{"duplicate", FormatHermes, []Tool{{Name: "a"}, {Name: "a"}}, nil, "twice"},
		{"unsupported schema", FormatHermes, []Tool{{Name: "a", Parameters: json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","multipleOf":3}}}`)}}, grammar.ErrUnsupported, "multipleOf"},
		{"invalid schema", FormatHermes, []Tool{{Name: "a", Parameters: json.RawMessage(`{"type":`)}}, nil, "tool \"a\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ForcingGrammar(tc.format, tc.tools)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not mention %q", err, tc.msg)
			}
		})
	}
}

// TestForcingNameEscaping: a tool name with quotes and backslashes is
// written as a JSON string and parses back unchanged.
func TestForcingNameEscaping(t *testing.T) {
	name := `odd "name" \ here`
	g, err := ForcingGrammar(FormatHermes, []Tool{{Name: name}})
	if err != nil {
		t.Fatal(err)
	}
	q, _ := json.Marshal(name)
	text := "<tool_call>\n{\"name\": " + string(q) + ", \"arguments\": {}}\n</tool_call>"
	if !accepts(g, text) {
		t.Fatalf("refuses %q", text)
	}
	_, calls, _ := Parse(FormatHermes, text)
	if len(calls) != 1 || calls[0].Name != name {
		t.Errorf("parsed %+v", calls)
	}
}
