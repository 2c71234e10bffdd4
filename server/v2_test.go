package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golem/api"
	"golem/registry"
	"golem/store"
)

// TestV2PullFromGolem pulls a model from one `golem serve` (server A,
// through its /v2 API) into another store with the registry client, checks
// the manifest and blobs are byte-identical, and generates with the pulled
// model on server B: the greedy text equals llama.cpp's.
func TestV2PullFromGolem(t *testing.T) {
	a := newEnv(t, nil)
	host := a.ts.Listener.Addr().String()
	name := host + "/library/stories:latest"

	stB, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &registry.Client{Insecure: true, Credentials: registry.Credentials{}}
	if err := c.Pull(context.Background(), stB, name, nil); err != nil {
		t.Fatalf("pull %s from server A: %v", name, err)
	}

	wantM, _, err := a.store.ManifestBytes("stories:latest")
	if err != nil {
		t.Fatal(err)
	}
	gotM, _, err := stB.ManifestBytes(name)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gotM, wantM) {
		t.Fatalf("pulled manifest differs:\n got %s\nwant %s", gotM, wantM)
	}
	m, err := a.store.Manifest("stories:latest")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append([]store.Layer{m.Config}, m.Layers...) {
		want, err := a.store.ReadBlob(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		got, err := stB.ReadBlob(l.Digest)
		if err != nil {
			t.Fatalf("blob %s (%s) not pulled: %v", l.Digest, l.MediaType, err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("blob %s (%s): %d bytes differ from the source's %d", l.Digest, l.MediaType, len(got), len(want))
		}
	}

	// Again in parallel byte ranges (the model blob is ~1 MB): each part
	// is a ranged GET answered by http.ServeContent.
	stC, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cp := &registry.Client{Insecure: true, Credentials: registry.Credentials{}, PartThreshold: 64 << 10, MinParts: 4, MaxParts: 8}
	if err := cp.Pull(context.Background(), stC, name, nil); err != nil {
		t.Fatalf("pull in parts: %v", err)
	}
	for _, l := range m.Layers {
		want, _ := a.store.ReadBlob(l.Digest)
		if got, err := stC.ReadBlob(l.Digest); err != nil || !bytes.Equal(got, want) {
			t.Errorf("blob %s pulled in parts: %d bytes, err %v; want %d identical bytes", l.Digest, len(got), err, len(want))
		}
	}

	srvB, err := New(Config{Store: stB, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	tsB := httptest.NewServer(srvB)
	t.Cleanup(func() { tsB.Close(); srvB.Close() })
	b := &testEnv{t: t, srv: srvB, ts: tsB, store: stB}

	exp := loadExpected(t)
	const n = 16
	var detok api.DetokenizeResponse
	a.post("/api/detokenize", api.DetokenizeRequest{Model: "stories", Tokens: exp.Generated[:n]}, 200, &detok)
	f := false
	for _, e := range []struct {
		env   *testEnv
		model string
	}{{a, "stories"}, {b, name}} {
		var got api.GenerateResponse
		e.env.post("/api/generate", api.GenerateRequest{Model: e.model, Prompt: exp.Prompt, Raw: true, Stream: &f,
			Options: map[string]any{"temperature": 0, "num_predict": n}}, 200, &got)
		if got.Response != detok.Content || got.EvalCount != n {
			t.Errorf("%s: %d tokens %q, want llama.cpp's %q", e.model, got.EvalCount, got.Response, detok.Content)
		}
	}
}

// v2 sends a request to e's /v2 API and returns the response with its
// body read.
func (e *testEnv) v2(method, path string, hdr ...string) (*http.Response, []byte) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.ts.URL+path, nil)
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
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return resp, b
}

// TestV2API checks the /v2 routes one by one: base, manifests by tag and
// digest (GET and HEAD), blobs (whole, ranged, HEAD), tags, catalog, and
// the spec's errors.
func TestV2API(t *testing.T) {
	e := newEnv(t, nil)
	want, _, err := e.store.ManifestBytes("stories")
	if err != nil {
		t.Fatal(err)
	}
	m, err := e.store.Manifest("stories")
	if err != nil {
		t.Fatal(err)
	}
	mDigest := "sha256:" + m.Digest()
	gguf, err := os.ReadFile(e.path)
	if err != nil {
		t.Fatal(err)
	}
	model := m.LayersOf(store.MediaTypeModel)[0].Digest

	resp, body := e.v2("GET", "/v2/")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != "{}" || resp.Header.Get("Docker-Distribution-API-Version") != "registry/2.0" {
		t.Errorf("GET /v2/: %d %q %v", resp.StatusCode, body, resp.Header)
	}

	for _, path := range []string{"/v2/library/stories/manifests/latest", "/v2/stories/manifests/latest",
		"/v2/Library/Stories/manifests/LATEST", "/v2/library/stories/manifests/" + mDigest} {
		for _, method := range []string{"GET", "HEAD"} {
			resp, body := e.v2(method, path)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != store.MediaTypeManifest ||
				resp.Header.Get("Docker-Content-Digest") != mDigest || resp.ContentLength != int64(len(want)) {
				t.Errorf("%s %s: %d %v", method, path, resp.StatusCode, resp.Header)
			}
			if method == "GET" && !bytes.Equal(body, want) {
				t.Errorf("GET %s: body %q, want the stored manifest %q", path, body, want)
			}
			if method == "HEAD" && len(body) != 0 {
				t.Errorf("HEAD %s: %d body bytes", path, len(body))
			}
		}
	}

	blob := "/v2/library/stories/blobs/" + model
	resp, body = e.v2("GET", blob)
	if resp.StatusCode != 200 || !bytes.Equal(body, gguf) || resp.Header.Get("Docker-Content-Digest") != model {
		t.Errorf("GET blob: %d, %d bytes (want %d) %v", resp.StatusCode, len(body), len(gguf), resp.Header)
	}
	resp, body = e.v2("HEAD", blob)
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(gguf)) || len(body) != 0 || resp.Header.Get("Accept-Ranges") != "bytes" {
		t.Errorf("HEAD blob: %d length %d, %d body bytes, %v", resp.StatusCode, resp.ContentLength, len(body), resp.Header)
	}
	for _, rg := range []struct {
		hdr        string
		start, end int // want gguf[start:end]
	}{{"bytes=100-199", 100, 200}, {"bytes=0-0", 0, 1}, {"bytes=-10", len(gguf) - 10, len(gguf)}, {"bytes=1000000-", 1000000, len(gguf)}} {
		resp, body := e.v2("GET", blob, "Range", rg.hdr)
		if resp.StatusCode != http.StatusPartialContent || !bytes.Equal(body, gguf[rg.start:rg.end]) {
			t.Errorf("Range %s: %d, %d bytes, want 206 and bytes [%d,%d)", rg.hdr, resp.StatusCode, len(body), rg.start, rg.end)
		}
	}
	if resp, _ := e.v2("GET", blob, "Range", "bytes=99999999-"); resp.StatusCode != http.StatusRequestedRangeNotSatisfiable {
		t.Errorf("range past the end: %d, want 416", resp.StatusCode)
	}
	if resp, body := e.v2("GET", "/v2/library/stories/blobs/"+m.Config.Digest); resp.StatusCode != 200 || int64(len(body)) != m.Config.Size {
		t.Errorf("config blob: %d, %d bytes", resp.StatusCode, len(body))
	}

	resp, body = e.v2("GET", "/v2/library/stories/tags/list")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"name":"library/stories","tags":["latest"]}` {
		t.Errorf("tags/list: %d %s", resp.StatusCode, body)
	}
	resp, body = e.v2("GET", "/v2/_catalog")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"repositories":["library/stories"]}` {
		t.Errorf("_catalog: %d %s", resp.StatusCode, body)
	}

	other := strings.Repeat("0", 64)
	for _, c := range []struct {
		method, path string
		status       int
		code         string
	}{
		{"GET", "/v2/library/stories/manifests/nosuch", 404, "MANIFEST_UNKNOWN"},
		{"HEAD", "/v2/library/stories/manifests/nosuch", 404, ""},
		{"GET", "/v2/library/stories/manifests/sha256:" + other, 404, "MANIFEST_UNKNOWN"},
		{"GET", "/v2/library/stories/manifests/sha256:xyz", 400, "DIGEST_INVALID"},
		{"GET", "/v2/library/nosuch/manifests/latest", 404, "NAME_UNKNOWN"},
		{"GET", "/v2/a/b/c/manifests/latest", 404, "NAME_INVALID"},
		{"GET", "/v2/library/stories/blobs/sha256:" + other, 404, "BLOB_UNKNOWN"},
		{"HEAD", "/v2/library/stories/blobs/sha256:" + other, 404, ""},
		{"GET", "/v2/library/stories/blobs/md5:abc", 400, "DIGEST_INVALID"},
		{"GET", "/v2/library/nosuch/blobs/" + model, 404, "NAME_UNKNOWN"},
		{"GET", "/v2/library/nosuch/tags/list", 404, "NAME_UNKNOWN"},
		{"PUT", "/v2/library/stories/manifests/latest", 405, "UNSUPPORTED"},
		{"POST", "/v2/library/stories/blobs/uploads/", 405, "UNSUPPORTED"},
		{"DELETE", "/v2/library/stories/blobs/" + model, 405, "UNSUPPORTED"},
	} {
		resp, body := e.v2(c.method, c.path)
		if resp.StatusCode != c.status {
			t.Errorf("%s %s: status %d, want %d (%s)", c.method, c.path, resp.StatusCode, c.status, body)
			continue
		}
		if c.code == "" {
			continue
		}
		var ev v2Errors
		if err := json.Unmarshal(body, &ev); err != nil || len(ev.Errors) != 1 || ev.Errors[0].Code != c.code || ev.Errors[0].Message == "" {
			t.Errorf("%s %s: body %s, want one %s error", c.method, c.path, body, c.code)
		}
	}
	// A blob in the store that no manifest of the repository references is
	// not served through it.
	d, _, err := e.store.WriteBlob(strings.NewReader("unrelated"))
	if err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.v2("GET", "/v2/library/stories/blobs/"+d); resp.StatusCode != 404 {
		t.Errorf("unreferenced blob: %d, want 404", resp.StatusCode)
	}
}

