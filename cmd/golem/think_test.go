package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"golem/api"
	"golem/engine"
	"golem/internal/fixtures"
)

// TestThinkSplitter feeds model output to the <think> separator in every
// two-chunk split and one rune at a time: the thinking and content must
// not depend on how the text was streamed.
func TestThinkSplitter(t *testing.T) {
	cases := []struct {
		name, in, thinking, content string
	}{
		{"think block", "<think>Let me see.</think>\n\nThe answer.", "Let me see.", "The answer."},
		{"blanks around", "  \n<think>\nstep 1\nstep 2\n</think>  Answer", "step 1\nstep 2", "Answer"},
		{"no thinking", "Just an answer.", "", "Just an answer."},
		{"leading blanks kept without think", "\n Hi", "", "\n Hi"},
		{"tag later is content", "Hi <think>x</think> there", "", "Hi <think>x</think> there"},
		{"unterminated", "<think>still thinking", "still thinking", ""},
		{"only part of the tag", "<thi", "", "<thi"},
		{"close tag lookalike", "<think>a </thin b</think>c", "a </thin b", "c"},
		{"empty thinking", "<think></think>Answer", "", "Answer"},
		{"empty", "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var splits [][]string
			for i := 0; i <= len(c.in); i++ {
				splits = append(splits, []string{c.in[:i], c.in[i:]})
			}
			splits = append(splits, strings.Split(c.in, ""))
			for _, chunks := range splits {
				var th, co strings.Builder
				s := &thinkSplitter{emit: func(a, b string) error {
					th.WriteString(a)
					co.WriteString(b)
					return nil
				}}
				for _, ch := range chunks {
					if err := s.write(ch); err != nil {
						t.Fatal(err)
					}
				}
				if err := s.flush(); err != nil {
					t.Fatal(err)
				}
				if th.String() != c.thinking || co.String() != c.content {
					t.Fatalf("chunks %q: thinking %q content %q, want %q %q", chunks, th.String(), co.String(), c.thinking, c.content)
				}
			}
		})
	}
}

// fakeThinkServer is an httptest server that answers /api/generate and
// /api/chat with a stream of thinking chunks, then content chunks, and
// records the requests.
type fakeThinkServer struct {
	mu       sync.Mutex
	generate []api.GenerateRequest
	chat     []api.ChatRequest
	create   []api.CreateRequest
	content  []string
}

func newFakeThinkServer(t *testing.T, content ...string) *fakeThinkServer {
	t.Helper()
	f := &fakeThinkServer{content: content}
	ts := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(ts.Close)
	t.Setenv("GOLEM_HOST", ts.URL)
	return f
}

func (f *fakeThinkServer) serve(w http.ResponseWriter, r *http.Request) {
	enc := json.NewEncoder(w)
	body, _ := io.ReadAll(r.Body)
	thinking := []string{"Let me", " think."}
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/api/version":
		enc.Encode(map[string]string{"version": "0.0.0-test"})
	case "/api/generate":
		var req api.GenerateRequest
		json.Unmarshal(body, &req)
		f.generate = append(f.generate, req)
		if req.Prompt == "" {
			enc.Encode(api.GenerateResponse{Done: true})
			return
		}
		for _, s := range thinking {
			enc.Encode(api.GenerateResponse{Thinking: s})
		}
		for _, s := range f.content {
			enc.Encode(api.GenerateResponse{Response: s})
		}
		enc.Encode(api.GenerateResponse{Done: true, DoneReason: "stop"})
	case "/api/chat":
		var req api.ChatRequest
		json.Unmarshal(body, &req)
		f.chat = append(f.chat, req)
		for _, s := range thinking {
			enc.Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Thinking: s}})
		}
		for _, s := range f.content {
			enc.Encode(api.ChatResponse{Message: api.Message{Role: "assistant", Content: s}})
		}
		enc.Encode(api.ChatResponse{Done: true, DoneReason: "stop"})
	case "/api/create":
		var req api.CreateRequest
		json.Unmarshal(body, &req)
		f.create = append(f.create, req)
		enc.Encode(api.ProgressResponse{Status: "success"})
	default:
		http.NotFound(w, r)
	}
}

