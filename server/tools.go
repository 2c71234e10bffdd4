package server

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"golem/api"
	"golem/chat"
	"golem/grammar"
	"golem/toolcall"
)

// The model-facing side of tools and reasoning: which tools reach the
// template, which grammar forces a call (tool_choice), and how the raw
// output is split into thinking, content and tool calls while it streams.

// templateSource is the template whose syntax the model was trained on:
// the GGUF's Jinja chat template, else the Modelfile's Go TEMPLATE (the
// same choice chatBuild makes).
func (m *modelInfo) templateSource() string {
	if m.chatTemplate != "" {
		return m.chatTemplate
	}
	return m.template
}

// toolFormat is the tool-call syntax detected from the model's template.
func (m *modelInfo) toolFormat() toolcall.Format {
	return toolcall.Detect(m.templateSource())
}

// toolPlan is what a request's tools and tool_choice come to.
type toolPlan struct {
	tools   []api.Tool       // given to the template (nil for tool_choice none)
	ordered []any            // tools as chat.ParseJSON values: the client's key order, integers as integers
	format  toolcall.Format  // output parsed in this syntax (FormatNone: not parsed)
	grammar *grammar.Grammar // forces a call (required / named), else nil
}

// planTools checks tools and tool_choice against the model. "none" hides
// the tools from the template and parses nothing; "auto" (the default)
// gives them and parses calls in the format detected from the template;
// "required" and a named function also compile a grammar that forces one
// call of an allowed tool whose arguments follow its parameters schema.
// Errors are 400s with the reason.
//
// raw is the request's "tools" JSON text (nil when unknown): the template
// gets the tools with their keys in the order the client wrote them, as
// Python's json.loads would give them to transformers.
func planTools(mi *modelInfo, tools []api.Tool, raw json.RawMessage, choice *api.ToolChoice) (toolPlan, error) {
	mode := "auto"
	if choice != nil {
		mode = choice.Mode
	}
	if len(tools) == 0 {
		if mode == "required" || mode == "function" {
			return toolPlan{}, errf(http.StatusBadRequest, "tool_choice %q needs tools", choiceName(choice))
		}
		return toolPlan{}, nil
	}
	specs, err := toolSpecs(tools, raw)
	if err != nil {
		return toolPlan{}, err
	}
	if mode == "none" {
		return toolPlan{}, nil
	}
	p := toolPlan{tools: tools, ordered: orderedJSON(raw, tools), format: mi.toolFormat()}
	if mode == "auto" {
		return p, nil
	}
	if mode == "function" {
		var named []toolcall.Tool
		for _, t := range specs {
			if t.Name == choice.Name {
				named = append(named, t)
			}
		}
		if len(named) == 0 {
			return toolPlan{}, errf(http.StatusBadRequest, "tool_choice names function %q, which is not in tools", choice.Name)
		}
		specs = named
	}
	g, err := toolcall.ForcingGrammar(p.format, specs)
	if err != nil {
		if errors.Is(err, toolcall.ErrNoForcing) {
			return toolPlan{}, errf(http.StatusBadRequest, "tool_choice %q is not supported for this model's tool format (%s): it can be enforced for the hermes/qwen, llama3 and mistral formats", choiceName(choice), p.format)
		}
		return toolPlan{}, errf(http.StatusBadRequest, "tool_choice %q: %v", choiceName(choice), err)
	}
	p.grammar = g
	return p, nil
}

// orderedJSON returns the list in raw as template values with key order
// and integers kept, or when raw is missing or does not decode to a list
// as long as fallback, fallback re-encoded (keys sorted).
func orderedJSON(raw json.RawMessage, fallback []api.Tool) []any {
	if len(raw) > 0 {
		if v, err := chat.ParseJSON(raw); err == nil {
			if l, ok := v.([]any); ok && len(l) == len(fallback) {
				return l
			}
		}
	}
	b, err := json.Marshal(fallback)
	if err != nil {
		return nil
	}
	v, err := chat.ParseJSON(b)
	if err != nil {
		return nil
	}
	l, _ := v.([]any)
	return l
}

// templateArgs returns a tool call's arguments for the chat template: a
// mapping in the client's key order when the client sent JSON text
// (OpenAI), else the decoded object re-encoded (keys sorted), integers
// kept as integers either way.
func templateArgs(f api.ToolCallFunction) any {
	if f.RawArguments != "" {
		if v, err := chat.ParseJSON([]byte(f.RawArguments)); err == nil {
			return v
		}
	}
	args := f.Arguments
	if args == nil {
		args = map[string]any{}
	}
	if b, err := json.Marshal(args); err == nil {
		if v, err := chat.ParseJSON(b); err == nil {
			return v
		}
	}
	return args
}

