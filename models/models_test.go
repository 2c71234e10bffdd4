package models

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golem/api"
	"golem/internal/fixtures"
	"golem/modelfile"
	"golem/sample"
	"golem/store"
)

func newStore(t *testing.T) *store.Store {
	t.Helper()
	s, err := store.Open(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func create(t *testing.T, s *store.Store, name, src, dir string) {
	t.Helper()
	mf, err := modelfile.ParseString(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := Create(s, name, mf, CreateOptions{Dir: dir}); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
}

// TestCreateResolve creates a model with every layer kind and reads it
// back: the layers, the config from the GGUF header, and the Modelfile
// show prints, which recreates the same manifest.
func TestCreateResolve(t *testing.T) {
	s := newStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	create(t, s, "Stories", `FROM `+weights+`
TEMPLATE "{{ .System }} {{ .Prompt }}"
SYSTEM Be brief.
PARAMETER temperature 0
PARAMETER num_predict 16
PARAMETER stop a
PARAMETER stop "b c"
LICENSE MIT
MESSAGE user Hi
MESSAGE assistant Hello
`, "")
	m, err := Resolve(s, "stories")
	if err != nil {
		t.Fatal(err)
	}
	if m.IsFile() || m.Path == "" || !m.HasTemplate || m.Template != "{{ .System }} {{ .Prompt }}" || m.System != "Be brief." {
		t.Errorf("layers: %+v", m)
	}
	if len(m.Messages) != 2 || m.Messages[1].Role != "assistant" || m.Messages[1].Content != "Hello" || len(m.License) != 1 {
		t.Errorf("messages %+v license %q", m.Messages, m.License)
	}
	if m.Config.ModelFormat != "gguf" || m.Config.ModelFamily != "llama" || m.Config.FileType != "F32" {
		t.Errorf("config: %+v", m.Config)
	}
	wantParams := [][2]any{{"num_predict", float64(16)}, {"stop", "a"}, {"stop", "b c"}, {"temperature", float64(0)}}
	if got := m.ParamValues(); len(got) != len(wantParams) {
		t.Errorf("params %v, want %v", got, wantParams)
	} else {
		for i := range got {
			if got[i] != wantParams[i] {
				t.Errorf("param %d: %v, want %v", i, got[i], wantParams[i])
			}
		}
	}
	if m.Modified.IsZero() {
		t.Errorf("no modification time")
	}
	// Show's Modelfile recreates the same manifest.
	create(t, s, "again", m.Modelfile(), "")
	a, _ := s.Manifest("again")
	if a.Digest() != m.Manifest.Digest() {
		t.Errorf("Modelfile round trip changed the manifest:\n%s", m.Modelfile())
	}
	// A model FROM another inherits its layers; new ones replace them.
	create(t, s, "child", "FROM stories\nSYSTEM Other.\nPARAMETER temperature 0.5\n", "")
	c, err := Resolve(s, "child")
	if err != nil {
		t.Fatal(err)
	}
	if c.System != "Other." || c.Template != m.Template || c.Params["temperature"] != 0.5 || c.Params["num_predict"] != float64(16) {
		t.Errorf("inherited model: %+v", c)
	}
	// A plain file resolves with no layers.
	f, err := Resolve(s, weights)
	if err != nil || !f.IsFile() || f.Path != weights || f.HasTemplate {
		t.Errorf("file: %+v %v", f, err)
	}
	if txt, err := f.TemplateText(); err != nil || txt != "" {
		t.Errorf("stories260K has no chat template: %q %v", txt, err)
	}
}

func TestResolveErrors(t *testing.T) {
	s := newStore(t)
	for _, c := range []struct {
		name string
		want error
	}{
		{"nosuch", store.ErrNotFound},
		{"", ErrInvalid},
		{"bad name!", ErrInvalid},
	} {
		if _, err := Resolve(s, c.name); !errors.Is(err, c.want) {
			t.Errorf("Resolve(%q) = %v, want %v", c.name, err, c.want)
		}
	}
}

func TestCreateErrors(t *testing.T) {
	s := newStore(t)
	weights := fixtures.Path(t, "models/stories260K.gguf")
	dir := t.TempDir()
	for _, c := range []struct {
		name, src, quant string
		want             error
	}{
		{"missing model", "FROM nosuch\n", "", store.ErrNotFound},
		{"missing blob", "FROM sha256:" + strings.Repeat("0", 64) + "\n", "", ErrInvalid},
		{"not gguf", "FROM " + filepath.Join(dir, "x.gguf") + "\n", "", ErrInvalid},
		{"bad template", "FROM " + weights + "\nTEMPLATE \"{{ .Prompt \"\n", "", ErrInvalid},
		{"bad quant", "FROM " + weights + "\n", "q9_9", ErrInvalid},
		{"draft", "FROM " + weights + "\nDRAFT " + weights + "\n", "", ErrInvalid},
	} {
		if c.name == "not gguf" {
			if err := writeText(filepath.Join(dir, "x.gguf"), "not a gguf"); err != nil {
				t.Fatal(err)
			}
		}
		mf, err := modelfile.ParseString(c.src)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		err = Create(s, "m", mf, CreateOptions{Quantize: c.quant})
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("failed creates left %d models", len(list))
	}
	if err := Create(s, "bad name!", &modelfile.Modelfile{}, CreateOptions{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("bad name: %v", err)
	}
	if err := Create(s, "m", &modelfile.Modelfile{}, CreateOptions{}); !errors.Is(err, ErrInvalid) || !errors.Is(err, modelfile.ErrNoFrom) {
		t.Errorf("no FROM: %v", err)
	}
}

func TestFromRequest(t *testing.T) {
	for _, c := range []struct {
		name string
		req  api.CreateRequest
		want string // Modelfile text, or "error"
	}{
		{"from", api.CreateRequest{From: "base", System: "s", Template: "t"}, "FROM base\nTEMPLATE t\nSYSTEM s\n"},
		{"files", api.CreateRequest{Files: map[string]string{"m.gguf": "sha256-ab"}}, "FROM sha256:ab\n"},
		{"params", api.CreateRequest{From: "b", Parameters: map[string]any{"num_ctx": float64(1e6), "stop": []any{"x", "y"}, "temperature": 0.5}},
			"FROM b\nPARAMETER num_ctx 1000000\nPARAMETER stop x\nPARAMETER stop y\nPARAMETER temperature 0.5\n"},
		{"license list", api.CreateRequest{From: "b", License: []any{"a", "b"}}, "FROM b\nLICENSE a\nLICENSE b\n"},
		{"messages", api.CreateRequest{From: "b", Messages: []api.Message{{Role: "user", Content: "hi"}}}, "FROM b\nMESSAGE user hi\n"},
		{"adapters", api.CreateRequest{From: "b", Adapters: map[string]string{"l.gguf": "sha256:cd"}}, "FROM b\nADAPTER sha256:cd\n"},
		{"neither", api.CreateRequest{}, "error"},
		{"both", api.CreateRequest{From: "b", Files: map[string]string{"m.gguf": "sha256:ab"}}, "error"},
		{"two files", api.CreateRequest{Files: map[string]string{"a.gguf": "sha256:ab", "b.gguf": "sha256:cd"}}, "error"},
		{"safetensors", api.CreateRequest{Files: map[string]string{"m.safetensors": "sha256:ab"}}, "error"},
		{"bad license", api.CreateRequest{From: "b", License: 3.0}, "error"},
		{"bad parameter", api.CreateRequest{From: "b", Parameters: map[string]any{"num_ctx": "many"}}, "error"},
		{"unknown parameter", api.CreateRequest{From: "b", Parameters: map[string]any{"nosuch": 1.0}}, "error"},
	} {
		mf, err := FromRequest(&c.req)
		if c.want == "error" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%s: %v, want an ErrInvalid error", c.name, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if got := mf.Format(); got != c.want {
			t.Errorf("%s:\n%s\nwant\n%s", c.name, got, c.want)
		}
	}
}

func TestRenderTemplate(t *testing.T) {
	hist := []api.Message{{Role: "user", Content: "u1"}, {Role: "assistant", Content: "a1"}}
	for _, c := range []struct {
		tmpl, system, prompt string
		history              []api.Message
		want                 string
	}{
		{"{{ .Prompt }}", "sys", "Once upon a time", nil, "Once upon a time"},
		{"{{ .System }} {{ .Prompt }}", "Once upon", "a time", nil, "Once upon a time"},
		{"{{ if .System }}[{{ .System }}]{{ end }}{{ .Prompt }}", "", "p", nil, "p"},
		{"{{ range .Messages }}{{ .Role }}:{{ .Content }};{{ end }}", "s", "p", hist, "system:s;user:u1;assistant:a1;user:p;"},
		{"{{ .Response }}{{ .Nosuch }}", "", "p", nil, "error"},
		{"{{ .Prompt", "", "p", nil, "error"},
	} {
		got, err := RenderTemplate(c.tmpl, PromptData(c.system, c.prompt, c.history))
		if c.want == "error" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%q: %q %v, want an ErrInvalid error", c.tmpl, got, err)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("%q: %q %v, want %q", c.tmpl, got, err, c.want)
		}
	}
}

func TestApplyParams(t *testing.T) {
	opts := sample.DefaultOptions()
	set, err := ApplyParams(&opts, map[string]any{"temperature": 0.0, "num_predict": 16.0, "stop": []any{"x"}, "num_gpu": 1.0})
	if err != nil || set {
		t.Fatalf("ApplyParams: %v %v", set, err)
	}
	if opts.Temperature != 0 || opts.NumPredict != 16 || len(opts.Stop) != 1 || opts.TopK != sample.DefaultOptions().TopK {
		t.Errorf("options: %+v", opts)
	}
	if set, err := ApplyParams(&opts, map[string]any{"num_ctx": 256.0}); err != nil || !set || opts.NumCtx != 256 {
		t.Errorf("num_ctx: %v %v %d", set, err, opts.NumCtx)
	}
	if _, err := ApplyParams(&opts, map[string]any{"temperature": "hot"}); err == nil {
		t.Errorf("a string temperature was accepted")
	}
}

func TestHumanFormats(t *testing.T) {
	for _, c := range []struct {
		n    uint64
		want string
	}{{260_000, "260K"}, {1_500_000_000, "1.5B"}, {494_030_000, "494.03M"}, {8_000_000_000, "8B"}, {999, "999"}} {
		if got := HumanNumber(c.n); got != c.want {
			t.Errorf("HumanNumber(%d) = %q, want %q", c.n, got, c.want)
		}
	}
	for _, c := range []struct {
		n    int64
		want string
	}{{512, "512 B"}, {1_300_000_000, "1.3 GB"}, {25_000_000, "25 MB"}} {
		if got := HumanBytes(c.n); got != c.want {
			t.Errorf("HumanBytes(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}

func writeText(path, text string) error { return os.WriteFile(path, []byte(text), 0o644) }

// TestTemplateThinkFields checks the think fields Ollama's templates read
// (.Think, .ThinkLevel, .IsThinkSet) for each form of the request field.
func TestTemplateThinkFields(t *testing.T) {
	const src = `{{if .IsThinkSet}}set:{{.Think}}:{{.ThinkLevel}}{{else}}unset:{{.Think}}{{end}}`
	for _, tc := range []struct {
		think *api.ThinkValue
		want  string
	}{
		{nil, "unset:false"},
		{&api.ThinkValue{Value: false}, "set:false:"},
		{&api.ThinkValue{Value: true}, "set:true:"},
		{&api.ThinkValue{Value: "high"}, "set:true:high"},
	} {
		got, err := RenderTemplate(src, TemplateData{}.WithThink(tc.think))
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("think %+v: got %q, want %q", tc.think, got, tc.want)
		}
	}
}
