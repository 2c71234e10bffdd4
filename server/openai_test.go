package server

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"golem/api"
	"golem/internal/fixtures"
)

func TestOpenAIChatCompletions(t *testing.T) {
	e := newEnv(t, nil)
	req := map[string]any{"model": "stories", "messages": []any{
		map[string]any{"role": "user", "content": "Once upon a time"}},
		"temperature": 0, "max_tokens": 10, "seed": 42}
	var one api.ChatCompletion
	e.post("/v1/chat/completions", req, 200, &one)
	if one.Object != "chat.completion" || !strings.HasPrefix(one.ID, "chatcmpl-") || len(one.Choices) != 1 {
		t.Fatalf("answer %+v", one)
	}
	c := one.Choices[0]
	text, _ := c.Message.Content.(string)
	if c.Message.Role != "assistant" || text == "" || *c.FinishReason != "length" ||
		one.Usage.CompletionTokens != 10 || one.Usage.TotalTokens != one.Usage.PromptTokens+10 {
		t.Errorf("choice %+v usage %+v", c, one.Usage)
	}
	// The same greedy text as the native API.
	f := false
	var g api.GenerateResponse
	e.post("/api/generate", api.GenerateRequest{Model: "stories", Prompt: "Once upon a time", Stream: &f,
		Options: map[string]any{"temperature": 0, "num_predict": 10}}, 200, &g)
	if g.Response != text {
		t.Errorf("openai %q, native %q", text, g.Response)
	}

	// Streamed with usage: chunks, a finish chunk, a usage chunk, [DONE].
	req["stream"] = true
	req["stream_options"] = map[string]any{"include_usage": true}
	b := e.post("/v1/chat/completions", req, 200, nil)
	ev := sseEvents(b)
	if ev[len(ev)-1] != "[DONE]" {
		t.Fatalf("no [DONE]: %s", b)
	}
	var sb strings.Builder
	var usage *api.Usage
	finish := ""
	for _, d := range ev[:len(ev)-1] {
		var ch api.ChatCompletionChunk
		if err := json.Unmarshal([]byte(d), &ch); err != nil {
			t.Fatal(err)
		}
		if ch.Object != "chat.completion.chunk" {
			t.Errorf("object %q", ch.Object)
		}
		if ch.Usage != nil {
			usage = ch.Usage
			continue
		}
		s, _ := ch.Choices[0].Delta.Content.(string)
		sb.WriteString(s)
		if ch.Choices[0].FinishReason != nil {
			finish = *ch.Choices[0].FinishReason
		}
	}
	if sb.String() != text || finish != "length" || usage == nil || usage.CompletionTokens != 10 {
		t.Errorf("stream %q finish %q usage %+v", sb.String(), finish, usage)
	}

	// Text parts, stop strings, errors in OpenAI's shape.
	e.post("/v1/chat/completions", map[string]any{"model": "stories", "max_tokens": 3, "stop": "x",
		"messages": []any{map[string]any{"role": "user", "content": []any{map[string]any{"type": "text", "text": "Hi"}}}}}, 200, nil)
	var oe api.OpenAIError
	e.post("/v1/chat/completions", map[string]any{"model": "nosuch", "messages": []any{map[string]any{"role": "user", "content": "x"}}}, 404, &oe)
	if oe.Error.Type != "not_found_error" || !strings.Contains(oe.Error.Message, `"nosuch" not found`) {
		t.Errorf("404 shape %+v", oe)
	}
	e.post("/v1/chat/completions", `{"model":"stories","messages":"nope"}`, 400, &oe)
	if oe.Error.Type != "invalid_request_error" || oe.Error.Message == "" {
		t.Errorf("400 shape %+v", oe)
	}
	e.post("/v1/chat/completions", map[string]any{"model": "stories", "messages": []any{map[string]any{"role": "user",
		"content": []any{map[string]any{"type": "image_url", "image_url": map[string]any{"url": "data:"}}}}}}, 400, &oe)
}

func TestOpenAICompletions(t *testing.T) {
	e := newEnv(t, nil)
	var c api.Completion
	e.post("/v1/completions", map[string]any{"model": "stories", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0}, 200, &c)
	if c.Object != "text_completion" || c.Choices[0].Text == "" || c.Usage == nil || c.Usage.CompletionTokens != 8 {
		t.Fatalf("completion %+v", c)
	}
	b := e.post("/v1/completions", map[string]any{"model": "stories", "prompt": "Once upon a time", "max_tokens": 8, "temperature": 0, "stream": true}, 200, nil)
	ev := sseEvents(b)
	var sb strings.Builder
	for _, d := range ev[:len(ev)-1] {
		var ch api.Completion
		json.Unmarshal([]byte(d), &ch)
		sb.WriteString(ch.Choices[0].Text)
	}
	if ev[len(ev)-1] != "[DONE]" || sb.String() != c.Choices[0].Text {
		t.Errorf("stream %q vs %q", sb.String(), c.Choices[0].Text)
	}
}