// TestV2HostPreference checks the naming rule when several stored hosts
// hold the same namespace/model:tag: the request's host wins, then
// registry.ollama.ai, then the others in order.
func TestV2HostPreference(t *testing.T) {
	e := newEnv(t, nil)
	self := e.ts.Listener.Addr().String()
	manifest := func(name string) []byte {
		b, _, err := e.store.ManifestBytes(name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	get := func() []byte {
		resp, body := e.v2("GET", "/v2/library/stories/manifests/latest")
		if resp.StatusCode != 200 {
			t.Fatalf("GET manifest: %d %s", resp.StatusCode, body)
		}
		return body
	}
	// Different params make different manifests.
	addModel(t, e.store, "b.example/library/stories:latest", e.path, `{"temperature":0.5}`, "")
	addModel(t, e.store, "a.example/library/stories:latest", e.path, `{"temperature":0.7}`, "")
	if !bytes.Equal(get(), manifest("stories:latest")) {
		t.Error("registry.ollama.ai's manifest should win over other hosts")
	}
	if err := e.store.Delete("stories:latest"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(get(), manifest("a.example/library/stories:latest")) {
		t.Error("without registry.ollama.ai, hosts should be tried in lexical order")
	}
	addModel(t, e.store, self+"/library/stories:latest", e.path, `{"temperature":0.9}`, "")
	if !bytes.Equal(get(), manifest(self+"/library/stories:latest")) {
		t.Error("the request's own host should win")
	}
	resp, body := e.v2("GET", "/v2/library/stories/tags/list")
	if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != `{"name":"library/stories","tags":["latest"]}` {
		t.Errorf("tags/list over three hosts: %s", body)
	}
}

// TestV2APIKey checks that the server's API key guards /v2 too.
func TestV2APIKey(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.APIKey = "secret" })
	if resp, _ := e.v2("GET", "/v2/library/stories/manifests/latest"); resp.StatusCode != 401 {
		t.Errorf("no key: %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.v2("GET", "/v2/library/stories/manifests/latest", "Authorization", "Bearer secret"); resp.StatusCode != 200 {
		t.Errorf("with the key: %d, want 200", resp.StatusCode)
	}
}

// TestV2APIKeyPull pulls from a key-protected Golem with the registry
// client's configured credentials, through v2Unauthorized wired in front
// of the routes as ServeHTTP is meant to wire it for /v2 paths.
func TestV2APIKeyPull(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.APIKey = "secret" })
	srv := e.srv
	e.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/v2/") {
			srv.ServeHTTP(w, r)
			return
		}
		if !srv.v2Unauthorized(w, r) {
			srv.mux.ServeHTTP(w, r)
		}
	}))
	t.Cleanup(e.ts.Close)
	host := e.ts.Listener.Addr().String()
	name := host + "/library/stories:latest"
	for _, c := range []struct {
		what  string
		creds registry.Credentials
		ok    bool
	}{
		{"no credentials", registry.Credentials{}, false},
		{"wrong token", registry.Credentials{host: {Token: "nope"}}, false},
		{"token", registry.Credentials{host: {Token: "secret"}}, true},
		{"basic", registry.Credentials{host: {Username: "me", Password: "secret"}}, true},
		{"any-host token", registry.Credentials{"*": {Token: "secret"}}, true},
	} {
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		cl := &registry.Client{Insecure: true, Credentials: c.creds, Retries: -1}
		err = cl.Pull(context.Background(), st, name, nil)
		if (err == nil) != c.ok {
			t.Errorf("%s: pull error %v, want success %v", c.what, err, c.ok)
			continue
		}
		if c.ok {
			if _, err := st.Manifest(name); err != nil {
				t.Errorf("%s: pulled model missing: %v", c.what, err)
			}
		}
	}
	resp, body := e.v2("GET", "/v2/")
	var ev v2Errors
	if resp.StatusCode != 401 || resp.Header.Get("WWW-Authenticate") != `Basic realm="golem"` ||
		json.Unmarshal(body, &ev) != nil || len(ev.Errors) != 1 || ev.Errors[0].Code != "UNAUTHORIZED" {
		t.Errorf("unauthenticated /v2/: %d %v %s", resp.StatusCode, resp.Header, body)
	}
}
