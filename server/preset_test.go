package server

import (
	"net/http"
	"strings"
	"testing"

	"golem/api"
)

// TestPresetRequests checks the "preset" field of /api/chat and
// /api/generate: the preset's system prompt (with its placeholders
// filled) reaches the template, an explicit system prompt wins, and bad
// presets are 400s that say what is wrong.
func TestPresetRequests(t *testing.T) {
	te := newToolEnv(t)
	opts := map[string]any{"num_predict": 2, "temperature": 0}
	user := []api.Message{{Role: "user", Content: "Why is the sky blue?"}}

	te.post("/api/chat", api.ChatRequest{Model: "qwen3", Messages: user, Options: opts,
		Preset: "role", PresetVars: map[string]string{"persona": "a patient physics teacher"}}, 200, nil)
	p := te.lastPrompt()
	if !strings.Contains(p, "You are a patient physics teacher.") || !strings.Contains(p, "a curious non-specialist") {
		t.Errorf("chat prompt lacks the role preset's system prompt:\n%s", p)
	}
	if !strings.Contains(p, "Why is the sky blue?") {
		t.Errorf("chat prompt lost the user's message:\n%s", p)
	}

	// An explicit system message wins over the preset's.
	te.post("/api/chat", api.ChatRequest{Model: "qwen3", Options: opts, Preset: "role",
		PresetVars: map[string]string{"persona": "a pirate"},
		Messages:   append([]api.Message{{Role: "system", Content: "Be brief."}}, user...)}, 200, nil)
	if p := te.lastPrompt(); strings.Contains(p, "pirate") || !strings.Contains(p, "Be brief.") {
		t.Errorf("explicit system message did not win:\n%s", p)
	}

	te.post("/api/generate", api.GenerateRequest{Model: "qwen3", Prompt: "Why is the sky blue?", Options: opts,
		Preset: "role", PresetVars: map[string]string{"persona": "a sailor"}}, 200, nil)
	if p := te.lastPrompt(); !strings.Contains(p, "You are a sailor.") {
		t.Errorf("generate prompt lacks the preset's system prompt:\n%s", p)
	}

	for _, tc := range []struct {
		path string
		body any
		want string
	}{
		{"/api/chat", api.ChatRequest{Model: "qwen3", Messages: user, Preset: "no-such-preset"}, "no-such-preset"},
		{"/api/chat", api.ChatRequest{Model: "qwen3", Messages: user, Preset: "role"}, "persona"},
		{"/api/chat", api.ChatRequest{Model: "qwen3", Messages: user, Preset: "role",
			PresetVars: map[string]string{"persona": "x", "bogus": "y"}}, "bogus"},
		{"/api/generate", api.GenerateRequest{Model: "qwen3", Prompt: "hi", Preset: "few-shot",
			PresetVars: map[string]string{"examples": "Q: 1+1\nA: 2\n"}}, "/api/chat"},
	} {
		code, b := te.do(http.MethodPost, tc.path, tc.body)
		if code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("%s %+v: %d %s, want 400 mentioning %q", tc.path, tc.body, code, b, tc.want)
		}
	}
}
