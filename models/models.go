// Package models is the model of the store with its layers, shared by the
// command line (golem create/show/list/run) and the server (/api/create,
// /api/show and every request naming a model): Resolve reads a model's
// manifest and small layers (template, system, parameters, messages,
// license, adapters), Create builds a model from a Modelfile, and
// RenderTemplate renders an Ollama Go TEMPLATE. Keeping one implementation
// under both means a Modelfile gives the same layers, and a model the same
// defaults, whichever way it is used.
package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"text/template"
	"time"

	"golem/api"
	"golem/gguf"
	"golem/modelfile"
	"golem/store"
)

// ErrInvalid is wrapped by errors caused by the caller's input (a bad
// name, Modelfile, template or FROM), as opposed to the store failing; the
// server answers them with 400. A model that does not exist wraps
// store.ErrNotFound instead.
var ErrInvalid = errors.New("invalid input")

type invalidError struct{ err error }

func (e *invalidError) Error() string        { return e.err.Error() }
func (e *invalidError) Unwrap() error        { return e.err }
func (e *invalidError) Is(target error) bool { return target == ErrInvalid }

func invalidf(format string, args ...any) error {
	return &invalidError{fmt.Errorf(format, args...)}
}

func invalidErr(err error) error { return &invalidError{err} }

// Model is a model with its layers read: a model of the store or, as a
// Golem extra, a plain GGUF file (then only Name and Path are set).
type Model struct {
	Name     string          // as the caller spelled it
	Stored   store.Name      // the store's name; zero for a file
	Manifest *store.Manifest // nil for a file
	Config   *store.Config   // nil for a file
	Modified time.Time       // manifest (or file) modification time

	// Path is the GGUF weights; "" when the store holds the weights in
	// another format (see GGUF).
	Path     string
	pathErr  error
	Adapters []string // LoRA GGUF blob paths

	Template    string // TEMPLATE layer (an Ollama Go template)
	HasTemplate bool   // whether there is a template layer
	System      string
	Params      map[string]any // PARAMETER defaults, as the params layer holds them
	Messages    []api.Message  // MESSAGE history
	License     []string
}

// IsFile reports whether the model is a plain GGUF file, not a model of
// the store.
func (m *Model) IsFile() bool { return m.Manifest == nil }

// GGUF returns the path of the model's GGUF weights, or an error wrapping
// store.ErrNotGGUF when the store holds them in another format.
func (m *Model) GGUF() (string, error) {
	if m.Path == "" {
		if m.pathErr != nil {
			return "", m.pathErr
		}
		return "", fmt.Errorf("model %s: %w", m.Name, store.ErrNotGGUF)
	}
	return m.Path, nil
}

// Resolve finds a model by the path of a GGUF file or by store name and
// reads its layers. Unknown names wrap store.ErrNotFound; invalid names
// ErrInvalid.
func Resolve(s *store.Store, nameOrPath string) (*Model, error) {
	name := strings.TrimSpace(nameOrPath)
	if name == "" {
		return nil, invalidf("model is required")
	}
	if fi, err := os.Stat(name); err == nil && fi.Mode().IsRegular() {
		return &Model{Name: name, Path: name, Modified: fi.ModTime()}, nil
	}
	if s == nil {
		return nil, fmt.Errorf("%q is not a GGUF file and there is no model store: %w", name, store.ErrNotFound)
	}
	if _, err := store.ParseName(name); err != nil {
		return nil, invalidf("invalid model name %q: %v", name, err)
	}
	n, err := s.Resolve(name)
	if err != nil {
		return nil, err
	}
	man, err := s.Manifest(name)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Config(man)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", name, err)
	}
	m := &Model{Name: name, Stored: n, Manifest: man, Config: cfg}
	if models, err := s.List(); err == nil {
		for _, e := range models {
			if e.Name == n {
				m.Modified = e.Modified
			}
		}
	}
	m.Path, m.pathErr = s.ModelPath(name)
	for _, l := range man.Layers {
		switch l.MediaType {
		case store.MediaTypeAdapter:
			if p, err := s.BlobPath(l.Digest); err == nil {
				m.Adapters = append(m.Adapters, p)
			}
		case store.MediaTypeTemplate, store.MediaTypePrompt, store.MediaTypeSystem, store.MediaTypeLicense,
			store.MediaTypeParams, store.MediaTypeMessages:
			b, err := s.ReadBlob(l.Digest)
			if err != nil {
				return nil, fmt.Errorf("model %s: %s layer: %w", n.Display(), l.MediaType, err)
			}
			switch l.MediaType {
			case store.MediaTypeTemplate, store.MediaTypePrompt:
				m.Template, m.HasTemplate = string(b), true
			case store.MediaTypeSystem:
				m.System = string(b)
			case store.MediaTypeLicense:
				m.License = append(m.License, string(b))
			case store.MediaTypeParams:
				if err := json.Unmarshal(b, &m.Params); err != nil {
					return nil, fmt.Errorf("model %s: params layer %s: %w", n.Display(), l.Digest, err)
				}
			case store.MediaTypeMessages:
				if err := json.Unmarshal(b, &m.Messages); err != nil {
					return nil, fmt.Errorf("model %s: messages layer %s: %w", n.Display(), l.Digest, err)
				}
			}
		}
	}
	return m, nil
}

