package engine

import (
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"golem/internal/fixtures"
	"golem/sample"
)

// batchCase is one request of the concurrent test, with its result.
type batchCase struct {
	name string
	req  Request
	text string
	lps  []TokenLogprobs
	st   Stats
	err  error
}

func batchCases() []batchCase {
	seeded := sample.DefaultOptions()
	seeded.Temperature, seeded.Seed, seeded.NumPredict = 0.8, 42, 40
	stop := greedy(60)
	stop.Stop = []string{"park"}
	return []batchCase{
		{name: "greedy", req: Request{Prompt: "Once upon a time", Raw: true, Options: greedy(50), TopLogprobs: 3}},
		{name: "seeded", req: Request{Prompt: "The little dog", Raw: true, Options: seeded}},
		{name: "stop string", req: Request{Prompt: "Lily went to the", Raw: true, Options: stop}},
		{name: "long", req: Request{Prompt: strings.Repeat("One day a girl saw a cat. ", 12), Raw: true, Options: greedy(70)}},
	}
}

// run executes c with gen, collecting text and log-probabilities.
func (c *batchCase) run(gen func(Request, func(string) error) (Stats, error)) {
	req := c.req
	req.OnLogprobs = func(lp TokenLogprobs) { c.lps = append(c.lps, lp) }
	var out strings.Builder
	c.st, c.err = gen(req, func(s string) error { out.WriteString(s); return nil })
	c.text = out.String()
}

// TestBatchMatchesRunner runs four different requests at once in a
// four-slot Batch and checks each against the same request alone through
// Runner.Generate: same text, token log-probabilities, token counts and
// done reasons. Then it reruns them (reusing each slot's cache prefix)
// and checks again.
func TestBatchMatchesRunner(t *testing.T) {
	single, _ := loadStories(t)
	want := batchCases()
	for i := range want {
		want[i].run(func(r Request, emit func(string) error) (Stats, error) {
			return single.Generate(context.Background(), r, emit)
		})
		if want[i].err != nil || want[i].st.EvalTokens == 0 {
			t.Fatalf("%s: alone: %v, %d tokens", want[i].name, want[i].err, want[i].st.EvalTokens)
		}
	}
	// The stop case must really end at its stop string.
	free := batchCase{req: want[2].req}
	free.req.Options.Stop = nil
	free.run(func(r Request, emit func(string) error) (Stats, error) {
		return single.Generate(context.Background(), r, emit)
	})
	if at := strings.Index(free.text, "park"); at < 0 || want[2].st.DoneReason != "stop" || want[2].text != free.text[:at] {
		t.Fatalf("stop case: %q (%s); without the stop string %q", want[2].text, want[2].st.DoneReason, free.text)
	}

	r, _ := loadStories(t)
	b, err := NewBatch(r, len(want))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for round := range 2 {
		got := batchCases()
		var wg sync.WaitGroup
		for i := range got {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got[i].run(func(r Request, emit func(string) error) (Stats, error) {
					return b.Generate(context.Background(), i, r, emit)
				})
			}()
		}
		wg.Wait()
		for i, g := range got {
			w := want[i]
			if g.err != nil || g.text != w.text || g.st.EvalTokens != w.st.EvalTokens ||
				g.st.PromptTokens != w.st.PromptTokens || g.st.DoneReason != w.st.DoneReason {
				t.Errorf("round %d, %s: batched %q (%d tokens, %d prompt, %q, %v), alone %q (%d, %d, %q)", round, g.name,
					g.text, g.st.EvalTokens, g.st.PromptTokens, g.st.DoneReason, g.err, w.text, w.st.EvalTokens, w.st.PromptTokens, w.st.DoneReason)
				continue
			}
			if len(g.lps) != len(w.lps) {
				t.Errorf("round %d, %s: %d logprob entries, alone %d", round, g.name, len(g.lps), len(w.lps))
				continue
			}
			for j := range g.lps {
				if g.lps[j].ID != w.lps[j].ID || g.lps[j].Logprob != w.lps[j].Logprob || len(g.lps[j].Top) != len(w.lps[j].Top) {
					t.Errorf("round %d, %s: token %d logprobs %+v, alone %+v", round, g.name, j, g.lps[j].TokenProb, w.lps[j].TokenProb)
					break
				}
			}
		}
	}
}

