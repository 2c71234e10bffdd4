package registry

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golem/store"
)

// TestPullDiskFull makes the disk "fill up" part-way through the weights:
// the pull fails with the write error (not retried forever), nothing
// becomes visible (no blob of the weights, no manifest), and once space is
// back the next pull resumes and succeeds.
func TestPullDiskFull(t *testing.T) {
	src, gguf := fixtureModel(t, "x/library/stories:latest")
	reg := newFakeRegistry()
	raw := reg.add(t, src, "x/library/stories:latest", "library/stories", "latest")
	srv := httptest.NewServer(reg)
	defer srv.Close()

	var written atomic.Int64
	const room = 300_000 // bytes that fit before the disk is full
	orig := writePartial
	writePartial = func(f *os.File, b []byte, off int64) (int, error) {
		if written.Add(int64(len(b))) > room {
			return 0, &os.PathError{Op: "write", Path: f.Name(), Err: syscall.ENOSPC}
		}
		return orig(f, b, off)
	}
	defer func() { writePartial = orig }()

	dir := t.TempDir()
	st, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	c := &Client{Insecure: true, Credentials: Credentials{}, RetryBase: time.Millisecond, Retries: 2}
	name := srv.Listener.Addr().String() + "/library/stories:latest"
	err = c.Pull(context.Background(), st, name, nil)
	if !errors.Is(err, syscall.ENOSPC) || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("pull on a full disk: %v, want ENOSPC", err)
	}
	if _, err := st.Manifest(name); err == nil {
		t.Errorf("a manifest is visible after the failed pull")
	}
	if _, err := os.Stat(filepath.Join(dir, "blobs", "sha256-"+strings.TrimPrefix(digestOf(gguf), "sha256:"))); err == nil {
		t.Errorf("the weights blob is visible after the failed pull")
	}
	models, err := st.List()
	if err != nil || len(models) != 0 {
		t.Errorf("list after the failed pull: %v, %v", models, err)
	}

	writePartial = orig // space is back
	if err := c.Pull(context.Background(), st, name, nil); err != nil {
		t.Fatalf("pull after freeing space: %v", err)
	}
	checkPulled(t, st, name, gguf, raw)
}
