package server

// The read half of the OCI distribution API (/v2/...), so that one Golem
// can pull models from another (`golem pull --insecure host:port/library/m`)
// or any OCI client can read the models a Golem holds.
//
// Naming rule. A store name has four parts, host/namespace/model:tag, while
// a repository path on the wire has two, namespace/model (or one, model,
// meaning library/model). Golem serves every stored model under its
// namespace/model path, whatever host it was pulled from. When several
// stored hosts hold the same namespace/model:tag, the first of these wins:
//
//  1. the host the request was addressed to (its Host header), so that a
//     model copied to "this-host:port/ns/m:tag" is served exactly;
//  2. registry.ollama.ai (store.DefaultHost), where short names live;
//  3. the others, in lexical order of host.
//
// Names compare case-insensitively, as the store's do. A manifest
// reference may also be a digest ("sha256:<hex>"): any stored manifest of
// the repository with that digest is served. A blob is served only when a
// manifest of the repository references it (as a registry scopes blobs to
// repositories), so /v2 exposes nothing but what the listed models use.
//
// Write requests (blob uploads, manifest PUT, DELETE) answer 405 with the
// spec's UNSUPPORTED error: push to Golem with /api/create or /api/blobs.
//
// Authentication is the server's: with an API key configured every /v2
// route needs "Authorization: Bearer KEY" (ServeHTTP checks it before
// routing). ServeHTTP's 401 challenge, `Bearer realm="golem"`, is not one a
// registry client can answer (the realm is no token-service URL), so
// [Server.v2Unauthorized] is the check meant for /v2 paths instead: it also
// accepts HTTP basic auth whose password is the key, and challenges with
// `Basic realm="golem"`, to which golem's registry client answers with the
// host's configured token ("Bearer KEY") or username and password
// (GOLEM_REGISTRY_AUTH or the auth file).

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"

	"golem/store"
)

// Error codes of the OCI distribution spec used by the /v2 routes.
const (
	v2NameUnknown     = "NAME_UNKNOWN"
	v2NameInvalid     = "NAME_INVALID"
	v2ManifestUnknown = "MANIFEST_UNKNOWN"
	v2BlobUnknown     = "BLOB_UNKNOWN"
	v2DigestInvalid   = "DIGEST_INVALID"
	v2Unsupported     = "UNSUPPORTED"
)

// v2Error is one entry of the spec's error body.
type v2Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// v2Errors is the spec's error body: {"errors":[{code,message,detail}]}.
type v2Errors struct {
	Errors []v2Error `json:"errors"`
}

// writeV2Error answers with the distribution spec's error JSON. A HEAD
// request gets the status and headers only (net/http drops the body).
func writeV2Error(w http.ResponseWriter, code int, errCode, msg string, detail any) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	writeJSON(w, code, v2Errors{Errors: []v2Error{{Code: errCode, Message: msg, Detail: detail}}})
}

// handleV2 routes every /v2/ request: the API base, _catalog, and per
// repository manifests/<ref>, blobs/<digest> and tags/list.
func (s *Server) handleV2(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Docker-Distribution-API-Version", "registry/2.0")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeV2Error(w, http.StatusMethodNotAllowed, v2Unsupported,
			"Golem's registry API is read-only: push models with /api/create or /api/blobs", map[string]string{"method": r.Method})
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/v2/")
	switch rest {
	case "":
		writeJSON(w, http.StatusOK, struct{}{})
		return
	case "_catalog":
		s.handleV2Catalog(w, r)
		return
	}
	parts := strings.Split(rest, "/")
	n := len(parts)
	switch {
	case n >= 3 && parts[n-2] == "manifests":
		s.handleV2Manifest(w, r, parts[:n-2], parts[n-1])
	case n >= 3 && parts[n-2] == "blobs":
		s.handleV2Blob(w, r, parts[:n-2], parts[n-1])
	case n >= 3 && parts[n-2] == "tags" && parts[n-1] == "list":
		s.handleV2Tags(w, r, parts[:n-2])
	default:
		writeV2Error(w, http.StatusNotFound, v2Unsupported, "unknown registry API route", map[string]string{"path": r.URL.Path})
	}
}

// v2Repo is a repository path parsed from a URL: namespace and model.
type v2Repo struct{ namespace, model string }

func (p v2Repo) String() string { return p.namespace + "/" + p.model }

// parseV2Repo maps the repository segments of a URL ("model" or
// "namespace/model") to a repository, validating the parts with the
// store's name rules.
func parseV2Repo(segs []string) (v2Repo, bool) {
	var p v2Repo
	switch len(segs) {
	case 1:
		p = v2Repo{store.DefaultNamespace, segs[0]}
	case 2:
		p = v2Repo{segs[0], segs[1]}
	default:
		return p, false
	}
	n := store.Name{Host: store.DefaultHost, Namespace: p.namespace, Model: p.model, Tag: store.DefaultTag}
	return p, n.Validate() == nil
}

