package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golem/internal/fixtures"
)

// presetHome points GOLEM_HOME at a directory with the given user preset
// files (name → JSON) and returns it.
func presetHome(t *testing.T, files map[string]string) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("GOLEM_HOME", home)
	dir := filepath.Join(home, "presets")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		writeFile(t, filepath.Join(dir, name), body)
	}
	return home
}

// TestPresetsCommand lists and shows presets, built-in and the user's,
// and reports a bad user file with its line without failing the list.
func TestPresetsCommand(t *testing.T) {
	presetHome(t, map[string]string{
		"haiku.json":  `{"description": "Answer in a haiku", "system": "Write a haiku about {{topic}}.", "vars": [{"name": "topic", "default": "the sea"}]}`,
		"broken.json": "{\n\"system\": \"x\",\n\"bogus\": 1\n}",
	})
	out, errOut, err := cli(t, "", "presets")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !regexp.MustCompile(`^NAME +DESCRIPTION +SOURCE$`).MatchString(lines[0]) || len(lines) != 8 {
		t.Fatalf("presets printed %d lines:\n%s", len(lines), out)
	}
	for i, name := range []string{"few-shot", "guardrail", "haiku", "meta", "role", "step-by-step", "structured"} {
		src := "builtin"
		if name == "haiku" {
			src = "user"
		}
		if f := strings.Fields(lines[i+1]); f[0] != name || f[len(f)-1] != src {
			t.Errorf("line %d: %q, want %s ... %s", i+1, lines[i+1], name, src)
		}
	}
	if !strings.Contains(errOut, "broken.json:3: unknown field \"bogus\"") {
		t.Errorf("no warning about broken.json:3 on stderr: %q", errOut)
	}

	out, _, err = cli(t, "", "presets", "show", "structured")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Name:        structured", "Source:      builtin", "Variables (--var NAME=VALUE):",
		"task", "(required)", "default an expert", "Parameters:\n  temperature          0.3", "System:\n  You are {{role}}."} {
		if !strings.Contains(out, want) {
			t.Errorf("presets show structured lacks %q:\n%s", want, out)
		}
	}
	out, _, _ = cli(t, "", "presets", "show", "step-by-step")
	if !strings.Contains(out, `Answer line: "Final answer:"`) {
		t.Errorf("presets show step-by-step:\n%s", out)
	}
	_, _, err = cli(t, "", "presets", "show", "nope")
	if err == nil || !strings.Contains(err.Error(), `unknown preset "nope": available presets are few-shot, guardrail, haiku, meta`) {
		t.Errorf("presets show nope: %v", err)
	}
	_, _, err = cli(t, "", "presets", "show", "broken")
	if err == nil || !strings.Contains(err.Error(), "broken.json:3") {
		t.Errorf("presets show broken: %v", err)
	}
}

// TestRunPresetErrors: mistakes with --preset, --var, --think and
// --answer-only are reported before any model loads.
func TestRunPresetErrors(t *testing.T) {
	presetHome(t, nil)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "nope"}, `--preset: unknown preset "nope": available presets are few-shot, guardrail, meta, role, step-by-step, structured`},
		{[]string{"--preset", "structured"}, "preset structured: no value for task (what to do, in one or two sentences): give each with --var NAME=VALUE"},
		{[]string{"--preset", "structured", "--var", "tsk=x"}, "unknown preset variable tsk (it takes: role, task, constraints, exclusions)"},
		{[]string{"--preset", "meta", "--var", "novalue"}, `--var "novalue": want NAME=VALUE`},
		{[]string{"--var", "a=b"}, "--var needs --preset"},
		{[]string{"--preset", "meta", "--raw"}, "cannot be used with --raw"},
		{[]string{"--answer-only"}, "--answer-only needs a --preset with an answer line"},
		{[]string{"--preset", "meta", "--answer-only"}, "--answer-only needs a --preset with an answer line"},
		{[]string{"--think=maybe"}, `--think: want true, false, low, medium or high, not "maybe"`},
		{[]string{"--preset", "few-shot", "--var", "examples=/no/such/file"}, "preset few-shot: examples: open /no/such/file"},
	}
	for _, c := range cases {
		args := append(append([]string{"run"}, c.args...), weights, "hi")
		_, _, err := cli(t, "", args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("golem %v: error %v, want it to contain %q", args, err, c.want)
		}
	}
}

