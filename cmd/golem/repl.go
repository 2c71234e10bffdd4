package main

// The interactive chat of `golem run MODEL` through a server, after
// `ollama run`'s: a `>>> ` prompt, """ multi-line input and /commands that
// change the session's parameters, system message and model.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"golem/api"
	"golem/client"
	"golem/modelfile"
	"golem/presets"
)

// remoteRun is what `golem run` passes to the server mode.
type remoteRun struct {
	opts      map[string]any
	system    string
	raw       bool
	verbose   bool
	format    string
	keepAlive string
	wordWrap  bool

	preset       *presets.Preset // nil: none
	vars         map[string]string
	think        *api.ThinkValue // nil: the server's default
	hideThinking bool
	answerOnly   bool
}

// stdinIsTerminal says whether standard input is a terminal, which starts
// the interactive mode; tests replace it.
var stdinIsTerminal = func(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && isTerminal(f)
}

// terminalWidth is the column count to wrap at: $COLUMNS when set, else
// 80 (the standard library has no portable way to ask the terminal).
func terminalWidth() int {
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return n
	}
	return 80
}

// runRemote runs `golem run` through the server: one-shot with a prompt
// argument or piped standard input, else the interactive chat.
func runRemote(cmd *cobra.Command, c *client.Client, args []string, rr remoteRun) error {
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	format, err := parseFormat(rr.format)
	if err != nil {
		return err
	}
	ka, err := parseKeepAlive(rr.keepAlive)
	if err != nil {
		return err
	}
	in := cmd.InOrStdin()
	if len(args) < 2 && stdinIsTerminal(in) {
		st := &replState{c: c, model: args[0], opts: rr.opts, system: rr.system,
			format: format, keepAlive: ka, verbose: rr.verbose, preset: rr.preset, vars: rr.vars,
			think: rr.think, hideThinking: rr.hideThinking, color: isTerminal(cmd.OutOrStdout())}
		if rr.wordWrap && isTerminal(cmd.OutOrStdout()) {
			st.width = terminalWidth()
		}
		return runREPL(ctx, st, in, cmd.OutOrStdout(), cmd.ErrOrStderr())
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	var prompt string
	if len(args) == 2 {
		prompt = args[1]
	} else {
		b, err := io.ReadAll(in)
		if err != nil {
			return fmt.Errorf("reading the prompt from standard input: %w", err)
		}
		prompt = strings.TrimRight(string(b), "\n")
	}
	out := cmd.OutOrStdout()
	ro := newRunOutput(&wrapWriter{w: out}, rr.hideThinking, isTerminal(out), rr.answerOnly, answerPrefix(rr.preset))
	if rr.preset != nil {
		// A preset's few-shot examples are turns of a conversation: chat.
		a, err := presets.Apply(rr.preset, rr.vars, rr.system, []api.Message{{Role: "user", Content: prompt}}, rr.opts)
		if err != nil {
			return err
		}
		req := &api.ChatRequest{Model: args[0], Messages: a.ChatMessages(), Format: format,
			KeepAlive: ka, Options: a.Options, Think: rr.think}
		return chatRemote(ctx, c, req, ro, out, cmd.ErrOrStderr(), rr.verbose)
	}
	req := &api.GenerateRequest{Model: args[0], Prompt: prompt, System: rr.system, Raw: rr.raw,
		Format: format, KeepAlive: ka, Options: rr.opts, Think: rr.think}
	return generateRemote(ctx, c, req, ro, out, cmd.ErrOrStderr(), rr.verbose)
}

// replState is an interactive session: the model, the options and system
// message set so far, and the conversation.
type replState struct {
	c         *client.Client
	model     string
	opts      map[string]any
	system    string
	format    json.RawMessage
	keepAlive *api.Duration
	verbose   bool
	width     int // wrap answers at this many columns; 0: no wrap
	messages  []api.Message

	preset       *presets.Preset // applied to every turn; nil: none
	vars         map[string]string
	think        *api.ThinkValue // nil: the server's default
	hideThinking bool
	color        bool // the output is a terminal: grey thinking block
}

const replHelp = `Available Commands:
  /set parameter NAME VALUE   Set a parameter (temperature, top_k, num_predict, stop, ...)
  /set system TEXT            Set the system message
  /set verbose | quiet        Show or hide timing stats
  /set wordwrap | nowordwrap  Wrap answers at the terminal width or not
  /set format json | noformat Ask for JSON answers or not
  /set preset NAME [K=V ...]  Apply a prompt preset (see golem presets); /set nopreset
  /set think [LEVEL] | nothink  Let a thinking model reason first, or not
  /set hidethinking | showthinking  Hide or show the reasoning
  /show info|parameters|system|template|modelfile
  /load MODEL                 Switch to another model
  /save NAME                  Save the session as a model
  /clear                      Clear the conversation
  /bye                        Exit
  /?, /help                   This help

Use """ to begin and end a multi-line message.
`

// runREPL reads messages and commands from in until /bye or the end of
// input, chatting through /api/chat with the whole conversation.
func runREPL(ctx context.Context, st *replState, in io.Reader, out, errOut io.Writer) error {
	if err := st.load(ctx); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), 16<<20)
	for {
		fmt.Fprint(out, ">>> ")
		if !sc.Scan() {
			fmt.Fprintln(out)
			return sc.Err()
		}
		line := sc.Text()
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), `"""`); ok {
			text, err := readMultiline(sc, rest, out)
			if err != nil {
				return err
			}
			line = text
		} else {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "/") {
				done, err := st.command(ctx, line, out)
				if err != nil {
					fmt.Fprintln(errOut, "Error:", err)
				}
				if done {
					return nil
				}
				continue
			}
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		if err := st.chat(ctx, line, out, errOut); err != nil {
			fmt.Fprintln(errOut, "Error:", err)
		}
	}
}

