package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/models"
)

func newShowCmd() *cobra.Command {
	var fl ShowFlags
	cmd := &cobra.Command{
		Use:   "show MODEL|FILE.gguf",
		Short: "Show information about a model",
		Long: "Show a model's architecture, size, quantization, context and embedding\n" +
			"length, tokenizer and chat template. MODEL is a name in the model store\n" +
			"or the path of a GGUF file.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			out := cmd.OutOrStdout()
			if st, err := os.Stat(args[0]); err != nil || !st.Mode().IsRegular() {
				return showStoredModel(out, args[0], fl)
			}
			f, err := gguf.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if fl.Template {
				tmpl, _ := f.String("tokenizer.chat_template")
				fmt.Fprintln(out, tmpl)
				return nil
			}
			if fl.Modelfile || fl.Parameters || fl.System || fl.License {
				return fmt.Errorf("--modelfile, --parameters, --system and --license need a model from the store; %s is a plain GGUF file (golem create NAME -f Modelfile adds it)", args[0])
			}
			return showModel(out, f)
		},
	}
	cmd.Flags().BoolVar(&fl.Modelfile, "modelfile", false, "print the model's Modelfile")
	cmd.Flags().BoolVar(&fl.Parameters, "parameters", false, "print the model's parameters")
	cmd.Flags().BoolVar(&fl.Template, "template", false, "print the model's template")
	cmd.Flags().BoolVar(&fl.System, "system", false, "print the model's system message")
	cmd.Flags().BoolVar(&fl.License, "license", false, "print the model's license")
	cmd.Flags().BoolVarP(&fl.Verbose, "verbose", "v", false, "also print every metadata key")
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

// quantizationName names the file's type as llama.cpp does (see
// models.QuantizationName).
func quantizationName(f *gguf.File) string { return models.QuantizationName(f) }

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