// requestTools returns the "tools" JSON text of a request body.
func requestTools(body []byte) json.RawMessage {
	var v struct {
		Tools json.RawMessage `json:"tools"`
	}
	if json.Unmarshal(body, &v) != nil {
		return nil
	}
	return v.Tools
}

func choiceName(c *api.ToolChoice) string {
	if c == nil {
		return "auto"
	}
	if c.Mode == "function" {
		return "function " + c.Name
	}
	return c.Mode
}

// toolSpecs reads the name and parameters of each {type: "function",
// function: {name, description, parameters}} tool. The parameters schema
// is taken from raw (the request's tools text) when it is there, so the
// forcing grammar writes properties in the order the client declared.
func toolSpecs(tools []api.Tool, raw json.RawMessage) ([]toolcall.Tool, error) {
	var rawParams []struct {
		Function struct {
			Parameters json.RawMessage `json:"parameters"`
		} `json:"function"`
	}
	if len(raw) == 0 || json.Unmarshal(raw, &rawParams) != nil || len(rawParams) != len(tools) {
		rawParams = nil
	}
	out := make([]toolcall.Tool, 0, len(tools))
	for i, t := range tools {
		if typ, ok := t["type"]; ok && typ != "function" {
			return nil, errf(http.StatusBadRequest, "tools[%d]: type %v is not supported (want \"function\")", i, typ)
		}
		fn, ok := t["function"].(map[string]any)
		if !ok {
			return nil, errf(http.StatusBadRequest, "tools[%d]: function is required", i)
		}
		name, _ := fn["name"].(string)
		if name == "" {
			return nil, errf(http.StatusBadRequest, "tools[%d]: function.name is required", i)
		}
		spec := toolcall.Tool{Name: name}
		if rawParams != nil {
			spec.Parameters = rawParams[i].Function.Parameters
		} else if params, ok := fn["parameters"]; ok && params != nil {
			b, err := json.Marshal(params)
			if err != nil {
				return nil, errf(http.StatusBadRequest, "tools[%d]: parameters: %v", i, err)
			}
			spec.Parameters = b
		}
		out = append(out, spec)
	}
	return out, nil
}

// thinkMode says what happens to reasoning in the output.
type thinkMode int

const (
	thinkPass     thinkMode = iota // think unset: output unchanged
	thinkSeparate                  // think on: reasoning to thinking / reasoning_content
	thinkDrop                      // think off: reasoning the model still writes is dropped
)

// thinkVars are the template variables for a think value: enable_thinking
// (Qwen 3, DeepSeek, SmolLM3, GLM ...), thinking (Granite, DeepSeek V3.1)
// and, for a level, reasoning_effort (gpt-oss). Unset think sets nothing,
// so each template keeps its own default.
func thinkVars(think *api.ThinkValue, vars map[string]any) {
	if think == nil {
		return
	}
	on := think.Enabled()
	vars["enable_thinking"] = on
	vars["thinking"] = on
	if l := think.Level(); l != "" {
		vars["reasoning_effort"] = l
	}
}

// thinkMode is what happens to reasoning in a chat's output. A forced
// call is never taken for reasoning: the grammar allows only the call,
// even where the prompt opened a reasoning block.
func (p toolPlan) thinkMode(think *api.ThinkValue) thinkMode {
	if p.grammar != nil {
		return thinkPass
	}
	return thinkModeOf(think)
}

func thinkModeOf(think *api.ThinkValue) thinkMode {
	switch {
	case think == nil:
		return thinkPass
	case think.Enabled():
		return thinkSeparate
	}
	return thinkDrop
}

// outDelta is a piece of split output.
type outDelta struct {
	thinking, content string
	calls             []toolcall.Call
}

func (d outDelta) empty() bool { return d.thinking == "" && d.content == "" && len(d.calls) == 0 }

// outputSplitter turns the raw generated text into thinking, content and
// tool calls as it streams: the reasoning block first (when think is set
// and the template has reasoning tags), then tool calls in the answer.
// gpt-oss (harmony) output is always parsed, tools or not: its messages
// are channels, the analysis channel being the reasoning.
type outputSplitter struct {
	think   *toolcall.ThinkSplitter // nil: no reasoning separation by tags
	drop    bool                    // reasoning is discarded (think false)
	tools   *toolcall.Stream        // nil: no tool-call parsing
	harmony bool                    // tools parses harmony (reasoning comes from it)
}

// outputFormat is the syntax the output is parsed in: the tool plan's,
// or harmony for gpt-oss models whatever the tools.
func outputFormat(mi *modelInfo, format toolcall.Format) toolcall.Format {
	if format == toolcall.FormatNone && mi.toolFormat() == toolcall.FormatHarmony {
		return toolcall.FormatHarmony
	}
	return format
}

