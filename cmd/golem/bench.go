package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"golem/gguf"
	"golem/model"
	"golem/synth"
	"golem/tensor"
)

// benchParams are the options of `golem bench`, named after llama-bench's.
type benchParams struct {
	models   []string
	nPrompt  []int
	nGen     []int
	nDepth   []int // tokens in the cache before each test (llama-bench -d)
	threads  []int
	reps     int
	output   string
	synthDir string
	seed     uint64
	// typeK and typeV are the KV cache types (llama-bench's -ctk/-ctv).
	typeK, typeV string
	// cpuProfile, when set, receives a CPU profile of the whole run
	// (hidden flag, for finding where the time goes).
	cpuProfile string
}

// newBenchCmd returns the `golem bench` command: llama-bench's prompt
// processing (ppN) and text generation (tgN) tests for Golem's CPU engine,
// printed in llama-bench's markdown or JSON form so that the two tools'
// figures can be put side by side.
func newBenchCmd() *cobra.Command {
	p := benchParams{}
	cmd := &cobra.Command{
		Use:   "bench -m MODEL [-m MODEL...] [-p N] [-n N] [-t N] [-r N] [-o md|json]",
		Short: "Measure prompt processing and generation speed (like llama-bench)",
		Long: "Measure how fast Golem evaluates a prompt (ppN: N random tokens in one batch\n" +
			"from an empty cache) and generates text (tgN: N random tokens one at a time),\n" +
			"as llama-bench does, after one warm-up run per test. Each test is repeated\n" +
			"-r times; t/s is the mean ± the sample standard deviation.\n\n" +
			"MODEL is a GGUF file, or synth:PRESET:TYPE (e.g. synth:llama3.2-1b:Q4_0) for a\n" +
			"random-weight model of a real shape, written once to the cache directory.\n" +
			"`golem bench synth` writes such a model to a chosen path.\n\n" +
			"-p, -n and -t take comma-separated lists; every combination is measured.\n" +
			"-ctk and -ctv (or --cache-type-k/-v) choose the KV cache types as in llama-bench.\n" +
			"Load time and resident memory go to stderr.",
		// Flags are parsed in RunE so that llama-bench's multi-letter
		// single-dash flags (-ctk, -ctv) can be accepted.
		DisableFlagParsing: true,
		Args:               cobra.ArbitraryArgs, // checked after parsing
		RunE: func(cmd *cobra.Command, args []string) error {
			fl := cmd.Flags()
			if err := fl.Parse(llamaBenchArgs(args)); err != nil {
				return err
			}
			if h := fl.Lookup("help"); h != nil && h.Value.String() == "true" {
				return cmd.Help()
			}
			if fl.NArg() > 0 {
				return fmt.Errorf("unexpected argument %q", fl.Arg(0))
			}
			if len(p.models) == 0 {
				return errors.New("no model: pass -m FILE.gguf or -m synth:PRESET:TYPE")
			}
			return runBench(cmd.OutOrStdout(), cmd.ErrOrStderr(), &p)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&p.models, "model", "m", nil, "model file or synth:PRESET:TYPE (repeatable)")
	fl.IntSliceVarP(&p.nPrompt, "n-prompt", "p", []int{512}, "prompt tokens for the pp test (0 skips it)")
	fl.IntSliceVarP(&p.nGen, "n-gen", "n", []int{128}, "generated tokens for the tg test (0 skips it)")
	fl.IntSliceVarP(&p.nDepth, "n-depth", "d", []int{0}, "tokens already in the KV cache when each test starts")
	fl.IntSliceVarP(&p.threads, "threads", "t", []int{runtime.NumCPU()}, "threads")
	fl.IntVarP(&p.reps, "repetitions", "r", 5, "repetitions of each test")
	fl.StringVarP(&p.output, "output", "o", "md", "output format: md or json")
	fl.StringVar(&p.synthDir, "synth-dir", "", "where synth: models are cached (default: the user cache directory's golem/synth)")
	fl.Uint64Var(&p.seed, "seed", 1, "seed of synth: models' weights")
	fl.StringVar(&p.typeK, "cache-type-k", "f16", "KV cache type of keys: f16, q8_0, q4_0, bf16, f32, ...")
	fl.StringVar(&p.typeV, "cache-type-v", "f16", "KV cache type of values")
	fl.StringVar(&p.cpuProfile, "cpuprofile", "", "write a CPU profile of the run to this file")
	_ = fl.MarkHidden("cpuprofile")
	cmd.AddCommand(newSynthCmd())
	return cmd
}

// llamaBenchArgs rewrites llama-bench's single-dash long flags (-ctk,
// -ctv) to their double-dash names; other arguments pass unchanged.
func llamaBenchArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		name, val, hasVal := strings.Cut(a, "=")
		switch name {
		case "-ctk":
			name = "--cache-type-k"
		case "-ctv":
			name = "--cache-type-v"
		}
		if hasVal {
			name += "=" + val
		}
		out[i] = name
	}
	return out
}

