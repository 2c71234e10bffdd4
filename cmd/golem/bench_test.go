package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBenchMarkdown checks the table against llama-bench's layout: column
// widths, alignment, MiB/GiB and M/B units and "mean ± stddev".
func TestBenchMarkdown(t *testing.T) {
	var b bytes.Buffer
	writeMarkdownHeader(&b, false)
	r := &benchResult{ModelType: "llama 1B Q4_0", ModelSize: 763142144, ModelNParams: 1235814400,
		Backends: "CPU", NThreads: 2, NPrompt: 512}
	r.setSamples([]int64{10e9, 10e9, 10e9}) // 51.2 t/s each
	writeMarkdownRow(&b, r, false)
	r2 := &benchResult{ModelType: "qwen2 0.5B F16", ModelSize: 2 << 30, ModelNParams: 494032768,
		Backends: "CPU", NThreads: 16, NGen: 128}
	r2.setSamples([]int64{1e9, 2e9})
	writeMarkdownRow(&b, r2, false)
	want := "" +
		"| model                          |       size |     params | backend    | threads |            test |                  t/s |\n" +
		"| ------------------------------ | ---------: | ---------: | ---------- | ------: | --------------: | -------------------: |\n" +
		"| llama 1B Q4_0                  | 727.79 MiB |     1.24 B | CPU        |       2 |           pp512 |         51.20 ± 0.00 |\n" +
		"| qwen2 0.5B F16                 |   2.00 GiB |   494.03 M | CPU        |      16 |           tg128 |        96.00 ± 45.25 |\n"
	if got := b.String(); got != want {
		t.Errorf("table:\n%s\nwant:\n%s", got, want)
	}
}

// TestBenchStats checks mean and sample standard deviation.
func TestBenchStats(t *testing.T) {
	tests := []struct {
		in       []float64
		avg, dev float64
	}{
		{nil, 0, 0},
		{[]float64{5}, 5, 0},
		{[]float64{1, 2, 3, 4}, 2.5, math.Sqrt(5.0 / 3)},
	}
	for _, tc := range tests {
		if a, d := mean(tc.in), stddev(tc.in); math.Abs(a-tc.avg) > 1e-12 || math.Abs(d-tc.dev) > 1e-12 {
			t.Errorf("%v: mean %g stddev %g, want %g %g", tc.in, a, d, tc.avg, tc.dev)
		}
	}
}

// TestBenchTinyJSON runs the command end to end on a tiny synthetic model
// (synthesized on the fly) and checks the JSON fields llama-bench writes.
func TestBenchTinyJSON(t *testing.T) {
	dir := t.TempDir()
	cmd := newBenchCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs([]string{"-m", "synth:tiny:Q8_0", "--synth-dir", dir, "-p", "16", "-n", "4", "-t", "2", "-r", "2", "-o", "json"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, errOut.String())
	}
	var rs []map[string]any
	if err := json.Unmarshal(out.Bytes(), &rs); err != nil {
		t.Fatalf("json: %v\n%s", err, out.String())
	}
	if len(rs) != 2 {
		t.Fatalf("%d results, want 2 (pp16, tg4)", len(rs))
	}
	path := filepath.Join(dir, "tiny-Q8_0-seed1.gguf")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatalf("synthesized model: %v", err)
	}
	for i, want := range []struct{ pp, tg float64 }{{16, 0}, {0, 4}} {
		r := rs[i]
		if r["model_filename"] != path || r["model_type"] != "llama 1M Q8_0" || r["n_threads"] != 2.0 ||
			r["n_prompt"] != want.pp || r["n_gen"] != want.tg || r["backends"] != "CPU" {
			t.Errorf("result %d: %v", i, r)
		}
		// Tensor data is at most the file size and at least 90% of it.
		if size := r["model_size"].(float64); size > float64(st.Size()) || size < 0.9*float64(st.Size()) {
			t.Errorf("model_size %v for a file of %d bytes", size, st.Size())
		}
		if n := r["model_n_params"].(float64); n < 1e5 {
			t.Errorf("model_n_params %v", n)
		}
		samples, _ := r["samples_ts"].([]any)
		ns, _ := r["samples_ns"].([]any)
		if len(samples) != 2 || len(ns) != 2 {
			t.Fatalf("result %d: %d samples_ts and %d samples_ns, want 2", i, len(samples), len(ns))
		}
		var sum float64
		for j, s := range samples {
			ts := s.(float64)
			if !(ts > 0) || math.Abs(ts-(want.pp+want.tg)*1e9/ns[j].(float64)) > 1e-6*ts {
				t.Errorf("result %d sample %d: %v t/s for %v ns", i, j, ts, ns[j])
			}
			sum += ts
		}
		if avg := r["avg_ts"].(float64); math.Abs(avg-sum/2) > 1e-9*avg {
			t.Errorf("avg_ts %v, want %v", avg, sum/2)
		}
	}
}

