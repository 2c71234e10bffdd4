package registry

// Tests against a real OCI distribution registry: the `registry` program
// of github.com/distribution/distribution at a pinned version, built once
// with `go install` into a cache directory and started on loopback per
// test. Locally the tests skip when it cannot be built; with CI set they
// fail. GOLEM_TEST_OCI_REGISTRY may name a prebuilt binary.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/gguf"
	"golem/store"
)

// registryModule and registryVersion pin the registry the tests run.
const (
	registryModule  = "github.com/distribution/distribution/v3/cmd/registry"
	registryVersion = "v3.0.0"
)

var regBin struct {
	once sync.Once
	path string
	err  error
}

// registryBinary returns the path of the registry program, building it on
// first use (this takes minutes once; later runs find it in the cache).
func registryBinary(t *testing.T) string {
	t.Helper()
	regBin.once.Do(func() { regBin.path, regBin.err = buildRegistry() })
	if regBin.err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("OCI registry %s@%s unavailable: %v", registryModule, registryVersion, regBin.err)
		}
		t.Skipf("OCI registry %s@%s unavailable (set CI to make this fatal): %v", registryModule, registryVersion, regBin.err)
	}
	return regBin.path
}

func buildRegistry() (string, error) {
	if p := os.Getenv("GOLEM_TEST_OCI_REGISTRY"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("GOLEM_TEST_OCI_REGISTRY: %w", err)
		}
		return p, nil
	}
	out, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOCACHE: %w", err)
	}
	dir := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "golem-oci-registry", registryVersion)
	bin := filepath.Join(dir, "registry")
	if fi, err := os.Stat(bin); err == nil && fi.Mode().IsRegular() {
		return bin, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", registryModule+"@"+registryVersion)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install %s@%s: %w\n%s", registryModule, registryVersion, err, b)
	}
	return bin, nil
}