func TestOpenAIEmbeddingsAndModels(t *testing.T) {
	e := newEnv(t, nil)
	addModel(t, e.store, "bert:tiny", fixtures.Path(t, "models/tiny/bert-tiny.gguf"), "", "")
	var r api.EmbeddingsResponse
	e.post("/v1/embeddings", map[string]any{"model": "bert:tiny", "input": []string{"a cat", "a dog"}}, 200, &r)
	if r.Object != "list" || len(r.Data) != 2 || r.Data[1].Index != 1 || r.Usage.PromptTokens == 0 {
		t.Fatalf("embeddings %+v", r)
	}
	floats := r.Data[0].Embedding.([]any)
	var r64 api.EmbeddingsResponse
	e.post("/v1/embeddings", map[string]any{"model": "bert:tiny", "input": "a cat", "encoding_format": "base64"}, 200, &r64)
	raw, err := base64.StdEncoding.DecodeString(r64.Data[0].Embedding.(string))
	if err != nil || len(raw) != 4*len(floats) {
		t.Fatalf("base64: %v, %d bytes", err, len(raw))
	}
	for i, f := range floats {
		if got := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])); got != float32(f.(float64)) {
			t.Fatalf("base64 element %d: %v vs %v", i, got, f)
		}
	}
	e.post("/v1/embeddings", map[string]any{"model": "bert:tiny", "input": []int{1, 2}}, 400, nil)

	var list api.OpenAIModelList
	code, b := e.do("GET", "/v1/models", nil)
	if code != 200 || json.Unmarshal(b, &list) != nil || len(list.Data) != 2 || list.Data[0].Object != "model" || list.Data[0].OwnedBy != "library" {
		t.Errorf("models: %d %s", code, b)
	}
	var m api.OpenAIModel
	code, b = e.do("GET", "/v1/models/stories:latest", nil)
	if code != 200 || json.Unmarshal(b, &m) != nil || m.ID != "stories:latest" || m.Created == 0 {
		t.Errorf("model: %d %s", code, b)
	}
	var oe api.OpenAIError
	code, b = e.do("GET", "/v1/models/nosuch", nil)
	if code != 404 || json.Unmarshal(b, &oe) != nil || oe.Error.Message == "" {
		t.Errorf("missing model: %d %s", code, b)
	}
}

// TestLogprobs checks token log-probabilities on the native and OpenAI
// routes: one entry per generated token, the tokens spell the answer, and
// greedy picks the top alternative.
func TestLogprobs(t *testing.T) {
	e := newEnv(t, nil)
	f := false
	var g api.GenerateResponse
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Once upon a time", "stream": f, "logprobs": true, "top_logprobs": 3,
		"options": map[string]any{"temperature": 0, "num_predict": 12}}, 200, &g)
	if len(g.Logprobs) != g.EvalCount || g.EvalCount != 12 {
		t.Fatalf("%d logprobs for %d tokens", len(g.Logprobs), g.EvalCount)
	}
	var sb strings.Builder
	for i, lp := range g.Logprobs {
		sb.WriteString(lp.Token)
		if lp.Logprob > 0 || len(lp.TopLogprobs) != 3 || lp.TopLogprobs[0].Token != lp.Token || lp.TopLogprobs[0].Logprob != lp.Logprob {
			t.Errorf("token %d: %+v", i, lp)
		}
	}
	if sb.String() != g.Response {
		t.Errorf("logprob tokens spell %q, response %q", sb.String(), g.Response)
	}
	// Streamed: the same entries spread over the lines.
	b := e.post("/api/chat", map[string]any{"model": "stories", "messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}},
		"logprobs": true, "options": map[string]any{"temperature": 0, "num_predict": 12}}, 200, nil)
	n := 0
	for _, l := range lines[api.ChatResponse](t, b) {
		n += len(l.Logprobs)
	}
	if n != 12 {
		t.Errorf("streamed chat: %d logprobs, want 12", n)
	}
	var cc struct {
		Choices []struct {
			Logprobs api.OpenAILogprobs `json:"logprobs"`
		} `json:"choices"`
	}
	e.post("/v1/chat/completions", map[string]any{"model": "stories", "messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}},
		"logprobs": true, "top_logprobs": 2, "max_tokens": 12, "temperature": 0}, 200, &cc)
	c := cc.Choices[0].Logprobs.Content
	if len(c) != 12 || len(c[0].TopLogprobs) != 2 || c[0].Token != g.Logprobs[0].Token || c[0].Logprob != g.Logprobs[0].Logprob {
		t.Errorf("OpenAI logprobs %+v", c)
	}
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "x", "top_logprobs": 50}, 400, nil)
}