func thinkJSON(t *api.ThinkValue) string {
	if t == nil {
		return "unset"
	}
	b, _ := json.Marshal(t)
	return string(b)
}

// TestRunThinking runs `golem run` against a server that streams thinking:
// the Thinking... block, --hidethinking, and the think field each --think
// form sends.
func TestRunThinking(t *testing.T) {
	presetHome(t, nil)
	block := "Thinking...\nLet me think.\n...done thinking.\n\n"
	cases := []struct {
		args      []string
		content   []string
		want      string
		wantThink string
		chat      bool
	}{
		{nil, []string{"Hello", " world"}, block + "Hello world\n", "unset", false},
		{[]string{"--think"}, []string{"Hello"}, block + "Hello\n", "true", false},
		{[]string{"--think=high"}, []string{"Hello"}, block + "Hello\n", `"high"`, false},
		{[]string{"--think=false"}, []string{"Hello"}, block + "Hello\n", "false", false},
		{[]string{"--think", "--hidethinking"}, []string{"Hello"}, "Hello\n", "true", false},
		{[]string{"--preset", "step-by-step", "--answer-only", "--hidethinking"},
			[]string{"1. 6*7 = 42\n", "Final answer: 42"}, "42\n", "unset", true},
		{[]string{"--preset", "step-by-step"},
			[]string{"1. 6*7 = 42\n", "Final answer: 42"}, block + "1. 6*7 = 42\nFinal answer: 42\n", "unset", true},
	}
	for _, c := range cases {
		f := newFakeThinkServer(t, c.content...)
		args := append(append([]string{"run"}, c.args...), "m", "What is 6*7?")
		out, errOut, err := cli(t, "", args...)
		if err != nil {
			t.Fatalf("golem %v: %v\n%s", args, err, errOut)
		}
		if out != c.want {
			t.Errorf("golem %v printed\n%q\nwant\n%q", args, out, c.want)
		}
		var think *api.ThinkValue
		if c.chat {
			if len(f.chat) != 1 || len(f.generate) != 0 {
				t.Fatalf("golem %v: %d chat and %d generate requests, want one chat", args, len(f.chat), len(f.generate))
			}
			req := f.chat[0]
			think = req.Think
			if len(req.Messages) != 2 || req.Messages[0].Role != "system" || !strings.Contains(req.Messages[0].Content, "step by step") ||
				req.Messages[1].Content != "What is 6*7?" || req.Options["temperature"] != 0.2 {
				t.Errorf("golem %v sent %+v", args, req)
			}
		} else {
			if len(f.generate) != 1 || len(f.chat) != 0 {
				t.Fatalf("golem %v: %d generate and %d chat requests, want one generate", args, len(f.generate), len(f.chat))
			}
			think = f.generate[0].Think
		}
		if got := thinkJSON(think); got != c.wantThink {
			t.Errorf("golem %v sent think %s, want %s", args, got, c.wantThink)
		}
	}
	// No answer line: the whole answer, with a warning.
	newFakeThinkServer(t, "It is 42.")
	out, errOut, err := cli(t, "", "run", "--preset", "step-by-step", "--answer-only", "--hidethinking", "m", "q")
	if err != nil || out != "It is 42.\n" || !strings.Contains(errOut, `no "Final answer:" line`) {
		t.Errorf("--answer-only without the line: %v %q %q", err, out, errOut)
	}
}

