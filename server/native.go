package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"golem/api"
	"golem/chat"
	"golem/engine"
	"golem/grammar"
	"golem/presets"
	"golem/registry"
	"golem/sample"
	"golem/store"
	"golem/tokenizer"
	"golem/toolcall"
)

// streamer writes NDJSON lines, sending the 200 header only with the first
// line so that errors found before any output still get their own status
// code.
type streamer struct {
	w       http.ResponseWriter
	started bool
}

func (st *streamer) send(v any) error {
	if !st.started {
		st.w.Header().Set("Content-Type", "application/x-ndjson")
		st.w.WriteHeader(http.StatusOK)
		st.started = true
	}
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if _, err := st.w.Write(append(b, '\n')); err != nil {
		return err
	}
	return http.NewResponseController(st.w).Flush()
}

// finish reports err: as a status-coded answer when nothing was sent yet,
// else as a final {"error": ...} line.
func (st *streamer) finish(s *Server, r *http.Request, err error) {
	if err == nil {
		return
	}
	if !st.started {
		s.fail(st.w, r, err)
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	st.send(api.StatusError{ErrorMessage: err.Error()})
}

// genParams describes one text generation.
type genParams struct {
	mi        *modelInfo
	opts      sample.Options
	numCtx    int
	keepAlive *time.Duration
	// build renders the prompt once the runner is loaded (the chat
	// template lives in the GGUF).
	build func(r *engine.Runner) (string, error)
	// logprobs asks for token log-probabilities, top for alternatives.
	logprobs bool
	top      int
	// grammar constrains the output (format, response_format, grammar or
	// a forced tool call); nil: free.
	grammar *grammar.Grammar
	// onPrompt, when set, sees the rendered prompt before generation
	// starts (the output splitter needs to know whether it opened a
	// reasoning block).
	onPrompt func(prompt string)
	// showTokens are control tokens whose text the output must show
	// (tool-call and reasoning markers; engine.Request.ShowTokens).
	showTokens []string
}

// params returns the generation parameters of a set-up request.
func (rs *reqSetup) params(ka *time.Duration, build func(*engine.Runner) (string, error)) genParams {
	return genParams{mi: rs.mi, opts: rs.opts, numCtx: rs.numCtx, keepAlive: ka, build: build, grammar: rs.grammar}
}

// genResult is a finished generation.
type genResult struct {
	prompt  string
	output  string
	stats   engine.Stats
	loadDur time.Duration
	runner  *engine.Runner
	tokens  []int32 // of prompt+output, filled when wantContext
	// logprobs holds every token's log-probability (when asked for);
	// tail those not yet passed to emit.
	logprobs, tail []api.Logprob
}

// generate loads the model (waiting in its queue), renders and checks the
// prompt, and runs the generation, calling emit with each piece of text.
func (s *Server) generate(ctx context.Context, p genParams, wantContext bool, emit func(piece string, lps []api.Logprob) error) (res genResult, err error) {
	if p.mi.embed() {
		return res, errf(http.StatusBadRequest, "%q does not support generate: it is an embedding model (use /api/embed)", p.mi.name)
	}
	l, err := s.sched.acquire(ctx, p.mi.spec(p.numCtx), p.keepAlive)
	if err != nil {
		return res, err
	}
	defer l.Release()
	defer func() {
		if s.cfg.doneHook != nil {
			s.cfg.doneHook(p.mi.name, err)
		}
	}()
	r := l.gen()
	res.loadDur, res.runner = l.loadDur, r
	if res.prompt, err = p.build(r); err != nil {
		var ce *chat.Error
		if errors.As(err, &ce) {
			return res, errf(http.StatusBadRequest, "chat template: %v", err)
		}
		return res, err
	}
	if p.onPrompt != nil {
		p.onPrompt(res.prompt)
	}
	if s.cfg.promptHook != nil {
		s.cfg.promptHook(p.mi.name, res.prompt)
	}
	ids := r.Tokenize(res.prompt, true)
	if len(ids) == 0 {
		return res, errf(http.StatusBadRequest, "empty prompt: the model needs at least one token")
	}
	if len(ids) >= r.NumCtx {
		return res, errf(http.StatusBadRequest, "prompt is too long: %d tokens, the context holds %d (raise num_ctx)", len(ids), r.NumCtx)
	}
	if p.top < 0 || p.top > 20 {
		return res, errf(http.StatusBadRequest, "top_logprobs must be between 0 and 20, not %d", p.top)
	}
	var out strings.Builder
	ereq := engine.Request{Prompt: res.prompt, Raw: true, Options: p.opts, Grammar: p.grammar, ShowTokens: p.showTokens}
	sent := 0
	if p.logprobs || p.top > 0 {
		ereq.TopLogprobs = p.top
		ereq.OnLogprobs = func(lp engine.TokenLogprobs) { res.logprobs = append(res.logprobs, apiLogprob(lp)) }
	}
	res.stats, err = l.generate(ctx, ereq, func(piece string) error {
		if s.cfg.tokenHook != nil {
			s.cfg.tokenHook()
		}
		out.WriteString(piece)
		lps := res.logprobs[sent:]
		sent = len(res.logprobs)
		return emit(piece, lps)
	})
	res.output = out.String()
	res.tail = res.logprobs[sent:]
	if err != nil {
		if errors.Is(err, engine.ErrContextFull) {
			return res, errf(http.StatusBadRequest, "%v", err)
		}
		return res, err
	}
	if wantContext {
		res.tokens = r.Tokenize(res.prompt+res.output, true)
	}
	return res, nil
}

func apiLogprob(lp engine.TokenLogprobs) api.Logprob {
	tl := func(tp engine.TokenProb) api.TokenLogprob {
		b := make([]int, len(tp.Piece))
		for i, c := range tp.Piece {
			b[i] = int(c)
		}
		return api.TokenLogprob{Token: string(tp.Piece), Logprob: tp.Logprob, Bytes: b}
	}
	out := api.Logprob{TokenLogprob: tl(lp.TokenProb)}
	for _, t := range lp.Top {
		out.TopLogprobs = append(out.TopLogprobs, tl(t))
	}
	return out
}

func metrics(start time.Time, res genResult) api.Metrics {
	return api.Metrics{
		TotalDuration:      time.Since(start),
		LoadDuration:       res.loadDur,
		PromptEvalCount:    res.stats.PromptTokens,
		PromptEvalDuration: res.stats.PromptDuration,
		EvalCount:          res.stats.EvalTokens,
		EvalDuration:       res.stats.EvalDuration,
	}
}

func keepAlivePtr(d *api.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	v := d.Duration
	return &v
}

// loadOnly answers a request without a prompt: it loads the model (or,
// with keep_alive 0, unloads it) as Ollama does.
func (s *Server) loadOnly(ctx context.Context, mi *modelInfo, numCtx int, keepAlive *time.Duration) (reason string, err error) {
	if keepAlive != nil && *keepAlive == 0 {
		s.sched.unloadPath(mi.path)
		return "unload", nil
	}
	l, err := s.sched.acquire(ctx, mi.spec(numCtx), keepAlive)
	if err != nil {
		return "", err
	}
	l.Release()
	return "load", nil
}

func (s *Server) handleGenerate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.GenerateRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Preset != "" {
		sys, opts, err := presets.ForGenerate(req.Preset, req.PresetVars, req.System, req.Options)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		req.System, req.Options = sys, opts
	}
	rs, err := s.setup(req.Model, req.Options, formatConstraint(req.Format))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mi, opts, numCtx := rs.mi, rs.opts, rs.numCtx
	if len(req.Images) > 0 {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("model %q does not support images: it is a text-only model", req.Model))
		return
	}
	if req.Suffix != "" {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("model %q does not support insert: suffix (fill-in-the-middle) is not supported yet", req.Model))
		return
	}
	ka := keepAlivePtr(req.KeepAlive)
	if req.Prompt == "" && len(req.Context) == 0 && !mi.embed() {
		reason, err := s.loadOnly(r.Context(), mi, numCtx, ka)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: reason})
		return
	}
	system := req.System
	if system == "" {
		system = mi.system
	}
	build := func(rn *engine.Runner) (string, error) {
		var prompt string
		switch {
		case req.Raw:
			prompt = req.Prompt
		case req.Template != "" || (rn.Template == nil && mi.template != ""):
			src := req.Template
			if src == "" {
				src = mi.template
			}
			msgs := []api.Message{}
			if system != "" {
				msgs = append(msgs, api.Message{Role: "system", Content: system})
			}
			msgs = append(msgs, api.Message{Role: "user", Content: req.Prompt})
			p, err := renderGoTemplate(src, goTemplateData{System: system, Prompt: req.Prompt, Messages: msgs}.WithThink(req.Think))
			if err != nil {
				return "", err
			}
			prompt = p
		default:
			vars := map[string]any{}
			thinkVars(req.Think, vars)
			p, err := rn.FormatPrompt(engine.Request{Prompt: req.Prompt, System: system, Options: opts, TemplateVars: vars})
			if err != nil {
				return "", err
			}
			prompt = p
		}
		if len(req.Context) > 0 {
			ids := make([]int32, len(req.Context))
			vocab := rn.Model.Config().VocabSize
			for i, id := range req.Context {
				if id < 0 || id >= vocab {
					return "", errf(http.StatusBadRequest, "context: token id %d is outside the vocabulary (0..%d)", id, vocab-1)
				}
				ids[i] = int32(id)
			}
			prompt = rn.Tokenizer.Detokenize(ids, false, true) + prompt
		}
		return prompt, nil
	}
	stream := req.Stream == nil || *req.Stream
	st := &streamer{w: w}
	p := rs.params(ka, build)
	p.logprobs, p.top = req.Logprobs, req.TopLogprobs
	var split *outputSplitter
	p.showTokens = showTokens(mi, thinkModeOf(req.Think), toolcall.FormatNone)
	p.onPrompt = func(prompt string) {
		split = newOutputSplitter(mi, thinkModeOf(req.Think), toolcall.FormatNone, prompt)
	}
	var acc outAccum
	res, err := s.generate(r.Context(), p, !req.Raw, func(piece string, lps []api.Logprob) error {
		d, lps := acc.add(split.push(piece), lps)
		if !stream || d.empty() {
			return nil
		}
		return st.send(api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: d.content, Thinking: d.thinking, Logprobs: lps})
	})
	if err != nil {
		st.finish(s, r, err)
		return
	}
	d, tail := acc.end(split.flush(), res.tail)
	final := api.GenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: res.stats.DoneReason, Metrics: metrics(start, res)}
	if !stream {
		final.Response, final.Thinking, final.Logprobs = acc.content.String(), acc.thinking.String(), res.logprobs
	} else {
		final.Response, final.Thinking, final.Logprobs = d.content, d.thinking, tail
	}
	if res.tokens != nil {
		final.Context = make([]int, len(res.tokens))
		for i, id := range res.tokens {
			final.Context[i] = int(id)
		}
	}
	if !stream {
		writeJSON(w, http.StatusOK, final)
		return
	}
	st.send(final)
}

