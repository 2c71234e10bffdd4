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

	"golem/api"
	"golem/chat"
	"golem/client"
	"golem/engine"
	"golem/model"
	"golem/models"
	"golem/presets"
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
		presetName   string
		presetVars   []string
		think        string
		hideThinking bool
		answerOnly   bool
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
			"chat starts (type /? for its commands). Otherwise it runs in-process.\n\n" +
			"--preset NAME applies a prompt preset (`golem presets` lists them):\n" +
			"its system prompt, unless --system is given, its few-shot messages\n" +
			"before the prompt and its parameters, which the flags you set\n" +
			"override. --think asks a thinking model to reason first (a level:\n" +
			"--think=high); the reasoning is shown in a Thinking... block, or\n" +
			"hidden with --hidethinking.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			preset, vars, err := resolvePreset(presetName, presetVars, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			if preset != nil && raw {
				return errors.New("--preset needs the chat template: it cannot be used with --raw")
			}
			if answerOnly && (preset == nil || preset.Answer == "") {
				return errors.New("--answer-only needs a --preset with an answer line (e.g. step-by-step)")
			}
			var thinkVal *api.ThinkValue
			if fl.Changed("think") {
				if thinkVal, err = parseThink(think); err != nil {
					return err
				}
			}
			if !isModelFile(args[0]) {
				ctx := cmd.Context()
				if ctx == nil {
					ctx = context.Background()
				}
				if c, err := client.FromEnv(); err == nil && probe(ctx, c) == nil {
					return runRemote(cmd, c, args, remoteRun{
						opts: remoteOptions(fl, opts, numCtx, numThread), system: system,
						raw: raw, verbose: verbose, format: format, keepAlive: keepAlive,
						wordWrap: !noWordWrap, preset: preset, vars: vars,
						think: thinkVal, hideThinking: hideThinking, answerOnly: answerOnly,
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
			// Layers, lowest first: the model's PARAMETERs, SYSTEM and
			// MESSAGEs; the preset's; the flags.
			params, history := m.Params, m.Messages
			explicit := ""
			if fl.Changed("system") {
				explicit = system
			} else {
				system = m.System
			}
			if preset != nil {
				a, err := presets.Apply(preset, vars, explicit, nil, nil)
				if err != nil {
					return err
				}
				if a.System != "" {
					system = a.System
				}
				// As through the server: the model's MESSAGEs, then the
				// request's (the preset's few-shot) messages.
				history = append(append([]api.Message{}, m.Messages...), a.Messages...)
				params = mergeParams(m.Params, a.Options)
			}
			eff, err := layeredOptions(params, opts, fl)
			if err != nil {
				return fmt.Errorf("%s: PARAMETER: %w", args[0], err)
			}
			if fl.Changed("num-ctx") {
				eff.NumCtx = numCtx
			} else if _, ok := params["num_ctx"]; !ok {
				eff.NumCtx = 0 // the model's own, capped
			}
			if !fl.Changed("num-thread") {
				if n, ok := params["num_thread"].(float64); ok {
					numThread = int(n)
				}
			}
			model.SetThreads(numThread)
			req, err := runRequest(m, history, prompt, system, raw, eff)
			if err != nil {
				return err
			}
			if thinkVal != nil {
				req.TemplateVars = map[string]any{"enable_thinking": thinkVal.Enabled()}
			}
			hide := hideThinking || (thinkVal != nil && !thinkVal.Enabled())
			ro := newRunOutput(&wrapWriter{w: cmd.OutOrStdout()}, hide, isTerminal(cmd.OutOrStdout()), answerOnly, answerPrefix(preset))
			return runFile(cmd, path, req, verbose, ro)
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
	fl.StringVar(&presetName, "preset", "", "apply a prompt preset (see `golem presets`)")
	fl.StringArrayVar(&presetVars, "var", nil, "a value for one of the preset's placeholders, NAME=VALUE (repeatable)")
	fl.StringVar(&think, "think", "", "let a thinking model reason before answering: true, false, or a level (low, medium, high)")
	fl.Lookup("think").NoOptDefVal = "true"
	fl.BoolVar(&hideThinking, "hidethinking", false, "don't print the model's reasoning, only its answer")
	fl.BoolVar(&answerOnly, "answer-only", false, "print only the final answer of a preset with an answer line (step-by-step)")
	return cmd
}

// mergeParams returns the model's PARAMETERs overridden by the preset's.
func mergeParams(model, preset map[string]any) map[string]any {
	out := make(map[string]any, len(model)+len(preset))
	for k, v := range model {
		out[k] = v
	}
	for k, v := range preset {
		out[k] = v
	}
	return out
}

// answerPrefix returns the preset's answer line ("" without a preset).
func answerPrefix(p *presets.Preset) string {
	if p == nil {
		return ""
	}
	return p.Answer
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
// message, the history and the prompt); else through the GGUF's chat
// template, with the history (the model's MESSAGEs, then a preset's
// few-shot messages) as earlier turns.
func runRequest(m *models.Model, history []api.Message, prompt, system string, raw bool, opts sample.Options) (engine.Request, error) {
	req := engine.Request{Prompt: prompt, System: system, Raw: raw, Options: opts}
	switch {
	case raw:
	case m.HasTemplate:
		text, err := models.RenderTemplate(m.Template, models.PromptData(system, prompt, history))
		if err != nil {
			return req, fmt.Errorf("%s: TEMPLATE: %w", m.DisplayName(), err)
		}
		req.Prompt, req.System, req.Raw = text, "", true
	case len(history) > 0:
		var msgs []chat.Message
		if system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: system})
		}
		for _, h := range history {
			msgs = append(msgs, chat.Message{Role: h.Role, Content: h.Content})
		}
		req.Messages = append(msgs, chat.Message{Role: "user", Content: prompt})
	}
	return req, nil
}

// runFile generates req's answer with the GGUF at path in-process,
// printing it through ro (a <think>...</think> opening is shown as the
// thinking block).
func runFile(cmd *cobra.Command, path string, req engine.Request, verbose bool, ro *runOutput) error {
	r, err := engine.Load(path, req.Options.NumCtx)
	if err != nil {
		return err
	}
	defer r.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	out := cmd.OutOrStdout()
	split := &thinkSplitter{emit: func(thinking, content string) error {
		if err := ro.thinking(thinking); err != nil {
			return err
		}
		return ro.text(content)
	}}
	if req.Raw {
		split.state = splitContent // raw output is never taken apart
	}
	st, err := r.Generate(ctx, req, split.write)
	if ferr := split.flush(); err == nil {
		err = ferr
	}
	if ferr := ro.finish(func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), "warning:", msg) }); err == nil {
		err = ferr
	}
	fmt.Fprintln(out)
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
