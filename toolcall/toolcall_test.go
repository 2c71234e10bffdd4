package toolcall

import (
	"bytes"
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"golem/internal/fixtures"
)

// wantCall is an expected call: name, arguments as compact JSON in the
// model's key order, and id.
type wantCall struct {
	name, args, id string
}

type parseCase struct {
	name    string
	format  Format
	text    string
	content string
	calls   []wantCall
	// closed: every call's closing syntax is in the text, so a stream must
	// report all calls before Flush.
	closed bool
}

var weather = `{"location": "Paris, France", "unit": "celsius"}`

const weatherC = `{"location":"Paris, France","unit":"celsius"}`

var cases = []parseCase{
	// ---- Hermes / Qwen ----
	{name: "hermes single", format: FormatHermes,
		text:  "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + weather + "}\n</tool_call>",
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "hermes text before and after", format: FormatHermes,
		text:    "Let me check the weather.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + weather + "}\n</tool_call>\nDone.",
		content: "Let me check the weather.\nDone.",
		calls:   []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "hermes two calls", format: FormatHermes,
		text:  "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"tz\": \"Europe/Paris\", \"fmt\": 24}}\n</tool_call>",
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}, {"get_time", `{"tz":"Europe/Paris","fmt":24}`, ""}}, closed: true},
	{name: "hermes arguments as string", format: FormatHermes,
		text:  "<tool_call>\n{\"name\": \"search\", \"arguments\": \"{\\\"query\\\": \\\"go generics\\\", \\\"n\\\": 3}\"}\n</tool_call>",
		calls: []wantCall{{"search", `{"query":"go generics","n":3}`, ""}}, closed: true},
	{name: "hermes unclosed at end of generation", format: FormatHermes,
		text:  "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}}\n",
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}}},
	{name: "hermes malformed json", format: FormatHermes,
		text:    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": Paris}}\n</tool_call>",
		content: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": Paris}}\n</tool_call>"},
	{name: "hermes unbalanced json", format: FormatHermes,
		text:    "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}\n</tool_call>",
		content: "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"location\": \"Paris\"}\n</tool_call>"},
	{name: "hermes brace inside string", format: FormatHermes,
		text:  "<tool_call>\n{\"name\": \"echo\", \"arguments\": {\"s\": \"a}b\\\"{c\"}}\n</tool_call>",
		calls: []wantCall{{"echo", `{"s":"a}b\"{c"}`, ""}}, closed: true},
	{name: "hermes no name", format: FormatHermes,
		text:    "<tool_call>{\"arguments\": {}}</tool_call>",
		content: "<tool_call>{\"arguments\": {}}</tool_call>"},
	{name: "hermes plain text with lookalike", format: FormatHermes,
		text:    "Use the <tool tag or <tool_call without JSON.",
		content: "Use the <tool tag or <tool_call without JSON."},
	{name: "hermes unicode content", format: FormatHermes,
		text:    "Météo à Zürich — 😀\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Zürich\"}}\n</tool_call>",
		content: "Météo à Zürich — 😀\n",
		calls:   []wantCall{{"get_weather", `{"city":"Zürich"}`, ""}}, closed: true},

	// ---- Mistral ----
	{name: "mistral nemo array", format: FormatMistral,
		text:  `[TOOL_CALLS][{"name": "get_weather", "arguments": ` + weather + `, "id": "abc123def"}]`,
		calls: []wantCall{{"get_weather", weatherC, "abc123def"}}, closed: true},
	{name: "mistral nemo two calls", format: FormatMistral,
		text:  `[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}, "id": "a1b2c3d4e"}, {"name": "get_time", "arguments": {}, "id": "f5g6h7i8j"}]`,
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, "a1b2c3d4e"}, {"get_time", `{}`, "f5g6h7i8j"}}, closed: true},
	{name: "mistral small 3.2 with call id", format: FormatMistral,
		text:  `[TOOL_CALLS]get_weather[CALL_ID]abc123def[ARGS]` + weather,
		calls: []wantCall{{"get_weather", weatherC, "abc123def"}}, closed: true},
	{name: "devstral args only, two calls, text before", format: FormatMistral,
		text:    `I will look.[TOOL_CALLS]read_file[ARGS]{"path": "main.go"}[TOOL_CALLS]list_dir[ARGS]{"path": "."}`,
		content: "I will look.",
		calls:   []wantCall{{"read_file", `{"path":"main.go"}`, ""}, {"list_dir", `{"path":"."}`, ""}}, closed: true},
	{name: "mistral malformed", format: FormatMistral,
		text:    `[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}, }]`,
		content: `[TOOL_CALLS][{"name": "get_weather", "arguments": {"location": "Paris"}, }]`},
	{name: "mistral args string", format: FormatMistral,
		text:  `[TOOL_CALLS][{"name": "f", "arguments": "{\"x\": 1.5}"}]`,
		calls: []wantCall{{"f", `{"x":1.5}`, ""}}, closed: true},

	// ---- Llama 3.x ----
	{name: "llama bare json", format: FormatLlama3,
		text:  `{"name": "get_weather", "parameters": ` + weather + `}`,
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "llama type function", format: FormatLlama3,
		text:  `{"type": "function", "name": "get_weather", "parameters": {"location": "Paris"}}`,
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}}, closed: true},
	{name: "llama python tag", format: FormatLlama3,
		text:  `<|python_tag|>{"name": "get_weather", "parameters": {"location": "Paris"}}`,
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}}, closed: true},
	{name: "llama two calls semicolon", format: FormatLlama3,
		text:  `{"name": "a", "parameters": {"x": 1}}; {"name": "b", "parameters": {"y": [1, 2]}}`,
		calls: []wantCall{{"a", `{"x":1}`, ""}, {"b", `{"y":[1,2]}`, ""}}, closed: true},
	{name: "llama pretty-printed after text", format: FormatLlama3,
		text:    "Calling it now.\n{\n  \"name\": \"get_weather\",\n  \"parameters\": {\n    \"location\": \"Paris\"\n  }\n}",
		content: "Calling it now.\n",
		calls:   []wantCall{{"get_weather", `{"location":"Paris"}`, ""}}, closed: true},
	{name: "functionary streams text", format: FormatFunctionary,
		text:    "all\nThe weather in Paris is sunny, 21 °C.",
		content: "The weather in Paris is sunny, 21 °C."},
	{name: "llama json that is not a call", format: FormatLlama3,
		text:    `The answer is {"temperature": 21} degrees.`,
		content: `The answer is {"temperature": 21} degrees.`},
	{name: "llama arguments key as string", format: FormatLlama3,
		text:  `{"name": "f", "arguments": "{\"k\": \"v\"}"}`,
		calls: []wantCall{{"f", `{"k":"v"}`, ""}}, closed: true},
	{name: "llama malformed", format: FormatLlama3,
		text:    `{"name": "f", "parameters": {"k": v}}`,
		content: `{"name": "f", "parameters": {"k": v}}`},

	// ---- Granite 3.x ----
	{name: "granite single", format: FormatGranite,
		text:  `<|tool_call|>[{"name": "get_weather", "arguments": ` + weather + `}]`,
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "granite two with text", format: FormatGranite,
		text:    `Sure.<|tool_call|>[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"q": "x"}}]`,
		content: "Sure.",
		calls:   []wantCall{{"a", `{}`, ""}, {"b", `{"q":"x"}`, ""}}, closed: true},
	{name: "granite malformed", format: FormatGranite,
		text:    `<|tool_call|>[{"name": "a", "arguments": {]`,
		content: `<|tool_call|>[{"name": "a", "arguments": {]`},

	// ---- Command-R ----
	{name: "command-r action", format: FormatCommandR,
		text:  "Action: ```json\n[\n    {\n        \"tool_name\": \"internet_search\",\n        \"parameters\": {\n            \"query\": \"weather in Paris\"\n        }\n    }\n]\n```",
		calls: []wantCall{{"internet_search", `{"query":"weather in Paris"}`, ""}}, closed: true},
	{name: "command-r two actions with plan", format: FormatCommandR,
		text:    "Plan: search then answer.\nAction:\n```json\n[{\"tool_name\": \"internet_search\", \"parameters\": {\"query\": \"a\"}}, {\"tool_name\": \"directly_answer\", \"parameters\": {}}]\n```",
		content: "Plan: search then answer.\n",
		calls:   []wantCall{{"internet_search", `{"query":"a"}`, ""}, {"directly_answer", `{}`, ""}}, closed: true},
	{name: "command r7b action tokens", format: FormatCommandR,
		text:  `<|START_ACTION|>[{"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"location": "Paris"}}]<|END_ACTION|>`,
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}}, closed: true},
	{name: "command-r malformed", format: FormatCommandR,
		text:    "Action: ```json\n[{\"tool_name\": }]\n```",
		content: "Action: ```json\n[{\"tool_name\": }]\n```"},

	// ---- functionary v3.2 (text after the prompt's ">>>") ----
	{name: "functionary text only", format: FormatFunctionary,
		text:    "all\nHello! How can I help?",
		content: "Hello! How can I help?"},
	{name: "functionary call", format: FormatFunctionary,
		text:  "get_weather\n" + weather,
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "functionary text then two calls", format: FormatFunctionary,
		text:    "all\nChecking both.>>>get_weather\n{\"location\": \"Paris\"}>>>get_time\n{\"tz\": \"CET\"}",
		content: "Checking both.",
		calls:   []wantCall{{"get_weather", `{"location":"Paris"}`, ""}, {"get_time", `{"tz":"CET"}`, ""}}, closed: true},
	{name: "functionary no recipient", format: FormatFunctionary,
		text:    "Hello there",
		content: "Hello there"},
	{name: "functionary malformed", format: FormatFunctionary,
		text:    "get_weather\n{\"location\": }",
		content: "get_weather\n{\"location\": }"},

	// ---- gpt-oss harmony (text after the prompt's "<|start|>assistant") ----
	{name: "harmony call after analysis", format: FormatHarmony,
		text:  "<|channel|>analysis<|message|>User wants weather. Call tool.<|end|><|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>" + weather + "<|call|>",
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "harmony recipient in role", format: FormatHarmony,
		text:  "<|channel|>analysis<|message|>Need tool.<|end|><|start|>assistant to=functions.lookup<|channel|>commentary json<|message|>{\"id\": 42}<|call|>",
		calls: []wantCall{{"lookup", `{"id":42}`, ""}}, closed: true},
	{name: "harmony final answer", format: FormatHarmony,
		text:    "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>The capital of France is Paris.<|return|>",
		content: "The capital of France is Paris."},
	{name: "harmony final unterminated", format: FormatHarmony,
		text:    "<|channel|>final<|message|>Paris.",
		content: "Paris."},
	{name: "harmony malformed args", format: FormatHarmony,
		text:    "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{bad}<|call|>",
		content: "<|channel|>commentary to=functions.f <|constrain|>json<|message|>{bad}"},

	// ---- DeepSeek ----
	{name: "deepseek r1 single", format: FormatDeepSeek,
		text:  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n" + weather + "\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "deepseek r1 two calls with text", format: FormatDeepSeek,
		text:    "I'll check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>a\n```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>function<｜tool▁sep｜>b\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		content: "I'll check.",
		calls:   []wantCall{{"a", `{"x":1}`, ""}, {"b", `{}`, ""}}, closed: true},
	{name: "deepseek v3.1", format: FormatDeepSeek,
		text:  "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": \"Paris\"}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>",
		calls: []wantCall{{"get_weather", `{"location":"Paris"}`, ""}, {"get_time", `{}`, ""}}, closed: true},
	{name: "deepseek malformed", format: FormatDeepSeek,
		text:    "<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": Paris}<｜tool▁call▁end｜>",
		content: "<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{\"location\": Paris}<｜tool▁call▁end｜>"},

	// ---- Qwen3-Coder / Qwen3.5 XML ----
	{name: "qwen xml single", format: FormatQwenXML,
		text:  "<tool_call>\n<function=get_weather>\n<parameter=location>\nParis, France\n</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "qwen xml typed values, multiline, two calls, text before", format: FormatQwenXML,
		text:    "I'll write the file.\n\n<tool_call>\n<function=write_file>\n<parameter=path>\na.txt\n</parameter>\n<parameter=content>\nline 1\nline 2\n</parameter>\n<parameter=mode>\n420\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n<function=list>\n<parameter=opts>\n{\"all\": true, \"depth\": [1, 2]}\n</parameter>\n</function>\n</tool_call>",
		content: "I'll write the file.\n\n",
		calls:   []wantCall{{"write_file", `{"path":"a.txt","content":"line 1\nline 2","mode":420}`, ""}, {"list", `{"opts":{"all":true,"depth":[1,2]}}`, ""}}, closed: true},
	{name: "qwen xml no parameters", format: FormatQwenXML,
		text:  "<tool_call>\n<function=get_time>\n</function>\n</tool_call>",
		calls: []wantCall{{"get_time", `{}`, ""}}, closed: true},
	{name: "qwen xml json fallback", format: FormatQwenXML,
		text:  "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"a\": 1}}\n</tool_call>",
		calls: []wantCall{{"f", `{"a":1}`, ""}}, closed: true},
	{name: "qwen xml malformed", format: FormatQwenXML,
		text:    "<tool_call>\n<function=get weather>\n</function>\n</tool_call>",
		content: "<tool_call>\n<function=get weather>\n</function>\n</tool_call>"},

	// ---- GLM-4.5 / 4.6 ----
	{name: "glm single", format: FormatGLM,
		text:  "<tool_call>get_weather\n<arg_key>location</arg_key>\n<arg_value>Paris, France</arg_value>\n<arg_key>unit</arg_key>\n<arg_value>celsius</arg_value>\n</tool_call>",
		calls: []wantCall{{"get_weather", weatherC, ""}}, closed: true},
	{name: "glm two calls with text and json value", format: FormatGLM,
		text:    "Checking.\n<tool_call>search\n<arg_key>q</arg_key>\n<arg_value>go</arg_value>\n<arg_key>filters</arg_key>\n<arg_value>{\"lang\": \"en\"}</arg_value>\n</tool_call>\n<tool_call>get_time\n</tool_call>",
		content: "Checking.\n",
		calls:   []wantCall{{"search", `{"q":"go","filters":{"lang":"en"}}`, ""}, {"get_time", `{}`, ""}}, closed: true},
	{name: "glm malformed", format: FormatGLM,
		text:    "<tool_call>f\n<arg_key>a</arg_key>\n<oops>1</oops>\n</tool_call>",
		content: "<tool_call>f\n<arg_key>a</arg_key>\n<oops>1</oops>\n</tool_call>"},

	// ---- none ----
	{name: "none keeps everything", format: FormatNone,
		text:    "<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call>",
		content: "<tool_call>{\"name\": \"x\", \"arguments\": {}}</tool_call>"},
}

