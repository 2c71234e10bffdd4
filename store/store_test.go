package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"golem/gguf"
	"golem/internal/fixtures"
)

// The helpers below build a store by hand, file by file, exactly as Ollama
// lays it out on disk, without using the code under test.

// rawBlob writes content to <dir>/blobs/sha256-<hex> and returns its layer.
func rawBlob(t *testing.T, dir, mediaType string, content []byte) Layer {
	t.Helper()
	sum := sha256.Sum256(content)
	h := hex.EncodeToString(sum[:])
	p := filepath.Join(dir, "blobs", "sha256-"+h)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, content, 0o644); err != nil {
		t.Fatal(err)
	}
	return Layer{MediaType: mediaType, Digest: "sha256:" + h, Size: int64(len(content))}
}

// ollamaManifestJSON renders a manifest the way Ollama's WriteManifest does
// (json.Encoder: compact, fields in declaration order, trailing newline),
// spelled out by hand.
func ollamaManifestJSON(config Layer, layers ...Layer) []byte {
	lay := func(l Layer) string {
		s := fmt.Sprintf(`{"mediaType":%q,"digest":%q,"size":%d`, l.MediaType, l.Digest, l.Size)
		if l.From != "" {
			s += fmt.Sprintf(`,"from":%q`, l.From)
		}
		if l.Name != "" {
			s += fmt.Sprintf(`,"name":%q`, l.Name)
		}
		return s + "}"
	}
	var ls []string
	for _, l := range layers {
		ls = append(ls, lay(l))
	}
	return []byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","config":` +
		lay(config) + `,"layers":[` + strings.Join(ls, ",") + "]}\n")
}

