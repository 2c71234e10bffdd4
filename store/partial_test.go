package store

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// digestOf returns the "sha256:<hex>" digest of b.
func digestOf(b []byte) string { return "sha256:" + sha(b) }

func TestCommitBlob(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	data := []byte("some model bytes")
	d := digestOf(data)
	tests := []struct {
		name    string
		content []byte
		size    int64
		path    func() string
		wantErr string
	}{
		{"size mismatch", data[:5], int64(len(data)), nil, "downloaded 5 bytes"},
		{"digest mismatch", bytes.ToUpper(data), int64(len(data)), nil, "digest mismatch"},
		{"outside blobs", data, int64(len(data)), func() string { return filepath.Join(s.Dir(), "x") }, "not in the blobs directory"},
		{"good", data, int64(len(data)), nil, ""},
	}
	for _, tt := range tests {
		p, err := s.PartialBlobPath(d)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(p), tempPrefix) || filepath.Dir(p) != s.blobsDir() {
			t.Fatalf("partial path %s is not a temp file in blobs/", p)
		}
		if tt.path != nil {
			p = tt.path()
		}
		if err := os.WriteFile(p, tt.content, 0o600); err != nil {
			t.Fatal(err)
		}
		err = s.CommitBlob(p, d, tt.size)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.wantErr)
			}
			if s.HasBlob(d, tt.size) {
				t.Errorf("%s: bad blob visible", tt.name)
			}
			if tt.path == nil {
				if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("%s: rejected partial kept: %v", tt.name, err)
				}
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if !s.HasBlob(d, int64(len(data))) || s.HasBlob(d, 1) {
			t.Errorf("%s: HasBlob wrong", tt.name)
		}
		if err := s.VerifyBlob(d); err != nil {
			t.Error(err)
		}
	}
	if _, err := s.PartialBlobPath("sha256:xyz"); err == nil {
		t.Error("bad digest accepted")
	}
}

func TestWriteManifestBytes(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	d, n, err := s.WriteBlob(strings.NewReader("GGUF..."))
	if err != nil {
		t.Fatal(err)
	}
	// Registry manifests may carry fields the store does not model and a
	// layout of their own: they must be kept byte for byte.
	raw := []byte(`{"schemaVersion":2,"mediaType":"` + MediaTypeManifest + `","config":{"mediaType":"` + MediaTypeConfig + `","digest":"` + d + `","size":` + itoa(n) + `},` +
		`"layers":[{"mediaType":"` + MediaTypeModel + `","digest":"` + d + `","size":` + itoa(n) + `}],"annotations":{"x":"y"}}`)
	if err := s.WriteManifestBytes("reg.example/ns/m:v1", raw); err != nil {
		t.Fatal(err)
	}
	got, name, err := s.ManifestBytes("REG.EXAMPLE/ns/M:v1")
	if err != nil || !bytes.Equal(got, raw) || name.Model != "m" {
		t.Errorf("ManifestBytes = %s %v %v", got, name, err)
	}
	m, err := s.Manifest("reg.example/ns/m:v1")
	if err != nil || m.Digest() != digestOf(raw)[7:] {
		t.Errorf("manifest digest %v %v, want sha256 of the bytes", m, err)
	}
	if pm, err := ParseManifest(raw); err != nil || pm.Digest() != m.Digest() {
		t.Errorf("ParseManifest: %v", err)
	}
	missing := bytes.Replace(raw, []byte(d[7:17]), []byte("0000000000"), -1)
	if err := s.WriteManifestBytes("reg.example/ns/m:v2", missing); err == nil || !strings.Contains(err.Error(), "not in the store") {
		t.Errorf("manifest with a missing blob: %v", err)
	}
	for _, bad := range []string{`{`, `{"schemaVersion":1}`} {
		if err := s.WriteManifestBytes("reg.example/ns/m:v3", []byte(bad)); err == nil {
			t.Errorf("manifest %s accepted", bad)
		}
	}
	if _, _, err := s.ManifestBytes("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ManifestBytes(nosuch): %v", err)
	}
}

// TestPrunePartial checks that Prune keeps a fresh partial download (a
// pull in progress) and removes a stale one with its state file.
func TestPrunePartial(t *testing.T) {
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p, _ := s.PartialBlobPath(digestOf([]byte("x")))
	for _, f := range []string{p, p + ".json"} {
		if err := os.WriteFile(f, []byte("partial"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if res, err := s.Prune(); err != nil || res.TempFiles != 0 {
		t.Errorf("prune of a fresh partial: %+v %v", res, err)
	}
	s.PruneGrace = -1
	if res, err := s.Prune(); err != nil || res.TempFiles != 2 {
		t.Errorf("prune of a stale partial: %+v %v, want 2 temp files", res, err)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
