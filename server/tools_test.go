package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"golem/api"
	"golem/internal/fixtures"
	"golem/toolcall"
)

// toolEnv is a server whose store also holds the tiny Qwen 3 fixture (its
// GGUF carries Qwen 3's chat template, with tools and <think>) as
// "qwen3", and records every rendered prompt.
type toolEnv struct {
	*testEnv
	mu      sync.Mutex
	prompts []string
}

func newToolEnv(t *testing.T) *toolEnv {
	te := &toolEnv{}
	te.testEnv = newEnv(t, func(c *Config) {
		c.promptHook = func(_, prompt string) {
			te.mu.Lock()
			te.prompts = append(te.prompts, prompt)
			te.mu.Unlock()
		}
	})
	addModel(t, te.store, "qwen3:latest", fixtures.Path(t, "models/tiny/qwen3-tiny.gguf"), "", "")
	return te
}

// lastPrompt is the prompt of the latest generation.
func (te *toolEnv) lastPrompt() string {
	te.mu.Lock()
	defer te.mu.Unlock()
	if len(te.prompts) == 0 {
		te.t.Fatal("no prompt was rendered")
	}
	return te.prompts[len(te.prompts)-1]
}

const weatherParams = `{"type":"object","properties":{"city":{"type":"string","maxLength":12},"unit":{"enum":["celsius","fahrenheit"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city","unit","days"]}`

var testTools = []any{
	map[string]any{"type": "function", "function": map[string]any{"name": "get_weather", "description": "Weather forecast for a city",
		"parameters": json.RawMessage(weatherParams)}},
	map[string]any{"type": "function", "function": map[string]any{"name": "roll_dice", "description": "Roll a die",
		"parameters": json.RawMessage(`{"type":"object","properties":{"sides":{"type":"integer","minimum":2,"maximum":20}},"required":["sides"]}`)}},
}

// checkWeatherArgs validates arguments against weatherParams: exactly the
// three properties, a string of at most 12 characters, the enum, an
// integer in 1..7.
func checkWeatherArgs(t *testing.T, args map[string]any) {
	t.Helper()
	if len(args) != 3 {
		t.Errorf("arguments %v: want city, unit, days", args)
	}
	if c, ok := args["city"].(string); !ok || len([]rune(c)) > 12 {
		t.Errorf("arguments %v: bad city", args)
	}
	if u := args["unit"]; u != "celsius" && u != "fahrenheit" {
		t.Errorf("arguments %v: bad unit", args)
	}
	d, ok := args["days"].(float64)
	if !ok || d != float64(int(d)) || d < 1 || d > 7 {
		t.Errorf("arguments %v: bad days", args)
	}
}

// pyJSON writes a flat arguments object as Python's json.dumps does
// (sorted keys, ", " and ": ", non-ASCII raw).
func pyJSON(m map[string]any) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("{")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		var v bytes.Buffer
		enc := json.NewEncoder(&v)
		enc.SetEscapeHTML(false)
		enc.Encode(k)
		b.WriteString(strings.TrimSpace(v.String()) + ": ")
		v.Reset()
		enc.Encode(m[k])
		b.WriteString(strings.TrimSpace(v.String()))
	}
	return b.String() + "}"
}

func namedChoice(name string) map[string]any {
	return map[string]any{"type": "function", "function": map[string]any{"name": name}}
}

