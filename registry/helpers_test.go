package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/api"
	"golem/internal/fixtures"
	"golem/store"
)

// fixtureModel writes the stories260K fixture into a new temporary store
// as model name (GGUF weights, params and template layers and a config,
// as `golem create` would) and returns the store and the GGUF bytes.
func fixtureModel(t *testing.T, name string) (*store.Store, []byte) {
	t.Helper()
	gguf, err := os.ReadFile(fixtures.Path(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	addModel(t, st, name, gguf)
	return st, gguf
}

// addModel writes a model with weights gguf into st.
func addModel(t *testing.T, st *store.Store, name string, gguf []byte) {
	t.Helper()
	var layers []store.Layer
	for _, l := range []struct {
		mt   string
		data []byte
	}{
		{store.MediaTypeModel, gguf},
		{store.MediaTypeParams, []byte(`{"temperature":0}`)},
		{store.MediaTypeTemplate, []byte("{{ .Prompt }}")},
	} {
		d, n, err := st.WriteBlob(bytes.NewReader(l.data))
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

func digestOf(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// progressLog collects progress lines.
type progressLog struct {
	mu    sync.Mutex
	lines []api.ProgressResponse
}

func (p *progressLog) add(r api.ProgressResponse) {
	p.mu.Lock()
	p.lines = append(p.lines, r)
	p.mu.Unlock()
}

// statuses returns the distinct statuses in order of first appearance.
func (p *progressLog) statuses() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	seen := map[string]bool{}
	for _, l := range p.lines {
		if !seen[l.Status] {
			seen[l.Status] = true
			out = append(out, l.Status)
		}
	}
	return out
}

// last returns the last line with the given status.
func (p *progressLog) last(status string) (api.ProgressResponse, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := len(p.lines) - 1; i >= 0; i-- {
		if p.lines[i].Status == status {
			return p.lines[i], true
		}
	}
	return api.ProgressResponse{}, false
}

// checkPulled asserts that st holds model name with weights equal to want
// and a manifest byte-identical to wantManifest (when given).
func checkPulled(t *testing.T, st *store.Store, name string, want, wantManifest []byte) {
	t.Helper()
	p, err := st.ModelPath(name)
	if err != nil {
		t.Fatalf("pulled model: %v", err)
	}
	got, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("pulled weights differ: %d bytes, want %d", len(got), len(want))
	}
	if wantManifest != nil {
		raw, _, err := st.ManifestBytes(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(raw, wantManifest) {
			t.Errorf("pulled manifest differs from the pushed one:\n%s\n%s", raw, wantManifest)
		}
	}
	m, err := st.Manifest(name)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append([]store.Layer{m.Config}, m.Layers...) {
		if err := st.VerifyBlob(l.Digest); err != nil {
			t.Error(err)
		}
	}
}

// noTempFiles asserts that the store's blobs directory holds no partial or
// temporary files.
func noTempFiles(t *testing.T, st *store.Store) {
	t.Helper()
	entries, err := os.ReadDir(st.Dir() + "/blobs")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), "sha256-") {
			t.Errorf("left behind in blobs/: %s", e.Name())
		}
	}
}

// hostClient returns an HTTP client that connects every "host:port" in
// routes to the listed loopback address and trusts any certificate, so
// tests can serve https://hf.co/... from httptest servers.
func hostClient(routes map[string]string) *http.Client {
	d := &net.Dialer{Timeout: 5 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if to, ok := routes[addr]; ok {
				addr = to
			} else {
				return nil, errors.New("test: no route to " + addr)
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true},
	}
	return &http.Client{Transport: tr}
}

// readAllClose reads and closes r.
func readAllClose(r io.ReadCloser) []byte {
	b, _ := io.ReadAll(r)
	r.Close()
	return b
}
