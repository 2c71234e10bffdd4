package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/internal/fixtures"
	"golem/model"
	"golem/quantize"
	"golem/store"
	"golem/tensor"
)

// golem runs the store commands as the CLI would, against the store in
// $GOLEM_MODELS, and returns stdout and stderr.
func golem(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	root := &cobra.Command{Use: "golem", SilenceUsage: true, SilenceErrors: true}
	root.AddCommand(newCreateCmd(), newListCmd(), newCopyCmd(), newRemoveCmd(), newPerplexityCmd())
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), errOut.String(), err
}

// newTestStore points GOLEM_MODELS at an empty store.
func newTestStore(t *testing.T) *store.Store {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "models")
	t.Setenv("GOLEM_MODELS", dir)
	s, err := store.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func writeFile(t *testing.T, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func fileDigest(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func textDigest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// TestCreateEveryInstruction creates a model from a Modelfile using every
// instruction and checks each layer against what Ollama writes: media
// types, order, digests and exact JSON of params, messages and config.
func TestCreateEveryInstruction(t *testing.T) {
	s := newTestStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	adapter := fixtures.Path(t, "models/quant/stories260K-Q8_0.gguf") // any GGUF stands in
	dir := t.TempDir()
	// FROM a path relative to the Modelfile's directory (a link to the fixture).
	if err := os.Symlink(weights, filepath.Join(dir, "stories.gguf")); err != nil {
		t.Fatal(err)
	}
	mf := writeFile(t, filepath.Join(dir, "Modelfile"), `# a test model
FROM ./stories.gguf
PARAMETER temperature 0.7
PARAMETER stop "<s>"
PARAMETER stop </s>
parameter num_ctx 256
TEMPLATE """{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}"""
SYSTEM You tell short stories.
ADAPTER `+adapter+`
LICENSE MIT
LICENSE """second
license"""
MESSAGE user Tell me a story.
MESSAGE assistant Once upon a time...
REQUIRES 0.5.0
`)
	_, log, err := golem(t, "create", "Stories", "-f", mf)
	if err != nil {
		t.Fatalf("create: %v\n%s", err, log)
	}
	if !strings.Contains(log, "copying file") || !strings.Contains(log, "100%") || !strings.HasSuffix(log, "success\n") {
		t.Errorf("progress log:\n%s", log)
	}
	m, err := s.Manifest("stories")
	if err != nil {
		t.Fatal(err)
	}
	wantParams := `{"num_ctx":256,"stop":["\u003cs\u003e","\u003c/s\u003e"],"temperature":0.7}` + "\n"
	wantMsgs := `[{"role":"user","content":"Tell me a story."},{"role":"assistant","content":"Once upon a time..."}]` + "\n"
	want := []store.Layer{
		{MediaType: store.MediaTypeModel, Digest: fileDigest(t, weights)},
		{MediaType: store.MediaTypeAdapter, Digest: fileDigest(t, adapter)},
		{MediaType: store.MediaTypeTemplate, Digest: textDigest("{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}")},
		{MediaType: store.MediaTypeSystem, Digest: textDigest("You tell short stories.")},
		{MediaType: store.MediaTypeLicense, Digest: textDigest("MIT")},
		{MediaType: store.MediaTypeLicense, Digest: textDigest("second\nlicense")},
		{MediaType: store.MediaTypeParams, Digest: textDigest(wantParams)},
		{MediaType: store.MediaTypeMessages, Digest: textDigest(wantMsgs)},
	}
	if len(m.Layers) != len(want) {
		t.Fatalf("%d layers, want %d: %+v", len(m.Layers), len(want), m.Layers)
	}
	for i, w := range want {
		if g := m.Layers[i]; g.MediaType != w.MediaType || g.Digest != w.Digest || g.From != "" {
			t.Errorf("layer %d: %s %s from %q, want %s %s", i, g.MediaType, g.Digest, g.From, w.MediaType, w.Digest)
		}
	}
	cfgBlob, err := s.ReadBlob(m.Config.Digest)
	if err != nil {
		t.Fatal(err)
	}
	wantCfg := `{"model_format":"gguf","model_family":"llama","model_families":["llama"],"model_type":"293K","file_type":"F32","requires":"0.5.0","architecture":"amd64","os":"linux"}` + "\n"
	if string(cfgBlob) != wantCfg {
		t.Errorf("config blob\n%s want\n%s", cfgBlob, wantCfg)
	}
	if p, err := s.ModelPath("stories"); err != nil || fileDigest(t, p) != fileDigest(t, weights) {
		t.Errorf("ModelPath: %s, %v", p, err)
	}

	// show prints each part as `ollama show` does.
	var out bytes.Buffer
	if err := showStoredModel(&out, "stories", ShowFlags{Parameters: true}); err != nil {
		t.Fatal(err)
	}
	wantP := `num_ctx                        256
stop                           "<s>"
stop                           "</s>"
temperature                    0.7
`
	if out.String() != wantP {
		t.Errorf("--parameters:\n%s\nwant\n%s", out.String(), wantP)
	}
	for _, c := range []struct {
		fl   ShowFlags
		want string
	}{
		{ShowFlags{System: true}, "You tell short stories.\n"},
		{ShowFlags{Template: true}, "{{ if .System }}{{ .System }} {{ end }}{{ .Prompt }}\n"},
		{ShowFlags{License: true}, "MIT\nsecond\nlicense\n"},
	} {
		out.Reset()
		if err := showStoredModel(&out, "stories:latest", c.fl); err != nil {
			t.Fatal(err)
		}
		if out.String() != c.want {
			t.Errorf("%+v: %q, want %q", c.fl, out.String(), c.want)
		}
	}
	out.Reset()
	if err := showStoredModel(&out, "stories", ShowFlags{Modelfile: true}); err != nil {
		t.Fatal(err)
	}
	blob, _ := s.BlobPath(fileDigest(t, weights))
	for _, line := range []string{
		"# FROM Stories:latest\n", "FROM " + blob + "\n", "ADAPTER ", "TEMPLATE ", "SYSTEM You tell short stories.\n",
		"PARAMETER num_ctx 256\n", "PARAMETER stop <s>\n", "PARAMETER stop </s>\n", "PARAMETER temperature 0.7\n",
		"LICENSE MIT\n", "MESSAGE user Tell me a story.\n", "MESSAGE assistant Once upon a time...\n",
	} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("--modelfile lacks %q:\n%s", line, out.String())
		}
	}
	out.Reset()
	if err := showStoredModel(&out, "stories", ShowFlags{}); err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"architecture", "llama", "parameters", "293K", "quantization", "F32", "Parameters", "temperature", "System", "License"} {
		if !strings.Contains(out.String(), s) {
			t.Errorf("summary lacks %q:\n%s", s, out.String())
		}
	}
	if err := showStoredModel(&out, "nosuch", ShowFlags{}); err == nil || !strings.Contains(err.Error(), "golem list") {
		t.Errorf("show of an unknown model: %v", err)
	}

	// A model FROM this one inherits its layers, replaces the system
	// message and merges parameters.
	mf2 := writeFile(t, filepath.Join(dir, "Modelfile2"), "FROM stories\nSYSTEM Be brief.\nPARAMETER temperature 0.2\nPARAMETER top_k 5\n")
	if _, log, err := golem(t, "create", "brief", "-f", mf2); err != nil {
		t.Fatalf("create FROM model: %v\n%s", err, log)
	}
	m2, err := s.Manifest("brief")
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, l := range m2.Layers {
		types = append(types, strings.TrimPrefix(l.MediaType, "application/vnd.ollama.image."))
		if l.MediaType == store.MediaTypeModel && (l.From != "stories:latest" || l.Digest != m.Layers[0].Digest) {
			t.Errorf("model layer %+v, want the base's, from stories:latest", l)
		}
	}
	if got := strings.Join(types, ","); got != "model,adapter,template,license,license,messages,system,params" {
		t.Errorf("layers %s", got)
	}
	out.Reset()
	if err := showStoredModel(&out, "brief", ShowFlags{Parameters: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "temperature                    0.2\n") || !strings.Contains(out.String(), "top_k                          5\n") || !strings.Contains(out.String(), `"</s>"`) {
		t.Errorf("merged parameters:\n%s", out.String())
	}
}