// chatMessages converts API messages for the Jinja template.
func chatMessages(msgs []api.Message) []chat.Message {
	out := make([]chat.Message, 0, len(msgs))
	for _, m := range msgs {
		// Reasoning reaches the template under both names templates read
		// (reasoning_content: Qwen 3, DeepSeek; thinking: gpt-oss).
		cm := chat.Message{Role: m.Role, Content: m.Content, Thinking: m.Thinking, ReasoningContent: m.Thinking, ToolCallID: m.ToolCallID, Name: m.ToolName}
		for _, tc := range m.ToolCalls {
			cm.ToolCalls = append(cm.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: templateArgs(tc.Function)})
		}
		out = append(out, cm)
	}
	return out
}

// chatBuild returns the prompt builder of a chat: the model's MESSAGEs and
// SYSTEM, then the request's messages, through the GGUF's Jinja template
// (or the model's Go TEMPLATE when the GGUF has none).
func chatBuild(mi *modelInfo, msgs []api.Message, plan toolPlan, think *api.ThinkValue) func(*engine.Runner) (string, error) {
	all := append(append([]api.Message{}, mi.messages...), msgs...)
	if mi.system != "" && (len(all) == 0 || all[0].Role != "system") {
		all = append([]api.Message{{Role: "system", Content: mi.system}}, all...)
	}
	return func(rn *engine.Runner) (string, error) {
		if rn.Template == nil && mi.template != "" {
			data := goTemplateData{Messages: all, Tools: plan.tools}.WithThink(think)
			for _, m := range all {
				switch m.Role {
				case "system":
					data.System = m.Content
				case "user":
					data.Prompt = m.Content
				}
			}
			return renderGoTemplate(mi.template, data)
		}
		vars := map[string]any{}
		if len(plan.tools) > 0 {
			vars["tools"] = plan.ordered
		}
		thinkVars(think, vars)
		return rn.FormatPrompt(engine.Request{Messages: chatMessages(all), TemplateVars: vars})
	}
}

