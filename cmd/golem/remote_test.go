package main

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/api"
	"golem/internal/fixtures"
	"golem/server"
)

// TestMain points GOLEM_HOST at a port nothing listens on, so that the
// direct-mode tests of `golem run` stay in-process even when a server
// runs on the default port of the test machine; the tests of the server
// mode set it to their own httptest server.
func TestMain(m *testing.M) {
	os.Setenv("GOLEM_HOST", "127.0.0.1:1")
	os.Exit(m.Run())
}

// cli runs the golem command line in-process on stdin and returns its
// stdout and stderr.
func cli(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

// storiesServer creates models from stories260K in a temporary store
// (name → Modelfile lines after FROM), serves that store with server.New
// on an httptest server and points GOLEM_HOST at it.
func storiesServer(t *testing.T, mods map[string]string) (weights string) {
	t.Helper()
	st := newTestStore(t)
	weights = fixtures.Path(t, "models/stories260K.gguf")
	dir := t.TempDir()
	for name, body := range mods {
		mf := writeFile(t, filepath.Join(dir, name+".Modelfile"), "FROM "+weights+"\n"+body)
		if _, log, err := golem(t, "create", name, "-f", mf); err != nil {
			t.Fatalf("create %s: %v\n%s", name, err, log)
		}
	}
	srv, err := server.New(server.Config{Store: st, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	t.Setenv("GOLEM_HOST", ts.URL)
	return weights
}

// TestNoServer: ps and stop without a server say how to start one.
func TestNoServer(t *testing.T) {
	for _, args := range [][]string{{"ps"}, {"stop", "stories"}} {
		_, _, err := cli(t, "", args...)
		want := "no golem server at http://127.0.0.1:1: start one with `golem serve`"
		if err == nil || err.Error() != want {
			t.Errorf("%v without a server: %v, want %q", args, err, want)
		}
	}
}

// TestRunThroughServer runs a stored model through `golem serve`: greedy
// output must be llama.cpp's, flags must override PARAMETERs, the model
// must show in ps until stop unloads it.
func TestRunThroughServer(t *testing.T) {
	storiesServer(t, map[string]string{
		"plain": "PARAMETER temperature 0\nPARAMETER num_predict 16\nTEMPLATE \"{{ .Prompt }}\"\n",
	})
	want16 := storiesGolden(t, 16)
	out, _, err := cli(t, "", "run", "plain", "Once upon a time")
	if err != nil {
		t.Fatal(err)
	}
	if out != want16+"\n" {
		t.Errorf("run plain through the server printed\n%q\nllama.cpp's first 16 tokens\n%q", out, want16)
	}
	// Piped stdin is the prompt; --num-predict overrides the PARAMETER;
	// --verbose prints the final response's stats.
	out, errOut, err := cli(t, "Once upon a time\n", "run", "--num-predict", "4", "--verbose", "plain")
	if err != nil {
		t.Fatal(err)
	}
	if want := storiesGolden(t, 4) + "\n"; out != want {
		t.Errorf("--num-predict 4 through the server printed %q, want %q", out, want)
	}
	for _, re := range []string{`(?m)^total duration: +\S+`, `(?m)^load duration: +\S+`,
		`(?m)^prompt eval count: +[1-9]\d* token\(s\)$`, `(?m)^prompt eval rate: +[\d.]+ tokens/s$`,
		`(?m)^eval count: +4 token\(s\)$`, `(?m)^eval duration: +\S+`, `(?m)^eval rate: +[\d.]+ tokens/s$`} {
		if !regexp.MustCompile(re).MatchString(errOut) {
			t.Errorf("--verbose stats lack %s:\n%s", re, errOut)
		}
	}

	out, _, err = cli(t, "", "ps")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 || !regexp.MustCompile(`^NAME +ID +SIZE +PROCESSOR +CONTEXT +UNTIL`).MatchString(lines[0]) ||
		!regexp.MustCompile(`^plain:latest +[0-9a-f]{12} +\S+ [KMG]?B +100% CPU +\d+ +\d+ minutes from now`).MatchString(lines[1]) {
		t.Errorf("ps printed\n%s", out)
	}
	if _, _, err := cli(t, "", "stop", "plain"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		out, _, err = cli(t, "", "ps")
		if err != nil {
			t.Fatal(err)
		}
		if strings.Count(strings.TrimSpace(out), "\n") == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after stop, ps still printed\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, _, err := cli(t, "", "run", "nosuch", "hi"); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("run of a missing model through the server: %v", err)
	}
}

// TestRunRequestFields checks what `golem run` sends: only the flags the
// user set, under the API's option names, and --format, --keepalive,
// --system and --raw in their fields.
func TestRunRequestFields(t *testing.T) {
	var mu sync.Mutex
	var got map[string]any
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/version":
			io.WriteString(w, `{"version":"0.0.0"}`)
		case "/api/generate":
			mu.Lock()
			got = nil
			json.NewDecoder(r.Body).Decode(&got)
			mu.Unlock()
			io.WriteString(w, `{"response":"Hello","done":false}`+"\n"+`{"response":" there","done":true,"eval_count":2,"eval_duration":1000000000}`+"\n")
		default:
			http.NotFound(w, r)
		}
	}))
	defer ts.Close()
	t.Setenv("GOLEM_HOST", ts.URL)
	for _, c := range []struct {
		args []string
		want map[string]any
	}{
		{[]string{"run", "m", "hi"}, map[string]any{"model": "m", "prompt": "hi"}},
		{[]string{"run", "--temperature", "0.5", "--top-k", "7", "--num-ctx", "256", "--stop", "a", "--stop", "b", "--seed", "3", "m", "hi"},
			map[string]any{"model": "m", "prompt": "hi", "options": map[string]any{
				"temperature": 0.5, "top_k": 7.0, "num_ctx": 256.0, "stop": []any{"a", "b"}, "seed": 3.0}}},
		{[]string{"run", "--format", "json", "--keepalive", "10m", "--system", "S", "--raw", "m", "hi"},
			map[string]any{"model": "m", "prompt": "hi", "format": "json", "keep_alive": "10m0s", "system": "S", "raw": true}},
		{[]string{"run", "--keepalive", "-1", "m", "hi"}, map[string]any{"model": "m", "prompt": "hi", "keep_alive": -1.0}},
	} {
		out, _, err := cli(t, "", c.args...)
		if err != nil {
			t.Fatalf("%v: %v", c.args, err)
		}
		if out != "Hello there\n" {
			t.Errorf("%v printed %q", c.args, out)
		}
		mu.Lock()
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(c.want)
		mu.Unlock()
		if !bytes.Equal(g, w) {
			t.Errorf("%v sent\n%s\nwant\n%s", c.args, g, w)
		}
	}
	if _, _, err := cli(t, "", "run", "--format", "yaml", "m", "hi"); err == nil {
		t.Error("--format yaml was accepted")
	}
}

