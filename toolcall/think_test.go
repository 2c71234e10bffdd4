package toolcall

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"golem/internal/fixtures"
)

var qwenTags = ThinkTags{"<think>", "</think>"}

func TestThinkSplitter(t *testing.T) {
	cases := []struct {
		name             string
		tags             ThinkTags
		inside           bool
		text             string
		thinking, answer string
	}{
		{"qwen3 recorded", qwenTags, false, "<think>\nThe user wants 2+2. That is 4.\n</think>\n\n2 + 2 = 4.", "The user wants 2+2. That is 4.", "2 + 2 = 4."},
		{"leading space before tag", qwenTags, false, "\n <think>a b</think>c", "a b", "c"},
		{"no tag", qwenTags, false, "  Hello <think>not at start</think>", "", "  Hello <think>not at start</think>"},
		{"empty think block", qwenTags, false, "<think>\n\n</think>\n\nHi", "", "Hi"},
		{"unclosed", qwenTags, false, "<think>still going \n", "still going", ""},
		{"prompt opened it", qwenTags, true, "\nreasoning\n</think>\nanswer\n", "reasoning", "answer\n"},
		{"prompt opened, never closed", qwenTags, true, "all reasoning", "all reasoning", ""},
		{"partial tag at end is content", qwenTags, false, "<thi", "", "<thi"},
		{"close tag text inside answer kept", qwenTags, false, "<think>x</think>y</think>z", "x", "y</think>z"},
		{"whitespace inside kept", qwenTags, false, "<think>a \n b\n\n c  </think> d", "a \n b\n\n c", "d"},
		{"multi-byte", qwenTags, false, "<think>héllo ✓</think>wörld ✓", "héllo ✓", "wörld ✓"},
		{"command r7b", ThinkTags{"<|START_THINKING|>", "<|END_THINKING|>"}, false, "<|START_THINKING|>plan<|END_THINKING|>done", "plan", "done"},
		{"only whitespace", qwenTags, false, " \n", "", " \n"},
		{"empty", qwenTags, false, "", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Whole text, then every two-way and byte-by-byte cut.
			cuts := [][]string{{tc.text}, strings.Split(tc.text, "")}
			for i := 1; i < len(tc.text); i++ {
				cuts = append(cuts, []string{tc.text[:i], tc.text[i:]})
			}
			for _, chunks := range cuts {
				s := NewThinkSplitter(tc.tags, tc.inside)
				var th, ct strings.Builder
				for _, c := range chunks {
					a, b := s.Push(c)
					th.WriteString(a)
					ct.WriteString(b)
				}
				a, b := s.Flush()
				th.WriteString(a)
				ct.WriteString(b)
				if th.String() != tc.thinking || ct.String() != tc.answer {
					t.Fatalf("chunks %q: thinking %q answer %q, want %q %q", chunks, th.String(), ct.String(), tc.thinking, tc.answer)
				}
			}
		})
	}
}

// TestThinkSplitterStreamsEarly checks that reasoning is not held back
// longer than a possible closing tag or trailing whitespace.
func TestThinkSplitterStreamsEarly(t *testing.T) {
	s := NewThinkSplitter(qwenTags, false)
	steps := []struct{ in, th, ct string }{
		{"<thi", "", ""},
		{"nk>\nStep one", "Step one", ""},
		{" and two.\n", " and two.", ""},
		{"</th", "", ""},
		{"ink>\n\nThe ans", "", "The ans"},
		{"wer.", "", "wer."},
	}
	for i, st := range steps {
		th, ct := s.Push(st.in)
		if th != st.th || ct != st.ct {
			t.Fatalf("step %d push %q: got %q %q, want %q %q", i, st.in, th, ct, st.th, st.ct)
		}
	}
}

func TestDetectThinkTags(t *testing.T) {
	dir := filepath.Dir(fixtures.Path(t, "chat-templates/README.md"))
	for _, tc := range []struct {
		file string
		want ThinkTags
		ok   bool
	}{
		{"Qwen-Qwen3-0.6B.jinja", qwenTags, true},
		{"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", qwenTags, true},
		{"meta-llama-Llama-3.1-8B-Instruct.jinja", ThinkTags{}, false},
	} {
		b, err := os.ReadFile(filepath.Join(dir, "templates", tc.file))
		if err != nil {
			t.Logf("skip %s: %v", tc.file, err)
			continue
		}
		got, ok := DetectThinkTags(string(b))
		if got != tc.want || ok != tc.ok {
			t.Errorf("%s: %v %v, want %v %v", tc.file, got, ok, tc.want, tc.ok)
		}
	}
	if !PromptOpensThinking("<|im_start|>assistant\n<think>\n", qwenTags) || PromptOpensThinking("<think>\n\n</think>\n\n", qwenTags) {
		t.Error("PromptOpensThinking")
	}
}