// readMultiline collects lines after an opening """ (first holds what
// followed it) up to the line that ends with the closing """.
func readMultiline(sc *bufio.Scanner, first string, out io.Writer) (string, error) {
	if text, ok := strings.CutSuffix(first, `"""`); ok {
		return text, nil
	}
	lines := []string{first}
	for {
		fmt.Fprint(out, "... ")
		if !sc.Scan() {
			if err := sc.Err(); err != nil {
				return "", err
			}
			return strings.Join(lines, "\n"), nil
		}
		l := sc.Text()
		if text, ok := strings.CutSuffix(strings.TrimRight(l, " \t"), `"""`); ok {
			return strings.Join(append(lines, text), "\n"), nil
		}
		lines = append(lines, l)
	}
}

// load checks that the model exists and loads it (an empty-prompt
// generate), so that the first answer does not wait for the load.
func (st *replState) load(ctx context.Context) error {
	req := &api.GenerateRequest{Model: st.model, KeepAlive: st.keepAlive}
	if err := st.c.Generate(ctx, req, func(api.GenerateResponse) error { return nil }); err != nil {
		return fmt.Errorf("%s: %w", st.model, noServerError(st.c, err))
	}
	return nil
}

// chat sends the conversation plus text and streams the answer.
func (st *replState) chat(ctx context.Context, text string, out, errOut io.Writer) error {
	msgs := append(st.messages[:len(st.messages):len(st.messages)], api.Message{Role: "user", Content: text})
	req := &api.ChatRequest{Model: st.model, Messages: msgs, Format: st.format,
		KeepAlive: st.keepAlive, Options: st.opts, Think: st.think}
	if st.preset != nil {
		a, err := presets.Apply(st.preset, st.vars, st.system, msgs, st.opts)
		if err != nil {
			return err
		}
		req.Messages, req.Options = a.ChatMessages(), a.Options
	} else if st.system != "" {
		req.Messages = append([]api.Message{{Role: "system", Content: st.system}}, msgs...)
	}
	// Ctrl-C stops this answer and returns to the prompt.
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt)
	defer stop()
	ww := &wrapWriter{w: out, width: st.width}
	ro := newRunOutput(ww, st.hideThinking, st.color, false, "")
	var last api.Metrics
	err := st.c.Chat(ctx, req, func(r api.ChatResponse) error {
		if r.Done {
			last = r.Metrics
		}
		if err := ro.thinking(r.Message.Thinking); err != nil {
			return err
		}
		return ro.text(r.Message.Content)
	})
	ro.finish(func(string) {})
	ww.flush()
	fmt.Fprint(out, "\n\n")
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return nil // interrupted: the answer is not kept
	}
	if err != nil {
		return noServerError(st.c, err)
	}
	st.messages = append(msgs, api.Message{Role: "assistant", Content: ro.content.String(), Thinking: ro.thought.String()})
	if st.verbose {
		printMetrics(errOut, last)
	}
	return nil
}

