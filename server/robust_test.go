package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golem/api"
)

func TestBadInput(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBody = 1 << 20 })
	huge := `{"model":"stories","prompt":"` + strings.Repeat("a", 2<<20) + `"}`
	long := fmt.Sprintf(`{"model":"stories","prompt":%q,"options":{"num_ctx":32}}`, strings.Repeat("Once upon a time ", 20))
	for _, tc := range []struct {
		name, path, body string
		code             int
		msg              string
	}{
		{"malformed", "/api/generate", `{"model":`, 400, "invalid"},
		{"empty body", "/api/generate", ``, 400, "missing request body"},
		{"not an object", "/api/chat", `[1,2]`, 400, "invalid"},
		{"wrong type", "/api/generate", `{"model":"stories","prompt":5}`, 400, `field \"prompt\"`},
		{"wrong message type", "/api/chat", `{"model":"stories","messages":[{"role":"user","content":7}]}`, 400, "content"},
		{"wrong option type", "/api/generate", `{"model":"stories","prompt":"x","options":{"temperature":"hot"}}`, 400, "temperature"},
		{"invalid option", "/api/generate", `{"model":"stories","prompt":"x","options":{"repeat_penalty":0}}`, 400, "repeat_penalty"},
		{"bad keep_alive", "/api/generate", `{"model":"stories","prompt":"x","keep_alive":"forever"}`, 400, "keep_alive"},
		{"no model", "/api/generate", `{"prompt":"x"}`, 400, "model is required"},
		{"unknown model", "/api/generate", `{"model":"nosuch","prompt":"x"}`, 404, `model \"nosuch\" not found, try pulling it first`},
		{"unknown model chat", "/api/chat", `{"model":"nosuch","messages":[]}`, 404, "not found"},
		{"unknown model show", "/api/show", `{"model":"nosuch"}`, 404, "not found"},
		{"invalid name", "/api/generate", `{"model":"a b/c:d:e","prompt":"x"}`, 400, "invalid model name"},
		{"bad role", "/api/chat", `{"model":"stories","messages":[{"role":"wizard","content":"x"}]}`, 400, "role"},
		{"huge body", "/api/generate", huge, 413, "too large"},
		{"prompt longer than num_ctx", "/api/generate", long, 400, "prompt is too long"},
		{"unknown fields ignored", "/api/generate", `{"model":"stories","prompt":"x","bogus":1,"stream":false,"options":{"num_predict":1,"weird":2}}`, 200, `"done":true`},
	} {
		code, b := e.do("POST", tc.path, tc.body)
		if code != tc.code || !strings.Contains(string(b), tc.msg) {
			t.Errorf("%s: %d %s, want %d with %q", tc.name, code, b, tc.code, tc.msg)
		}
		if code >= 400 && !strings.HasPrefix(string(b), `{"error":`) {
			t.Errorf("%s: error body %s is not {\"error\": ...}", tc.name, b)
		}
	}
	// Still serving.
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Hi", "stream": false, "options": map[string]any{"num_predict": 2}}, 200, nil)
}