func checkMessages(model string, msgs []api.Message) error {
	for i, m := range msgs {
		if len(m.Images) > 0 {
			return errf(http.StatusBadRequest, "model %q does not support images: it is a text-only model", model)
		}
		switch m.Role {
		case "system", "user", "assistant", "tool", "developer":
		case "":
			return errf(http.StatusBadRequest, "messages[%d]: role is required", i)
		default:
			return errf(http.StatusBadRequest, "messages[%d]: invalid role %q (want system, user, assistant or tool)", i, m.Role)
		}
	}
	return nil
}

func (s *Server) handleChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.ChatRequest
	body, err := decodeBody(r, &req)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Preset != "" {
		msgs, opts, err := presets.ForChat(req.Preset, req.PresetVars, req.Messages, req.Options)
		if err != nil {
			writeError(w, r, http.StatusBadRequest, err.Error())
			return
		}
		req.Messages, req.Options = msgs, opts
	}
	rs, err := s.setup(req.Model, req.Options, formatConstraint(req.Format))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	mi, numCtx := rs.mi, rs.numCtx
	if err := checkMessages(req.Model, req.Messages); err != nil {
		s.fail(w, r, err)
		return
	}
	ka := keepAlivePtr(req.KeepAlive)
	if len(req.Messages) == 0 && !mi.embed() {
		reason, err := s.loadOnly(r.Context(), mi, numCtx, ka)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(),
			Message: api.Message{Role: "assistant"}, Done: true, DoneReason: reason})
		return
	}
	plan, err := rs.tools(req.Tools, body, req.ToolChoice)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	stream := req.Stream == nil || *req.Stream
	st := &streamer{w: w}
	p := rs.params(ka, chatBuild(mi, toolMessages(req.Messages), plan, req.Think))
	p.logprobs, p.top = req.Logprobs, req.TopLogprobs
	var split *outputSplitter
	mode := plan.thinkMode(req.Think)
	p.showTokens = showTokens(mi, mode, plan.format)
	p.onPrompt = func(prompt string) { split = newOutputSplitter(mi, mode, plan.format, prompt) }
	var acc outAccum
	msg := func(d outDelta, calls []api.ToolCall) api.Message {
		return api.Message{Role: "assistant", Content: d.content, Thinking: d.thinking, ToolCalls: calls}
	}
	res, err := s.generate(r.Context(), p, false, func(piece string, lps []api.Logprob) error {
		first := len(acc.calls)
		d, lps := acc.add(split.push(piece), lps)
		if !stream || d.empty() {
			return nil
		}
		return st.send(api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: msg(d, acc.calls[first:]), Logprobs: lps})
	})
	if err != nil {
		st.finish(s, r, err)
		return
	}
	first := len(acc.calls)
	d, tail := acc.end(split.flush(), res.tail)
	final := api.ChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: res.stats.DoneReason, Metrics: metrics(start, res)}
	if !stream {
		final.Message = msg(outDelta{content: trimIfCalls(acc.content.String(), len(acc.calls)), thinking: acc.thinking.String()}, acc.calls)
		final.Logprobs = res.logprobs
		writeJSON(w, http.StatusOK, final)
		return
	}
	final.Message, final.Logprobs = msg(d, acc.calls[first:]), tail
	st.send(final)
}

