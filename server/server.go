// Package server implements `golem serve`: Ollama's native HTTP API
// (/api/...) and the OpenAI-compatible API (/v1/...) over the engine, with
// a scheduler that loads models on first use, keeps them for keep_alive,
// evicts idle ones when memory is short and queues requests per model.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golem/api"
	"golem/store"
)

// Version is reported by /api/version (set by the command at start-up).
var Version = "0.0.0-dev"

// DefaultMaxBody is the largest request body accepted, except blob uploads.
const DefaultMaxBody = 32 << 20

// Config configures a server. Zero fields take their defaults (see
// ConfigFromEnv for the environment variables).
type Config struct {
	// Store is the model store; nil opens the default one.
	Store *store.Store
	// KeepAlive is how long a model stays loaded after its last request
	// (default 5m; negative: forever).
	KeepAlive time.Duration
	// MaxQueue is the most requests waiting per model (default 512).
	MaxQueue int
	// NumParallel is how many requests one loaded model answers at the
	// same time (default 1); each has its own KV cache, and their tokens
	// are decoded together in one forward pass per step (engine.Batch).
	NumParallel int
	// MaxLoadedModels caps the models loaded at once (0: only memory
	// limits it).
	MaxLoadedModels int
	// FreeMemory returns the bytes available for loading another model;
	// nil reads MemAvailable from /proc/meminfo.
	FreeMemory func() uint64
	// APIKey, when set, is required as "Authorization: Bearer KEY" on
	// every route but / and /api/version.
	APIKey string
	// Origins are extra allowed CORS origins (patterns with '*').
	Origins []string
	// MaxBody caps request bodies (default DefaultMaxBody).
	MaxBody int64
	// Logger receives request and scheduler logs (nil: slog.Default()).
	Logger *slog.Logger

	// tokenHook, when set (tests), runs before each streamed piece.
	tokenHook func()
	// promptHook, when set (tests), sees each rendered prompt.
	promptHook func(model, prompt string)
	// doneHook, when set (tests), runs when a generation ends.
	doneHook func(model string, err error)
}

// ConfigFromEnv reads GOLEM_KEEP_ALIVE, GOLEM_MAX_QUEUE,
// GOLEM_MAX_LOADED_MODELS, GOLEM_NUM_PARALLEL, GOLEM_API_KEY and GOLEM_ORIGINS (comma
// separated).
func ConfigFromEnv() (Config, error) {
	var c Config
	if v := os.Getenv("GOLEM_KEEP_ALIVE"); v != "" {
		var d api.Duration
		if err := d.UnmarshalJSON([]byte(strconv.Quote(v))); err != nil {
			return c, fmt.Errorf("GOLEM_KEEP_ALIVE: %w", err)
		}
		c.KeepAlive = d.Duration
	}
	for _, e := range []struct {
		name string
		dst  *int
	}{{"GOLEM_MAX_QUEUE", &c.MaxQueue}, {"GOLEM_MAX_LOADED_MODELS", &c.MaxLoadedModels}, {"GOLEM_NUM_PARALLEL", &c.NumParallel}} {
		if v := os.Getenv(e.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return c, fmt.Errorf("%s: want a non-negative integer, not %q", e.name, v)
			}
			*e.dst = n
		}
	}
	c.APIKey = os.Getenv("GOLEM_API_KEY")
	if v := os.Getenv("GOLEM_ORIGINS"); v != "" {
		for _, o := range strings.Split(v, ",") {
			if o = strings.TrimSpace(o); o != "" {
				c.Origins = append(c.Origins, o)
			}
		}
	}
	return c, nil
}

// Server is the HTTP handler of the API plus its scheduler.
type Server struct {
	cfg   Config
	store *store.Store
	sched *scheduler
	log   *slog.Logger
	mux   *http.ServeMux
}

// New builds a server from cfg.
func New(cfg Config) (*Server, error) {
	if cfg.Store == nil {
		st, err := store.Open("")
		if err != nil {
			return nil, err
		}
		cfg.Store = st
	}
	if cfg.KeepAlive == 0 {
		cfg.KeepAlive = 5 * time.Minute
	} else if cfg.KeepAlive < 0 {
		cfg.KeepAlive = api.Forever
	}
	if cfg.MaxQueue <= 0 {
		cfg.MaxQueue = 512
	}
	if cfg.FreeMemory == nil {
		cfg.FreeMemory = memAvailable
	}
	if cfg.MaxBody <= 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Server{cfg: cfg, store: cfg.Store, sched: newScheduler(&cfg), log: cfg.Logger, mux: http.NewServeMux()}
	s.routes()
	return s, nil
}