// DisplayName is the model's name as `golem list` shows it (the path for a
// file).
func (m *Model) DisplayName() string {
	if m.IsFile() {
		return m.Name
	}
	return m.Stored.Display()
}

// ParamValues lists the parameters as (name, value) pairs sorted by name,
// one pair per element of a list (stop).
func (m *Model) ParamValues() [][2]any {
	keys := make([]string, 0, len(m.Params))
	for k := range m.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out [][2]any
	for _, k := range keys {
		if l, ok := m.Params[k].([]any); ok {
			for _, v := range l {
				out = append(out, [2]any{k, v})
			}
			continue
		}
		out = append(out, [2]any{k, m.Params[k]})
	}
	return out
}

// Modelfile rebuilds the model's Modelfile as `ollama show --modelfile`
// prints it: FROM the weights blob, ADAPTER, TEMPLATE, SYSTEM, RENDERER,
// PARSER, PARAMETER, LICENSE, MESSAGE.
func (m *Model) Modelfile() string {
	var cmds []modelfile.Command
	add := func(ins, name, val string) {
		cmds = append(cmds, modelfile.Command{Instruction: ins, Name: name, Value: val})
	}
	add(modelfile.From, "", m.Path)
	for _, a := range m.Adapters {
		add(modelfile.Adapter, "", a)
	}
	if m.HasTemplate {
		add(modelfile.Template, "", m.Template)
	}
	if m.System != "" {
		add(modelfile.System, "", m.System)
	}
	if m.Config != nil && m.Config.Renderer != "" {
		add(modelfile.Renderer, "", m.Config.Renderer)
	}
	if m.Config != nil && m.Config.Parser != "" {
		add(modelfile.Parser, "", m.Config.Parser)
	}
	for _, p := range m.ParamValues() {
		add(modelfile.Parameter, p[0].(string), fmt.Sprint(p[1]))
	}
	for _, l := range m.License {
		add(modelfile.License, "", l)
	}
	for _, msg := range m.Messages {
		add(modelfile.Message, msg.Role, msg.Content)
	}
	mf := &modelfile.Modelfile{Commands: cmds}
	return mf.FormatShow(m.DisplayName())
}

// TemplateText returns the template layer or, for a model without one,
// the chat template of its GGUF (which is then used).
func (m *Model) TemplateText() (string, error) {
	if m.HasTemplate || m.Path == "" {
		return m.Template, nil
	}
	f, err := gguf.Open(m.Path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", m.DisplayName(), err)
	}
	defer f.Close()
	t, _ := f.String("tokenizer.chat_template")
	return t, nil
}

