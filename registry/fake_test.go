package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/store"
)

// fakeRegistry is a read-only registry following the OCI distribution
// read API as the Ollama registry and Hugging Face serve it: manifests by
// tag, blobs by digest, optionally behind an auth check and with blob
// downloads redirected to a CDN (a second server).
type fakeRegistry struct {
	manifests map[string][]byte // "namespace/model/tag" -> manifest
	blobs     map[string][]byte // digest -> content
	// cdn, when set, is the base URL blob GETs redirect to (307).
	cdn string
	// authorized, when set, decides whether a request may proceed;
	// otherwise the answer is 401 with challenge.
	authorized func(*http.Request) bool
	challenge  string

	mu  sync.Mutex
	log []string // "METHOD path" of each request
}

func newFakeRegistry() *fakeRegistry {
	return &fakeRegistry{manifests: map[string][]byte{}, blobs: map[string][]byte{}}
}

// add publishes model name of st as repo:tag ("namespace/model", tag).
func (f *fakeRegistry) add(t *testing.T, st *store.Store, name, repo, tag string) []byte {
	t.Helper()
	raw, _, err := st.ManifestBytes(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := store.ParseManifest(raw)
	if err != nil {
		t.Fatal(err)
	}
	f.manifests[repo+"/"+tag] = raw
	for _, l := range append([]store.Layer{m.Config}, m.Layers...) {
		b, err := st.ReadBlob(l.Digest)
		if err != nil {
			t.Fatal(err)
		}
		f.blobs[l.Digest] = b
	}
	return raw
}

func (f *fakeRegistry) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.log...)
}

