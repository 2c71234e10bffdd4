package main

// `golem ps` and `golem stop` ask a running `golem serve` about its loaded
// models, as `ollama ps` and `ollama stop` do.

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"golem/api"
)

func newPsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "ps",
		Short: "List the models a running server has loaded",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			c, err := serverClient(ctx)
			if err != nil {
				return err
			}
			ps, err := c.ListRunning(ctx)
			if err != nil {
				return fmt.Errorf("ps: %w", noServerError(c, err))
			}
			return printPs(cmd.OutOrStdout(), ps.Models, time.Now())
		},
	}
}

// printPs writes the loaded models as a table with `ollama ps`'s columns.
func printPs(out io.Writer, ms []api.ProcessModelResponse, now time.Time) error {
	w := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	fmt.Fprintln(w, "NAME\tID\tSIZE\tPROCESSOR\tCONTEXT\tUNTIL")
	for _, m := range ms {
		id := strings.TrimPrefix(m.Digest, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d\t%s\n", m.Name, id, humanBytes(m.Size),
			processor(m.Size, m.SizeVRAM), m.ContextLength, until(m.ExpiresAt, now))
	}
	return w.Flush()
}

// processor says where a model's memory lives, as `ollama ps` does.
func processor(size, vram int64) string {
	switch {
	case vram <= 0 || size <= 0:
		return "100% CPU"
	case vram >= size:
		return "100% GPU"
	}
	cpu := int(float64(size-vram) / float64(size) * 100)
	return fmt.Sprintf("%d%%/%d%% CPU/GPU", cpu, 100-cpu)
}

// until says when a loaded model will be unloaded.
func until(exp, now time.Time) string {
	switch {
	case exp.IsZero():
		return "Stopping..."
	case exp.Sub(now) > 10*365*24*time.Hour:
		return "Forever"
	case !exp.After(now):
		return "Stopping..."
	}
	return humanTime(exp, now)
}

func newStopCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "stop MODEL",
		Short: "Unload a model from a running server",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if ctx == nil {
				ctx = context.Background()
			}
			c, err := serverClient(ctx)
			if err != nil {
				return err
			}
			req := &api.GenerateRequest{Model: args[0], KeepAlive: &api.Duration{}}
			if err := c.Generate(ctx, req, func(api.GenerateResponse) error { return nil }); err != nil {
				return fmt.Errorf("stop %s: %w", args[0], noServerError(c, err))
			}
			return nil
		},
	}
}