// startRegistry runs a registry with filesystem storage in a temporary
// directory on a free loopback port and returns its host:port.
func startRegistry(t *testing.T) string {
	t.Helper()
	bin := registryBinary(t)
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: %s
`, filepath.Join(dir, "data"), addr)
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve", path)
	cmd.Env = append(os.Environ(), "OTEL_TRACES_EXPORTER=none", "OTEL_SDK_DISABLED=true")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("registry log:\n%s", logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return addr
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("registry did not start on %s: %v\n%s", addr, err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// proxyReq is one request a proxy forwarded.
type proxyReq struct {
	method, path, query, rng string
	status                   int
	bytes                    int64 // response body bytes sent
}

// proxy forwards requests to a registry, logging them, and can damage
// blob downloads: mangle returns, per request, after how many body bytes
// to drop the connection (-1: never) and which body byte to flip (-1:
// none).
type proxy struct {
	target string
	mangle func(r *http.Request) (dropAfter, flip int64)
	// fail, when set, may answer a request with status code instead of
	// the registry's answer, after forwarding it or not.
	fail func(r *http.Request) (code int, forward bool)
	mu   sync.Mutex
	log  []proxyReq
	srv  *httptest.Server
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{target: target}
	p.srv = httptest.NewServer(p)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *proxy) host() string { return p.srv.Listener.Addr().String() }

func (p *proxy) requests() []proxyReq {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]proxyReq(nil), p.log...)
}

func (p *proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host, out.RequestURI = "http", p.target, ""
	if r.ContentLength == 0 {
		out.Body = nil
	}
	p.mu.Lock()
	mangle, fail := p.mangle, p.fail
	p.mu.Unlock()
	code, forward := 0, true
	if fail != nil {
		code, forward = fail(r)
	}
	if code != 0 {
		if forward {
			if resp, err := http.DefaultTransport.RoundTrip(out); err == nil {
				resp.Body.Close()
			}
		}
		p.mu.Lock()
		p.log = append(p.log, proxyReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Range"), code, 0})
		p.mu.Unlock()
		http.Error(w, "injected failure", code)
		return
	}
	// out.Host stays the proxy's, so the registry's Location headers
	// point back through the proxy.
	resp, err := http.DefaultTransport.RoundTrip(out)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	drop, flip := int64(-1), int64(-1)
	if mangle != nil && r.Method == http.MethodGet && resp.StatusCode/100 == 2 {
		drop, flip = mangle(r)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	var sent int64
	defer func() {
		p.mu.Lock()
		p.log = append(p.log, proxyReq{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Range"), resp.StatusCode, sent})
		p.mu.Unlock()
	}()
	buf := make([]byte, 16<<10)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if flip >= sent && flip < sent+int64(n) {
				chunk[flip-sent] ^= 0x55
			}
			if drop >= 0 && sent+int64(n) > drop {
				chunk = chunk[:drop-sent]
				w.Write(chunk)
				sent += int64(len(chunk))
				http.NewResponseController(w).Flush()
				panic(http.ErrAbortHandler) // cut the connection mid-body
			}
			w.Write(chunk)
			sent += int64(n)
		}
		if rerr != nil {
			return
		}
	}
}

// rangeStart returns the first byte of a "bytes=N-M" header (0 if none).
func rangeStart(h string) int64 {
	var a, b int64
	fmt.Sscanf(h, "bytes=%d-%d", &a, &b)
	return a
}

// TestRegistryPushPull pushes the fixture model to a real registry (in
// chunks), pushes again (everything skipped), pushes a copy under another
// repository (blobs mounted, not uploaded), deletes the model locally,
// pulls it back in parallel ranges and checks the GGUF and the manifest
// bytes.
func TestRegistryPushPull(t *testing.T) {
	px := newProxy(t, startRegistry(t))
	name := px.host() + "/library/stories:latest"
	st, weights := fixtureModel(t, name)
	c := &Client{Insecure: true, Credentials: Credentials{}, ChunkSize: 300 << 10, PartThreshold: 256 << 10, RetryBase: time.Millisecond}
	ctx := context.Background()

	var pl progressLog
	if err := c.Push(ctx, st, name, pl.add); err != nil {
		t.Fatalf("push: %v", err)
	}
	pushed, _, _ := st.ManifestBytes(name)
	m, _ := store.ParseManifest(pushed)
	want := []string{"retrieving manifest"}
	for _, l := range append([]store.Layer{m.Config}, m.Layers...) {
		want = append(want, "pushing "+l.Digest[7:19])
	}
	want = append(want, "pushing manifest", "success")
	if got := pl.statuses(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("push statuses:\n got %q\nwant %q", got, want)
	}
	ggufDigest := digestOf(weights)
	if l, _ := pl.last("pushing " + ggufDigest[7:19]); l.Completed != int64(len(weights)) || l.Total != l.Completed {
		t.Errorf("last push progress of the weights: %+v", l)
	}
	patches := 0
	for _, r := range px.requests() {
		if r.method == "PATCH" {
			patches++
		}
	}
	// 1185376 bytes in 300 KiB chunks are 4 PATCHes, plus one for each
	// of the 3 small blobs.
	if wantPatches := (len(weights)+300<<10-1)/(300<<10) + 3; patches != wantPatches {
		t.Errorf("push sent %d PATCH requests, want %d", patches, wantPatches)
	}

	// Pushing again uploads nothing.
	n0 := len(px.requests())
	if err := c.Push(ctx, st, name, nil); err != nil {
		t.Fatalf("second push: %v", err)
	}
	for _, r := range px.requests()[n0:] {
		if r.method == "POST" || r.method == "PATCH" {
			t.Errorf("second push sent %s %s", r.method, r.path)
		}
	}

	// A copy under another repository mounts every blob.
	other := px.host() + "/team/tales:v1"
	if err := st.Copy(name, other); err != nil {
		t.Fatal(err)
	}
	n0 = len(px.requests())
	if err := c.Push(ctx, st, other, nil); err != nil {
		t.Fatalf("push copy: %v", err)
	}
	mounts := 0
	for _, r := range px.requests()[n0:] {
		if r.method == "PATCH" {
			t.Errorf("copy push uploaded data: %s %s", r.method, r.path)
		}
		if r.method == "POST" && strings.Contains(r.query, "mount=") && strings.Contains(r.query, "from=library%2Fstories") && r.status == http.StatusCreated {
			mounts++
		}
	}
	if mounts != 4 {
		t.Errorf("copy push mounted %d blobs, want 4", mounts)
	}

	// Delete everything locally, pull both back.
	if err := st.Delete(name, other); err != nil {
		t.Fatal(err)
	}
	if _, err := st.ModelPath(name); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	n0 = len(px.requests())
	pl = progressLog{}
	if err := c.Pull(ctx, st, name, pl.add); err != nil {
		t.Fatalf("pull: %v", err)
	}
	checkPulled(t, st, name, weights, pushed)
	noTempFiles(t, st)
	if got := pl.statuses(); got[0] != "pulling manifest" || got[len(got)-1] != "success" {
		t.Errorf("pull statuses %q", got)
	}
	ranged := 0
	for _, r := range px.requests()[n0:] {
		if r.method == "GET" && strings.HasSuffix(r.path, ggufDigest) && r.status == http.StatusPartialContent {
			ranged++
		}
	}
	if ranged != 4 {
		t.Errorf("pull fetched the weights in %d ranged requests, want 4 parallel parts", ranged)
	}
	path, _ := st.ModelPath(name)
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatalf("pulled GGUF: %v", err)
	}
	if a := f.Architecture(); a != "llama" {
		t.Errorf("pulled GGUF architecture %q", a)
	}
	f.Close()
	if err := c.Pull(ctx, st, other, nil); err != nil {
		t.Fatalf("pull copy: %v", err)
	}
	checkPulled(t, st, other, weights, pushed)
	if err := c.Pull(ctx, st, px.host()+"/library/nosuch", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("pull of an unknown model: %v", err)
	}
}

// publish pushes the fixture model straight to the registry at addr and
// returns the weights and manifest bytes.
func publish(t *testing.T, addr string) ([]byte, []byte) {
	t.Helper()
	name := addr + "/library/stories:latest"
	st, weights := fixtureModel(t, name)
	if err := (&Client{Insecure: true, Credentials: Credentials{}}).Push(context.Background(), st, name, nil); err != nil {
		t.Fatalf("push: %v", err)
	}
	raw, _, _ := st.ManifestBytes(name)
	return weights, raw
}

// TestRegistryPullResume pulls through a proxy that cuts the connection in
// the middle of the weights: the pull retries each part from where it
// stopped. Then, with retries off, an interrupted pull leaves its partial
// download (and nothing visible), and the next pull finishes it without
// fetching those bytes again.
func TestRegistryPullResume(t *testing.T) {
	addr := startRegistry(t)
	weights, raw := publish(t, addr)
	ggufDigest := digestOf(weights)
	px := newProxy(t, addr)
	name := px.host() + "/library/stories:latest"
	ctx := context.Background()

	var (
		mu    sync.Mutex
		drops int
	)
	const cut = 100 << 10
	px.mangle = func(r *http.Request) (int64, int64) {
		mu.Lock()
		defer mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ggufDigest) && drops < 3 {
			drops++
			return cut, -1
		}
		return -1, -1
	}
	st, _ := store.Open(t.TempDir())
	c := &Client{Insecure: true, Credentials: Credentials{}, PartThreshold: 256 << 10, RetryBase: time.Millisecond}
	if err := c.Pull(ctx, st, name, nil); err != nil {
		t.Fatalf("pull through a dropping proxy: %v", err)
	}
	checkPulled(t, st, name, weights, raw)
	noTempFiles(t, st)
	parts := c.planParts(int64(len(weights)))
	resumed := 0
	for _, r := range px.requests() {
		if r.method != "GET" || !strings.HasSuffix(r.path, ggufDigest) {
			continue
		}
		// The proxy cut after 100 KiB (of a part, or of a part's resumed
		// request); the client resumes from what it received.
		s := rangeStart(r.rng)
		for _, p := range parts {
			if s > p.off && s < p.end {
				resumed++
			}
		}
	}
	if resumed != 3 {
		t.Errorf("%d requests resumed a part in the middle, want 3 (one per cut)", resumed)
	}

	// Interrupted pull with retries off: fails, leaves a partial.
	st2, _ := store.Open(t.TempDir())
	mu.Lock()
	drops = 0
	mu.Unlock()
	c2 := &Client{Insecure: true, Credentials: Credentials{}, PartThreshold: 256 << 10, Retries: -1}
	err := c2.Pull(ctx, st2, name, nil)
	if err == nil || !strings.Contains(err.Error(), "unexpected EOF") && !strings.Contains(err.Error(), "connection reset") {
		t.Fatalf("interrupted pull: %v", err)
	}
	if st2.HasBlob(ggufDigest, int64(len(weights))) {
		t.Error("unverified blob visible after an interrupted pull")
	}
	if _, err := st2.Manifest(name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest after an interrupted pull: %v", err)
	}
	partial, _ := st2.PartialBlobPath(ggufDigest)
	if _, err := os.Stat(partial); err != nil {
		t.Fatalf("no partial download kept: %v", err)
	}
	if _, err := os.Stat(statePath(partial)); err != nil {
		t.Fatalf("no download state kept: %v", err)
	}
	if res, err := st2.Prune(); err != nil || res.TempFiles != 0 {
		t.Errorf("prune within the grace period removed %d temp files (%v)", res.TempFiles, err)
	}
	have := int64(0)
	for _, p := range loadParts(statePath(partial), partial, store.Layer{Digest: ggufDigest, Size: int64(len(weights))}) {
		have += p.done.Load()
	}
	if have < cut {
		t.Errorf("state records %d bytes, want at least %d", have, cut)
	}

	px.mu.Lock()
	px.mangle = nil
	px.mu.Unlock()
	n0 := len(px.requests())
	if err := c2.Pull(ctx, st2, name, nil); err != nil {
		t.Fatalf("resumed pull: %v", err)
	}
	checkPulled(t, st2, name, weights, raw)
	noTempFiles(t, st2)
	var fetched int64
	for _, r := range px.requests()[n0:] {
		if r.method == "GET" && strings.HasSuffix(r.path, ggufDigest) {
			fetched += r.bytes
		}
	}
	if fetched != int64(len(weights))-have {
		t.Errorf("resumed pull fetched %d bytes of the weights, want %d (%d were on disk)", fetched, int64(len(weights))-have, have)
	}
}

// TestRegistryPullCorrupt pulls through a proxy that flips one byte of the
// weights: the blob is rejected, never becomes visible, no manifest is
// written and no partial data is kept; a clean pull then works.
func TestRegistryPullCorrupt(t *testing.T) {
	addr := startRegistry(t)
	weights, raw := publish(t, addr)
	ggufDigest := digestOf(weights)
	px := newProxy(t, addr)
	px.mangle = func(r *http.Request) (int64, int64) {
		if strings.HasSuffix(r.URL.Path, ggufDigest) && rangeStart(r.Header.Get("Range")) == 0 {
			return -1, 1000
		}
		return -1, -1
	}
	name := px.host() + "/library/stories:latest"
	st, _ := store.Open(t.TempDir())
	c := &Client{Insecure: true, Credentials: Credentials{}}
	var pl progressLog
	err := c.Pull(context.Background(), st, name, pl.add)
	if err == nil || !strings.Contains(err.Error(), "digest mismatch") {
		t.Fatalf("pull of a corrupted blob: %v", err)
	}
	if st.HasBlob(ggufDigest, int64(len(weights))) {
		t.Error("corrupt blob visible")
	}
	if _, err := st.Manifest(name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest written after a corrupt blob: %v", err)
	}
	if _, ok := pl.last("writing manifest"); ok {
		t.Error("progress says writing manifest")
	}
	noTempFiles(t, st)

	px.mu.Lock()
	px.mangle = nil
	px.mu.Unlock()
	if err := c.Pull(context.Background(), st, name, nil); err != nil {
		t.Fatalf("clean pull: %v", err)
	}
	checkPulled(t, st, name, weights, raw)
}

// TestRegistryPushRetry pushes through a proxy that fails requests: a 503
// before the first chunk reaches the registry (the chunk is sent again),
// and a 502 after the second chunk was stored (the resent chunk gets 416,
// the client asks the session where it stands and goes on from there).
func TestRegistryPushRetry(t *testing.T) {
	px := newProxy(t, startRegistry(t))
	name := px.host() + "/library/stories:latest"
	st, weights := fixtureModel(t, name)
	var (
		mu      sync.Mutex
		patches int
	)
	px.fail = func(r *http.Request) (int, bool) {
		if r.Method != http.MethodPatch {
			return 0, true
		}
		mu.Lock()
		defer mu.Unlock()
		patches++
		switch patches {
		case 1:
			return http.StatusServiceUnavailable, false
		case 3:
			return http.StatusBadGateway, true
		}
		return 0, true
	}
	c := &Client{Insecure: true, Credentials: Credentials{}, ChunkSize: 300 << 10, RetryBase: time.Millisecond}
	if err := c.Push(context.Background(), st, name, nil); err != nil {
		t.Fatalf("push: %v", err)
	}
	var got []int
	statusChecks := 0
	for _, r := range px.requests() {
		if r.method == "PATCH" {
			got = append(got, r.status)
		}
		if r.method == "GET" && strings.Contains(r.path, "/blobs/uploads/") {
			statusChecks++
		}
	}
	if len(got) < 5 || got[0] != 503 || got[1] != 202 || got[2] != 502 || got[3] != 416 || statusChecks != 1 {
		t.Errorf("PATCH statuses %v, %d status checks; want 503 202 502 416 ... and 1", got, statusChecks)
	}
	dst, _ := store.Open(t.TempDir())
	raw, _, _ := st.ManifestBytes(name)
	if err := c.Pull(context.Background(), dst, name, nil); err != nil {
		t.Fatal(err)
	}
	checkPulled(t, dst, name, weights, raw)
}