// showTokens lists the control tokens the output must show for the
// splitter to see its markers: the tool format's and the reasoning tags.
func showTokens(mi *modelInfo, mode thinkMode, format toolcall.Format) []string {
	out := outputFormat(mi, format).SpecialTokens()
	if mode != thinkPass {
		if tags, ok := toolcall.DetectThinkTags(mi.templateSource()); ok {
			out = append(out[:len(out):len(out)], tags.Open, tags.Close)
		}
	}
	return out
}

// newOutputSplitter prepares the splitting of one generation whose
// rendered prompt is prompt.
func newOutputSplitter(mi *modelInfo, mode thinkMode, format toolcall.Format, prompt string) *outputSplitter {
	o := &outputSplitter{drop: mode == thinkDrop}
	format = outputFormat(mi, format)
	o.harmony = format == toolcall.FormatHarmony
	if mode != thinkPass && !o.harmony {
		if tags, ok := toolcall.DetectThinkTags(mi.templateSource()); ok {
			o.think = toolcall.NewThinkSplitter(tags, toolcall.PromptOpensThinking(prompt, tags))
		}
	}
	if format != toolcall.FormatNone {
		o.tools = toolcall.NewStream(format)
	}
	return o
}

func (o *outputSplitter) push(piece string) outDelta { return o.step(piece, false) }
func (o *outputSplitter) flush() outDelta            { return o.step("", true) }

func (o *outputSplitter) step(piece string, final bool) outDelta {
	var d outDelta
	content := piece
	if o.think != nil {
		if final {
			d.thinking, content = o.think.Flush()
		} else {
			d.thinking, content = o.think.Push(piece)
		}
	}
	if o.tools == nil {
		d.content = content
	} else {
		c1, k1 := o.tools.Push(content)
		d.content, d.calls = c1, k1
		if final {
			c2, k2 := o.tools.Flush()
			d.content += c2
			d.calls = append(d.calls, k2...)
		}
		if o.harmony {
			d.thinking += o.tools.TakeReasoning()
		}
	}
	if o.drop {
		d.thinking = ""
	}
	return d
}

// apiToolCalls converts parsed calls to Ollama's form, numbering them
// from first (their index in the whole answer) and giving each an id
// the client can quote back in a tool message.
func apiToolCalls(calls []toolcall.Call, first int) []api.ToolCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]api.ToolCall, len(calls))
	for i, c := range calls {
		id := c.ID
		if id == "" {
			id = newID("call_")
		}
		args := c.Arguments
		if args == nil {
			args = map[string]any{}
		}
		out[i] = api.ToolCall{ID: id, Function: api.ToolCallFunction{Index: first + i, Name: c.Name, Arguments: args}}
	}
	return out
}

// openAIToolCalls converts calls to OpenAI's form (arguments as a JSON
// string, in the model's key order); withIndex adds the index that
// streamed deltas carry.
func openAIToolCalls(calls []api.ToolCall, raw []toolcall.Call, withIndex bool) []api.OpenAIToolCall {
	out := make([]api.OpenAIToolCall, len(calls))
	for i, c := range calls {
		oc := api.OpenAIToolCall{ID: c.ID, Type: "function"}
		oc.Function.Name = c.Function.Name
		if i < len(raw) && raw[i].RawArguments != "" {
			oc.Function.Arguments = raw[i].RawArguments
		} else {
			b, _ := json.Marshal(c.Function.Arguments)
			oc.Function.Arguments = string(b)
		}
		if withIndex {
			idx := c.Function.Index
			oc.Index = &idx
		}
		out[i] = oc
	}
	return out
}

// trimIfCalls drops the whitespace left around calls from a content that
// is nothing but whitespace.
func trimIfCalls(content string, calls int) string {
	if calls > 0 && strings.TrimSpace(content) == "" {
		return ""
	}
	return content
}

// outAccum gathers a whole answer while it streams, and the
// log-probabilities of tokens whose text is still held back, so they go
// out with the next chunk that carries text.
type outAccum struct {
	thinking, content strings.Builder
	calls             []api.ToolCall
	raw               []toolcall.Call // the parsed calls, for OpenAI's argument strings
	pending           []api.Logprob
}

// add records d and returns it with the log-probabilities to send with
// it (all pending ones when d is not empty, else none).
func (a *outAccum) add(d outDelta, lps []api.Logprob) (outDelta, []api.Logprob) {
	a.thinking.WriteString(d.thinking)
	a.content.WriteString(d.content)
	a.calls = append(a.calls, apiToolCalls(d.calls, len(a.calls))...)
	a.raw = append(a.raw, d.calls...)
	a.pending = append(a.pending, lps...)
	if d.empty() {
		return d, nil
	}
	out := a.pending
	a.pending = nil
	return d, out
}

// end records the last delta and returns every log-probability not sent
// yet.
func (a *outAccum) end(d outDelta, lps []api.Logprob) (outDelta, []api.Logprob) {
	d, out := a.add(d, lps)
	out = append(out, a.pending...)
	a.pending = nil
	return d, out
}
