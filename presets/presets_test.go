package presets

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golem/api"
)

// TestBuiltins applies every built-in preset with the vars it needs and
// checks the system prompt, options and messages it produces.
func TestBuiltins(t *testing.T) {
	dir := t.TempDir()
	shots := filepath.Join(dir, "shots.txt")
	if err := os.WriteFile(shots, []byte("Q: 2+2\nA: 4\nQ: 3+5\nA: 8\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		vars       map[string]string
		wantSystem []string // substrings of the rendered system prompt
		wantTemp   float64
		wantShots  int
		answer     string
		missing    []string // required vars, reported when vars is empty
	}{
		{"structured", map[string]string{"task": "Summarize RFC 9110", "role": "a protocol engineer"},
			[]string{"You are a protocol engineer.", "Task: Summarize RFC 9110", "At most 200 words", "No introduction"}, 0.3, 0, "", []string{"task"}},
		{"step-by-step", nil, []string{"step by step", `"Final answer:"`}, 0.2, 0, "Final answer:", nil},
		{"few-shot", map[string]string{"examples": shots}, []string{"example answers"}, 0.2, 4, "", []string{"examples"}},
		{"role", map[string]string{"persona": "a patient physics teacher"},
			[]string{"You are a patient physics teacher.", "for a curious non-specialist"}, 0.7, 0, "", []string{"persona"}},
		{"meta", nil, []string{"sources", "uncertain", "never invent citations"}, 0.2, 0, "", nil},
		{"guardrail", nil, []string{"neutral", "decline briefly"}, 0.3, 0, "", nil},
	}
	set, err := Load("")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(set.List()), len(cases); got != want {
		t.Errorf("%d built-in presets, the test covers %d", got, want)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := set.Get(c.name)
			if err != nil {
				t.Fatal(err)
			}
			if p.Source != BuiltinSource || p.Description == "" {
				t.Errorf("source %q, description %q", p.Source, p.Description)
			}
			a, err := Apply(p, c.vars, "", []api.Message{{Role: "user", Content: "hello"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range c.wantSystem {
				if !strings.Contains(a.System, s) {
					t.Errorf("system prompt lacks %q:\n%s", s, a.System)
				}
			}
			if strings.Contains(a.System, "{{") {
				t.Errorf("unfilled placeholder in %q", a.System)
			}
			if got := a.Options["temperature"]; got != c.wantTemp {
				t.Errorf("temperature %v, want %v", got, c.wantTemp)
			}
			if got := len(a.Messages) - 1; got != c.wantShots {
				t.Errorf("%d few-shot messages, want %d", got, c.wantShots)
			}
			if last := a.Messages[len(a.Messages)-1]; last.Content != "hello" {
				t.Errorf("the user's message is not last: %+v", a.Messages)
			}
			if p.Answer != c.answer {
				t.Errorf("answer line %q, want %q", p.Answer, c.answer)
			}
			_, err = Apply(p, nil, "", nil, nil)
			var me *MissingVarsError
			if len(c.missing) == 0 {
				if err != nil {
					t.Errorf("without vars: %v", err)
				}
				return
			}
			if !errors.As(err, &me) {
				t.Fatalf("without vars: error %v, want a MissingVarsError", err)
			}
			var names []string
			for _, v := range me.Vars {
				names = append(names, v.Name)
			}
			if !reflect.DeepEqual(names, c.missing) {
				t.Errorf("missing %v, want %v", names, c.missing)
			}
			for _, n := range c.missing {
				if !strings.Contains(err.Error(), n) {
					t.Errorf("error %q does not name %s", err, n)
				}
			}
		})
	}
}

// TestApplyPrecedence checks that explicit request values win over the
// preset's and that few-shot messages go before the conversation.
func TestApplyPrecedence(t *testing.T) {
	p, err := Parse("t", "t.json", []byte(`{
		"system": "Be {{tone}}.",
		"vars": [{"name": "tone", "default": "brief"}],
		"parameters": {"temperature": 0.1, "top_k": 5, "stop": "END"},
		"messages": [{"role": "user", "content": "Say {{tone}}"}, {"role": "assistant", "content": "ok"}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	user := []api.Message{{Role: "user", Content: "q"}}
	cases := []struct {
		name     string
		vars     map[string]string
		system   string
		msgs     []api.Message
		opts     map[string]any
		wantSys  string
		wantMsgs []string // role:content
		wantOpts map[string]any
	}{
		{"preset only", nil, "", user, nil, "Be brief.",
			[]string{"user:Say brief", "assistant:ok", "user:q"},
			map[string]any{"temperature": 0.1, "top_k": 5.0, "stop": []string{"END"}}},
		{"var given", map[string]string{"tone": "formal"}, "", user, nil, "Be formal.",
			[]string{"user:Say formal", "assistant:ok", "user:q"}, nil},
		{"explicit system wins", nil, "Mine.", user, map[string]any{"temperature": 0.9}, "Mine.",
			[]string{"user:Say brief", "assistant:ok", "user:q"},
			map[string]any{"temperature": 0.9, "top_k": 5.0, "stop": []string{"END"}}},
		{"system message in the conversation wins", nil, "",
			[]api.Message{{Role: "system", Content: "S"}, {Role: "user", Content: "q"}}, nil, "",
			[]string{"system:S", "user:Say brief", "assistant:ok", "user:q"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := Apply(p, c.vars, c.system, c.msgs, c.opts)
			if err != nil {
				t.Fatal(err)
			}
			if a.System != c.wantSys {
				t.Errorf("system %q, want %q", a.System, c.wantSys)
			}
			var got []string
			for _, m := range a.Messages {
				got = append(got, m.Role+":"+m.Content)
			}
			if !reflect.DeepEqual(got, c.wantMsgs) {
				t.Errorf("messages %q, want %q", got, c.wantMsgs)
			}
			if c.wantOpts != nil && !reflect.DeepEqual(a.Options, c.wantOpts) {
				t.Errorf("options %v, want %v", a.Options, c.wantOpts)
			}
			chat := a.ChatMessages()
			if c.wantSys != "" && (chat[0].Role != "system" || chat[0].Content != c.wantSys) {
				t.Errorf("ChatMessages does not start with the system prompt: %+v", chat)
			}
			if c.wantSys == "" && len(chat) != len(a.Messages) {
				t.Errorf("ChatMessages added a system message: %+v", chat)
			}
		})
	}
	if _, err := Apply(p, map[string]string{"tnoe": "x"}, "", nil, nil); !errors.Is(err, ErrUnknownVar) || !strings.Contains(err.Error(), "tnoe") {
		t.Errorf("unknown var: %v", err)
	}
}

// TestUserPresets loads presets from a directory: a new one, one that
// replaces a built-in, and bad files that are reported with file and line
// without hiding the good ones.
func TestUserPresets(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"haiku.json":      `{"description": "Answer in a haiku", "system": "Answer as a haiku about {{topic}}.", "vars": [{"name": "topic", "default": "the sea"}], "parameters": {"temperature": 0.9, "num_predict": 60}}`,
		"meta.json":       `{"description": "my meta", "system": "Cite sources."}`,
		"broken.json":     "{\n  \"system\": \"x\",\n  \"parameters\": {\"temperature\": \"hot\"}\n}",
		"notes.txt":       "not a preset",
		"Mixed-Case.json": `{"system": ""}`,
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	set, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "broken.json:3") {
		t.Errorf("Load error %v, want one naming broken.json:3", err)
	}
	names := set.Names()
	want := []string{"Mixed-Case", "few-shot", "guardrail", "haiku", "meta", "role", "step-by-step", "structured"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("names %v, want %v", names, want)
	}
	h, err := set.Get("haiku")
	if err != nil {
		t.Fatal(err)
	}
	if h.Source != filepath.Join(dir, "haiku.json") {
		t.Errorf("source %q", h.Source)
	}
	a, err := Apply(h, nil, "", nil, map[string]any{"num_predict": 10})
	if err != nil {
		t.Fatal(err)
	}
	if a.System != "Answer as a haiku about the sea." || a.Options["temperature"] != 0.9 || a.Options["num_predict"] != 10 {
		t.Errorf("applied %+v", a)
	}
	if m, _ := set.Get("meta"); m.Description != "my meta" {
		t.Errorf("user meta.json did not replace the built-in: %+v", m)
	}
	if _, err := set.Get("mixed-case"); err != nil {
		t.Errorf("case-insensitive lookup: %v", err)
	}
	if _, err := set.Get("broken"); err == nil || !strings.Contains(err.Error(), "temperature wants a number") {
		t.Errorf("Get(broken): %v", err)
	}
	_, err = set.Get("nope")
	if !errors.Is(err, ErrUnknown) || !strings.Contains(err.Error(), "haiku, meta, role") {
		t.Errorf("Get(nope): %v", err)
	}
}

// TestBadFiles checks that each kind of mistake in a preset file is
// reported with the file and the right line.
func TestBadFiles(t *testing.T) {
	cases := []struct {
		name, src string
		want      string // substring of the error, including file:line
	}{
		{"syntax", "{\n \"system\": \"a\",\n \"vars\": [\n}", "p.json:4: invalid JSON"},
		{"unknown field", "{\n \"system\": \"a\",\n \"temperature\": 1\n}", `p.json:3: unknown field "temperature"`},
		{"wrong type", "{\n \"system\": 5\n}", "p.json:2: field \"system\" wants string"},
		{"no system", `{"description": "d"}`, `p.json:1: missing "system"`},
		{"undeclared placeholder", "{\n \"system\": \"Hi {{who}}\"\n}", "p.json:2: \"system\" uses placeholder {{who}}"},
		{"placeholder in message", "{\"system\": \"\",\n \"messages\": [{\"role\": \"user\", \"content\": \"{{x}}\"}]}", "p.json:2: message 1 uses placeholder {{x}}"},
		{"bad role", "{\"system\": \"\",\n \"messages\": [{\"role\": \"robot\", \"content\": \"x\"}]}", `p.json:2: message 1: role "robot"`},
		{"unknown parameter", "{\"system\": \"\",\n \"parameters\": {\n  \"temprature\": 1}}", `p.json:3: parameters: unknown option "temprature"`},
		{"non-integer", "{\"system\": \"\",\n \"parameters\": {\"top_k\": 1.5}}", "p.json:2: parameters: top_k wants an integer"},
		{"bad stop", "{\"system\": \"\",\n \"parameters\": {\"stop\": [1]}}", "p.json:2: parameters: stop wants a string or a list"},
		{"duplicate var", "{\"system\": \"\", \"vars\": [{\"name\": \"a\"},\n {\"name\": \"a\"}]}", `var "a" declared twice`},
		{"bad var name", "{\"system\": \"\",\n \"vars\": [{\"name\": \"a b\"}]}", `p.json:2: invalid var name "a b"`},
		{"undeclared examples var", "{\"system\": \"\",\n \"examples_var\": \"ex\"}", `p.json:2: examples_var "ex" is not declared`},
		{"trailing text", "{\"system\": \"\"}\n{}", "p.json:2: text after the JSON object"},
		{"empty", "", "p.json: empty file"},
		{"truncated", "{\"system\": \"abc", "p.json:1: unexpected end"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("p", "p.json", []byte(c.src))
			var le *LoadError
			if !errors.As(err, &le) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want a LoadError containing %q", err, c.want)
			}
		})
	}
	if _, err := Parse("bad name", "x.json", []byte(`{"system": ""}`)); err == nil {
		t.Error("a name with a space was accepted")
	}
}

func TestParseExamples(t *testing.T) {
	cases := []struct {
		name, text string
		want       []string // role:content
		err        string
	}{
		{"qa", "# arithmetic\nQ: 2+2\nA: 4\n\nq: What is\n  3+5?\na:   8\n", []string{"user:2+2", "assistant:4", "user:What is\n  3+5?", "assistant:8"}, ""},
		{"qa crlf", "Q: a\r\nA: b\r\n", []string{"user:a", "assistant:b"}, ""},
		{"jsonl", "{\"q\": \"hi\", \"a\": \"hello\"}\n\n{\"input\": \"x\", \"output\": \"y\"}\n{\"role\": \"user\", \"content\": \"m\"}\n", []string{"user:hi", "assistant:hello", "user:x", "assistant:y", "user:m"}, ""},
		{"jsonl bad line", "{\"q\": \"hi\", \"a\": \"hello\"}\n{\"q\": 1}\n", nil, "ex:2: want"},
		{"jsonl not json", "{\"q\": \"hi\", \"a\": \"hello\"}\n{oops\n", nil, "ex:2: not a JSON object"},
		{"text before Q", "hello\nQ: a\nA: b", nil, "ex:1: text before the first Q:"},
		{"two questions", "Q: a\nQ: b\nA: c", nil, "ex:2: found Q: where A: was expected"},
		{"answer first", "A: a", nil, "ex:1: found A: where Q: was expected"},
		{"no answer", "Q: a\nA: b\nQ: c", nil, "last question has no A: answer"},
		{"empty answer", "Q: a\nA:\n", nil, "an empty answer"},
		{"empty", "  \n", nil, "no examples"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msgs, err := ParseExamples("ex", c.text)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range msgs {
				got = append(got, m.Role+":"+m.Content)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

// TestExamplesSource checks how the few-shot preset's examples var is
// read: a file for Apply, inline text for both, never a file for
// ApplyUntrusted.
func TestExamplesSource(t *testing.T) {
	set, _ := Load("")
	p, err := set.Get("few-shot")
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "ex.jsonl")
	if err := os.WriteFile(file, []byte(`{"q": "a", "a": "b"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	inline := "Q: a\nA: b"
	for _, c := range []struct {
		name    string
		value   string
		trusted bool
		err     string
	}{
		{"file", file, true, ""},
		{"inline", inline, true, ""},
		{"inline untrusted", inline, false, ""},
		{"file untrusted", file, false, "not a file name"},
		{"missing file", filepath.Join(t.TempDir(), "none.txt"), true, "no such file"},
		{"empty", " ", true, "is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{"examples": c.value}
			f := Apply
			if !c.trusted {
				f = ApplyUntrusted
			}
			a, err := f(p, vars, "", nil, nil)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Errorf("error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(a.Messages) != 2 || a.Messages[0].Content != "a" || a.Messages[1].Content != "b" {
				t.Errorf("messages %+v", a.Messages)
			}
		})
	}
}

func TestExtractAnswer(t *testing.T) {
	cases := []struct {
		name, out, want string
		ok              bool
	}{
		{"plain", "Step 1: 2+2=4\nFinal answer: 4", "4", true},
		{"last wins", "Final answer: 3\nWait, recheck.\nFinal answer: 4\n", "4", true},
		{"markdown", "1. ...\n**Final answer:** 42 apples", "42 apples", true},
		{"bold whole", "**Final answer: 42**", "42", true},
		{"case", "final ANSWER: yes", "yes", true},
		{"next line", "Final answer:\n\n  Paris\n", "Paris", true},
		{"heading", "### Final answer: blue", "blue", true},
		{"none", "The answer is 4.", "", false},
		{"not the marker", "Final answers are hard.", "", false},
		{"empty after", "Final answer:", "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, ok := ExtractAnswer(c.out, "Final answer:")
			if got != c.want || ok != c.ok {
				t.Errorf("got %q %v, want %q %v", got, ok, c.want, c.ok)
			}
		})
	}
	if _, ok := ExtractAnswer("Final answer: x", ""); ok {
		t.Error("an empty prefix matched")
	}
}

// TestForRequests checks the server's one-call hooks: the preset resolved
// from $GOLEM_HOME/presets or the built-ins, applied to a request.
func TestForRequests(t *testing.T) {
	home := t.TempDir()
	t.Setenv("GOLEM_HOME", home)
	if err := os.MkdirAll(filepath.Join(home, "presets"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "presets", "terse.json"), []byte(`{"system": "Be terse.", "parameters": {"num_predict": 20}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	msgs, opts, err := ForChat("terse", nil, []api.Message{{Role: "user", Content: "hi"}}, map[string]any{"seed": 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 2 || msgs[0].Content != "Be terse." || msgs[1].Content != "hi" || opts["num_predict"] != 20.0 || opts["seed"] != 1 {
		t.Errorf("ForChat: %+v %v", msgs, opts)
	}
	if _, _, err := ForChat("few-shot", map[string]string{"examples": "/etc/passwd"}, nil, nil); err == nil {
		t.Error("ForChat read a file named by a request")
	}
	msgs, _, err = ForChat("few-shot", map[string]string{"examples": "Q: a\nA: b"}, []api.Message{{Role: "user", Content: "c"}}, nil)
	if err != nil || len(msgs) != 4 || msgs[1].Content != "a" || msgs[3].Content != "c" {
		t.Errorf("ForChat few-shot inline: %v %+v", err, msgs)
	}
	sys, opts, err := ForGenerate("step-by-step", nil, "", nil)
	if err != nil || !strings.Contains(sys, "step by step") || opts["temperature"] != 0.2 {
		t.Errorf("ForGenerate: %v %q %v", err, sys, opts)
	}
	if sys, _, _ := ForGenerate("terse", nil, "Mine.", nil); sys != "Mine." {
		t.Errorf("ForGenerate with a system: %q", sys)
	}
	if _, _, err := ForGenerate("few-shot", map[string]string{"examples": "Q: a\nA: b"}, "", nil); err == nil || !strings.Contains(err.Error(), "/api/chat") {
		t.Errorf("ForGenerate few-shot: %v", err)
	}
	if _, _, err := ForChat("nope", nil, nil, nil); !errors.Is(err, ErrUnknown) {
		t.Errorf("ForChat(nope): %v", err)
	}
}
