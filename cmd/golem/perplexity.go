package main

// `golem perplexity -m MODEL -f TEXT [-c N]`: perplexity as llama-perplexity
// computes and prints it.

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"golem/engine"
	"golem/gguf"
	"golem/model"
	"golem/tokenizer"
)

func newPerplexityCmd() *cobra.Command {
	var (
		modelArg string
		textFile string
		nCtx     int
		chunks   int
	)
	cmd := &cobra.Command{
		Use:   "perplexity -m MODEL -f TEXT [-c N]",
		Short: "Measure a model's perplexity on a text",
		Long: "Compute perplexity as llama.cpp's llama-perplexity does: the text is cut\n" +
			"into chunks of N tokens, each evaluated from an empty context with BOS\n" +
			"first, and the second half of each chunk is scored. MODEL is a GGUF\n" +
			"file or a model in the store.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if modelArg == "" || textFile == "" {
				return fmt.Errorf("both -m MODEL and -f TEXT are required")
			}
			path, err := modelFileFor(modelArg)
			if err != nil {
				return err
			}
			text, err := os.ReadFile(textFile)
			if err != nil {
				return fmt.Errorf("read the text: %w", err)
			}
			return runPerplexity(cmd.OutOrStdout(), cmd.ErrOrStderr(), path, string(text), nCtx, chunks)
		},
	}
	cmd.Flags().StringVarP(&modelArg, "model", "m", "", "GGUF file or model name")
	cmd.Flags().StringVarP(&textFile, "file", "f", "", "text file to score")
	cmd.Flags().IntVarP(&nCtx, "ctx-size", "c", 512, "tokens per chunk (llama-perplexity's -c)")
	cmd.Flags().IntVar(&chunks, "chunks", 0, "score at most this many chunks (0: all)")
	return cmd
}

// runPerplexity loads the model and prints per-chunk running perplexities
// ("[1]12.3456,[2]...") on out and the final estimate line, with progress
// and timing on log, in llama-perplexity's format.
func runPerplexity(out, log io.Writer, path, text string, nCtx, chunks int) error {
	f, err := gguf.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	m, err := model.Load(f)
	if err != nil {
		return err
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return err
	}
	if ctxLen := m.Config().ContextLength; ctxLen > 0 && nCtx > ctxLen {
		fmt.Fprintf(log, "warning: -c %d is larger than the model's training context %d\n", nCtx, ctxLen)
	}
	start := time.Now()
	fmt.Fprintf(log, "perplexity: calculating perplexity, n_ctx=%d\n", nCtx)
	res, err := engine.Perplexity(m, tok, text, nCtx, chunks, func(i int, ppl float64) {
		if i == 1 {
			fmt.Fprintf(log, "perplexity: %.2f seconds per pass\n", time.Since(start).Seconds())
		}
		fmt.Fprintf(out, "[%d]%.4f,", i, ppl)
	})
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	fmt.Fprintf(out, "Final estimate: PPL = %.4f +/- %.5f\n", res.PPL, res.Err)
	fmt.Fprintf(log, "perplexity: %d tokens, %d chunks of %d, %d scored, %.2f s\n", res.Tokens, res.Chunks, res.NCtx, res.Scored, time.Since(start).Seconds())
	return nil
}
