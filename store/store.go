// Package store reads and writes a model store laid out exactly as Ollama's
// (~/.ollama/models), so Golem and Ollama can share models:
//
//	<dir>/manifests/<host>/<namespace>/<model>/<tag>   manifest JSON
//	<dir>/blobs/sha256-<hex>                           content-addressed blobs
//
// A manifest is a Docker image manifest v2 whose config is a JSON blob
// ([Config]) and whose layers are the model weights (GGUF), template,
// system prompt, parameters, messages, licenses and so on (MediaType*
// constants).
//
// All writes are crash safe: blobs and manifests are written to temporary
// files (named ".golem-tmp-*", which never look like a blob or a valid tag)
// in the destination directory, synced, and renamed into place, so a reader
// sees either the old file or the complete new one. [Store.Prune] removes
// temporary files left by a killed writer.
package store

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// ErrNotFound is wrapped by errors about models that are not in the store.
var ErrNotFound = errors.New("model not found")

// ErrNotGGUF is wrapped by [Store.ModelPath] when a model's weights are not
// a GGUF file (for example Ollama's safetensors tensor layers).
var ErrNotGGUF = errors.New("model weights are not GGUF")

// DefaultPruneGrace is how old an unreferenced blob or a temporary file must
// be before Prune removes it; younger ones may belong to a write in progress
// in another process (blob written, manifest not yet). Same as Ollama's
// layerPruneGracePeriod.
const DefaultPruneGrace = time.Hour

// tempPrefix starts the name of every temporary file the store writes. A
// leading '.' is not a valid tag character and "sha256-" is not a prefix, so
// neither Golem nor Ollama mistakes a temporary file for a manifest or blob.
const tempPrefix = ".golem-tmp-"

// Store is a model store rooted at a directory.
type Store struct {
	dir string

	// PruneGrace overrides DefaultPruneGrace when positive; set it negative
	// to prune regardless of age (tests, or when no writer can be running).
	PruneGrace time.Duration
}

// DefaultDir returns the store directory: $GOLEM_MODELS if set, else
// $GOLEM_HOME/models, else ~/.golem/models.
func DefaultDir() (string, error) {
	if d := os.Getenv("GOLEM_MODELS"); d != "" {
		return d, nil
	}
	if h := os.Getenv("GOLEM_HOME"); h != "" {
		return filepath.Join(h, "models"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("store: locate home directory (set GOLEM_MODELS or GOLEM_HOME): %w", err)
	}
	return filepath.Join(home, ".golem", "models"), nil
}

// Open opens the store in dir (DefaultDir when dir is empty), creating its
// manifests and blobs directories if needed. Pointing dir at
// ~/.ollama/models uses Ollama's own store.
func Open(dir string) (*Store, error) {
	if dir == "" {
		d, err := DefaultDir()
		if err != nil {
			return nil, err
		}
		dir = d
	}
	s := &Store{dir: dir}
	for _, d := range []string{s.manifestsDir(), s.blobsDir()} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("store: open %s: %w", dir, err)
		}
	}
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) manifestsDir() string { return filepath.Join(s.dir, "manifests") }
func (s *Store) blobsDir() string     { return filepath.Join(s.dir, "blobs") }

func (s *Store) pruneGrace() time.Duration {
	switch {
	case s.PruneGrace > 0:
		return s.PruneGrace
	case s.PruneGrace < 0:
		return 0
	default:
		return DefaultPruneGrace
	}
}

// BlobPath returns the file path of the blob with the given digest
// ("sha256:<hex>"). It does not check that the blob exists.
func (s *Store) BlobPath(digest string) (string, error) {
	name, err := blobFileName(digest)
	if err != nil {
		return "", fmt.Errorf("store: %w", err)
	}
	return filepath.Join(s.blobsDir(), name), nil
}