// Close unloads idle models and refuses further requests.
func (s *Server) Close() { s.sched.close() }

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "Golem is running") })
	m.HandleFunc("HEAD /{$}", func(w http.ResponseWriter, r *http.Request) {})
	m.HandleFunc("GET /api/version", s.handleVersion)
	m.HandleFunc("HEAD /api/version", s.handleVersion)
	m.HandleFunc("GET /api/tags", s.handleTags)
	m.HandleFunc("HEAD /api/tags", s.handleTags)
	m.HandleFunc("POST /api/show", s.handleShow)
	m.HandleFunc("POST /api/generate", s.handleGenerate)
	m.HandleFunc("POST /api/chat", s.handleChat)
	m.HandleFunc("POST /api/embed", s.handleEmbed)
	m.HandleFunc("POST /api/embeddings", s.handleEmbeddings)
	m.HandleFunc("POST /api/copy", s.handleCopy)
	m.HandleFunc("DELETE /api/delete", s.handleDelete)
	m.HandleFunc("GET /api/ps", s.handlePs)
	m.HandleFunc("HEAD /api/blobs/{digest}", s.handleBlobHead)
	m.HandleFunc("POST /api/blobs/{digest}", s.handleBlobPost)
	m.HandleFunc("POST /api/create", s.handleCreate)
	m.HandleFunc("POST /api/pull", s.handleRegistry("pull"))
	m.HandleFunc("POST /api/push", s.handleRegistry("push"))
	m.HandleFunc("POST /api/tokenize", s.handleTokenize)
	m.HandleFunc("POST /api/detokenize", s.handleDetokenize)

	m.HandleFunc("POST /v1/chat/completions", s.handleChatCompletions)
	m.HandleFunc("POST /v1/completions", s.handleCompletions)
	m.HandleFunc("POST /v1/embeddings", s.handleOpenAIEmbeddings)
	m.HandleFunc("GET /v1/models", s.handleOpenAIModels)
	m.HandleFunc("GET /v1/models/{model...}", s.handleOpenAIModel)

	// The read-only OCI distribution API (see v2.go), all methods: writes
	// answer 405 UNSUPPORTED.
	m.HandleFunc("/v2/", s.handleV2)
}

// ServeHTTP applies CORS, the API key and the body limit, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if origin := r.Header.Get("Origin"); origin != "" {
		if !s.originAllowed(origin, r.Host) {
			writeError(w, r, http.StatusForbidden, "origin not allowed")
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Vary", "Origin")
		h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, User-Agent, Accept, X-Requested-With, OpenAI-Beta, x-stainless-arch, x-stainless-lang, x-stainless-os, x-stainless-package-version, x-stainless-runtime, x-stainless-runtime-version, x-stainless-async, x-stainless-helper-method, x-stainless-poll-helper, x-stainless-custom-poll-interval, x-stainless-timeout, x-stainless-retry-count")
		h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS")
		if r.Method == http.MethodOptions {
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if s.cfg.APIKey != "" && strings.HasPrefix(r.URL.Path, "/v2/") {
		// Registry clients speak the distribution spec's auth: a Basic
		// challenge, the key as bearer token or basic password.
		if s.v2Unauthorized(w, r) {
			return
		}
	} else if s.cfg.APIKey != "" && r.URL.Path != "/" && r.URL.Path != "/api/version" && r.Method != http.MethodOptions {
		auth := r.Header.Get("Authorization")
		if tok, ok := strings.CutPrefix(auth, "Bearer "); !ok || strings.TrimSpace(tok) != s.cfg.APIKey {
			w.Header().Set("WWW-Authenticate", `Bearer realm="golem"`)
			writeError(w, r, http.StatusUnauthorized, "unauthorized: a valid API key is required (Authorization: Bearer KEY)")
			return
		}
	}
	if !strings.HasPrefix(r.URL.Path, "/api/blobs/") {
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBody)
	}
	s.mux.ServeHTTP(w, r)
}