// checkResult compares a parse result with a case's expectation.
func checkResult(t *testing.T, c parseCase, content string, calls []Call) {
	t.Helper()
	if content != c.content {
		t.Errorf("content = %q, want %q", content, c.content)
	}
	if len(calls) != len(c.calls) {
		t.Fatalf("got %d calls %+v, want %d", len(calls), calls, len(c.calls))
	}
	for i, w := range c.calls {
		g := calls[i]
		if g.Name != w.name || g.RawArguments != w.args || g.ID != w.id {
			t.Errorf("call %d = {%q %s %q}, want {%q %s %q}", i, g.Name, g.RawArguments, g.ID, w.name, w.args, w.id)
		}
		d := json.NewDecoder(strings.NewReader(w.args))
		d.UseNumber()
		var want map[string]any
		if err := d.Decode(&want); err != nil {
			t.Fatalf("bad expected args %s: %v", w.args, err)
		}
		if !reflect.DeepEqual(g.Arguments, want) {
			t.Errorf("call %d Arguments = %#v, want %#v", i, g.Arguments, want)
		}
	}
}

func TestParse(t *testing.T) {
	for _, c := range cases {
		t.Run(c.format.String()+"/"+c.name, func(t *testing.T) {
			content, calls, err := Parse(c.format, c.text)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, c, content, calls)
		})
	}
}

