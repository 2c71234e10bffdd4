package presets

import (
	"strings"
	"testing"
)

// FuzzParse checks that no preset file makes Parse panic, that whatever
// it accepts can be applied (with every var given) without error or
// unfilled declared placeholders.
func FuzzParse(f *testing.F) {
	for _, p := range Builtin() {
		b, err := builtinFS.ReadFile("builtin/" + p.Name + ".json")
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{"", "{", `{"system": "{{a}}", "vars": [{"name": "a"}]}`, `{"system": "", "parameters": {"stop": ["a", 1]}}`,
		`{"system": "{{ a }} {{b", "vars": [{"name": "a", "default": "{{a}}"}], "messages": [{"role": "user", "content": "{{a}}"}]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Parse("p", "p.json", data)
		if err != nil {
			if p != nil {
				t.Fatal("Parse returned a preset and an error")
			}
			return
		}
		vars := map[string]string{}
		for _, v := range p.Vars {
			vars[v.Name] = "x"
			if v.Name == p.ExamplesVar {
				vars[v.Name] = "Q: q\nA: a"
			}
		}
		a, err := ApplyUntrusted(p, vars, "", nil, nil)
		if err != nil {
			t.Fatalf("Apply of a parsed preset: %v", err)
		}
		for _, v := range p.Vars {
			if strings.Contains(a.System, "{{"+v.Name+"}}") {
				t.Fatalf("placeholder %s left in %q", v.Name, a.System)
			}
		}
	})
}

// FuzzParseExamples checks that no examples text makes ParseExamples
// panic and that what it accepts alternates or is well-formed messages.
func FuzzParseExamples(f *testing.F) {
	for _, s := range []string{"Q: a\nA: b", "{\"q\": \"a\", \"a\": \"b\"}", "# c\nq:x\na:y\n", "{\"role\": \"user\", \"content\": \"c\"}", "Q:", "A:"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		msgs, err := ParseExamples("ex", text)
		if err != nil {
			return
		}
		for _, m := range msgs {
			switch m.Role {
			case "system", "user", "assistant":
			default:
				t.Fatalf("role %q", m.Role)
			}
		}
	})
}