// TemplateData is what an Ollama-style Go template sees.
type TemplateData struct {
	System   string
	Prompt   string
	Response string
	Messages []api.Message
	Tools    []api.Tool
	// Think, ThinkLevel and IsThinkSet are the request's think field as
	// Ollama's templates see it: whether thinking is on, its level
	// ("low", "medium", "high"; "" for true/false), and whether the
	// request set it at all.
	Think      bool
	ThinkLevel string
	IsThinkSet bool
}

// WithThink sets the template's think fields from a request's think value.
func (d TemplateData) WithThink(t *api.ThinkValue) TemplateData {
	d.Think, d.ThinkLevel, d.IsThinkSet = t.Enabled(), t.Level(), t != nil
	return d
}

// RenderTemplate renders an Ollama Go text/template (a model's TEMPLATE
// layer, or a request's template field). Parse and execution errors wrap
// ErrInvalid.
func RenderTemplate(src string, data TemplateData) (string, error) {
	t, err := parseTemplate(src)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", invalidf("template: %v", err)
	}
	return b.String(), nil
}

// ParseTemplate checks that src is a Go template RenderTemplate can
// render, as Ollama's create checks a TEMPLATE; the error wraps ErrInvalid.
func ParseTemplate(src string) error {
	_, err := parseTemplate(src)
	return err
}

func parseTemplate(src string) (*template.Template, error) {
	t, err := template.New("prompt").Option("missingkey=zero").Funcs(template.FuncMap{
		"json": func(v any) string { b, _ := json.Marshal(v); return string(b) },
	}).Parse(src)
	if err != nil {
		return nil, invalidf("template: %v", err)
	}
	return t, nil
}

// PromptData is the template data of a one-shot prompt: the fields
// System and Prompt, and Messages holding the system message, the
// model's MESSAGE history and the prompt as the last user message.
func PromptData(system, prompt string, history []api.Message) TemplateData {
	var msgs []api.Message
	if system != "" {
		msgs = append(msgs, api.Message{Role: "system", Content: system})
	}
	msgs = append(msgs, history...)
	msgs = append(msgs, api.Message{Role: "user", Content: prompt})
	return TemplateData{System: system, Prompt: prompt, Messages: msgs}
}

// HumanBytes formats a size as Ollama's format.HumanBytes: decimal units,
// no decimals from 10 up, one below ("1.3 GB", "25 MB", "512 B").
func HumanBytes(b int64) string {
	var v float64
	var unit string
	switch {
	case b >= 1e12:
		v, unit = float64(b)/1e12, "TB"
	case b >= 1e9:
		v, unit = float64(b)/1e9, "GB"
	case b >= 1e6:
		v, unit = float64(b)/1e6, "MB"
	case b >= 1e3:
		v, unit = float64(b)/1e3, "KB"
	default:
		return fmt.Sprintf("%d B", b)
	}
	if v < 10 && v != math.Trunc(v) {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%d %s", int(v), unit)
}

// HumanNumber formats a parameter count as Ollama's format.HumanNumber
// (the model_type of a config blob): "260K", "1.5B", "494.03M", "8B".
func HumanNumber(n uint64) string {
	switch {
	case n >= 1e9:
		v := float64(n) / 1e9
		if v == math.Floor(v) {
			return fmt.Sprintf("%.0fB", v)
		}
		return fmt.Sprintf("%.1fB", v)
	case n >= 1e6:
		v := float64(n) / 1e6
		if v == math.Floor(v) {
			return fmt.Sprintf("%.0fM", v)
		}
		return fmt.Sprintf("%.2fM", v)
	case n >= 1e3:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// QuantizationName names the file's type as llama.cpp's general.file_type
// does, or, without that key, the most common type among 2-D weights.
func QuantizationName(f *gguf.File) string {
	if ft, ok := f.Uint("general.file_type"); ok {
		return gguf.FileTypeName(uint32(ft))
	}
	count := map[string]int64{}
	best, bestN := "unknown", int64(0)
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if len(t.Shape) < 2 {
			continue
		}
		name := t.Type.String()
		count[name] += t.Elements()
		if count[name] > bestN {
			best, bestN = name, count[name]
		}
	}
	return best
}
