// Package engine turns a GGUF file into something that answers prompts: it
// loads the model, its tokenizer and chat template, keeps the KV cache, and
// runs the generate loop (prompt evaluation, sampling, stop conditions,
// streaming of UTF-8-safe text) with timings.
package engine

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golem/chat"
	"golem/gguf"
	"golem/grammar"
	"golem/model"
	"golem/sample"
	"golem/tokenizer"
)

// DefaultMaxContext caps the context of models whose training context is
// larger, so a KV cache fits in memory by default (Ollama's default too).
const DefaultMaxContext = 4096

// BatchSize is the most prompt tokens evaluated in one Forward call
// (llama.cpp's default n_ubatch).
const BatchSize = 512

// Runner is one loaded model ready to answer prompts. It is not safe for
// concurrent use: one generation at a time.
type Runner struct {
	Path      string
	File      *gguf.File
	Model     model.Model
	Tokenizer *tokenizer.Tokenizer
	Template  *chat.Template // nil when the GGUF has no chat template
	NumCtx    int            // positions the KV cache holds

	LoadDuration time.Duration

	cache   *model.Cache
	history []int32 // tokens whose K/V are in cache, for prefix reuse

	// vocab is the tokenizer's vocabulary as a grammar trie, built on the
	// first constrained request (0.1-0.3 s for a large vocabulary) and
	// shared by every later one; vocabMu guards it because Batch prepares
	// requests from several goroutines.
	vocabMu  sync.Mutex
	vocab    *grammar.Vocab
	vocabErr error
}

// GrammarVocab returns the model's vocabulary prepared for constrained
// decoding, building it on first use and caching it (errors too).
func (r *Runner) GrammarVocab() (*grammar.Vocab, error) {
	r.vocabMu.Lock()
	defer r.vocabMu.Unlock()
	if r.vocab == nil && r.vocabErr == nil {
		r.vocab, r.vocabErr = grammar.VocabFromTokenizer(r.Tokenizer)
		if r.vocabErr != nil {
			r.vocabErr = fmt.Errorf("engine: grammar vocabulary: %w", r.vocabErr)
		}
	}
	return r.vocab, r.vocabErr
}

// Load opens a GGUF file and prepares it for generation. numCtx <= 0 means
// the model's training context, capped at DefaultMaxContext.
func Load(path string, numCtx int) (*Runner, error) {
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	r, err := newRunner(path, f, numCtx)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.LoadDuration = time.Since(start)
	return r, nil
}

func newRunner(path string, f *gguf.File, numCtx int) (*Runner, error) {
	if arch := f.Architecture(); arch == "bert" {
		return nil, fmt.Errorf("%s is an embedding model (%s): it turns text into vectors and cannot generate text", path, arch)
	}
	m, err := model.Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	r := &Runner{Path: path, File: f, Model: m, Tokenizer: tok}
	if src, ok := f.String("tokenizer.chat_template"); ok && src != "" {
		t, err := chat.Parse(src)
		if err != nil {
			return nil, fmt.Errorf("%s: chat template: %w", path, err)
		}
		r.Template = t
	}
	if numCtx <= 0 {
		numCtx = m.Config().ContextLength
		if numCtx <= 0 || numCtx > DefaultMaxContext {
			numCtx = DefaultMaxContext
		}
	}
	r.NumCtx = numCtx
	r.cache = m.NewCache(numCtx)
	return r, nil
}

// Close releases the model file.
func (r *Runner) Close() error { return r.File.Close() }

// Request is one generation.
type Request struct {
	Prompt  string
	System  string // system message, used with the chat template
	Raw     bool   // use Prompt as is, without the chat template
	Options sample.Options

	// Messages, when non-nil, is a whole conversation rendered with the
	// chat template instead of System and Prompt (the server's /api/chat).
	Messages []chat.Message
	// TemplateVars are extra variables for the chat template (tools,
	// enable_thinking, ...); bos_token and eos_token are always set.
	TemplateVars map[string]any

	// OnLogprobs, when set, is called for each generated token (not the
	// end-of-generation token) with its log-probability under the model's
	// distribution (log-softmax of the raw logits, before sampling
	// penalties and temperature) and the TopLogprobs most likely
	// alternatives. It is called before the token's text is emitted.
	OnLogprobs  func(TokenLogprobs)
	TopLogprobs int

	// Grammar, when non-nil, constrains the output to its language (see
	// grammar.FromFormat and grammar.FromResponseFormat): tokens it
	// refuses are never sampled, end of generation comes only once the
	// output is complete, and generation stops ("stop") as soon as
	// nothing more can follow.
	Grammar *grammar.Grammar

	// ShowTokens are texts of control tokens (tool-call and reasoning
	// markers such as "[TOOL_CALLS]" or "<|channel|>") whose text is
	// emitted when the model generates them; other control tokens stay
	// invisible. Texts that are not control tokens of the vocabulary are
	// ignored (ordinary tokens are always shown).
	ShowTokens []string
}