// TestDisconnect checks that a client leaving mid-stream stops the
// generation and frees the slot.
func TestDisconnect(t *testing.T) {
	var tokens atomic.Int64
	done := make(chan error, 4)
	e := newEnv(t, func(c *Config) {
		c.tokenHook = func() { tokens.Add(1); time.Sleep(20 * time.Millisecond) }
		c.doneHook = func(_ string, err error) { done <- err }
	})
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", e.ts.URL+"/api/generate",
		strings.NewReader(`{"model":"stories","prompt":"Once upon a time","options":{"temperature":0,"num_predict":1000}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil || !strings.Contains(line, `"response"`) {
		t.Fatalf("first line %q: %v", line, err)
	}
	cancel()
	resp.Body.Close()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("generation ended with %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("generation did not stop after the client left")
	}
	n := tokens.Load()
	time.Sleep(100 * time.Millisecond)
	if tokens.Load() != n || n > 100 {
		t.Errorf("generation went on: %d then %d tokens", n, tokens.Load())
	}
	info := e.srv.sched.snapshot()
	if len(info) != 1 || info[0].active != 0 || info[0].queued != 0 {
		t.Errorf("slot not freed: %+v", info)
	}
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Hi", "stream": false, "options": map[string]any{"num_predict": 2}}, 200, nil)
}

// TestConcurrentClients sends 64 requests at once with a queue of 8: each
// gets its answer or a clear 503, and the server keeps serving.
func TestConcurrentClients(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.MaxQueue = 8
		c.tokenHook = func() { time.Sleep(5 * time.Millisecond) }
	})
	e.post("/api/generate", map[string]any{"model": "stories"}, 200, nil) // load first
	var (
		wg        sync.WaitGroup
		ok, busy  atomic.Int64
		mu        sync.Mutex
		unexpects []string
	)
	for i := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, body := "/api/generate", fmt.Sprintf(`{"model":"stories","prompt":"Tale %d","stream":%v,"options":{"num_predict":8}}`, i, i%2 == 0)
			if i%4 == 1 {
				path, body = "/v1/chat/completions", `{"model":"stories","max_tokens":8,"messages":[{"role":"user","content":"Hi"}]}`
			}
			code, b := e.do("POST", path, body)
			switch {
			case code == 200 && (strings.Contains(string(b), `"done":true`) || strings.Contains(string(b), `"finish_reason":"length"`) || strings.Contains(string(b), `"finish_reason":"stop"`)):
				ok.Add(1)
			case code == 503 && strings.Contains(string(b), "too many requests"):
				busy.Add(1)
			default:
				mu.Lock()
				unexpects = append(unexpects, fmt.Sprintf("%d %s", code, b))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(unexpects) > 0 {
		t.Errorf("%d unexpected answers, first: %s", len(unexpects), unexpects[0])
	}
	t.Logf("64 clients: %d answered, %d got 503", ok.Load(), busy.Load())
	if ok.Load() < 9 || busy.Load() == 0 || ok.Load()+busy.Load() != 64 {
		t.Errorf("%d answered, %d busy", ok.Load(), busy.Load())
	}
	var g api.GenerateResponse
	e.post("/api/generate", map[string]any{"model": "stories", "prompt": "Hi", "stream": false, "options": map[string]any{"num_predict": 2}}, 200, &g)
	if !g.Done {
		t.Errorf("after the storm: %+v", g)
	}
}

func TestAuthAndCORS(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.APIKey = "s3cret"; c.Origins = []string{"https://*.example.com"} })
	for _, tc := range []struct {
		path string
		hdr  []string
		want int
	}{
		{"/", nil, 200},
		{"/api/version", nil, 200},
		{"/api/tags", nil, 401},
		{"/v1/models", nil, 401},
		{"/api/tags", []string{"Authorization", "Bearer wrong"}, 401},
		{"/api/tags", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/v1/models", []string{"Authorization", "Bearer s3cret"}, 200},
		{"/api/version", []string{"Origin", "http://localhost:3000"}, 200},
		{"/api/version", []string{"Origin", "https://app.example.com"}, 200},
		{"/api/version", []string{"Origin", "https://evil.test"}, 403},
	} {
		if code, b := e.do("GET", tc.path, nil, tc.hdr...); code != tc.want {
			t.Errorf("GET %s %v: %d %s, want %d", tc.path, tc.hdr, code, b, tc.want)
		}
	}
	code, b := e.do("GET", "/v1/models", nil)
	if code != 401 || !strings.Contains(string(b), `"authentication_error"`) {
		t.Errorf("OpenAI 401 shape: %s", b)
	}
	req, _ := http.NewRequest("OPTIONS", e.ts.URL+"/api/chat", nil)
	req.Header.Set("Origin", "https://app.example.com")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Errorf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

func TestParseHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "127.0.0.1:11434"},
		{"0.0.0.0", "0.0.0.0:11434"},
		{"example.com", "example.com:11434"},
		{"example.com:8080", "example.com:8080"},
		{":8080", ":8080"},
		{"http://10.0.0.1:9000", "10.0.0.1:9000"},
		{"http://10.0.0.1", "10.0.0.1:80"},
		{"https://example.com", "example.com:443"},
		{"http://[::1]:1234/path", "[::1]:1234"},
		{"[::1]", "[::1]:11434"},
		{"host:99999", "127.0.0.1:11434"},
	} {
		if got := ParseHost(tc.in); got != tc.want {
			t.Errorf("ParseHost(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	t.Setenv("GOLEM_HOST", "")
	t.Setenv("OLLAMA_HOST", "0.0.0.0:1")
	if got := HostFromEnv(); got != "127.0.0.1:11434" {
		t.Errorf("empty GOLEM_HOST: %q", got)
	}
	os.Unsetenv("GOLEM_HOST") // restored by t.Setenv's cleanup
	if got := HostFromEnv(); got != "0.0.0.0:1" {
		t.Errorf("OLLAMA_HOST when GOLEM_HOST is unset: %q", got)
	}
}

// TestNumParallel runs four greedy streams at once on one model with four
// slots: each gives the single-stream answer (the slots do not share
// state), and the total rate is logged against one stream's.
func TestNumParallel(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.NumParallel = 4 })
	const n = 200
	body := fmt.Sprintf(`{"model":"stories","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":%d}}`, n)
	e.post("/api/generate", map[string]any{"model": "stories"}, 200, nil) // load the four slots
	var one api.GenerateResponse
	start := time.Now()
	e.post("/api/generate", body, 200, &one)
	single := float64(one.EvalCount) / time.Since(start).Seconds()

	var wg sync.WaitGroup
	outs := make([]api.GenerateResponse, 4)
	var maxActive atomic.Int64
	start = time.Now()
	for i := range outs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.post("/api/generate", body, 200, &outs[i])
		}()
	}
	go func() {
		for range 50 {
			for _, ri := range e.srv.sched.snapshot() {
				if int64(ri.active) > maxActive.Load() {
					maxActive.Store(int64(ri.active))
				}
			}
			time.Sleep(time.Millisecond)
		}
	}()
	wg.Wait()
	total := 0
	for i, o := range outs {
		total += o.EvalCount
		if o.Response != one.Response {
			t.Errorf("stream %d: %q, single stream %q", i, o.Response, one.Response)
		}
	}
	four := float64(total) / time.Since(start).Seconds()
	t.Logf("stories260K, %d tokens each: 1 stream %.0f tok/s, 4 parallel streams %.0f tok/s total (ratio %.2f), max %d active",
		n, single, four, four/single, maxActive.Load())
	if maxActive.Load() < 2 {
		t.Errorf("at most %d requests ran at once with 4 slots", maxActive.Load())
	}
}
