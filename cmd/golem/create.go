package main

// `golem create NAME -f Modelfile [--quantize TYPE]`: build a model in the
// store from a Modelfile, writing the layers Ollama writes.

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

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/modelfile"
	"golem/quantize"
	"golem/store"
)

func newCreateCmd() *cobra.Command {
	var (
		file  string
		quant string
	)
	cmd := &cobra.Command{
		Use:   "create NAME [-f Modelfile] [--quantize TYPE]",
		Short: "Create a model in the store from a Modelfile",
		Long: "Create a model from a Modelfile (default ./Modelfile). FROM may name a\n" +
			"GGUF file or a directory holding one (relative to the Modelfile), a\n" +
			"model already in the store, or a blob digest (sha256:...).\n" +
			"--quantize re-quantizes the weights as llama-quantize does; types: " +
			strings.Join(quantize.FileTypes(), ", ") + ".",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			return createModel(s, args[0], file, quant, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "Modelfile", "the Modelfile to build from")
	cmd.Flags().StringVarP(&quant, "quantize", "q", "", "re-quantize the weights to this type (e.g. q4_K_M, q8_0)")
	return cmd
}

// createModel parses the Modelfile at path and creates the model name in
// s, printing progress to log.
func createModel(s *store.Store, name, path, quant string, log io.Writer) error {
	if _, err := store.ParseName(name); err != nil {
		return fmt.Errorf("invalid model name %q: %w", name, err)
	}
	if quant != "" {
		if _, err := quantize.ParseFileType(quant); err != nil {
			return err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Modelfile at %s (pass one with -f FILE)", path)
		}
		return err
	}
	mf, err := modelfile.Parse(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return createFromModelfile(s, name, mf, filepath.Dir(path), quant, log)
}

// createFromModelfile creates model name from a parsed Modelfile whose
// relative paths are relative to dir. It is the one implementation of
// create (the server's /api/create can call it too). Every blob is written
// before the manifest, each atomically, so a create killed at any point
// leaves the store as it was, apart from unreferenced blobs that Prune
// removes.
func createFromModelfile(s *store.Store, name string, mf *modelfile.Modelfile, dir, quant string, log io.Writer) error {
	from := mf.From()
	if from == "" {
		return modelfile.ErrNoFrom
	}
	if _, ok := mf.Last(modelfile.Draft); ok {
		return errors.New("DRAFT (a draft model for speculative decoding) is not supported by golem create yet; remove that line")
	}
	fmt.Fprintln(log, "gathering model components")
	layers, err := baseLayers(s, from, dir, quant, log)
	if err != nil {
		return err
	}

	// Adapters (LoRA GGUF files) follow the base layers.
	for _, a := range mf.Values(modelfile.Adapter) {
		p, err := localGGUF(expandPath(a, dir))
		if err != nil {
			return fmt.Errorf("ADAPTER %s: %w", a, err)
		}
		l, err := copyBlob(s, p, store.MediaTypeAdapter, log)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}

	if t, ok := mf.Last(modelfile.Template); ok && t != "" {
		if layers, err = setTextLayer(s, layers, store.MediaTypeTemplate, t, log); err != nil {
			return err
		}
	}
	if sys, ok := mf.Last(modelfile.System); ok && sys != "" {
		if layers, err = setTextLayer(s, layers, store.MediaTypeSystem, sys, log); err != nil {
			return err
		}
	}
	for _, lic := range mf.Values(modelfile.License) {
		if lic == "" {
			continue
		}
		l, err := writeLayer(s, store.MediaTypeLicense, []byte(lic), log)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}
	opts, err := mf.Options()
	if err != nil {
		return err
	}
	if layers, err = setParams(s, layers, opts, log); err != nil {
		return err
	}
	if msgs := mf.Messages(); len(msgs) > 0 {
		b, err := jsonLine(msgs)
		if err != nil {
			return err
		}
		layers = removeLayers(layers, store.MediaTypeMessages)
		l, err := writeLayer(s, store.MediaTypeMessages, b, log)
		if err != nil {
			return err
		}
		layers = append(layers, l)
	}

	cfg, err := configFor(s, layers)
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
	fmt.Fprintln(log, "writing manifest")
	if err := s.WriteManifest(name, store.NewManifest(config, layers...)); err != nil {
		return err
	}
	fmt.Fprintln(log, "success")
	return nil
}

// baseLayers returns the layers FROM provides: the weights of a GGUF file,
// directory or blob (re-quantized if asked), or all layers of a model in
// the store (marked as inherited from it).
func baseLayers(s *store.Store, from, dir, quant string, log io.Writer) ([]store.Layer, error) {
	if strings.HasPrefix(from, "sha256:") || strings.HasPrefix(from, "sha256-") {
		p, err := s.BlobPath("sha256:" + from[7:])
		if err != nil {
			return nil, fmt.Errorf("FROM %s: %w", from, err)
		}
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("FROM %s: no such blob in the store %s", from, s.Dir())
		}
		l, err := modelLayer(s, p, quant, log)
		if err != nil {
			return nil, err
		}
		return []store.Layer{l}, nil
	}
	p := expandPath(from, dir)
	if _, err := os.Stat(p); err == nil {
		g, err := localGGUF(p)
		if err != nil {
			return nil, fmt.Errorf("FROM %s: %w", from, err)
		}
		l, err := modelLayer(s, g, quant, log)
		if err != nil {
			return nil, err
		}
		return []store.Layer{l}, nil
	}
	asName, err := store.ParseName(from)
	if err != nil {
		return nil, fmt.Errorf("FROM %s: no such file %s (and it is not a model name: %v)", from, p, err)
	}
	if _, err := s.Resolve(from); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("FROM %s: no such file %s and no model %q in the store (give a path to a GGUF file or directory, or a model from `golem list`)", from, p, from)
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
			if l, err = modelLayer(s, bp, quant, log); err != nil {
				return nil, err
			}
		} else {
			fmt.Fprintf(log, "using existing layer %s\n", l.Digest)
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
	if !filepath.IsAbs(p) {
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
func modelLayer(s *store.Store, path, quant string, log io.Writer) (store.Layer, error) {
	if quant == "" {
		return copyBlob(s, path, store.MediaTypeModel, log)
	}
	src, err := gguf.Open(path)
	if err != nil {
		return store.Layer{}, err
	}
	defer src.Close()
	ft, err := quantize.ParseFileType(quant)
	if err != nil {
		return store.Layer{}, err
	}
	if cur, ok := src.Uint("general.file_type"); ok && uint32(cur) == ft.ID {
		fmt.Fprintf(log, "model is already %s; not re-quantizing\n", ft.Name)
		return copyBlob(s, path, store.MediaTypeModel, log)
	}
	from := quantizationName(src)
	switch from {
	case "F32", "F16", "BF16":
	default:
		fmt.Fprintf(log, "warning: the model is already %s; re-quantizing it loses more precision than quantizing its F16/F32 original\n", from)
	}
	fmt.Fprintf(log, "quantizing %s model to %s\n", from, ft.Name)
	p := newProgress(log, "quantizing")
	w, _, err := quantize.NewWriter(src, ft.Name, quantize.Options{Progress: p.update})
	if err != nil {
		return store.Layer{}, err
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
	p.done()
	if err != nil {
		return store.Layer{}, fmt.Errorf("quantize %s: %w", path, err)
	}
	fmt.Fprintf(log, "creating new layer %s\n", digest)
	return store.Layer{MediaType: store.MediaTypeModel, Digest: digest, Size: size}, nil
}

// copyBlob copies a file into the store with progress.
func copyBlob(s *store.Store, path, mediaType string, log io.Writer) (store.Layer, error) {
	f, err := os.Open(path)
	if err != nil {
		return store.Layer{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return store.Layer{}, err
	}
	p := newProgress(log, "copying file")
	r := &progressReader{r: f, total: fi.Size(), p: p}
	digest, size, err := s.WriteBlob(r)
	p.done()
	if err != nil {
		return store.Layer{}, fmt.Errorf("copy %s into the store: %w", path, err)
	}
	fmt.Fprintf(log, "using layer %s\n", digest)
	return store.Layer{MediaType: mediaType, Digest: digest, Size: size}, nil
}

// writeLayer stores a small layer.
func writeLayer(s *store.Store, mediaType string, data []byte, log io.Writer) (store.Layer, error) {
	digest, size, err := s.WriteBlob(bytes.NewReader(data))
	if err != nil {
		return store.Layer{}, err
	}
	fmt.Fprintf(log, "creating new layer %s\n", digest)
	return store.Layer{MediaType: mediaType, Digest: digest, Size: size}, nil
}

// setTextLayer replaces any layer of mediaType with one holding text.
func setTextLayer(s *store.Store, layers []store.Layer, mediaType, text string, log io.Writer) ([]store.Layer, error) {
	if mediaType == store.MediaTypeTemplate {
		layers = removeLayers(layers, store.MediaTypePrompt)
	}
	layers = removeLayers(layers, mediaType)
	l, err := writeLayer(s, mediaType, []byte(text), log)
	if err != nil {
		return nil, err
	}
	return append(layers, l), nil
}

// setParams merges the Modelfile's parameters over those of the base
// model's params layer (the new value wins) and writes the result, as
// Ollama's setParameters does; nothing is written when both are empty.
func setParams(s *store.Store, layers []store.Layer, opts map[string]any, log io.Writer) ([]store.Layer, error) {
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
	l, err := writeLayer(s, store.MediaTypeParams, b, log)
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

// configFor builds the config blob from the model layer's GGUF header:
// format, family, parameter size and file type, as Ollama records them.
func configFor(s *store.Store, layers []store.Layer) (*store.Config, error) {
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
			cfg.ModelType = humanNumber(uint64(f.ParameterCount()))
			cfg.FileType = quantizationName(f)
		}
		cfg.ModelFamilies = append(cfg.ModelFamilies, arch)
		f.Close()
	}
	return cfg, nil
}

// progress prints "status  12.3 MB/45.6 MB  27%" lines on a terminal-like
// writer, at most a few times a second, and a final line when done.
type progress struct {
	w      io.Writer
	status string
	last   time.Time
	cur    int64
	total  int64
	shown  bool
}

func newProgress(w io.Writer, status string) *progress { return &progress{w: w, status: status} }

func (p *progress) update(done, total int64) {
	p.cur, p.total = done, total
	if time.Since(p.last) < 200*time.Millisecond && done < total {
		return
	}
	p.last = time.Now()
	p.print("\r")
}

func (p *progress) print(prefix string) {
	pct := 100
	if p.total > 0 {
		pct = int(p.cur * 100 / p.total)
	}
	fmt.Fprintf(p.w, "%s%s %s/%s %3d%%", prefix, p.status, humanBytes(p.cur), humanBytes(p.total), pct)
	p.shown = true
}

func (p *progress) done() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

// progressReader reports bytes read through a progress.
type progressReader struct {
	r     io.Reader
	n     int64
	total int64
	p     *progress
}

func (r *progressReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.n += int64(n)
	r.p.update(r.n, r.total)
	return n, err
}