// TokenProb is a token with its log-probability.
type TokenProb struct {
	ID      int32
	Piece   []byte // the token's text (possibly part of a UTF-8 character)
	Logprob float64
}

// TokenLogprobs is a generated token and its most likely alternatives,
// most likely first.
type TokenLogprobs struct {
	TokenProb
	Top []TokenProb
}

// Stats describes a finished generation, with Ollama's names in mind
// (prompt_eval_count, eval_count, done_reason).
type Stats struct {
	PromptTokens   int
	PromptDuration time.Duration
	EvalTokens     int
	EvalDuration   time.Duration
	DoneReason     string // "stop" (end token or stop string) or "length"
}

// ErrContextFull is returned when a prompt does not fit in the context.
var ErrContextFull = errors.New("prompt is longer than the context")

// FormatPrompt applies the chat template (unless raw or the model has
// none) and returns the text to tokenize.
func (r *Runner) FormatPrompt(req Request) (string, error) {
	if req.Messages != nil && !req.Raw {
		if r.Template == nil {
			return plainConversation(req.Messages), nil
		}
		return chat.Apply(r.Template, req.Messages, true, r.templateVars(req.TemplateVars))
	}
	if req.Raw || r.Template == nil {
		if req.System != "" && !req.Raw {
			return req.System + "\n\n" + req.Prompt, nil
		}
		return req.Prompt, nil
	}
	var msgs []chat.Message
	if req.System != "" {
		msgs = append(msgs, chat.Message{Role: "system", Content: req.System})
	}
	msgs = append(msgs, chat.Message{Role: "user", Content: req.Prompt})
	return chat.Apply(r.Template, msgs, true, r.templateVars(req.TemplateVars))
}

// templateVars returns vars plus the model's bos_token and eos_token.
func (r *Runner) templateVars(vars map[string]any) map[string]any {
	tok := r.Tokenizer
	extra := map[string]any{
		"bos_token": string(tok.PieceSpecial(tok.BOS())),
		"eos_token": string(tok.PieceSpecial(tok.EOS())),
	}
	for k, v := range vars {
		extra[k] = v
	}
	return extra
}

// plainConversation renders messages for a model without a chat template:
// the contents one after another, separated by blank lines, so a base
// model continues the text.
func plainConversation(msgs []chat.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(m.Content)
	}
	return b.String()
}

// Tokenize turns prompt text into ids the way llama.cpp's tools do: special
// tokens written in the text are parsed when templated, and BOS is added
// when the vocabulary asks for it (but not twice if the template wrote it).
func (r *Runner) Tokenize(text string, parseSpecial bool) []int32 {
	ids := r.Tokenizer.Encode(text, true, parseSpecial)
	if len(ids) >= 2 && r.Tokenizer.AddBOS() && ids[0] == r.Tokenizer.BOS() && ids[1] == ids[0] {
		ids = ids[1:]
	}
	return ids
}

// Generate runs one request and calls emit with each piece of new text as
// soon as it is complete UTF-8 and cannot be part of a stop string. It
// stops at an end-of-generation token, a stop string, NumPredict tokens,
// a full context, ctx's cancellation or an error from emit.
func (r *Runner) Generate(ctx context.Context, req Request, emit func(string) error) (st Stats, err error) {
	g, prompt, err := r.prepare(req)
	if err != nil {
		return st, err
	}
	defer func() { st = g.st }()

	// Evaluate the prompt, reusing the cached prefix it shares with the
	// previous request (at least the last prompt token is recomputed so
	// there are logits to sample from).
	rest := reusePrefix(r.cache, &r.history, prompt)
	start := time.Now()
	var logits []float32
	for len(rest) > 0 {
		// Batches of at most BatchSize tokens, as llama.cpp's n_ubatch,
		// so the attention kernels (and numbers) are the ones it uses.
		n := min(len(rest), BatchSize)
		if logits, err = r.Model.Forward(r.cache, rest[:n], false); err != nil {
			return st, err
		}
		rest = rest[n:]
	}
	g.st.PromptTokens = len(prompt)
	g.st.PromptDuration = time.Since(start)

	start = time.Now()
	defer func() { g.st.EvalDuration = time.Since(start) }()
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		id, more, err := g.next(logits, r.cache.Len(), req.OnLogprobs, emit)
		if err != nil || !more {
			return st, err
		}
		r.history = append(r.history, id)
		if logits, err = r.Model.Forward(r.cache, []int32{id}, false); err != nil {
			return st, err
		}
	}
}

