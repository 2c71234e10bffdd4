package chat

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestParseErrors(t *testing.T) {
	for _, src := range []string{
		"{% if %}x{% endif %}",
		"{% for x in xs %}no end",
		"{{ 'unterminated }}",
		"{% frobnicate %}",
		"{{ }}",
		"{% endif %}",
		"{{ a b }}",
		"{# no end",
		"{{ x[1:2:3:4] }}",
		"{{ " + strings.Repeat("(", 2000) + "1" + strings.Repeat(")", 2000) + " }}",
		"{{ " + strings.Repeat("[", 2000) + " }}",
		"{{ " + strings.Repeat("not ", 2000) + "x }}",
		strings.Repeat("{% if x %}", 2000),
	} {
		tmpl, err := Parse("{{ x }}" + src)
		if err == nil {
			t.Errorf("Parse(%.40q) = %v, want error", src, tmpl)
			continue
		}
		if e, ok := AsError(err); !ok || e.Type != "TemplateSyntaxError" {
			t.Errorf("Parse(%.40q): error %v is not a TemplateSyntaxError", src, err)
		}
	}
}

func TestRaiseExceptionMessageVisible(t *testing.T) {
	tmpl, err := Parse("{% if messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}ok")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Apply(tmpl, []Message{{Role: "system", Content: "s"}}, true, nil)
	if err == nil || !strings.Contains(err.Error(), "System role not supported") {
		t.Fatalf("error %v does not carry the template's message", err)
	}
	if e, ok := AsError(err); !ok || e.Type != "raise_exception" || e.Msg != "System role not supported" {
		t.Fatalf("AsError = %+v, %v", e, ok)
	}
	out, err := Apply(tmpl, []Message{{Role: "user", Content: "u"}}, true, nil)
	if err != nil || out != "ok" {
		t.Fatalf("got %q, %v", out, err)
	}
}

func TestGoValues(t *testing.T) {
	tmpl, err := Parse("{{ m }} {{ s }} {{ n + i }} {{ f }} {{ p }} {{ b }} {{ m|tojson }}")
	if err != nil {
		t.Fatal(err)
	}
	n := 7
	got, err := tmpl.Render(map[string]any{
		"m": map[string]any{"z": 1, "a": []string{"x"}},
		"s": []int{1, 2},
		"n": int32(40), "i": uint8(2),
		"f": float32(0.5),
		"p": &n,
		"b": map[string]bool{"k": true},
	})
	want := "{'a': ['x'], 'z': 1} [1, 2] 42 0.5 7 {'k': True} {\"a\": [\"x\"], \"z\": 1}"
	if err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if _, err := tmpl.Render(map[string]any{"m": struct{}{}}); err == nil {
		t.Fatal("unsupported Go type rendered without error")
	}
}

func TestDefaultClock(t *testing.T) {
	tmpl, err := Parse("{{ strftime_now('%Y') }}")
	if err != nil {
		t.Fatal(err)
	}
	before := time.Now().Year()
	got, err := tmpl.Render(nil)
	after := time.Now().Year()
	if err != nil || (got != strconv.Itoa(before) && got != strconv.Itoa(after)) {
		t.Fatalf("got %q, %v; want the current year", got, err)
	}
}

func TestLimits(t *testing.T) {
	for _, src := range []string{
		"{% for a in range(100000) %}{% for b in range(100000) %}{% endfor %}{% endfor %}",
		"{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}",
		"{{ 'x' * 100000000000 }}",
	} {
		tmpl, err := Parse(src)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := tmpl.Render(nil); err == nil {
			t.Errorf("%q rendered; want a limit error", src)
		}
		if d := time.Since(start); d > 30*time.Second { // generous: only catches hangs on a loaded CI machine
			t.Errorf("%q took %v", src, d)
		}
	}
}

func TestParseJSONKeepsOrder(t *testing.T) {
	v, err := ParseJSON([]byte(`{"b": 1, "a": {"y": [1.5, null, true], "x": "é"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := pyRepr(v), `{'b': 1, 'a': {'y': [1.5, None, True], 'x': 'é'}}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	if _, err := ParseJSON([]byte(`{"a": 1} x`)); err == nil {
		t.Fatal("trailing data accepted")
	}
}

func TestBigNumbersAndWidths(t *testing.T) {
	for _, c := range []struct{ src, want, errType string }{
		{src: "{% set ns = namespace() %}{% set ns.x | upper %}hi{% endset %}{{ ns.x }}", want: "HI"},
		{src: "{{ 1 ** 1000000000000 }} {{ 9223372036854775807 + 0 }} {{ (-2) ** 63 }}", want: "1 9223372036854775807 -9223372036854775808"},
		// Python's ints are unbounded; past int64 we raise rather than wrap.
		{src: "{{ 9223372036854775807 + 1 }}", errType: "OverflowError"},
		{src: "{{ 2 ** 64 }}", errType: "OverflowError"},
		{src: "{{ 3037000500 * 3037000500 }}", errType: "OverflowError"},
		{src: "{{ 'x'.zfill(10000000000) }}", errType: "MemoryError"},
		{src: "{{ 'x'|center(10000000000) }}", errType: "MemoryError"},
		{src: "{{ 'a\nb'|indent(10000000000) }}", errType: "MemoryError"},
	} {
		tmpl, err := Parse(c.src)
		if err != nil {
			t.Fatalf("%q: %v", c.src, err)
		}
		got, err := tmpl.Render(nil)
		if c.errType == "" {
			if err != nil || got != c.want {
				t.Errorf("%q: got %q, %v; want %q", c.src, got, err, c.want)
			}
			continue
		}
		if e, ok := AsError(err); !ok || e.Type != c.errType {
			t.Errorf("%q: got %q, %v; want %s", c.src, got, err, c.errType)
		}
	}
}

func TestAllowMutationLeavesInputAlone(t *testing.T) {
	tmpl, err := Parse("{% set _ = d.update({'b': 2}) %}{% set _ = d.l.append(3) %}{{ d }}")
	if err != nil {
		t.Fatal(err)
	}
	tmpl.AllowMutation = true
	v, _ := ParseJSON([]byte(`{"a": 1, "l": [1]}`))
	got, err := tmpl.Render(map[string]any{"d": v})
	if want := "{'a': 1, 'l': [1, 3], 'b': 2}"; err != nil || got != want {
		t.Fatalf("got %q, %v; want %q", got, err, want)
	}
	if after := pyRepr(v); after != "{'a': 1, 'l': [1]}" {
		t.Fatalf("caller's value changed to %s", after)
	}
}
