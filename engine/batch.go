package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golem/model"
)

// Batch answers several generation requests at once on one loaded model.
// It has a fixed number of slots, each with its own KV cache and token
// history (so a slot reuses the prompt prefix of its previous request,
// as a Runner does). One loop goroutine owns the model: each iteration it
// evaluates a chunk of the prompt of every newly arrived request, then
// decodes the next token of all generating requests in one
// model.BatchModel.ForwardBatch step, so the weights stream from memory
// once per step for all of them instead of once per request. Each
// request's tokens are exactly those Runner.Generate would produce.
//
// Generate is safe for concurrent use, one call per slot at a time.
type Batch struct {
	r     *Runner
	bm    model.BatchModel // nil: the model decodes one sequence at a time
	slots []*batchSlot

	reqs chan *batchSeq
	quit chan struct{}
	done chan struct{}
	once sync.Once

	// Loop-owned scratch for a decode step.
	active []*batchSeq
	caches []*model.Cache
	toks   []int32
	ids    []*batchSeq
}

// batchSlot is one sequence slot: its cache and the tokens in it.
type batchSlot struct {
	cache   *model.Cache
	history []int32
	mu      sync.Mutex // guards busy
	busy    bool       // a Generate call holds the slot
}

// batchSeq is one request moving through the loop.
type batchSeq struct {
	ctx    context.Context
	slot   *batchSlot
	g      *genState
	prompt []int32
	rest   []int32   // prompt tokens still to evaluate
	logits []float32 // of the last evaluated token (own copy)

	promptStart, evalStart time.Time

	// Handed between the loop and the Generate call.
	mu       sync.Mutex
	events   []batchEvent
	notify   chan struct{} // capacity 1: "events or done changed"
	done     bool
	err      error // the loop's error, when done
	aborted  bool  // emit failed: the caller stopped listening
	finalize Stats
}

// batchEvent is one callback for the Generate call to make, in order.
type batchEvent struct {
	text string
	lp   *TokenLogprobs
}

// NewBatch makes a Batch of slots sequences over r's model and starts its
// loop. Slot 0 takes over r's own KV cache, so r.Generate must not be used
// while the Batch is open; r's tokenizer and template stay usable (they
// are read-only). Close stops the loop; it does not close r.
func NewBatch(r *Runner, slots int) (*Batch, error) {
	if slots < 1 {
		return nil, fmt.Errorf("engine: batch of %d slots", slots)
	}
	b := &Batch{r: r, reqs: make(chan *batchSeq), quit: make(chan struct{}), done: make(chan struct{})}
	b.bm, _ = r.Model.(model.BatchModel)
	for i := range slots {
		s := &batchSlot{}
		if i == 0 {
			s.cache, s.history = r.cache, r.history
		} else {
			s.cache = r.Model.NewCache(r.NumCtx)
		}
		b.slots = append(b.slots, s)
	}
	go b.loop()
	return b, nil
}

// Slots returns the number of sequence slots.
func (b *Batch) Slots() int { return len(b.slots) }

// Runner returns the runner whose model the batch drives (for its
// tokenizer, template and configuration).
func (b *Batch) Runner() *Runner { return b.r }

// ErrBatchClosed is returned by Generate after Close.
var ErrBatchClosed = errors.New("engine: batch is closed")

// Close stops the loop, ending any running request with ErrBatchClosed,
// and waits for it to exit.
func (b *Batch) Close() {
	b.once.Do(func() { close(b.quit) })
	<-b.done
}

// Generate runs req in slot (0 ≤ slot < Slots()) alongside the other
// slots' requests, with Runner.Generate's semantics: emit receives each
// piece of text, req.OnLogprobs each token's log-probabilities, both on
// the calling goroutine; it returns when the request has ended (end
// token, stop string, NumPredict, full context, ctx cancelled, emit
// failed) and the slot is free again.
func (b *Batch) Generate(ctx context.Context, slot int, req Request, emit func(string) error) (Stats, error) {
	if slot < 0 || slot >= len(b.slots) {
		return Stats{}, fmt.Errorf("engine: slot %d out of range [0, %d)", slot, len(b.slots))
	}
	sl := b.slots[slot]
	sl.mu.Lock()
	if sl.busy {
		sl.mu.Unlock()
		return Stats{}, fmt.Errorf("engine: slot %d is busy", slot)
	}
	sl.busy = true
	sl.mu.Unlock()
	defer func() {
		sl.mu.Lock()
		sl.busy = false
		sl.mu.Unlock()
	}()

	g, prompt, err := b.r.prepare(req)
	if err != nil {
		return Stats{}, err
	}
	s := &batchSeq{ctx: ctx, slot: sl, g: g, prompt: prompt, notify: make(chan struct{}, 1)}
	select {
	case b.reqs <- s:
	case <-ctx.Done():
		return Stats{}, ctx.Err()
	case <-b.quit:
		return Stats{}, ErrBatchClosed
	}
	// Replay the loop's events until it is done with the request. Even
	// after emit fails the call waits, so that the slot's cache is no
	// longer in use when it returns.
	var emitErr error
	for {
		<-s.notify
		s.mu.Lock()
		events, done := s.events, s.done
		s.events = nil
		s.mu.Unlock()
		for _, e := range events {
			if emitErr != nil {
				break
			}
			if e.lp != nil {
				if req.OnLogprobs != nil {
					req.OnLogprobs(*e.lp)
				}
				continue
			}
			// As Runner.Generate checks ctx before each token, a
			// cancelled caller gets ctx's error rather than, say, the
			// failed write to a client that has gone.
			err := ctx.Err()
			if err == nil {
				err = emit(e.text)
			}
			if err != nil {
				emitErr = err
				s.mu.Lock()
				s.aborted = true
				s.mu.Unlock()
			}
		}
		if done {
			break
		}
	}
	if emitErr != nil {
		return s.finalize, emitErr
	}
	return s.finalize, s.err
}

