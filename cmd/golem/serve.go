package main

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"golem/server"
)

// newServeCmd builds `golem serve`: Ollama's and OpenAI's HTTP APIs on
// GOLEM_HOST (or OLLAMA_HOST; default 127.0.0.1:11434).
func newServeCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "serve",
		Short: "Start the API server (Ollama- and OpenAI-compatible)",
		Long: "Serve Ollama's native API (/api/...) and the OpenAI-compatible API (/v1/...).\n\n" +
			"Environment:\n" +
			"  GOLEM_HOST               listen address (default 127.0.0.1:11434; OLLAMA_HOST when unset)\n" +
			"  GOLEM_MODELS             model store directory\n" +
			"  GOLEM_KEEP_ALIVE         how long a model stays loaded after use (default 5m; -1 forever)\n" +
			"  GOLEM_MAX_QUEUE          most requests waiting per model (default 512)\n" +
			"  GOLEM_MAX_LOADED_MODELS  most models loaded at once (default: as memory allows)\n" +
			"  GOLEM_NUM_PARALLEL       requests one model answers at the same time (default 1)\n" +
			"  GOLEM_API_KEY            require \"Authorization: Bearer KEY\" (all routes but / and /api/version)\n" +
			"  GOLEM_ORIGINS            extra allowed CORS origins, comma separated ('*' wildcards)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := server.ConfigFromEnv()
			if err != nil {
				return err
			}
			cfg.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
			server.Version = version
			srv, err := server.New(cfg)
			if err != nil {
				return err
			}
			addr := server.HostFromEnv()
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return fmt.Errorf("listen on %s: %w", addr, err)
			}
			cfg.Logger.Info("Listening", "addr", ln.Addr().String(), "version", version)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return srv.Serve(ctx, ln)
		},
	}
}