// repoModels returns the stored models of repository p, ordered by the
// host preference of the naming rule (request host, default host, others
// lexically), then by tag. A store that cannot be listed is an error.
func (s *Server) repoModels(r *http.Request, p v2Repo) ([]store.Name, error) {
	models, err := s.store.List()
	if err != nil {
		return nil, err
	}
	var out []store.Name
	for _, m := range models {
		if strings.EqualFold(m.Name.Namespace, p.namespace) && strings.EqualFold(m.Name.Model, p.model) {
			out = append(out, m.Name)
		}
	}
	rank := func(host string) int {
		switch {
		case strings.EqualFold(host, r.Host):
			return 0
		case strings.EqualFold(host, store.DefaultHost):
			return 1
		default:
			return 2
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if ra, rb := rank(a.Host), rank(b.Host); ra != rb {
			return ra < rb
		}
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		return a.Tag < b.Tag
	})
	return out, nil
}

// lookupRepo parses the repository segments and lists its models,
// answering the request itself (and returning ok=false) when the name is
// invalid, unknown, or the store cannot be read.
func (s *Server) lookupRepo(w http.ResponseWriter, r *http.Request, segs []string) (v2Repo, []store.Name, bool) {
	p, ok := parseV2Repo(segs)
	if !ok {
		writeV2Error(w, http.StatusNotFound, v2NameInvalid, "invalid repository name: want model or namespace/model",
			map[string]string{"name": strings.Join(segs, "/")})
		return p, nil, false
	}
	names, err := s.repoModels(r, p)
	if err != nil {
		s.log.Error("registry API: list store", "err", err)
		writeV2Error(w, http.StatusInternalServerError, "UNKNOWN", "reading the model store: "+err.Error(), nil)
		return p, nil, false
	}
	if len(names) == 0 {
		writeV2Error(w, http.StatusNotFound, v2NameUnknown, "repository name not known to registry", map[string]string{"name": p.String()})
		return p, nil, false
	}
	return p, names, true
}

// isDigest reports whether ref is "sha256:<64 hex digits>".
func isDigest(ref string) bool {
	h, ok := strings.CutPrefix(ref, "sha256:")
	if !ok || len(h) != 64 {
		return false
	}
	_, err := hex.DecodeString(h)
	return err == nil
}

// manifestDigest returns "sha256:<hex>" of manifest bytes.
func manifestDigest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// handleV2Manifest serves the stored manifest file of repo:ref byte for
// byte, with its mediaType as Content-Type and its sha256 as
// Docker-Content-Digest.
func (s *Server) handleV2Manifest(w http.ResponseWriter, r *http.Request, segs []string, ref string) {
	p, names, ok := s.lookupRepo(w, r, segs)
	if !ok {
		return
	}
	byDigest := strings.HasPrefix(ref, "sha256:")
	if byDigest && !isDigest(ref) {
		writeV2Error(w, http.StatusBadRequest, v2DigestInvalid, "invalid digest: want sha256:<64 hex digits>", map[string]string{"digest": ref})
		return
	}
	var data []byte
	for _, n := range names {
		if !byDigest && !strings.EqualFold(n.Tag, ref) {
			continue
		}
		b, _, err := s.store.ManifestBytes(n.String())
		if err != nil {
			continue // removed meanwhile, or unreadable: try the next
		}
		if byDigest && !strings.EqualFold(manifestDigest(b), ref) {
			continue
		}
		data = b
		break
	}
	if data == nil {
		writeV2Error(w, http.StatusNotFound, v2ManifestUnknown, "manifest unknown",
			map[string]string{"name": p.String(), "reference": ref})
		return
	}
	var head struct {
		MediaType string `json:"mediaType"`
	}
	if err := json.Unmarshal(data, &head); err != nil || head.MediaType == "" {
		head.MediaType = store.MediaTypeManifest
	}
	h := w.Header()
	h.Set("Content-Type", head.MediaType)
	h.Set("Content-Length", strconv.Itoa(len(data)))
	d := manifestDigest(data)
	h.Set("Docker-Content-Digest", d)
	h.Set("ETag", `"`+d+`"`)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		w.Write(data)
	}
}

