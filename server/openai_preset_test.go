package server

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"golem/api"
)

// TestOpenAIPresetOptions checks the option precedence of the "preset"
// extension on /v1/chat/completions: the preset's parameters replace the
// OpenAI defaults (temperature and top_p 1) but never a field the request
// set.
func TestOpenAIPresetOptions(t *testing.T) {
	f := func(x float64) *float64 { return &x }
	n := func(x int) *int { return &x }
	user := []api.Message{{Role: "user", Content: "hi"}}
	for _, tc := range []struct {
		name string
		req  api.ChatCompletionRequest
		want map[string]any
	}{
		{"preset temperature under defaults",
			api.ChatCompletionRequest{Preset: "role", PresetVars: map[string]string{"persona": "a cat"}},
			map[string]any{"temperature": 0.7, "top_p": 1.0}},
		{"explicit temperature wins",
			api.ChatCompletionRequest{Preset: "role", PresetVars: map[string]string{"persona": "a cat"}, Temperature: f(1.5), TopP: f(0.5)},
			map[string]any{"temperature": 1.5, "top_p": 0.5}},
		{"other fields kept",
			api.ChatCompletionRequest{Preset: "step-by-step", MaxTokens: n(7), Seed: n(3), Stop: api.StopValue{"x"}},
			map[string]any{"temperature": 0.2, "top_p": 1.0, "num_predict": 7, "seed": 3, "stop": []string{"x"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.req
			opts := openAIOptions(r.Temperature, r.TopP, r.FrequencyPenalty, r.PresencePenalty, r.MaxTokens, r.Seed, r.Stop)
			msgs, got, err := openAIPreset(&r, user, opts)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("options %v, want %v", got, tc.want)
			}
			if len(msgs) != 2 || msgs[0].Role != "system" || msgs[0].Content == "" || msgs[1].Content != "hi" {
				t.Errorf("messages %+v: want the preset's system prompt, then the user's message", msgs)
			}
		})
	}
}

// TestOpenAIPresetRequests sends "preset" and "preset_vars" to
// /v1/chat/completions: the preset's system prompt (placeholders filled)
// reaches the template, a system or developer message wins over it, and a
// bad preset is a 400 that names the problem.
func TestOpenAIPresetRequests(t *testing.T) {
	te := newToolEnv(t)
	maxTok := 2
	user := []api.OpenAIMessage{{Role: "user", Content: "Why is the sky blue?"}}
	var resp api.ChatCompletion
	te.post("/v1/chat/completions", api.ChatCompletionRequest{Model: "qwen3", Messages: user, MaxTokens: &maxTok,
		Preset: "role", PresetVars: map[string]string{"persona": "a patient physics teacher"}}, 200, &resp)
	if len(resp.Choices) != 1 {
		t.Fatalf("want one choice, got %+v", resp)
	}
	p := te.lastPrompt()
	if !strings.Contains(p, "You are a patient physics teacher.") || !strings.Contains(p, "a curious non-specialist") {
		t.Errorf("prompt lacks the role preset's system prompt:\n%s", p)
	}
	if !strings.Contains(p, "Why is the sky blue?") {
		t.Errorf("prompt lost the user's message:\n%s", p)
	}

	// A developer (system) message wins over the preset's system prompt.
	te.post("/v1/chat/completions", api.ChatCompletionRequest{Model: "qwen3", MaxTokens: &maxTok, Preset: "role",
		PresetVars: map[string]string{"persona": "a pirate"},
		Messages:   append([]api.OpenAIMessage{{Role: "developer", Content: "Be brief."}}, user...)}, 200, nil)
	if p := te.lastPrompt(); strings.Contains(p, "pirate") || !strings.Contains(p, "Be brief.") {
		t.Errorf("explicit system message did not win:\n%s", p)
	}

	// Few-shot examples become turns before the user's message.
	te.post("/v1/chat/completions", api.ChatCompletionRequest{Model: "qwen3", MaxTokens: &maxTok, Messages: user,
		Preset: "few-shot", PresetVars: map[string]string{"examples": "Q: 2+2\nA: 4\n"}}, 200, nil)
	if p := te.lastPrompt(); !strings.Contains(p, "2+2") || strings.Index(p, "2+2") > strings.Index(p, "Why is the sky blue?") {
		t.Errorf("few-shot example missing or after the question:\n%s", p)
	}

	for _, tc := range []struct {
		body api.ChatCompletionRequest
		want string
	}{
		{api.ChatCompletionRequest{Model: "qwen3", Messages: user, Preset: "no-such-preset"}, "no-such-preset"},
		{api.ChatCompletionRequest{Model: "qwen3", Messages: user, Preset: "role"}, "persona"},
		{api.ChatCompletionRequest{Model: "qwen3", Messages: user, Preset: "role",
			PresetVars: map[string]string{"persona": "x", "bogus": "y"}}, "bogus"},
	} {
		code, b := te.do(http.MethodPost, "/v1/chat/completions", tc.body)
		if code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%+v: %d %s, want 400 mentioning %q", tc.body, code, b, tc.want)
		}
	}
}