// rawManifest writes manifest bytes at manifests/<host>/<ns>/<model>/<tag>
// with the given modification time.
func rawManifest(t *testing.T, dir, host, ns, model, tag string, b []byte, mtime time.Time) string {
	t.Helper()
	p := filepath.Join(dir, "manifests", host, ns, model, tag)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(p, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	return p
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fakeGGUF is a minimal GGUF header (magic, version 3, no tensors, no KV)
// followed by a payload that makes different fakes distinct.
func fakeGGUF(payload string) []byte {
	b := []byte("GGUF\x03\x00\x00\x00")
	b = append(b, make([]byte, 16)...)
	return append(b, payload...)
}

type testStore struct {
	dir       string
	manifests map[string][]byte // display name -> manifest bytes
	layers    map[string]Layer  // short key -> layer
	cfgFlux   Layer
}

// buildOllamaStore lays out four models the way Ollama stores them:
//
//	llama3.2:latest                   GGUF + template/system/params/license/messages
//	myuser/custom:v1                  shares llama3.2's model blob (FROM llama3.2)
//	hf.co/Bartowski/Tiny-Model:Q4_K_M non-default host, mixed case
//	flux:latest                       safetensors tensor layers (not GGUF)
//
// plus the strays a crashed writer or Ollama leaves: an orphan blob, an
// Ollama partial download, a Golem temp blob and a temp manifest.
func buildOllamaStore(t *testing.T) *testStore {
	dir := t.TempDir()
	ts := &testStore{dir: dir, manifests: map[string][]byte{}, layers: map[string]Layer{}}
	L := ts.layers

	L["model"] = rawBlob(t, dir, MediaTypeModel, fakeGGUF("llama weights"))
	L["template"] = rawBlob(t, dir, MediaTypeTemplate, []byte("<|start_header_id|>user<|end_header_id|>\n\n{{ .Prompt }}<|eot_id|>"))
	L["system"] = rawBlob(t, dir, MediaTypeSystem, []byte("You are a helpful assistant."))
	L["params"] = rawBlob(t, dir, MediaTypeParams, []byte(`{"stop":["<|start_header_id|>","<|end_header_id|>","<|eot_id|>"],"temperature":0.7}`))
	L["license"] = rawBlob(t, dir, MediaTypeLicense, []byte("LLAMA 3.2 COMMUNITY LICENSE AGREEMENT"))
	L["messages"] = rawBlob(t, dir, MediaTypeMessages, []byte(`[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]`))
	// Config blob as Ollama (before Aug 2026) wrote it, with rootfs.
	cfg := fmt.Sprintf(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"3.2B","file_type":"Q4_K_M","architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[%q,%q]}}`,
		L["model"].Digest, L["template"].Digest)
	L["config"] = rawBlob(t, dir, MediaTypeConfig, []byte(cfg))

	base := time.Now().Add(-3 * time.Hour).Truncate(time.Second)
	llama := ollamaManifestJSON(L["config"], L["model"], L["template"], L["license"], L["params"], L["system"], L["messages"])
	rawManifest(t, dir, "registry.ollama.ai", "library", "llama3.2", "latest", llama, base.Add(4*time.Minute))
	ts.manifests["llama3.2:latest"] = llama

	L["custom-system"] = rawBlob(t, dir, MediaTypeSystem, []byte("You are Mario."))
	L["custom-config"] = rawBlob(t, dir, MediaTypeConfig, []byte(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"3.2B","file_type":"Q4_K_M","architecture":"amd64","os":"linux"}`))
	from := L["model"]
	from.From = "registry.ollama.ai/library/llama3.2:latest"
	custom := ollamaManifestJSON(L["custom-config"], from, L["template"], L["custom-system"])
	rawManifest(t, dir, "registry.ollama.ai", "myuser", "custom", "v1", custom, base.Add(3*time.Minute))
	ts.manifests["myuser/custom:v1"] = custom

	L["tiny"] = rawBlob(t, dir, MediaTypeModel, fakeGGUF("tiny weights"))
	L["tiny-config"] = rawBlob(t, dir, MediaTypeConfig, []byte(`{"model_format":"gguf","model_family":"qwen2","model_families":["qwen2"],"model_type":"494.03M","file_type":"Q4_K_M","architecture":"amd64","os":"linux"}`))
	tiny := ollamaManifestJSON(L["tiny-config"], L["tiny"])
	rawManifest(t, dir, "hf.co", "Bartowski", "Tiny-Model", "Q4_K_M", tiny, base.Add(2*time.Minute))
	ts.manifests["hf.co/Bartowski/Tiny-Model:Q4_K_M"] = tiny

	t1 := rawBlob(t, dir, MediaTypeTensor, []byte("safetensors tensor 1"))
	t1.Name = "transformer/blocks.0.attn.weight"
	t2 := rawBlob(t, dir, MediaTypeTensor, []byte("safetensors tensor 2"))
	t2.Name = "transformer/blocks.0.mlp.weight"
	js := rawBlob(t, dir, MediaTypeJSON, []byte(`{"_class_name":"FluxTransformer2DModel"}`))
	js.Name = "transformer/config.json"
	L["flux-config"] = rawBlob(t, dir, MediaTypeConfig, []byte(`{"model_format":"safetensors","model_family":"","model_families":null,"model_type":"","file_type":"","capabilities":["image"],"architecture":"amd64","os":"linux"}`))
	flux := ollamaManifestJSON(L["flux-config"], t1, t2, js)
	rawManifest(t, dir, "registry.ollama.ai", "library", "flux", "latest", flux, base.Add(1*time.Minute))
	ts.manifests["flux:latest"] = flux
	L["t1"], L["t2"], L["json"] = t1, t2, js

	// Strays, all old enough to prune.
	old := time.Now().Add(-2 * time.Hour)
	L["orphan"] = rawBlob(t, dir, MediaTypeModel, []byte("no manifest uses this"))
	for _, p := range []string{
		filepath.Join(dir, "blobs", "sha256-"+L["orphan"].Digest[7:]),
		writeFile(t, filepath.Join(dir, "blobs", "sha256-"+strings.Repeat("ab", 32)+"-partial"), "half a download"),
		writeFile(t, filepath.Join(dir, "blobs", tempPrefix+"12345"), "interrupted WriteBlob"),
		writeFile(t, filepath.Join(dir, "manifests", "registry.ollama.ai", "library", "llama3.2", tempPrefix+"999"), "{"),
	} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	return ts
}

func writeFile(t *testing.T, p, content string) string {
	t.Helper()
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func openTest(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestListOllamaStore(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)
	models, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	// Newest first; temp manifest and strays are not models.
	want := []string{"llama3.2:latest", "myuser/custom:v1", "hf.co/Bartowski/Tiny-Model:Q4_K_M", "flux:latest"}
	var got []string
	for _, m := range models {
		got = append(got, m.Name.Display())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("List names = %v, want %v", got, want)
	}
	for _, m := range models {
		b := ts.manifests[m.Name.Display()]
		if m.Digest != sha(b) {
			t.Errorf("%s: digest %s, want sha256 of manifest file %s", m.Name.Display(), m.Digest, sha(b))
		}
		if m.ID() != sha(b)[:12] || len(m.ID()) != 12 {
			t.Errorf("%s: ID %q, want %q", m.Name.Display(), m.ID(), sha(b)[:12])
		}
		mf, err := parseManifest(b)
		if err != nil {
			t.Fatal(err)
		}
		var size int64 = mf.Config.Size
		for _, l := range mf.Layers {
			size += l.Size
		}
		if m.Size != size || size == 0 {
			t.Errorf("%s: size %d, want %d", m.Name.Display(), m.Size, size)
		}
	}
	if m := models[0]; m.Size != ts.layers["config"].Size+ts.layers["model"].Size+ts.layers["template"].Size+
		ts.layers["license"].Size+ts.layers["params"].Size+ts.layers["system"].Size+ts.layers["messages"].Size {
		t.Errorf("llama3.2 size %d is not the sum of its config and layers", m.Size)
	}
}

func TestManifestAndConfig(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)
	for _, name := range []string{
		"llama3.2", "llama3.2:latest", "LLAMA3.2", "Llama3.2:LATEST",
		"library/llama3.2", "registry.ollama.ai/library/llama3.2:latest", "REGISTRY.OLLAMA.AI/LIBRARY/LLAMA3.2:LATEST",
	} {
		m, err := s.Manifest(name)
		if err != nil {
			t.Fatalf("Manifest(%q): %v", name, err)
		}
		if m.Digest() != sha(ts.manifests["llama3.2:latest"]) {
			t.Errorf("Manifest(%q) digest %s", name, m.Digest())
		}
		if len(m.Layers) != 6 || m.Layers[0] != ts.layers["model"] || m.Config != ts.layers["config"] {
			t.Errorf("Manifest(%q) layers = %+v", name, m.Layers)
		}
	}
	n, err := s.Resolve("hf.co/bartowski/tiny-model:q4_k_m")
	if err != nil {
		t.Fatal(err)
	}
	if n != (Name{"hf.co", "Bartowski", "Tiny-Model", "Q4_K_M"}) {
		t.Errorf("Resolve kept the query's case: %+v", n)
	}

	m, _ := s.Manifest("myuser/custom:v1")
	if m.Layers[0].From != "registry.ollama.ai/library/llama3.2:latest" {
		t.Errorf("from = %q", m.Layers[0].From)
	}
	if got := m.LayersOf(MediaTypeSystem); len(got) != 1 || got[0] != ts.layers["custom-system"] {
		t.Errorf("LayersOf(system) = %+v", got)
	}
	b, err := s.ReadBlob(got0(m.LayersOf(MediaTypeSystem)).Digest)
	if err != nil || string(b) != "You are Mario." {
		t.Errorf("ReadBlob(system) = %q, %v", b, err)
	}

	m, _ = s.Manifest("llama3.2")
	c, err := s.Config(m)
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelFormat != "gguf" || c.ModelFamily != "llama" || c.ModelType != "3.2B" || c.FileType != "Q4_K_M" ||
		c.OS != "linux" || c.Architecture != "amd64" || c.RootFS == nil || len(c.RootFS.DiffIDs) != 2 || !c.IsGGUF() {
		t.Errorf("config = %+v", c)
	}

	for _, name := range []string{"llama3.2:1b", "nosuch", "myuser/llama3.2"} {
		if _, err := s.Manifest(name); !errors.Is(err, ErrNotFound) {
			t.Errorf("Manifest(%q) error = %v, want ErrNotFound", name, err)
		}
	}
	if _, err := s.Manifest("bad name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("Manifest(bad name) error = %v, want ErrInvalidName", err)
	}
}

func got0(ls []Layer) Layer {
	if len(ls) == 0 {
		return Layer{}
	}
	return ls[0]
}

func TestModelPath(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)
	p, err := s.ModelPath("Llama3.2")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(ts.dir, "blobs", "sha256-"+ts.layers["model"].Digest[7:]); p != want {
		t.Errorf("ModelPath = %s, want %s", p, want)
	}
	if p2, err := s.ModelPath("myuser/custom:v1"); err != nil || p2 != p {
		t.Errorf("custom shares llama's weights: %s, %v", p2, err)
	}

	_, err = s.ModelPath("flux")
	if !errors.Is(err, ErrNotGGUF) || !strings.Contains(err.Error(), "2 safetensors tensor layers") {
		t.Errorf("ModelPath(flux) error = %v, want ErrNotGGUF about tensor layers", err)
	}
	if _, err := s.ModelPath("nosuch"); !errors.Is(err, ErrNotFound) {
		t.Errorf("ModelPath(nosuch) error = %v", err)
	}

	// A model layer whose blob is not GGUF.
	bad := rawBlob(t, ts.dir, MediaTypeModel, []byte("PK\x03\x04 not gguf"))
	cfg := ts.layers["custom-config"]
	if err := s.WriteManifest("notgguf", NewManifest(cfg, bad)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ModelPath("notgguf"); !errors.Is(err, ErrNotGGUF) || !strings.Contains(err.Error(), "magic") {
		t.Errorf("ModelPath(notgguf) error = %v", err)
	}
	// Config says safetensors even though the layer is a model layer.
	st := rawBlob(t, ts.dir, MediaTypeConfig, []byte(`{"model_format":"safetensors","architecture":"amd64","os":"linux"}`))
	if err := s.WriteManifest("stmodel", NewManifest(st, ts.layers["model"])); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ModelPath("stmodel"); !errors.Is(err, ErrNotGGUF) || !strings.Contains(err.Error(), `"safetensors"`) {
		t.Errorf("ModelPath(stmodel) error = %v", err)
	}
}

// TestModelPathFixture stores a real GGUF through the store API and opens
// the path ModelPath returns with the gguf reader.
func TestModelPathFixture(t *testing.T) {
	src := fixtures.Path(t, "models/stories260K.gguf")
	s := openTest(t, t.TempDir())
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	digest, size, err := s.WriteBlob(f)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := f.Stat()
	if size != fi.Size() {
		t.Fatalf("WriteBlob size %d, file %d", size, fi.Size())
	}
	cfgDigest, cfgSize, err := s.WriteBlob(strings.NewReader(`{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"292.80K","file_type":"F32","architecture":"amd64","os":"linux"}`))
	if err != nil {
		t.Fatal(err)
	}
	m := NewManifest(Layer{MediaType: MediaTypeConfig, Digest: cfgDigest, Size: cfgSize},
		Layer{MediaType: MediaTypeModel, Digest: digest, Size: size})
	if err := s.WriteManifest("stories:260k", m); err != nil {
		t.Fatal(err)
	}
	p, err := s.ModelPath("stories:260K")
	if err != nil {
		t.Fatal(err)
	}
	g, err := gguf.Open(p)
	if err != nil {
		t.Fatalf("gguf.Open(%s): %v", p, err)
	}
	defer g.Close()
	if g.Architecture() != "llama" || len(g.Tensors) == 0 {
		t.Errorf("stored GGUF: arch %q, %d tensors", g.Architecture(), len(g.Tensors))
	}
	if err := s.VerifyBlob(digest); err != nil {
		t.Error(err)
	}
}

func TestWriteBlobAndManifest(t *testing.T) {
	s := openTest(t, t.TempDir())
	content := []byte("hello blob")
	d, n, err := s.WriteBlob(bytes.NewReader(content))
	if err != nil {
		t.Fatal(err)
	}
	if d != "sha256:"+sha(content) || n != int64(len(content)) {
		t.Fatalf("WriteBlob = %s, %d", d, n)
	}
	p, _ := s.BlobPath(d)
	if b, err := os.ReadFile(p); err != nil || !bytes.Equal(b, content) {
		t.Fatalf("blob file: %q, %v", b, err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
		t.Errorf("blob mode %v, want 0644 like Ollama", fi.Mode().Perm())
	}
	// Writing it again keeps the file (same inode) and leaves no temp file.
	before, _ := os.Stat(p)
	if d2, _, err := s.WriteBlob(bytes.NewReader(content)); err != nil || d2 != d {
		t.Fatalf("second WriteBlob = %s, %v", d2, err)
	}
	after, _ := os.Stat(p)
	if !os.SameFile(before, after) {
		t.Errorf("existing blob was rewritten")
	}
	ents, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	if len(ents) != 1 {
		t.Errorf("blobs dir has %d entries, want 1", len(ents))
	}

	// Corruption is detected.
	if err := os.WriteFile(p, []byte("hello blub"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := s.VerifyBlob(d); err == nil || !strings.Contains(err.Error(), "corrupt") {
		t.Errorf("VerifyBlob on corrupt blob: %v", err)
	}
	if err := s.VerifyBlob("sha256:" + strings.Repeat("0", 64)); err == nil {
		t.Error("VerifyBlob on missing blob succeeded")
	}
	for _, bad := range []string{"", "sha256:abc", "md5:" + strings.Repeat("0", 64), "sha256:" + strings.Repeat("g", 64), "sha256:../../" + strings.Repeat("0", 58)} {
		if _, err := s.BlobPath(bad); err == nil {
			t.Errorf("BlobPath(%q) accepted", bad)
		}
	}
	os.WriteFile(p, content, 0o644)

	// WriteManifest writes the bytes Ollama would.
	cfgD, cfgN, _ := s.WriteBlob(strings.NewReader(`{"model_format":"gguf"}`))
	cfg := Layer{MediaType: MediaTypeConfig, Digest: cfgD, Size: cfgN}
	layer := Layer{MediaType: MediaTypeModel, Digest: d, Size: n, From: "llama3.2"}
	if err := s.WriteManifest("Test/Model:V1", NewManifest(cfg, layer)); err != nil {
		t.Fatal(err)
	}
	mp := filepath.Join(s.Dir(), "manifests", "registry.ollama.ai", "Test", "Model", "V1")
	b, err := os.ReadFile(mp)
	if err != nil {
		t.Fatal(err)
	}
	if want := ollamaManifestJSON(cfg, layer); !bytes.Equal(b, want) {
		t.Errorf("manifest bytes\n got %s\nwant %s", b, want)
	}
	// Same model, other case: replaces the existing file, no new directory.
	layer.From = ""
	if err := s.WriteManifest("test/model:v1", NewManifest(cfg, layer)); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Dir(), "manifests", "registry.ollama.ai")); len(ents) != 1 || ents[0].Name() != "Test" {
		t.Errorf("case-insensitive rewrite created a new directory: %v", ents)
	}
	if m, err := s.Manifest("TEST/MODEL:v1"); err != nil || m.Layers[0].From != "" {
		t.Errorf("rewritten manifest: %+v, %v", m, err)
	}

	// Manifests must reference existing blobs of the right size.
	missing := Layer{MediaType: MediaTypeModel, Digest: "sha256:" + strings.Repeat("1", 64), Size: 3}
	if err := s.WriteManifest("x", NewManifest(cfg, missing)); err == nil || !strings.Contains(err.Error(), "not in the store") {
		t.Errorf("manifest with missing blob: %v", err)
	}
	wrong := Layer{MediaType: MediaTypeModel, Digest: d, Size: n + 1}
	if err := s.WriteManifest("x", NewManifest(cfg, wrong)); err == nil || !strings.Contains(err.Error(), "size") {
		t.Errorf("manifest with wrong size: %v", err)
	}
	if err := s.WriteManifest("x", &Manifest{SchemaVersion: 1, Config: cfg}); err == nil {
		t.Error("schemaVersion 1 accepted")
	}
	if err := s.WriteManifest("bad/na/me/x", NewManifest(cfg)); !errors.Is(err, ErrInvalidName) {
		t.Errorf("bad name: %v", err)
	}
	if _, err := s.Manifest("x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("failed writes left a manifest: %v", err)
	}
}

func TestCopy(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)
	if err := s.Copy("LLAMA3.2", "me/llama-copy:v2"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(ts.dir, "manifests", "registry.ollama.ai", "me", "llama-copy", "v2"))
	if err != nil || !bytes.Equal(b, ts.manifests["llama3.2:latest"]) {
		t.Fatalf("copied manifest differs: %v", err)
	}
	models, _ := s.List()
	ids := map[string]string{}
	for _, m := range models {
		ids[m.Name.Display()] = m.ID()
	}
	if ids["me/llama-copy:v2"] != ids["llama3.2:latest"] || len(models) != 5 {
		t.Errorf("after copy: %v", ids)
	}
	// Copy onto an existing name in other case replaces it in place.
	if err := s.Copy("hf.co/bartowski/tiny-model:q4_k_m", "ME/LLAMA-COPY:V2"); err != nil {
		t.Fatal(err)
	}
	if m, _ := s.Manifest("me/llama-copy:v2"); m.Digest() != sha(ts.manifests["hf.co/Bartowski/Tiny-Model:Q4_K_M"]) {
		t.Errorf("copy over existing did not replace it")
	}
	if models, _ := s.List(); len(models) != 5 {
		t.Errorf("copy over existing in other case added a model: %d", len(models))
	}
	if err := s.Copy("llama3.2", "llama3.2:latest"); err != nil {
		t.Errorf("copy onto itself: %v", err)
	}
	if err := s.Copy("nosuch", "x"); !errors.Is(err, ErrNotFound) {
		t.Errorf("copy of missing: %v", err)
	}
	if err := s.Copy("llama3.2", "bad name"); !errors.Is(err, ErrInvalidName) {
		t.Errorf("copy to bad name: %v", err)
	}
}

func blobExists(dir string, l Layer) bool {
	_, err := os.Stat(filepath.Join(dir, "blobs", "sha256-"+l.Digest[7:]))
	return err == nil
}

func TestDelete(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)
	L := ts.layers

	// Unknown names: error names them, nothing deleted.
	err := s.Delete("llama3.2", "nosuch:1", "bad name")
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nosuch:1"`) || !strings.Contains(err.Error(), `"bad name"`) {
		t.Errorf("Delete with unknown names: %v", err)
	}
	if _, err := s.Manifest("llama3.2"); err != nil {
		t.Errorf("failed Delete removed llama3.2: %v", err)
	}

	if err := s.Delete("Llama3.2:Latest"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Manifest("llama3.2"); !errors.Is(err, ErrNotFound) {
		t.Errorf("llama3.2 still there: %v", err)
	}
	// Blobs shared with myuser/custom stay; llama-only blobs go.
	for _, k := range []string{"model", "template"} {
		if !blobExists(ts.dir, L[k]) {
			t.Errorf("shared blob %s was removed", k)
		}
	}
	for _, k := range []string{"system", "params", "license", "messages", "config"} {
		if blobExists(ts.dir, L[k]) {
			t.Errorf("unused blob %s was kept", k)
		}
	}
	// The orphan (not llama's) is Prune's business, not Delete's.
	if !blobExists(ts.dir, L["orphan"]) {
		t.Error("Delete removed an unrelated orphan blob")
	}

	// Delete several, including the last model of a host: its directories go.
	if err := s.Delete("myuser/custom:v1", "HF.CO/bartowski/Tiny-Model:Q4_K_M", "myuser/custom:v1"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "manifests", "hf.co")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("empty host directory left: %v", err)
	}
	if blobExists(ts.dir, L["model"]) || blobExists(ts.dir, L["tiny"]) {
		t.Error("weights of deleted models left behind")
	}
	models, _ := s.List()
	if len(models) != 1 || models[0].Name.Display() != "flux:latest" {
		t.Errorf("left: %+v", models)
	}
}

func TestPrune(t *testing.T) {
	ts := buildOllamaStore(t)
	s := openTest(t, ts.dir)

	// Default grace (1h): young strays stay. Make everything young first.
	now := time.Now()
	young := rawBlob(t, ts.dir, MediaTypeModel, []byte("just written, manifest not yet"))
	res, err := s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if !blobExists(ts.dir, young) {
		t.Error("Prune removed a young unreferenced blob")
	}
	// The 2h-old strays were removed: orphan blob, partial, temp blob, temp manifest.
	if res.Blobs != 1 || res.TempFiles != 3 {
		t.Errorf("Prune = %+v, want 1 blob and 3 temp files", res)
	}
	if blobExists(ts.dir, ts.layers["orphan"]) {
		t.Error("orphan blob kept")
	}
	ents, _ := os.ReadDir(filepath.Join(ts.dir, "blobs"))
	for _, e := range ents {
		if !isBlobFileName(e.Name()) {
			t.Errorf("stray %s kept", e.Name())
		}
	}
	if _, err := os.Stat(filepath.Join(ts.dir, "manifests", "registry.ollama.ai", "library", "llama3.2", tempPrefix+"999")); err == nil {
		t.Error("temp manifest kept")
	}

	// Every referenced blob survives, intact, even when all are old.
	old := now.Add(-5 * time.Hour)
	for _, e := range ents {
		os.Chtimes(filepath.Join(ts.dir, "blobs", e.Name()), old, old)
	}
	s.PruneGrace = -1
	res, err = s.Prune()
	if err != nil {
		t.Fatal(err)
	}
	if res.Blobs != 1 || blobExists(ts.dir, young) {
		t.Errorf("second Prune = %+v, want only the (now unprotected) young orphan", res)
	}
	refs := 0
	for name := range ts.manifests {
		m, err := s.Manifest(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range append([]Layer{m.Config}, m.Layers...) {
			refs++
			if err := s.VerifyBlob(l.Digest); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
	}
	if refs != 17 { // 7 + 4 + 2 + 4
		t.Errorf("checked %d references, want 17", refs)
	}

	// A corrupt manifest stops Prune before it removes anything.
	orphan := rawBlob(t, ts.dir, MediaTypeModel, []byte("another orphan"))
	os.Chtimes(filepath.Join(ts.dir, "blobs", "sha256-"+orphan.Digest[7:]), old, old)
	rawManifest(t, ts.dir, "registry.ollama.ai", "library", "broken", "latest", []byte(`{"schemaVersion":2,"layers":[`), now)
	if _, err := s.Prune(); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("Prune with corrupt manifest: %v", err)
	}
	if !blobExists(ts.dir, orphan) {
		t.Error("Prune removed a blob despite a corrupt manifest")
	}
	// List skips the corrupt manifest, as Ollama does.
	models, err := s.List()
	if err != nil || len(models) != 4 {
		t.Errorf("List with corrupt manifest: %d models, %v", len(models), err)
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("GOLEM_MODELS", "/x/models")
	t.Setenv("GOLEM_HOME", "/y")
	if d, _ := DefaultDir(); d != "/x/models" {
		t.Errorf("GOLEM_MODELS: %s", d)
	}
	t.Setenv("GOLEM_MODELS", "")
	if d, _ := DefaultDir(); d != filepath.Join("/y", "models") {
		t.Errorf("GOLEM_HOME: %s", d)
	}
	t.Setenv("GOLEM_HOME", "")
	t.Setenv("HOME", "/home/u")
	if d, _ := DefaultDir(); d != filepath.Join("/home/u", ".golem", "models") {
		t.Errorf("default: %s", d)
	}
	dir := filepath.Join(t.TempDir(), "m")
	t.Setenv("GOLEM_MODELS", dir)
	s, err := Open("")
	if err != nil || s.Dir() != dir {
		t.Fatalf("Open(\"\") = %v, %v", s, err)
	}
	for _, sub := range []string{"manifests", "blobs"} {
		if fi, err := os.Stat(filepath.Join(dir, sub)); err != nil || !fi.IsDir() {
			t.Errorf("Open did not create %s", sub)
		}
	}
}

// TestListSorted checks the order when times tie: by full name.
func TestListSorted(t *testing.T) {
	dir := t.TempDir()
	cfg := rawBlob(t, dir, MediaTypeConfig, []byte("{}"))
	mt := time.Now().Truncate(time.Second)
	for _, n := range []string{"b", "a", "c"} {
		rawManifest(t, dir, "registry.ollama.ai", "library", n, "latest", ollamaManifestJSON(cfg), mt)
	}
	models, err := openTest(t, dir).List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range models {
		got = append(got, m.Name.Model)
	}
	if !sort.StringsAreSorted(got) || len(got) != 3 {
		t.Errorf("order %v", got)
	}

	// A namespace directory that is a symbolic link is followed.
	other := t.TempDir()
	rawManifest(t, other, "h", "ns", "linked", "latest", ollamaManifestJSON(cfg), mt)
	if err := os.Symlink(filepath.Join(other, "manifests", "h", "ns"), filepath.Join(dir, "manifests", "registry.ollama.ai", "ns")); err != nil {
		t.Skipf("symlink: %v", err)
	}
	s := openTest(t, dir)
	if models, err := s.List(); err != nil || len(models) != 4 {
		t.Errorf("List with symlinked namespace: %d models, %v", len(models), err)
	}
	if _, err := s.Manifest("NS/Linked"); err != nil {
		t.Errorf("Manifest through symlink: %v", err)
	}
}
