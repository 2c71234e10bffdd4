package store

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Crash tests: the test binary re-executes itself as a child that writes to
// a store and is killed with SIGKILL mid-write; the parent then checks that
// nothing partial became visible.

const (
	envChild    = "GOLEM_STORE_TEST_CHILD" // "blob" or "manifest"
	envChildDir = "GOLEM_STORE_TEST_DIR"
	chunkSize   = 1 << 20
)

func TestMain(m *testing.M) {
	switch os.Getenv(envChild) {
	case "":
		os.Exit(m.Run())
	case "blob":
		childWriteBlob(os.Getenv(envChildDir))
	case "manifest":
		childWriteManifests(os.Getenv(envChildDir))
	}
	os.Exit(3) // the children only end by being killed
}

// slowReader yields an endless stream of 1 MiB chunks, chunk i filled with
// byte(i), pausing between chunks so the parent can kill the writer while
// it is copying.
type slowReader struct {
	off   int64
	delay time.Duration
}

func (r *slowReader) Read(p []byte) (int, error) {
	if r.off%chunkSize == 0 {
		time.Sleep(r.delay)
	}
	n := min(len(p), int(chunkSize-r.off%chunkSize))
	b := byte(r.off / chunkSize)
	for i := range n {
		p[i] = b
	}
	r.off += int64(n)
	return n, nil
}

func childWriteBlob(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println("writing")
	_, _, err = s.WriteBlob(&slowReader{delay: 2 * time.Millisecond})
	fmt.Println("error:", err) // unreachable: the reader never ends
}

func childWriteManifests(dir string) {
	s, err := Open(dir)
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	a, b := manifestPair(s)
	for i := 0; ; i++ {
		m := a
		if i%2 == 1 {
			m = b
		}
		if err := s.WriteManifest("loop:latest", m); err != nil {
			fmt.Println("error:", err)
			return
		}
		if i == 0 {
			fmt.Println("writing")
		}
	}
}

// manifestPair returns two different manifests over small blobs it stores.
func manifestPair(s *Store) (*Manifest, *Manifest) {
	put := func(mt, content string) Layer {
		d, n, err := s.WriteBlob(strings.NewReader(content))
		if err != nil {
			panic(err)
		}
		return Layer{MediaType: mt, Digest: d, Size: n}
	}
	cfg := put(MediaTypeConfig, `{"model_format":"gguf"}`)
	w := put(MediaTypeModel, "GGUF weights")
	sys := put(MediaTypeSystem, strings.Repeat("a long system prompt ", 2000))
	return NewManifest(cfg, w), NewManifest(cfg, w, sys)
}

// startChild runs the test binary as a child in the given mode and waits
// until it reports that it is writing.
func startChild(t *testing.T, mode, dir string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"="+mode, envChildDir+"="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "writing\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v", line, err)
	}
	return cmd
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Fatal("child exited normally, want killed")
	}
}

// checkConsistent verifies every finished blob against its name and that
// List works and shows the expected models.
func checkConsistent(t *testing.T, s *Store, wantModels int) (temps []string) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		switch {
		case isBlobFileName(e.Name()):
			if err := s.VerifyBlob("sha256:" + e.Name()[7:]); err != nil {
				t.Errorf("visible blob with wrong content: %v", err)
			}
		case strings.HasPrefix(e.Name(), tempPrefix):
			temps = append(temps, e.Name())
		default:
			t.Errorf("unexpected file in blobs: %s", e.Name())
		}
	}
	models, err := s.List()
	if err != nil || len(models) != wantModels {
		t.Errorf("List after kill: %d models, %v; want %d", len(models), err, wantModels)
	}
	return temps
}

func TestKillDuringWriteBlob(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	a, b := manifestPair(s)
	if err := s.WriteManifest("existing", a); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteManifest("other:v2", b); err != nil {
		t.Fatal(err)
	}

	cmd := startChild(t, "blob", dir)
	// Wait until the child has copied at least 8 MiB into its temp file.
	deadline := time.Now().Add(20 * time.Second)
	var written int64
	for written < 8*chunkSize {
		if time.Now().After(deadline) {
			kill(t, cmd)
			t.Fatalf("child wrote only %d bytes", written)
		}
		time.Sleep(5 * time.Millisecond)
		ents, _ := os.ReadDir(filepath.Join(dir, "blobs"))
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tempPrefix) {
				if fi, err := e.Info(); err == nil {
					written = fi.Size()
				}
			}
		}
	}
	kill(t, cmd)

	temps := checkConsistent(t, s, 2)
	if len(temps) != 1 {
		t.Fatalf("temp files after kill: %v, want exactly the killed writer's", temps)
	}
	fi, _ := os.Stat(filepath.Join(dir, "blobs", temps[0]))
	t.Logf("killed after writing %d bytes to %s", fi.Size(), temps[0])

	// The default grace keeps the (young) temp file: it could be a live writer.
	if res, err := s.Prune(); err != nil || res.TempFiles != 0 {
		t.Errorf("Prune within grace = %+v, %v", res, err)
	}
	s.PruneGrace = -1
	res, err := s.Prune()
	if err != nil || res.TempFiles != 1 || res.Blobs != 0 || res.Bytes != fi.Size() {
		t.Errorf("Prune = %+v, %v; want the one temp file of %d bytes", res, err, fi.Size())
	}
	if temps := checkConsistent(t, s, 2); len(temps) != 0 {
		t.Errorf("temp files after Prune: %v", temps)
	}
	if _, err := s.ModelPath("existing"); err != nil {
		t.Errorf("existing model damaged: %v", err)
	}

	// The next write succeeds and yields a correct blob.
	want := io.LimitReader(&slowReader{}, 3*chunkSize+12345)
	var buf bytes.Buffer
	d, n, err := s.WriteBlob(io.TeeReader(want, &buf))
	if err != nil || n != 3*chunkSize+12345 {
		t.Fatalf("WriteBlob after kill = %s, %d, %v", d, n, err)
	}
	if d != "sha256:"+sha(buf.Bytes()) {
		t.Errorf("digest %s", d)
	}
	if err := s.VerifyBlob(d); err != nil {
		t.Error(err)
	}
}

func TestKillDuringWriteManifest(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, dir)
	a, b := manifestPair(s)
	ea, _ := a.encode()
	eb, _ := b.encode()

	cmd := startChild(t, "manifest", dir)
	time.Sleep(300 * time.Millisecond) // many rewrites happen meanwhile
	kill(t, cmd)

	checkConsistent(t, s, 1)
	m, err := s.Manifest("loop")
	if err != nil {
		t.Fatalf("manifest after kill: %v", err)
	}
	if m.Digest() != sha(ea) && m.Digest() != sha(eb) {
		t.Errorf("manifest after kill is neither version: %s", m.Digest())
	}
	s.PruneGrace = -1
	res, err := s.Prune()
	wantBlobs := 0 // version b uses all three blobs, a leaves the system blob unused
	if m.Digest() == sha(ea) {
		wantBlobs = 1
	}
	if err != nil || res.Blobs != wantBlobs {
		t.Errorf("Prune = %+v, %v; want %d blobs removed", res, err, wantBlobs)
	}
	t.Logf("Prune after manifest kill: %+v", res)
	err = filepath.WalkDir(filepath.Join(dir, "manifests"), func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), tempPrefix) {
			t.Errorf("temp manifest left after Prune: %s", p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.WriteManifest("loop", a); err != nil {
		t.Errorf("WriteManifest after kill: %v", err)
	}
}
