package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/tokenizer"
)

// storiesGolden returns llama.cpp's greedy continuation of "Once upon a
// time" by stories260K, cut to its first n tokens' text.
func storiesGolden(t *testing.T, n int) string {
	t.Helper()
	var exp struct {
		Prompt string  `json:"prompt"`
		IDs    []int32 `json:"generated_token_ids"`
	}
	b, err := os.ReadFile(fixtures.Path(t, "models/stories260K.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if exp.Prompt != "Once upon a time" || len(exp.IDs) < n {
		t.Fatalf("unexpected golden file: prompt %q, %d tokens", exp.Prompt, len(exp.IDs))
	}
	f, err := gguf.Open(fixtures.Path(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, id := range exp.IDs[:n] {
		sb.Write(tok.Piece(id))
	}
	return sb.String()
}

// TestRunStoredModelLayers runs models created from Modelfiles by name:
// their PARAMETERs (greedy, 16 tokens), SYSTEM and Go TEMPLATE must apply,
// with flags the user sets taking precedence.
func TestRunStoredModelLayers(t *testing.T) {
	newTestStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	want16 := storiesGolden(t, 16)
	dir := t.TempDir()
	create := func(name, body string) {
		t.Helper()
		mf := writeFile(t, filepath.Join(dir, name+".Modelfile"), "FROM "+weights+"\nPARAMETER temperature 0\nPARAMETER num_predict 16\n"+body)
		if _, log, err := golem(t, "create", name, "-f", mf); err != nil {
			t.Fatalf("create %s: %v\n%s", name, err, log)
		}
	}
	// The template leaves only the prompt: exactly llama.cpp's first 16
	// tokens, with no sampling flags given.
	create("plain", "SYSTEM Ignored by the template.\nTEMPLATE \"{{ .Prompt }}\"\n")
	out, err := runCLI(t, "run", "plain", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if out != want16+"\n" {
		t.Errorf("run plain printed\n%q\nllama.cpp's first 16 tokens\n%q", out, want16)
	}
	// A flag the user sets wins over the PARAMETER.
	if out, err := runCLI(t, "run", "--num-predict", "64", "plain", "Once upon a time"); err != nil {
		t.Fatal(err)
	} else if !strings.HasPrefix(out, want16) || len(out) <= len(want16)+1 {
		t.Errorf("--num-predict 64 did not override PARAMETER num_predict 16: %q", out)
	}

	// SYSTEM and the prompt through "{{ .System }} {{ .Prompt }}" must give
	// what the rendered text gives raw; --system replaces SYSTEM.
	create("sys", "SYSTEM Once upon\nTEMPLATE \"{{ .System }} {{ .Prompt }}\"\n")
	for _, c := range []struct {
		args     []string
		rendered string
	}{
		{[]string{"run", "sys", "a time"}, "Once upon a time"},
		{[]string{"run", "--system", "There was", "sys", "a dog"}, "There was a dog"},
	} {
		got, err := runCLI(t, c.args...)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", "16", weights, c.rendered)
		if err != nil {
			t.Fatal(err)
		}
		if got != raw {
			t.Errorf("%v printed\n%q\nraw %q gives\n%q", c.args, got, c.rendered, raw)
		}
	}
	if got, _ := runCLI(t, "run", "sys", "a time"); got != want16+"\n" {
		t.Errorf("SYSTEM+TEMPLATE rendering \"Once upon a time\" printed %q, llama.cpp %q", got, want16)
	}

	// MESSAGE history is rendered through .Messages.
	create("hist", "MESSAGE user Once\nMESSAGE assistant upon\nTEMPLATE \"{{ range .Messages }}{{ .Content }} {{ end }}\"\n")
	got, err := runCLI(t, "run", "hist", "a")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", "16", weights, "Once upon a ")
	if err != nil {
		t.Fatal(err)
	}
	if got != raw {
		t.Errorf("MESSAGE history: printed %q, raw \"Once upon a \" gives %q", got, raw)
	}

	// A broken template is refused at create time.
	mf := writeFile(t, filepath.Join(dir, "bad.Modelfile"), "FROM "+weights+"\nTEMPLATE \"{{ .Prompt \"\n")
	if _, _, err := golem(t, "create", "bad", "-f", mf); err == nil || !strings.Contains(err.Error(), "template") {
		t.Errorf("create with a broken template: %v", err)
	}
}
