package server

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"time"

	"golem/api"
	"golem/engine"
	"golem/presets"
	"golem/store"
)

// sseWriter writes server-sent events ("data: {...}\n\n"), sending the 200
// header with the first event.
type sseWriter struct {
	w       http.ResponseWriter
	started bool
}

func (e *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return e.raw(string(b))
}

func (e *sseWriter) raw(data string) error {
	if !e.started {
		h := e.w.Header()
		h.Set("Content-Type", "text/event-stream")
		h.Set("Cache-Control", "no-cache")
		e.w.WriteHeader(http.StatusOK)
		e.started = true
	}
	if _, err := fmt.Fprintf(e.w, "data: %s\n\n", data); err != nil {
		return err
	}
	return http.NewResponseController(e.w).Flush()
}

// finish reports err as a normal error answer before the stream started,
// else as a final error event.
func (e *sseWriter) finish(s *Server, r *http.Request, err error) {
	if !e.started {
		s.fail(e.w, r, err)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	e.send(api.OpenAIError{Error: api.OpenAIErrorBody{Message: err.Error(), Type: "api_error"}})
}

func newID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// openAIOptions maps OpenAI sampling fields onto Ollama options, with
// OpenAI's defaults (temperature 1, top_p 1) as Ollama's compatibility
// layer does.
func openAIOptions(temperature, topP, freq, pres *float64, maxTokens *int, seed *int, stop []string) map[string]any {
	o := map[string]any{"temperature": 1.0, "top_p": 1.0}
	if temperature != nil {
		o["temperature"] = *temperature
	}
	if topP != nil {
		o["top_p"] = *topP
	}
	if freq != nil {
		o["frequency_penalty"] = *freq
	}
	if pres != nil {
		o["presence_penalty"] = *pres
	}
	if maxTokens != nil {
		o["num_predict"] = *maxTokens
	}
	if seed != nil {
		o["seed"] = *seed
	}
	if len(stop) > 0 {
		o["stop"] = stop
	}
	return o
}

// openAIPreset applies the request's preset (the "preset" extension, as on
// /api/chat) to the converted messages and the options built from the
// request. The preset's parameters go under the request's explicit
// sampling fields but over the OpenAI defaults (temperature and top_p 1),
// so an unset temperature takes the preset's.
func openAIPreset(req *api.ChatCompletionRequest, msgs []api.Message, opts map[string]any) ([]api.Message, map[string]any, error) {
	explicit := make(map[string]any, len(opts))
	for k, v := range opts {
		explicit[k] = v
	}
	if req.Temperature == nil {
		delete(explicit, "temperature")
	}
	if req.TopP == nil {
		delete(explicit, "top_p")
	}
	msgs, merged, err := presets.ForChat(req.Preset, req.PresetVars, msgs, explicit)
	if err != nil {
		return nil, nil, err
	}
	if merged == nil {
		merged = map[string]any{}
	}
	for _, k := range []string{"temperature", "top_p"} {
		if _, ok := merged[k]; !ok {
			merged[k] = opts[k]
		}
	}
	return msgs, merged, nil
}

// openAIContent flattens message content: a string, or text parts.
func openAIContent(c any) (string, error) {
	switch v := c.(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	case []any:
		var b strings.Builder
		for _, p := range v {
			part, ok := p.(map[string]any)
			if !ok {
				return "", errors.New("content parts must be objects")
			}
			switch part["type"] {
			case "text":
				t, _ := part["text"].(string)
				b.WriteString(t)
			case "image_url", "input_image":
				return "", errors.New("images are not supported: the model is text-only")
			default:
				return "", fmt.Errorf("unsupported content part type %v", part["type"])
			}
		}
		return b.String(), nil
	}
	return "", errors.New("content must be a string or a list of parts")
}

// openAILogprobs converts log-probabilities to OpenAI's shape.
func openAILogprobs(lps []api.Logprob) *api.OpenAILogprobs {
	out := &api.OpenAILogprobs{Content: []api.OpenAITokenLogprob{}}
	for _, lp := range lps {
		t := api.OpenAITokenLogprob{Token: lp.Token, Logprob: lp.Logprob, Bytes: lp.Bytes, TopLogprobs: []api.OpenAITopLogprob{}}
		for _, alt := range lp.TopLogprobs {
			t.TopLogprobs = append(t.TopLogprobs, api.OpenAITopLogprob{Token: alt.Token, Logprob: alt.Logprob, Bytes: alt.Bytes})
		}
		out.Content = append(out.Content, t)
	}
	return out
}

// lpIf returns the OpenAI logprobs when asked for, else nil (JSON null).
func lpIf(want bool, lps []api.Logprob) any {
	if !want {
		return nil
	}
	return openAILogprobs(lps)
}

// openAIThink reads reasoning_effort ("none", "minimal", "low", "medium",
// "high") or, failing that, the think extension.
func openAIThink(effort *string, think *api.ThinkValue) (*api.ThinkValue, error) {
	if effort == nil {
		return think, nil
	}
	switch *effort {
	case "none":
		return &api.ThinkValue{Value: false}, nil
	case "minimal", "low":
		return &api.ThinkValue{Value: "low"}, nil
	case "medium", "high":
		return &api.ThinkValue{Value: *effort}, nil
	}
	return nil, errf(http.StatusBadRequest, "reasoning_effort: invalid value %q (want none, minimal, low, medium or high)", *effort)
}

func finishReason(r string) *string {
	if r == "" {
		r = "stop"
	}
	return &r
}

func (s *Server) handleChatCompletions(w http.ResponseWriter, r *http.Request) {
	var req api.ChatCompletionRequest
	body, err := decodeBody(r, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.N != nil && *req.N != 1 {
		writeError(w, r, http.StatusBadRequest, "n must be 1: several choices are not supported")
		return
	}
	if len(req.Messages) == 0 {
		writeError(w, r, http.StatusBadRequest, "messages must not be empty")
		return
	}
	maxTokens := req.MaxTokens
	if req.MaxCompletionTokens != nil {
		maxTokens = req.MaxCompletionTokens
	}
	var msgs []api.Message
	for i, m := range req.Messages {
		text, err := openAIContent(m.Content)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("messages[%d]: %v", i, err))
			return
		}
		am := api.Message{Role: m.Role, Content: text, Thinking: m.ReasoningContent, ToolCallID: m.ToolCallID, ToolName: m.Name}
		if am.Thinking == "" {
			am.Thinking = m.Reasoning
		}
		if am.Role == "developer" {
			am.Role = "system"
		}
		for _, tc := range m.ToolCalls {
			var args map[string]any
			if tc.Function.Arguments != "" {
				if err := json.Unmarshal([]byte(tc.Function.Arguments), &args); err != nil {
					writeError(w, r, http.StatusBadRequest, fmt.Sprintf("messages[%d]: tool call arguments are not a JSON object: %v", i, err))
					return
				}
			}
			am.ToolCalls = append(am.ToolCalls, api.ToolCall{ID: tc.ID, Function: api.ToolCallFunction{Name: tc.Function.Name, Arguments: args, RawArguments: tc.Function.Arguments}})
		}
		msgs = append(msgs, am)
	}
	opts := openAIOptions(req.Temperature, req.TopP, req.FrequencyPenalty, req.PresencePenalty, maxTokens, req.Seed, req.Stop)
	if req.Preset != "" {
		msgs, opts, err = openAIPreset(&req, msgs, opts)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
	}
	rs, err := s.setup(req.Model, opts, responseFormatConstraint(req.ResponseFormat), gbnfConstraint("grammar", req.Grammar))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mi := rs.mi
	if err := checkMessages(req.Model, msgs); err != nil {
		s.fail(w, r, err)
		return
	}
	think, err := openAIThink(req.ReasoningEffort, req.Think)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	plan, err := rs.tools(req.Tools, body, req.ToolChoice)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, created := newID("chatcmpl-"), time.Now().Unix()
	chunk := func(delta api.OpenAIMessage, finish *string) api.ChatCompletionChunk {
		return api.ChatCompletionChunk{ID: id, Object: "chat.completion.chunk", Created: created, Model: req.Model,
			SystemFingerprint: "fp_golem", Choices: []api.ChunkChoice{{Delta: delta, FinishReason: finish}}}
	}
	ev := &sseWriter{w: w}
	wantLP := req.Logprobs != nil && *req.Logprobs
	if req.TopLogprobs > 0 && !wantLP {
		writeError(w, r, http.StatusBadRequest, "top_logprobs needs logprobs: true")
		return
	}
	p := rs.params(nil, chatBuild(mi, toolMessages(msgs), plan, think))
	p.logprobs, p.top = wantLP, req.TopLogprobs
	var split *outputSplitter
	mode := plan.thinkMode(think)
	p.showTokens = showTokens(mi, mode, plan.format)
	p.onPrompt = func(prompt string) { split = newOutputSplitter(mi, mode, plan.format, prompt) }
	var acc outAccum
	// sendDelta streams a split piece: reasoning and content in one
	// chunk, then each completed tool call in a chunk of its own.
	sendDelta := func(d outDelta, first int, lps []api.Logprob, finish *string) error {
		var chunks []api.ChatCompletionChunk
		if d.thinking != "" || d.content != "" {
			m := api.OpenAIMessage{Role: "assistant", ReasoningContent: d.thinking, Reasoning: d.thinking}
			if d.content != "" || d.thinking == "" {
				m.Content = d.content
			}
			chunks = append(chunks, chunk(m, nil))
		}
		for _, tc := range openAIToolCalls(acc.calls[first:], acc.raw[first:], true) {
			chunks = append(chunks, chunk(api.OpenAIMessage{Role: "assistant", ToolCalls: []api.OpenAIToolCall{tc}}, nil))
		}
		if finish != nil {
			chunks = append(chunks, chunk(api.OpenAIMessage{Role: "assistant", Content: ""}, finish))
		}
		if wantLP && len(lps) > 0 && len(chunks) > 0 {
			chunks[0].Choices[0].Logprobs = openAILogprobs(lps)
		}
		for _, c := range chunks {
			if err := ev.send(c); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := s.generate(r.Context(), p, false, func(piece string, lps []api.Logprob) error {
		first := len(acc.calls)
		d, lps := acc.add(split.push(piece), lps)
		if !req.Stream || d.empty() {
			return nil
		}
		return sendDelta(d, first, lps, nil)
	})
	if err != nil {
		ev.finish(s, r, err)
		return
	}
	first := len(acc.calls)
	d, tail := acc.end(split.flush(), res.tail)
	finish := finishReason(res.stats.DoneReason)
	if len(acc.calls) > 0 {
		finish = finishReason("tool_calls")
	}
	usage := api.Usage{PromptTokens: res.stats.PromptTokens, CompletionTokens: res.stats.EvalTokens,
		TotalTokens: res.stats.PromptTokens + res.stats.EvalTokens}
	if !req.Stream {
		m := api.OpenAIMessage{Role: "assistant", ReasoningContent: acc.thinking.String(), Reasoning: acc.thinking.String()}
		if content := trimIfCalls(acc.content.String(), len(acc.calls)); content != "" || len(acc.calls) == 0 {
			m.Content = content
		}
		if len(acc.calls) > 0 {
			m.ToolCalls = openAIToolCalls(acc.calls, acc.raw, false)
		}
		writeJSON(w, http.StatusOK, api.ChatCompletion{ID: id, Object: "chat.completion", Created: created, Model: req.Model,
			SystemFingerprint: "fp_golem", Usage: usage, Choices: []api.ChatChoice{{
				Message: m, FinishReason: finish, Logprobs: lpIf(wantLP, res.logprobs)}}})
		return
	}
	if err := sendDelta(d, first, tail, finish); err != nil {
		return
	}
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := chunk(api.OpenAIMessage{}, nil)
		c.Choices = []api.ChunkChoice{}
		c.Usage = &usage
		ev.send(c)
	}
	ev.raw("[DONE]")
}

func (s *Server) handleCompletions(w http.ResponseWriter, r *http.Request) {
	var req api.CompletionRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var prompt string
	switch p := req.Prompt.(type) {
	case string:
		prompt = p
	case []any:
		if len(p) != 1 {
			writeError(w, r, http.StatusBadRequest, "prompt: only one prompt per request is supported")
			return
		}
		str, ok := p[0].(string)
		if !ok {
			writeError(w, r, http.StatusBadRequest, "prompt: want a string (token arrays are not supported)")
			return
		}
		prompt = str
	default:
		writeError(w, r, http.StatusBadRequest, "prompt: want a string")
		return
	}
	if req.Suffix != "" {
		writeError(w, r, http.StatusBadRequest, "suffix (fill-in-the-middle) is not supported yet")
		return
	}
	rs, err := s.setup(req.Model, openAIOptions(req.Temperature, req.TopP, req.FrequencyPenalty, req.PresencePenalty, req.MaxTokens, req.Seed, req.Stop),
		responseFormatConstraint(req.ResponseFormat), gbnfConstraint("grammar", req.Grammar))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	chunk := func(text string, finish *string) api.Completion {
		return api.Completion{ID: id, Object: "text_completion", Created: created, Model: req.Model, SystemFingerprint: "fp_golem",
			Choices: []api.CompletionChoice{{Text: text, FinishReason: finish}}}
	}
	ev := &sseWriter{w: w}
	echoed := false
	p := rs.params(nil, func(_ *engine.Runner) (string, error) { return prompt, nil })
	res, err := s.generate(r.Context(), p, false, func(piece string, _ []api.Logprob) error {
		if !req.Stream {
			return nil
		}
		if req.Echo && !echoed {
			echoed = true
			piece = prompt + piece
		}
		return ev.send(chunk(piece, nil))
	})
	if err != nil {
		ev.finish(s, r, err)
		return
	}
	usage := api.Usage{PromptTokens: res.stats.PromptTokens, CompletionTokens: res.stats.EvalTokens,
		TotalTokens: res.stats.PromptTokens + res.stats.EvalTokens}
	if !req.Stream {
		text := res.output
		if req.Echo {
			text = prompt + text
		}
		c := chunk(text, finishReason(res.stats.DoneReason))
		c.Usage = &usage
		writeJSON(w, http.StatusOK, c)
		return
	}
	ev.send(chunk("", finishReason(res.stats.DoneReason)))
	if req.StreamOptions != nil && req.StreamOptions.IncludeUsage {
		c := chunk("", nil)
		c.Choices = []api.CompletionChoice{}
		c.Usage = &usage
		ev.send(c)
	}
	ev.raw("[DONE]")
}

func (s *Server) handleOpenAIEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req api.EmbeddingsRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	var inputs []string
	switch in := req.Input.(type) {
	case string:
		inputs = []string{in}
	case []any:
		for _, e := range in {
			str, ok := e.(string)
			if !ok {
				writeError(w, r, http.StatusBadRequest, "input: want a string or a list of strings (token arrays are not supported)")
				return
			}
			inputs = append(inputs, str)
		}
	default:
		writeError(w, r, http.StatusBadRequest, "input: want a string or a list of strings")
		return
	}
	if len(inputs) == 0 {
		writeError(w, r, http.StatusBadRequest, "input must not be empty")
		return
	}
	switch req.EncodingFormat {
	case "", "float", "base64":
	default:
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("encoding_format: want \"float\" or \"base64\", not %q", req.EncodingFormat))
		return
	}
	mi, err := s.resolveModel(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vecs, n, _, err := s.embedTexts(r.Context(), mi, inputs, true, req.Dimensions, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := api.EmbeddingsResponse{Object: "list", Model: req.Model}
	resp.Usage.PromptTokens, resp.Usage.TotalTokens = n, n
	for i, v := range vecs {
		var e any = v
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			e = base64.StdEncoding.EncodeToString(b)
		}
		resp.Data = append(resp.Data, api.EmbeddingObject{Object: "embedding", Embedding: e, Index: i})
	}
	writeJSON(w, http.StatusOK, resp)
}

func ownedBy(n store.Name) string {
	if strings.EqualFold(n.Namespace, store.DefaultNamespace) {
		return "library"
	}
	return n.Namespace
}

func (s *Server) handleOpenAIModels(w http.ResponseWriter, r *http.Request) {
	models, err := s.store.List()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := api.OpenAIModelList{Object: "list", Data: []api.OpenAIModel{}}
	for _, m := range models {
		resp.Data = append(resp.Data, api.OpenAIModel{ID: m.Name.Display(), Object: "model", Created: m.Modified.Unix(), OwnedBy: ownedBy(m.Name)})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleOpenAIModel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("model")
	mi, err := s.resolveModel(id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	owner := "library"
	if mi.digest != "" {
		if n, err := s.store.Resolve(id); err == nil {
			owner = ownedBy(n)
		}
	} else {
		owner = "golem"
	}
	writeJSON(w, http.StatusOK, api.OpenAIModel{ID: id, Object: "model", Created: mi.modified.Unix(), OwnedBy: owner})
}
