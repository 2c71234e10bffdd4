package models

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golem/gguf"
	"golem/modelfile"
	"golem/presets"
	"golem/quantize"
	"golem/store"
)

// Reporter receives the progress of a Create. Either func may be nil.
// Status is called for each step ("gathering model components", "using
// layer sha256:...", "writing manifest", "success"); Progress for the
// bytes of a long step (copying a file, quantizing), done growing to
// total.
type Reporter struct {
	Status   func(status string)
	Progress func(status string, done, total int64)
}

func (r *Reporter) status(format string, args ...any) {
	if r != nil && r.Status != nil {
		r.Status(fmt.Sprintf(format, args...))
	}
}

func (r *Reporter) progress(status string, done, total int64) {
	if r != nil && r.Progress != nil {
		r.Progress(status, done, total)
	}
}

// TextReporter prints progress to w as `golem create` does: one line per
// step, and "status  12 MB/45 MB  27%" lines rewritten in place with \r at
// most five times a second (always at 100%).
func TextReporter(w io.Writer) *Reporter {
	var (
		last  time.Time
		shown bool
	)
	return &Reporter{
		Status: func(s string) {
			if shown {
				fmt.Fprintln(w)
				shown = false
			}
			fmt.Fprintln(w, s)
		},
		Progress: func(status string, done, total int64) {
			if time.Since(last) < 200*time.Millisecond && done < total {
				return
			}
			last = time.Now()
			pct := int64(100)
			if total > 0 {
				pct = done * 100 / total
			}
			fmt.Fprintf(w, "\r%s %s/%s %3d%%", status, HumanBytes(done), HumanBytes(total), pct)
			shown = true
		},
	}
}

// CreateOptions are the settings of a Create beyond the Modelfile.
type CreateOptions struct {
	// Dir is the directory relative FROM and ADAPTER paths are relative
	// to (the Modelfile's); "" means the working directory.
	Dir string
	// Quantize, when set, re-quantizes the weights to this file type
	// (e.g. "q4_K_M"), as llama-quantize does.
	Quantize string
	// Report receives progress; nil discards it.
	Report *Reporter
	// Presets is where a PRESET line's preset is looked up; nil means
	// the built-ins and the user's ($GOLEM_HOME/presets).
	Presets *presets.Set
}