// command runs one /command; done is true for /bye.
func (st *replState) command(ctx context.Context, line string, out io.Writer) (done bool, err error) {
	f := strings.Fields(line)
	switch f[0] {
	case "/bye", "/exit":
		return true, nil
	case "/?", "/help":
		fmt.Fprint(out, replHelp)
	case "/clear":
		st.messages = nil
		fmt.Fprintln(out, "Cleared session context")
	case "/set":
		return false, st.set(line, f, out)
	case "/show":
		return false, st.show(ctx, f, out)
	case "/load":
		if len(f) != 2 {
			return false, errors.New("usage: /load MODEL")
		}
		prev := st.model
		st.model = f[1]
		fmt.Fprintf(out, "Loading model '%s'\n", st.model)
		if err := st.load(ctx); err != nil {
			st.model = prev
			return false, err
		}
		st.messages = nil
	case "/save":
		if len(f) != 2 {
			return false, errors.New("usage: /save NAME")
		}
		req := &api.CreateRequest{Model: f[1], From: st.model, Parameters: st.opts,
			System: st.system, Messages: st.messages}
		if st.preset != nil { // baked in, as a Modelfile PRESET is
			a, err := presets.Apply(st.preset, st.vars, st.system, st.messages, st.opts)
			if err != nil {
				return false, err
			}
			req.Parameters, req.System, req.Messages = a.Options, a.System, a.Messages
		}
		if err := st.c.Create(ctx, req, func(api.ProgressResponse) error { return nil }); err != nil {
			return false, fmt.Errorf("save %s: %w", f[1], noServerError(st.c, err))
		}
		fmt.Fprintf(out, "Created new model '%s'\n", f[1])
	default:
		return false, fmt.Errorf("unknown command %q: type /? for help", f[0])
	}
	return false, nil
}

// set runs /set.
func (st *replState) set(line string, f []string, out io.Writer) error {
	if len(f) < 2 {
		return errors.New("usage: /set parameter NAME VALUE | system TEXT | verbose | quiet | wordwrap | nowordwrap | format json | noformat | preset NAME | nopreset | think | nothink | hidethinking | showthinking")
	}
	switch f[1] {
	case "parameter":
		if len(f) < 4 {
			return errors.New("usage: /set parameter NAME VALUE")
		}
		name := f[2]
		value := strings.TrimSpace(strings.SplitN(strings.TrimSpace(line), name, 2)[1])
		v := parseParamValue(value)
		if st.opts == nil {
			st.opts = map[string]any{}
		}
		if name == "stop" {
			prev, _ := st.opts["stop"].([]string)
			st.opts["stop"] = append(prev, value)
		} else {
			st.opts[name] = v
		}
		fmt.Fprintf(out, "Set parameter '%s' to '%s'\n", name, value)
	case "system":
		text := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line)[len("/set"):], " "))
		text = strings.TrimSpace(strings.TrimPrefix(text, "system"))
		st.system = strings.Trim(text, `"`)
		fmt.Fprintln(out, "Set system message.")
	case "verbose":
		st.verbose = true
		fmt.Fprintln(out, "Set 'verbose' mode.")
	case "quiet":
		st.verbose = false
		fmt.Fprintln(out, "Set 'quiet' mode.")
	case "wordwrap":
		st.width = terminalWidth()
		fmt.Fprintln(out, "Set 'wordwrap' mode.")
	case "nowordwrap":
		st.width = 0
		fmt.Fprintln(out, "Set 'nowordwrap' mode.")
	case "format":
		if len(f) != 3 || f[2] != "json" {
			return errors.New("usage: /set format json")
		}
		st.format = json.RawMessage(`"json"`)
		fmt.Fprintln(out, "Set format to 'json' mode.")
	case "noformat":
		st.format = nil
		fmt.Fprintln(out, "Disabled format.")
	case "preset":
		if len(f) < 3 {
			return errors.New(`usage: /set preset NAME [KEY=VALUE ...] (KEY="a value" with spaces; see golem presets)`)
		}
		rest := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), f[0]))
		rest = strings.TrimSpace(strings.TrimPrefix(rest, f[1]))
		rest = strings.TrimPrefix(rest, f[2])
		values, err := modelfile.ParsePresetVars(rest)
		if err != nil {
			return fmt.Errorf("/set preset %s: %w", f[2], err)
		}
		if len(values) == 0 {
			values = nil
		}
		p, vars, err := checkPreset(f[2], values, io.Discard)
		if err != nil {
			return err
		}
		st.preset, st.vars = p, vars
		fmt.Fprintf(out, "Set preset '%s'.\n", p.Name)
	case "nopreset":
		st.preset, st.vars = nil, nil
		fmt.Fprintln(out, "Cleared the preset.")
	case "think":
		level := "true"
		if len(f) > 2 {
			level = f[2]
		}
		t, err := parseThink(level)
		if err != nil {
			return errors.New("usage: /set think [low|medium|high]")
		}
		st.think = t
		fmt.Fprintln(out, "Set 'think' mode.")
	case "nothink":
		st.think = &api.ThinkValue{Value: false}
		fmt.Fprintln(out, "Set 'nothink' mode.")
	case "hidethinking":
		st.hideThinking = true
		fmt.Fprintln(out, "Set 'hidethinking' mode.")
	case "showthinking":
		st.hideThinking = false
		fmt.Fprintln(out, "Set 'showthinking' mode.")
	default:
		return fmt.Errorf("unknown /set option %q: type /? for help", f[1])
	}
	return nil
}

