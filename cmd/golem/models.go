package main

// Commands that manage the model store offline: list, cp, rm, and
// showStoredModel for `golem show NAME`. They print what `ollama list`,
// `ollama cp`, `ollama rm` and `ollama show` print.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/modelfile"
	"golem/store"
)

// openStore opens the model store ($GOLEM_MODELS, else $GOLEM_HOME/models,
// else ~/.golem/models).
func openStore() (*store.Store, error) {
	s, err := store.Open("")
	if err != nil {
		return nil, fmt.Errorf("%w (set GOLEM_MODELS to a writable directory)", err)
	}
	return s, nil
}

// notFoundHint adds what to do next to a store.ErrNotFound error.
func notFoundHint(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w (see `golem list` for the models in the store, or `golem create NAME -f Modelfile` to add one)", err)
	}
	return err
}

func newListCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "list [PREFIX]",
		Aliases: []string{"ls"},
		Short:   "List the models in the store",
		Long: "List the models in the store (GOLEM_MODELS, or GOLEM_HOME/models, or\n" +
			"~/.golem/models) with their ID, size and age, newest first. A PREFIX\n" +
			"shows only the names starting with it.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			models, err := s.List()
			if err != nil {
				return err
			}
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			return printModelList(cmd.OutOrStdout(), models, prefix, time.Now())
		},
	}
}

// printModelList prints the table `ollama list` prints: NAME, ID (the
// first 12 hex digits of the manifest digest), SIZE and MODIFIED columns,
// left-aligned and separated by four spaces.
func printModelList(out io.Writer, models []store.Model, prefix string, now time.Time) error {
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tMODIFIED")
	for _, m := range models {
		name := m.Name.Display()
		if prefix != "" && !strings.HasPrefix(strings.ToLower(name), strings.ToLower(prefix)) {
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", name, m.ID(), humanBytes(m.Size), humanTime(m.Modified, now))
	}
	return tw.Flush()
}

func newCopyCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "cp SOURCE DESTINATION",
		Short: "Copy a model under a new name",
		Long:  "Give the model SOURCE a second name; the weights are shared, not copied.",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			if err := s.Copy(args[0], args[1]); err != nil {
				return notFoundHint(err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "copied '%s' to '%s'\n", args[0], args[1])
			return nil
		},
	}
}

func newRemoveCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "rm MODEL [MODEL...]",
		Aliases: []string{"remove"},
		Short:   "Remove models from the store",
		Long: "Remove the named models and the blobs no other model uses. If any name\n" +
			"is unknown nothing is removed.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := openStore()
			if err != nil {
				return err
			}
			if err := s.Delete(args...); err != nil {
				return notFoundHint(err)
			}
			for _, a := range args {
				fmt.Fprintf(cmd.OutOrStdout(), "deleted '%s'\n", a)
			}
			return nil
		},
	}
}

// humanBytes formats a size as Ollama's format.HumanBytes: decimal units,
// no decimals from 10 up, one below ("1.3 GB", "25 MB", "512 B").
func humanBytes(b int64) string {
	var v float64
	var unit string
	switch {
	case b >= 1e12:
		v, unit = float64(b)/1e12, "TB"
	case b >= 1e9:
		v, unit = float64(b)/1e9, "GB"
	case b >= 1e6:
		v, unit = float64(b)/1e6, "MB"
	case b >= 1e3:
		v, unit = float64(b)/1e3, "KB"
	default:
		return fmt.Sprintf("%d B", b)
	}
	if v < 10 && v != math.Trunc(v) {
		return fmt.Sprintf("%.1f %s", v, unit)
	}
	return fmt.Sprintf("%d %s", int(v), unit)
}

// humanTime describes how long ago t was, as Ollama's format.HumanTime:
// "Less than a second ago", "2 minutes ago", "About an hour ago", "3 days
// ago"; "Never" for the zero time.
func humanTime(t, now time.Time) string {
	if t.IsZero() {
		return "Never"
	}
	d := now.Sub(t)
	if int(d.Hours())/24/365 < -20 {
		return "Forever"
	}
	if d < 0 {
		return humanDuration(-d) + " from now"
	}
	return humanDuration(d) + " ago"
}

