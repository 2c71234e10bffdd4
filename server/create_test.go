package server

import (
	"strings"
	"testing"

	"golem/api"
	"golem/modelfile"
	"golem/models"
)

// TestCreateSameAsModelfile checks that /api/create and `golem create`
// (models.Create on a parsed Modelfile) write the same manifest, layer for
// layer and config included, for the same model described both ways, and
// that /api/show reads it back as the command line's show does.
func TestCreateSameAsModelfile(t *testing.T) {
	e := newEnv(t, nil)
	const tmpl = "{{ if .System }}<<{{ .System }}>> {{ end }}{{ .Prompt }}"
	src := `FROM ` + e.path + `
TEMPLATE """` + tmpl + `"""
SYSTEM You tell short stories.
PARAMETER temperature 0.7
PARAMETER num_ctx 256
PARAMETER stop "<s>"
PARAMETER stop </s>
LICENSE MIT
LICENSE """second
license"""
MESSAGE user Tell me a story.
MESSAGE assistant Once upon a time...
`
	mf, err := modelfile.ParseString(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Create(e.store, "cli", mf, models.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := false
	req := map[string]any{
		"from":       e.path,
		"template":   tmpl,
		"system":     "You tell short stories.",
		"parameters": map[string]any{"temperature": 0.7, "num_ctx": 256, "stop": []string{"<s>", "</s>"}},
		"license":    []string{"MIT", "second\nlicense"},
		"messages":   []api.Message{{Role: "user", Content: "Tell me a story."}, {Role: "assistant", Content: "Once upon a time..."}},
		"stream":     &f,
	}
	for _, name := range []string{"api-from", "api-files"} {
		r := map[string]any{"model": name}
		for k, v := range req {
			r[k] = v
		}
		if name == "api-files" {
			man, _ := e.store.Manifest("cli")
			delete(r, "from")
			r["files"] = map[string]string{"stories.gguf": man.LayersOf("application/vnd.ollama.image.model")[0].Digest}
		}
		e.post("/api/create", r, 200, nil)
	}
	want, err := e.store.Manifest("cli")
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Layers) != 7 { // model, template, system, 2 licenses, params, messages
		t.Errorf("cli model has %d layers, want 7", len(want.Layers))
	}
	for _, name := range []string{"api-from", "api-files"} {
		got, err := e.store.Manifest(name)
		if err != nil {
			t.Fatal(err)
		}
		if got.Digest() != want.Digest() {
			t.Errorf("%s: manifest %s differs from the Modelfile's %s", name, got.Digest(), want.Digest())
		}
		if got.Config.Digest != want.Config.Digest {
			t.Errorf("%s: config %s, Modelfile's %s", name, got.Config.Digest, want.Config.Digest)
		}
		for i := range min(len(got.Layers), len(want.Layers)) {
			if g, w := got.Layers[i], want.Layers[i]; g.Digest != w.Digest || g.MediaType != w.MediaType {
				t.Errorf("%s: layer %d is %s %s, Modelfile's %s %s", name, i, g.MediaType, g.Digest, w.MediaType, w.Digest)
			}
		}
	}

	var show api.ShowResponse
	e.post("/api/show", api.ShowRequest{Model: "api-from"}, 200, &show)
	m, err := models.Resolve(e.store, "api-from")
	if err != nil {
		t.Fatal(err)
	}
	if show.Modelfile != m.Modelfile() || show.Template != tmpl || show.System != "You tell short stories." ||
		len(show.Messages) != 2 || show.License != "MIT\nsecond\nlicense" || !strings.Contains(show.Parameters, `"</s>"`) {
		t.Errorf("show: %+v", show)
	}
	// The Modelfile show prints creates the same model again.
	again, err := modelfile.ParseString(show.Modelfile)
	if err != nil {
		t.Fatal(err)
	}
	if err := models.Create(e.store, "again", again, models.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.store.Manifest("again"); got == nil || got.Digest() != want.Digest() {
		t.Errorf("recreating from show's Modelfile changed the manifest")
	}

	// Errors keep their status codes; a quantize request now works.
	e.post("/api/create", map[string]any{"model": "x", "from": "cli", "template": "{{ .Prompt", "stream": false}, 400, nil)
	e.post("/api/create", map[string]any{"model": "x", "from": "cli", "quantize": "nosuch", "stream": false}, 400, nil)
	e.post("/api/create", map[string]any{"model": "x", "from": e.path, "files": map[string]string{"a.gguf": "sha256:00"}, "stream": false}, 400, nil)
	e.post("/api/create", map[string]any{"model": "q8", "from": "cli", "quantize": "q8_0", "stream": false}, 200, nil)
	e.post("/api/show", api.ShowRequest{Model: "q8"}, 200, &show)
	if show.Details.QuantizationLevel != "Q8_0" || show.System != "You tell short stories." {
		t.Errorf("quantized create: %+v %q", show.Details, show.System)
	}
}