// Create creates model name in s from a parsed Modelfile, writing the
// layers Ollama writes (model, adapter, template, system, license, params,
// messages, config). It is the one implementation of create behind `golem
// create` and the server's /api/create. Every blob is written before the
// manifest, each atomically, so a create killed at any point leaves the
// store as it was apart from unreferenced blobs (or temporary files) that
// store.Prune removes. Errors caused by the input wrap ErrInvalid, or
// store.ErrNotFound for a FROM model that does not exist. A PRESET line is
// expanded first (see ExpandPreset), so the model never records it.
func Create(s *store.Store, name string, mf *modelfile.Modelfile, o CreateOptions) error {
	rep := o.Report
	if _, err := store.ParseName(name); err != nil {
		return invalidf("invalid model name %q: %v", name, err)
	}
	if o.Quantize != "" {
		if _, err := quantize.ParseFileType(o.Quantize); err != nil {
			return invalidf("%v", err)
		}
	}
	from := mf.From()
	if from == "" {
		return invalidErr(modelfile.ErrNoFrom)
	}
	mf, err := ExpandPreset(mf, o.Presets, o.Dir)
	if err != nil {
		return err
	}
	if _, ok := mf.Last(modelfile.Draft); ok {
		return invalidf("DRAFT (a draft model for speculative decoding) is not supported by golem create yet; remove that line")
	}
	rep.status("gathering model components")
	layers, err := baseLayers(s, from, o.Dir, o.Quantize, rep)
	if err != nil {
		return err
	}

	// Adapters (LoRA GGUF files) follow the base layers.
	for _, a := range mf.Values(modelfile.Adapter) {
		p := expandPath(a, o.Dir)
		if strings.HasPrefix(a, "sha256:") {
			bp, err := s.BlobPath(a)
			if err != nil {
				return invalidf("ADAPTER %s: %v", a, err)
			}
			p = bp
		}
		p, err := localGGUF(p)
		if err != nil {
			return invalidf("ADAPTER %s: %v", a, err)
		}
		l, err := copyBlob(s, p, store.MediaTypeAdapter, rep)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}

	if t, ok := mf.Last(modelfile.Template); ok && t != "" {
		if err := ParseTemplate(t); err != nil {
			return err
		}
		if layers, err = setTextLayer(s, layers, store.MediaTypeTemplate, t, rep); err != nil {
			return err
		}
	}
	if sys, ok := mf.Last(modelfile.System); ok && sys != "" {
		if layers, err = setTextLayer(s, layers, store.MediaTypeSystem, sys, rep); err != nil {
			return err
		}
	}
	for _, lic := range mf.Values(modelfile.License) {
		if lic == "" {
			continue
		}
		l, err := writeLayer(s, store.MediaTypeLicense, []byte(lic), rep)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	opts, err := mf.Options()
	if err != nil {
		return invalidErr(err)
	}
	if layers, err = setParams(s, layers, opts, rep); err != nil {
		return err
	}
	if msgs := mf.Messages(); len(msgs) > 0 {
		b, err := jsonLine(msgs)
		if err != nil {
			return err
		}
		layers = removeLayers(layers, store.MediaTypeMessages)
		l, err := writeLayer(s, store.MediaTypeMessages, b, rep)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}

	cfg, err := ConfigFor(s, layers)
	if err != nil {
		return err
	}
	cfg.Renderer, _ = mf.Last(modelfile.Renderer)
	cfg.Parser, _ = mf.Last(modelfile.Parser)
	cfg.Requires, _ = mf.Last(modelfile.Requires)
	cb, err := jsonLine(cfg)
	if err != nil {
		return err
	}
	digest, size, err := s.WriteBlob(bytes.NewReader(cb))
	if err != nil {
		return err
	}
	config := store.Layer{MediaType: store.MediaTypeConfig, Digest: digest, Size: size}
	rep.status("writing manifest")
	if err := s.WriteManifest(name, store.NewManifest(config, layers...)); err != nil {
		return err
	}
	rep.status("success")
	return nil
}

// baseLayers returns the layers FROM provides: the weights of a GGUF file,
// directory or blob (re-quantized if asked), or all layers of a model in
// the store (marked as inherited from it).
func baseLayers(s *store.Store, from, dir, quant string, rep *Reporter) ([]store.Layer, error) {
	if strings.HasPrefix(from, "sha256:") || strings.HasPrefix(from, "sha256-") {
		p, err := s.BlobPath("sha256:" + from[7:])
		if err != nil {
			return nil, invalidf("FROM %s: %v", from, err)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, invalidf("FROM %s: no such blob in the store %s (upload it with POST /api/blobs/%s first)", from, s.Dir(), from)
		}
		if _, err := localGGUF(p); err != nil {
			return nil, invalidf("FROM %s: the blob is not a valid GGUF file: %v", from, err)
		}
		l, err := modelLayer(s, p, quant, rep)
		if err != nil {
			return nil, err
		}
		return []store.Layer{l}, nil
	}
	p := expandPath(from, dir)
	if _, err := os.Stat(p); err == nil {
		g, err := localGGUF(p)
		if err != nil {
			return nil, invalidf("FROM %s: %v", from, err)
		}
		l, err := modelLayer(s, g, quant, rep)
		if err != nil {
			return nil, err
		}
		return []store.Layer{l}, nil
	}
	asName, err := store.ParseName(from)
	if err != nil {
		return nil, invalidf("FROM %s: no such file %s (and it is not a model name: %v)", from, p, err)
	}
	if _, err := s.Resolve(from); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("FROM %s: no such file %s and no model %q in the store (give a path to a GGUF file or directory, or a model from `golem list`): %w", from, p, from, store.ErrNotFound)
		}
		return nil, fmt.Errorf("FROM %s: %w", from, err)
	}
	m, err := s.Manifest(from)
	if err != nil {
		return nil, err
	}
	var out []store.Layer
	for _, l := range m.Layers {
		l.From = asName.Display() // as the Modelfile spells it, like Ollama
		if l.MediaType == store.MediaTypeModel && quant != "" {
			bp, err := s.BlobPath(l.Digest)
			if err != nil {
				return nil, err
			}
			if l, err = modelLayer(s, bp, quant, rep); err != nil {
				return nil, err
			}
		} else {
			rep.status("using existing layer %s", l.Digest)
		}
		out = append(out, l)
	}
	return out, nil
}