// TestCreateQuantizeListCopyRemove re-quantizes on create, lists, copies
// and removes models, and creates from a directory and a blob digest.
func TestCreateQuantizeListCopyRemove(t *testing.T) {
	s := newTestStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	dir := t.TempDir()
	sub := filepath.Join(dir, "weights")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(weights, filepath.Join(sub, "model.gguf")); err != nil {
		t.Fatal(err)
	}
	mf := writeFile(t, filepath.Join(dir, "Modelfile"), "FROM weights\n") // a directory
	_, log, err := golem(t, "create", "tiny:q8", "-f", mf, "--quantize", "q8_0")
	if err != nil {
		t.Fatalf("create --quantize: %v\n%s", err, log)
	}
	if !strings.Contains(log, "quantizing F32 model to Q8_0") || !strings.Contains(log, "100%") {
		t.Errorf("progress log:\n%s", log)
	}
	// The blob is exactly what quantize.File writes.
	src, err := gguf.Open(weights)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	ref := filepath.Join(t.TempDir(), "ref.gguf")
	if _, err := quantize.File(src, ref, "Q8_0", quantize.Options{}); err != nil {
		t.Fatal(err)
	}
	p, err := s.ModelPath("tiny:q8")
	if err != nil {
		t.Fatal(err)
	}
	if fileDigest(t, p) != fileDigest(t, ref) {
		t.Error("quantized blob differs from quantize.File's output")
	}
	f, err := gguf.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	if ti, _ := f.Tensor("blk.0.attn_q.weight"); ti == nil || ti.Type != tensor.Q8_0 {
		t.Errorf("attn_q: %+v", ti)
	}
	if _, err := model.Load(f); err != nil {
		t.Errorf("quantized model does not load: %v", err)
	}
	f.Close()
	m, _ := s.Manifest("tiny:q8")
	cfg, _ := s.Config(m)
	if cfg.FileType != "Q8_0" {
		t.Errorf("config file_type %q", cfg.FileType)
	}

	// FROM a blob digest.
	mf2 := writeFile(t, filepath.Join(dir, "Modelfile2"), "FROM "+m.Layers[0].Digest+"\n")
	if _, log, err := golem(t, "create", "byblob", "-f", mf2); err != nil {
		t.Fatalf("create FROM digest: %v\n%s", err, log)
	}

	out, _, err := golem(t, "cp", "tiny:q8", "myns/copy:v1")
	if err != nil || out != "copied 'tiny:q8' to 'myns/copy:v1'\n" {
		t.Errorf("cp: %q %v", out, err)
	}
	out, _, err = golem(t, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "NAME ") || !strings.Contains(lines[0], "    ID ") {
		t.Fatalf("list:\n%s", out)
	}
	for _, name := range []string{"tiny:q8 ", "myns/copy:v1 ", "byblob:latest "} {
		if !strings.Contains(out, name) {
			t.Errorf("list lacks %q:\n%s", name, out)
		}
	}
	models, _ := s.List()
	for _, l := range lines[1:] {
		fields := strings.Fields(l)
		if len(fields[1]) != 12 || !strings.Contains(l, "KB") || !strings.HasSuffix(l, "ago") {
			t.Errorf("list row %q", l)
		}
		_ = models
	}
	out, _, _ = golem(t, "list", "MYNS")
	if strings.Count(out, "\n") != 2 {
		t.Errorf("list MYNS:\n%s", out)
	}

	_, _, err = golem(t, "rm", "tiny:q8", "nosuch")
	if err == nil || !strings.Contains(err.Error(), `"nosuch"`) || !strings.Contains(err.Error(), "golem list") {
		t.Errorf("rm with an unknown name: %v", err)
	}
	if _, err := s.Manifest("tiny:q8"); err != nil {
		t.Error("rm with an unknown name removed a model")
	}
	out, _, err = golem(t, "rm", "tiny:q8", "myns/copy:v1")
	if err != nil || out != "deleted 'tiny:q8'\ndeleted 'myns/copy:v1'\n" {
		t.Errorf("rm: %q %v", out, err)
	}
	// byblob still uses the quantized blob.
	if _, err := s.ModelPath("byblob"); err != nil {
		t.Errorf("blob shared with another model was removed: %v", err)
	}
}