// TestToolLoopForced is the end-to-end tool loop through /api/chat: the
// tiny Qwen 3 model, sampling at temperature 1, is forced by tool_choice
// to call get_weather; the call comes back parsed, with arguments that
// validate; the call and a tool result sent back are rendered by the
// template into the next prompt, which is answered.
func TestToolLoopForced(t *testing.T) {
	te := newToolEnv(t)
	for _, seed := range []int{1, 2, 3} {
		user := map[string]any{"role": "user", "content": "What is the weather in Oslo?"}
		var res api.ChatResponse
		te.post("/api/chat", map[string]any{"model": "qwen3", "stream": false, "tools": testTools, "tool_choice": namedChoice("get_weather"),
			"messages": []any{user}, "options": map[string]any{"temperature": 1, "seed": seed, "num_predict": 200}}, 200, &res)
		p := te.lastPrompt()
		// The tools are printed with tojson in the order the request wrote
		// them, integers as integers (as Python's json.loads gives them).
		for _, want := range []string{"<tools>\n{\"function\": {\"description\": \"Weather forecast for a city\", \"name\": \"get_weather\", \"parameters\": " +
			`{"type": "object", "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["celsius", "fahrenheit"]}, "days": {"type": "integer", "minimum": 1, "maximum": 7}}, "required": ["city", "unit", "days"]}}, "type": "function"}` + "\n",
			`"name": "roll_dice"`} {
			if !strings.Contains(p, want) {
				t.Fatalf("seed %d: prompt lacks %s:\n%s", seed, want, p)
			}
		}
		if res.DoneReason != "stop" || len(res.Message.ToolCalls) != 1 {
			t.Fatalf("seed %d: done %q, message %+v", seed, res.DoneReason, res.Message)
		}
		call := res.Message.ToolCalls[0]
		if call.Function.Name != "get_weather" || call.ID == "" {
			t.Errorf("seed %d: call %+v", seed, call)
		}
		checkWeatherArgs(t, call.Function.Arguments)
		if res.Message.Content != "" {
			t.Errorf("seed %d: content %q beside the call", seed, res.Message.Content)
		}
		t.Logf("seed %d: %d tokens, call %s %v", seed, res.EvalCount, call.Function.Name, call.Function.Arguments)

		// Second turn: the call and its result go back.
		result := fmt.Sprintf(`{"temperature": %d, "sky": "clear"}`, 10+seed)
		var res2 api.ChatResponse
		te.post("/api/chat", map[string]any{"model": "qwen3", "stream": false, "tools": testTools,
			"messages": []any{user, res.Message, map[string]any{"role": "tool", "content": result, "tool_name": "get_weather"}},
			"options":  map[string]any{"temperature": 1, "seed": seed, "num_predict": 8}}, 200, &res2)
		p = te.lastPrompt()
		for _, want := range []string{
			// The template writes the arguments mapping with tojson: keys
			// sorted, ", " and ": " separators.
			"<tool_call>\n{\"name\": \"get_weather\", \"arguments\": " + pyJSON(call.Function.Arguments) + "}\n</tool_call><|im_end|>\n",
			"<|im_start|>user\n<tool_response>\n" + result + "\n</tool_response><|im_end|>\n<|im_start|>assistant\n",
		} {
			if !strings.Contains(p, want) {
				t.Errorf("seed %d: second prompt lacks %q:\n%s", seed, want, p)
			}
		}
		if !res2.Done || res2.EvalCount == 0 {
			t.Errorf("seed %d: second answer %+v", seed, res2)
		}
	}
}