// expandPath resolves a Modelfile path: ~ is the home directory, relative
// paths are relative to the Modelfile's directory.
func expandPath(p, dir string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	return p
}

// localGGUF returns p if it is a GGUF file, or the one GGUF file in
// directory p.
func localGGUF(p string) (string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", err
	}
	if fi.IsDir() {
		matches, err := filepath.Glob(filepath.Join(p, "*.gguf"))
		if err != nil {
			return "", err
		}
		switch len(matches) {
		case 0:
			return "", fmt.Errorf("directory %s holds no .gguf file (Golem cannot convert safetensors; convert with llama.cpp's convert_hf_to_gguf.py first)", p)
		case 1:
			p = matches[0]
		default:
			return "", fmt.Errorf("directory %s holds %d .gguf files; name the one to use in FROM", p, len(matches))
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != "GGUF" {
		return "", fmt.Errorf("%s is not a GGUF file", p)
	}
	return p, nil
}

// modelLayer stores the GGUF at path as the model layer, copied as is or,
// with quant set and a different file type, re-quantized on the fly (the
// quantizer's output is hashed as it is written to the blob store; no
// temporary copy).
func modelLayer(s *store.Store, path, quant string, rep *Reporter) (store.Layer, error) {
	if quant == "" {
		return copyBlob(s, path, store.MediaTypeModel, rep)
	}
	src, err := gguf.Open(path)
	if err != nil {
		return store.Layer{}, invalidf("%s: %v", path, err)
	}
	defer src.Close()
	ft, err := quantize.ParseFileType(quant)
	if err != nil {
		return store.Layer{}, invalidErr(err)
	}
	if cur, ok := src.Uint("general.file_type"); ok && uint32(cur) == ft.ID {
		rep.status("model is already %s; not re-quantizing", ft.Name)
		return copyBlob(s, path, store.MediaTypeModel, rep)
	}
	from := QuantizationName(src)
	switch from {
	case "F32", "F16", "BF16":
	default:
		rep.status("warning: the model is already %s; re-quantizing it loses more precision than quantizing its F16/F32 original", from)
	}
	rep.status("quantizing %s model to %s", from, ft.Name)
	w, _, err := quantize.NewWriter(src, ft.Name, quantize.Options{Progress: func(done, total int64) {
		rep.progress("quantizing", done, total)
	}})
	if err != nil {
		return store.Layer{}, invalidErr(err)
	}
	pr, pw := io.Pipe()
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		_, err := w.WriteTo(pw)
		pw.CloseWithError(err)
	}()
	digest, size, err := s.WriteBlob(pr)
	pr.CloseWithError(errors.New("blob writer stopped")) // unblocks the writer on error
	<-finished                                           // src must stay mapped until then
	if err != nil {
		return store.Layer{}, fmt.Errorf("quantize %s: %w", path, err)
	}
	rep.status("creating new layer %s", digest)
	return store.Layer{MediaType: store.MediaTypeModel, Digest: digest, Size: size}, nil
}

// copyBlob copies a file into the store with progress.
func copyBlob(s *store.Store, path, mediaType string, rep *Reporter) (store.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.Layer{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return store.Layer{}, err
	}
	r := &progressReader{r: f, total: fi.Size(), rep: rep}
	digest, size, err := s.WriteBlob(r)
	if err != nil {
		return store.Layer{}, fmt.Errorf("copy %s into the store: %w", path, err)
	}
	rep.status("using layer %s", digest)
	return store.Layer{MediaType: mediaType, Digest: digest, Size: size}, nil
}

