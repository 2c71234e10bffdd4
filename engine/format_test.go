package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/grammar"
	"golem/internal/fixtures"
	"golem/sample"
)

// formatCases are bounded schemas (every string, array and number has a
// limit), so a constrained output always completes well within
// formatNumPredict tokens, plus "json" (unbounded: an object of any size).
var formatCases = []struct {
	name, format string
	bounded      bool
}{
	{"nested", `{"type":"object","properties":{"name":{"type":"string","maxLength":8},"inner":{"type":"object","properties":{"a":{"type":"integer","minimum":0,"maximum":99},"b":{"type":"boolean"}},"required":["a","b"]}},"required":["name","inner"]}`, true},
	{"array", `{"type":"object","properties":{"xs":{"type":"array","items":{"type":"integer","minimum":-9,"maximum":9},"minItems":1,"maxItems":4}},"required":["xs"]}`, true},
	{"enum", `{"type":"object","properties":{"color":{"enum":["red","green","blue"]}},"required":["color"]}`, true},
	{"pattern", `{"type":"object","properties":{"code":{"type":"string","pattern":"^[A-Z]{2}-[0-9]{3}$"}},"required":["code"]}`, true},
	{"anyOf", `{"type":"object","properties":{"v":{"anyOf":[{"type":"integer","minimum":0,"maximum":999},{"type":"string","maxLength":6},{"type":"null"}]}},"required":["v"]}`, true},
	{"json", `"json"`, false},
}

const (
	formatRuns       = 20
	formatNumPredict = 400
	// jsonNumPredict limits the unbounded "json" runs: random weights
	// keep opening members and nested values, so these rarely close
	// within any budget, and a smaller one keeps the test fast.
	jsonNumPredict = 120
)

// checkSchema validates inst against the subset of JSON Schema that
// formatCases use: type, properties (no others allowed when listed),
// required, enum, items, minItems, maxItems, anyOf, minimum, maximum,
// maxLength and pattern.
func checkSchema(s map[string]any, inst any, path string) error {
	if subs, ok := s["anyOf"].([]any); ok {
		for _, sub := range subs {
			if checkSchema(sub.(map[string]any), inst, path) == nil {
				return nil
			}
		}
		return fmt.Errorf("%s: %v matches no anyOf branch", path, inst)
	}
	if enum, ok := s["enum"].([]any); ok {
		for _, e := range enum {
			if e == inst {
				return nil
			}
		}
		return fmt.Errorf("%s: %v not in enum", path, inst)
	}
	switch s["type"] {
	case "object":
		obj, ok := inst.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an object", path, inst)
		}
		props, _ := s["properties"].(map[string]any)
		for k, v := range obj {
			ps, ok := props[k].(map[string]any)
			if !ok {
				return fmt.Errorf("%s: undeclared property %q", path, k)
			}
			if err := checkSchema(ps, v, path+"/"+k); err != nil {
				return err
			}
		}
		req, _ := s["required"].([]any)
		for _, k := range req {
			if _, ok := obj[k.(string)]; !ok {
				return fmt.Errorf("%s: missing required %q", path, k)
			}
		}
	case "array":
		arr, ok := inst.([]any)
		if !ok {
			return fmt.Errorf("%s: %T is not an array", path, inst)
		}
		if m, ok := s["minItems"].(float64); ok && float64(len(arr)) < m {
			return fmt.Errorf("%s: %d items < minItems %v", path, len(arr), m)
		}
		if m, ok := s["maxItems"].(float64); ok && float64(len(arr)) > m {
			return fmt.Errorf("%s: %d items > maxItems %v", path, len(arr), m)
		}
		for i, e := range arr {
			if err := checkSchema(s["items"].(map[string]any), e, fmt.Sprintf("%s/%d", path, i)); err != nil {
				return err
			}
		}
	case "integer":
		f, ok := inst.(float64)
		if !ok || f != float64(int64(f)) {
			return fmt.Errorf("%s: %v is not an integer", path, inst)
		}
		if m, ok := s["minimum"].(float64); ok && f < m {
			return fmt.Errorf("%s: %v < minimum %v", path, f, m)
		}
		if m, ok := s["maximum"].(float64); ok && f > m {
			return fmt.Errorf("%s: %v > maximum %v", path, f, m)
		}
	case "string":
		str, ok := inst.(string)
		if !ok {
			return fmt.Errorf("%s: %T is not a string", path, inst)
		}
		if m, ok := s["maxLength"].(float64); ok && float64(len([]rune(str))) > m {
			return fmt.Errorf("%s: %q longer than %v", path, str, m)
		}
		if p, ok := s["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", path, str, p)
		}
	case "boolean":
		if _, ok := inst.(bool); !ok {
			return fmt.Errorf("%s: %T is not a boolean", path, inst)
		}
	case "null":
		if inst != nil {
			return fmt.Errorf("%s: %v is not null", path, inst)
		}
	}
	return nil
}

// validateFormat checks that out is one JSON object valid under format.
func validateFormat(format, out string) error {
	var inst any
	if err := json.Unmarshal([]byte(out), &inst); err != nil {
		return fmt.Errorf("not JSON: %w", err)
	}
	if format == `"json"` {
		if _, ok := inst.(map[string]any); !ok {
			return fmt.Errorf("%T is not an object", inst)
		}
		return nil
	}
	var s map[string]any
	if err := json.Unmarshal([]byte(format), &s); err != nil {
		return err
	}
	return checkSchema(s, inst, "#")
}