// embedTexts embeds each input with the model's BERT encoder.
func (s *Server) embedTexts(ctx context.Context, mi *modelInfo, inputs []string, truncate bool, dims int, ka *time.Duration) (vecs [][]float32, tokens int, loadDur time.Duration, err error) {
	if !mi.embed() {
		return nil, 0, 0, errf(http.StatusBadRequest, "%q does not support embeddings: it is a text-generation model (architecture %s); use an embedding model such as a BERT GGUF", mi.name, mi.arch)
	}
	if dims < 0 {
		return nil, 0, 0, errf(http.StatusBadRequest, "dimensions must not be negative")
	}
	l, err := s.sched.acquire(ctx, mi.spec(0), ka)
	if err != nil {
		return nil, 0, 0, err
	}
	defer l.Release()
	e := l.r.emb
	for i, in := range inputs {
		if err := ctx.Err(); err != nil {
			return nil, 0, 0, err
		}
		v, n, err := e.Embed(in, truncate)
		if err != nil {
			if errors.Is(err, engine.ErrContextFull) {
				return nil, 0, 0, errf(http.StatusBadRequest, "input %d: %v", i, err)
			}
			return nil, 0, 0, fmt.Errorf("input %d: %w", i, err)
		}
		if dims > 0 && dims < len(v) {
			v = v[:dims]
			normalize(v)
		}
		tokens += n
		vecs = append(vecs, v)
	}
	return vecs, tokens, l.loadDur, nil
}