func TestCreateErrors(t *testing.T) {
	newTestStore(t)
	dir := t.TempDir()
	for _, c := range []struct {
		name, modelfile, quant, want string
	}{
		{"ok", "FROM ./missing.gguf\n", "", "no such file"},
		{"ok", "FROM nosuch:model\n", "", "golem list"},
		{"ok", "SYSTEM hi\n", "", "FROM"},
		{"ok", "FROM x\nDRAFT y\n", "", "DRAFT"},
		{"bad name!", "FROM x\n", "", "invalid model name"},
		{"ok", "FROM x\n", "q9_9", "unknown quantization type"},
		{"ok", "FROM sha256:" + strings.Repeat("0", 64) + "\n", "", "no such blob"},
		{"ok", "FROM " + dir + "\n", "", "no .gguf file"},
	} {
		mf := writeFile(t, filepath.Join(dir, "Modelfile.txt"), c.modelfile)
		args := []string{"create", c.name, "-f", mf}
		if c.quant != "" {
			args = append(args, "--quantize", c.quant)
		}
		_, _, err := golem(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: err %v, want it to mention %q", c.modelfile, err, c.want)
		}
	}
	if _, _, err := golem(t, "create", "x", "-f", filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "-f") {
		t.Errorf("missing Modelfile: %v", err)
	}
}