func TestParseUnknownFormat(t *testing.T) {
	if _, _, err := Parse(Format(99), "x"); err == nil {
		t.Fatal("want error for unknown format")
	}
}

// streamAll pushes the chunks and flushes, returning the concatenated
// content, the calls, and the number of calls reported before Flush.
func streamAll(f Format, chunks []string) (string, []Call, int) {
	s := NewStream(f)
	var sb strings.Builder
	var calls []Call
	for _, ch := range chunks {
		c, k := s.Push(ch)
		sb.WriteString(c)
		calls = append(calls, k...)
	}
	before := len(calls)
	c, k := s.Flush()
	sb.WriteString(c)
	return sb.String(), append(calls, k...), before
}

// TestStreamSplits cuts every example at every byte boundary (two chunks),
// and also feeds it one byte at a time; the result must equal Parse.
func TestStreamSplits(t *testing.T) {
	for _, c := range cases {
		t.Run(c.format.String()+"/"+c.name, func(t *testing.T) {
			for i := 0; i <= len(c.text); i++ {
				content, calls, before := streamAll(c.format, []string{c.text[:i], c.text[i:]})
				checkResult(t, c, content, calls)
				if c.closed && before != len(calls) {
					t.Errorf("split %d: %d of %d calls only reported at Flush", i, len(calls)-before, len(calls))
				}
				if t.Failed() {
					t.Fatalf("failed at split %d", i)
				}
			}
			bytesChunks := make([]string, len(c.text))
			for i := 0; i < len(c.text); i++ {
				bytesChunks[i] = c.text[i : i+1]
			}
			content, calls, before := streamAll(c.format, bytesChunks)
			checkResult(t, c, content, calls)
			if c.closed && before != len(calls) {
				t.Errorf("byte-wise: %d calls only reported at Flush", len(calls)-before)
			}
		})
	}
}