// TestRunPresetLayers runs stories260K models with presets, directly and
// through a server, checking every layer against llama.cpp's greedy
// continuation of "Once upon a time": the preset's system prompt fills
// the template's .System, its num_predict overrides the model's PARAMETER
// and a flag overrides the preset; few-shot examples become turns.
func TestRunPresetLayers(t *testing.T) {
	home := presetHome(t, map[string]string{
		"once.json":  `{"description": "d", "system": "{{opening}}", "vars": [{"name": "opening", "default": "Once upon"}], "parameters": {"num_predict": 8}}`,
		"shots.json": `{"description": "d", "system": "", "vars": [{"name": "ex"}], "examples_var": "ex"}`,
	})
	shots := writeFile(t, filepath.Join(home, "shots.txt"), "Q: Once\nA: upon\n")
	mods := map[string]string{
		"sys":  "PARAMETER temperature 0\nPARAMETER num_predict 16\nTEMPLATE \"{{ .System }} {{ .Prompt }}\"\n",
		"hist": "PARAMETER temperature 0\nPARAMETER num_predict 16\nTEMPLATE \"{{ range .Messages }}{{ .Content }} {{ end }}\"\n",
	}
	weights := fixtures.Path(t, "models/stories260K.gguf")
	raw := func(prompt string, n string) string {
		t.Helper()
		out, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", n, weights, prompt)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--preset", "once", "sys", "a time"}, storiesGolden(t, 8) + "\n"},
		{[]string{"--preset", "once", "--num-predict", "4", "sys", "a time"}, storiesGolden(t, 4) + "\n"},
		{[]string{"--preset", "once", "--var", "opening=There was", "sys", "a dog"}, raw("There was a dog", "8")},
		{[]string{"--preset", "once", "--system", "There was", "sys", "a dog"}, raw("There was a dog", "8")},
		{[]string{"--preset", "shots", "--var", "ex=" + shots, "hist", "a"}, raw("Once upon a ", "16")},
	}
	check := func(mode string) {
		for _, c := range cases {
			args := append([]string{"run"}, c.args...)
			out, errOut, err := cli(t, "", args...)
			if err != nil {
				t.Fatalf("%s: golem %v: %v\n%s", mode, args, err, errOut)
			}
			if out != c.want {
				t.Errorf("%s: golem %v printed\n%q\nwant\n%q", mode, args, out, c.want)
			}
		}
	}
	// Direct: the models are in a local store and no server answers.
	newTestStore(t)
	dir := t.TempDir()
	for name, body := range mods {
		mf := writeFile(t, filepath.Join(dir, name+".Modelfile"), "FROM "+weights+"\n"+body)
		if _, log, err := golem(t, "create", name, "-f", mf); err != nil {
			t.Fatalf("create %s: %v\n%s", name, err, log)
		}
	}
	check("direct")
	// Through a server (chat requests carrying the preset's messages).
	storiesServer(t, mods)
	check("server")
}

// TestCreatePreset bakes a preset into a model with a PRESET line and runs
// it: the stored model has plain SYSTEM/PARAMETER layers and answers as
// the preset applied at run time does.
func TestCreatePreset(t *testing.T) {
	presetHome(t, map[string]string{
		"once.json": `{"description": "d", "system": "{{opening}}", "vars": [{"name": "opening"}], "parameters": {"num_predict": 8, "temperature": 0}}`,
	})
	newTestStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	mf := writeFile(t, filepath.Join(t.TempDir(), "Modelfile"), "FROM "+weights+"\nTEMPLATE \"{{ .System }} {{ .Prompt }}\"\nPRESET once opening=\"Once upon\"\n")
	if _, log, err := golem(t, "create", "baked", "-f", mf); err != nil {
		t.Fatalf("create: %v\n%s", err, log)
	}
	out, _, err := cli(t, "", "show", "--modelfile", "baked")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "PRESET") || !strings.Contains(out, "SYSTEM Once upon") || !strings.Contains(out, "PARAMETER num_predict 8") {
		t.Errorf("show --modelfile baked:\n%s", out)
	}
	out, _, err = cli(t, "", "run", "baked", "a time")
	if err != nil {
		t.Fatal(err)
	}
	if want := storiesGolden(t, 8) + "\n"; out != want {
		t.Errorf("run baked printed %q, want %q", out, want)
	}
	// Through a server: the CLI expands the PRESET into the request.
	storiesServer(t, nil)
	if _, log, err := golem(t, "create", "baked2", "-f", mf); err != nil {
		t.Fatalf("create through the server: %v\n%s", err, log)
	}
	out, _, err = cli(t, "", "show", "--system", "baked2")
	if err != nil || out != "Once upon\n" {
		t.Errorf("show --system baked2 through the server: %v %q", err, out)
	}
	out, _, err = cli(t, "", "run", "baked2", "a time")
	if err != nil {
		t.Fatal(err)
	}
	if want := storiesGolden(t, 8) + "\n"; out != want {
		t.Errorf("run baked2 through the server printed %q, want %q", out, want)
	}
	bad := writeFile(t, filepath.Join(t.TempDir(), "Modelfile"), "FROM "+weights+"\nPRESET once\n")
	if _, _, err := golem(t, "create", "bad", "-f", bad); err == nil || !strings.Contains(err.Error(), "line 2: PRESET once: preset once: no value for opening") {
		t.Errorf("create with a missing var: %v", err)
	}
}
