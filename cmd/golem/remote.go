package main

// This file holds the CLI's client side of `golem serve`: finding a
// server, mapping the run flags to the API's options, and streaming a
// one-shot generation through /api/generate.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"golem/api"
	"golem/client"
	"golem/sample"
)

// probeTimeout bounds the /api/version probe `golem run` makes before
// choosing between the server and direct mode: a local server answers in
// well under a millisecond, and a missing one should not delay direct mode.
const probeTimeout = 500 * time.Millisecond

// serverClient returns a client of the server at GOLEM_HOST (or
// OLLAMA_HOST) and checks that it answers; when none does the error says
// how to start one.
func serverClient(ctx context.Context) (*client.Client, error) {
	c, err := client.FromEnv()
	if err != nil {
		return nil, err
	}
	if err := probe(ctx, c); err != nil {
		return nil, noServerError(c, err)
	}
	return c, nil
}

// probe asks the server for its version with a short timeout.
func probe(ctx context.Context, c *client.Client) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err := c.Version(ctx)
	return err
}

// noServerError wraps a failed connection in the message that tells the
// user what to do; API errors (a server that answered) pass unchanged.
func noServerError(c *client.Client, err error) error {
	var se api.StatusError
	if errors.As(err, &se) {
		return err
	}
	var ne net.Error
	var oe *net.OpError
	if errors.As(err, &oe) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("no golem server at %s: start one with `golem serve`", c.URL())
	}
	return err
}

// isModelFile reports whether a run argument names a GGUF file rather
// than a model of the store: such arguments always run in-process.
func isModelFile(arg string) bool {
	if strings.HasSuffix(strings.ToLower(arg), ".gguf") {
		return true
	}
	fi, err := os.Stat(arg)
	return err == nil && fi.Mode().IsRegular()
}

// apiOptionNames maps the run command's flags to the API's option names.
var apiOptionNames = map[string]string{
	"temperature":       "temperature",
	"top-k":             "top_k",
	"top-p":             "top_p",
	"min-p":             "min_p",
	"typical-p":         "typical_p",
	"repeat-penalty":    "repeat_penalty",
	"repeat-last-n":     "repeat_last_n",
	"presence-penalty":  "presence_penalty",
	"frequency-penalty": "frequency_penalty",
	"seed":              "seed",
	"num-predict":       "num_predict",
	"num-ctx":           "num_ctx",
	"num-thread":        "num_thread",
	"stop":              "stop",
}

// remoteOptions returns the API options for the flags the user set (the
// others are left to the model's PARAMETERs and the server's defaults).
func remoteOptions(fl *pflag.FlagSet, o sample.Options, numCtx, numThread int) map[string]any {
	vals := map[string]any{
		"temperature": o.Temperature, "top-k": o.TopK, "top-p": o.TopP,
		"min-p": o.MinP, "typical-p": o.TypicalP, "repeat-penalty": o.RepeatPenalty,
		"repeat-last-n": o.RepeatLastN, "presence-penalty": o.PresencePenalty,
		"frequency-penalty": o.FrequencyPenalty, "seed": o.Seed,
		"num-predict": o.NumPredict, "num-ctx": numCtx, "num-thread": numThread,
		"stop": o.Stop,
	}
	opts := map[string]any{}
	for flag, name := range apiOptionNames {
		if fl.Changed(flag) {
			opts[name] = vals[flag]
		}
	}
	if len(opts) == 0 {
		return nil
	}
	return opts
}

// parseFormat turns the --format flag into the API's format field: "json"
// or a JSON schema.
func parseFormat(s string) (json.RawMessage, error) {
	switch s = strings.TrimSpace(s); {
	case s == "":
		return nil, nil
	case s == "json":
		return json.RawMessage(`"json"`), nil
	case json.Valid([]byte(s)):
		return json.RawMessage(s), nil
	}
	return nil, fmt.Errorf("--format: want \"json\" or a JSON schema, not %q", s)
}

// parseKeepAlive turns --keepalive ("5m", "-1", "0", seconds) into the
// API's keep_alive; "" leaves it to the server.
func parseKeepAlive(s string) (*api.Duration, error) {
	if s == "" {
		return nil, nil
	}
	var d api.Duration
	if err := d.UnmarshalJSON([]byte(fmt.Sprintf("%q", s))); err != nil {
		return nil, fmt.Errorf("--keepalive: %w", err)
	}
	return &d, nil
}

// generateRemote streams one /api/generate answer (thinking and
// response) through ro to out and, with verbose, Ollama's timing stats to
// errOut.
func generateRemote(ctx context.Context, c *client.Client, req *api.GenerateRequest, ro *runOutput, out, errOut io.Writer, verbose bool) error {
	var last api.Metrics
	err := c.Generate(ctx, req, func(r api.GenerateResponse) error {
		if r.Done {
			last = r.Metrics
		}
		if err := ro.thinking(r.Thinking); err != nil {
			return err
		}
		return ro.text(r.Response)
	})
	return finishRemote(c, req.Model, err, last, ro, out, errOut, verbose)
}

// chatRemote streams one /api/chat answer as generateRemote does.
func chatRemote(ctx context.Context, c *client.Client, req *api.ChatRequest, ro *runOutput, out, errOut io.Writer, verbose bool) error {
	var last api.Metrics
	err := c.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.Done {
			last = r.Metrics
		}
		if err := ro.thinking(r.Message.Thinking); err != nil {
			return err
		}
		return ro.text(r.Message.Content)
	})
	return finishRemote(c, req.Model, err, last, ro, out, errOut, verbose)
}

// finishRemote ends a streamed one-shot answer: the answer's last line,
// the error of the stream, and the stats.
func finishRemote(c *client.Client, model string, err error, last api.Metrics, ro *runOutput, out, errOut io.Writer, verbose bool) error {
	if err == nil {
		err = ro.finish(func(msg string) { fmt.Fprintln(errOut, "warning:", msg) })
	} else {
		ro.tw.close()
	}
	fmt.Fprintln(out)
	if errors.Is(err, context.Canceled) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", model, noServerError(c, err))
	}
	if verbose {
		printMetrics(errOut, last)
	}
	return nil
}

// printMetrics writes a finished request's stats as `ollama run
// --verbose` does.
func printMetrics(w io.Writer, m api.Metrics) {
	fmt.Fprintf(w, "total duration:       %v\n", m.TotalDuration)
	fmt.Fprintf(w, "load duration:        %v\n", m.LoadDuration)
	fmt.Fprintf(w, "prompt eval count:    %d token(s)\n", m.PromptEvalCount)
	fmt.Fprintf(w, "prompt eval duration: %v\n", m.PromptEvalDuration)
	fmt.Fprintf(w, "prompt eval rate:     %.2f tokens/s\n", rate(m.PromptEvalCount, m.PromptEvalDuration.Seconds()))
	fmt.Fprintf(w, "eval count:           %d token(s)\n", m.EvalCount)
	fmt.Fprintf(w, "eval duration:        %v\n", m.EvalDuration)
	fmt.Fprintf(w, "eval rate:            %.2f tokens/s\n", rate(m.EvalCount, m.EvalDuration.Seconds()))
}
