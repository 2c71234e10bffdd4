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
	"github.com/spf13/pflag"

	"golem/chat"
	"golem/client"
	"golem/engine"
	"golem/model"
	"golem/models"
	"golem/sample"
)

func newRunCmd() *cobra.Command {
	opts := sample.DefaultOptions()
	var (
		raw, verbose bool
		system       string
		numCtx       int
		numThread    int
		format       string
		keepAlive    string
		noWordWrap   bool
	)
	cmd := &cobra.Command{
		Use:   "run MODEL|FILE.gguf [PROMPT]",
		Short: "Run a model on a prompt",
		Long: "Run a model of the store or a GGUF file on PROMPT (or standard input)\n" +
			"and stream its answer. Without --raw the prompt is wrapped in the\n" +
			"model's template: its TEMPLATE (an Ollama Go template) if it has one,\n" +
			"else the GGUF's chat template. A stored model's PARAMETERs are the\n" +
			"defaults of the sampling flags, its SYSTEM the default of --system and\n" +
			"its MESSAGEs the conversation before the prompt.\n\n" +
			"When a server answers at GOLEM_HOST (see `golem serve`) and MODEL is a\n" +
			"name (not a file), the model runs there: the flags you set become the\n" +
			"request's options, and without PROMPT on a terminal an interactive\n" +
			"chat starts (type /? for its commands). Otherwise it runs in-process.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !isModelFile(args[0]) {
				ctx := cmd.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				if c, err := client.FromEnv(); err == nil && probe(ctx, c) == nil {
					return runRemote(cmd, c, args, remoteRun{
						opts: remoteOptions(cmd.Flags(), opts, numCtx, numThread), system: system,
						raw: raw, verbose: verbose, format: format, keepAlive: keepAlive,
						wordWrap: !noWordWrap,
					})
				}
			}
			if format != "" || keepAlive != "" {
				return errors.New("--format and --keepalive need a server: start one with `golem serve`")
			}
			m, err := resolveStored(args[0])
			if err != nil {
				return err
			}
			path, err := m.GGUF()
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
			fl := cmd.Flags()
			eff, err := layeredOptions(m.Params, opts, fl)
			if err != nil {
				return fmt.Errorf("%s: PARAMETER: %w", args[0], err)
			}
			if fl.Changed("num-ctx") {
				eff.NumCtx = numCtx
			} else if _, ok := m.Params["num_ctx"]; !ok {
				eff.NumCtx = 0 // the model's own, capped
			}
			if !fl.Changed("num-thread") {
				if n, ok := m.Params["num_thread"].(float64); ok {
					numThread = int(n)
				}
			}
			if !fl.Changed("system") {
				system = m.System
			}
			model.SetThreads(numThread)
			req, err := runRequest(m, prompt, system, raw, eff)
			if err != nil {
				return err
			}
			return runFile(cmd, path, req, verbose)
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
	fl.StringVar(&format, "format", "", "answer format through the server: json or a JSON schema")
	fl.StringVar(&keepAlive, "keepalive", "", "how long the server keeps the model loaded (5m, 1h, -1 = forever, 0 = unload)")
	fl.BoolVar(&noWordWrap, "nowordwrap", false, "don't wrap long lines at the terminal width (interactive mode)")
	return cmd
}

// flagFields copies each sampling flag's value between options: the flags
// a user set override the model's PARAMETERs.
var flagFields = map[string]func(dst, src *sample.Options){
	"temperature":       func(d, s *sample.Options) { d.Temperature = s.Temperature },
	"top-k":             func(d, s *sample.Options) { d.TopK = s.TopK },
	"top-p":             func(d, s *sample.Options) { d.TopP = s.TopP },
	"min-p":             func(d, s *sample.Options) { d.MinP = s.MinP },
	"typical-p":         func(d, s *sample.Options) { d.TypicalP = s.TypicalP },
	"repeat-penalty":    func(d, s *sample.Options) { d.RepeatPenalty = s.RepeatPenalty },
	"repeat-last-n":     func(d, s *sample.Options) { d.RepeatLastN = s.RepeatLastN },
	"presence-penalty":  func(d, s *sample.Options) { d.PresencePenalty = s.PresencePenalty },
	"frequency-penalty": func(d, s *sample.Options) { d.FrequencyPenalty = s.FrequencyPenalty },
	"seed":              func(d, s *sample.Options) { d.Seed = s.Seed },
	"num-predict":       func(d, s *sample.Options) { d.NumPredict = s.NumPredict },
	"stop":              func(d, s *sample.Options) { d.Stop = s.Stop },
}

// layeredOptions returns Ollama's defaults, overridden by the model's
// PARAMETERs, overridden by the sampling flags the user set (flagOpts
// holds the parsed flag values; fl says which were given).
func layeredOptions(params map[string]any, flagOpts sample.Options, fl *pflag.FlagSet) (sample.Options, error) {
	opts := sample.DefaultOptions()
	if _, err := models.ApplyParams(&opts, params); err != nil {
		return opts, err
	}
	for name, set := range flagFields {
		if fl.Changed(name) {
			set(&opts, &flagOpts)
		}
	}
	if err := opts.Validate(); err != nil {
		return opts, err
	}
	return opts, nil
}

// runRequest builds the generation request for prompt: as is with raw;
// through the model's Go TEMPLATE when it has one (rendered with Ollama's
// variables .System, .Prompt and .Messages, which holds the system
// message, the model's MESSAGE history and the prompt); else through the
// GGUF's chat template, with the history as earlier turns.
func runRequest(m *models.Model, prompt, system string, raw bool, opts sample.Options) (engine.Request, error) {
	req := engine.Request{Prompt: prompt, System: system, Raw: raw, Options: opts}
	switch {
	case raw:
	case m.HasTemplate:
		text, err := models.RenderTemplate(m.Template, models.PromptData(system, prompt, m.Messages))
		if err != nil {
			return req, fmt.Errorf("%s: TEMPLATE: %w", m.DisplayName(), err)
		}
		req.Prompt, req.System, req.Raw = text, "", true
	case len(m.Messages) > 0:
		var msgs []chat.Message
		if system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: system})
		}
		for _, h := range m.Messages {
			msgs = append(msgs, chat.Message{Role: h.Role, Content: h.Content})
		}
		req.Messages = append(msgs, chat.Message{Role: "user", Content: prompt})
	}
	return req, nil
}

func runFile(cmd *cobra.Command, path string, req engine.Request, verbose bool) error {
	r, err := engine.Load(path, req.Options.NumCtx)
	if err != nil {
		return err
	}
	defer r.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := bufio.NewWriter(cmd.OutOrStdout())
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
