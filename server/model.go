package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"sort"
	"strings"
	"time"

	"golem/api"
	"golem/engine"
	"golem/gguf"
	"golem/models"
	"golem/sample"
	"golem/store"
)

// modelInfo is what a request needs to know about a model before loading
// it: where its GGUF is and the defaults its manifest layers carry.
type modelInfo struct {
	name     string // as the request spelled it
	path     string // GGUF file
	digest   string // manifest digest, "" for a file path
	modified time.Time
	arch     string
	trainCtx int // <arch>.context_length
	details  api.ModelDetails

	params   map[string]any // PARAMETER defaults (params layer)
	system   string         // SYSTEM (system layer)
	template string         // TEMPLATE (Go template layer)
	// chatTemplate is the GGUF's Jinja tokenizer.chat_template ("" when
	// none): the tool-call and reasoning syntax are detected from it
	// before the model is loaded.
	chatTemplate string
	license      []string
	messages     []api.Message // MESSAGE layer
	manifest     *store.Manifest
	model        *models.Model // the layers as models.Resolve read them
}

// embed reports whether the model is an embedding model.
func (m *modelInfo) embed() bool { return m.arch == "bert" }

// spec describes the runner a request needs. numCtx 0 means the model's
// default (its training context capped at engine.DefaultMaxContext), made
// explicit here so that asking for the default by number shares the
// runner.
func (m *modelInfo) spec(numCtx int) loadSpec {
	if numCtx <= 0 && !m.embed() {
		numCtx = m.trainCtx
		if numCtx <= 0 || numCtx > engine.DefaultMaxContext {
			numCtx = engine.DefaultMaxContext
		}
	}
	name := m.name
	if m.model != nil {
		name = m.model.DisplayName() // "llama3.2:latest", as /api/tags and Ollama's ps name it
	}
	return loadSpec{name: name, path: m.path, digest: m.digest, numCtx: numCtx, embed: m.embed(), details: m.details}
}

// resolveModel finds a model by store name or, as a Golem extra, by the
// path of a GGUF file, reading its layers with models.Resolve (shared with
// the command line). Errors carry Ollama's status codes.
func (s *Server) resolveModel(name string) (*modelInfo, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return nil, errf(http.StatusBadRequest, "model is required")
	}
	m, err := models.Resolve(s.store, name)
	if err != nil {
		return nil, modelsError(name, err)
	}
	path, err := m.GGUF()
	if err != nil {
		if errors.Is(err, store.ErrNotGGUF) {
			return nil, errf(http.StatusBadRequest, "%v", err)
		}
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	mi := &modelInfo{
		name: name, path: path, modified: m.Modified, model: m,
		params: m.Params, system: m.System, template: m.Template,
		license: m.License, messages: m.Messages, manifest: m.Manifest,
	}
	var weights int64
	if m.IsFile() {
		if fi, err := os.Stat(path); err == nil {
			weights = fi.Size()
		}
	} else {
		mi.digest = m.Manifest.Digest()
		for _, l := range m.Manifest.LayersOf(store.MediaTypeModel) {
			weights += l.Size
		}
	}
	if err := mi.readGGUF(weights); err != nil {
		if m.IsFile() {
			return nil, errf(http.StatusBadRequest, "model %q: %v", name, err)
		}
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	if cfg := m.Config; cfg != nil {
		if cfg.ModelFamily != "" {
			mi.details.Family = cfg.ModelFamily
		}
		if len(cfg.ModelFamilies) > 0 {
			mi.details.Families = cfg.ModelFamilies
		}
		if cfg.ModelType != "" {
			mi.details.ParameterSize = cfg.ModelType
		}
		if cfg.FileType != "" {
			mi.details.QuantizationLevel = cfg.FileType
		}
	}
	return mi, nil
}

// modelsError gives an error of the models package its status code: 404
// for an unknown model, 400 for bad input, else as is (500).
func modelsError(name string, err error) error {
	var he *httpError
	switch {
	case errors.As(err, &he):
		return err
	case errors.Is(err, store.ErrNotFound):
		return errf(http.StatusNotFound, "%s", api.ModelNotFoundMessage(name))
	case errors.Is(err, models.ErrInvalid), errors.Is(err, store.ErrInvalidName):
		return errf(http.StatusBadRequest, "%v", err)
	}
	return err
}

// readGGUF fills arch and details from the GGUF header.
func (m *modelInfo) readGGUF(size int64) error {
	f, err := gguf.Open(m.path)
	if err != nil {
		return err
	}
	defer f.Close()
	m.arch = f.Architecture()
	if v, ok := f.Uint(m.arch + ".context_length"); ok {
		m.trainCtx = int(v)
	}
	m.details = ggufDetails(f)
	m.chatTemplate, _ = f.String("tokenizer.chat_template")
	return nil
}

func ggufDetails(f *gguf.File) api.ModelDetails {
	d := api.ModelDetails{Format: "gguf", Family: f.Architecture(), ParameterSize: gguf.FormatParamCount(f.ParameterCount())}
	if d.Family != "" {
		d.Families = []string{d.Family}
	}
	d.QuantizationLevel = f.FileType()
	return d
}

// options builds the sampling options of a request: Ollama's defaults,
// then the model's PARAMETERs, then the request's options. numCtx is the
// context asked for explicitly (0: the model's default). Wrong types and
// invalid values are 400 errors.
func options(mi *modelInfo, req map[string]any) (opts sample.Options, numCtx int, err error) {
	opts = sample.DefaultOptions()
	for _, src := range []struct {
		what string
		m    map[string]any
	}{{"model parameters", mi.params}, {"options", req}} {
		if len(src.m) == 0 {
			continue
		}
		set, err := models.ApplyParams(&opts, src.m)
		if err != nil {
			var ute *json.UnmarshalTypeError
			if errors.As(err, &ute) {
				return opts, 0, errf(http.StatusBadRequest, "invalid %s: %q must be %s, not %s", src.what, ute.Field, ute.Type, ute.Value)
			}
			return opts, 0, errf(http.StatusBadRequest, "invalid %s: %v", src.what, err)
		}
		if set {
			numCtx = opts.NumCtx
		}
	}
	if numCtx < 0 {
		return opts, 0, errf(http.StatusBadRequest, "invalid options: num_ctx must not be negative")
	}
	if err := opts.Validate(); err != nil {
		return opts, 0, errf(http.StatusBadRequest, "invalid options: %v", strings.TrimPrefix(err.Error(), "sample: "))
	}
	return opts, numCtx, nil
}

// goTemplateData is what an Ollama-style Go template sees.
type goTemplateData = models.TemplateData

// renderGoTemplate renders an Ollama Go text/template (the request's
// template field, or a model's TEMPLATE when its GGUF has no chat
// template) with models.RenderTemplate, the command line's renderer too;
// template errors are 400s.
func renderGoTemplate(src string, data goTemplateData) (string, error) {
	out, err := models.RenderTemplate(src, data)
	if err != nil {
		return "", errf(http.StatusBadRequest, "%v", err)
	}
	return out, nil
}

// formatParams writes PARAMETER values as Ollama's show does: "name value"
// lines, sorted, lists one line per value.
func formatParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		switch v := p[k].(type) {
		case []any:
			for _, e := range v {
				fmt.Fprintf(&b, "%-30s %s\n", k, paramString(e))
			}
		default:
			fmt.Fprintf(&b, "%-30s %s\n", k, paramString(v))
		}
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func paramString(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprint(v)
}