// WriteBlob stores the content of r as a blob and returns its digest
// ("sha256:<hex>") and size. The content is hashed while it is copied to a
// temporary file, which is synced and renamed to blobs/sha256-<hex>; if
// that blob already exists it is kept (only its modification time is
// refreshed, to protect it from a concurrent Prune) and the copy discarded.
func (s *Store) WriteBlob(r io.Reader) (digest string, size int64, err error) {
	f, err := os.CreateTemp(s.blobsDir(), tempPrefix+"*")
	if err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	tmp := f.Name()
	renamed := false
	defer func() {
		if !renamed {
			f.Close()
			os.Remove(tmp)
		}
	}()

	// Writes of 4 MiB at 4 MiB-aligned offsets let the kernel cache the
	// blob in 2 MiB folios, which a model load then maps as huge pages.
	h := sha256.New()
	bw := bufio.NewWriterSize(f, 4<<20)
	size, err = io.Copy(io.MultiWriter(bw, h), r)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, fmt.Errorf("store: write blob: sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	digest = "sha256:" + hex.EncodeToString(h.Sum(nil))
	final, _ := s.BlobPath(digest)

	if fi, err := os.Stat(final); err == nil && fi.Mode().IsRegular() && fi.Size() == size {
		now := time.Now()
		if err := os.Chtimes(final, now, now); err != nil {
			return "", 0, fmt.Errorf("store: write blob: touch existing %s: %w", digest, err)
		}
		return digest, size, nil // deferred cleanup removes the copy
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return "", 0, fmt.Errorf("store: write blob: %w", err)
	}
	renamed = true
	syncDir(s.blobsDir())
	return digest, size, nil
}

// VerifyBlob rehashes the blob with the given digest and reports an error
// if it is missing or its content does not match the digest.
func (s *Store) VerifyBlob(digest string) error {
	p, err := s.BlobPath(digest)
	if err != nil {
		return err
	}
	f, err := os.Open(p)
	if err != nil {
		return fmt.Errorf("store: verify blob: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("store: verify blob %s: %w", digest, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, digest[7:]) {
		return fmt.Errorf("store: blob %s is corrupt: content hashes to sha256:%s", digest, got)
	}
	return nil
}

// ReadBlob returns the content of a (small) blob, such as a config,
// template, system or params layer.
func (s *Store) ReadBlob(digest string) ([]byte, error) {
	p, err := s.BlobPath(digest)
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("store: read blob: %w", err)
	}
	return b, nil
}

// canonical returns n with each part replaced by the spelling already on
// disk when one matches case-insensitively (an exact match wins), walking
// host, namespace, model, tag in turn as Ollama's getExistingName does, so
// that "Llama3.2" finds manifests/registry.ollama.ai/library/llama3.2/latest
// and a new tag of an existing model lands in its existing directory. exists
// reports whether the resulting manifest file exists.
func (s *Store) canonical(n Name) (_ Name, exists bool) {
	parts := []*string{&n.Host, &n.Namespace, &n.Model, &n.Tag}
	dir := s.manifestsDir()
	for i, p := range parts {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return n, false
		}
		match := ""
		for _, e := range entries {
			name := e.Name()
			isDir, isFile := entryKind(dir, e)
			if i == len(parts)-1 && !isFile || i < len(parts)-1 && !isDir {
				continue
			}
			if name == *p {
				match = name
				break
			}
			if match == "" && strings.EqualFold(name, *p) {
				match = name
			}
		}
		if match == "" {
			return n, false
		}
		*p = match
		dir = filepath.Join(dir, match)
	}
	return n, true
}

// Resolve parses name and returns it as stored on disk (see canonical). It
// fails with ErrNotFound when no such model exists.
func (s *Store) Resolve(name string) (Name, error) {
	n, err := ParseName(name)
	if err != nil {
		return Name{}, fmt.Errorf("store: %w", err)
	}
	c, ok := s.canonical(n)
	if !ok {
		return Name{}, fmt.Errorf("store: %w: %s", ErrNotFound, n.Display())
	}
	return c, nil
}

// entryKind reports whether a directory entry is, or links to, a directory
// or a regular file (Ollama follows symbolic links in the manifests tree).
func entryKind(dir string, e fs.DirEntry) (isDir, isFile bool) {
	t := e.Type()
	if t&fs.ModeSymlink != 0 {
		fi, err := os.Stat(filepath.Join(dir, e.Name()))
		if err != nil {
			return false, false
		}
		t = fi.Mode().Type()
	}
	return t.IsDir(), t.IsRegular()
}

func (s *Store) manifestPath(n Name) string {
	return filepath.Join(s.manifestsDir(), n.filepath())
}