// TestBatchCancelAndErrors checks a cancelled request, a failing emit,
// bad slots, a busy slot and a closed batch.
func TestBatchCancelAndErrors(t *testing.T) {
	r, _ := loadStories(t)
	b, err := NewBatch(r, 2)
	if err != nil {
		t.Fatal(err)
	}
	long := Request{Prompt: "Once upon a time", Raw: true, Options: greedy(-1)}

	// Cancelled after the first piece of text.
	ctx, cancel := context.WithCancel(context.Background())
	pieces := 0
	_, err = b.Generate(ctx, 0, long, func(string) error { pieces++; cancel(); return nil })
	if !errors.Is(err, context.Canceled) || pieces == 0 {
		t.Errorf("cancelled: %v after %d pieces", err, pieces)
	}

	// A failing emit ends the request with its error.
	boom := errors.New("client gone")
	if _, err := b.Generate(context.Background(), 1, long, func(string) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing emit: %v", err)
	}

	// The slots are free again and still give the single-stream answer.
	var one, two strings.Builder
	short := Request{Prompt: "Once upon a time", Raw: true, Options: greedy(20)}
	if _, err := b.Generate(context.Background(), 0, short, func(s string) error { one.WriteString(s); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Generate(context.Background(), 1, short, func(s string) error { two.WriteString(s); return nil }); err != nil {
		t.Fatal(err)
	}
	if one.String() != two.String() || one.Len() == 0 {
		t.Errorf("after errors, slots answer %q and %q", one.String(), two.String())
	}

	for _, slot := range []int{-1, 2} {
		if _, err := b.Generate(context.Background(), slot, short, func(string) error { return nil }); err == nil {
			t.Errorf("slot %d: no error", slot)
		}
	}
	tooLong := Request{Prompt: strings.Repeat("word ", r.NumCtx), Raw: true, Options: greedy(5)}
	if _, err := b.Generate(context.Background(), 0, tooLong, func(string) error { return nil }); !errors.Is(err, ErrContextFull) {
		t.Errorf("prompt longer than the context: %v", err)
	}

	// A slot in use refuses a second request.
	started := make(chan struct{})
	release := make(chan struct{})
	go func() {
		var once sync.Once
		b.Generate(context.Background(), 0, long, func(string) error {
			once.Do(func() { close(started) })
			<-release
			return errors.New("stop")
		})
	}()
	<-started
	if _, err := b.Generate(context.Background(), 0, short, func(string) error { return nil }); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Errorf("busy slot: %v", err)
	}
	close(release)

	// Close ends running requests and refuses new ones.
	errc := make(chan error, 1)
	go func() {
		_, err := b.Generate(context.Background(), 1, long, func(string) error { return nil })
		errc <- err
	}()
	time.Sleep(20 * time.Millisecond)
	b.Close()
	select {
	case err := <-errc:
		if !errors.Is(err, ErrBatchClosed) {
			t.Errorf("request running at Close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("request still running after Close")
	}
	if _, err := b.Generate(context.Background(), 1, short, func(string) error { return nil }); !errors.Is(err, ErrBatchClosed) {
		t.Errorf("after Close: %v", err)
	}
}

// BenchmarkBatchStreams measures total generation throughput of one
// stream against four concurrent streams of 128 tokens each on one model,
// either through one four-slot Batch ("batch": the server's slots) or
// through four separate Runners each decoding alone ("runners": the old
// slots). Each iteration runs the 1-stream case and then the 4-stream
// case, so both see the same machine load; the benchmark reports the
// tokens/s of each and their ratio. The model is GOLEM_BENCH_MODEL when
// set (e.g. a mid-size synthetic file from package synth), else
// stories260K.
func BenchmarkBatchStreams(b *testing.B) {
	path := os.Getenv("GOLEM_BENCH_MODEL")
	if path == "" {
		path = fixtures.Path(b, "models/stories260K.gguf")
	}
	const nTok = 128
	req := Request{Prompt: "Once upon a time", Raw: true, Options: greedy(nTok)}
	load := func() *Runner {
		r, err := Load(path, 512)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { r.Close() })
		return r
	}
	discard := func(string) error { return nil }
	// streams runs n streams at once with gen(i) and returns the tokens
	// made and the time taken.
	streams := func(b *testing.B, n int, gen func(i int) (Stats, error)) (int, time.Duration) {
		var wg sync.WaitGroup
		counts := make([]int, n)
		start := time.Now()
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, err := gen(i)
				if err != nil {
					b.Error(err)
				}
				counts[i] = st.EvalTokens
			}()
		}
		wg.Wait()
		d := time.Since(start)
		total := 0
		for _, c := range counts {
			total += c
		}
		return total, d
	}
	compare := func(b *testing.B, gen func(i int) (Stats, error)) {
		var tok1, tok4 int
		var d1, d4 time.Duration
		for b.Loop() {
			t, d := streams(b, 1, gen)
			tok1, d1 = tok1+t, d1+d
			t, d = streams(b, 4, gen)
			tok4, d4 = tok4+t, d4+d
		}
		r1, r4 := float64(tok1)/d1.Seconds(), float64(tok4)/d4.Seconds()
		b.ReportMetric(r1, "tok/s-1stream")
		b.ReportMetric(r4, "tok/s-4streams")
		b.ReportMetric(r4/r1, "ratio")
	}
	b.Run("batch", func(b *testing.B) {
		batch, err := NewBatch(load(), 4)
		if err != nil {
			b.Fatal(err)
		}
		defer batch.Close()
		compare(b, func(i int) (Stats, error) { return batch.Generate(context.Background(), i, req, discard) })
	})
	b.Run("runners", func(b *testing.B) {
		runners := []*Runner{load(), load(), load(), load()}
		compare(b, func(i int) (Stats, error) { return runners[i].Generate(context.Background(), req, discard) })
	})
}
