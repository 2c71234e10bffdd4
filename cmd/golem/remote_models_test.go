package main

import (
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golem/internal/fixtures"
	"golem/server"
	"golem/store"
)

// remoteStore serves an empty temporary store with server.New on an
// httptest server, points GOLEM_HOST at it and GOLEM_MODELS at a second,
// local store, so that a command that wrongly works offline shows up in
// the local store. It returns both.
func remoteStore(t *testing.T) (srvStore, local *store.Store) {
	t.Helper()
	srvStore, err := store.Open(filepath.Join(t.TempDir(), "server-models"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Store: srvStore, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	local = newTestStore(t)
	t.Setenv("GOLEM_HOST", ts.URL)
	return srvStore, local
}

// storeNames lists a store's models by display name, failing the test on
// error.
func storeNames(t *testing.T, s *store.Store) map[string]string {
	t.Helper()
	ms, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, m := range ms {
		out[m.Name.Display()] = m.Digest
	}
	return out
}

// TestStoreCommandsThroughServer creates a model through a server from the
// stories260K fixture (FROM a relative path, PARAMETER, SYSTEM, LICENSE,
// MESSAGE), then lists, shows, copies and removes it through the server,
// checking the server's store, that the local store is never touched, and
// that the result is what an offline create and show give.
func TestStoreCommandsThroughServer(t *testing.T) {
	weights := fixtures.Path(t, "models/stories260K.gguf")
	dir := t.TempDir()
	rel, err := filepath.Rel(dir, weights)
	if err != nil {
		t.Fatal(err)
	}
	mf := writeFile(t, filepath.Join(dir, "Modelfile"), "FROM "+rel+"\n"+
		"PARAMETER temperature 0.5\nPARAMETER num_ctx 128\nPARAMETER stop <|end|>\nPARAMETER stop \"###\"\n"+
		"SYSTEM \"\"\"You tell short stories.\nAbout cats.\"\"\"\nLICENSE MIT\nMESSAGE user Hello\nMESSAGE assistant Once upon a time\n")

	// The same Modelfile created offline, for reference.
	offline := newTestStore(t)
	if _, log, err := golem(t, "create", "stories-srv", "-f", mf); err != nil {
		t.Fatalf("offline create: %v\n%s", err, log)
	}
	offlineDigest := storeNames(t, offline)["stories-srv:latest"]
	if offlineDigest == "" {
		t.Fatalf("offline create left %v", storeNames(t, offline))
	}
	var offlineShow = map[string]string{}
	for _, flag := range []string{"", "--parameters", "--system", "--license", "--template"} {
		args := []string{"show", "stories-srv"}
		if flag != "" {
			args = append(args, flag)
		}
		out, _, err := cli(t, "", args...)
		if err != nil {
			t.Fatalf("offline %v: %v", args, err)
		}
		offlineShow[flag] = out
	}

	srvStore, local := remoteStore(t)

	// create uploads the weights, then streams the server's statuses.
	_, log, err := cli(t, "", "create", "stories-srv", "-f", mf)
	if err != nil {
		t.Fatalf("create through the server: %v\n%s", err, log)
	}
	for _, want := range []string{"copying file " + fileDigest(t, weights), "gathering model components", "writing manifest", "success"} {
		if !strings.Contains(log, want) {
			t.Errorf("create's progress lacks %q:\n%s", want, log)
		}
	}
	got := storeNames(t, srvStore)
	if got["stories-srv:latest"] != offlineDigest {
		t.Errorf("server's manifest digest %q, offline create gives %q", got["stories-srv:latest"], offlineDigest)
	}
	if n := storeNames(t, local); len(n) != 0 {
		t.Errorf("create through the server wrote the local store: %v", n)
	}

	// A second create finds the blob on the server and uploads nothing.
	_, log, err = cli(t, "", "create", "stories-again", "-f", mf)
	if err != nil {
		t.Fatalf("second create: %v\n%s", err, log)
	}
	if strings.Contains(log, "copying file") {
		t.Errorf("second create uploaded the weights again:\n%s", log)
	}
	// FROM a model name goes to the server as from.
	from := writeFile(t, filepath.Join(dir, "From.Modelfile"), "FROM stories-srv\nPARAMETER temperature 0.9\n")
	if _, log, err := cli(t, "", "create", "stories-hot", "-f", from); err != nil {
		t.Fatalf("create FROM a model: %v\n%s", err, log)
	}

	// list shows the server's models with their IDs.
	out, _, err := cli(t, "", "list")
	if err != nil {
		t.Fatal(err)
	}
	got = storeNames(t, srvStore)
	if len(got) != 3 {
		t.Fatalf("server store holds %v, want 3 models", got)
	}
	for name, digest := range got {
		id := strings.TrimPrefix(digest, "sha256:")[:12]
		if !strings.Contains(out, name) || !strings.Contains(out, id) {
			t.Errorf("list lacks %s %s:\n%s", name, id, out)
		}
	}
	if !strings.HasPrefix(out, "NAME") || strings.Count(out, "\n") != 4 {
		t.Errorf("list output:\n%s", out)
	}
	out, _, _ = cli(t, "", "list", "stories-h")
	if !strings.Contains(out, "stories-hot:latest") || strings.Contains(out, "stories-srv") {
		t.Errorf("list stories-h:\n%s", out)
	}

	// show prints what the offline show prints.
	for flag, want := range offlineShow {
		args := []string{"show", "stories-srv"}
		if flag != "" {
			args = append(args, flag)
		}
		out, _, err := cli(t, "", args...)
		if err != nil {
			t.Errorf("%v through the server: %v", args, err)
			continue
		}
		if out != want {
			t.Errorf("%v through the server:\n%s\noffline:\n%s", args, out, want)
		}
	}
	out, _, err = cli(t, "", "show", "stories-srv", "-v")
	if err != nil || !strings.Contains(out, "  Metadata\n") || !regexp.MustCompile(`(?m)^ +general\.architecture +llama$`).MatchString(out) {
		t.Errorf("show -v through the server: %v\n%s", err, out)
	}
	out, _, err = cli(t, "", "show", "stories-hot", "--modelfile")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM ", "PARAMETER temperature 0.9", "SYSTEM "} {
		if !strings.Contains(out, want) {
			t.Errorf("show --modelfile lacks %q:\n%s", want, out)
		}
	}

	// cp and rm change the server's store.
	if out, _, err := cli(t, "", "cp", "stories-srv", "stories-copy"); err != nil || out != "copied 'stories-srv' to 'stories-copy'\n" {
		t.Fatalf("cp: %q, %v", out, err)
	}
	if d := storeNames(t, srvStore)["stories-copy:latest"]; d != offlineDigest {
		t.Errorf("copy's digest %q, want %q", d, offlineDigest)
	}
	_, _, err = cli(t, "", "rm", "stories-copy", "no-such-model")
	if !errors.Is(err, store.ErrNotFound) || !strings.Contains(err.Error(), `"no-such-model"`) {
		t.Errorf("rm of an unknown name: %v", err)
	}
	if _, ok := storeNames(t, srvStore)["stories-copy:latest"]; !ok {
		t.Error("rm with an unknown name removed the known one")
	}
	if out, _, err := cli(t, "", "rm", "stories-copy", "stories-again"); err != nil || out != "deleted 'stories-copy'\ndeleted 'stories-again'\n" {
		t.Fatalf("rm: %q, %v", out, err)
	}
	got = storeNames(t, srvStore)
	if len(got) != 2 || got["stories-srv:latest"] == "" || got["stories-hot:latest"] == "" {
		t.Errorf("after rm the server holds %v", got)
	}
	if n := storeNames(t, local); len(n) != 0 {
		t.Errorf("the commands wrote the local store: %v", n)
	}
}

// TestStoreCommandsThroughServerErrors: unknown models and bad input give
// clear errors through the server, as offline.
func TestStoreCommandsThroughServerErrors(t *testing.T) {
	srvStore, _ := remoteStore(t)
	dir := t.TempDir()
	cases := []struct {
		args []string
		want string
		is   error
	}{
		{[]string{"show", "nope"}, "model not found", store.ErrNotFound},
		{[]string{"cp", "nope", "other"}, "model not found", store.ErrNotFound},
		{[]string{"rm", "nope"}, `"nope"`, store.ErrNotFound},
		{[]string{"create", "x", "-f", filepath.Join(dir, "missing")}, "no Modelfile at", nil},
		{[]string{"create", "x", "-f", writeFile(t, filepath.Join(dir, "a"), "FROM no-such-model\n")}, "no-such-model", nil},
		{[]string{"create", "x", "-f", writeFile(t, filepath.Join(dir, "b"), "FROM ./Modelfile\n")}, "", nil},
		{[]string{"create", "x", "-q", "q9_Z", "-f", writeFile(t, filepath.Join(dir, "c"), "FROM y\n")}, "", nil},
	}
	writeFile(t, filepath.Join(dir, "Modelfile"), "not a gguf")
	for _, c := range cases {
		_, _, err := cli(t, "", c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
	if n := storeNames(t, srvStore); len(n) != 0 {
		t.Errorf("failed commands left %v on the server", n)
	}
	if _, err := os.Stat(srvStore.Dir()); err != nil {
		t.Fatal(err)
	}
}