// TestBenchMarkdownRun checks the markdown output of a real (tiny) run.
func TestBenchMarkdownRun(t *testing.T) {
	cmd := newBenchCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"-m", "synth:tiny-qwen2:Q4_K_M", "--synth-dir", t.TempDir(), "-p", "8", "-n", "2", "-t", "1", "-r", "1"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "| model ") ||
		!strings.Contains(lines[2], "qwen2 ") || !strings.Contains(lines[2], " pp8 |") || !strings.Contains(lines[3], " tg2 |") {
		t.Errorf("unexpected table:\n%s", out.String())
	}
}

// TestBenchBadArgs checks that bad arguments give errors, not panics.
func TestBenchBadArgs(t *testing.T) {
	for _, args := range [][]string{
		{},
		{"-m", "synth:nope:Q4_0"},
		{"-m", "synth:tiny:Q9_9"},
		{"-m", "synth:tiny"},
		{"-m", "/nonexistent.gguf"},
		{"-m", "x.gguf", "-o", "csv"},
		{"-m", "x.gguf", "-r", "0"},
		{"-m", "x.gguf", "-t", "0"},
		{"-m", "x.gguf", "-p", "-1"},
		{"-m", "x.gguf", "-ctk", "q9_9"},
		{"-m", "x.gguf", "--cache-type-v", "nope"},
		{"-m", "x.gguf", "stray"},
		{"-m", "x.gguf", "-d", "-3"},
	} {
		cmd := newBenchCmd()
		cmd.SetOut(&bytes.Buffer{})
		cmd.SetErr(&bytes.Buffer{})
		cmd.SetArgs(append(args, "--synth-dir", t.TempDir()))
		if err := cmd.Execute(); err == nil {
			t.Errorf("%v: no error", args)
		}
	}
}

// TestSynthCommand writes a tiny model with `golem bench synth`.
func TestSynthCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.gguf")
	cmd := newBenchCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&bytes.Buffer{})
	cmd.SetArgs([]string{"synth", "tiny", "F16", "-o", path})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil || !strings.Contains(out.String(), "wrote "+path) {
		t.Errorf("stat: %v; output %q", err, out.String())
	}
}

// TestBenchCacheTypes runs llama-bench's -ctk/-ctv flags end to end: the
// JSON names the cache types, the markdown table gains type_k/type_v
// columns, and stderr reports the load time and resident memory.
func TestBenchCacheTypes(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args   []string
		k, v   string
		output string
	}{
		{[]string{"-ctk", "q8_0", "-ctv=q8_0", "-o", "json"}, "q8_0", "q8_0", "json"},
		{[]string{"--cache-type-k", "f32", "-d", "5"}, "f32", "f16", "md"},
	} {
		cmd := newBenchCmd()
		var out, errOut bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetErr(&errOut)
		cmd.SetArgs(append([]string{"-m", "synth:tiny:Q4_0", "--synth-dir", dir, "-p", "0", "-n", "2", "-t", "1", "-r", "1"}, tc.args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v\n%s", tc.args, err, errOut.String())
		}
		if !strings.Contains(errOut.String(), "loaded in") || !strings.Contains(errOut.String(), "peak RSS") {
			t.Errorf("%v: no load time or RSS on stderr:\n%s", tc.args, errOut.String())
		}
		if tc.output == "json" {
			var rs []map[string]any
			if err := json.Unmarshal(out.Bytes(), &rs); err != nil || len(rs) != 1 {
				t.Fatalf("%v: json %v, %d results\n%s", tc.args, err, len(rs), out.String())
			}
			if rs[0]["type_k"] != tc.k || rs[0]["type_v"] != tc.v {
				t.Errorf("%v: type_k %v type_v %v, want %s %s", tc.args, rs[0]["type_k"], rs[0]["type_v"], tc.k, tc.v)
			}
			continue
		}
		lines := strings.Split(strings.TrimSpace(out.String()), "\n")
		if len(lines) != 3 || !strings.Contains(lines[0], "| type_k | type_v |") ||
			!strings.Contains(lines[2], "| "+tc.k+" ") || !strings.Contains(lines[2], "| "+tc.v+" ") ||
			!strings.Contains(lines[2], " tg2 @ d5 |") {
			t.Errorf("%v: table:\n%s", tc.args, out.String())
		}
	}
}