// parseParamValue types a /set parameter value as its JSON would be: a
// number or a boolean when it reads as one, else a string.
func parseParamValue(s string) any {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	if x, err := strconv.ParseFloat(s, 64); err == nil {
		return x
	}
	if b, err := strconv.ParseBool(s); err == nil {
		return b
	}
	return s
}

// show runs /show.
func (st *replState) show(ctx context.Context, f []string, out io.Writer) error {
	if len(f) < 2 {
		fmt.Fprintln(out, "Usage: /show info|parameters|system|template|modelfile")
		return nil
	}
	resp, err := st.c.Show(ctx, &api.ShowRequest{Model: st.model})
	if err != nil {
		return fmt.Errorf("show %s: %w", st.model, noServerError(st.c, err))
	}
	switch f[1] {
	case "info":
		d := resp.Details
		fmt.Fprintf(out, "  Model\n")
		fmt.Fprintf(out, "    %-20s%s\n", "name", st.model)
		if arch, ok := resp.ModelInfo["general.architecture"].(string); ok {
			fmt.Fprintf(out, "    %-20s%s\n", "architecture", arch)
		}
		fmt.Fprintf(out, "    %-20s%s\n", "family", d.Family)
		fmt.Fprintf(out, "    %-20s%s\n", "parameters", d.ParameterSize)
		fmt.Fprintf(out, "    %-20s%s\n", "quantization", d.QuantizationLevel)
		if len(resp.Capabilities) > 0 {
			fmt.Fprintf(out, "  Capabilities\n    %s\n", strings.Join(resp.Capabilities, ", "))
		}
	case "parameters":
		if resp.Parameters != "" {
			fmt.Fprintln(out, "Model defined parameters:")
			fmt.Fprintln(out, resp.Parameters)
		}
		if len(st.opts) > 0 {
			fmt.Fprintln(out, "User defined parameters:")
			names := make([]string, 0, len(st.opts))
			for k := range st.opts {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(out, "%-30s %v\n", k, st.opts[k])
			}
		}
		if resp.Parameters == "" && len(st.opts) == 0 {
			fmt.Fprintln(out, "No parameters were specified for this model.")
		}
	case "system":
		switch {
		case st.system != "":
			fmt.Fprintln(out, st.system)
		case resp.System != "":
			fmt.Fprintln(out, resp.System)
		default:
			fmt.Fprintln(out, "No system message was specified for this model.")
		}
	case "template":
		fmt.Fprintln(out, resp.Template)
	case "modelfile":
		fmt.Fprintln(out, resp.Modelfile)
	default:
		return fmt.Errorf("unknown /show option %q", f[1])
	}
	return nil
}

// wrapWriter writes streamed text, breaking lines at spaces so that none
// is longer than width columns (width 0: as is). A space is held back
// until the next word shows whether it fits, so no line ends in a space.
type wrapWriter struct {
	w       io.Writer
	width   int
	col     int
	space   bool // a space is pending before the next word
	word    strings.Builder
	lastErr error
}

func (ww *wrapWriter) write(s string) error {
	if ww.width <= 0 {
		_, err := io.WriteString(ww.w, s)
		return err
	}
	for _, r := range s {
		switch r {
		case '\n':
			ww.flush()
			ww.put("\n")
			ww.col, ww.space = 0, false
		case ' ':
			ww.flush()
			ww.space = ww.col > 0
		default:
			ww.word.WriteRune(r)
		}
	}
	return ww.lastErr
}

// flush writes the pending word, first breaking the line when it would
// not fit.
func (ww *wrapWriter) flush() {
	if ww.word.Len() == 0 {
		return
	}
	n := utf8.RuneCountInString(ww.word.String())
	switch {
	case ww.col > 0 && ww.col+1+n > ww.width:
		ww.put("\n")
		ww.col = 0
	case ww.space:
		ww.put(" ")
		ww.col++
	}
	ww.put(ww.word.String())
	ww.col += n
	ww.space = false
	ww.word.Reset()
}

// raw writes s unwrapped (a marker such as the thinking block's lines)
// after the pending word; a line break in it starts a new line's count.
func (ww *wrapWriter) raw(s string) {
	ww.flush()
	ww.put(s)
	if strings.Contains(s, "\n") {
		ww.col, ww.space = 0, false
	}
}

func (ww *wrapWriter) put(s string) {
	if _, err := io.WriteString(ww.w, s); err != nil && ww.lastErr == nil {
		ww.lastErr = err
	}
}