// prepare renders and tokenizes req's prompt, checks that it fits, and
// returns the per-request generation state with its prompt tokens already
// accepted by the sampler (for repetition penalties).
func (r *Runner) prepare(req Request) (*genState, []int32, error) {
	text, err := r.FormatPrompt(req)
	if err != nil {
		return nil, nil, err
	}
	// Special tokens written in the text are parsed, as llama.cpp's tools do.
	prompt := r.Tokenize(text, true)
	if len(prompt) == 0 {
		return nil, nil, errors.New("empty prompt: the model needs at least one token")
	}
	if len(prompt) >= r.NumCtx {
		return nil, nil, fmt.Errorf("%w: prompt is %d tokens, context holds %d (raise num_ctx)", ErrContextFull, len(prompt), r.NumCtx)
	}
	sampler, err := sample.New(req.Options)
	if err != nil {
		return nil, nil, err
	}
	for _, id := range prompt {
		sampler.Accept(int(id))
	}
	dec := tokenizer.NewStreamDecoder(r.Tokenizer)
	dec.StripLeadingSpace = false // the answer continues the prompt's text
	g := &genState{r: r, req: req, sampler: sampler, dec: dec, stop: sample.NewStopMatcher(req.Options.Stop)}
	for _, t := range req.ShowTokens {
		if id, ok := r.Tokenizer.TokenID(t); ok && r.Tokenizer.IsControl(id) {
			if g.show == nil {
				g.show = map[int32]bool{}
			}
			g.show[id] = true
		}
	}
	if req.Grammar != nil {
		v, err := r.GrammarVocab()
		if err != nil {
			return nil, nil, err
		}
		g.constraint = grammar.NewConstraint(req.Grammar, v)
	}
	return g, prompt, nil
}

// reusePrefix truncates cache to the longest prefix that history (the
// tokens in it) shares with prompt, keeping at least the last prompt token
// to recompute so there are logits to sample from; it sets history to
// prompt and returns the tokens still to evaluate.
func reusePrefix(cache *model.Cache, history *[]int32, prompt []int32) []int32 {
	keep := commonPrefix(*history, prompt)
	if keep >= len(prompt) {
		keep = len(prompt) - 1
	}
	cache.Truncate(keep)
	*history = append((*history)[:keep], prompt[keep:]...)
	return prompt[keep:]
}

// genState is what one generation carries from token to token: sampler,
// UTF-8 stream decoder, stop-string matcher and statistics. Runner.Generate
// and Batch share it, so a request gives the same tokens and text either way.
type genState struct {
	r       *Runner
	req     Request
	sampler *sample.Sampler
	dec     *tokenizer.StreamDecoder
	stop    *sample.StopMatcher
	st      Stats

	// constraint is the request's grammar state (nil: unconstrained);
	// masked is scratch for the masked copy of the logits, allocated on
	// the first refused sample and reused.
	constraint *grammar.Constraint
	masked     []float32

	// show holds the control tokens whose text is emitted (ShowTokens).
	show map[int32]bool
}

// text returns the new text of generated token id: a shown control token
// is written out after whatever the decoder held back.
func (g *genState) text(id int32) string {
	if g.show[id] {
		return g.dec.Flush() + string(g.r.Tokenizer.PieceSpecial(id))
	}
	return g.dec.Add(id)
}

// sample picks the next token. With a grammar it does what llama.cpp's
// common sampler does: sample from the raw logits, and only when the
// grammar refuses that token mask a copy of the logits (-Inf for every
// refused token) and sample again, so the mask, the expensive part, is
// computed only when needed and the sampler's state is the same as if it
// had been applied first whenever the first pick is allowed.
func (g *genState) sample(logits []float32) (int32, error) {
	tok, err := g.sampler.Sample(logits)
	if err != nil {
		return 0, err
	}
	c := g.constraint
	if c == nil || c.TokenAllowed(int32(tok)) {
		return int32(tok), nil
	}
	g.masked = append(g.masked[:0], logits...)
	if c.Apply(g.masked) == 0 {
		return 0, errors.New("engine: grammar: no token of the vocabulary can continue the output")
	}
	if tok, err = g.sampler.Sample(g.masked); err != nil {
		return 0, err
	}
	if !c.TokenAllowed(int32(tok)) {
		// Only when every allowed token has -Inf logit: nothing to pick.
		return 0, fmt.Errorf("engine: grammar: sampler picked refused token %d from the masked logits", tok)
	}
	return int32(tok), nil
}