// TestStreamEarly checks that content before a call is released before the
// call is complete and that a call is reported by the chunk that closes it.
func TestStreamEarly(t *testing.T) {
	s := NewStream(FormatHermes)
	if c, k := s.Push("Hello <tool"); c != "Hello " || k != nil {
		t.Fatalf("Push 1 = %q %v, want %q nil", c, k, "Hello ")
	}
	if c, k := s.Push("_call>{\"name\": \"f\", \"arguments\": {}}</tool_cal"); c != "" || k != nil {
		t.Fatalf("Push 2 = %q %v, want nothing", c, k)
	}
	c, k := s.Push("l> after")
	if len(k) != 1 || k[0].Name != "f" || c != "after" {
		t.Fatalf("Push 3 = %q %+v, want call f and %q", c, k, "after")
	}
	if c, k := s.Flush(); c != "" || k != nil {
		t.Fatalf("Flush = %q %v", c, k)
	}
	if c, k := s.Push("more"); c != "" || k != nil {
		t.Fatalf("Push after Flush = %q %v", c, k)
	}
}

// TestMaxBlock: an unfinished call longer than maxBlock turns into content
// instead of being buffered forever.
// TestStreamContentNotHeld: plain text is released as it arrives, except
// for a suffix that could start a marker.
func TestStreamContentNotHeld(t *testing.T) {
	for _, tc := range []struct {
		f            Format
		chunk, delta string
	}{
		{FormatFunctionary, "all\nHello wor", "Hello wor"},
		{FormatHermes, "Hello <tool_ca", "Hello "},
		{FormatDeepSeek, "Hi <｜tool", "Hi "},
		{FormatHarmony, "plain <|", "plain "},
		{FormatMistral, "x [TOOL", "x "},
		{FormatLlama3, "a {", "a "},
	} {
		s := NewStream(tc.f)
		if got, _ := s.Push(tc.chunk); got != tc.delta {
			t.Errorf("%v Push(%q) = %q, want %q", tc.f, tc.chunk, got, tc.delta)
		}
	}
}

