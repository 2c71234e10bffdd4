package server

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"

	"golem/api"
	"golem/engine"
	"golem/internal/fixtures"
)

func TestRootAndVersion(t *testing.T) {
	e := newEnv(t, nil)
	for _, tc := range []struct {
		method, path string
		want         int
		body         string
	}{
		{"GET", "/", 200, "Golem is running"},
		{"HEAD", "/", 200, ""},
		{"GET", "/api/version", 200, `"version"`},
		{"HEAD", "/api/version", 200, ""},
		{"GET", "/api/nope", 404, ""},
		{"GET", "/api/generate", 405, ""},
	} {
		code, b := e.do(tc.method, tc.path, nil)
		if code != tc.want || !strings.Contains(string(b), tc.body) {
			t.Errorf("%s %s: %d %q, want %d containing %q", tc.method, tc.path, code, b, tc.want, tc.body)
		}
	}
}

// TestGenerateGreedy checks /api/generate against llama.cpp's greedy
// continuation of the fixture prompt, streamed and not, by store name and
// by file path.
func TestGenerateGreedy(t *testing.T) {
	e := newEnv(t, nil)
	exp := loadExpected(t)
	const n = 24
	var detok api.DetokenizeResponse
	e.post("/api/detokenize", api.DetokenizeRequest{Model: "stories", Tokens: exp.Generated[:n]}, 200, &detok)
	if detok.Content == "" {
		t.Fatal("detokenize gave nothing")
	}
	for _, model := range []string{"stories:latest", e.path} {
		f := false
		req := api.GenerateRequest{Model: model, Prompt: exp.Prompt, Raw: true, Stream: &f,
			Options: map[string]any{"temperature": 0, "num_predict": n}}
		var got api.GenerateResponse
		e.post("/api/generate", req, 200, &got)
		if got.Response != detok.Content {
			t.Errorf("%s: response %q, want llama.cpp's %q", model, got.Response, detok.Content)
		}
		if !got.Done || got.DoneReason != "length" || got.EvalCount != n || got.PromptEvalCount != len(exp.PromptIDs) {
			t.Errorf("%s: done=%v reason=%q eval=%d prompt=%d", model, got.Done, got.DoneReason, got.EvalCount, got.PromptEvalCount)
		}
		if got.Model != model || got.CreatedAt.IsZero() || got.TotalDuration <= 0 || got.EvalDuration <= 0 {
			t.Errorf("%s: metadata %+v", model, got)
		}
		if got.Context != nil {
			t.Errorf("raw request returned a context")
		}

		// Streamed: same text in pieces, one final done line.
		req.Stream = nil
		req.Raw = false // no chat template: same prompt, and a context
		b := e.post("/api/generate", req, 200, nil)
		ls := lines[api.GenerateResponse](t, b)
		var sb strings.Builder
		for i, l := range ls {
			sb.WriteString(l.Response)
			if l.Done != (i == len(ls)-1) {
				t.Fatalf("line %d done=%v of %d", i, l.Done, len(ls))
			}
		}
		last := ls[len(ls)-1]
		if sb.String() != detok.Content || len(ls) < 3 {
			t.Errorf("%s stream: %q in %d lines, want %q", model, sb.String(), len(ls), detok.Content)
		}
		if last.EvalCount != n || last.DoneReason != "length" || last.PromptEvalCount != len(exp.PromptIDs) {
			t.Errorf("stream final line %+v", last)
		}
		want := append(append([]int{}, exp.PromptIDs...), exp.Generated[:n]...)
		if !equalInts(last.Context, want) {
			t.Errorf("context %v, want %v", last.Context, want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGenerateContext continues a generation from a returned context.
func TestGenerateContext(t *testing.T) {
	e := newEnv(t, nil)
	f := false
	var first, second api.GenerateResponse
	e.post("/api/generate", api.GenerateRequest{Model: "stories", Prompt: "Once upon a time", Stream: &f,
		Options: map[string]any{"num_predict": 5}}, 200, &first)
	e.post("/api/generate", api.GenerateRequest{Model: "stories", Prompt: " The", Context: first.Context, Stream: &f,
		Options: map[string]any{"num_predict": 5}}, 200, &second)
	if second.PromptEvalCount <= len(first.Context) || len(second.Context) != second.PromptEvalCount+second.EvalCount {
		t.Errorf("context not continued: first %d tokens, second prompt %d, context %d", len(first.Context), second.PromptEvalCount, len(second.Context))
	}
}

func TestTokenize(t *testing.T) {
	e := newEnv(t, nil)
	exp := loadExpected(t)
	var tok api.TokenizeResponse
	e.post("/api/tokenize", api.TokenizeRequest{Model: "stories", Content: exp.Prompt}, 200, &tok)
	if !equalInts(tok.Tokens, exp.PromptIDs) {
		t.Errorf("tokens %v, want llama.cpp's %v", tok.Tokens, exp.PromptIDs)
	}
	var det api.DetokenizeResponse
	e.post("/api/detokenize", api.DetokenizeRequest{Model: "stories", Tokens: tok.Tokens[1:]}, 200, &det)
	if strings.TrimSpace(det.Content) != exp.Prompt {
		t.Errorf("detokenize %q, want %q", det.Content, exp.Prompt)
	}
	e.post("/api/detokenize", api.DetokenizeRequest{Model: "stories", Tokens: []int{1, 99999}}, 400, nil)
}

func TestChatTemplate(t *testing.T) {
	e := newEnv(t, nil)
	path := fixtures.Path(t, "models/tiny/qwen2-tiny.gguf")
	addModel(t, e.store, "qwen:tiny", path, "", "You are terse.")
	tools := []api.Tool{{"type": "function", "function": map[string]any{"name": "get_weather", "description": "Weather",
		"parameters": map[string]any{"type": "object", "properties": map[string]any{"city": map[string]any{"type": "string"}}}}}}
	msgs := []api.Message{{Role: "user", Content: "Hi there"}}
	b := e.post("/api/chat", api.ChatRequest{Model: "qwen:tiny", Messages: msgs, Tools: tools,
		Options: map[string]any{"num_predict": 4, "temperature": 0}}, 200, nil)
	ls := lines[api.ChatResponse](t, b)
	last := ls[len(ls)-1]
	if !last.Done || last.Message.Role != "assistant" {
		t.Fatalf("last line %+v", last)
	}
	// The prompt is the GGUF's Jinja template over the model's SYSTEM, the
	// messages and the tools: count its tokens independently.
	r, err := engine.Load(path, 512)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	text, err := r.FormatPrompt(engine.Request{Messages: chatMessages(append([]api.Message{{Role: "system", Content: "You are terse."}}, msgs...)),
		TemplateVars: map[string]any{"tools": tools}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, "get_weather") || !strings.Contains(text, "You are terse.") {
		t.Fatalf("template did not render tools and system: %q", text)
	}
	if want := len(r.Tokenize(text, true)); last.PromptEvalCount != want {
		t.Errorf("prompt_eval_count %d, want %d", last.PromptEvalCount, want)
	}
	// Non-streamed gives the same text.
	var sb strings.Builder
	for _, l := range ls {
		sb.WriteString(l.Message.Content)
	}
	f := false
	var one api.ChatResponse
	e.post("/api/chat", api.ChatRequest{Model: "qwen:tiny", Messages: msgs, Tools: tools, Stream: &f,
		Options: map[string]any{"num_predict": 4, "temperature": 0}}, 200, &one)
	if one.Message.Content != sb.String() || one.EvalCount != last.EvalCount {
		t.Errorf("non-streamed %q (%d), streamed %q (%d)", one.Message.Content, one.EvalCount, sb.String(), last.EvalCount)
	}
	// Images are refused for a text-only model.
	code, body := e.do("POST", "/api/chat", `{"model":"qwen:tiny","messages":[{"role":"user","content":"x","images":["aGVsbG8="]}]}`)
	if code != 400 || !strings.Contains(string(body), "images") {
		t.Errorf("images: %d %s", code, body)
	}
}

func TestEmbed(t *testing.T) {
	e := newEnv(t, nil)
	path := fixtures.Path(t, "models/tiny/bert-tiny.gguf")
	addModel(t, e.store, "bert:tiny", path, "", "")
	raw, err := os.ReadFile(fixtures.Path(t, "golden/bert-tiny.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Tolerance struct {
			Max float64 `json:"normalized_max_abs"`
		} `json:"tolerance"`
		Embeddings []struct {
			Text       string    `json:"text"`
			TokenIDs   []int     `json:"token_ids"`
			Normalized []float32 `json:"normalized"`
		} `json:"embeddings"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, g := range golden.Embeddings {
		inputs = append(inputs, g.Text)
	}
	var resp api.EmbedResponse
	e.post("/api/embed", map[string]any{"model": "bert:tiny", "input": inputs}, 200, &resp)
	if len(resp.Embeddings) != len(inputs) {
		t.Fatalf("%d embeddings for %d inputs", len(resp.Embeddings), len(inputs))
	}
	tokens := 0
	for i, g := range golden.Embeddings {
		tokens += len(g.TokenIDs)
		if d := maxDiff(resp.Embeddings[i], g.Normalized); d > golden.Tolerance.Max {
			t.Errorf("input %d: max diff %g from llama.cpp > %g", i, d, golden.Tolerance.Max)
		}
	}
	if resp.PromptEvalCount != tokens {
		t.Errorf("prompt_eval_count %d, want %d", resp.PromptEvalCount, tokens)
	}
	// A single string input, the legacy route and truncated dimensions.
	var one api.EmbedResponse
	e.post("/api/embed", map[string]any{"model": "bert:tiny", "input": inputs[0], "dimensions": 8}, 200, &one)
	if len(one.Embeddings) != 1 || len(one.Embeddings[0]) != 8 || math.Abs(norm(one.Embeddings[0])-1) > 1e-5 {
		t.Errorf("dimensions 8: %v", one.Embeddings)
	}
	var legacy api.EmbeddingResponse
	e.post("/api/embeddings", api.EmbeddingRequest{Model: "bert:tiny", Prompt: inputs[1]}, 200, &legacy)
	f32 := make([]float32, len(legacy.Embedding))
	for i, x := range legacy.Embedding {
		f32[i] = float32(x)
	}
	if d := maxDiff(f32, golden.Embeddings[1].Normalized); d > golden.Tolerance.Max {
		t.Errorf("/api/embeddings: max diff %g", d)
	}
	// A decoder model cannot embed; a BERT cannot generate.
	code, b := e.do("POST", "/api/embed", `{"model":"stories","input":"hi"}`)
	if code != 400 || !strings.Contains(string(b), "does not support embeddings") {
		t.Errorf("embed with decoder: %d %s", code, b)
	}
	code, b = e.do("POST", "/api/generate", `{"model":"bert:tiny","prompt":"hi"}`)
	if code != 400 || !strings.Contains(string(b), "does not support generate") {
		t.Errorf("generate with bert: %d %s", code, b)
	}
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

func norm(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestModelManagement(t *testing.T) {
	e := newEnv(t, nil)
	var tags api.ListResponse
	code, b := e.do("GET", "/api/tags", nil)
	if code != 200 || json.Unmarshal(b, &tags) != nil || len(tags.Models) != 1 {
		t.Fatalf("tags: %d %s", code, b)
	}
	m := tags.Models[0]
	fi, _ := os.Stat(e.path)
	if m.Name != "stories:latest" || m.Size <= fi.Size() || len(m.Digest) != 64 || m.Details.Family != "llama" || m.Details.QuantizationLevel != "F32" {
		t.Errorf("tags entry %+v", m)
	}

	var show api.ShowResponse
	e.post("/api/show", api.ShowRequest{Model: "stories"}, 200, &show)
	if show.ModelInfo["general.architecture"] != "llama" || !strings.Contains(show.Parameters, "temperature") ||
		!strings.Contains(show.Modelfile, "PARAMETER stop") || show.Capabilities[0] != "completion" {
		t.Errorf("show: %+v", show)
	}

	e.post("/api/copy", api.CopyRequest{Source: "stories", Destination: "tales:v1"}, 200, nil)
	e.post("/api/copy", api.CopyRequest{Source: "nosuch", Destination: "x"}, 404, nil)
	e.post("/api/copy", api.CopyRequest{Source: "stories"}, 400, nil)
	code, _ = e.do("DELETE", "/api/delete", api.DeleteRequest{Model: "tales:v1"})
	if code != 200 {
		t.Errorf("delete: %d", code)
	}
	code, b = e.do("DELETE", "/api/delete", api.DeleteRequest{Model: "tales:v1"})
	if code != 404 || !strings.Contains(string(b), `model \"tales:v1\" not found`) {
		t.Errorf("delete again: %d %s", code, b)
	}
	for _, c := range []struct {
		path, body string
		code       int
	}{
		{"/api/pull", `{"model":""}`, 400},
		{"/api/pull", `{"model":"a/b/c/d"}`, 400},
		{"/api/push", `{"model":"nosuch"}`, 404},
	} {
		code, b := e.do("POST", c.path, c.body)
		if code != c.code {
			t.Errorf("%s %s: %d %s, want %d", c.path, c.body, code, b, c.code)
		}
	}
}

func TestBlobsAndCreate(t *testing.T) {
	e := newEnv(t, nil)
	data, err := os.ReadFile(fixtures.Path(t, "models/quant/stories260K-Q8_0.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	digest := "sha256:ff8701a45da28293b7af11a695ab33575b692e9b109a2eae6238c906c31415da"
	if code, _ := e.do("HEAD", "/api/blobs/"+digest, nil); code != 404 {
		t.Errorf("HEAD missing blob: %d", code)
	}
	bad := "sha256:" + strings.Repeat("0", 64)
	if code, b := e.do("POST", "/api/blobs/"+bad, data); code != 400 || !strings.Contains(string(b), "digest mismatch") {
		t.Errorf("POST wrong digest: %d %s", code, b)
	}
	if code, _ := e.do("HEAD", "/api/blobs/"+bad, nil); code != 404 {
		t.Errorf("mismatched blob was kept")
	}
	if code, b := e.do("POST", "/api/blobs/"+digest, data); code != 201 {
		t.Fatalf("POST blob: %d %s", code, b)
	}
	if code, _ := e.do("HEAD", "/api/blobs/"+digest, nil); code != 200 {
		t.Errorf("HEAD stored blob: %d", code)
	}
	if code, _ := e.do("HEAD", "/api/blobs/nonsense", nil); code != 400 {
		t.Errorf("HEAD bad digest: %d", code)
	}

	b := e.post("/api/create", map[string]any{"model": "q8", "files": map[string]string{"m.gguf": digest},
		"system": "Be brief.", "parameters": map[string]any{"num_predict": 3, "stop": []string{"a", "b"}}}, 200, nil)
	ls := lines[api.ProgressResponse](t, b)
	if ls[len(ls)-1].Status != "success" {
		t.Fatalf("create: %s", b)
	}
	var show api.ShowResponse
	e.post("/api/show", map[string]any{"model": "q8"}, 200, &show)
	if show.System != "Be brief." || show.Details.QuantizationLevel != "Q8_0" || !strings.Contains(show.Parameters, `"b"`) {
		t.Errorf("created model: %+v", show)
	}
	// The PARAMETER num_predict 3 applies.
	f := false
	var g api.GenerateResponse
	e.post("/api/generate", api.GenerateRequest{Model: "q8", Prompt: "Once", Stream: &f}, 200, &g)
	if g.EvalCount > 3 {
		t.Errorf("num_predict parameter ignored: %d tokens", g.EvalCount)
	}
	// From an existing model and from a file path (a Golem extra).
	e.post("/api/create", map[string]any{"model": "q8b", "from": "q8", "system": "Other.", "stream": false}, 200, nil)
	e.post("/api/create", map[string]any{"model": "f16", "from": fixtures.Path(t, "models/quant/stories260K-F16.gguf"), "stream": false}, 200, nil)
	e.post("/api/show", map[string]any{"model": "f16"}, 200, &show)
	if show.Details.QuantizationLevel != "F16" {
		t.Errorf("create from path: %+v", show.Details)
	}
	e.post("/api/create", map[string]any{"model": "x", "from": "nosuch", "stream": false}, 404, nil)
	e.post("/api/create", map[string]any{"model": "x", "stream": false}, 400, nil)
	e.post("/api/create", map[string]any{"model": "x", "files": map[string]string{"m.gguf": bad}, "stream": false}, 400, nil)
}

func TestKeepAliveAndPs(t *testing.T) {
	e := newEnv(t, nil)
	ps := func() []api.ProcessModelResponse {
		var r api.ProcessResponse
		code, b := e.do("GET", "/api/ps", nil)
		if code != 200 || json.Unmarshal(b, &r) != nil {
			t.Fatalf("ps: %d %s", code, b)
		}
		return r.Models
	}
	if len(ps()) != 0 {
		t.Fatal("a model is loaded before any request")
	}
	// An empty prompt loads the model.
	var g api.GenerateResponse
	e.post("/api/generate", map[string]any{"model": "stories"}, 200, &g)
	if g.DoneReason != "load" || !g.Done {
		t.Errorf("load: %+v", g)
	}
	m := ps()
	if len(m) != 1 || m[0].Name != "stories:latest" || m[0].ContextLength != 2048 || m[0].Size <= 0 || m[0].Details.Family != "llama" {
		t.Fatalf("ps after load: %+v", m)
	}
	// keep_alive 0 with an empty prompt unloads it.
	e.post("/api/generate", map[string]any{"model": "stories", "keep_alive": 0}, 200, &g)
	if g.DoneReason != "unload" || len(ps()) != 0 {
		t.Errorf("unload: %+v, ps %+v", g, ps())
	}
	// A request with keep_alive 0 unloads after answering; "1h" keeps it.
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Hi", "keep_alive": 0, "stream": false,
		"options": map[string]any{"num_predict": 2}}, 200, nil)
	if len(ps()) != 0 {
		t.Errorf("keep_alive 0 left the model loaded")
	}
	e.post("/api/chat", map[string]any{"model": "stories", "keep_alive": "1h", "messages": []any{}}, 200, nil)
	if m := ps(); len(m) != 1 || m[0].ExpiresAt.Before(g.CreatedAt.Add(50*60e9)) {
		t.Errorf("keep_alive 1h: %+v", m)
	}
}

// TestEviction checks that a second model evicts the idle first one when
// only one may be loaded.
func TestEviction(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxLoadedModels = 1 })
	q8 := fixtures.Path(t, "models/quant/stories260K-Q8_0.gguf")
	for _, m := range []struct{ req, ps string }{{"stories", "stories:latest"}, {q8, q8}} {
		e.post("/api/generate", map[string]any{"model": m.req}, 200, nil)
		var r api.ProcessResponse
		_, b := e.do("GET", "/api/ps", nil)
		json.Unmarshal(b, &r)
		if len(r.Models) != 1 || r.Models[0].Name != m.ps {
			t.Errorf("after loading %s: %+v", m, r.Models)
		}
	}
	// Memory pressure evicts too.
	e = newEnv(t, func(c *Config) { c.FreeMemory = func() uint64 { return 1 } })
	e.post("/api/generate", map[string]any{"model": "stories"}, 200, nil)
	e.post("/api/generate", map[string]any{"model": q8}, 200, nil)
	if got := len(e.srv.sched.snapshot()); got != 1 {
		t.Errorf("with no free memory %d models stay loaded, want 1", got)
	}
}

// TestGoTemplate checks Ollama-style Go templates: a model's TEMPLATE
// (used when its GGUF has no chat template) and a request's template.
func TestGoTemplate(t *testing.T) {
	e := newEnv(t, nil)
	e.post("/api/create", map[string]any{"model": "tmpl", "from": "stories", "stream": false, "system": "Sys",
		"template": "{{ if .System }}{{ .System }}. {{ end }}{{ range .Messages }}{{ .Role }}: {{ .Content }} {{ end }}"}, 200, nil)
	count := func(text string) int {
		var tok api.TokenizeResponse
		e.post("/api/tokenize", api.TokenizeRequest{Model: "stories", Content: text}, 200, &tok)
		return len(tok.Tokens)
	}
	f := false
	var g api.GenerateResponse
	e.post("/api/generate", api.GenerateRequest{Model: "tmpl", Prompt: "Once", Stream: &f, Options: map[string]any{"num_predict": 1}}, 200, &g)
	if want := count("Sys. system: Sys user: Once "); g.PromptEvalCount != want {
		t.Errorf("model TEMPLATE: %d prompt tokens, want %d", g.PromptEvalCount, want)
	}
	var c api.ChatResponse
	e.post("/api/chat", api.ChatRequest{Model: "tmpl", Stream: &f, Messages: []api.Message{{Role: "user", Content: "A"}, {Role: "assistant", Content: "B"}, {Role: "user", Content: "C"}},
		Options: map[string]any{"num_predict": 1}}, 200, &c)
	if want := count("Sys. system: Sys user: A assistant: B user: C "); c.PromptEvalCount != want {
		t.Errorf("chat through TEMPLATE: %d prompt tokens, want %d", c.PromptEvalCount, want)
	}
	e.post("/api/generate", api.GenerateRequest{Model: "stories", Prompt: "Once", System: "S", Template: "[{{ .System }}] {{ .Prompt }}", Stream: &f,
		Options: map[string]any{"num_predict": 1}}, 200, &g)
	if want := count("[S] Once"); g.PromptEvalCount != want {
		t.Errorf("request template: %d prompt tokens, want %d", g.PromptEvalCount, want)
	}
	e.post("/api/generate", api.GenerateRequest{Model: "stories", Prompt: "Once", Template: "{{ .Nope", Stream: &f}, 400, nil)
}