// readManifest reads, hashes and parses a manifest file.
func readManifest(path string) (*Manifest, []byte, os.FileInfo, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, nil, nil, err
	}
	m, err := parseManifest(b)
	if err != nil {
		return nil, nil, nil, err
	}
	sum := sha256.Sum256(b)
	m.digest = hex.EncodeToString(sum[:])
	return m, b, fi, nil
}

// Manifest returns the manifest of the named model (names compare
// case-insensitively).
func (s *Store) Manifest(name string) (*Manifest, error) {
	n, err := s.Resolve(name)
	if err != nil {
		return nil, err
	}
	m, _, _, err := readManifest(s.manifestPath(n))
	if err != nil {
		return nil, fmt.Errorf("store: manifest of %s: %w", n.Display(), err)
	}
	return m, nil
}

// Config reads and decodes the config blob of a manifest. A manifest
// without a config digest yields an empty Config.
func (s *Store) Config(m *Manifest) (*Config, error) {
	var c Config
	if m.Config.Digest == "" {
		return &c, nil
	}
	b, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("store: decode config blob %s: %w", m.Config.Digest, err)
	}
	return &c, nil
}

// WriteManifest writes m as the manifest of the named model, atomically
// replacing any previous one. Every blob m references must already be in
// the store with the size m records, so a manifest never points at a
// missing blob. Zero SchemaVersion and MediaType are filled in with 2 and
// MediaTypeManifest.
func (s *Store) WriteManifest(name string, m *Manifest) error {
	n, err := ParseName(name)
	if err != nil {
		return fmt.Errorf("store: write manifest: %w", err)
	}
	mm := *m
	if mm.SchemaVersion == 0 {
		mm.SchemaVersion = 2
	}
	if mm.MediaType == "" {
		mm.MediaType = MediaTypeManifest
	}
	if err := mm.validate(); err != nil {
		return fmt.Errorf("store: write manifest %s: %w", n.Display(), err)
	}
	refs := mm.Layers
	if mm.Config.Digest != "" {
		refs = append([]Layer{mm.Config}, refs...)
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
	b, err := mm.encode()
	if err != nil {
		return fmt.Errorf("store: write manifest %s: %w", n.Display(), err)
	}
	n, _ = s.canonical(n)
	if err := writeFileAtomic(s.manifestPath(n), b); err != nil {
		return fmt.Errorf("store: write manifest %s: %w", n.Display(), err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file in path's directory,
// syncs it, and renames it to path.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, tempPrefix+"*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	ok := false
	defer func() {
		if !ok {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	ok = true
	syncDir(dir)
	return nil
}

// syncDir makes a rename in dir durable. Errors are ignored: some systems
// cannot sync directories, and the rename itself already happened.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

// Model is one entry of [Store.List].
type Model struct {
	Name     Name
	Digest   string    // sha256 hex of the manifest file
	Size     int64     // config + layers, bytes
	Modified time.Time // manifest file modification time
}

// ID returns the first 12 hex digits of the manifest digest, the ID
// `ollama list` prints.
func (m Model) ID() string {
	if len(m.Digest) < 12 {
		return m.Digest
	}
	return m.Digest[:12]
}

// manifestEntry is a manifest file found by walking the manifests tree.
type manifestEntry struct {
	name Name
	path string
}

// walkManifests returns every file at manifests/<host>/<ns>/<model>/<tag>
// whose path parts form a valid name. Temporary files and other strays
// (invalid names, wrong depth) are skipped.
func (s *Store) walkManifests() ([]manifestEntry, error) {
	root := s.manifestsDir()
	var out []manifestEntry
	var walk func(dir string, parts []string) error
	walk = func(dir string, parts []string) error {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			p := append(parts[:len(parts):len(parts)], e.Name())
			path := filepath.Join(dir, e.Name())
			isDir, isFile := entryKind(dir, e)
			if len(p) < 4 {
				if isDir {
					if err := walk(path, p); err != nil {
						return err
					}
				}
				continue
			}
			if !isFile {
				continue
			}
			n := Name{Host: p[0], Namespace: p[1], Model: p[2], Tag: p[3]}
			if n.Validate() != nil {
				continue
			}
			out = append(out, manifestEntry{name: n, path: path})
		}
		return nil
	}
	if err := walk(root, nil); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("store: list manifests: %w", err)
	}
	return out, nil
}

// List returns the models in the store, newest first (then by name), as
// `ollama list` shows them. Manifest files that cannot be read or parsed
// are skipped, as Ollama skips them.
func (s *Store) List() ([]Model, error) {
	entries, err := s.walkManifests()
	if err != nil {
		return nil, err
	}
	var out []Model
	for _, e := range entries {
		m, _, fi, err := readManifest(e.path)
		if err != nil {
			continue
		}
		out = append(out, Model{Name: e.name, Digest: m.digest, Size: m.Size(), Modified: fi.ModTime()})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Modified.Equal(out[j].Modified) {
			return out[i].Modified.After(out[j].Modified)
		}
		return out[i].Name.String() < out[j].Name.String()
	})
	return out, nil
}

// Copy makes dst another name for the model src (its manifest is copied
// byte for byte, so both have the same digest). An existing dst is
// replaced.
func (s *Store) Copy(src, dst string) error {
	sn, err := s.Resolve(src)
	if err != nil {
		return fmt.Errorf("store: copy: %w", err)
	}
	dn, err := ParseName(dst)
	if err != nil {
		return fmt.Errorf("store: copy to: %w", err)
	}
	dn, _ = s.canonical(dn)
	if dn == sn {
		return nil
	}
	_, b, _, err := readManifest(s.manifestPath(sn))
	if err != nil {
		return fmt.Errorf("store: copy %s: %w", sn.Display(), err)
	}
	if err := writeFileAtomic(s.manifestPath(dn), b); err != nil {
		return fmt.Errorf("store: copy %s to %s: %w", sn.Display(), dn.Display(), err)
	}
	return nil
}

// Delete removes the named models and then the blobs only they used. If
// any name is invalid or unknown nothing is deleted and the error names
// all of them.
func (s *Store) Delete(names ...string) error {
	var (
		targets []Name
		bad     []string
	)
	for _, name := range names {
		n, err := s.Resolve(name)
		if err != nil {
			bad = append(bad, fmt.Sprintf("%q", name))
			continue
		}
		dup := false
		for _, t := range targets {
			dup = dup || t == n
		}
		if !dup {
			targets = append(targets, n)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("store: delete: %w: %s (nothing was deleted)", ErrNotFound, strings.Join(bad, ", "))
	}

	candidates := map[string]bool{}
	for _, n := range targets {
		if m, _, _, err := readManifest(s.manifestPath(n)); err == nil {
			for _, l := range append([]Layer{m.Config}, m.Layers...) {
				if f, err := blobFileName(l.Digest); err == nil {
					candidates[f] = true
				}
			}
		}
		if err := os.Remove(s.manifestPath(n)); err != nil {
			return fmt.Errorf("store: delete %s: %w", n.Display(), err)
		}
		s.removeEmptyParents(filepath.Dir(s.manifestPath(n)))
	}

	// Remove the deleted models' blobs that no remaining manifest uses. If
	// any remaining manifest is unreadable its references are unknown, so
	// keep every blob (Prune reports the problem).
	refs, err := s.referencedBlobs()
	if err != nil {
		return nil
	}
	for f := range candidates {
		if !refs[f] {
			if err := os.Remove(filepath.Join(s.blobsDir(), f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("store: delete blob %s: %w", f, err)
			}
		}
	}
	return nil
}

// removeEmptyParents removes dir and its parents up to (not including) the
// manifests directory while they are empty.
func (s *Store) removeEmptyParents(dir string) {
	root := filepath.Clean(s.manifestsDir())
	for dir = filepath.Clean(dir); dir != root && strings.HasPrefix(dir, root+string(filepath.Separator)); dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil { // fails when not empty
			return
		}
	}
}

// referencedBlobs returns the blob file names used by any manifest. It
// fails if a manifest file with a valid name cannot be read or parsed,
// because its references are then unknown.
func (s *Store) referencedBlobs() (map[string]bool, error) {
	entries, err := s.walkManifests()
	if err != nil {
		return nil, err
	}
	refs := map[string]bool{}
	for _, e := range entries {
		m, _, _, err := readManifest(e.path)
		if err != nil {
			return nil, fmt.Errorf("store: manifest %s: %w", e.name.Display(), err)
		}
		for _, l := range append([]Layer{m.Config}, m.Layers...) {
			if f, err := blobFileName(l.Digest); err == nil {
				refs[f] = true
			}
		}
	}
	return refs, nil
}

// PruneResult reports what Prune removed.
type PruneResult struct {
	Blobs     int   // unreferenced blobs removed
	TempFiles int   // stale temporary or partial files removed
	Bytes     int64 // total size of removed files
}

// Prune removes blobs no manifest references and temporary files left by
// interrupted writes, in both cases only when older than the prune grace
// period (see [Store.PruneGrace]), and then empty manifest directories. It
// never removes a blob a manifest references: if any manifest cannot be
// read it removes nothing and returns an error.
func (s *Store) Prune() (PruneResult, error) {
	var res PruneResult
	refs, err := s.referencedBlobs()
	if err != nil {
		return res, fmt.Errorf("store: prune: %w (nothing removed; fix or delete that manifest)", err)
	}
	cutoff := time.Now().Add(-s.pruneGrace())

	entries, err := os.ReadDir(s.blobsDir())
	if err != nil {
		return res, fmt.Errorf("store: prune: %w", err)
	}
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name := e.Name()
		blob := isBlobFileName(name)
		if blob && refs[name] {
			continue
		}
		fi, err := e.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(s.blobsDir(), name)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return res, fmt.Errorf("store: prune: %w", err)
		}
		res.Bytes += fi.Size()
		if blob {
			res.Blobs++
		} else {
			res.TempFiles++
		}
	}

	// Stale temporary manifests, then empty directories.
	root := s.manifestsDir()
	var dirs []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root {
				dirs = append(dirs, path)
			}
			return nil
		}
		if !strings.HasPrefix(d.Name(), tempPrefix) {
			return nil
		}
		fi, err := d.Info()
		if err != nil || fi.ModTime().After(cutoff) {
			return nil
		}
		if err := os.Remove(path); err == nil {
			res.TempFiles++
			res.Bytes += fi.Size()
		}
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return res, fmt.Errorf("store: prune manifests: %w", err)
	}
	for i := len(dirs) - 1; i >= 0; i-- { // deepest first
		os.Remove(dirs[i]) // fails, harmlessly, when not empty
	}
	return res, nil
}

