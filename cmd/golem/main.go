// Command golem runs and manages local large language models.
//
// This file wires the sub-commands; each lives in its own file and stays
// thin: the work is done by the packages under the module root.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "0.0.0-dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "Error:", err)
		os.Exit(1)
	}
}

// newRootCmd builds the command tree (a function so tests can run it).
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "golem",
		Short:         "Run large language models on your own machine",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newServeCmd(), newRunCmd(), newShowCmd(),
		newCreateCmd(), newListCmd(), newCopyCmd(), newRemoveCmd(),
		newPullCmd(), newPushCmd(), newPerplexityCmd(), newBenchCmd(),
		newPsCmd(), newStopCmd(), newPresetsCmd(),
	)
	return root
}
