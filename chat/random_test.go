package chat

import (
	"encoding/json"
	"os"
	"testing"
)

// TestJinja2Random renders testdata/jinja2_random.json: 591 random templates
// (expressions, filters, tests, methods, loops, macros, and whitespace
// control around text full of spaces, tabs and newlines) with the output or
// exception that Jinja2 3.1.6 gave in transformers' environment. The file and
// the script that makes it (testdata/jinja2_random.py) are ours, not fixtures.
func TestJinja2Random(t *testing.T) {
	data, err := os.ReadFile("testdata/jinja2_random.json")
	if err != nil {
		t.Fatal(err)
	}
	var corpus struct {
		Vars  json.RawMessage `json:"vars"`
		Cases []struct {
			ID        string  `json:"id"`
			Src       string  `json:"src"`
			Expected  *string `json:"expected"`
			ErrorType string  `json:"error_type"`
			Error     string  `json:"error"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &corpus); err != nil {
		t.Fatal(err)
	}
	v, err := ParseJSON(corpus.Vars)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{}
	for _, k := range v.(*Dict).Keys() {
		vars[k], _ = v.(*Dict).Get(k)
	}
	pass := 0
	for _, c := range corpus.Cases {
		var got string
		tmpl, err := Parse(c.Src)
		if err == nil {
			tmpl.Now = fixedClock
			got, err = tmpl.Render(vars)
		}
		e, _ := AsError(err)
		switch {
		case c.Expected != nil && err != nil:
			t.Errorf("%s: %q: unexpected error %v", c.ID, c.Src, err)
		case c.Expected != nil && got != *c.Expected:
			t.Errorf("%s: %q:\n got %q\nwant %q", c.ID, c.Src, got, *c.Expected)
		case c.Expected == nil && err == nil:
			t.Errorf("%s: %q: rendered %q, want %s: %s", c.ID, c.Src, got, c.ErrorType, c.Error)
		case c.Expected == nil && c.ErrorType != "TemplateSyntaxError" && (e == nil || e.Type != c.ErrorType):
			// Jinja2 rejects some templates at compile time that we reject
			// when rendering, so any error is right for a syntax error.
			t.Errorf("%s: %q: error %v, want %s: %s", c.ID, c.Src, err, c.ErrorType, c.Error)
		default:
			pass++
		}
	}
	t.Logf("%d/%d random templates match Jinja2", pass, len(corpus.Cases))
	if len(corpus.Cases) < 500 {
		t.Errorf("corpus has only %d cases", len(corpus.Cases))
	}
}