// newSynthCmd returns `golem bench synth`, which writes a random-weight
// model of a real shape for benchmarks.
func newSynthCmd() *cobra.Command {
	var (
		out  string
		seed uint64
	)
	cmd := &cobra.Command{
		Use:   "synth PRESET TYPE -o FILE.gguf",
		Short: "Write a random-weight model of a real shape, for benchmarks",
		Long: "Write a GGUF model with the shapes, metadata and per-tensor quantization types\n" +
			"llama-quantize would give the real model, random weights and a small byte-level\n" +
			"tokenizer. Both Golem and llama.cpp load it; its output is meaningless.\n\n" +
			"Presets: " + strings.Join(synth.PresetNames(), ", ") + "\n" +
			"Types:   " + strings.Join(synth.MixNames(), ", "),
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			p, m, err := lookupSynth(args[0], args[1])
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("no output file: pass -o FILE.gguf")
			}
			start := time.Now()
			if err := synth.WriteFile(out, p, m, seed); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%s %s, %s parameters) in %.1f s\n",
				out, p.Name, m.Name, gguf.FormatParamCount(p.Params()), time.Since(start).Seconds())
			return nil
		},
	}
	cmd.Flags().StringVarP(&out, "output", "o", "", "file to write")
	cmd.Flags().Uint64Var(&seed, "seed", 1, "seed of the random weights")
	return cmd
}

// lookupSynth resolves a preset and a type name, listing the choices on a
// miss.
func lookupSynth(preset, typ string) (synth.Preset, synth.Mix, error) {
	p, ok := synth.LookupPreset(preset)
	if !ok {
		return p, synth.Mix{}, fmt.Errorf("unknown preset %q (have %s)", preset, strings.Join(synth.PresetNames(), ", "))
	}
	m, ok := synth.LookupMix(typ)
	if !ok {
		return p, m, fmt.Errorf("unknown type %q (have %s)", typ, strings.Join(synth.MixNames(), ", "))
	}
	return p, m, nil
}

// resolveModel returns the file to benchmark for a -m argument,
// synthesizing synth:PRESET:TYPE models into dir on first use.
func resolveModel(arg, dir string, seed uint64, log io.Writer) (string, error) {
	spec, ok := strings.CutPrefix(arg, "synth:")
	if !ok {
		return arg, nil
	}
	preset, typ, ok := strings.Cut(spec, ":")
	if !ok {
		return "", fmt.Errorf("model %q: want synth:PRESET:TYPE", arg)
	}
	p, m, err := lookupSynth(preset, typ)
	if err != nil {
		return "", fmt.Errorf("model %q: %w", arg, err)
	}
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("model %q: no cache directory (pass --synth-dir): %w", arg, err)
		}
		dir = filepath.Join(cache, "golem", "synth")
	}
	path := filepath.Join(dir, fmt.Sprintf("%s-%s-seed%d.gguf", p.Name, m.Name, seed))
	if _, err := os.Stat(path); err == nil {
		return path, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("model %q: %w", arg, err)
	}
	fmt.Fprintf(log, "synthesizing %s %s to %s ...\n", p.Name, m.Name, path)
	if err := synth.WriteFile(path, p, m, seed); err != nil {
		return "", fmt.Errorf("model %q: %w", arg, err)
	}
	return path, nil
}

