// Package registry pulls models from and pushes models to model registries
// that speak the OCI distribution API, as Ollama does:
//
//   - the Ollama registry (registry.ollama.ai, the default host of a model
//     name: "llama3.2" is registry.ollama.ai/library/llama3.2:latest),
//   - Hugging Face GGUF repositories ("hf.co/user/repo[:quant]"), whose
//     https://hf.co/v2/user/repo/manifests/<quant|latest> endpoint serves
//     Ollama-style manifests,
//   - any OCI distribution registry ("host[:port]/namespace/model:tag";
//     plain HTTP with Client.Insecure).
//
// A model is a Docker v2 image manifest whose config and layers are blobs
// (see package store). Pull fetches the manifest from
// /v2/<namespace>/<model>/manifests/<tag>, downloads the missing blobs
// from /v2/<namespace>/<model>/blobs/<digest> (following redirects, in
// parallel byte ranges for large blobs, resuming from partial files left
// by an interrupted pull, retrying transient errors with exponential
// backoff), verifies every blob's sha256 before it becomes visible in the
// store, and writes the manifest last. Push uploads missing blobs through
// upload sessions (POST, chunked PATCH, PUT ?digest=), mounting blobs
// from other repositories of the same registry when it can, and puts the
// manifest last.
//
// Authentication follows the Docker token protocol: on a 401 with
// "WWW-Authenticate: Bearer realm=...,service=...,scope=..." the client
// gets a token from the realm (sending configured credentials, if any) and
// retries; "Basic" challenges get the configured username and password.
// See [LoadCredentials] for where credentials come from.
package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golem/store"
)

// Media types a manifest request accepts.
const (
	mediaTypeDockerManifest = store.MediaTypeManifest
	mediaTypeOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
)

// Default tuning of a Client.
const (
	DefaultPartThreshold = 64 << 20 // blobs larger than this download in parallel parts
	DefaultMaxParts      = 8
	DefaultMinParts      = 4
	DefaultChunkSize     = 16 << 20 // push PATCH size
	DefaultRetries       = 6
	DefaultRetryBase     = 500 * time.Millisecond
	DefaultStallTimeout  = 30 * time.Second
	maxManifestSize      = 4 << 20
	maxRetryDelay        = 30 * time.Second
)

// Client talks to model registries. The zero value is ready to use with
// the defaults; a Client is safe for concurrent use once configured.
type Client struct {
	// HTTP sends the requests (nil: a client with http.DefaultTransport's
	// settings and a 60 s response-header timeout).
	HTTP *http.Client
	// Insecure talks plain HTTP instead of HTTPS (for a registry on a
	// trusted network, like `ollama pull --insecure`).
	Insecure bool
	// Credentials are sent in answer to auth challenges (nil: loaded once
	// with LoadCredentials; a load error leaves none).
	Credentials Credentials
	// UserAgent is sent with every request (default "golem").
	UserAgent string

	// PartThreshold is the blob size above which a pull downloads the blob
	// in parallel byte ranges (default DefaultPartThreshold).
	PartThreshold int64
	// MinParts and MaxParts bound the number of parallel parts of a large
	// blob; it is split into parts of about PartThreshold bytes (defaults
	// DefaultMinParts, DefaultMaxParts).
	MinParts, MaxParts int
	// ChunkSize is the size of each PATCH of a push (default
	// DefaultChunkSize).
	ChunkSize int64
	// Retries is how many times a transient failure (connection error,
	// 5xx, 429, truncated body) is retried without progress before giving
	// up (default DefaultRetries; negative: never retry).
	Retries int
	// RetryBase is the first backoff delay, doubled after each failure and
	// jittered (default DefaultRetryBase).
	RetryBase time.Duration
	// StallTimeout aborts (and retries) a download whose body delivers no
	// byte for this long (default DefaultStallTimeout).
	StallTimeout time.Duration

	credOnce sync.Once
	creds    Credentials
	httpOnce sync.Once
	hc       *http.Client

	mu     sync.Mutex
	tokens map[string]string // "host repo push" -> Authorization value
}