// TestToolsOpenAI runs tool_choice through /v1/chat/completions, not
// streamed and streamed, and feeds the call back as OpenAI clients do
// (arguments as a JSON string, tool_call_id).
func TestToolsOpenAI(t *testing.T) {
	te := newToolEnv(t)
	for _, seed := range []int{4, 5} {
		for _, choice := range []any{"required", namedChoice("get_weather")} {
			body := map[string]any{"model": "qwen3", "temperature": 1, "seed": seed, "max_tokens": 200, "tools": testTools, "tool_choice": choice,
				"messages": []any{map[string]any{"role": "user", "content": "Weather in Oslo?"}}}
			var res api.ChatCompletion
			te.post("/v1/chat/completions", body, 200, &res)
			c := res.Choices[0]
			if c.FinishReason == nil || *c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 {
				t.Fatalf("seed %d %v: choice %+v", seed, choice, c)
			}
			tc := c.Message.ToolCalls[0]
			if tc.Type != "function" || !strings.HasPrefix(tc.ID, "call_") || tc.Index != nil {
				t.Errorf("seed %d: call %+v", seed, tc)
			}
			var args map[string]any
			if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
				t.Fatalf("seed %d: arguments %q: %v", seed, tc.Function.Arguments, err)
			}
			switch tc.Function.Name {
			case "get_weather":
				checkWeatherArgs(t, args)
			case "roll_dice":
				if n, ok := args["sides"].(float64); !ok || len(args) != 1 || n < 2 || n > 20 || n != float64(int(n)) {
					t.Errorf("seed %d: roll_dice arguments %v", seed, args)
				}
			default:
				t.Errorf("seed %d: unknown function %q", seed, tc.Function.Name)
			}
			if _, named := choice.(map[string]any); named && tc.Function.Name != "get_weather" {
				t.Errorf("seed %d: named choice called %q", seed, tc.Function.Name)
			}
			if c.Message.Content != nil {
				t.Errorf("seed %d: content %v beside the call", seed, c.Message.Content)
			}

			// Streamed: the same call arrives as one delta with index and id.
			body["stream"] = true
			b := te.post("/v1/chat/completions", body, 200, nil)
			var calls []api.OpenAIToolCall
			var finish string
			for _, ev := range sseEvents(b) {
				if ev == "[DONE]" {
					continue
				}
				var ch api.ChatCompletionChunk
				if err := json.Unmarshal([]byte(ev), &ch); err != nil {
					t.Fatalf("event %s: %v", ev, err)
				}
				if len(ch.Choices) == 0 {
					continue
				}
				calls = append(calls, ch.Choices[0].Delta.ToolCalls...)
				if f := ch.Choices[0].FinishReason; f != nil {
					finish = *f
				}
			}
			if finish != "tool_calls" || len(calls) != 1 || calls[0].Index == nil || *calls[0].Index != 0 || calls[0].ID == "" {
				t.Fatalf("seed %d: streamed calls %+v, finish %q", seed, calls, finish)
			}
			if calls[0].Function.Name != tc.Function.Name || calls[0].Function.Arguments != tc.Function.Arguments {
				t.Errorf("seed %d: streamed call %+v differs from %+v", seed, calls[0], tc)
			}

			// Back to the model: the assistant's call and the tool result.
			msgs := []any{body["messages"].([]any)[0],
				map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{tc}},
				map[string]any{"role": "tool", "tool_call_id": tc.ID, "content": "sunny, 21 C"}}
			var res2 api.ChatCompletion
			te.post("/v1/chat/completions", map[string]any{"model": "qwen3", "seed": seed, "max_tokens": 5, "tools": testTools, "messages": msgs}, 200, &res2)
			p := te.lastPrompt()
			// OpenAI's argument string reaches the template as a mapping
			// in the string's key order (the schema's, which the model
			// had to follow).
			argsStart := map[string]string{"get_weather": `{"city": `, "roll_dice": `{"sides": `}[tc.Function.Name]
			if !strings.Contains(p, "<tool_response>\nsunny, 21 C\n</tool_response>") || !strings.Contains(p, `{"name": "`+tc.Function.Name+`", "arguments": `+argsStart) {
				t.Errorf("seed %d: second prompt:\n%s", seed, p)
			}
			if tc.Function.Name == "get_weather" && !strings.Contains(p, `", "unit": "`) {
				t.Errorf("seed %d: arguments not in the model's order:\n%s", seed, p)
			}
			if res2.Choices[0].FinishReason == nil {
				t.Errorf("seed %d: second answer %+v", seed, res2)
			}
		}
	}
}