// progressReader reports the bytes read through it.
type progressReader struct {
	r     io.Reader
	n     int64
	total int64
	rep   *Reporter
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += int64(n)
	r.rep.progress("copying file", r.n, r.total)
	return n, err
}

// writeLayer stores a small layer.
func writeLayer(s *store.Store, mediaType string, data []byte, rep *Reporter) (store.Layer, error) {
	digest, size, err := s.WriteBlob(bytes.NewReader(data))
	if err != nil {
		return store.Layer{}, err
	}
	rep.status("creating new layer %s", digest)
	return store.Layer{MediaType: mediaType, Digest: digest, Size: size}, nil
}

// setTextLayer replaces any layer of mediaType with one holding text.
func setTextLayer(s *store.Store, layers []store.Layer, mediaType, text string, rep *Reporter) ([]store.Layer, error) {
	if mediaType == store.MediaTypeTemplate {
		layers = removeLayers(layers, store.MediaTypePrompt)
	}
	layers = removeLayers(layers, mediaType)
	l, err := writeLayer(s, mediaType, []byte(text), rep)
	if err != nil {
		return nil, err
	}
	return append(layers, l), nil
}

// setParams merges the Modelfile's parameters over those of the base
// model's params layer (the new value wins) and writes the result, as
// Ollama's setParameters does; nothing is written when both are empty.
func setParams(s *store.Store, layers []store.Layer, opts map[string]any, rep *Reporter) ([]store.Layer, error) {
	p := map[string]any{}
	for k, v := range opts {
		p[k] = v
	}
	for _, l := range layers {
		if l.MediaType != store.MediaTypeParams {
			continue
		}
		b, err := s.ReadBlob(l.Digest)
		if err != nil {
			return nil, err
		}
		var existing map[string]any
		if err := json.Unmarshal(b, &existing); err != nil {
			return nil, fmt.Errorf("base model's params layer %s: %w", l.Digest, err)
		}
		for k, v := range existing {
			if _, ok := p[k]; !ok {
				p[k] = v
			}
		}
	}
	if len(p) == 0 {
		return layers, nil
	}
	b, err := jsonLine(p)
	if err != nil {
		return nil, err
	}
	layers = removeLayers(layers, store.MediaTypeParams)
	l, err := writeLayer(s, store.MediaTypeParams, b, rep)
	if err != nil {
		return nil, err
	}
	return append(layers, l), nil
}

func removeLayers(layers []store.Layer, mediaType string) []store.Layer {
	out := layers[:0:0]
	for _, l := range layers {
		if l.MediaType != mediaType {
			out = append(out, l)
		}
	}
	return out
}

// jsonLine encodes v with json.Encoder's defaults, as Ollama writes its
// params, messages and config blobs: sorted map keys, HTML characters
// escaped ("<" as \u003c), and a trailing newline.
func jsonLine(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ConfigFor builds the config blob of a model with these layers from its
// model layers' GGUF headers: format, family, parameter size and file
// type, as Ollama records them.
func ConfigFor(s *store.Store, layers []store.Layer) (*store.Config, error) {
	cfg := &store.Config{OS: "linux", Architecture: "amd64"}
	for _, l := range layers {
		if l.MediaType != store.MediaTypeModel {
			continue
		}
		p, err := s.BlobPath(l.Digest)
		if err != nil {
			return nil, err
		}
		f, err := gguf.Open(p)
		if err != nil {
			return nil, fmt.Errorf("model layer %s: %w", l.Digest, err)
		}
		arch := f.Architecture()
		if cfg.ModelFormat == "" {
			cfg.ModelFormat = "gguf"
			cfg.ModelFamily = arch
			cfg.ModelType = HumanNumber(uint64(f.ParameterCount()))
			cfg.FileType = QuantizationName(f)
		}
		cfg.ModelFamilies = append(cfg.ModelFamilies, arch)
		f.Close()
	}
	return cfg, nil
}
