package chat

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golem/internal/fixtures"
)

// FuzzRender checks that arbitrary template sources never panic or hang:
// Parse and Render either succeed or return an error.
func FuzzRender(f *testing.F) {
	for _, s := range []string{
		"{{ x }}", "{% for a in xs %}{{ loop.index }}{% endfor %}", "{% macro m(a=1) %}{{ a }}{% endmacro %}{{ m(2) }}",
		"{{ d|tojson(indent=2) }}", "{%- if x is defined -%}{{ x[1:] }}{%- endif %}", "{% set ns = namespace(a=[]) %}{{ ns.a }}",
	} {
		f.Add(s)
	}
	if dir := filepath.Join(fixtures.Root(), "chat-templates", "templates"); dirExists(dir) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if src, err := os.ReadFile(filepath.Join(dir, e.Name())); err == nil {
				f.Add(string(src))
			}
		}
	}
	vars := map[string]any{
		"x":        "hello",
		"xs":       []any{int64(1), "two", nil},
		"d":        map[string]any{"a": []any{true, 1.5}},
		"messages": []Message{{Role: "user", Content: "hi"}, {Role: "assistant", NullContent: true, ToolCalls: []ToolCall{{ID: "c1", Name: "f", Arguments: map[string]any{"k": "v"}}}}},
		"tools":    []any{map[string]any{"type": "function", "function": map[string]any{"name": "f", "parameters": map[string]any{"type": "object"}}}},
	}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		tmpl.Now = fixedClock
		for _, mut := range []bool{false, true} {
			tmpl.AllowMutation = mut
			start := time.Now()
			_, _ = tmpl.Render(vars)
			if d := time.Since(start); d > 10*time.Second {
				t.Fatalf("render took %v", d)
			}
		}
	})
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}