// next handles the logits of the last evaluated token, with cacheLen
// positions in the sequence's cache: it samples a token, reports its
// log-probabilities, emits its text and decides whether to go on. more
// is true when id must be evaluated next; when it is false the generation
// is over (st.DoneReason set) and any held-back text has been emitted.
func (g *genState) next(logits []float32, cacheLen int, onLogprobs func(TokenLogprobs), emit func(string) error) (id int32, more bool, err error) {
	opts := &g.req.Options
	if opts.NumPredict >= 0 && g.st.EvalTokens >= opts.NumPredict {
		g.st.DoneReason = "length"
		return 0, false, g.flush(emit)
	}
	id, err = g.sample(logits)
	if err != nil {
		return 0, false, err
	}
	if g.constraint != nil {
		if err := g.constraint.Accept(id); err != nil {
			return 0, false, fmt.Errorf("engine: %w", err)
		}
	}
	if g.r.Tokenizer.IsEOG(id) {
		g.st.DoneReason = "stop"
		return 0, false, g.flush(emit)
	}
	if onLogprobs != nil {
		onLogprobs(g.r.logprobs(logits, id, g.req.TopLogprobs))
	}
	g.sampler.Accept(int(id))
	g.st.EvalTokens++
	out, stopped := g.stop.Push(g.text(id))
	if out != "" {
		if err := emit(out); err != nil {
			return 0, false, err
		}
	}
	if stopped {
		// Text after a stop string is dropped, held back or not.
		g.st.DoneReason = "stop"
		return 0, false, nil
	}
	if c := g.constraint; c != nil && c.Accepting() && !c.Matcher().CanContinue() {
		// The output is complete and nothing may follow but EOG: stop
		// here rather than spend a forward pass on a forced end token.
		g.st.DoneReason = "stop"
		return 0, false, g.flush(emit)
	}
	if cacheLen >= g.r.NumCtx {
		g.st.DoneReason = "length"
		return 0, false, g.flush(emit)
	}
	return id, true, nil
}

// flush emits the text held back by the stream decoder and the stop
// matcher at the end of a generation.
func (g *genState) flush(emit func(string) error) error {
	if out, _ := g.stop.Push(g.dec.Flush()); out != "" {
		if err := emit(out); err != nil {
			return err
		}
	}
	if out := g.stop.Flush(); out != "" {
		return emit(out)
	}
	return nil
}

// logprobs returns the log-softmax of logits at id and the top most
// likely tokens (ties by lower id), computed in float64.
func (r *Runner) logprobs(logits []float32, id int32, top int) TokenLogprobs {
	m := math.Inf(-1)
	for _, l := range logits {
		if v := float64(l); v > m && !math.IsNaN(v) {
			m = v
		}
	}
	var sum float64
	for _, l := range logits {
		if v := float64(l); !math.IsNaN(v) {
			sum += math.Exp(v - m)
		}
	}
	lse := m + math.Log(sum)
	prob := func(i int32) TokenProb {
		return TokenProb{ID: i, Piece: r.Tokenizer.Piece(i), Logprob: float64(logits[i]) - lse}
	}
	out := TokenLogprobs{TokenProb: prob(id)}
	top = min(top, len(logits), 20)
	if top <= 0 {
		return out
	}
	// Keep the top ids by insertion into a small sorted list.
	best := make([]int32, 0, top)
	better := func(a, b int32) bool { return logits[a] > logits[b] || logits[a] == logits[b] && a < b }
	for i := range logits {
		i := int32(i)
		if math.IsNaN(float64(logits[i])) {
			continue
		}
		if len(best) == top && !better(i, best[top-1]) {
			continue
		}
		if len(best) < top {
			best = append(best, i)
		} else {
			best[top-1] = i
		}
		for j := len(best) - 1; j > 0 && better(best[j], best[j-1]); j-- {
			best[j], best[j-1] = best[j-1], best[j]
		}
	}
	for _, i := range best {
		out.Top = append(out.Top, prob(i))
	}
	return out
}

func commonPrefix(a, b []int32) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
