package models

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golem/internal/fixtures"
	"golem/modelfile"
	"golem/presets"
)

// TestExpandPreset checks the commands a PRESET line expands into and
// that the Modelfile's own SYSTEM, PARAMETERs and MESSAGEs win.
func TestExpandPreset(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "shots.txt"), []byte("Q: 1+1\nA: 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := presets.Load("")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		src  string
		want []string // Format() lines after FROM
		err  string
	}{
		{"step-by-step", "FROM x\nPRESET step-by-step\n", []string{
			"SYSTEM " + mustSystem(t, set, "step-by-step", nil),
			"PARAMETER temperature 0.2",
		}, ""},
		{"own SYSTEM and PARAMETER win", "FROM x\nSYSTEM Mine.\nPARAMETER temperature 0.9\nPRESET structured task=\"Sum up\"\n", []string{
			"SYSTEM Mine.", "PARAMETER temperature 0.9",
		}, ""},
		{"few-shot file relative to the Modelfile, before own MESSAGEs", "FROM x\nMESSAGE user hi\nMESSAGE assistant hello\nPRESET few-shot examples=shots.txt\n", []string{
			"MESSAGE user 1+1", "MESSAGE assistant 2", "MESSAGE user hi", "MESSAGE assistant hello",
			"SYSTEM " + mustSystem(t, set, "few-shot", map[string]string{"examples": filepath.Join(dir, "shots.txt")}),
			"PARAMETER temperature 0.2",
		}, ""},
		{"unknown preset", "FROM x\n\nPRESET nope\n", nil, "line 3: PRESET nope: unknown preset \"nope\": available presets are few-shot, guardrail, meta, role, step-by-step, structured"},
		{"missing var", "FROM x\nPRESET role\n", nil, "line 2: PRESET role: preset role: no value for persona"},
		{"unknown var", "FROM x\nPRESET meta tone=dry\n", nil, "line 2: PRESET meta: preset meta: unknown preset variable tone"},
		{"missing examples file", "FROM x\nPRESET few-shot examples=none.txt\n", nil, "line 2: PRESET few-shot: preset few-shot: examples:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mf, err := modelfile.ParseString(c.src)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ExpandPreset(mf, set, dir)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrInvalid) {
					t.Fatalf("error %v, want ErrInvalid containing %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSuffix(got.Format(), "\n"), "\n")
			if lines[0] != "FROM x" {
				t.Fatalf("first line %q", lines[0])
			}
			// Compare as parsed commands (SYSTEM texts are quoted when multi-line).
			want, err := modelfile.ParseString("FROM x\n" + strings.Join(quoteLines(c.want), "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(stripLine(got.Commands), stripLine(want.Commands)) {
				t.Errorf("expanded to\n%s\nwant\n%s", got.Format(), want.Format())
			}
		})
	}
}

// quoteLines re-quotes "INSTR text" lines whose text needs quoting.
func quoteLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		if v, ok := strings.CutPrefix(l, "SYSTEM "); ok {
			l = "SYSTEM " + modelfile.Quote(v)
		}
		out[i] = l
	}
	return out
}

func stripLine(cmds []modelfile.Command) []modelfile.Command {
	out := make([]modelfile.Command, len(cmds))
	for i, c := range cmds {
		c.Line = 0
		out[i] = c
	}
	return out
}

func mustSystem(t *testing.T, set *presets.Set, name string, vars map[string]string) string {
	t.Helper()
	p, err := set.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	a, err := presets.Apply(p, vars, "", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a.System
}

// TestCreateWithPreset creates a model from a Modelfile with a PRESET
// (from a user preset file in $GOLEM_HOME/presets) and checks the layers
// of the stored model: plain SYSTEM, params and messages, no PRESET.
func TestCreateWithPreset(t *testing.T) {
	home := t.TempDir()
	t.Setenv("GOLEM_HOME", home)
	if err := os.MkdirAll(filepath.Join(home, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "presets", "tutor.json"), []byte(`{
  "description": "A tutor",
  "system": "You teach {{subject}}.",
  "vars": [{"name": "subject"}],
  "parameters": {"temperature": 0.4, "stop": ["Q:", "###"], "num_predict": 32},
  "messages": [{"role": "user", "content": "What is {{subject}}?"}, {"role": "assistant", "content": "A subject."}]
}`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	create(t, s, "tutor", "FROM "+weights+"\nPRESET tutor subject=\"plane geometry\"\nPARAMETER num_predict 8\n", "")
	m, err := Resolve(s, "tutor")
	if err != nil {
		t.Fatal(err)
	}
	if m.System != "You teach plane geometry." {
		t.Errorf("system %q", m.System)
	}
	wantParams := [][2]any{{"num_predict", float64(8)}, {"stop", "Q:"}, {"stop", "###"}, {"temperature", 0.4}}
	if got := m.ParamValues(); !reflect.DeepEqual(got, wantParams) {
		t.Errorf("params %v, want %v", got, wantParams)
	}
	if len(m.Messages) != 2 || m.Messages[0].Content != "What is plane geometry?" || m.Messages[1].Role != "assistant" {
		t.Errorf("messages %+v", m.Messages)
	}
	if strings.Contains(m.Modelfile(), "PRESET") {
		t.Errorf("the stored Modelfile still names the preset:\n%s", m.Modelfile())
	}
	mf, _ := modelfile.ParseString("FROM " + weights + "\nPRESET tutor\n")
	if err := Create(s, "bad", mf, CreateOptions{}); err == nil || !strings.Contains(err.Error(), "no value for subject") {
		t.Errorf("create without the required var: %v", err)
	}
}
