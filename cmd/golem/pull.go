package main

// `golem pull NAME [--insecure]` and `golem push NAME [--insecure]`: move
// models between the local store and a registry (the Ollama registry,
// Hugging Face GGUF repos as hf.co/user/repo[:quant], or any OCI
// distribution registry), with a progress bar per layer on stderr.

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"golem/api"
	"golem/registry"
)

func newPullCmd() *cobra.Command {
	var insecure bool
	cmd := &cobra.Command{
		Use:   "pull NAME",
		Short: "Download a model from a registry",
		Long: "Download a model into the store. NAME is [host/][namespace/]model[:tag]\n" +
			"(default registry.ollama.ai/library/...:latest), or\n" +
			"hf.co/user/repo[:quant] for a Hugging Face GGUF repository.\n" +
			"An interrupted pull resumes where it stopped. Credentials for private\n" +
			"registries come from GOLEM_REGISTRY_AUTH or $GOLEM_HOME/auth.json.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return transfer(cmd, args[0], insecure, true)
		},
	}
	cmd.Flags().BoolVar(&insecure, "insecure", false, "use plain HTTP instead of HTTPS")
	return cmd
}

func newPushCmd() *cobra.Command {
	var insecure bool
	cmd := &cobra.Command{
		Use:   "push NAME",
		Short: "Upload a model to a registry",
		Long: "Upload a model from the store to the registry its name points at\n" +
			"(host/namespace/model:tag; copy a model to such a name first with\n" +
			"`golem cp`). Blobs the registry already has are skipped.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return transfer(cmd, args[0], insecure, false)
		},
	}
	cmd.Flags().BoolVar(&insecure, "insecure", false, "use plain HTTP instead of HTTPS")
	return cmd
}

// transfer runs a pull or push of name, showing progress on stderr.
// Ctrl-C stops it cleanly (a pull keeps its partial downloads).
func transfer(cmd *cobra.Command, name string, insecure, pull bool) error {
	st, err := openStore()
	if err != nil {
		return err
	}
	parent := cmd.Context()
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt)
	defer stop()
	bar := newProgressBar(cmd.ErrOrStderr(), isTerminal(cmd.ErrOrStderr()))
	c := &registry.Client{Insecure: insecure, UserAgent: "golem/" + version}
	if pull {
		err = c.Pull(ctx, st, name, bar.update)
	} else {
		err = c.Push(ctx, st, name, bar.update)
	}
	bar.finish()
	return err
}

// isTerminal reports whether w is a character device (a terminal), where
// the bar redraws in place.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progressBar renders progress lines: one line per status; a layer's line
// shows a bar, bytes done and total, speed and ETA, redrawn in place on a
// terminal (elsewhere it is printed when the layer starts and ends).
type progressBar struct {
	w    io.Writer
	tty  bool
	now  func() time.Time
	cur  string // status of the current line
	open bool   // the current line has no newline yet
	// speed estimate of the current layer
	start     time.Time
	startDone int64
	printed   bool // non-tty: the layer's first line is out
	doneShown bool // non-tty: the layer's finished line is out
}

func newProgressBar(w io.Writer, tty bool) *progressBar {
	return &progressBar{w: w, tty: tty, now: time.Now}
}

func (b *progressBar) update(p api.ProgressResponse) {
	if p.Status != b.cur {
		b.endLine()
		b.cur = p.Status
		b.start, b.startDone, b.printed, b.doneShown = b.now(), p.Completed, false, false
	}
	if p.Total <= 0 {
		fmt.Fprintln(b.w, p.Status)
		return
	}
	line := b.render(p)
	switch {
	case b.tty:
		fmt.Fprintf(b.w, "\r%s\x1b[K", line)
		b.open = true
	case !b.printed || p.Completed >= p.Total && !b.doneShown:
		fmt.Fprintln(b.w, line)
		b.printed = true
		b.doneShown = p.Completed >= p.Total
	}
}

// render formats "pulling 1a2b3c4d5e6f:  45% ▕██████    ▏ 523 MB/1.2 GB  12 MB/s  1m2s".
func (b *progressBar) render(p api.ProgressResponse) string {
	pct := float64(p.Completed) / float64(p.Total)
	pct = min(max(pct, 0), 1)
	const width = 25
	fill := int(pct * width)
	bar := strings.Repeat("█", fill) + strings.Repeat(" ", width-fill)
	s := fmt.Sprintf("%s: %3d%% ▕%s▏ %s/%s", p.Status, int(pct*100), bar, humanBytes(p.Completed), humanBytes(p.Total))
	el := b.now().Sub(b.start)
	if moved := p.Completed - b.startDone; el > 500*time.Millisecond && moved > 0 && p.Completed < p.Total {
		rate := float64(moved) / el.Seconds()
		eta := time.Duration(float64(p.Total-p.Completed) / rate * float64(time.Second))
		s += fmt.Sprintf("  %s/s  %s", humanBytes(int64(rate)), eta.Round(time.Second))
	}
	return s
}

func (b *progressBar) endLine() {
	if b.open {
		fmt.Fprintln(b.w)
		b.open = false
	}
}

func (b *progressBar) finish() { b.endLine() }