// TestREPL drives the interactive chat with a scripted stdin against a
// server holding stories260K without PARAMETERs: /set parameter must make
// it greedy (llama.cpp's text), /save must store the session, and the
// other commands must do what they say.
func TestREPL(t *testing.T) {
	weights := storiesServer(t, map[string]string{"bare": "TEMPLATE \"{{ .Prompt }}\"\n"})
	prev := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { stdinIsTerminal = prev })

	script := strings.Join([]string{
		"/set parameter temperature 0",
		"/set parameter num_predict 16",
		"Once upon a time",
		"/show parameters",
		"/set system Be brief.",
		"/show system",
		"/save session",
		"/clear",
		`"""Once upon`,
		`a time"""`,
		"/save session2",
		"/load nosuch",
		"/frobnicate",
		"/bye",
		"never read",
	}, "\n") + "\n"
	out, errOut, err := cli(t, script, "run", "--nowordwrap", "bare")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want16 := storiesGolden(t, 16)
	raw, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", "16", weights, "Once upon\na time")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		">>> Set parameter 'temperature' to '0'\n",
		">>> Set parameter 'num_predict' to '16'\n",
		">>> " + want16 + "\n\n",
		"User defined parameters:\nnum_predict                    16\ntemperature                    0\n",
		">>> Set system message.\n>>> Be brief.\n",
		">>> Created new model 'session'\n",
		">>> Cleared session context\n",
		">>> ... " + strings.TrimSuffix(raw, "\n") + "\n\n",
		">>> Loading model 'nosuch'\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("REPL output lacks %q:\n%s", want, out)
		}
	}
	// 14 lines up to /bye, two of them one multi-line message.
	if strings.Count(out, ">>> ") != 13 || strings.Count(out, "... ") != 1 {
		t.Errorf("REPL prompted %d times, want 13 (up to /bye):\n%s", strings.Count(out, ">>> "), out)
	}
	if !strings.Contains(errOut, `"nosuch"`) || !strings.Contains(errOut, `unknown command "/frobnicate"`) {
		t.Errorf("REPL errors:\n%s", errOut)
	}

	// The saved model carries the parameters, the system message and the
	// conversation.
	c, err := serverClient(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	sh, err := c.Show(t.Context(), &api.ShowRequest{Model: "session"})
	if err != nil {
		t.Fatal(err)
	}
	if sh.System != "Be brief." || !regexp.MustCompile(`(?m)^temperature +0$`).MatchString(sh.Parameters) ||
		!regexp.MustCompile(`(?m)^num_predict +16$`).MatchString(sh.Parameters) ||
		len(sh.Messages) != 2 || sh.Messages[0].Content != "Once upon a time" || sh.Messages[1].Content != want16 {
		t.Errorf("saved session: system %q, parameters %q, messages %+v", sh.System, sh.Parameters, sh.Messages)
	}
	// The multi-line message kept its line break.
	sh, err = c.Show(t.Context(), &api.ShowRequest{Model: "session2"})
	if err != nil {
		t.Fatal(err)
	}
	if len(sh.Messages) != 2 || sh.Messages[0].Content != "Once upon\na time" {
		t.Errorf("session after /clear and a multi-line message: %+v", sh.Messages)
	}
}

