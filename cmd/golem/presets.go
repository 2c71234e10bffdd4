package main

// `golem presets` lists the prompt presets and `golem presets show NAME`
// prints one; `golem run --preset NAME --var key=value` applies one (see
// package presets for the file format and the precedence rules).

import (
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"golem/presets"
)

func newPresetsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "List the prompt presets",
		Long: "List the prompt presets: the built-ins and the user's files\n" +
			"$GOLEM_HOME/presets/NAME.json (~/.golem/presets without GOLEM_HOME), which\n" +
			"add presets or replace built-ins of the same name. Use one with\n" +
			"`golem run MODEL --preset NAME [--var key=value ...]`, or bake it into a\n" +
			"model with a PRESET line in a Modelfile.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			set := loadPresets(cmd.ErrOrStderr())
			return printPresetList(cmd.OutOrStdout(), set.List())
		},
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "show NAME",
		Short: "Print a prompt preset",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, err := loadPresets(cmd.ErrOrStderr()).Get(args[0])
			if err != nil {
				return err
			}
			return printPreset(cmd.OutOrStdout(), p)
		},
	})
	return cmd
}

// loadPresets returns the built-in and user presets, warning on errOut
// about user files that failed to load (the others stay usable).
func loadPresets(errOut io.Writer) *presets.Set {
	set, err := presets.LoadDefault()
	for _, e := range unwrapAll(err) {
		fmt.Fprintln(errOut, "warning:", e)
	}
	return set
}

func unwrapAll(err error) []error {
	if err == nil {
		return nil
	}
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		return j.Unwrap()
	}
	return []error{err}
}

// printPresetList prints NAME, DESCRIPTION and SOURCE columns as `golem
// list` prints models.
func printPresetList(out io.Writer, ps []*presets.Preset) error {
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDESCRIPTION\tSOURCE")
	for _, p := range ps {
		src := "user"
		if p.Source == presets.BuiltinSource {
			src = "builtin"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", p.Name, p.Description, src)
	}
	return tw.Flush()
}

// printPreset prints every part of a preset.
func printPreset(out io.Writer, p *presets.Preset) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Name:        %s\n", p.Name)
	fmt.Fprintf(&b, "Description: %s\n", p.Description)
	fmt.Fprintf(&b, "Source:      %s\n", p.Source)
	if len(p.Vars) > 0 {
		b.WriteString("\nVariables (--var NAME=VALUE):\n")
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, v := range p.Vars {
			def := "(required)"
			if !v.Required {
				def = "default " + firstLine(v.Default)
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", v.Name, v.Description, def)
		}
		tw.Flush()
	}
	if len(p.Parameters) > 0 {
		b.WriteString("\nParameters:\n")
		names := make([]string, 0, len(p.Parameters))
		for k := range p.Parameters {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			switch v := p.Parameters[k].(type) {
			case []string:
				for _, x := range v {
					fmt.Fprintf(&b, "  %-20s %q\n", k, x)
				}
			case string:
				fmt.Fprintf(&b, "  %-20s %q\n", k, v)
			default:
				fmt.Fprintf(&b, "  %-20s %v\n", k, v)
			}
		}
	}
	if p.Answer != "" {
		fmt.Fprintf(&b, "\nAnswer line: %q (golem run --answer-only prints only the text after it)\n", p.Answer)
	}
	if p.ExamplesVar != "" {
		fmt.Fprintf(&b, "\nFew-shot examples: the file named by --var %s=FILE (Q:/A: text or JSONL)\n", p.ExamplesVar)
	}
	if p.System != "" {
		b.WriteString("\nSystem:\n")
		for _, l := range strings.Split(p.System, "\n") {
			b.WriteString("  " + l + "\n")
		}
	}
	if len(p.Messages) > 0 {
		b.WriteString("\nMessages:\n")
		for _, m := range p.Messages {
			fmt.Fprintf(&b, "  %s: %s\n", m.Role, m.Content)
		}
	}
	_, err := io.WriteString(out, b.String())
	return err
}

// firstLine returns s up to its first line break, with "..." when cut.
func firstLine(s string) string {
	if l, _, cut := strings.Cut(s, "\n"); cut {
		return l + " ..."
	}
	return s
}

// parseVars turns --var key=value flags into a map.
func parseVars(list []string) (map[string]string, error) {
	if len(list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, fmt.Errorf("--var %q: want NAME=VALUE", kv)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, nil
}

// resolvePreset looks up --preset NAME and checks its --var values, so
// that a missing or unknown var is reported before any model loads.
func resolvePreset(name string, vars []string, errOut io.Writer) (*presets.Preset, map[string]string, error) {
	values, err := parseVars(vars)
	if err != nil {
		return nil, nil, err
	}
	return checkPreset(name, values, errOut)
}

// checkPreset looks up preset name and checks the values of its vars.
func checkPreset(name string, values map[string]string, errOut io.Writer) (*presets.Preset, map[string]string, error) {
	if name == "" {
		if len(values) > 0 {
			return nil, nil, errors.New("--var needs --preset")
		}
		return nil, nil, nil
	}
	p, err := loadPresets(errOut).Get(name)
	if err != nil {
		return nil, nil, fmt.Errorf("--preset: %w", err)
	}
	if _, err := p.Values(values); err != nil {
		var me *presets.MissingVarsError
		if errors.As(err, &me) {
			return nil, nil, fmt.Errorf("%w: give each with --var NAME=VALUE (see `golem presets show %s`)", err, p.Name)
		}
		return nil, nil, err
	}
	return p, values, nil
}
