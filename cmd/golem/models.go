package main

// Commands that manage the model store: list, cp, rm, and
// showStoredModel for `golem show NAME`. They print what `ollama list`,
// `ollama cp`, `ollama rm` and `ollama show` print, through a running
// server's API when one answers (remote_models.go), else on the local
// store directly.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/models"
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
			prefix := ""
			if len(args) == 1 {
				prefix = args[0]
			}
			if c := storeServer(cmd.Context()); c != nil {
				return listRemote(cmd.Context(), c, cmd.OutOrStdout(), prefix, time.Now())
			}
			s, err := openStore()
			if err != nil {
				return err
			}
			models, err := s.List()
			if err != nil {
				return err
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
			if c := storeServer(cmd.Context()); c != nil {
				return copyRemote(cmd.Context(), c, cmd.OutOrStdout(), args[0], args[1])
			}
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
			if c := storeServer(cmd.Context()); c != nil {
				return removeRemote(cmd.Context(), c, cmd.OutOrStdout(), args)
			}
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

// humanBytes formats a size as Ollama's format.HumanBytes ("1.3 GB").
func humanBytes(b int64) string { return models.HumanBytes(b) }

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
// ("260K", "1.5B").
func humanNumber(n uint64) string { return models.HumanNumber(n) }

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

// loadStoredModel reads the manifest, config and small layers of a model
// of the store (models.Resolve, shared with the server).
func loadStoredModel(s *store.Store, name string) (*models.Model, error) {
	if _, err := s.Resolve(name); err != nil {
		return nil, notFoundHint(err)
	}
	m, err := models.Resolve(s, name)
	if err != nil {
		return nil, notFoundHint(err)
	}
	return m, nil
}

// showStoredModel prints what `ollama show NAME` prints for a model of the
// store: with no flags the summary (model, parameters, system, license),
// else only the parts the flags select. When a server answers it asks
// the server's /api/show instead. The lead's `golem show` calls it
// when its argument is not a file.
func showStoredModel(out io.Writer, name string, fl ShowFlags) error {
	if c := storeServer(context.Background()); c != nil {
		return showRemote(context.Background(), c, out, name, fl)
	}
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
		_, err = fmt.Fprint(out, sm.Modelfile())
		return err
	case fl.Parameters:
		if len(sm.Params) == 0 {
			_, err = fmt.Fprintln(out, "No parameters were specified for this model.")
			return err
		}
		for _, p := range sm.ParamValues() {
			fmt.Fprintf(out, "%-30s %s\n", p[0], goSyntax(p[1]))
		}
		return nil
	case fl.Template:
		t, err := sm.TemplateText()
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
		if sm.System == "" {
			_, err = fmt.Fprintln(out, "No system message was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, sm.System)
		return err
	case fl.License:
		if len(sm.License) == 0 {
			_, err = fmt.Fprintln(out, "No license was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, strings.Join(sm.License, "\n"))
		return err
	}
	return printSummary(out, sm, fl.Verbose)
}

// goSyntax prints a JSON-decoded parameter as Go's %#v does in Ollama's
// show (strings quoted, whole numbers without a decimal point).
func goSyntax(v any) string {
	return fmt.Sprintf("%#v", v)
}

// printSummary prints the Model, Capabilities, Parameters, System and
// License sections of `ollama show`, and with verbose the GGUF metadata.
func printSummary(out io.Writer, sm *models.Model, verbose bool) error {
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
	if sm.Path != "" && sm.Config.IsGGUF() {
		var err error
		if f, err = gguf.Open(sm.Path); err != nil {
			return fmt.Errorf("%s: %w", sm.DisplayName(), err)
		}
		defer f.Close()
	}
	var rows [][]string
	arch := sm.Config.ModelFamily
	if f != nil {
		arch = f.Architecture()
	}
	rows = append(rows, []string{"architecture", orUnknown(arch)})
	if sm.Config.ModelType != "" {
		rows = append(rows, []string{"parameters", sm.Config.ModelType})
	}
	if f != nil {
		for _, k := range []string{"context_length", "embedding_length"} {
			if n, ok := f.Uint(arch + "." + k); ok {
				rows = append(rows, []string{strings.ReplaceAll(k, "_", " "), fmt.Sprint(n)})
			}
		}
	}
	rows = append(rows, []string{"quantization", sm.Config.FileType})
	if sm.Config.Requires != "" {
		rows = append(rows, []string{"requires", sm.Config.Requires})
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
	for _, p := range sm.ParamValues() {
		prow = append(prow, []string{p[0].(string), goSyntax(p[1])})
	}
	section("Parameters", prow)
	if sm.System != "" {
		section("System", [][]string{{firstLines(sm.System, 2)}})
	}
	if len(sm.License) > 0 {
		section("License", [][]string{{firstLines(strings.Join(sm.License, "\n"), 2)}})
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
	m, err := resolveStored(nameOrPath)
	if err != nil {
		return "", err
	}
	return m.GGUF()
}

// resolveStored finds what the user means by nameOrPath: a GGUF file, or a
// model of the store with its layers (models.Resolve, as the server
// does).
func resolveStored(nameOrPath string) (*models.Model, error) {
	if fi, err := os.Stat(nameOrPath); err == nil && fi.Mode().IsRegular() {
		return models.Resolve(nil, nameOrPath)
	}
	s, err := openStore()
	if err != nil {
		return nil, err
	}
	m, err := models.Resolve(s, nameOrPath)
	if err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, models.ErrInvalid) {
			return nil, fmt.Errorf("%q is neither a GGUF file nor a model in the store %s (see `golem list`)", nameOrPath, s.Dir())
		}
		return nil, err
	}
	return m, nil
}
