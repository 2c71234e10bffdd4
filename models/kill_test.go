package models

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"golem/modelfile"
	"golem/store"
	"golem/synth"
)

// The kill test re-executes the test binary as a child that runs a
// quantizing Create and is killed with SIGKILL after its first progress
// report; the parent then checks the store.

const (
	envChild     = "GOLEM_MODELS_TEST_CHILD" // "create"
	envChildDir  = "GOLEM_MODELS_TEST_STORE"
	envChildFile = "GOLEM_MODELS_TEST_MODELFILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envChild) == "create" {
		childCreate()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// childCreate creates "victim" with --quantize q8_0, printing each
// progress report and pausing after it so that the parent kills it in the
// middle of the quantized blob.
func childCreate() {
	fail := func(err error) {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	s, err := store.Open(os.Getenv(envChildDir))
	if err != nil {
		fail(err)
	}
	fh, err := os.Open(os.Getenv(envChildFile))
	if err != nil {
		fail(err)
	}
	mf, err := modelfile.Parse(fh)
	fh.Close()
	if err != nil {
		fail(err)
	}
	rep := &Reporter{
		Status: func(st string) { fmt.Println("status", st) },
		Progress: func(st string, done, total int64) {
			fmt.Printf("progress %s %d %d\n", st, done, total)
			time.Sleep(100 * time.Millisecond)
		},
	}
	if err := Create(s, "victim", mf, CreateOptions{Dir: filepath.Dir(os.Getenv(envChildFile)), Quantize: "q8_0", Report: rep}); err != nil {
		fail(err)
	}
	fmt.Println("finished")
}

var blobName = regexp.MustCompile(`^sha256-[0-9a-f]{64}$`)

func TestCreateKilledMidQuantize(t *testing.T) {
	if testing.Short() {
		t.Skip("re-executes the test binary")
	}
	dir := t.TempDir()
	p, _ := synth.LookupPreset("tiny")
	mix, _ := synth.LookupMix("F32")
	weights := filepath.Join(dir, "tiny-f32.gguf")
	if err := synth.WriteFile(weights, p, mix, 1); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(weights); err != nil || fi.Size() < 4<<20 {
		t.Fatalf("synthetic model: %v (want a few MB)", err)
	}
	mfPath := filepath.Join(dir, "Modelfile")
	if err := os.WriteFile(mfPath, []byte("FROM tiny-f32.gguf\nSYSTEM Killed.\nPARAMETER temperature 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	storeDir := filepath.Join(dir, "store")
	s, err := store.Open(storeDir)
	if err != nil {
		t.Fatal(err)
	}
	// A model already in the store must survive untouched.
	mf, err := modelfile.ParseString("FROM " + weights + "\nSYSTEM Kept.\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := Create(s, "kept", mf, CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), envChild+"=create", envChildDir+"="+storeDir, envChildFile+"="+mfPath)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	killed := false
	var seen []string
	for sc.Scan() {
		line := sc.Text()
		seen = append(seen, line)
		var st string
		var done, total int64
		if n, _ := fmt.Sscanf(line, "progress %s %d %d", &st, &done, &total); n == 3 && st == "quantizing" && done < total {
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			killed = true
			break
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("the child was not killed mid-quantization (%v); its output:\n%s\n%s", err, strings.Join(seen, "\n"), stderr.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child: %v, want killed by a signal", err)
	}

	// The store lists only the kept model; the killed name has no manifest.
	list, err := s.List()
	if err != nil {
		t.Fatalf("list after the kill: %v", err)
	}
	keptName, err := s.Resolve("kept")
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 1 || list[0].Name != keptName {
		t.Errorf("list after the kill: %+v", list)
	}
	if _, err := s.Manifest("victim"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("manifest of the killed create: %v, want ErrNotFound", err)
	}
	// Every blob the kept model references is there and intact.
	kept, err := Resolve(s, "kept")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range append(kept.Manifest.Layers, kept.Manifest.Config) {
		if err := s.VerifyBlob(l.Digest); err != nil {
			t.Errorf("referenced blob %s: %v", l.Digest, err)
		}
	}
	// What the kill left is temporary files under the store's temporary
	// naming, no half-written blob under a digest name.
	entries, err := os.ReadDir(filepath.Join(storeDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	temps := 0
	for _, e := range entries {
		switch {
		case blobName.MatchString(e.Name()):
			if err := s.VerifyBlob("sha256:" + strings.TrimPrefix(e.Name(), "sha256-")); err != nil {
				t.Errorf("blob %s is corrupt: %v", e.Name(), err)
			}
		case strings.HasPrefix(e.Name(), ".golem-tmp-"):
			temps++
		default:
			t.Errorf("unexpected file in blobs/: %s", e.Name())
		}
	}
	if temps == 0 {
		t.Errorf("no temporary file left: the child was not killed while writing the quantized blob")
	}
	// Prune with no grace period removes them (and nothing referenced).
	s.PruneGrace = -1
	res, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if res.TempFiles != temps {
		t.Errorf("prune removed %d temporary files, want %d", res.TempFiles, temps)
	}
	entries, _ = os.ReadDir(filepath.Join(storeDir, "blobs"))
	if want := len(kept.Manifest.Layers) + 1; len(entries) != want {
		t.Errorf("after prune blobs/ holds %d files, want the kept model's %d", len(entries), want)
	}
	// The same create now succeeds.
	mf2, err := modelfile.ParseString("FROM tiny-f32.gguf\nSYSTEM Killed.\nPARAMETER temperature 0\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := Create(s, "victim", mf2, CreateOptions{Dir: dir, Quantize: "q8_0"}); err != nil {
		t.Fatalf("create after the kill: %v", err)
	}
	v, err := Resolve(s, "victim")
	if err != nil {
		t.Fatal(err)
	}
	if v.Config.FileType != "Q8_0" || v.System != "Killed." {
		t.Errorf("recreated model: file type %q, system %q", v.Config.FileType, v.System)
	}
	for _, l := range v.Manifest.Layers {
		if err := s.VerifyBlob(l.Digest); err != nil {
			t.Errorf("recreated model's blob %s: %v", l.Digest, err)
		}
	}
}
