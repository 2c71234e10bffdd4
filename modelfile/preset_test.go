package modelfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParsePreset(t *testing.T) {
	cases := []struct {
		name, src string
		want      *PresetRef // nil: no PRESET
		err       string     // substring of the error, with its line
	}{
		{"bare", "FROM x\nPRESET meta\n", &PresetRef{Name: "meta", Vars: map[string]string{}, Line: 2}, ""},
		{"bare at end of file, trailing spaces", "FROM x\npreset step-by-step  ", &PresetRef{Name: "step-by-step", Vars: map[string]string{}, Line: 2}, ""},
		{"vars", "FROM x\nPRESET structured task=\"Review \\\"this\\\" diff\" role=reviewer\n",
			&PresetRef{Name: "structured", Vars: map[string]string{"task": `Review "this" diff`, "role": "reviewer"}, Line: 2}, ""},
		{"escapes", "FROM x\nPRESET structured constraints=\"- a\\n- b\" x=\"c:\\\\d\"\n",
			&PresetRef{Name: "structured", Vars: map[string]string{"constraints": "- a\n- b", "x": `c:\d`}, Line: 2}, ""},
		{"multi-line", "FROM x\nPRESET role \"\"\"\n  persona=\"a pirate\"\n  audience=children\n\"\"\"\n",
			&PresetRef{Name: "role", Vars: map[string]string{"persona": "a pirate", "audience": "children"}, Line: 2}, ""},
		{"none", "FROM x\nSYSTEM hi\n", nil, ""},
		{"no name", "FROM x\nPRESET \n", nil, "line 2: PRESET: expected a preset name"},
		{"bad pair", "FROM x\nPRESET structured task\n", nil, "line 2: PRESET structured: expected key=value"},
		{"unterminated", "FROM x\nPRESET structured task=\"abc\n", nil, "line 2: PRESET structured: task: unterminated"},
		{"junk after quote", "FROM x\nPRESET s a=\"b\"c\n", nil, "line 2: PRESET s: a: expected whitespace"},
		{"duplicate key", "FROM x\nPRESET s a=1 a=2\n", nil, "line 2: PRESET s: a is given twice"},
		{"two presets", "FROM x\nPRESET meta\nPRESET guardrail\n", nil, "line 3: a second PRESET"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := ParseString(c.src)
			var ref *PresetRef
			if err == nil {
				ref, err = f.PresetRef()
			}
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(ref, c.want) {
				t.Errorf("got %+v, want %+v", ref, c.want)
			}
			// Format must read back to the same PRESET.
			g, err := ParseString(f.Format())
			if err != nil {
				t.Fatalf("Format output %q does not parse: %v", f.Format(), err)
			}
			if !reflect.DeepEqual(stripLines(g.Commands), stripLines(f.Commands)) {
				t.Errorf("round trip: %q -> %q", f.Commands, g.Commands)
			}
		})
	}
}
