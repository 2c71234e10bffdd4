package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/store"
)

// TestPullKill runs a pull in a child process (this test binary), kills
// it with SIGKILL in the middle of the weights, and checks that the store
// shows nothing of the model, keeps the partial download, and that the
// next pull fetches only the bytes the saved state does not cover.
func TestPullKill(t *testing.T) {
	if os.Getenv("GOLEM_PULL_KILL_CHILD") == "1" {
		st, err := store.Open(os.Getenv("GOLEM_PULL_KILL_STORE"))
		if err == nil {
			err = (&Client{Insecure: true, Credentials: Credentials{}}).Pull(context.Background(), st, os.Getenv("GOLEM_PULL_KILL_NAME"), nil)
		}
		if err != nil {
			os.Exit(3)
		}
		os.Exit(0)
	}
	if testing.Short() {
		t.Skip("spawns a process")
	}
	src, gguf := fixtureModel(t, "x/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "x/library/stories:latest", "library/stories", "latest")
	ggufDigest := digestOf(gguf)

	var (
		mu      sync.Mutex
		slow    = true
		fetched int64
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		s := slow // the slow phase is the child's; count only the rest
		mu.Unlock()
		if !strings.HasSuffix(r.URL.Path, ggufDigest) || r.Method != http.MethodGet {
			reg.ServeHTTP(w, r)
			return
		}
		cw := &countingWriter{ResponseWriter: w}
		if s { // trickle: 16 KiB every 50 ms
			cw.delay = 50 * time.Millisecond
		}
		reg.ServeHTTP(cw, r)
		if !s {
			mu.Lock()
			fetched += cw.n
			mu.Unlock()
		}
	}))
	defer srv.Close()

	dir := t.TempDir()
	name := srv.Listener.Addr().String() + "/library/stories:latest"
	cmd := exec.Command(os.Args[0], "-test.run=^TestPullKill$")
	cmd.Env = append(os.Environ(), "GOLEM_PULL_KILL_CHILD=1", "GOLEM_PULL_KILL_STORE="+dir, "GOLEM_PULL_KILL_NAME="+name)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	partial, _ := st.PartialBlobPath(ggufDigest)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if done := stateDone(statePath(partial)); done >= 100<<10 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal("child made no recorded progress")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	werr := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(werr, &ee) || ee.Exited() {
		t.Fatalf("child was not killed: %v", werr)
	}

	if st.HasBlob(ggufDigest, int64(len(gguf))) {
		t.Error("weights visible after the kill")
	}
	if _, err := st.Manifest(name); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest after the kill: %v", err)
	}
	have := stateDone(statePath(partial))
	if have <= 0 || have >= int64(len(gguf)) {
		t.Fatalf("saved state records %d of %d bytes", have, len(gguf))
	}

	mu.Lock()
	slow, fetched = false, 0
	mu.Unlock()
	if err := (&Client{Insecure: true, Credentials: Credentials{}}).Pull(context.Background(), st, name, nil); err != nil {
		t.Fatalf("pull after the kill: %v", err)
	}
	checkPulled(t, st, name, gguf, raw)
	noTempFiles(t, st)
	mu.Lock()
	defer mu.Unlock()
	if fetched != int64(len(gguf))-have {
		t.Errorf("resumed pull fetched %d bytes, want %d (%d recorded before the kill)", fetched, int64(len(gguf))-have, have)
	}
}

// stateDone returns the bytes a download state file records (0 if none).
func stateDone(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	var s downloadState
	if json.Unmarshal(b, &s) != nil {
		return 0
	}
	var n int64
	for _, p := range s.Parts {
		n += p.Done
	}
	return n
}

// countingWriter counts body bytes and, with a delay, writes them in
// 16 KiB pieces spaced by the delay.
type countingWriter struct {
	http.ResponseWriter
	n     int64
	delay time.Duration
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.delay == 0 {
		n, err := c.ResponseWriter.Write(p)
		c.n += int64(n)
		return n, err
	}
	total := 0
	for len(p) > 0 {
		k := min(len(p), 16<<10)
		n, err := c.ResponseWriter.Write(p[:k])
		total += n
		c.n += int64(n)
		if err != nil {
			return total, err
		}
		http.NewResponseController(c.ResponseWriter).Flush()
		p = p[k:]
		time.Sleep(c.delay)
	}
	return total, nil
}
