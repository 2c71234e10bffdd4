package main

import (
	"bytes"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"golem/internal/fixtures"
)

// runCLI runs the golem command line in-process and returns its stdout.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

// TestRunStoriesMatchesLlamaCpp is the README's main command: greedy
// output must be exactly llama.cpp's continuation.
func TestRunStoriesMatchesLlamaCpp(t *testing.T) {
	model := fixtures.Path(t, "models/stories260K.gguf")
	var exp struct {
		GeneratedText string `json:"generated_text"`
	}
	b, err := os.ReadFile(fixtures.Path(t, "models/stories260K.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", "64", model, "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if out != exp.GeneratedText+"\n" {
		t.Errorf("golem run printed\n%q\nllama.cpp\n%q", out, exp.GeneratedText)
	}
}

func TestRunErrors(t *testing.T) {
	t.Setenv("GOLEM_MODELS", t.TempDir())
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"run", "no-such-model"}, "neither a GGUF file nor a model in the store"},
		{[]string{"run", "missing.gguf", "hi"}, "neither a GGUF file nor a model in the store"},
		{[]string{"run", "--temperature", "abc", "x.gguf"}, "invalid argument"},
		{[]string{"run", fixtures.Path(t, "models/tiny/bert-tiny.gguf"), "hi"}, "embedding model"},
		{[]string{"run", fixtures.Path(t, "golden/README.md"), "hi"}, "not a GGUF file"},
	}
	for _, c := range cases {
		_, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("golem %v: error %v, want it to mention %q", c.args, err, c.want)
		}
	}
}

func TestShowFile(t *testing.T) {
	out, err := runCLI(t, "show", fixtures.Path(t, "models/quant/llama-q256-Q4_K_M.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"architecture", "llama", "parameters", "1.31M", "context length", "embedding length", "256", "Q4_K_M", "Tokenizer"} {
		if !strings.Contains(out, want) {
			t.Errorf("show output lacks %q:\n%s", want, out)
		}
	}
}