// TestHarmonyReasoning: gpt-oss's analysis channel comes out of
// TakeReasoning, not the content, however the stream is cut.
func TestHarmonyReasoning(t *testing.T) {
	text := "<|channel|>analysis<|message|>User wants weather. Call tool.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"location\": \"Paris\"}"
	final := "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>Paris."
	for _, tc := range []struct {
		text, reasoning, content string
		calls                    int
	}{
		{text, "User wants weather. Call tool.", "", 1},
		{final, "Simple.", "Paris.", 0},
	} {
		for cut := 0; cut <= len(tc.text); cut++ {
			s := NewStream(FormatHarmony)
			var reasoning, content strings.Builder
			var calls []Call
			for _, part := range []string{tc.text[:cut], tc.text[cut:]} {
				c, k := s.Push(part)
				content.WriteString(c)
				calls = append(calls, k...)
				reasoning.WriteString(s.TakeReasoning())
			}
			c, k := s.Flush()
			content.WriteString(c)
			calls = append(calls, k...)
			reasoning.WriteString(s.TakeReasoning())
			if reasoning.String() != tc.reasoning || content.String() != tc.content || len(calls) != tc.calls {
				t.Fatalf("cut %d: reasoning %q content %q calls %+v", cut, reasoning.String(), content.String(), calls)
			}
		}
	}
}

func TestSpecialTokens(t *testing.T) {
	for _, tc := range []struct {
		f    Format
		want string
	}{
		{FormatHermes, "<tool_call>"}, {FormatMistral, "[TOOL_CALLS]"}, {FormatLlama3, "<|python_tag|>"},
		{FormatGranite, "<|tool_call|>"}, {FormatCommandR, "<|START_ACTION|>"}, {FormatHarmony, "<|channel|>"},
		{FormatDeepSeek, "<｜tool▁calls▁begin｜>"}, {FormatQwenXML, "</tool_call>"}, {FormatGLM, "<arg_key>"},
	} {
		found := false
		for _, s := range tc.f.SpecialTokens() {
			found = found || s == tc.want
		}
		if !found {
			t.Errorf("%s: %v lacks %q", tc.f, tc.f.SpecialTokens(), tc.want)
		}
	}
	if FormatNone.SpecialTokens() != nil || Format(99).SpecialTokens() != nil {
		t.Error("tokens for no format")
	}
}

// FuzzThinkSplitter: however the text is cut, the splitter gives the same
// reasoning and answer as for the whole text, and never loses or invents
// non-space text outside the tags.
func FuzzThinkSplitter(f *testing.F) {
	for _, s := range []string{"<think>a</think>b", " <think>\n x \n</think>\n y", "<thi", "</think>", "no think", "<think><think></think></think>"} {
		f.Add(s, uint(3), false)
	}
	f.Fuzz(func(t *testing.T, text string, cut uint, inside bool) {
		run := func(parts ...string) (string, string) {
			s := NewThinkSplitter(qwenTags, inside)
			var th, ct strings.Builder
			for _, p := range parts {
				a, b := s.Push(p)
				th.WriteString(a)
				ct.WriteString(b)
			}
			a, b := s.Flush()
			return th.String() + a, ct.String() + b
		}
		c := int(cut % uint(len(text)+1))
		th1, ct1 := run(text)
		th2, ct2 := run(text[:c], text[c:])
		if th1 != th2 || ct1 != ct2 {
			t.Fatalf("cut %d of %q: %q/%q vs whole %q/%q", c, text, th2, ct2, th1, ct1)
		}
		strip := func(s string) string {
			return strings.Join(strings.Fields(s), "")
		}
		body, opened := text, inside
		if t := strings.TrimLeftFunc(text, unicode.IsSpace); !inside && strings.HasPrefix(t, "<think>") {
			body, opened = t[len("<think>"):], true
		}
		if i := strings.Index(body, "</think>"); opened && i >= 0 {
			body = body[:i] + " " + body[i+len("</think>"):]
		}
		in, out := strip(body), strip(th1+ct1)
		if in != out {
			t.Fatalf("%q: non-space text %q became %q (thinking %q, answer %q)", text, in, out, th1, ct1)
		}
	})
}