func humanDuration(d time.Duration) string {
	switch s := int(d.Seconds()); {
	case s < 1:
		return "Less than a second"
	case s == 1:
		return "1 second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	}
	switch m := int(d.Minutes()); {
	case m == 1:
		return "About a minute"
	case m < 60:
		return fmt.Sprintf("%d minutes", m)
	}
	switch h := int(math.Round(d.Hours())); {
	case h == 1:
		return "About an hour"
	case h < 48:
		return fmt.Sprintf("%d hours", h)
	case h < 24*7*2:
		return fmt.Sprintf("%d days", h/24)
	case h < 24*30*2:
		return fmt.Sprintf("%d weeks", h/24/7)
	case h < 24*365*2:
		return fmt.Sprintf("%d months", h/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// humanNumber formats a parameter count as Ollama's format.HumanNumber
// (the model_type of a config blob): "260K", "1.5B", "494.03M", "8B".
func humanNumber(n uint64) string {
	switch {
	case n >= 1e9:
		v := float64(n) / 1e9
		if v == math.Floor(v) {
			return fmt.Sprintf("%.0fB", v)
		}
		return fmt.Sprintf("%.1fB", v)
	case n >= 1e6:
		v := float64(n) / 1e6
		if v == math.Floor(v) {
			return fmt.Sprintf("%.0fM", v)
		}
		return fmt.Sprintf("%.2fM", v)
	case n >= 1e3:
		return fmt.Sprintf("%.0fK", float64(n)/1e3)
	}
	return fmt.Sprint(n)
}

// ShowFlags selects what showStoredModel prints; with none set it prints
// the summary. They mirror `ollama show`'s flags.
type ShowFlags struct {
	Modelfile  bool // --modelfile
	Parameters bool // --parameters
	Template   bool // --template
	System     bool // --system
	License    bool // --license
	Verbose    bool // -v: also every metadata key of the GGUF
}

// storedModel is a model of the store with its layers read.
type storedModel struct {
	name      store.Name
	manifest  *store.Manifest
	config    *store.Config
	modelPath string // GGUF weights, "" if none
	adapters  []string
	template  string
	hasTmpl   bool
	system    string
	licenses  []string
	params    map[string]any
	messages  []modelfile.Msg
}

// loadStoredModel reads the manifest, config and small layers of a model.
func loadStoredModel(s *store.Store, name string) (*storedModel, error) {
	n, err := s.Resolve(name)
	if err != nil {
		return nil, notFoundHint(err)
	}
	m, err := s.Manifest(name)
	if err != nil {
		return nil, err
	}
	cfg, err := s.Config(m)
	if err != nil {
		return nil, err
	}
	sm := &storedModel{name: n, manifest: m, config: cfg}
	for _, l := range m.Layers {
		switch l.MediaType {
		case store.MediaTypeModel:
			if sm.modelPath == "" {
				if p, err := s.BlobPath(l.Digest); err == nil {
					sm.modelPath = p
				}
			}
		case store.MediaTypeAdapter:
			if p, err := s.BlobPath(l.Digest); err == nil {
				sm.adapters = append(sm.adapters, p)
			}
		case store.MediaTypeTemplate, store.MediaTypePrompt, store.MediaTypeSystem, store.MediaTypeLicense,
			store.MediaTypeParams, store.MediaTypeMessages:
			b, err := s.ReadBlob(l.Digest)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n.Display(), err)
			}
			switch l.MediaType {
			case store.MediaTypeTemplate, store.MediaTypePrompt:
				sm.template, sm.hasTmpl = string(b), true
			case store.MediaTypeSystem:
				sm.system = string(b)
			case store.MediaTypeLicense:
				sm.licenses = append(sm.licenses, string(b))
			case store.MediaTypeParams:
				if err := json.Unmarshal(b, &sm.params); err != nil {
					return nil, fmt.Errorf("%s: params layer %s: %w", n.Display(), l.Digest, err)
				}
			case store.MediaTypeMessages:
				if err := json.Unmarshal(b, &sm.messages); err != nil {
					return nil, fmt.Errorf("%s: messages layer %s: %w", n.Display(), l.Digest, err)
				}
			}
		}
	}
	return sm, nil
}

// paramKeys returns the parameter names in sorted order (Ollama prints
// them in map order, which varies; sorted is stable).
func (sm *storedModel) paramKeys() []string {
	keys := make([]string, 0, len(sm.params))
	for k := range sm.params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// paramValues lists (name, value) pairs, one per stop string.
func (sm *storedModel) paramValues() [][2]any {
	var out [][2]any
	for _, k := range sm.paramKeys() {
		if l, ok := sm.params[k].([]any); ok {
			for _, v := range l {
				out = append(out, [2]any{k, v})
			}
			continue
		}
		out = append(out, [2]any{k, sm.params[k]})
	}
	return out
}

// modelfileText rebuilds the model's Modelfile as `ollama show
// --modelfile` prints it: FROM the weights blob, ADAPTER, TEMPLATE,
// SYSTEM, PARAMETER, LICENSE, MESSAGE.
func (sm *storedModel) modelfileText() string {
	var cmds []modelfile.Command
	add := func(ins, name, val string) {
		cmds = append(cmds, modelfile.Command{Instruction: ins, Name: name, Value: val})
	}
	add(modelfile.From, "", sm.modelPath)
	for _, a := range sm.adapters {
		add(modelfile.Adapter, "", a)
	}
	if sm.hasTmpl {
		add(modelfile.Template, "", sm.template)
	}
	if sm.system != "" {
		add(modelfile.System, "", sm.system)
	}
	if sm.config.Renderer != "" {
		add(modelfile.Renderer, "", sm.config.Renderer)
	}
	if sm.config.Parser != "" {
		add(modelfile.Parser, "", sm.config.Parser)
	}
	for _, p := range sm.paramValues() {
		add(modelfile.Parameter, p[0].(string), fmt.Sprint(p[1]))
	}
	for _, l := range sm.licenses {
		add(modelfile.License, "", l)
	}
	for _, m := range sm.messages {
		add(modelfile.Message, m.Role, m.Content)
	}
	mf := &modelfile.Modelfile{Commands: cmds}
	return mf.FormatShow(sm.name.Display())
}

// showStoredModel prints what `ollama show NAME` prints for a model of the
// store: with no flags the summary (model, parameters, system, license),
// else only the parts the flags select. The lead's `golem show` calls it
// when its argument is not a file.
func showStoredModel(out io.Writer, name string, fl ShowFlags) error {
	s, err := openStore()
	if err != nil {
		return err
	}
	sm, err := loadStoredModel(s, name)
	if err != nil {
		return err
	}
	switch {
	case fl.Modelfile:
		_, err = fmt.Fprint(out, sm.modelfileText())
		return err
	case fl.Parameters:
		if len(sm.params) == 0 {
			_, err = fmt.Fprintln(out, "No parameters were specified for this model.")
			return err
		}
		for _, p := range sm.paramValues() {
			fmt.Fprintf(out, "%-30s %s\n", p[0], goSyntax(p[1]))
		}
		return nil
	case fl.Template:
		t, err := sm.templateText()
		if err != nil {
			return err
		}
		if t == "" {
			_, err = fmt.Fprintln(out, "No template was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, t)
		return err
	case fl.System:
		if sm.system == "" {
			_, err = fmt.Fprintln(out, "No system message was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, sm.system)
		return err
	case fl.License:
		if len(sm.licenses) == 0 {
			_, err = fmt.Fprintln(out, "No license was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, strings.Join(sm.licenses, "\n"))
		return err
	}
	return sm.printSummary(out, fl.Verbose)
}

// templateText returns the template layer, or for a model without one the
// chat template of its GGUF (which Golem then uses).
func (sm *storedModel) templateText() (string, error) {
	if sm.hasTmpl || sm.modelPath == "" {
		return sm.template, nil
	}
	f, err := gguf.Open(sm.modelPath)
	if err != nil {
		return "", fmt.Errorf("%s: %w", sm.name.Display(), err)
	}
	defer f.Close()
	t, _ := f.String("tokenizer.chat_template")
	return t, nil
}

// goSyntax prints a JSON-decoded parameter as Go's %#v does in Ollama's
// show (strings quoted, whole numbers without a decimal point).
func goSyntax(v any) string {
	return fmt.Sprintf("%#v", v)
}

// printSummary prints the Model, Capabilities, Parameters, System and
// License sections of `ollama show`, and with verbose the GGUF metadata.
func (sm *storedModel) printSummary(out io.Writer, verbose bool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	section := func(title string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(tw, "  %s\n", title)
		for _, r := range rows {
			fmt.Fprintf(tw, "    %s\n", strings.Join(r, "\t"))
		}
		fmt.Fprintln(tw)
	}
	var f *gguf.File
	if sm.modelPath != "" && sm.config.IsGGUF() {
		var err error
		if f, err = gguf.Open(sm.modelPath); err != nil {
			return fmt.Errorf("%s: %w", sm.name.Display(), err)
		}
		defer f.Close()
	}
	var rows [][]string
	arch := sm.config.ModelFamily
	if f != nil {
		arch = f.Architecture()
	}
	rows = append(rows, []string{"architecture", orUnknown(arch)})
	if sm.config.ModelType != "" {
		rows = append(rows, []string{"parameters", sm.config.ModelType})
	}
	if f != nil {
		for _, k := range []string{"context_length", "embedding_length"} {
			if n, ok := f.Uint(arch + "." + k); ok {
				rows = append(rows, []string{strings.ReplaceAll(k, "_", " "), fmt.Sprint(n)})
			}
		}
	}
	rows = append(rows, []string{"quantization", sm.config.FileType})
	if sm.config.Requires != "" {
		rows = append(rows, []string{"requires", sm.config.Requires})
	}
	section("Model", rows)
	if f != nil {
		caps := [][]string{{"completion"}}
		if _, ok := f.Uint(arch + ".pooling_type"); ok || arch == "bert" {
			caps = [][]string{{"embedding"}}
		}
		section("Capabilities", caps)
	}
	var prow [][]string
	for _, p := range sm.paramValues() {
		prow = append(prow, []string{p[0].(string), goSyntax(p[1])})
	}
	section("Parameters", prow)
	if sm.system != "" {
		section("System", [][]string{{firstLines(sm.system, 2)}})
	}
	if len(sm.licenses) > 0 {
		section("License", [][]string{{firstLines(strings.Join(sm.licenses, "\n"), 2)}})
	}
	if verbose && f != nil {
		var meta [][]string
		for _, kv := range f.KV {
			v := fmt.Sprint(kv.Value)
			if a, ok := kv.Value.(gguf.Array); ok {
				v = fmt.Sprintf("[%d values]", a.Len())
			}
			if len(v) > 80 {
				v = v[:77] + "..."
			}
			meta = append(meta, []string{kv.Key, strings.ReplaceAll(v, "\n", `\n`)})
		}
		section("Metadata", meta)
	}
	return tw.Flush()
}

// firstLines returns the first n lines of s, with "..." when cut, as
// `ollama show` abbreviates the system message and license.
func firstLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) <= n {
		return strings.Join(lines, "\n    ")
	}
	return strings.Join(lines[:n], "\n    ") + "\n    ..."
}

// modelFileFor returns the GGUF file a user means: nameOrPath itself when
// it is an existing file, else the weights of the model of that name in
// the store.
func modelFileFor(nameOrPath string) (string, error) {
	if fi, err := os.Stat(nameOrPath); err == nil && fi.Mode().IsRegular() {
		return nameOrPath, nil
	}
	s, err := openStore()
	if err != nil {
		return "", err
	}
	p, err := s.ModelPath(nameOrPath)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("%q is neither a GGUF file nor a model in the store %s (see `golem list`)", nameOrPath, s.Dir())
		}
		return "", err
	}
	return p, nil
}