// signal wakes the Generate call of s.
func (s *batchSeq) signal() {
	select {
	case s.notify <- struct{}{}:
	default:
	}
}

// push queues text for the Generate call (the emit of genState.next).
func (s *batchSeq) push(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return errors.New("engine: request abandoned by its caller")
	}
	s.events = append(s.events, batchEvent{text: text})
	s.signal()
	return nil
}

// pushLogprobs queues a token's log-probabilities.
func (s *batchSeq) pushLogprobs(lp TokenLogprobs) {
	s.mu.Lock()
	s.events = append(s.events, batchEvent{lp: &lp})
	s.signal()
	s.mu.Unlock()
}

// finish ends s with err, recording its statistics.
func (s *batchSeq) finish(err error) {
	if !s.evalStart.IsZero() {
		s.g.st.EvalDuration = time.Since(s.evalStart)
	}
	s.mu.Lock()
	s.done, s.err, s.finalize = true, err, s.g.st
	s.signal()
	s.mu.Unlock()
}

// cancelled reports whether s's caller is gone.
func (s *batchSeq) cancelled() error {
	if err := s.ctx.Err(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.aborted {
		return errors.New("engine: request abandoned by its caller")
	}
	return nil
}

// loop is the goroutine that owns the model.
func (b *Batch) loop() {
	defer close(b.done)
	for {
		// Wait for work when idle; otherwise take whatever has arrived.
		if len(b.active) == 0 {
			select {
			case s := <-b.reqs:
				b.admit(s)
			case <-b.quit:
				return
			}
		}
		for more := true; more; {
			select {
			case s := <-b.reqs:
				b.admit(s)
			case <-b.quit:
				for _, s := range b.active {
					s.finish(ErrBatchClosed)
				}
				b.active = b.active[:0]
				return
			default:
				more = false
			}
		}
		b.step()
	}
}

// admit starts a request: its slot's cache keeps the prefix it shares with
// the slot's previous tokens.
func (b *Batch) admit(s *batchSeq) {
	s.rest = reusePrefix(s.slot.cache, &s.slot.history, s.prompt)
	s.promptStart = time.Now()
	b.active = append(b.active, s)
}

// step advances every active request once: one prompt chunk for those
// still evaluating their prompt, one token for those generating.
func (b *Batch) step() {
	b.caches, b.toks, b.ids = b.caches[:0], b.toks[:0], b.ids[:0]
	kept := b.active[:0]
	for _, s := range b.active {
		if err := s.cancelled(); err != nil {
			s.finish(err)
			continue
		}
		if len(s.rest) > 0 {
			if err := b.prefill(s); err != nil {
				s.finish(err)
				continue
			}
			kept = append(kept, s)
			continue
		}
		var onLogprobs func(TokenLogprobs)
		if s.g.req.OnLogprobs != nil {
			onLogprobs = s.pushLogprobs
		}
		id, more, err := s.g.next(s.logits, s.slot.cache.Len(), onLogprobs, s.push)
		if err != nil || !more {
			s.finish(err)
			continue
		}
		s.slot.history = append(s.slot.history, id)
		b.caches = append(b.caches, s.slot.cache)
		b.toks = append(b.toks, id)
		b.ids = append(b.ids, s)
		kept = append(kept, s)
	}
	clear(b.active[len(kept):])
	b.active = kept
	if len(b.toks) == 0 {
		return
	}
	if err := b.decode(); err != nil {
		for _, s := range b.ids {
			b.drop(s, err)
		}
	}
}

// prefill evaluates the next chunk (at most BatchSize tokens, as
// Runner.Generate) of s's prompt.
func (b *Batch) prefill(s *batchSeq) error {
	n := min(len(s.rest), BatchSize)
	logits, err := b.r.Model.Forward(s.slot.cache, s.rest[:n], false)
	if err != nil {
		return err
	}
	s.rest = s.rest[n:]
	if len(s.rest) == 0 {
		s.logits = append(s.logits[:0], logits...)
		s.g.st.PromptTokens = len(s.prompt)
		s.g.st.PromptDuration = time.Since(s.promptStart)
		s.evalStart = time.Now()
	}
	return nil
}

// decode evaluates the step's tokens, one per generating request, and
// keeps each request's logits.
func (b *Batch) decode() error {
	nv := b.r.Model.Config().VocabSize
	if b.bm == nil {
		for i, s := range b.ids {
			logits, err := b.r.Model.Forward(b.caches[i], b.toks[i:i+1], false)
			if err != nil {
				return err
			}
			s.logits = append(s.logits[:0], logits...)
		}
		return nil
	}
	logits, err := b.bm.ForwardBatch(b.caches, b.toks)
	if err != nil {
		return err
	}
	for i, s := range b.ids {
		s.logits = append(s.logits[:0], logits[i*nv:(i+1)*nv]...)
	}
	return nil
}

// drop ends an active request with err and removes it from the loop.
func (b *Batch) drop(s *batchSeq, err error) {
	s.finish(err)
	for i, a := range b.active {
		if a == s {
			b.active = append(b.active[:i], b.active[i+1:]...)
			return
		}
	}
}
