package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golem/internal/fixtures"
)

// templateCase is one element of chat-templates/cases.json.
type templateCase struct {
	ID                     string          `json:"id"`
	Template               string          `json:"template"`
	Variables              json.RawMessage `json:"variables"`
	Expected               *string         `json:"expected"`
	Error                  *string         `json:"error"`
	ErrorType              string          `json:"error_type"`
	ExpectedMutableSandbox *string         `json:"expected_mutable_sandbox"`
}

// fixedClock is the clock the fixtures were rendered with (26 Jul 2024).
func fixedClock() time.Time { return time.Date(2024, 7, 26, 0, 0, 0, 0, time.UTC) }

func loadCases(t testing.TB) (string, []templateCase) {
	t.Helper()
	path := fixtures.Path(t, "chat-templates/cases.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var cases []templateCase
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("decode cases.json: %v", err)
	}
	return filepath.Join(filepath.Dir(path), "templates"), cases
}

// loadTemplate parses a fixture template once, with the fixtures' clock.
func loadTemplate(t testing.TB, dir, name string, cache map[string]*Template) *Template {
	t.Helper()
	if tmpl, ok := cache[name]; ok {
		return tmpl
	}
	tmpl, err := Parse(readTemplate(t, dir, name))
	if err != nil {
		t.Fatalf("%s: parse: %v", name, err)
	}
	tmpl.Now = fixedClock
	cache[name] = tmpl
	return tmpl
}

func readTemplate(t testing.TB, dir, name string) string {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

// renderCase parses the case's template and renders it with its variables
// decoded in key order.
func renderCase(t testing.TB, dir string, c templateCase, cache map[string]*Template) (string, error) {
	t.Helper()
	tmpl := loadTemplate(t, dir, c.Template, cache)
	v, err := ParseJSON(c.Variables)
	if err != nil {
		t.Fatalf("%s: variables: %v", c.ID, err)
	}
	d, ok := v.(*Dict)
	if !ok {
		t.Fatalf("%s: variables are not an object", c.ID)
	}
	vars := map[string]any{}
	for _, k := range d.Keys() {
		vars[k], _ = d.Get(k)
	}
	return tmpl.Render(vars)
}

// TestCases renders all cases of cases.json and compares with transformers'
// output byte for byte, or checks that rendering fails where Python raised.
// raise_exception messages must match exactly; other Python exceptions only
// need the same exception type. We follow transformers (not llama.cpp)
// everywhere, including the sandbox refusing list.append (Kimi-K2-Instruct).
func TestCases(t *testing.T) {
	dir, cases := loadCases(t)
	if len(cases) != 353 {
		t.Errorf("cases.json has %d cases, want 353", len(cases))
	}
	cache := map[string]*Template{}
	pass, mutable := 0, 0
	for _, c := range cases {
		got, err := renderCase(t, dir, c, cache)
		ok := true
		switch {
		case c.Expected != nil:
			if err != nil {
				t.Errorf("%s: unexpected error: %v", c.ID, err)
				ok = false
			} else if got != *c.Expected {
				t.Errorf("%s: output differs at byte %d\n got: %q\nwant: %q", c.ID, firstDiff(got, *c.Expected), got, *c.Expected)
				ok = false
			}
		case c.Error != nil:
			e, isTmpl := AsError(err)
			switch {
			case err == nil:
				t.Errorf("%s: rendered, want %s: %s", c.ID, c.ErrorType, *c.Error)
				ok = false
			case !isTmpl:
				t.Errorf("%s: error %v is not a template error", c.ID, err)
				ok = false
			case e.Type != c.ErrorType:
				t.Errorf("%s: error type %s (%s), want %s (%s)", c.ID, e.Type, e.Msg, c.ErrorType, *c.Error)
				ok = false
			case c.ErrorType == "raise_exception" && e.Msg != *c.Error:
				t.Errorf("%s: raise_exception message %q, want %q", c.ID, e.Msg, *c.Error)
				ok = false
			}
		default:
			t.Errorf("%s: case has neither expected nor error", c.ID)
			ok = false
		}
		if ok && c.ExpectedMutableSandbox != nil {
			// llama.cpp's outcome: the same template with list.append/pop allowed.
			tmpl := cache[c.Template]
			mut := *tmpl
			mut.AllowMutation = true
			cache[c.Template+"#mutable"] = &mut
			got, err := renderCase(t, dir, templateCase{ID: c.ID, Template: c.Template + "#mutable", Variables: c.Variables}, cache)
			if err != nil || got != *c.ExpectedMutableSandbox {
				t.Errorf("%s: AllowMutation: got %q, %v; want %q", c.ID, got, err, *c.ExpectedMutableSandbox)
				ok = false
			}
			mutable++
		}
		if ok {
			pass++
		}
	}
	t.Logf("%d/%d cases pass (%d also checked with AllowMutation against expected_mutable_sandbox)", pass, len(cases), mutable)
}

func firstDiff(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

// TestLlamaCppDifferences reads llamacpp.json (the 26 cases where llama.cpp's
// Jinja engine departs from Python) and pins down our choice for each:
//
//   - We follow Python/transformers by default for all 26: `+` with a
//     none/list/dict operand raises TypeError (llama.cpp stringifies; 22
//     cases), None prints "None" (GLM-4.6/tool_call), and dict.items on a
//     dict is the method, whose `.type` is undefined (Command-R tool_use; 3
//     cases where llama.cpp errors). TestCases checks these against Python.
//   - With AllowMutation we reproduce llama.cpp's output for the two
//     Kimi-K2-Instruct cases that call list.append/pop, checked here.
func TestLlamaCppDifferences(t *testing.T) {
	path := fixtures.Path(t, "chat-templates/llamacpp.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lc struct {
		Differences []struct {
			ID      string  `json:"id"`
			Outcome string  `json:"outcome"`
			Output  *string `json:"llamacpp_output"`
		} `json:"differences"`
	}
	if err := json.Unmarshal(data, &lc); err != nil {
		t.Fatal(err)
	}
	if len(lc.Differences) != 26 {
		t.Errorf("llamacpp.json lists %d differences, want 26", len(lc.Differences))
	}
	dir, cases := loadCases(t)
	byID := map[string]templateCase{}
	for _, c := range cases {
		byID[c.ID] = c
	}
	cache := map[string]*Template{}
	mutable := 0
	for _, d := range lc.Differences {
		c, ok := byID[d.ID]
		if !ok {
			t.Errorf("%s: not in cases.json", d.ID)
			continue
		}
		if c.ExpectedMutableSandbox == nil {
			continue // we follow Python here; TestCases checks it
		}
		tmpl := *loadTemplate(t, dir, c.Template, cache)
		tmpl.AllowMutation = true
		cache[c.Template+"#llama"] = &tmpl
		got, err := renderCase(t, dir, templateCase{ID: c.ID, Template: c.Template + "#llama", Variables: c.Variables}, cache)
		if d.Output == nil || err != nil || got != *d.Output {
			t.Errorf("%s: AllowMutation gave %q, %v; llama.cpp gave %v", d.ID, got, err, d.Output)
		}
		mutable++
	}
	if mutable != 2 {
		t.Errorf("checked %d mutable-sandbox cases, want 2", mutable)
	}
}