// originAllowed accepts loopback origins, same-host origins, and the
// configured patterns (as Ollama's OLLAMA_ORIGINS: '*' wildcards).
func (s *Server) originAllowed(origin, host string) bool {
	for _, p := range s.cfg.Origins {
		if matchWildcard(p, origin) {
			return true
		}
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	switch h := u.Hostname(); h {
	case "localhost", "127.0.0.1", "::1", "0.0.0.0":
		return true
	default:
		if ip := net.ParseIP(h); ip != nil && ip.IsLoopback() {
			return true
		}
		return u.Host == host
	}
}

// matchWildcard matches s against a pattern where '*' stands for any run
// of characters.
func matchWildcard(pattern, s string) bool {
	parts := strings.Split(pattern, "*")
	if len(parts) == 1 {
		return pattern == s
	}
	if !strings.HasPrefix(s, parts[0]) {
		return false
	}
	s = s[len(parts[0]):]
	for _, p := range parts[1 : len(parts)-1] {
		i := strings.Index(s, p)
		if i < 0 {
			return false
		}
		s = s[i+len(p):]
	}
	return strings.HasSuffix(s, parts[len(parts)-1])
}

// isOpenAI reports whether r is an OpenAI-compatible route, whose errors
// have OpenAI's shape.
func isOpenAI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/v1/") }

// writeJSON writes v with status code.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

// writeError answers with Ollama's {"error": msg} (or OpenAI's error
// object on /v1/ routes).
func writeError(w http.ResponseWriter, r *http.Request, code int, msg string) {
	if isOpenAI(r) {
		typ := "invalid_request_error"
		switch {
		case code == http.StatusUnauthorized:
			typ = "authentication_error"
		case code == http.StatusNotFound:
			typ = "not_found_error"
		case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
			typ = "rate_limit_error"
		case code >= 500:
			typ = "api_error"
		}
		var codePtr *string
		if code == http.StatusNotFound {
			c := "model_not_found"
			codePtr = &c
		}
		writeJSON(w, code, api.OpenAIError{Error: api.OpenAIErrorBody{Message: msg, Type: typ, Code: codePtr}})
		return
	}
	writeJSON(w, code, api.StatusError{ErrorMessage: msg})
}

// httpError is an error with the status code it answers with.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

func errf(code int, format string, args ...any) error {
	return &httpError{code: code, msg: fmt.Sprintf(format, args...)}
}

// fail answers err with its status code: an *httpError's own, 503 for a
// full queue, 400 for context overflow, 499-ish silence for a client that
// left, else 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var he *httpError
	switch {
	case errors.As(err, &he):
		writeError(w, r, he.code, he.msg)
	case errors.Is(err, ErrQueueFull):
		writeError(w, r, http.StatusServiceUnavailable, err.Error())
	case errors.Is(err, context.Canceled):
		// The client is gone; nobody reads the answer.
	default:
		s.log.Error("request failed", "path", r.URL.Path, "err", err)
		writeError(w, r, http.StatusInternalServerError, err.Error())
	}
}

// decode reads a JSON body into v: 400 for an empty body, malformed JSON,
// wrong types and bodies over the limit (413). Unknown fields are ignored,
// as Ollama and OpenAI do.
func decode(r *http.Request, v any) error {
	_, err := decodeBody(r, v)
	return err
}

// decodeBody is decode that also returns the body, for the fields whose
// JSON text matters beyond the decoded value (the order of tool keys).
func decodeBody(r *http.Request, v any) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errf(http.StatusRequestEntityTooLarge, "request body too large (limit %d bytes)", mbe.Limit)
		}
		return nil, errf(http.StatusBadRequest, "reading request body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		return nil, errf(http.StatusBadRequest, "missing request body")
	}
	return b, decodeJSON(b, v)
}

// decodeJSON unmarshals a request body, with errors as 400s naming the
// field.
func decodeJSON(b []byte, v any) error {
	if err := json.Unmarshal(b, v); err != nil {
		var ute *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &ute):
			field := ute.Field
			if field == "" {
				field = "request"
			}
			return errf(http.StatusBadRequest, "invalid value for field %q: got JSON %s, want %s", field, ute.Value, ute.Type)
		case errors.As(err, &se):
			return errf(http.StatusBadRequest, "invalid JSON at byte %d: %v", se.Offset, err)
		default:
			return errf(http.StatusBadRequest, "invalid request: %v", err)
		}
	}
	return nil
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.VersionResponse{Version: Version})
}