// normalize scales v to unit length (after cutting dimensions).
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	n := 1 / sqrt(sum)
	for i := range v {
		v[i] = float32(float64(v[i]) * n)
	}
}

func (s *Server) handleEmbed(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req api.EmbedRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	mi, err := s.resolveModel(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ka := keepAlivePtr(req.KeepAlive)
	if len(req.Input) == 0 {
		if !mi.embed() {
			s.fail(w, r, errf(http.StatusBadRequest, "%q does not support embeddings", req.Model))
			return
		}
		if _, err := s.loadOnly(r.Context(), mi, 0, ka); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.EmbedResponse{Model: req.Model, Embeddings: [][]float32{}})
		return
	}
	truncate := req.Truncate == nil || *req.Truncate
	vecs, n, loadDur, err := s.embedTexts(r.Context(), mi, req.Input, truncate, req.Dimensions, ka)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, api.EmbedResponse{Model: req.Model, Embeddings: vecs, TotalDuration: time.Since(start), LoadDuration: loadDur, PromptEvalCount: n})
}

func (s *Server) handleEmbeddings(w http.ResponseWriter, r *http.Request) {
	var req api.EmbeddingRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	mi, err := s.resolveModel(req.Model)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ka := keepAlivePtr(req.KeepAlive)
	if req.Prompt == "" {
		if !mi.embed() {
			s.fail(w, r, errf(http.StatusBadRequest, "%q does not support embeddings", req.Model))
			return
		}
		if _, err := s.loadOnly(r.Context(), mi, 0, ka); err != nil {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, api.EmbeddingResponse{Embedding: []float64{}})
		return
	}
	vecs, _, _, err := s.embedTexts(r.Context(), mi, []string{req.Prompt}, true, 0, ka)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]float64, len(vecs[0]))
	for i, x := range vecs[0] {
		out[i] = float64(x)
	}
	writeJSON(w, http.StatusOK, api.EmbeddingResponse{Embedding: out})
}