// ggufMagic starts every GGUF file.
var ggufMagic = []byte("GGUF")

// ModelPath returns the path of the named model's GGUF weights (its
// application/vnd.ollama.image.model layer). It fails with ErrNotGGUF when
// the model is stored in another format, such as Ollama's safetensors
// layout of one application/vnd.ollama.image.tensor layer per tensor.
func (s *Store) ModelPath(name string) (string, error) {
	m, err := s.Manifest(name)
	if err != nil {
		return "", err
	}
	models := m.LayersOf(MediaTypeModel)
	if len(models) == 0 {
		if t := m.LayersOf(MediaTypeTensor); len(t) > 0 {
			return "", fmt.Errorf("store: %s: %w: it is stored as %d safetensors tensor layers (%s), which Golem cannot load", name, ErrNotGGUF, len(t), MediaTypeTensor)
		}
		return "", fmt.Errorf("store: %s: manifest has no model layer (%s)", name, MediaTypeModel)
	}
	cfg, err := s.Config(m)
	if err != nil {
		return "", fmt.Errorf("store: %s: %w", name, err)
	}
	if !cfg.IsGGUF() {
		return "", fmt.Errorf("store: %s: %w: config says model_format %q", name, ErrNotGGUF, cfg.ModelFormat)
	}
	p, err := s.BlobPath(models[0].Digest)
	if err != nil {
		return "", err
	}
	f, err := os.Open(p)
	if err != nil {
		return "", fmt.Errorf("store: %s: model blob: %w", name, err)
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || !bytes.Equal(magic, ggufMagic) {
		return "", fmt.Errorf("store: %s: %w: model blob %s does not start with the GGUF magic", name, ErrNotGGUF, models[0].Digest)
	}
	return p, nil
}