// TestToolsParsedAuto: with tool_choice auto the model's own call syntax
// is parsed. A GBNF grammar (options.grammar) makes the random-weight
// model write a Hermes call with text before it.
func TestToolsParsedAuto(t *testing.T) {
	te := newToolEnv(t)
	g := `root ::= "Let me check. <tool_call>\n{\"name\": \"roll_dice\", \"arguments\": {\"sides\": " [1-9] "}}\n</tool_call>"`
	for _, stream := range []bool{false, true} {
		b := te.post("/api/chat", map[string]any{"model": "qwen3", "stream": stream, "tools": testTools,
			"messages": []any{map[string]any{"role": "user", "content": "roll"}},
			"options":  map[string]any{"temperature": 1, "seed": 3, "grammar": g}}, 200, nil)
		var content strings.Builder
		var calls []api.ToolCall
		for _, l := range lines[api.ChatResponse](t, b) {
			content.WriteString(l.Message.Content)
			calls = append(calls, l.Message.ToolCalls...)
			if stream && len(l.Message.ToolCalls) > 0 && l.Done {
				t.Errorf("streamed call came only with the final line")
			}
		}
		if content.String() != "Let me check. " || len(calls) != 1 || calls[0].Function.Name != "roll_dice" {
			t.Fatalf("stream %v: content %q calls %+v", stream, content.String(), calls)
		}
		if n, ok := calls[0].Function.Arguments["sides"].(float64); !ok || n < 1 || n > 9 {
			t.Errorf("stream %v: arguments %v", stream, calls[0].Function.Arguments)
		}
	}
	// tool_choice none: no tools in the prompt, nothing parsed.
	var res api.ChatResponse
	te.post("/api/chat", map[string]any{"model": "qwen3", "stream": false, "tools": testTools, "tool_choice": "none",
		"messages": []any{map[string]any{"role": "user", "content": "roll"}},
		"options":  map[string]any{"temperature": 1, "seed": 3, "grammar": g}}, 200, &res)
	if strings.Contains(te.lastPrompt(), "<tools>") {
		t.Errorf("tool_choice none: tools in the prompt")
	}
	if len(res.Message.ToolCalls) != 0 || !strings.Contains(res.Message.Content, "<tool_call>") {
		t.Errorf("tool_choice none: message %+v", res.Message)
	}
}

func TestToolChoiceRejected(t *testing.T) {
	te := newToolEnv(t)
	msgs := []any{map[string]any{"role": "user", "content": "hi"}}
	badTool := []any{map[string]any{"type": "function", "function": map[string]any{"name": "f",
		"parameters": json.RawMessage(`{"type":"object","properties":{"n":{"type":"integer","multipleOf":2}}}`)}}}
	cases := []struct {
		name, path string
		body       map[string]any
		want       string
	}{
		{"unknown name", "/api/chat", map[string]any{"model": "qwen3", "tools": testTools, "tool_choice": namedChoice("nope")}, "not in tools"},
		{"required without tools", "/v1/chat/completions", map[string]any{"model": "qwen3", "tool_choice": "required"}, "needs tools"},
		{"no template syntax", "/v1/chat/completions", map[string]any{"model": "stories", "tools": testTools, "tool_choice": "required"}, "not supported for this model's tool format"},
		{"unsupported schema", "/api/chat", map[string]any{"model": "qwen3", "tools": badTool, "tool_choice": "required"}, "multipleOf"},
		{"with format", "/api/chat", map[string]any{"model": "qwen3", "tools": testTools, "tool_choice": "required", "format": "json"}, "cannot be combined"},
		{"bad choice", "/v1/chat/completions", map[string]any{"model": "qwen3", "tools": testTools, "tool_choice": "always"}, "tool_choice"},
		{"tool without name", "/api/chat", map[string]any{"model": "qwen3", "tools": []any{map[string]any{"type": "function", "function": map[string]any{}}}}, "name is required"},
		{"two constraints", "/v1/chat/completions", map[string]any{"model": "qwen3", "grammar": `root ::= "a"`, "response_format": map[string]any{"type": "json_object"}}, "cannot be used together"},
		{"bad grammar", "/api/chat", map[string]any{"model": "qwen3", "options": map[string]any{"grammar": "root ::= ("}}, "options.grammar"},
		{"bad reasoning_effort", "/v1/chat/completions", map[string]any{"model": "qwen3", "reasoning_effort": "max"}, "reasoning_effort"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.body["messages"] = msgs
			code, b := te.do(http.MethodPost, tc.path, tc.body)
			if code != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
				t.Errorf("status %d body %s, want 400 mentioning %q", code, b, tc.want)
			}
		})
	}
}

