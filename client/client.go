// Package client is a Go client of Golem's (and Ollama's) native HTTP API,
// for the CLI and for programs. Streaming calls take a callback that gets
// each NDJSON line; errors from the server come back as api.StatusError
// with the HTTP status code.
package client

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"

	"golem/api"
	"golem/server"
)

// Client talks to one server.
type Client struct {
	base   *url.URL
	http   *http.Client
	apiKey string
}

// New returns a client of the server at base ("http://127.0.0.1:11434").
// A nil hc means http.DefaultClient.
func New(base string, hc *http.Client) (*Client, error) {
	u, err := url.Parse(base)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, fmt.Errorf("client: invalid server URL %q", base)
	}
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{base: u, http: hc}, nil
}

// FromEnv returns a client of the server `golem serve` would listen on
// (GOLEM_HOST, else OLLAMA_HOST), with GOLEM_API_KEY as bearer token. A
// wildcard listen address (0.0.0.0, ::) is reached on loopback.
func FromEnv() (*Client, error) {
	raw, ok := os.LookupEnv("GOLEM_HOST")
	if !ok {
		raw = os.Getenv("OLLAMA_HOST")
	}
	scheme := "http"
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(raw)), "https://") {
		scheme = "https"
	}
	host, port, err := net.SplitHostPort(server.ParseHost(raw))
	if err != nil {
		return nil, fmt.Errorf("client: %w", err)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	c, err := New(scheme+"://"+net.JoinHostPort(host, port), nil)
	if err != nil {
		return nil, err
	}
	c.apiKey = os.Getenv("GOLEM_API_KEY")
	return c, nil
}

// SetAPIKey sets the bearer token sent with every request.
func (c *Client) SetAPIKey(key string) { c.apiKey = key }

// URL returns the server's base URL.
func (c *Client) URL() string { return c.base.String() }

func (c *Client) request(ctx context.Context, method, path string, body any) (*http.Response, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return nil, fmt.Errorf("client: encode request: %w", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), rd)
	if err != nil {
		return nil, err
	}
	if body != nil {
		if _, isReader := body.(io.Reader); isReader {
			req.Header.Set("Content-Type", "application/octet-stream")
		} else {
			req.Header.Set("Content-Type", "application/json")
		}
	}
	req.Header.Set("Accept", "application/x-ndjson")
	if c.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.apiKey)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode >= 400 {
		defer resp.Body.Close()
		return nil, statusError(resp)
	}
	return resp, nil
}

func statusError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	se := api.StatusError{StatusCode: resp.StatusCode}
	if json.Unmarshal(b, &se) != nil || se.ErrorMessage == "" {
		se.ErrorMessage = strings.TrimSpace(string(b))
		if se.ErrorMessage == "" {
			se.ErrorMessage = resp.Status
		}
	}
	return se
}

// do sends a request and decodes a JSON answer into out (when non-nil).
func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	resp, err := c.request(ctx, method, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("client: decode %s answer: %w", path, err)
	}
	return nil
}

// stream sends a request and calls fn with each NDJSON line decoded as T;
// an {"error": ...} line ends the stream with that error.
func stream[T any](ctx context.Context, c *Client, path string, body any, fn func(T) error) error {
	resp, err := c.request(ctx, http.MethodPost, path, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 64<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var e api.StatusError
		if json.Unmarshal(line, &e) == nil && e.ErrorMessage != "" {
			e.StatusCode = resp.StatusCode
			return e
		}
		var v T
		if err := json.Unmarshal(line, &v); err != nil {
			return fmt.Errorf("client: decode %s line: %w", path, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("client: read %s stream: %w", path, err)
	}
	return nil
}

// Heartbeat checks that the server answers.
func (c *Client) Heartbeat(ctx context.Context) error {
	return c.do(ctx, http.MethodHead, "/", nil, nil)
}

// Version returns the server's version.
func (c *Client) Version(ctx context.Context) (string, error) {
	var v api.VersionResponse
	err := c.do(ctx, http.MethodGet, "/api/version", nil, &v)
	return v.Version, err
}

// Generate runs /api/generate, calling fn for each streamed response (once
// when req.Stream is false).
func (c *Client) Generate(ctx context.Context, req *api.GenerateRequest, fn func(api.GenerateResponse) error) error {
	return stream(ctx, c, "/api/generate", req, fn)
}

// Chat runs /api/chat, calling fn for each streamed response.
func (c *Client) Chat(ctx context.Context, req *api.ChatRequest, fn func(api.ChatResponse) error) error {
	return stream(ctx, c, "/api/chat", req, fn)
}

// Create runs /api/create, calling fn with each progress line.
func (c *Client) Create(ctx context.Context, req *api.CreateRequest, fn func(api.ProgressResponse) error) error {
	return stream(ctx, c, "/api/create", req, fn)
}

// Pull runs /api/pull, calling fn with each progress line.
func (c *Client) Pull(ctx context.Context, req *api.PullRequest, fn func(api.ProgressResponse) error) error {
	return stream(ctx, c, "/api/pull", req, fn)
}

// Embed runs /api/embed.
func (c *Client) Embed(ctx context.Context, req *api.EmbedRequest) (*api.EmbedResponse, error) {
	var r api.EmbedResponse
	return &r, c.do(ctx, http.MethodPost, "/api/embed", req, &r)
}

// List returns the models in the store (/api/tags).
func (c *Client) List(ctx context.Context) (*api.ListResponse, error) {
	var r api.ListResponse
	return &r, c.do(ctx, http.MethodGet, "/api/tags", nil, &r)
}

// ListRunning returns the loaded models (/api/ps).
func (c *Client) ListRunning(ctx context.Context) (*api.ProcessResponse, error) {
	var r api.ProcessResponse
	return &r, c.do(ctx, http.MethodGet, "/api/ps", nil, &r)
}

// Show describes a model (/api/show).
func (c *Client) Show(ctx context.Context, req *api.ShowRequest) (*api.ShowResponse, error) {
	var r api.ShowResponse
	return &r, c.do(ctx, http.MethodPost, "/api/show", req, &r)
}

// Copy gives a model another name (/api/copy).
func (c *Client) Copy(ctx context.Context, req *api.CopyRequest) error {
	return c.do(ctx, http.MethodPost, "/api/copy", req, nil)
}

// Delete removes a model (/api/delete).
func (c *Client) Delete(ctx context.Context, req *api.DeleteRequest) error {
	return c.do(ctx, http.MethodDelete, "/api/delete", req, nil)
}

// CreateBlob uploads a blob whose sha256 digest is digest
// ("sha256:<hex>"), unless the server has it already.
func (c *Client) CreateBlob(ctx context.Context, digest string, r io.Reader) error {
	err := c.do(ctx, http.MethodHead, "/api/blobs/"+digest, nil, nil)
	var se api.StatusError
	if err == nil {
		return nil
	}
	if !errors.As(err, &se) || se.StatusCode != http.StatusNotFound {
		return err
	}
	return c.do(ctx, http.MethodPost, "/api/blobs/"+digest, r, nil)
}

// Tokenize runs /api/tokenize.
func (c *Client) Tokenize(ctx context.Context, req *api.TokenizeRequest) (*api.TokenizeResponse, error) {
	var r api.TokenizeResponse
	return &r, c.do(ctx, http.MethodPost, "/api/tokenize", req, &r)
}

// Detokenize runs /api/detokenize.
func (c *Client) Detokenize(ctx context.Context, req *api.DetokenizeRequest) (*api.DetokenizeResponse, error) {
	var r api.DetokenizeResponse
	return &r, c.do(ctx, http.MethodPost, "/api/detokenize", req, &r)
}
