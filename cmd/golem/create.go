package main

// `golem create NAME -f Modelfile [--quantize TYPE]`: build a model in the
// store from a Modelfile, writing the layers Ollama writes.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"golem/modelfile"
	"golem/models"
	"golem/quantize"
	"golem/store"
)

func newCreateCmd() *cobra.Command {
	var (
		file  string
		quant string
	)
	cmd := &cobra.Command{
		Use:   "create NAME [-f Modelfile] [--quantize TYPE]",
		Short: "Create a model in the store from a Modelfile",
		Long: "Create a model from a Modelfile (default ./Modelfile). FROM may name a\n" +
			"GGUF file or a directory holding one (relative to the Modelfile), a\n" +
			"model already in the store, or a blob digest (sha256:...).\n" +
			"--quantize re-quantizes the weights as llama-quantize does; types: " +
			strings.Join(quantize.FileTypes(), ", ") + ".",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if c := storeServer(cmd.Context()); c != nil {
				return createRemote(cmd.Context(), c, args[0], file, quant, cmd.ErrOrStderr())
			}
			s, err := openStore()
			if err != nil {
				return err
			}
			return createModel(s, args[0], file, quant, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVarP(&file, "file", "f", "Modelfile", "the Modelfile to build from")
	cmd.Flags().StringVarP(&quant, "quantize", "q", "", "re-quantize the weights to this type (e.g. q4_K_M, q8_0)")
	return cmd
}

// createModel parses the Modelfile at path and creates the model name in
// s, printing progress to log.
func createModel(s *store.Store, name, path, quant string, log io.Writer) error {
	if _, err := store.ParseName(name); err != nil {
		return fmt.Errorf("invalid model name %q: %w", name, err)
	}
	if quant != "" {
		if _, err := quantize.ParseFileType(quant); err != nil {
			return err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Modelfile at %s (pass one with -f FILE)", path)
		}
		return err
	}
	mf, err := modelfile.Parse(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return createFromModelfile(s, name, mf, filepath.Dir(path), quant, log)
}

// createFromModelfile creates model name from a parsed Modelfile whose
// relative paths are relative to dir, printing progress to log. It is
// models.Create, the one implementation behind the server's /api/create
// too.
func createFromModelfile(s *store.Store, name string, mf *modelfile.Modelfile, dir, quant string, log io.Writer) error {
	return models.Create(s, name, mf, models.CreateOptions{Dir: dir, Quantize: quant, Report: models.TextReporter(log)})
}
