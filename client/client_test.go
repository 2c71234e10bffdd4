package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"golem/api"
	"golem/internal/fixtures"
	"golem/server"
	"golem/store"
)

// TestClient drives a real server over HTTP: upload a GGUF blob, create a
// model from it, list, show, generate (streamed), chat, tokenize, copy,
// delete, and the error paths.
func TestClient(t *testing.T) {
	path := fixtures.Path(t, "models/stories260K.gguf")
	st, err := store.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: st, APIKey: "k", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	defer srv.Close()
	c, err := New(ts.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Heartbeat(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.List(ctx); !isStatus(err, 401) {
		t.Fatalf("without the key: %v", err)
	}
	c.SetAPIKey("k")

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	digest := "sha256:" + hex.EncodeToString(sum[:])
	if err := c.CreateBlob(ctx, digest, strings.NewReader(string(data))); err != nil {
		t.Fatal(err)
	}
	var statuses []string
	err = c.Create(ctx, &api.CreateRequest{Model: "stories", Files: map[string]string{"s.gguf": digest},
		Parameters: map[string]any{"temperature": 0}}, func(p api.ProgressResponse) error {
		statuses = append(statuses, p.Status)
		return nil
	})
	if err != nil || statuses[len(statuses)-1] != "success" {
		t.Fatalf("create: %v %v", statuses, err)
	}
	list, err := c.List(ctx)
	if err != nil || len(list.Models) != 1 || list.Models[0].Name != "stories:latest" {
		t.Fatalf("list: %+v %v", list, err)
	}

	var text strings.Builder
	var last api.GenerateResponse
	err = c.Generate(ctx, &api.GenerateRequest{Model: "stories", Prompt: "Once upon a time", Options: map[string]any{"num_predict": 12}},
		func(r api.GenerateResponse) error { text.WriteString(r.Response); last = r; return nil })
	if err != nil || !last.Done || last.EvalCount != 12 || text.Len() == 0 {
		t.Fatalf("generate: %q %+v %v", text.String(), last, err)
	}
	// Temperature 0 from the model's parameters: the same text again.
	var again strings.Builder
	f := false
	err = c.Generate(ctx, &api.GenerateRequest{Model: "stories", Prompt: "Once upon a time", Stream: &f, Options: map[string]any{"num_predict": 12}},
		func(r api.GenerateResponse) error { again.WriteString(r.Response); return nil })
	if err != nil || again.String() != text.String() {
		t.Errorf("second generate %q vs %q (%v)", again.String(), text.String(), err)
	}
	var chatLast api.ChatResponse
	err = c.Chat(ctx, &api.ChatRequest{Model: "stories", Messages: []api.Message{{Role: "user", Content: "Hi"}}, Options: map[string]any{"num_predict": 3}},
		func(r api.ChatResponse) error { chatLast = r; return nil })
	if err != nil || !chatLast.Done {
		t.Errorf("chat: %+v %v", chatLast, err)
	}
	tok, err := c.Tokenize(ctx, &api.TokenizeRequest{Model: "stories", Content: "Once upon a time"})
	if err != nil || len(tok.Tokens) != 5 {
		t.Errorf("tokenize: %+v %v", tok, err)
	}
	ps, err := c.ListRunning(ctx)
	if err != nil || len(ps.Models) != 1 {
		t.Errorf("ps: %+v %v", ps, err)
	}
	if err := c.Copy(ctx, &api.CopyRequest{Source: "stories", Destination: "tales"}); err != nil {
		t.Error(err)
	}
	if err := c.Delete(ctx, &api.DeleteRequest{Model: "tales"}); err != nil {
		t.Error(err)
	}
	if _, err := c.Show(ctx, &api.ShowRequest{Model: "tales"}); !isStatus(err, 404) || !strings.Contains(err.Error(), "not found") {
		t.Errorf("show deleted: %v", err)
	}
	err = c.Generate(ctx, &api.GenerateRequest{Model: "stories", Prompt: strings.Repeat("Once upon a time ", 100), Options: map[string]any{"num_ctx": 64}},
		func(api.GenerateResponse) error { return nil })
	if !isStatus(err, 400) {
		t.Errorf("long prompt: %v", err)
	}
}

func isStatus(err error, code int) bool {
	var se api.StatusError
	return errors.As(err, &se) && se.StatusCode == code
}

func TestFromEnv(t *testing.T) {
	for _, tc := range []struct{ golem, want string }{
		{"", "http://127.0.0.1:11434"},
		{"0.0.0.0:8080", "http://127.0.0.1:8080"},
		{"https://example.com", "https://example.com:443"},
		{"example.com", "http://example.com:11434"},
	} {
		t.Setenv("GOLEM_HOST", tc.golem)
		c, err := FromEnv()
		if err != nil || c.URL() != tc.want {
			t.Errorf("GOLEM_HOST=%q: %v %v, want %s", tc.golem, c.URL(), err, tc.want)
		}
	}
}
