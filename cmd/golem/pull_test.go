package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"golem/api"
)

// TestProgressBar feeds a pull's progress lines to the bar with a fake
// clock and checks the text: a terminal gets in-place redraws with speed
// and ETA, a log gets each layer's first and last line only.
func TestProgressBar(t *testing.T) {
	const d = "sha256:2af3b81862c6be03c769683af18efdadb2c33f60ff32ab6f83e42c043d6c7816"
	lines := []api.ProgressResponse{
		{Status: "pulling manifest"},
		{Status: "pulling 2af3b81862c6", Digest: d, Total: 100e6},
		{Status: "pulling 2af3b81862c6", Digest: d, Total: 100e6, Completed: 25e6},
		{Status: "pulling 2af3b81862c6", Digest: d, Total: 100e6, Completed: 50e6},
		{Status: "pulling 2af3b81862c6", Digest: d, Total: 100e6, Completed: 100e6},
		{Status: "pulling 2af3b81862c6", Digest: d, Total: 100e6, Completed: 100e6},
		{Status: "verifying sha256 digest"},
		{Status: "success"},
	}
	run := func(tty bool) string {
		var buf bytes.Buffer
		b := newProgressBar(&buf, tty)
		now := time.Unix(0, 0)
		b.now = func() time.Time { return now }
		for _, l := range lines {
			b.update(l)
			now = now.Add(time.Second)
		}
		b.finish()
		return buf.String()
	}

	tty := run(true)
	for _, want := range []string{
		"pulling manifest\n",
		"\rpulling 2af3b81862c6:   0% ▕                         ▏ 0 B/100 MB\x1b[K",
		// 25 MB after 1 s: 25 MB/s, 75 MB left: 3 s.
		"\rpulling 2af3b81862c6:  25% ▕██████                   ▏ 25 MB/100 MB  25 MB/s  3s\x1b[K",
		"\rpulling 2af3b81862c6:  50% ▕████████████             ▏ 50 MB/100 MB  25 MB/s  2s\x1b[K",
		"\rpulling 2af3b81862c6: 100% ▕█████████████████████████▏ 100 MB/100 MB\x1b[K\nverifying sha256 digest\nsuccess\n",
	} {
		if !strings.Contains(tty, want) {
			t.Errorf("terminal output lacks %q:\n%q", want, tty)
		}
	}

	log := run(false)
	want := "pulling manifest\n" +
		"pulling 2af3b81862c6:   0% ▕                         ▏ 0 B/100 MB\n" +
		"pulling 2af3b81862c6: 100% ▕█████████████████████████▏ 100 MB/100 MB\n" +
		"verifying sha256 digest\nsuccess\n"
	if log != want {
		t.Errorf("log output:\n%s\nwant:\n%s", log, want)
	}
}

// TestPushUnknownModel checks the command's wiring without a network: a
// push of a model the store lacks fails before any request.
func TestPushUnknownModel(t *testing.T) {
	t.Setenv("GOLEM_MODELS", t.TempDir())
	cmd := newPushCmd()
	var stderr bytes.Buffer
	cmd.SetErr(&stderr)
	cmd.SetOut(&stderr)
	cmd.SetArgs([]string{"reg.example/ns/nosuch:v1", "--insecure"})
	err := cmd.Execute()
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("push of an unknown model: %v", err)
	}
	pull := newPullCmd()
	pull.SetErr(&stderr)
	pull.SetOut(&stderr)
	pull.SetArgs([]string{})
	if err := pull.Execute(); err == nil {
		t.Error("pull without a name succeeded")
	}
}
