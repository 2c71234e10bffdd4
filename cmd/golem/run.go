package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/spf13/cobra"

	"golem/engine"
	"golem/model"
	"golem/sample"
)

func newRunCmd() *cobra.Command {
	opts := sample.DefaultOptions()
	var (
		raw, verbose bool
		system       string
		numCtx       int
		numThread    int
	)
	cmd := &cobra.Command{
		Use:   "run FILE.gguf [PROMPT]",
		Short: "Run a model on a prompt",
		Long: "Run a GGUF model on PROMPT (or standard input) and stream its answer.\n" +
			"Without --raw the prompt is wrapped in the model's chat template.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := modelFileFor(args[0])
			if err != nil {
				return err
			}
			var prompt string
			if len(args) == 2 {
				prompt = args[1]
			} else {
				b, err := io.ReadAll(bufio.NewReader(cmd.InOrStdin()))
				if err != nil {
					return fmt.Errorf("reading the prompt from standard input: %w", err)
				}
				prompt = strings.TrimRight(string(b), "\n")
			}
			opts.NumCtx = numCtx
			model.SetThreads(numThread)
			return runFile(cmd, path, prompt, system, raw, verbose, opts)
		},
	}
	fl := cmd.Flags()
	fl.Float32Var(&opts.Temperature, "temperature", opts.Temperature, "sampling temperature (0 = greedy)")
	fl.IntVar(&opts.TopK, "top-k", opts.TopK, "keep only the k most likely tokens (0 = all)")
	fl.Float32Var(&opts.TopP, "top-p", opts.TopP, "nucleus sampling: keep the most likely tokens up to this total probability")
	fl.Float32Var(&opts.MinP, "min-p", opts.MinP, "drop tokens less likely than min-p times the most likely one")
	fl.Float32Var(&opts.TypicalP, "typical-p", opts.TypicalP, "locally typical sampling (1 = off)")
	fl.Float32Var(&opts.RepeatPenalty, "repeat-penalty", opts.RepeatPenalty, "penalty for tokens among the last repeat-last-n (1 = off)")
	fl.IntVar(&opts.RepeatLastN, "repeat-last-n", opts.RepeatLastN, "how many recent tokens the penalties consider (-1 = the context)")
	fl.Float32Var(&opts.PresencePenalty, "presence-penalty", opts.PresencePenalty, "penalty for any token already present")
	fl.Float32Var(&opts.FrequencyPenalty, "frequency-penalty", opts.FrequencyPenalty, "penalty per occurrence of a token")
	fl.IntVar(&opts.Seed, "seed", opts.Seed, "random seed (-1 = random); the same seed gives the same output")
	fl.IntVar(&opts.NumPredict, "num-predict", opts.NumPredict, "maximum tokens to generate (-1 = until the model stops or the context is full)")
	fl.IntVar(&numCtx, "num-ctx", 0, "context length in tokens (default: the model's, at most 4096)")
	fl.IntVar(&numThread, "num-thread", 0, "threads to compute with (default: one per CPU)")
	fl.StringArrayVar(&opts.Stop, "stop", nil, "stop generating at this text (repeatable)")
	fl.StringVar(&system, "system", "", "system message (with the chat template)")
	fl.BoolVar(&raw, "raw", false, "use the prompt as is, without the chat template")
	fl.BoolVar(&verbose, "verbose", false, "print load time and prompt/generation speed to stderr")
	return cmd
}

func runFile(cmd *cobra.Command, path, prompt, system string, raw, verbose bool, opts sample.Options) error {
	r, err := engine.Load(path, opts.NumCtx)
	if err != nil {
		return err
	}
	defer r.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := bufio.NewWriter(cmd.OutOrStdout())
	req := engine.Request{Prompt: prompt, System: system, Raw: raw, Options: opts}
	st, err := r.Generate(ctx, req, func(s string) error {
		if _, err := out.WriteString(s); err != nil {
			return err
		}
		return out.Flush()
	})
	fmt.Fprintln(out)
	out.Flush()
	if verbose {
		w := cmd.ErrOrStderr()
		fmt.Fprintf(w, "load duration:        %v\n", r.LoadDuration)
		fmt.Fprintf(w, "prompt eval count:    %d token(s)\n", st.PromptTokens)
		fmt.Fprintf(w, "prompt eval duration: %v\n", st.PromptDuration)
		fmt.Fprintf(w, "prompt eval rate:     %.2f tokens/s\n", rate(st.PromptTokens, st.PromptDuration.Seconds()))
		fmt.Fprintf(w, "eval count:           %d token(s)\n", st.EvalTokens)
		fmt.Fprintf(w, "eval duration:        %v\n", st.EvalDuration)
		fmt.Fprintf(w, "eval rate:            %.2f tokens/s\n", rate(st.EvalTokens, st.EvalDuration.Seconds()))
		fmt.Fprintf(w, "done reason:          %s\n", st.DoneReason)
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func rate(n int, secs float64) float64 {
	if secs <= 0 {
		return 0
	}
	return float64(n) / secs
}