// TestWrapWriter checks word wrapping of streamed pieces.
func TestWrapWriter(t *testing.T) {
	for _, c := range []struct {
		width  int
		pieces []string
		want   string
	}{
		{0, []string{"a long line ", "that is not wrapped"}, "a long line that is not wrapped"},
		{10, []string{"Once upon a time there", " was a dog"}, "Once upon\na time\nthere was\na dog"},
		{10, []string{"abc\ndef ghi"}, "abc\ndef ghi"},
		{5, []string{"incomprehensible words"}, "incomprehensible\nwords"},
		{6, []string{"héllo wörld"}, "héllo\nwörld"},
	} {
		var b strings.Builder
		ww := &wrapWriter{w: &b, width: c.width}
		for _, p := range c.pieces {
			ww.write(p)
		}
		ww.flush()
		if b.String() != c.want {
			t.Errorf("width %d %q: %q, want %q", c.width, c.pieces, b.String(), c.want)
		}
	}
}

// TestParseParamValue checks the typing of /set parameter values.
func TestParseParamValue(t *testing.T) {
	for _, c := range []struct {
		in   string
		want any
	}{{"0", int64(0)}, {"16", int64(16)}, {"0.7", 0.7}, {"true", true}, {"<|end|>", "<|end|>"}} {
		if got := parseParamValue(c.in); got != c.want {
			t.Errorf("parseParamValue(%q) = %#v, want %#v", c.in, got, c.want)
		}
	}
}

// TestPrintPs checks ps's PROCESSOR and UNTIL columns.
func TestPrintPs(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		m    api.ProcessModelResponse
		want string
	}{
		{api.ProcessModelResponse{Name: "a:latest", Digest: "sha256:0123456789abcdef", Size: 2_500_000, ContextLength: 2048, ExpiresAt: now.Add(4*time.Minute + 30*time.Second)},
			"a:latest    0123456789ab    2.5 MB    100% CPU    2048    4 minutes from now"},
		{api.ProcessModelResponse{Name: "b", Digest: "ff", Size: 1000, SizeVRAM: 1000, ExpiresAt: now.Add(api.Forever)},
			"b           ff              1 KB    100% GPU    0       Forever"},
		{api.ProcessModelResponse{Name: "c", Size: 1000, SizeVRAM: 250, ExpiresAt: now.Add(-time.Second)},
			"c                           1 KB    75%/25% CPU/GPU    0    Stopping..."},
	} {
		var b strings.Builder
		if err := printPs(&b, []api.ProcessModelResponse{c.m}, now); err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
		if len(lines) != 2 || strings.Join(strings.Fields(lines[1]), " ") != strings.Join(strings.Fields(c.want), " ") {
			t.Errorf("%s: ps printed\n%s\nwant row %q", c.m.Name, b.String(), c.want)
		}
	}
}