// TestREPLThinkAndPreset drives the interactive chat: /set think and
// /set nothink change the think field, /set hidethinking hides the block,
// /set preset adds the preset's system prompt to every turn and
// /set nopreset removes it.
func TestREPLThinkAndPreset(t *testing.T) {
	presetHome(t, nil)
	f := newFakeThinkServer(t, "Hi.")
	prev := stdinIsTerminal
	stdinIsTerminal = func(io.Reader) bool { return true }
	t.Cleanup(func() { stdinIsTerminal = prev })
	script := strings.Join([]string{
		"one",
		"/set think",
		"/set preset role persona=\"a pirate\" audience=sailors",
		"two",
		"/set nothink",
		"/set hidethinking",
		"/save pirate",
		"/set nopreset",
		"three",
		"/set think high",
		"/set preset nope",
		"/set preset role",
		"/bye",
	}, "\n") + "\n"
	out, errOut, err := cli(t, script, "run", "--think=false", "m")
	if err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	block := "Thinking...\nLet me think.\n...done thinking.\n\n"
	for _, want := range []string{
		">>> " + block + "Hi.\n\n",
		">>> Set 'think' mode.\n",
		">>> Set preset 'role'.\n",
		">>> Set 'nothink' mode.\n",
		">>> Set 'hidethinking' mode.\n",
		">>> Cleared the preset.\n",
		">>> Hi.\n\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("REPL output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, `unknown preset "nope"`) || !strings.Contains(errOut, "no value for persona") {
		t.Errorf("REPL errors:\n%s", errOut)
	}
	if len(f.chat) != 3 {
		t.Fatalf("%d chat requests, want 3", len(f.chat))
	}
	wantThink := []string{"false", "true", "false"}
	for i, req := range f.chat {
		if got := thinkJSON(req.Think); got != wantThink[i] {
			t.Errorf("turn %d: think %s, want %s", i+1, got, wantThink[i])
		}
	}
	two := f.chat[1]
	if two.Messages[0].Role != "system" || !strings.Contains(two.Messages[0].Content, "You are a pirate.") || !strings.Contains(two.Messages[0].Content, "for sailors") || two.Options["temperature"] != 0.7 {
		t.Errorf("turn 2 with the role preset sent %+v", two)
	}
	// The history keeps the first answer with its thinking.
	if m := two.Messages[2]; m.Role != "assistant" || m.Content != "Hi." || m.Thinking != "Let me think." {
		t.Errorf("turn 2 history: %+v", two.Messages)
	}
	if three := f.chat[2]; three.Messages[0].Role == "system" || len(three.Messages) != 5 {
		t.Errorf("turn 3 after /set nopreset sent %+v", three.Messages)
	}
	// /save bakes the preset in: its system prompt and parameters.
	if len(f.create) != 1 || !strings.Contains(f.create[0].System, "You are a pirate.") || f.create[0].Parameters["temperature"] != 0.7 ||
		len(f.create[0].Messages) != 4 {
		t.Errorf("/save with a preset sent %+v", f.create)
	}
}

// TestRunThinkDirect runs qwen3-tiny in-process: --think=false must render
// the chat template with enable_thinking false (Qwen3's template then
// closes an empty think block in the prompt), which is exactly what
// running that rendered prompt raw gives.
func TestRunThinkDirect(t *testing.T) {
	path := fixtures.Path(t, "models/tiny/qwen3-tiny.gguf")
	r, err := engine.Load(path, 256)
	if err != nil {
		t.Fatal(err)
	}
	prompts := map[bool]string{}
	for _, on := range []bool{false, true} {
		p, err := r.FormatPrompt(engine.Request{Prompt: "hi", TemplateVars: map[string]any{"enable_thinking": on}})
		if err != nil {
			t.Fatal(err)
		}
		prompts[on] = p
	}
	r.Close()
	if !strings.Contains(prompts[false], "<think>\n\n</think>") || strings.Contains(prompts[true], "</think>") {
		t.Fatalf("qwen3 template: enable_thinking does not change the prompt:\n%q\n%q", prompts[false], prompts[true])
	}
	for _, c := range []struct {
		flag string
		on   bool
	}{{"--think=false", false}, {"--think", true}} {
		got, err := runCLI(t, "run", c.flag, "--temperature", "0", "--num-predict", "8", path, "hi")
		if err != nil {
			t.Fatal(err)
		}
		want, err := runCLI(t, "run", "--raw", "--temperature", "0", "--num-predict", "8", path, prompts[c.on])
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("run %s printed %q; the prompt rendered with enable_thinking=%v gives %q", c.flag, got, c.on, want)
		}
	}
}