func formatOptions(seed uint32) sample.Options {
	o := sample.DefaultOptions()
	o.Temperature = 1
	o.Seed = int(seed)
	o.NumPredict = formatNumPredict
	return o
}

// TestFormatConstrainedGeneration samples at temperature 1 with random
// seeds from two models whose random weights favour no token (the worst
// case for a constraint: nearly every unconstrained sample is refused),
// and checks that every output is JSON valid under its schema. Bounded
// schemas must end by the grammar (EOG or nothing left to write), never
// by num_predict; for "json" outputs cut by num_predict are counted.
func TestFormatConstrainedGeneration(t *testing.T) {
	models := []struct{ name, path string }{
		{"stories260K", "models/stories260K.gguf"},
		{"qwen2-tiny", "models/tiny/qwen2-tiny.gguf"},
	}
	for _, m := range models {
		t.Run(m.name, func(t *testing.T) {
			r, err := Load(fixtures.Path(t, m.path), 1024)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			for _, fc := range formatCases {
				t.Run(fc.name, func(t *testing.T) {
					g, err := grammar.FromFormat(json.RawMessage(fc.format))
					if err != nil {
						t.Fatal(err)
					}
					var stop, length, tokens int
					for i := range formatRuns {
						seed := rand.Uint32()
						opts := formatOptions(seed)
						if !fc.bounded {
							opts.NumPredict = jsonNumPredict
						}
						var out strings.Builder
						st, err := r.Generate(context.Background(), Request{Prompt: "Once upon a time", Raw: true, Options: opts, Grammar: g},
							func(s string) error { out.WriteString(s); return nil })
						if err != nil {
							t.Fatalf("run %d seed %d: %v", i, seed, err)
						}
						tokens += st.EvalTokens
						if st.DoneReason == "length" {
							length++
							if fc.bounded {
								t.Errorf("run %d seed %d: bounded schema cut by num_predict after %d tokens: %q", i, seed, st.EvalTokens, out.String())
							}
							continue
						}
						stop++
						if err := validateFormat(fc.format, out.String()); err != nil {
							t.Errorf("run %d seed %d: %v: %q", i, seed, err, out.String())
						}
					}
					t.Logf("%d runs: %d ended by the grammar (stop), %d by num_predict; %.1f tokens/run", formatRuns, stop, length, float64(tokens)/formatRuns)
				})
			}
		})
	}
}

// TestFormatBatchMatchesRunner checks that a constrained request gives the
// same text through Batch (two slots at once) as through Runner.Generate.
func TestFormatBatchMatchesRunner(t *testing.T) {
	r, err := Load(fixtures.Path(t, "models/tiny/qwen2-tiny.gguf"), 512)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	g, err := grammar.FromFormat(json.RawMessage(formatCases[0].format))
	if err != nil {
		t.Fatal(err)
	}
	reqs := []Request{
		{Prompt: "hello", Raw: true, Options: formatOptions(7), Grammar: g},
		{Prompt: "world", Raw: true, Options: formatOptions(11), Grammar: g},
	}
	want := make([]string, len(reqs))
	for i, req := range reqs {
		var out strings.Builder
		if _, err := r.Generate(context.Background(), req, func(s string) error { out.WriteString(s); return nil }); err != nil {
			t.Fatal(err)
		}
		want[i] = out.String()
		if err := validateFormat(formatCases[0].format, want[i]); err != nil {
			t.Fatalf("runner output %q: %v", want[i], err)
		}
	}
	b, err := NewBatch(r, len(reqs))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := make([]string, len(reqs))
	var wg sync.WaitGroup
	for i, req := range reqs {
		wg.Go(func() {
			var out strings.Builder
			if _, err := b.Generate(context.Background(), i, req, func(s string) error { out.WriteString(s); return nil }); err != nil {
				t.Error(err)
			}
			got[i] = out.String()
		})
	}
	wg.Wait()
	for i := range reqs {
		if got[i] != want[i] {
			t.Errorf("request %d: batch %q, runner %q", i, got[i], want[i])
		}
	}
}

// TestFormatSpeed logs decoding speed with and without a constraint (same
// model, prompt, seed and token count) and the one-time vocabulary build.
func TestFormatSpeed(t *testing.T) {
	if testing.Short() {
		t.Skip("timing only")
	}
	for _, path := range []string{"models/stories260K.gguf", "models/tiny/qwen2-tiny.gguf"} {
		r, err := Load(fixtures.Path(t, path), 1024)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := r.GrammarVocab(); err != nil {
			t.Fatal(err)
		}
		vocabDur := time.Since(start)
		g, err := grammar.FromFormat(json.RawMessage(`"json"`))
		if err != nil {
			t.Fatal(err)
		}
		rate := func(gr *grammar.Grammar) (float64, int) {
			var n int
			var d time.Duration
			for seed := range 5 {
				o := formatOptions(uint32(seed))
				o.NumPredict = 200
				st, err := r.Generate(context.Background(), Request{Prompt: "Once upon a time", Raw: true, Options: o, Grammar: gr}, func(string) error { return nil })
				if err != nil {
					t.Fatal(err)
				}
				n += st.EvalTokens
				d += st.EvalDuration
			}
			return float64(n) / d.Seconds(), n
		}
		free, nf := rate(nil)
		cons, nc := rate(g)
		t.Logf("%s: vocab build %v; unconstrained %.0f tok/s (%d tokens), format json %.0f tok/s (%d tokens)", path, vocabDur.Round(time.Millisecond), free, nf, cons, nc)
		r.Close()
	}
}