// thinkGrammar makes the random-weight model answer as a thinking model
// does: a reasoning block, then the answer.
const thinkGrammar = `root ::= "<think>\n" [a-z]{1,8} (" " [a-z]{1,8}){0,3} "\n</think>\n\n" [A-Z] [a-z]{1,8}`

// TestThinkingServer: think true separates the reasoning (message.thinking,
// response's thinking, reasoning_content), think false drops it, unset
// leaves the text unchanged; streamed and not.
func TestThinkingServer(t *testing.T) {
	te := newToolEnv(t)
	msgs := []any{map[string]any{"role": "user", "content": "Think, then answer."}}
	opts := map[string]any{"temperature": 1, "seed": 11, "grammar": thinkGrammar}
	check := func(what, thinking, content string, think any) {
		t.Helper()
		switch think {
		case true, "high":
			if thinking == "" || strings.ContainsAny(thinking, "<>\n") || content == "" || strings.Contains(content, "think>") || strings.ContainsAny(content, " \n") {
				t.Errorf("%s think %v: thinking %q content %q", what, think, thinking, content)
			}
		case false:
			if thinking != "" || content == "" || strings.Contains(content, "think") || strings.ContainsAny(content, " \n") {
				t.Errorf("%s think false: thinking %q content %q", what, thinking, content)
			}
		case nil:
			if thinking != "" || !strings.HasPrefix(content, "<think>\n") {
				t.Errorf("%s think unset: thinking %q content %q", what, thinking, content)
			}
		}
	}
	for _, think := range []any{true, "high", false, nil} {
		for _, stream := range []bool{false, true} {
			body := map[string]any{"model": "qwen3", "messages": msgs, "stream": stream, "options": opts}
			if think != nil {
				body["think"] = think
			}
			b := te.post("/api/chat", body, 200, nil)
			var th, ct strings.Builder
			for _, l := range lines[api.ChatResponse](t, b) {
				th.WriteString(l.Message.Thinking)
				ct.WriteString(l.Message.Content)
			}
			check(fmt.Sprintf("chat stream=%v", stream), th.String(), ct.String(), think)
			p := te.lastPrompt()
			if think == false && !strings.HasSuffix(p, "<think>\n\n</think>\n\n") || think != false && strings.Contains(p, "</think>") {
				t.Errorf("think %v: prompt ends %q", think, p[max(0, len(p)-40):])
			}

			gb := map[string]any{"model": "qwen3", "prompt": "Think, then answer.", "stream": stream, "options": opts}
			if think != nil {
				gb["think"] = think
			}
			b = te.post("/api/generate", gb, 200, nil)
			th.Reset()
			ct.Reset()
			for _, l := range lines[api.GenerateResponse](t, b) {
				th.WriteString(l.Thinking)
				ct.WriteString(l.Response)
			}
			check(fmt.Sprintf("generate stream=%v", stream), th.String(), ct.String(), think)
		}
	}
	// /v1: reasoning_effort and the think extension, not streamed and streamed.
	for _, extra := range []map[string]any{{"reasoning_effort": "low"}, {"think": true}, {"reasoning_effort": "none"}} {
		body := map[string]any{"model": "qwen3", "messages": msgs, "seed": 11, "grammar": thinkGrammar}
		for k, v := range extra {
			body[k] = v
		}
		on := extra["reasoning_effort"] != "none"
		var want any = on
		var res api.ChatCompletion
		te.post("/v1/chat/completions", body, 200, &res)
		m := res.Choices[0].Message
		content, _ := m.Content.(string)
		check(fmt.Sprintf("v1 %v", extra), m.ReasoningContent, content, want)
		if m.Reasoning != m.ReasoningContent {
			t.Errorf("v1 %v: reasoning %q != reasoning_content %q", extra, m.Reasoning, m.ReasoningContent)
		}
		body["stream"] = true
		b := te.post("/v1/chat/completions", body, 200, nil)
		var th, ct strings.Builder
		for _, ev := range sseEvents(b) {
			var ch api.ChatCompletionChunk
			if ev == "[DONE]" || json.Unmarshal([]byte(ev), &ch) != nil || len(ch.Choices) == 0 {
				continue
			}
			th.WriteString(ch.Choices[0].Delta.ReasoningContent)
			if s, ok := ch.Choices[0].Delta.Content.(string); ok {
				ct.WriteString(s)
			}
		}
		check(fmt.Sprintf("v1 stream %v", extra), th.String(), ct.String(), want)
		if th.String() != m.ReasoningContent || ct.String() != content {
			t.Errorf("v1 %v: streamed %q/%q, whole %q/%q", extra, th.String(), ct.String(), m.ReasoningContent, content)
		}
	}
}