func TestHumanFormats(t *testing.T) {
	for _, c := range []struct {
		n    int64
		want string
	}{{0, "0 B"}, {999, "999 B"}, {1000, "1 KB"}, {1300, "1.3 KB"}, {1_300_000_000, "1.3 GB"}, {25_400_000, "25 MB"}, {4_700_000_000, "4.7 GB"}, {2e12, "2 TB"}} {
		if got := humanBytes(c.n); got != c.want {
			t.Errorf("humanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		d    time.Duration
		want string
	}{
		{0, "Less than a second ago"}, {time.Second, "1 second ago"}, {30 * time.Second, "30 seconds ago"},
		{time.Minute, "About a minute ago"}, {2 * time.Minute, "2 minutes ago"}, {time.Hour, "About an hour ago"},
		{5 * time.Hour, "5 hours ago"}, {72 * time.Hour, "3 days ago"}, {21 * 24 * time.Hour, "3 weeks ago"},
		{90 * 24 * time.Hour, "3 months ago"}, {800 * 24 * time.Hour, "2 years ago"}, {-2 * time.Minute, "2 minutes from now"},
	} {
		if got := humanTime(now.Add(-c.d), now); got != c.want {
			t.Errorf("humanTime(-%v) = %q, want %q", c.d, got, c.want)
		}
	}
	if humanTime(time.Time{}, now) != "Never" {
		t.Error("zero time is not Never")
	}
	for _, c := range []struct {
		n    uint64
		want string
	}{{292_992, "293K"}, {8_000_000_000, "8B"}, {1_540_000_000, "1.5B"}, {494_032_768, "494.03M"}, {7_000_000, "7M"}, {999, "999"}} {
		if got := humanNumber(c.n); got != c.want {
			t.Errorf("humanNumber(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func TestPerplexityCommand(t *testing.T) {
	newTestStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	out, log, err := golem(t, "perplexity", "-m", weights, "-f", filepath.Join("..", "..", "testdata", "tinystories.txt"), "-c", "128", "--chunks", "3")
	if err != nil {
		t.Fatalf("%v\n%s", err, log)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "[1]") || !strings.Contains(lines[0], ",[3]") || !strings.HasPrefix(lines[1], "Final estimate: PPL = ") || !strings.Contains(lines[1], " +/- ") {
		t.Errorf("output:\n%s", out)
	}
	if _, _, err := golem(t, "perplexity", "-m", "nosuch", "-f", "x"); err == nil || !strings.Contains(err.Error(), "golem list") {
		t.Errorf("unknown model: %v", err)
	}
}

var _ = json.Marshal

// TestCreateFailsMidQuantization makes the quantizer fail half way through
// the model (a tensor near the end holds NaN) and checks that the store is
// left as it was: no manifest, no blob, no temporary file, and list works.
func TestCreateFailsMidQuantization(t *testing.T) {
	s := newTestStore(t)
	src, err := gguf.Open(fixtures.Path(t, "models/stories260K.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	w := gguf.FromFile(src)
	ti, _ := src.Tensor("blk.4.ffn_up.weight")
	bad := append([]byte(nil), src.TensorData(ti)...)
	copy(bad[400:], []byte{0, 0, 0xc0, 0x7f}) // a float32 NaN
	if err := w.ReplaceTensor(ti.Name, ti.Shape, ti.Type, bad); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := w.WriteFile(filepath.Join(dir, "bad.gguf")); err != nil {
		t.Fatal(err)
	}
	mf := writeFile(t, filepath.Join(dir, "Modelfile"), "FROM bad.gguf\nSYSTEM hi\n")
	_, _, err = golem(t, "create", "bad", "-f", mf, "-q", "Q4_0")
	if err == nil || !strings.Contains(err.Error(), "NaN") {
		t.Fatalf("create of a model with NaN weights: %v", err)
	}
	entries, _ := os.ReadDir(filepath.Join(s.Dir(), "blobs"))
	if len(entries) != 0 {
		t.Errorf("failed create left %d files in blobs/ (%s...)", len(entries), entries[0].Name())
	}
	out, _, err := golem(t, "list")
	if err != nil || strings.Count(out, "\n") != 1 {
		t.Errorf("list after a failed create: %q %v", out, err)
	}
	// The same Modelfile without quantization succeeds.
	if _, log, err := golem(t, "create", "bad", "-f", mf); err != nil {
		t.Errorf("create after a failed one: %v\n%s", err, log)
	}
}
