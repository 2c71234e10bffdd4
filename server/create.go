package server

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"golem/api"
	"golem/gguf"
	"golem/models"
	"golem/store"
)

func (s *Server) handleShow(w http.ResponseWriter, r *http.Request) {
	var req api.ShowRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	mi, err := s.resolveModel(name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, err := gguf.Open(mi.path)
	if err != nil {
		s.fail(w, r, fmt.Errorf("model %s: %w", name, err))
		return
	}
	defer f.Close()
	resp := api.ShowResponse{
		License:    strings.Join(mi.license, "\n"),
		Parameters: formatParams(mi.params),
		Template:   mi.template,
		System:     mi.system,
		Details:    mi.details,
		Messages:   mi.messages,
		ModelInfo:  modelInfoMap(f, req.Verbose),
		ModifiedAt: mi.modified,
	}
	if req.System != "" {
		resp.System = req.System
	}
	jinja, _ := f.String("tokenizer.chat_template")
	if resp.Template == "" {
		resp.Template = jinja
	}
	if mi.embed() {
		resp.Capabilities = []string{"embedding"}
	} else {
		resp.Capabilities = []string{"completion"}
		if strings.Contains(jinja, "tools") || strings.Contains(mi.template, ".Tools") {
			resp.Capabilities = append(resp.Capabilities, "tools")
		}
		if strings.Contains(jinja, "enable_thinking") || strings.Contains(jinja, "<think>") {
			resp.Capabilities = append(resp.Capabilities, "thinking")
		}
	}
	resp.Modelfile = mi.model.Modelfile()
	writeJSON(w, http.StatusOK, resp)
}

// modelInfoMap returns the GGUF metadata for show's model_info. Large
// arrays (the vocabulary) are left out unless verbose, as Ollama does.
func modelInfoMap(f *gguf.File, verbose bool) map[string]any {
	out := map[string]any{}
	for _, kv := range f.KV {
		k, v := kv.Key, kv.Value
		if a, isArr := v.(gguf.Array); isArr {
			if !verbose && a.Len() > 64 {
				out[k] = nil
				continue
			}
			out[k] = a.Values
			continue
		}
		out[k] = v
	}
	out["general.parameter_count"] = f.ParameterCount()
	return out
}

func (s *Server) handleBlobHead(w http.ResponseWriter, r *http.Request) {
	p, err := s.store.BlobPath(normalizeDigest(r.PathValue("digest")))
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := os.Stat(p); err != nil {
		writeError(w, r, http.StatusNotFound, "blob not found")
		return
	}
	w.WriteHeader(http.StatusOK)
}

func normalizeDigest(d string) string {
	if rest, ok := strings.CutPrefix(d, "sha256-"); ok {
		return "sha256:" + rest
	}
	return d
}

// handleBlobPost stores an uploaded blob after checking that its sha256 is
// the digest in the path (400 otherwise, and nothing is kept).
func (s *Server) handleBlobPost(w http.ResponseWriter, r *http.Request) {
	want := normalizeDigest(r.PathValue("digest"))
	p, err := s.store.BlobPath(want)
	if err != nil {
		writeError(w, r, http.StatusBadRequest, err.Error())
		return
	}
	if _, err := os.Stat(p); err == nil {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
		return
	}
	got, _, err := s.store.WriteBlob(r.Body)
	if err != nil {
		s.fail(w, r, fmt.Errorf("writing blob: %w", err))
		return
	}
	if !strings.EqualFold(got, want) {
		// The content does not match: remove it unless a model uses it.
		if inUse, _ := s.blobReferenced(got); !inUse {
			if gp, err := s.store.BlobPath(got); err == nil {
				os.Remove(gp)
			}
		}
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("digest mismatch: the body's digest is %s, the path says %s", got, want))
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func (s *Server) blobReferenced(digest string) (bool, error) {
	models, err := s.store.List()
	if err != nil {
		return false, err
	}
	for _, m := range models {
		man, err := s.store.Manifest(m.Name.String())
		if err != nil {
			continue
		}
		if man.Config.Digest == digest {
			return true, nil
		}
		for _, l := range man.Layers {
			if l.Digest == digest {
				return true, nil
			}
		}
	}
	return false, nil
}

// handleCreate creates a model from uploaded GGUF blobs (files), an
// existing model or a GGUF path (from), with Modelfile fields (template,
// system, parameters, messages, license) as Ollama's JSON create API.
func (s *Server) handleCreate(w http.ResponseWriter, r *http.Request) {
	var req api.CreateRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	name, ok := targetName(w, r, req.Model, req.Name)
	if !ok {
		return
	}
	stream := req.Stream == nil || *req.Stream
	st := &streamer{w: w}
	progress := func(status string) {
		if stream {
			st.send(api.ProgressResponse{Status: status})
		}
	}
	err := s.create(name, &req, progress)
	if err != nil {
		st.finish(s, r, err)
		return
	}
	if stream {
		st.send(api.ProgressResponse{Status: "success"})
		return
	}
	writeJSON(w, http.StatusOK, api.ProgressResponse{Status: "success"})
}

// create builds model name from a JSON create request with
// models.Create, the implementation behind `golem create`: the request is
// turned into the Modelfile it stands for (models.FromRequest), so the
// same fields give the same layers and config either way.
func (s *Server) create(name string, req *api.CreateRequest, progress func(string)) error {
	mf, err := models.FromRequest(req)
	if err != nil {
		return modelsError(req.From, err)
	}
	if err := models.Create(s.store, name, mf, models.CreateOptions{
		Quantize: req.Quantize,
		Report: &models.Reporter{Status: func(st string) {
			if st != "success" { // handleCreate sends it once the reply is due
				progress(st)
			}
		}},
	}); err != nil {
		return modelsError(req.From, err)
	}
	return nil
}

// targetName picks the model name of a create, pull or push request (model,
// or the older name field) and answers 400 when it is missing or invalid.
func targetName(w http.ResponseWriter, r *http.Request, model, name string) (string, bool) {
	if model == "" {
		model = name
	}
	if model == "" {
		writeError(w, r, http.StatusBadRequest, "model is required")
		return "", false
	}
	if _, err := store.ParseName(model); err != nil {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("invalid model name %q: %v", model, err))
		return "", false
	}
	return model, true
}