// TestOutputSplitter runs recorded outputs (Qwen 3 thinking then a Hermes
// call) through the splitter cut at every byte, checking the same
// thinking, content and calls come out however the text is chunked.
func TestOutputSplitter(t *testing.T) {
	mi := &modelInfo{chatTemplate: "{{ '<think>' }}{{ '</think>' }}<tool_call>"}
	text := "<think>\nThe user wants weather. Call the tool.\n</think>\n\nChecking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"unit\": \"celsius\", \"days\": 2}}\n</tool_call>"
	for _, tc := range []struct {
		mode              thinkMode
		thinking, content string
	}{
		{thinkSeparate, "The user wants weather. Call the tool.", "Checking.\n"},
		{thinkDrop, "", "Checking.\n"},
		{thinkPass, "", "<think>\nThe user wants weather. Call the tool.\n</think>\n\nChecking.\n"},
	} {
		for cut := 0; cut <= len(text); cut++ {
			o := newOutputSplitter(mi, tc.mode, toolcall.FormatHermes, "<|im_start|>assistant\n")
			var acc outAccum
			for _, piece := range []string{text[:cut], text[cut:]} {
				acc.add(o.push(piece), nil)
			}
			acc.end(o.flush(), nil)
			if acc.thinking.String() != tc.thinking || acc.content.String() != tc.content || len(acc.calls) != 1 {
				t.Fatalf("mode %d cut %d: thinking %q content %q calls %+v", tc.mode, cut, acc.thinking.String(), acc.content.String(), acc.calls)
			}
			c := acc.calls[0]
			if c.Function.Name != "get_weather" || c.Function.Index != 0 || acc.raw[0].RawArguments != `{"city":"Oslo","unit":"celsius","days":2}` {
				t.Fatalf("mode %d cut %d: call %+v raw %+v", tc.mode, cut, c, acc.raw[0])
			}
		}
	}
	// A prompt that opened the reasoning block: the output starts inside it.
	o := newOutputSplitter(mi, thinkSeparate, toolcall.FormatNone, "<|im_start|>assistant\n<think>\n")
	var acc outAccum
	acc.add(o.push("plan\n</think>\n\nanswer"), nil)
	acc.end(o.flush(), nil)
	if acc.thinking.String() != "plan" || acc.content.String() != "answer" {
		t.Errorf("opened by prompt: %q %q", acc.thinking.String(), acc.content.String())
	}
}