// httpClient returns the HTTP client with a redirect policy that keeps
// credentials on the registry host: Go's own policy forwards the
// Authorization header to subdomains (hf.co's CDN is cdn-lfs.hf.co).
func (c *Client) httpClient() *http.Client {
	c.httpOnce.Do(func() {
		base := c.HTTP
		if base == nil {
			base = defaultHTTP
		}
		hc := *base
		next := base.CheckRedirect
		hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("stopped after 10 redirects")
			}
			if req.URL.Host != via[0].URL.Host {
				req.Header.Del("Authorization")
			}
			if next != nil {
				return next(req, via)
			}
			return nil
		}
		c.hc = &hc
	})
	return c.hc
}

var defaultHTTP = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 60 * time.Second
	t.MaxIdleConnsPerHost = 16
	return &http.Client{Transport: t}
}()

func (c *Client) userAgent() string {
	if c.UserAgent != "" {
		return c.UserAgent
	}
	return "golem"
}

func (c *Client) credentials() Credentials {
	c.credOnce.Do(func() {
		c.creds = c.Credentials
		if c.creds == nil {
			c.creds, _ = LoadCredentials()
		}
	})
	return c.creds
}

func (c *Client) retries() int {
	switch {
	case c.Retries < 0:
		return 0
	case c.Retries == 0:
		return DefaultRetries
	default:
		return c.Retries
	}
}

func orDefault[T int | int64 | time.Duration](v, d T) T {
	if v > 0 {
		return v
	}
	return d
}

// Ref is a model name resolved to its registry repository.
type Ref struct {
	Name   store.Name
	Scheme string // "https", or "http" when insecure
}

// ParseRef parses a model name (see store.ParseName) into the registry
// repository it names. An "http://" prefix or insecure selects plain HTTP.
// "huggingface.co/..." is the same as "hf.co/...".
func ParseRef(name string, insecure bool) (Ref, error) {
	n, err := store.ParseName(name)
	if err != nil {
		return Ref{}, fmt.Errorf("registry: %w", err)
	}
	r := Ref{Name: n, Scheme: "https"}
	if insecure || strings.HasPrefix(strings.ToLower(name), "http://") {
		r.Scheme = "http"
	}
	return r, nil
}

// Repo returns the repository path "namespace/model".
func (r Ref) Repo() string { return r.Name.Namespace + "/" + r.Name.Model }

// host returns the host to connect to (hf.co aliases resolve to hf.co).
func (r Ref) host() string {
	if strings.EqualFold(r.Name.Host, "huggingface.co") {
		return "hf.co"
	}
	return r.Name.Host
}

// URL returns the registry URL of kind ("manifests" or "blobs") and ref (a
// tag or digest): scheme://host/v2/namespace/model/kind/ref.
func (r Ref) URL(kind, ref string) string {
	return r.Scheme + "://" + r.host() + "/v2/" + r.Repo() + "/" + kind + "/" + ref
}

// StatusError is a registry's unexpected HTTP answer.
type StatusError struct {
	Method, URL string
	StatusCode  int
	Status      string
	Body        string // start of the body (registries explain errors in JSON)
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if b := strings.TrimSpace(e.Body); b != "" {
		msg += ": " + b
	}
	return msg
}

// statusError reads the start of resp's body into a StatusError and closes
// the body.
func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	resp.Body.Close()
	u := resp.Request.URL
	redacted := u.Scheme + "://" + u.Host + u.Path // query strings may hold signatures
	return &StatusError{Method: resp.Request.Method, URL: redacted, StatusCode: resp.StatusCode, Status: resp.Status, Body: string(b)}
}

// transientStatus reports whether an HTTP status is worth retrying.
func transientStatus(code int) bool {
	return code == http.StatusTooManyRequests || code == http.StatusRequestTimeout || code >= 500 && code != http.StatusNotImplemented && code != http.StatusHTTPVersionNotSupported
}