// benchResult is one test's outcome, with llama-bench's JSON field names.
type benchResult struct {
	BuildCommit   string    `json:"build_commit"`
	CPUInfo       string    `json:"cpu_info"`
	Backends      string    `json:"backends"`
	ModelFilename string    `json:"model_filename"`
	ModelType     string    `json:"model_type"`
	ModelSize     int64     `json:"model_size"`
	ModelNParams  int64     `json:"model_n_params"`
	NBatch        int       `json:"n_batch"`
	NThreads      int       `json:"n_threads"`
	TypeK         string    `json:"type_k"`
	TypeV         string    `json:"type_v"`
	NPrompt       int       `json:"n_prompt"`
	NGen          int       `json:"n_gen"`
	NDepth        int       `json:"n_depth"`
	TestTime      string    `json:"test_time"`
	AvgNs         int64     `json:"avg_ns"`
	StddevNs      int64     `json:"stddev_ns"`
	AvgTs         float64   `json:"avg_ts"`
	StddevTs      float64   `json:"stddev_ts"`
	SamplesNs     []int64   `json:"samples_ns"`
	SamplesTs     []float64 `json:"samples_ts"`
}

// setSamples fills the sample and summary fields from per-run durations.
func (r *benchResult) setSamples(ns []int64) {
	r.SamplesNs = ns
	r.SamplesTs = make([]float64, len(ns))
	nsf := make([]float64, len(ns))
	tokens := float64(r.NPrompt + r.NGen)
	for i, d := range ns {
		nsf[i] = float64(d)
		r.SamplesTs[i] = tokens * 1e9 / float64(max(d, 1))
	}
	r.AvgNs, r.StddevNs = int64(mean(nsf)), int64(stddev(nsf))
	r.AvgTs, r.StddevTs = mean(r.SamplesTs), stddev(r.SamplesTs)
}

// mean returns the average of v (0 for none).
func mean(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}

// stddev returns the sample standard deviation of v, 0 for fewer than two
// values (llama-bench's convention).
func stddev(v []float64) float64 {
	if len(v) < 2 {
		return 0
	}
	m := mean(v)
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(v)-1))
}

// testName is llama-bench's test column: pp512, tg128 or pp512+tg128,
// followed by " @ dN" when the test starts with N tokens in the cache.
func (r *benchResult) testName() string {
	var name string
	switch {
	case r.NGen == 0:
		name = fmt.Sprintf("pp%d", r.NPrompt)
	case r.NPrompt == 0:
		name = fmt.Sprintf("tg%d", r.NGen)
	default:
		name = fmt.Sprintf("pp%d+tg%d", r.NPrompt, r.NGen)
	}
	if r.NDepth > 0 {
		name += fmt.Sprintf(" @ d%d", r.NDepth)
	}
	return name
}

// mdColumn is one markdown column: its name and llama-bench's width
// (negative: left-aligned).
type mdColumn struct {
	name  string
	width int
}

// mdColumns returns the markdown table's columns; withTypes adds
// llama-bench's type_k and type_v columns, which it prints when a cache
// type other than f16 is chosen.
func mdColumns(withTypes bool) []mdColumn {
	cols := []mdColumn{{"model", -30}, {"size", 10}, {"params", 10}, {"backend", -10}, {"threads", 7}}
	if withTypes {
		cols = append(cols, mdColumn{"type_k", -6}, mdColumn{"type_v", -6})
	}
	return append(cols, mdColumn{"test", 15}, mdColumn{"t/s", 20})
}