// handleV2Blob streams a blob that a manifest of the repository
// references, with http.ServeContent (Range, If-Range, HEAD).
func (s *Server) handleV2Blob(w http.ResponseWriter, r *http.Request, segs []string, digest string) {
	p, names, ok := s.lookupRepo(w, r, segs)
	if !ok {
		return
	}
	if !isDigest(digest) {
		writeV2Error(w, http.StatusBadRequest, v2DigestInvalid, "invalid digest: want sha256:<64 hex digits>", map[string]string{"digest": digest})
		return
	}
	unknown := func() {
		writeV2Error(w, http.StatusNotFound, v2BlobUnknown, "blob unknown to registry",
			map[string]string{"name": p.String(), "digest": digest})
	}
	if !s.repoReferences(names, digest) {
		unknown()
		return
	}
	path, err := s.store.BlobPath(strings.ToLower(digest))
	if err != nil {
		unknown()
		return
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		unknown()
		return
	}
	if err != nil {
		writeV2Error(w, http.StatusInternalServerError, "UNKNOWN", "opening blob: "+err.Error(), nil)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		writeV2Error(w, http.StatusInternalServerError, "UNKNOWN", "opening blob: "+err.Error(), nil)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Docker-Content-Digest", strings.ToLower(digest))
	h.Set("ETag", `"`+strings.ToLower(digest)+`"`)
	h.Set("Cache-Control", "max-age=31536000")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// repoReferences reports whether a manifest of names references digest
// as its config or a layer.
func (s *Server) repoReferences(names []store.Name, digest string) bool {
	for _, n := range names {
		m, err := s.store.Manifest(n.String())
		if err != nil {
			continue
		}
		if strings.EqualFold(m.Config.Digest, digest) {
			return true
		}
		for _, l := range m.Layers {
			if strings.EqualFold(l.Digest, digest) {
				return true
			}
		}
	}
	return false
}

// handleV2Tags answers {"name": "ns/model", "tags": [...]}: the tags of
// the repository across all stored hosts, sorted, with the spec's "n"
// (page size) and "last" (tags after this one) parameters.
func (s *Server) handleV2Tags(w http.ResponseWriter, r *http.Request, segs []string) {
	p, names, ok := s.lookupRepo(w, r, segs)
	if !ok {
		return
	}
	tags := map[string]bool{}
	for _, n := range names {
		tags[n.Tag] = true
	}
	list := sortedPage(tags, r)
	writeJSON(w, http.StatusOK, struct {
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	}{p.String(), list})
}

// handleV2Catalog answers {"repositories": [...]}: every namespace/model
// the store holds, sorted, with "n" and "last" as for tags.
func (s *Server) handleV2Catalog(w http.ResponseWriter, r *http.Request) {
	models, err := s.store.List()
	if err != nil {
		writeV2Error(w, http.StatusInternalServerError, "UNKNOWN", "reading the model store: "+err.Error(), nil)
		return
	}
	repos := map[string]bool{}
	for _, m := range models {
		repos[m.Name.Namespace+"/"+m.Name.Model] = true
	}
	writeJSON(w, http.StatusOK, struct {
		Repositories []string `json:"repositories"`
	}{sortedPage(repos, r)})
}

// sortedPage returns the keys of set sorted, after the query's "last" and
// at most "n" of them (an invalid or absent n means all). Never nil, so
// JSON shows [] rather than null.
func sortedPage(set map[string]bool, r *http.Request) []string {
	out := make([]string, 0, len(set))
	last := r.URL.Query().Get("last")
	for k := range set {
		if last == "" || k > last {
			out = append(out, k)
		}
	}
	sort.Strings(out)
	if n, err := strconv.Atoi(r.URL.Query().Get("n")); err == nil && n >= 0 && n < len(out) {
		out = out[:n]
	}
	return out
}

// v2Unauthorized checks the API key on a /v2 request the way a registry
// client can satisfy it: "Authorization: Bearer KEY", or basic auth with
// any username and the key as password. When the key is missing or wrong
// it answers 401 with a Basic challenge and the spec's UNAUTHORIZED error,
// and returns true. Without a configured key every request passes.
//
// ServeHTTP is meant to call it for paths under /v2/ in place of its own
// bearer check (whose challenge registry clients cannot answer).
func (s *Server) v2Unauthorized(w http.ResponseWriter, r *http.Request) bool {
	key := s.cfg.APIKey
	if key == "" {
		return false
	}
	auth := r.Header.Get("Authorization")
	got := ""
	if tok, ok := strings.CutPrefix(auth, "Bearer "); ok {
		got = strings.TrimSpace(tok)
	} else if _, pw, ok := r.BasicAuth(); ok {
		got = pw
	}
	if got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(key)) == 1 {
		return false
	}
	w.Header().Set("WWW-Authenticate", `Basic realm="golem"`)
	writeV2Error(w, http.StatusUnauthorized, "UNAUTHORIZED",
		"authentication required: send the server's API key as \"Authorization: Bearer KEY\" or as the basic-auth password", nil)
	return true
}