// TestOutputSplitterHarmony: for a gpt-oss template the output is parsed
// as harmony even without tools; the analysis channel is the thinking
// (dropped for think false), and the markers are shown control tokens.
func TestOutputSplitterHarmony(t *testing.T) {
	mi := &modelInfo{chatTemplate: "<|start|>{{ m }}<|channel|>analysis<|message|> to= <|end|>"}
	text := "<|channel|>analysis<|message|>Simple question.<|end|><|start|>assistant<|channel|>final<|message|>Paris."
	for _, tc := range []struct {
		mode     thinkMode
		thinking string
	}{{thinkSeparate, "Simple question."}, {thinkPass, "Simple question."}, {thinkDrop, ""}} {
		o := newOutputSplitter(mi, tc.mode, toolcall.FormatNone, "<|start|>assistant")
		var acc outAccum
		for i := 0; i < len(text); i += 7 {
			acc.add(o.push(text[i:min(i+7, len(text))]), nil)
		}
		acc.end(o.flush(), nil)
		if acc.thinking.String() != tc.thinking || acc.content.String() != "Paris." || len(acc.calls) != 0 {
			t.Errorf("mode %d: thinking %q content %q calls %v", tc.mode, acc.thinking.String(), acc.content.String(), acc.calls)
		}
	}
	toks := showTokens(mi, thinkPass, toolcall.FormatNone)
	if !strings.Contains(strings.Join(toks, " "), "<|channel|>") {
		t.Errorf("harmony markers not shown: %v", toks)
	}
	qwen := &modelInfo{chatTemplate: "<think></think><tool_call>"}
	if got := strings.Join(showTokens(qwen, thinkSeparate, toolcall.FormatHermes), " "); got != "<tool_call> </tool_call> <think> </think>" {
		t.Errorf("qwen shown tokens %q", got)
	}
	if got := showTokens(qwen, thinkPass, toolcall.FormatNone); len(got) != 0 {
		t.Errorf("plain request shows %v", got)
	}
}

// TestGrammarOption: a GBNF grammar through options.grammar (/api/*) and
// grammar (/v1/*), response_format on /v1/completions, and a forced call
// with think on (the call is not mistaken for reasoning).
func TestGrammarOption(t *testing.T) {
	te := newToolEnv(t)
	g := `root ::= ("yes" | "no") "." [0-9]{2}`
	check := func(what, s string) {
		t.Helper()
		a, digits, ok := strings.Cut(s, ".")
		if !ok || (a != "yes" && a != "no") || len(digits) != 2 || strings.Trim(digits, "0123456789") != "" {
			t.Errorf("%s: %q does not match the grammar", what, s)
		}
	}
	for _, seed := range []int{1, 2, 3} {
		var gr api.GenerateResponse
		te.post("/api/generate", map[string]any{"model": "stories", "prompt": "Answer:", "stream": false,
			"options": map[string]any{"temperature": 1, "seed": seed, "grammar": g}}, 200, &gr)
		check("generate", gr.Response)
		var c api.Completion
		te.post("/v1/completions", map[string]any{"model": "stories", "prompt": "Answer:", "seed": seed, "grammar": g}, 200, &c)
		check("completions", c.Choices[0].Text)
		te.post("/v1/completions", map[string]any{"model": "stories", "prompt": "Once", "seed": seed, "max_tokens": 400,
			"response_format": map[string]any{"type": "json_schema", "json_schema": map[string]any{"schema": json.RawMessage(formatSchema)}}}, 200, &c)
		checkFormatOutput(t, c.Choices[0].Text)
	}
	code, b := te.do(http.MethodPost, "/api/generate", map[string]any{"model": "stories", "prompt": "x", "options": map[string]any{"grammar": 5}})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "grammar") {
		t.Errorf("numeric grammar: %d %s", code, b)
	}
	code, b = te.do(http.MethodPost, "/v1/completions", map[string]any{"model": "stories", "prompt": "x", "grammar": "root ::= [", "response_format": nil})
	if code != http.StatusBadRequest || !strings.Contains(string(b), "grammar") {
		t.Errorf("bad /v1 grammar: %d %s", code, b)
	}

	var res api.ChatResponse
	te.post("/api/chat", map[string]any{"model": "qwen3", "stream": false, "think": true, "tools": testTools, "tool_choice": namedChoice("get_weather"),
		"messages": []any{map[string]any{"role": "user", "content": "Weather?"}}, "options": map[string]any{"temperature": 1, "seed": 8}}, 200, &res)
	if len(res.Message.ToolCalls) != 1 || res.Message.Thinking != "" {
		t.Fatalf("forced call with think: %+v", res.Message)
	}
	checkWeatherArgs(t, res.Message.ToolCalls[0].Function.Arguments)
}
