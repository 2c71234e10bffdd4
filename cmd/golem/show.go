package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"golem/gguf"
)

func newShowCmd() *cobra.Command {
	var showTemplate bool
	cmd := &cobra.Command{
		Use:   "show FILE.gguf",
		Short: "Show information about a model",
		Long: "Show a model's architecture, size, quantization, context and embedding\n" +
			"length, tokenizer and chat template.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			f, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if showTemplate {
				tmpl, _ := f.String("tokenizer.chat_template")
				fmt.Fprintln(cmd.OutOrStdout(), tmpl)
				return nil
			}
			return showModel(cmd.OutOrStdout(), f)
		},
	}
	cmd.Flags().BoolVar(&showTemplate, "template", false, "print only the chat template")
	return cmd
}

// showModel prints the summary `ollama show` gives, plus the tokenizer.
func showModel(out io.Writer, f *gguf.File) error {
	arch := f.Architecture()
	key := func(k string) string { return arch + "." + k }
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	section := func(name string) { fmt.Fprintf(tw, "  %s\n", name) }
	row := func(k string, v any) { fmt.Fprintf(tw, "    %s\t%v\n", k, v) }

	section("Model")
	row("architecture", orUnknown(arch))
	row("parameters", gguf.FormatParamCount(f.ParameterCount()))
	if n, ok := f.Uint(key("context_length")); ok {
		row("context length", n)
	}
	if n, ok := f.Uint(key("embedding_length")); ok {
		row("embedding length", n)
	}
	row("quantization", quantizationName(f))
	fmt.Fprintln(tw)

	section("Tokenizer")
	tm, _ := f.String("tokenizer.ggml.model")
	row("model", orUnknown(tm))
	if pre, ok := f.String("tokenizer.ggml.pre"); ok {
		row("pre-tokenizer", pre)
	}
	if toks, ok := f.Array("tokenizer.ggml.tokens"); ok {
		row("vocabulary size", toks.Len())
	}
	fmt.Fprintln(tw)

	section("Template")
	if tmpl, ok := f.String("tokenizer.chat_template"); ok {
		first := strings.SplitN(strings.TrimSpace(tmpl), "\n", 2)[0]
		if len(first) > 60 {
			first = first[:60] + "..."
		}
		row("chat template", fmt.Sprintf("%d bytes: %s", len(tmpl), first))
		fmt.Fprintln(tw, "    (golem show --template FILE prints it whole)")
	} else {
		row("chat template", "none (golem run uses the prompt as given)")
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

// quantizationName names the file's type as llama.cpp's general.file_type
// does, or, without that key, the most common type among 2-D weights.
func quantizationName(f *gguf.File) string {
	if ft, ok := f.Uint("general.file_type"); ok {
		return gguf.FileTypeName(uint32(ft))
	}
	count := map[string]int64{}
	best, bestN := "unknown", int64(0)
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if len(t.Shape) < 2 {
			continue
		}
		name := t.Type.String()
		count[name] += t.Elements()
		if count[name] > bestN {
			best, bestN = name, count[name]
		}
	}
	return best
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