// writeMarkdownHeader prints the table's header and rule lines.
func writeMarkdownHeader(w io.Writer, withTypes bool) {
	var h, rule strings.Builder
	h.WriteString("|")
	rule.WriteString("|")
	for _, c := range mdColumns(withTypes) {
		fmt.Fprintf(&h, " %*s |", c.width, c.name)
		if c.width > 0 {
			fmt.Fprintf(&rule, " %s: |", strings.Repeat("-", c.width-1))
		} else {
			fmt.Fprintf(&rule, " %s- |", strings.Repeat("-", -c.width-1))
		}
	}
	fmt.Fprintln(w, h.String())
	fmt.Fprintln(w, rule.String())
}

// writeMarkdownRow prints one result as llama-bench does.
func writeMarkdownRow(w io.Writer, r *benchResult, withTypes bool) {
	size := fmt.Sprintf("%.2f MiB", float64(r.ModelSize)/(1<<20))
	if r.ModelSize >= 1<<30 {
		size = fmt.Sprintf("%.2f GiB", float64(r.ModelSize)/(1<<30))
	}
	params := fmt.Sprintf("%.2f M", float64(r.ModelNParams)/1e6)
	if r.ModelNParams >= 1e9 {
		params = fmt.Sprintf("%.2f B", float64(r.ModelNParams)/1e9)
	}
	values := []string{r.ModelType, size, params, r.Backends, fmt.Sprint(r.NThreads)}
	if withTypes {
		values = append(values, r.TypeK, r.TypeV)
	}
	values = append(values, r.testName(), fmt.Sprintf("%.2f ± %.2f", r.AvgTs, r.StddevTs))
	var b strings.Builder
	b.WriteString("|")
	for i, c := range mdColumns(withTypes) {
		// Pad by characters, not bytes, so "±" does not shift the column.
		width := c.width
		pad := max(abs(width)-len([]rune(values[i])), 0)
		if width < 0 {
			fmt.Fprintf(&b, " %s%s |", values[i], strings.Repeat(" ", pad))
		} else {
			fmt.Fprintf(&b, " %s%s |", strings.Repeat(" ", pad), values[i])
		}
	}
	fmt.Fprintln(w, b.String())
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// writeJSON prints the results as llama-bench's -o json does: an array of
// objects.
func writeJSON(w io.Writer, results []*benchResult) error {
	if results == nil {
		results = []*benchResult{}
	}
	b, err := json.MarshalIndent(results, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: encode json: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// runBench runs every model × threads × test combination and prints the
// results (markdown rows as they complete, JSON at the end).
func runBench(out, log io.Writer, p *benchParams) error {
	if p.output != "md" && p.output != "json" {
		return fmt.Errorf("output format %q: want md or json", p.output)
	}
	if p.reps < 1 {
		return fmt.Errorf("repetitions %d: want at least 1", p.reps)
	}
	if len(p.nDepth) == 0 {
		p.nDepth = []int{0}
	}
	for _, n := range slices.Concat(p.nPrompt, p.nGen, p.nDepth) {
		if n < 0 {
			return fmt.Errorf("token count %d: want 0 or more", n)
		}
	}
	for _, t := range p.threads {
		if t < 1 {
			return fmt.Errorf("threads %d: want at least 1", t)
		}
	}
	// The model package's workers are started once, sized by GOMAXPROCS,
	// on the first forward pass: size them for the largest thread count;
	// each test then splits work into -t parts (model.SetThreads) and caps
	// the goroutines running at once at -t (GOMAXPROCS).
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(slices.Max(p.threads)))
	defer model.SetThreads(0)
	fmt.Fprintf(log, "golem bench: matmul kernels %s\n", tensor.KernelSet())
	if p.cpuProfile != "" {
		pf, err := os.Create(p.cpuProfile)
		if err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pf.Close()
		if err := pprof.StartCPUProfile(pf); err != nil {
			return fmt.Errorf("bench: cpu profile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}

	kt, err := model.ParseKVCacheType(p.typeK)
	if err != nil {
		return err
	}
	vt, err := model.ParseKVCacheType(p.typeV)
	if err != nil {
		return err
	}
	withTypes := kt != tensor.F16 || vt != tensor.F16

	bw := bufio.NewWriter(out)
	defer bw.Flush()
	var results []*benchResult
	if p.output == "md" {
		writeMarkdownHeader(bw, withTypes)
		bw.Flush()
	}
	for _, arg := range p.models {
		path, err := resolveModel(arg, p.synthDir, p.seed, log)
		if err != nil {
			return err
		}
		rs, err := benchModel(path, p, log, func(r *benchResult) {
			if p.output == "md" {
				writeMarkdownRow(bw, r, withTypes)
				bw.Flush()
			}
		})
		results = append(results, rs...)
		if err != nil {
			return err
		}
	}
	if p.output == "json" {
		return writeJSON(bw, results)
	}
	return nil
}

// benchModel loads one model and runs its tests, calling report after each.
func benchModel(path string, p *benchParams, log io.Writer, report func(*benchResult)) ([]*benchResult, error) {
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer f.Close()
	m, err := model.LoadOptions(f, model.Options{KVCacheType: p.typeK, KVCacheTypeV: p.typeV})
	if err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	loadTime := time.Since(start)
	base := benchResult{
		BuildCommit:   version,
		CPUInfo:       cpuInfo(),
		Backends:      "CPU",
		ModelFilename: path,
		ModelType:     modelType(f),
		ModelNParams:  f.ParameterCount(),
	}
	for i := range f.Tensors {
		base.ModelSize += f.Tensors[i].Size
	}
	vocab := m.Config().VocabSize
	nCtx := slices.Max(p.nPrompt) + slices.Max(p.nGen) + slices.Max(p.nDepth)
	cache := m.NewCache(max(nCtx, 1))
	kt, vt := cache.Types()
	base.TypeK, base.TypeV = strings.ToLower(kt.String()), strings.ToLower(vt.String())
	rssLoad := procStatusKiB("VmRSS")
	rng := rand.New(rand.NewPCG(uint64(p.seed), 0x62656e6368))
	randomTokens := func(n int) []int32 {
		t := make([]int32, n)
		for i := range t {
			t[i] = int32(rng.IntN(vocab))
		}
		return t
	}
	// One pass evaluates n tokens: in one batch for pp, one at a time for
	// tg, from a cache holding depth random tokens (filled untimed, in
	// batches of 512) as llama-bench does.
	run := func(n int, batch bool, depth int) (int64, error) {
		cache.Reset()
		for done := 0; done < depth; done += 512 {
			if _, err := m.Forward(cache, randomTokens(min(512, depth-done)), false); err != nil {
				return 0, err
			}
		}
		start := time.Now()
		if batch {
			if _, err := m.Forward(cache, randomTokens(n), false); err != nil {
				return 0, err
			}
		} else {
			tok := make([]int32, 1)
			for i := 0; i < n; i++ {
				tok[0] = int32(rng.IntN(vocab))
				if _, err := m.Forward(cache, tok, false); err != nil {
					return 0, err
				}
			}
		}
		return time.Since(start).Nanoseconds(), nil
	}
	type test struct{ pp, tg, depth int }
	var tests []test
	for _, d := range p.nDepth {
		for _, n := range p.nPrompt {
			if n > 0 {
				tests = append(tests, test{pp: n, depth: d})
			}
		}
		for _, n := range p.nGen {
			if n > 0 {
				tests = append(tests, test{tg: n, depth: d})
			}
		}
	}
	// The first forward pass starts the matmul workers; make it while
	// GOMAXPROCS is the largest thread count (see runBench).
	if _, err := run(1, false, 0); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	firstToken := time.Since(start)
	// Decoding reads the weights through their mapping, and runs
	// measurably faster when the kernel maps them in 2 MiB pages, which
	// depends on how the page cache holds the file (docs/PERFORMANCE.md);
	// the line says how much was, where Linux tells.
	huge := ""
	if kib, ok := procKiB("/proc/self/smaps_rollup", "FilePmdMapped"); ok {
		huge = fmt.Sprintf("; %.1f MiB of the file mapped in 2 MiB pages", kib/1024)
	}
	fmt.Fprintf(log, "golem bench: %s: loaded in %.0f ms, first token after %.0f ms; RSS %.1f MiB after load, %.1f MiB after the first token (tensors %.1f MiB, KV cache %.1f MiB for %d positions, %s/%s)%s\n",
		filepath.Base(path), loadTime.Seconds()*1000, firstToken.Seconds()*1000, rssLoad/1024, procStatusKiB("VmRSS")/1024,
		float64(base.ModelSize)/(1<<20), float64(cache.Bytes())/(1<<20), cache.Cap(), base.TypeK, base.TypeV, huge)
	var results []*benchResult
	for _, threads := range p.threads {
		runtime.GOMAXPROCS(threads)
		model.SetThreads(threads)
		for _, tc := range tests {
			r := base
			r.NThreads, r.NPrompt, r.NGen, r.NDepth = threads, tc.pp, tc.tg, tc.depth
			r.NBatch = max(tc.pp, 1)
			r.TestTime = time.Now().UTC().Format(time.RFC3339)
			// Warm-up as llama-bench: the whole prompt, or one generated token.
			if tc.pp > 0 {
				_, err = run(tc.pp, true, tc.depth)
			} else {
				_, err = run(1, false, tc.depth)
			}
			if err != nil {
				return results, fmt.Errorf("bench: %s: warm-up: %w", path, err)
			}
			ns := make([]int64, 0, p.reps)
			for range p.reps {
				d, err := run(tc.pp+tc.tg, tc.pp > 0, tc.depth)
				if err != nil {
					return results, fmt.Errorf("bench: %s: %s: %w", path, r.testName(), err)
				}
				ns = append(ns, d)
			}
			r.setSamples(ns)
			results = append(results, &r)
			report(&r)
		}
	}
	fmt.Fprintf(log, "golem bench: %s: peak RSS %.1f MiB\n", filepath.Base(path), procStatusKiB("VmHWM")/1024)
	return results, nil
}

// procStatusKiB returns a memory figure of this process from
// /proc/self/status (VmRSS: resident now, VmHWM: peak), in KiB; 0 where
// there is no such file.
func procStatusKiB(key string) float64 {
	kib, _ := procKiB("/proc/self/status", key)
	return kib
}

// procKiB returns the "key: N kB" figure of a /proc file, and whether the
// file has it.
func procKiB(path, key string) (float64, bool) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			var kib float64
			if _, err := fmt.Sscanf(strings.TrimSpace(v), "%g kB", &kib); err == nil {
				return kib, true
			}
		}
	}
	return 0, false
}

// modelType is llama-bench's model column: architecture, size class and
// file type, e.g. "llama 1B Q4_0". The size class is derived from the
// parameter count (llama.cpp uses a per-architecture table, so it may
// name a size differently).
func modelType(f *gguf.File) string {
	ft := "unknown"
	if v, ok := f.Uint("general.file_type"); ok && v <= math.MaxUint32 {
		if s := synth.FileTypeLabel(uint32(v)); s != "" {
			ft = s
		} else {
			ft = gguf.FileTypeName(uint32(v))
		}
	}
	n := float64(f.ParameterCount())
	var size string
	switch {
	case n >= 1e9:
		size = fmt.Sprintf("%.0fB", math.Floor(n/1e9))
	case n >= 1e8:
		size = fmt.Sprintf("%.1fB", math.Round(n/1e8)/10)
	default:
		size = fmt.Sprintf("%.0fM", math.Round(n/1e6))
	}
	return fmt.Sprintf("%s %s %s", f.Architecture(), size, ft)
}

// cpuInfo names the processor, from /proc/cpuinfo where there is one.
func cpuInfo() string {
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				return strings.TrimSpace(v)
			}
		}
	}
	return runtime.GOARCH
}
