package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"golem/api"
)

// formatSchema is a bounded schema: a generation constrained by it always
// completes, so done_reason must be "stop", never "length".
const formatSchema = `{"type":"object","properties":{"name":{"type":"string","maxLength":6},"age":{"type":"integer","minimum":0,"maximum":120},"pet":{"enum":["cat","dog"]}},"required":["name","age","pet"]}`

// checkFormatOutput decodes out as the object formatSchema describes and
// checks every constraint of the schema.
func checkFormatOutput(t *testing.T, out string) {
	t.Helper()
	var v map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %q is not a JSON object: %v", out, err)
	}
	if dec.More() {
		t.Fatalf("output %q has text after the object", out)
	}
	if len(v) != 3 {
		t.Errorf("output %q: want exactly name, age, pet", out)
	}
	name, ok := v["name"].(string)
	if !ok || len([]rune(name)) > 6 {
		t.Errorf("output %q: bad name", out)
	}
	age, ok := v["age"].(json.Number)
	if n, err := age.Int64(); !ok || err != nil || n < 0 || n > 120 {
		t.Errorf("output %q: bad age", out)
	}
	if p := v["pet"]; p != "cat" && p != "dog" {
		t.Errorf("output %q: bad pet %v", out, p)
	}
}

func TestGenerateFormatSchema(t *testing.T) {
	e := newEnv(t, nil)
	for _, seed := range []int{1, 2, 3} {
		var res api.GenerateResponse
		e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Once upon a time", "stream": false,
			"format": json.RawMessage(formatSchema), "options": map[string]any{"temperature": 1, "seed": seed, "num_predict": 400}}, 200, &res)
		if !res.Done || res.DoneReason != "stop" {
			t.Errorf("seed %d: done %v reason %q, want stop", seed, res.Done, res.DoneReason)
		}
		checkFormatOutput(t, res.Response)
		t.Logf("seed %d: %d tokens: %q", seed, res.EvalCount, res.Response)
	}
}

func TestChatFormatJSONStreamed(t *testing.T) {
	e := newEnv(t, nil)
	b := e.post("/api/chat", map[string]any{"model": "stories", "format": "json",
		"messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}},
		"options":  map[string]any{"temperature": 1, "seed": 5, "num_predict": 60}}, 200, nil)
	var out strings.Builder
	ls := lines[api.ChatResponse](t, b)
	for _, l := range ls {
		out.WriteString(l.Message.Content)
	}
	last := ls[len(ls)-1]
	if !last.Done {
		t.Fatalf("last line %+v", last)
	}
	// Any object at all: it may be cut by num_predict, but what was
	// written must start one.
	if s := out.String(); !strings.HasPrefix(s, "{") {
		t.Errorf("output %q does not start a JSON object", s)
	}
	if last.DoneReason == "stop" {
		var v map[string]any
		if err := json.Unmarshal([]byte(out.String()), &v); err != nil {
			t.Errorf("finished output %q is not a JSON object: %v", out.String(), err)
		}
	}
}

func TestOpenAIResponseFormat(t *testing.T) {
	e := newEnv(t, nil)
	rf := map[string]any{"type": "json_schema", "json_schema": map[string]any{"name": "person", "strict": true, "schema": json.RawMessage(formatSchema)}}
	var res api.ChatCompletion
	e.post("/v1/chat/completions", map[string]any{"model": "stories", "response_format": rf, "temperature": 1, "seed": 9, "max_tokens": 400,
		"messages": []any{map[string]any{"role": "user", "content": "Once upon a time"}}}, 200, &res)
	if len(res.Choices) != 1 {
		t.Fatalf("answer %+v", res)
	}
	c := res.Choices[0]
	if c.FinishReason == nil || *c.FinishReason != "stop" {
		t.Errorf("finish_reason %v, want stop", c.FinishReason)
	}
	text, _ := c.Message.Content.(string)
	checkFormatOutput(t, text)
	t.Logf("response_format output: %q", text)
}

func TestFormatRejected(t *testing.T) {
	e := newEnv(t, nil)
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	cases := []struct {
		name, path string
		body       any
		want       string // in the error message
	}{
		{"generate unsupported keyword", "/api/generate", map[string]any{"model": "stories", "prompt": "x", "format": json.RawMessage(`{"type":"integer","multipleOf":3}`)}, "multipleOf"},
		{"generate unknown format", "/api/generate", map[string]any{"model": "stories", "prompt": "x", "format": "xml"}, "format"},
		{"generate not a schema", "/api/generate", map[string]any{"model": "stories", "prompt": "x", "format": 123}, "format"},
		{"generate invalid JSON", "/api/generate", `{"model":"stories","prompt":"x","format":{"type":}`, ""},
		{"chat unsupported", "/api/chat", map[string]any{"model": "stories", "messages": msgs, "format": json.RawMessage(`{"type":"object","not":{}}`)}, "not"},
		{"openai unsupported", "/v1/chat/completions", map[string]any{"model": "stories", "messages": msgs,
			"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"schema": map[string]any{"type": "array", "uniqueItems": true}}}}, "uniqueItems"},
		{"openai schema missing", "/v1/chat/completions", map[string]any{"model": "stories", "messages": msgs,
			"response_format": map[string]any{"type": "json_schema"}}, "schema"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, b := e.do(http.MethodPost, tc.path, tc.body)
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; body %s", code, b)
			}
			if !strings.Contains(string(b), tc.want) {
				t.Errorf("error %s does not mention %q", b, tc.want)
			}
		})
	}
}