func (f *fakeRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.log = append(f.log, r.Method+" "+r.URL.Path)
	f.mu.Unlock()
	if f.authorized != nil && !f.authorized(r) {
		w.Header().Set("WWW-Authenticate", f.challenge)
		http.Error(w, `{"errors":[{"code":"UNAUTHORIZED"}]}`, http.StatusUnauthorized)
		return
	}
	p, ok := strings.CutPrefix(r.URL.Path, "/v2/")
	if !ok {
		http.NotFound(w, r)
		return
	}
	if p == "" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if repo, tag, ok := strings.Cut(p, "/manifests/"); ok {
		b, found := f.manifests[repo+"/"+tag]
		if !found {
			http.Error(w, `{"errors":[{"code":"MANIFEST_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", store.MediaTypeManifest)
		w.Header().Set("Docker-Content-Digest", digestOf(b))
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
		return
	}
	if _, digest, ok := strings.Cut(p, "/blobs/"); ok {
		b, found := f.blobs[digest]
		if !found {
			http.Error(w, `{"errors":[{"code":"BLOB_UNKNOWN"}]}`, http.StatusNotFound)
			return
		}
		if f.cdn != "" && r.Method == http.MethodGet {
			http.Redirect(w, r, f.cdn+"/blobs/"+digest+"?X-Amz-Signature=abc&Expires=99", http.StatusTemporaryRedirect)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
		return
	}
	http.NotFound(w, r)
}

// fakeCDN serves blobs by digest with range support and records the
// requests it saw.
type fakeCDN struct {
	blobs map[string][]byte
	mu    sync.Mutex
	reqs  []*http.Request
}

func (c *fakeCDN) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	c.reqs = append(c.reqs, r.Clone(context.Background()))
	c.mu.Unlock()
	digest, ok := strings.CutPrefix(r.URL.Path, "/blobs/")
	b, found := c.blobs[digest]
	if !ok || !found || r.URL.Query().Get("X-Amz-Signature") == "" {
		http.Error(w, "AccessDenied", http.StatusForbidden)
		return
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// TestPullHuggingFace pulls hf.co/user/repo:quant the way Ollama does: the
// manifest from https://hf.co/v2/user/repo/manifests/<quant>, the blobs
// through 307 redirects to a CDN host that serves byte ranges. The large
// blob is fetched in parallel ranges, the access token goes to hf.co only.
func TestPullHuggingFace(t *testing.T) {
	src, gguf := fixtureModel(t, "hf.co/someone/Stories-GGUF:Q8_0")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "hf.co/someone/Stories-GGUF:Q8_0", "someone/Stories-GGUF", "Q8_0")
	reg.add(t, src, "hf.co/someone/Stories-GGUF:Q8_0", "someone/Stories-GGUF", "latest")
	// A private repo: the token is asked for with a Basic challenge.
	reg.authorized = func(r *http.Request) bool { return r.Header.Get("Authorization") == "Bearer hf_secret" }
	reg.challenge = `Basic realm="Hugging Face"`
	cdn := &fakeCDN{blobs: reg.blobs}
	reg.cdn = "https://cdn-lfs.hf.co"

	hf := httptest.NewTLSServer(reg)
	defer hf.Close()
	cs := httptest.NewTLSServer(cdn)
	defer cs.Close()
	hc := hostClient(map[string]string{
		"hf.co:443":         hf.Listener.Addr().String(),
		"cdn-lfs.hf.co:443": cs.Listener.Addr().String(),
	})
	c := &Client{
		HTTP:          hc,
		Credentials:   Credentials{"hf.co": {Token: "hf_secret"}},
		PartThreshold: 256 << 10, // the 1.2 MB GGUF goes in 4 parallel parts
		RetryBase:     time.Millisecond,
	}

	for _, name := range []string{"hf.co/someone/Stories-GGUF:Q8_0", "huggingface.co/someone/Stories-GGUF"} {
		st, err := store.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		var pl progressLog
		if err := c.Pull(context.Background(), st, name, pl.add); err != nil {
			t.Fatalf("pull %s: %v", name, err)
		}
		checkPulled(t, st, name, gguf, raw)
		noTempFiles(t, st)
		want := []string{"pulling manifest"}
		m, _ := store.ParseManifest(raw)
		for _, l := range append([]store.Layer{m.Config}, m.Layers...) {
			want = append(want, "pulling "+l.Digest[7:19])
		}
		want = append(want, "verifying sha256 digest", "writing manifest", "success")
		if got := pl.statuses(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("progress statuses:\n got %q\nwant %q", got, want)
		}
		if l, _ := pl.last("pulling " + digestOf(gguf)[7:19]); l.Total != int64(len(gguf)) || l.Completed != l.Total {
			t.Errorf("last model progress %+v, want total=completed=%d", l, len(gguf))
		}
	}
	tag := "Q8_0"
	if got := reg.requests(); !contains(got, "GET /v2/someone/Stories-GGUF/manifests/"+tag) || !contains(got, "GET /v2/someone/Stories-GGUF/manifests/latest") {
		t.Errorf("manifest requests: %q", got)
	}

	// The CDN saw ranged requests (4 parts of the GGUF per pull) and
	// never the token.
	ranges := 0
	for _, r := range cdn.reqs {
		if a := r.Header.Get("Authorization"); a != "" {
			t.Errorf("CDN got Authorization %q", a)
		}
		if strings.HasSuffix(r.URL.Path, digestOf(gguf)) {
			if r.Header.Get("Range") == "" {
				t.Errorf("CDN GET without Range")
			}
			ranges++
		}
	}
	if ranges != 8 {
		t.Errorf("CDN served %d range requests of the GGUF over two pulls, want 8", ranges)
	}

	// Without the token the pull fails with a clear error and leaves
	// nothing behind.
	st, _ := store.Open(t.TempDir())
	c2 := &Client{HTTP: hc, Credentials: Credentials{}}
	err := c2.Pull(context.Background(), st, "hf.co/someone/Stories-GGUF:Q8_0", nil)
	if err == nil || !strings.Contains(err.Error(), "requires a username and password") {
		t.Errorf("pull without token: %v", err)
	}
	if _, err := st.Manifest("hf.co/someone/Stories-GGUF:Q8_0"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest after failed pull: %v", err)
	}
	if err := c.Pull(context.Background(), st, "hf.co/someone/Stories-GGUF:Q2_K", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("pull of a missing quant: %v, want ErrNotFound", err)
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestPullBearerChallenge follows the Docker token flow of the Ollama
// registry and private registries: 401 with a Bearer challenge, a token
// from the realm (with basic credentials), retry with the token.
func TestPullBearerChallenge(t *testing.T) {
	src, gguf := fixtureModel(t, "reg.example/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "reg.example/library/stories:latest", "library/stories", "latest")

	var (
		mu         sync.Mutex
		tokenQuery []url.Values
	)
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		tokenQuery = append(tokenQuery, r.URL.Query())
		mu.Unlock()
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"token": "tok-" + r.URL.Query().Get("scope"), "expires_in": 300})
	})
	mux.Handle("/", reg)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	host := srv.Listener.Addr().String()
	reg.challenge = `Bearer realm="` + srv.URL + `/token",service="reg.example",scope="repository:library/stories:pull"`
	reg.authorized = func(r *http.Request) bool {
		return r.Header.Get("Authorization") == "Bearer tok-repository:library/stories:pull"
	}

	tests := []struct {
		name  string
		creds Credentials
		ok    bool
	}{
		{"host credentials", Credentials{host: {Username: "alice", Password: "s3cret"}}, true},
		{"wildcard credentials", Credentials{"*": {Username: "alice", Password: "s3cret"}}, true},
		{"wrong password", Credentials{host: {Username: "alice", Password: "nope"}}, false},
		{"none", Credentials{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, _ := store.Open(t.TempDir())
			c := &Client{Insecure: true, Credentials: tt.creds, RetryBase: time.Millisecond}
			name := host + "/library/stories"
			err := c.Pull(context.Background(), st, name, nil)
			if !tt.ok {
				if err == nil || !strings.Contains(err.Error(), "refused access") {
					t.Fatalf("pull: %v, want a refused-access error", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkPulled(t, st, name, gguf, raw)
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(tokenQuery) == 0 {
		t.Fatal("token service never asked")
	}
	q := tokenQuery[0]
	if q.Get("service") != "reg.example" || q.Get("scope") != "repository:library/stories:pull" {
		t.Errorf("token request query %v", q)
	}
}

// TestPullNoRangeSupport pulls from a registry that ignores Range headers
// (200 with the whole blob): the download restarts as a single stream.
func TestPullNoRangeSupport(t *testing.T) {
	src, gguf := fixtureModel(t, "x/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "x/library/stories:latest", "library/stories", "latest")
	// The first answer to the single-stream request (after the parallel
	// range requests got whole blobs) is cut after 100000 bytes; its
	// retry asks for the rest, gets the whole blob again, and starts over.
	whole := "bytes=0-" + itoa(len(gguf)-1)
	var (
		mu   sync.Mutex
		cuts int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cut := r.Header.Get("Range") == whole && cuts == 0
		if cut {
			cuts++
		}
		mu.Unlock()
		r.Header.Del("Range")
		if cut {
			w.Header().Set("Content-Length", itoa(len(gguf)))
			w.Write(gguf[:100000])
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
		reg.ServeHTTP(w, r)
	}))
	defer srv.Close()
	st, _ := store.Open(t.TempDir())
	c := &Client{Insecure: true, Credentials: Credentials{}, PartThreshold: 256 << 10, RetryBase: time.Millisecond}
	name := srv.Listener.Addr().String() + "/library/stories:latest"
	if err := c.Pull(context.Background(), st, name, nil); err != nil {
		t.Fatal(err)
	}
	checkPulled(t, st, name, gguf, raw)
	noTempFiles(t, st)
	if cuts != 1 {
		t.Errorf("%d single-stream answers cut, want 1", cuts)
	}
}

// TestPullStall pulls from a server whose first blob response stops
// sending mid-body and hangs: the stall timeout aborts it and the part
// resumes from the bytes already on disk.
func TestPullStall(t *testing.T) {
	src, gguf := fixtureModel(t, "x/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "x/library/stories:latest", "library/stories", "latest")
	ggufDigest := digestOf(gguf)
	var (
		mu      sync.Mutex
		stalled bool
		ranges  []string
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ggufDigest) {
			reg.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		first := !stalled
		stalled = true
		ranges = append(ranges, r.Header.Get("Range"))
		mu.Unlock()
		if !first {
			reg.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Range", "bytes 0-"+itoa(len(gguf)-1)+"/"+itoa(len(gguf)))
		w.Header().Set("Content-Length", itoa(len(gguf)))
		w.WriteHeader(http.StatusPartialContent)
		w.Write(gguf[:100000])
		http.NewResponseController(w).Flush()
		<-r.Context().Done() // hang until the client gives up
	}))
	defer srv.Close()
	st, _ := store.Open(t.TempDir())
	c := &Client{Insecure: true, Credentials: Credentials{}, StallTimeout: 300 * time.Millisecond, RetryBase: time.Millisecond}
	name := srv.Listener.Addr().String() + "/library/stories:latest"
	start := time.Now()
	if err := c.Pull(context.Background(), st, name, nil); err != nil {
		t.Fatal(err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("pull took %v", el)
	}
	checkPulled(t, st, name, gguf, raw)
	mu.Lock()
	defer mu.Unlock()
	if len(ranges) != 2 || ranges[1] != "bytes=100000-"+itoa(len(gguf)-1) {
		t.Errorf("blob requests %q, want a resume from byte 100000", ranges)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestPullConcurrent runs three pulls of one model into one store at the
// same time (three /api/pull requests): all succeed and the weights are
// downloaded once.
func TestPullConcurrent(t *testing.T) {
	src, gguf := fixtureModel(t, "x/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "x/library/stories:latest", "library/stories", "latest")
	ggufDigest := digestOf(gguf)
	var (
		mu      sync.Mutex
		fetched int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ggufDigest) {
			reg.ServeHTTP(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w}
		reg.ServeHTTP(cw, r)
		mu.Lock()
		fetched += cw.n
		mu.Unlock()
	}))
	defer srv.Close()
	st, _ := store.Open(t.TempDir())
	name := srv.Listener.Addr().String() + "/library/stories:latest"
	c := &Client{Insecure: true, Credentials: Credentials{}, PartThreshold: 256 << 10}
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Go(func() { errs[i] = c.Pull(context.Background(), st, name, nil) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("pull %d: %v", i, err)
		}
	}
	checkPulled(t, st, name, gguf, raw)
	noTempFiles(t, st)
	if fetched != int64(len(gguf)) {
		t.Errorf("weights fetched %d bytes, want %d (once)", fetched, len(gguf))
	}
}
