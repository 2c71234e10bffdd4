package server

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/api"
)

// memRegistry is a minimal in-memory OCI distribution registry (one
// upload session per POST, PATCH appends, PUT ?digest= commits) enough
// for /api/push and /api/pull round trips.
type memRegistry struct {
	mu        sync.Mutex
	blobs     map[string][]byte
	manifests map[string][]byte
	uploads   map[string][]byte
}

func newMemRegistry() *memRegistry {
	return &memRegistry{blobs: map[string][]byte{}, manifests: map[string][]byte{}, uploads: map[string][]byte{}}
}

func (m *memRegistry) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch {
	case strings.HasPrefix(r.URL.Path, "/upload/"):
		id := strings.TrimPrefix(r.URL.Path, "/upload/")
		data, ok := m.uploads[id]
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch r.Method {
		case http.MethodPatch:
			b, _ := io.ReadAll(r.Body)
			m.uploads[id] = append(data, b...)
			w.Header().Set("Location", r.URL.Path)
			w.Header().Set("Range", "0-"+strconv.Itoa(len(m.uploads[id])-1))
			w.WriteHeader(http.StatusAccepted)
		case http.MethodPut:
			sum := sha256.Sum256(data)
			d := "sha256:" + hex.EncodeToString(sum[:])
			if r.URL.Query().Get("digest") != d {
				http.Error(w, "DIGEST_INVALID", http.StatusBadRequest)
				return
			}
			m.blobs[d] = data
			delete(m.uploads, id)
			w.WriteHeader(http.StatusCreated)
		}
	case strings.HasSuffix(p, "/blobs/uploads/") && r.Method == http.MethodPost:
		id := strconv.Itoa(len(m.uploads) + len(m.blobs))
		m.uploads[id] = nil
		w.Header().Set("Location", "/upload/"+id)
		w.WriteHeader(http.StatusAccepted)
	case strings.Contains(p, "/blobs/"):
		_, d, _ := strings.Cut(p, "/blobs/")
		b, ok := m.blobs[d]
		if !ok {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
	case strings.Contains(p, "/manifests/"):
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			m.manifests[p] = b
			w.WriteHeader(http.StatusCreated)
			return
		}
		b, ok := m.manifests[p]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.docker.distribution.manifest.v2+json")
		w.Write(b)
	default:
		http.NotFound(w, r)
	}
}

// TestPushPullAPI pushes a model with /api/push to a registry, pulls it
// into another server with /api/pull (streamed and not), and generates
// with the pulled model.
func TestPushPullAPI(t *testing.T) {
	reg := httptest.NewServer(newMemRegistry())
	defer reg.Close()
	host := reg.Listener.Addr().String()
	name := host + "/library/stories:latest"

	src := newEnv(t, nil)
	src.post("/api/copy", api.CopyRequest{Source: "stories", Destination: name}, 200, nil)
	body := src.post("/api/push", api.PullRequest{Model: name, Insecure: true}, 200, nil)
	got := lines[api.ProgressResponse](t, body)
	if len(got) < 4 || got[0].Status != "retrieving manifest" || got[len(got)-1].Status != "success" {
		t.Fatalf("push stream: %+v", got)
	}

	dst := newEnv(t, nil)
	body = dst.post("/api/pull", api.PullRequest{Model: name, Insecure: true}, 200, nil)
	got = lines[api.ProgressResponse](t, body)
	var statuses []string
	for _, l := range got {
		if len(statuses) == 0 || statuses[len(statuses)-1] != l.Status {
			statuses = append(statuses, l.Status)
		}
	}
	if statuses[0] != "pulling manifest" || !strings.HasPrefix(statuses[1], "pulling ") ||
		strings.Join(statuses[len(statuses)-3:], "|") != "verifying sha256 digest|writing manifest|success" {
		t.Errorf("pull statuses %q", statuses)
	}
	f := false
	var gen api.GenerateResponse
	dst.post("/api/generate", api.GenerateRequest{Model: name, Prompt: "Once upon a time", Stream: &f,
		Options: map[string]any{"num_predict": 5}}, 200, &gen)
	if gen.EvalCount != 5 || gen.Response == "" {
		t.Errorf("generate with the pulled model: %+v", gen)
	}

	var ok api.ProgressResponse
	dst.post("/api/pull", api.PullRequest{Model: name, Insecure: true, Stream: &f}, 200, &ok)
	if ok.Status != "success" {
		t.Errorf("non-streamed pull: %+v", ok)
	}
	if code, b := dst.do("POST", "/api/pull", api.PullRequest{Model: host + "/library/nosuch", Insecure: true}); code != 200 || !strings.Contains(string(b), `"error"`) {
		t.Errorf("pull of a missing model: %d %s", code, b)
	}
	if code, b := dst.do("POST", "/api/pull", api.PullRequest{Model: host + "/library/nosuch", Insecure: true, Stream: &f}); code != 404 {
		t.Errorf("non-streamed pull of a missing model: %d %s", code, b)
	}
}
