package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golem/internal/fixtures"
	"golem/store"
)

// testEnv is a server over a temporary store holding stories260K as
// "stories:latest".
type testEnv struct {
	t     *testing.T
	srv   *Server
	ts    *httptest.Server
	store *store.Store
	path  string // stories260K.gguf
}

func newEnv(t *testing.T, mod func(*Config)) *testEnv {
	t.Helper()
	path := fixtures.Path(t, "models/stories260K.gguf")
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addModel(t, st, "stories:latest", path, `{"temperature":0,"stop":["<|never|>"]}`, "")
	cfg := Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if mod != nil {
		mod(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &testEnv{t: t, srv: srv, ts: ts, store: st, path: path}
}

// addModel writes a model into st as Ollama lays it out: the GGUF blob,
// an optional params layer and system layer, and a config blob.
func addModel(t *testing.T, st *store.Store, name, gguf, params, system string) {
	t.Helper()
	f, err := os.Open(gguf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	d, n, err := st.WriteBlob(f)
	if err != nil {
		t.Fatal(err)
	}
	layers := []store.Layer{{MediaType: store.MediaTypeModel, Digest: d, Size: n}}
	for _, l := range []struct{ mt, text string }{{store.MediaTypeParams, params}, {store.MediaTypeSystem, system}} {
		if l.text == "" {
			continue
		}
		d, n, err := st.WriteBlob(strings.NewReader(l.text))
		if err != nil {
			t.Fatal(err)
		}
		layers = append(layers, store.Layer{MediaType: l.mt, Digest: d, Size: n})
	}
	cd, cn, err := st.WriteBlob(strings.NewReader(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"293K","file_type":"F32","architecture":"amd64","os":"linux"}` + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	m := store.NewManifest(store.Layer{MediaType: store.MediaTypeConfig, Digest: cd, Size: cn}, layers...)
	if err := st.WriteManifest(name, m); err != nil {
		t.Fatal(err)
	}
}

// do sends a request and returns the status and body.
func (e *testEnv) do(method, path string, body any, hdr ...string) (int, []byte) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.ts.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp.StatusCode, out
}

// post sends JSON and decodes a JSON answer into out (when non-nil),
// failing the test unless the status is want.
func (e *testEnv) post(path string, body any, want int, out any) []byte {
	e.t.Helper()
	code, b := e.do(http.MethodPost, path, body)
	if code != want {
		e.t.Fatalf("POST %s: status %d, want %d; body %s", path, code, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			e.t.Fatalf("POST %s: decode %s: %v", path, b, err)
		}
	}
	return b
}

// lines splits an NDJSON body into decoded objects.
func lines[T any](t *testing.T, b []byte) []T {
	t.Helper()
	var out []T
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		out = append(out, v)
	}
	return out
}

// sseEvents returns the data payloads of an SSE body.
func sseEvents(b []byte) []string {
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if d, ok := strings.CutPrefix(l, "data: "); ok {
			out = append(out, d)
		}
	}
	return out
}

// expected is stories260K.expected.json (llama.cpp's greedy output).
type expected struct {
	Prompt    string  `json:"prompt"`
	PromptIDs []int   `json:"prompt_token_ids_with_bos"`
	Generated []int   `json:"generated_token_ids"`
	Text      *string `json:"generated_text"`
}

func loadExpected(t *testing.T) expected {
	b, err := os.ReadFile(fixtures.Path(t, "models/stories260K.expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return e
}