func TestMaxBlock(t *testing.T) {
	s := NewStream(FormatHermes)
	s.Push("<tool_call>{\"name\": \"f\", \"arguments\": {\"s\": \"")
	var got strings.Builder
	chunk := strings.Repeat("x", 4096)
	for range 20 {
		c, _ := s.Push(chunk)
		got.WriteString(c)
	}
	if got.Len() == 0 {
		t.Fatal("no content released after exceeding maxBlock")
	}
}

func TestDetect(t *testing.T) {
	want := map[string]Format{
		"CohereForAI-c4ai-command-r-plus-tool_use.jinja": FormatCommandR,
		"GLM-4.6.jinja":                                       FormatGLM,
		"HuggingFaceTB-SmolLM3-3B.jinja":                      FormatNone,
		"Kimi-K2-Instruct.jinja":                              FormatNone,
		"LFM2-8B-A1B.jinja":                                   FormatNone,
		"Mistral-Small-3.2-24B-Instruct-2506.jinja":           FormatMistral,
		"NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja": FormatHermes,
		"Qwen-QwQ-32B.jinja":                                  FormatHermes,
		"Qwen-Qwen2.5-7B-Instruct.jinja":                      FormatHermes,
		"Qwen-Qwen3-0.6B.jinja":                               FormatHermes,
		"Qwen3-Coder.jinja":                                   FormatQwenXML,
		"Qwen3.5-4B.jinja":                                    FormatQwenXML,
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja":      FormatDeepSeek,
		"deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja":      FormatDeepSeek,
		"deepseek-ai-DeepSeek-V3.1.jinja":                     FormatDeepSeek,
		"google-gemma-2-2b-it.jinja":                          FormatNone,
		"google-gemma-4-31B-it.jinja":                         FormatNone,
		"ibm-granite-granite-3.3-2B-Instruct.jinja":           FormatGranite,
		"ibm-granite-granite-4.0.jinja":                       FormatHermes,
		"llama-cpp-rwkv-world.jinja":                          FormatNone,
		"meetkai-functionary-medium-v3.2.jinja":               FormatFunctionary,
		"meta-llama-Llama-3.1-8B-Instruct.jinja":              FormatLlama3,
		"meta-llama-Llama-3.2-3B-Instruct.jinja":              FormatLlama3,
		"microsoft-Phi-3.5-mini-instruct.jinja":               FormatNone,
		"mistralai-Mistral-Nemo-Instruct-2407.jinja":          FormatMistral,
		"moonshotai-Kimi-K2.jinja":                            FormatNone,
		"openai-gpt-oss-120b.jinja":                           FormatHarmony,
		"openbmb-MiniCPM5-1B.jinja":                           FormatNone,
		"unsloth-mistral-Devstral-Small-2507.jinja":           FormatMistral,
	}
	for name, f := range want {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(fixtures.Path(t, "chat-templates/templates/"+name))
			if err != nil {
				t.Fatal(err)
			}
			if got := Detect(string(b)); got != f {
				t.Errorf("Detect = %v, want %v", got, f)
			}
		})
	}
}

func FuzzPush(f *testing.F) {
	for _, c := range cases {
		f.Add(uint8(c.format), c.text, uint16(len(c.text)/2))
	}
	f.Fuzz(func(t *testing.T, fm uint8, text string, cut uint16) {
		format := Format(fm % uint8(numFormats))
		i := int(cut) % (len(text) + 1)
		content, calls, _ := streamAll(format, []string{text[:i], text[i:]})
		pc, pcalls, err := Parse(format, text)
		if err != nil {
			t.Fatal(err)
		}
		if content != pc || len(calls) != len(pcalls) {
			t.Fatalf("stream (%q, %d calls) != parse (%q, %d calls)", content, len(calls), pc, len(pcalls))
		}
		for j := range calls {
			if calls[j].Name != pcalls[j].Name || calls[j].RawArguments != pcalls[j].RawArguments || calls[j].ID != pcalls[j].ID {
				t.Fatalf("call %d differs: %+v vs %+v", j, calls[j], pcalls[j])
			}
			if !json.Valid([]byte(calls[j].RawArguments)) || !bytes.HasPrefix([]byte(calls[j].RawArguments), []byte("{")) {
				t.Fatalf("call %d bad RawArguments %q", j, calls[j].RawArguments)
			}
		}
	})
}