// transient reports whether err is worth retrying: a network error, a
// truncated body, a stall, or a retryable status.
func transient(err error) bool {
	if err == nil {
		return false
	}
	var se *StatusError
	if errors.As(err, &se) {
		return transientStatus(se.StatusCode)
	}
	if errors.Is(err, context.Canceled) {
		return false // the caller's context; stalls use errStalled
	}
	if errors.Is(err, errStalled) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout || dnsErr.IsTemporary // not "no such host"
	}
	var oe *net.OpError
	if errors.As(err, &oe) {
		return true // connection refused, reset, ...
	}
	// *url.Error is a net.Error too, so only its timeouts count (not,
	// say, a certificate that does not verify).
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// errStalled is returned when a response body delivers nothing for
// StallTimeout.
var errStalled = errors.New("download stalled")

// backoff sleeps before retry number attempt (0-based): RetryBase doubled
// per attempt, capped, with ±25% jitter; a Retry-After carried by err wins
// when shorter than the cap. It returns early with ctx's error.
func (c *Client) backoff(ctx context.Context, attempt int, retryAfter time.Duration) error {
	d := orDefault(c.RetryBase, DefaultRetryBase) << min(attempt, 16)
	d = min(d, maxRetryDelay)
	d = d*3/4 + time.Duration(rand.Int64N(int64(d)/2+1))
	if retryAfter > 0 && retryAfter <= maxRetryDelay {
		d = retryAfter
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retryAfter parses a Retry-After header given in seconds.
func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// request describes one registry request; body, when set, makes a fresh
// body for each attempt.
type request struct {
	method string
	url    string
	header http.Header
	body   func() io.Reader
	size   int64 // body length (-1 unknown)
	push   bool  // needs push scope
}

// send performs req against ref's registry, answering one auth challenge
// and retrying transient failures with backoff. Any status is returned to
// the caller except retryable ones that exhausted the retries, which
// become a *StatusError.
func (c *Client) send(ctx context.Context, ref Ref, req request) (*http.Response, error) {
	key := ref.host() + " " + ref.Repo() + " " + strconv.FormatBool(req.push)
	authed := false
	for attempt := 0; ; attempt++ {
		hr, err := http.NewRequestWithContext(ctx, req.method, req.url, nil)
		if err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
		for k, v := range req.header {
			hr.Header[k] = v
		}
		hr.Header.Set("User-Agent", c.userAgent())
		if req.body != nil {
			hr.Body = io.NopCloser(req.body())
			hr.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(req.body()), nil }
			hr.ContentLength = req.size
			if req.size == 0 {
				hr.Body, hr.GetBody = http.NoBody, nil
			}
		}
		// Our token only goes to the registry host itself (an upload
		// Location may point at other storage).
		if hr.URL.Host == ref.host() {
			c.mu.Lock()
			if a := c.tokens[key]; a != "" {
				hr.Header.Set("Authorization", a)
			}
			c.mu.Unlock()
		}
		resp, err := c.httpClient().Do(hr)
		if err == nil && resp.StatusCode == http.StatusUnauthorized && !authed && hr.URL.Host == ref.host() {
			authed = true
			h := resp.Header.Get("WWW-Authenticate")
			resp.Body.Close()
			a, aerr := c.authorize(ctx, ref.host(), ref.Repo(), req.push, h)
			if aerr != nil {
				return nil, aerr
			}
			c.mu.Lock()
			if c.tokens == nil {
				c.tokens = map[string]string{}
			}
			c.tokens[key] = a
			c.mu.Unlock()
			attempt--
			continue
		}
		var ra time.Duration
		if err == nil && transientStatus(resp.StatusCode) {
			ra = retryAfter(resp)
			err = statusError(resp)
			resp = nil
		}
		if err == nil {
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !transient(err) || attempt >= c.retries() {
			return nil, err
		}
		if berr := c.backoff(ctx, attempt, ra); berr != nil {
			return nil, berr
		}
	}
}

// stallReader cancels a download when its body delivers nothing for the
// stall timeout.
type stallReader struct {
	r      io.Reader
	timer  *time.Timer
	d      time.Duration
	cancel context.CancelCauseFunc
}

func newStallReader(r io.Reader, d time.Duration, cancel context.CancelCauseFunc) *stallReader {
	s := &stallReader{r: r, d: d, cancel: cancel}
	s.timer = time.AfterFunc(d, func() { cancel(errStalled) })
	return s
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	return n, err
}

func (s *stallReader) stop() { s.timer.Stop() }
