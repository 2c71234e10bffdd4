package store

// Support for downloads from a registry (package registry): partial blob
// files that survive an interrupted pull, committing a verified download,
// and manifests kept byte for byte as the registry served them (so the
// model ID, the manifest's sha256, is the same as the registry's and
// Ollama's).

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// partialPrefix names partial downloads. It starts with tempPrefix, so a
// partial file never looks like a blob and Prune removes it once it is
// older than the prune grace period (an abandoned download).
const partialPrefix = tempPrefix + "partial-"

// PartialBlobPath returns the path where a download of the blob with the
// given digest keeps its data until it is verified: a temporary file in
// the blobs directory, so that [Store.CommitBlob] can rename it into place
// and a later pull can resume from it. Callers may keep companion files
// (such as a download state) next to it by appending a suffix.
func (s *Store) PartialBlobPath(digest string) (string, error) {
	name, err := blobFileName(digest)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return filepath.Join(s.blobsDir(), partialPrefix+name), nil
}

// HasBlob reports whether the blob with the given digest is in the store
// with the given size. It refreshes the blob's modification time so that
// a concurrent Prune does not remove it before a manifest refers to it.
func (s *Store) HasBlob(digest string, size int64) bool {
	p, err := s.BlobPath(digest)
	if err != nil {
		return false
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != size {
		return false
	}
	now := time.Now()
	os.Chtimes(p, now, now)
	return true
}

// CommitBlob makes the file at path (in the blobs directory, normally from
// [Store.PartialBlobPath]) the blob with the given digest, after checking
// that it has the given size and hashes to the digest. A file that does
// not match is removed, so a corrupt download never becomes visible and
// the next attempt starts afresh.
func (s *Store) CommitBlob(path, digest string, size int64) error {
	final, err := s.BlobPath(digest)
	if err != nil {
		return err
	}
	if filepath.Dir(filepath.Clean(path)) != filepath.Clean(s.blobsDir()) {
		return fmt.Errorf("store: commit blob %s: %s is not in the blobs directory", digest, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("store: commit blob %s: %w", digest, err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	if err != nil {
		return fmt.Errorf("store: commit blob %s: %w", digest, err)
	}
	if n != size {
		os.Remove(path)
		return fmt.Errorf("store: commit blob %s: downloaded %d bytes, want %d", digest, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, digest[7:]) {
		os.Remove(path)
		return fmt.Errorf("store: commit blob %s: digest mismatch: content hashes to sha256:%s", digest, got)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("store: commit blob %s: %w", digest, err)
	}
	if err := os.Rename(path, final); err != nil {
		return fmt.Errorf("store: commit blob %s: %w", digest, err)
	}
	syncDir(s.blobsDir())
	return nil
}

// ParseManifest decodes and validates manifest JSON as the store reads it.
func ParseManifest(b []byte) (*Manifest, error) {
	m, err := parseManifest(b)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	sum := sha256.Sum256(b)
	m.digest = hex.EncodeToString(sum[:])
	return m, nil
}

// WriteManifestBytes writes data, a manifest exactly as a registry served
// it, as the manifest of the named model (atomically replacing any previous
// one). Like [Store.WriteManifest] it first checks that every blob it
// references is in the store with the recorded size.
func (s *Store) WriteManifestBytes(name string, data []byte) error {
	n, err := ParseName(name)
	if err != nil {
		return fmt.Errorf("store: write manifest: %w", err)
	}
	m, err := parseManifest(data)
	if err != nil {
		return fmt.Errorf("store: write manifest %s: %w", n.Display(), err)
	}
	refs := m.Layers
	if m.Config.Digest != "" {
		refs = append([]Layer{m.Config}, refs...)
	}
	for _, l := range refs {
		p, _ := s.BlobPath(l.Digest)
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("store: write manifest %s: layer %s (%s) is not in the store: %w", n.Display(), l.Digest, l.MediaType, err)
		}
		if fi.Size() != l.Size {
			return fmt.Errorf("store: write manifest %s: layer %s has size %d in the store, manifest says %d", n.Display(), l.Digest, fi.Size(), l.Size)
		}
	}
	n, _ = s.canonical(n)
	if err := writeFileAtomic(s.manifestPath(n), data); err != nil {
		return fmt.Errorf("store: write manifest %s: %w", n.Display(), err)
	}
	return nil
}

// ManifestBytes returns the manifest file of the named model byte for
// byte (what a push sends), with the resolved name.
func (s *Store) ManifestBytes(name string) ([]byte, Name, error) {
	n, err := s.Resolve(name)
	if err != nil {
		return nil, Name{}, err
	}
	b, err := os.ReadFile(s.manifestPath(n))
	if err != nil {
		return nil, Name{}, fmt.Errorf("store: manifest of %s: %w", n.Display(), err)
	}
	return b, n, nil
}