func (s *Server) handleTags(w http.ResponseWriter, r *http.Request) {
	models, err := s.store.List()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	resp := api.ListResponse{Models: []api.ListModelResponse{}}
	for _, m := range models {
		name := m.Name.Display()
		d := api.ModelDetails{Format: "gguf"}
		if man, err := s.store.Manifest(m.Name.String()); err == nil {
			if cfg, err := s.store.Config(man); err == nil {
				d = api.ModelDetails{Format: cfg.ModelFormat, Family: cfg.ModelFamily, Families: cfg.ModelFamilies,
					ParameterSize: cfg.ModelType, QuantizationLevel: cfg.FileType}
				if d.Format == "" {
					d.Format = "gguf"
				}
			}
		}
		resp.Models = append(resp.Models, api.ListModelResponse{Name: name, Model: name, ModifiedAt: m.Modified,
			Size: m.Size, Digest: m.Digest, Details: d})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handlePs(w http.ResponseWriter, r *http.Request) {
	resp := api.ProcessResponse{Models: []api.ProcessModelResponse{}}
	for _, ri := range s.sched.snapshot() {
		resp.Models = append(resp.Models, api.ProcessModelResponse{Name: ri.spec.name, Model: ri.spec.name, Size: ri.size,
			Digest: ri.spec.digest, Details: ri.spec.details, ExpiresAt: ri.expiresAt, ContextLength: ri.numCtx,
			Active: ri.active, Queued: ri.queued})
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) handleCopy(w http.ResponseWriter, r *http.Request) {
	var req api.CopyRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if req.Source == "" || req.Destination == "" {
		writeError(w, r, http.StatusBadRequest, "source and destination are required")
		return
	}
	if _, err := store.ParseName(req.Destination); err != nil {
		writeError(w, r, http.StatusBadRequest, fmt.Sprintf("invalid destination name %q: %v", req.Destination, err))
		return
	}
	if err := s.store.Copy(req.Source, req.Destination); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName) {
			writeError(w, r, http.StatusNotFound, fmt.Sprintf("model %q not found", req.Source))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) handleDelete(w http.ResponseWriter, r *http.Request) {
	var req api.DeleteRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		writeError(w, r, http.StatusBadRequest, "model is required")
		return
	}
	if err := s.store.Delete(name); err != nil {
		if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrInvalidName) {
			writeError(w, r, http.StatusNotFound, fmt.Sprintf("model %q not found", name))
			return
		}
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// tokenizerLease loads the named model for tokenizing.
func (s *Server) tokenizerLease(ctx context.Context, name string, ka *api.Duration) (*lease, *modelInfo, error) {
	mi, err := s.resolveModel(name)
	if err != nil {
		return nil, nil, err
	}
	l, err := s.sched.acquire(ctx, mi.spec(0), keepAlivePtr(ka))
	return l, mi, err
}

func (s *Server) handleTokenize(w http.ResponseWriter, r *http.Request) {
	var req api.TokenizeRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	l, _, err := s.tokenizerLease(r.Context(), req.Model, req.KeepAlive)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer l.Release()
	addSpecial := req.AddSpecial == nil || *req.AddSpecial
	parseSpecial := req.ParseSpecial == nil || *req.ParseSpecial
	var ids []int32
	if g := l.gen(); g != nil {
		if addSpecial {
			ids = g.Tokenize(req.Content, parseSpecial)
		} else {
			ids = g.Tokenizer.Encode(req.Content, false, parseSpecial)
		}
	} else {
		ids = l.r.emb.Tokenizer.Encode(req.Content, addSpecial, parseSpecial)
	}
	out := make([]int, len(ids))
	for i, id := range ids {
		out[i] = int(id)
	}
	writeJSON(w, http.StatusOK, api.TokenizeResponse{Model: req.Model, Tokens: out})
}

func (s *Server) handleDetokenize(w http.ResponseWriter, r *http.Request) {
	var req api.DetokenizeRequest
	if err := decode(r, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	l, _, err := s.tokenizerLease(r.Context(), req.Model, req.KeepAlive)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer l.Release()
	var (
		vocab int
		tok   *tokenizer.Tokenizer
	)
	if g := l.gen(); g != nil {
		tok, vocab = g.Tokenizer, g.Model.Config().VocabSize
	} else {
		tok, vocab = l.r.emb.Tokenizer, l.r.emb.Model.VocabSize
	}
	ids := make([]int32, len(req.Tokens))
	for i, id := range req.Tokens {
		if id < 0 || id >= vocab {
			writeError(w, r, http.StatusBadRequest, fmt.Sprintf("tokens[%d]: id %d is outside the vocabulary (0..%d)", i, id, vocab-1))
			return
		}
		ids[i] = int32(id)
	}
	writeJSON(w, http.StatusOK, api.DetokenizeResponse{Model: req.Model, Content: tok.Detokenize(ids, false, true)})
}

// handleRegistry answers /api/pull and /api/push (op "pull" or "push")
// with the registry client, streaming Ollama's progress lines ("pulling
// manifest", "pulling <digest>" with total and completed bytes, "verifying
// sha256 digest", "writing manifest", "success"; for a push "retrieving
// manifest", "pushing <digest>", "pushing manifest", "success") as NDJSON,
// or only the final status when stream is false. An error after the first
// line arrives as a final {"error": ...} line. A client that disconnects
// cancels the transfer; a pull's partial downloads stay for the next one.
func (s *Server) handleRegistry(op string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var req api.PullRequest
		if err := decode(r, &req); err != nil {
			s.fail(w, r, err)
			return
		}
		name, ok := targetName(w, r, req.Model, req.Name)
		if !ok {
			return
		}
		if op == "push" {
			if _, err := s.store.Resolve(name); err != nil {
				writeError(w, r, http.StatusNotFound, fmt.Sprintf("model %q not found", name))
				return
			}
		}
		stream := req.Stream == nil || *req.Stream
		st := &streamer{w: w}
		progress := func(p api.ProgressResponse) {
			if stream {
				st.send(p)
			}
		}
		c := &registry.Client{Insecure: req.Insecure, UserAgent: "golem/" + Version}
		var err error
		if op == "push" {
			err = c.Push(r.Context(), s.store, name, progress)
		} else {
			err = c.Pull(r.Context(), s.store, name, progress)
		}
		if err != nil {
			if !st.started && errors.Is(err, registry.ErrNotFound) {
				writeError(w, r, http.StatusNotFound, err.Error())
				return
			}
			st.finish(s, r, err)
			return
		}
		if !stream {
			writeJSON(w, http.StatusOK, api.ProgressResponse{Status: "success"})
		}
	}
}
