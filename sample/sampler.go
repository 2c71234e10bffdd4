package sample

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Token is a candidate during sampling: a token id, its (transformed)
// logit and, once a softmax has run, its probability.
type Token struct {
	ID    int32
	Logit float32
	P     float32
}

// Sampler turns logits into token ids. It holds the penalty history and the
// random generator, so use one Sampler per generated sequence. Not safe for
// concurrent use.
type Sampler struct {
	opts Options
	seed uint32
	rng  MT19937

	// cand is the candidate list the chain narrows; sorted says whether it
	// is in descending logit order (ties: ascending id), which lets later
	// steps skip work exactly where llama.cpp's do.
	cand    []Token
	sorted  bool
	scratch []Token
	typ     []typEntry

	// Penalty state: ring holds the last window accepted tokens, counts
	// how often each id occurs in it. stamp/gen mark ids already
	// penalized in the current call.
	window    int
	ring      []int32
	ringStart int
	ringLen   int
	counts    []int32
	stamp     []uint32
	gen       uint32
}

// typEntry is a candidate index with its typical-sampling score.
type typEntry struct {
	score float32
	idx   int32
}

// New returns a Sampler for opts (which it validates). A negative Seed
// picks a random one; Seed reports it.
func New(opts Options) (*Sampler, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	s := &Sampler{opts: opts}
	switch {
	case opts.RepeatLastN == -1:
		s.window = opts.NumCtx
	case opts.RepeatLastN > 0:
		s.window = opts.RepeatLastN
	}
	if s.penaltiesOff() {
		s.window = 0
	}
	s.ring = make([]int32, s.window)
	if opts.Seed < 0 {
		s.seed = rand.Uint32()
	} else {
		s.seed = uint32(opts.Seed)
	}
	s.rng.Seed(s.seed)
	return s, nil
}

// Options returns the options the sampler was made with.
func (s *Sampler) Options() Options { return s.opts }

// Seed returns the seed of the random generator (the one picked if the
// options asked for a random seed).
func (s *Sampler) Seed() uint32 { return s.seed }

// Reset forgets the penalty history and restarts the random generator
// from the seed, so the sampler behaves as if new.
func (s *Sampler) Reset() {
	for _, t := range s.ring[:s.ringLen] {
		if int(t) < len(s.counts) {
			s.counts[t] = 0
		}
	}
	s.ringStart, s.ringLen = 0, 0
	s.rng.Seed(s.seed)
}

func (s *Sampler) penaltiesOff() bool {
	o := &s.opts
	return o.RepeatPenalty == 1 && o.FrequencyPenalty == 0 && o.PresencePenalty == 0
}

// Accept records a token for the repetition penalties: every sampled token,
// and the prompt's tokens too if they should count (llama.cpp's server
// accepts the prompt; whether to do so is the caller's choice). Negative
// ids are ignored.
func (s *Sampler) Accept(token int) {
	if s.window == 0 || token < 0 || token > math.MaxInt32 {
		return
	}
	if token >= len(s.counts) {
		s.counts = slices.Grow(s.counts, token+1-len(s.counts))[:token+1]
	}
	if s.ringLen == s.window {
		old := s.ring[s.ringStart]
		s.counts[old]--
		s.ring[s.ringStart] = int32(token)
		s.ringStart = (s.ringStart + 1) % s.window
	} else {
		s.ring[(s.ringStart+s.ringLen)%s.window] = int32(token)
		s.ringLen++
	}
	s.counts[token]++
}

// Sample picks a token from logits (one per vocabulary entry; not
// modified). It does not Accept the token.
func (s *Sampler) Sample(logits []float32) (int, error) {
	n := len(logits)
	if n == 0 {
		return 0, errors.New("sample: no logits")
	}
	if n > math.MaxInt32 {
		return 0, fmt.Errorf("sample: %d logits is more than token ids can address", n)
	}
	s.load(logits)
	if s.opts.Temperature <= 0 {
		// Greedy decoding takes the raw argmax, as llama.cpp's greedy
		// sampler and Ollama's do, so temperature 0 reproduces
		// llama.cpp's tokens whatever the penalty settings.
		return s.argmax(), nil
	}
	s.penalize()
	s.topK(s.opts.TopK)
	s.typical(s.opts.TypicalP)
	s.topP(s.opts.TopP)
	s.minP(s.opts.MinP)
	s.temperature(s.opts.Temperature)
	return s.dist(), nil
}

// load copies logits into the candidate list, NaN as -Inf and +Inf as the
// largest float so that the softmax stays finite.
func (s *Sampler) load(logits []float32) {
	n := len(logits)
	if cap(s.cand) < n {
		s.cand = make([]Token, n)
	}
	s.cand = s.cand[:n]
	for i, l := range logits {
		switch {
		case l != l:
			l = float32(math.Inf(-1))
		case l > math.MaxFloat32:
			l = math.MaxFloat32
		}
		s.cand[i] = Token{ID: int32(i), Logit: l}
	}
	s.sorted = false
}

// penalize applies the repeat, frequency and presence penalties (llama.cpp
// semantics) to every token seen in the window, once per distinct token.
func (s *Sampler) penalize() {
	if s.window == 0 || s.ringLen == 0 {
		return
	}
	n := len(s.cand)
	if len(s.stamp) < n {
		s.stamp = make([]uint32, n)
		s.gen = 0
	}
	s.gen++
	if s.gen == 0 { // wrapped: clear the marks
		clear(s.stamp)
		s.gen = 1
	}
	o := &s.opts
	for i := range s.ringLen {
		id := s.ring[(s.ringStart+i)%s.window]
		if int(id) >= n || s.stamp[id] == s.gen {
			continue
		}
		s.stamp[id] = s.gen
		count := s.counts[id]
		t := &s.cand[id] // the list is still in id order here
		if t.Logit <= 0 {
			t.Logit *= o.RepeatPenalty
		} else {
			t.Logit /= o.RepeatPenalty
		}
		t.Logit -= float32(count)*o.FrequencyPenalty + o.PresencePenalty
	}
}

// argmax returns the id with the highest logit, the lowest id on ties.
func (s *Sampler) argmax() int {
	best := 0
	for i := 1; i < len(s.cand); i++ {
		if s.cand[i].Logit > s.cand[best].Logit {
			best = i
		}
	}
	return int(s.cand[best].ID)
}

// better orders candidates by descending logit, then ascending id, a total
// order so that every sort here is deterministic.
func better(a, b Token) bool {
	return a.Logit > b.Logit || (a.Logit == b.Logit && a.ID < b.ID)
}

func cmpTokens(a, b Token) int {
	switch {
	case better(a, b):
		return -1
	case better(b, a):
		return 1
	}
	return 0
}

// sortAll sorts the candidates best first.
func (s *Sampler) sortAll() {
	if !s.sorted {
		slices.SortFunc(s.cand, cmpTokens)
		s.sorted = true
	}
}

// selectTop moves the k best candidates, sorted, to the front of c (the
// rest follow in no particular order), in place. Small k use a heap
// (O(n log k), one comparison per element in the common case); larger k a
// quickselect (O(n) on average) that falls back to a full sort if its
// pivots keep going wrong.
func selectTop(c []Token, k int) {
	if k >= len(c) {
		slices.SortFunc(c, cmpTokens)
		return
	}
	if k <= 0 {
		return
	}
	if k > 128 {
		if !quickselect(c, k) {
			slices.SortFunc(c, cmpTokens)
			return
		}
		slices.SortFunc(c[:k], cmpTokens)
		return
	}
	h := c[:k]
	// A heap with the worst of the current top k at the root.
	for i := k/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := k; i < len(c); i++ {
		if better(c[i], h[0]) {
			h[0], c[i] = c[i], h[0]
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, cmpTokens)
}

// quickselect partitions c so that its k best elements come first (in no
// order). The order is total (ids break ties), so no two elements compare
// equal. It reports false if it gave up after too many rounds.
func quickselect(c []Token, k int) bool {
	lo, hi := 0, len(c) // the k-th best lies in c[lo:hi]
	for rounds := 0; hi-lo > 1; rounds++ {
		if rounds > 64 {
			return false
		}
		// Median of three as the pivot, moved to the end.
		mid := lo + (hi-lo)/2
		a, b, z := lo, mid, hi-1
		if better(c[b], c[a]) {
			a, b = b, a
		}
		if better(c[z], c[b]) {
			b = z
			if better(c[b], c[a]) {
				b = a
			}
		}
		c[b], c[hi-1] = c[hi-1], c[b]
		pivot := c[hi-1]
		store := lo
		for i := lo; i < hi-1; i++ {
			if better(c[i], pivot) {
				c[i], c[store] = c[store], c[i]
				store++
			}
		}
		c[store], c[hi-1] = c[hi-1], c[store]
		// c[lo:store] beat the pivot, which sits at store.
		switch {
		case store == k || store == k-1:
			return true
		case store > k:
			hi = store
		default:
			lo = store + 1
		}
	}
	return true
}

func siftDown(h []Token, i int) {
	for {
		worst := i
		l, r := 2*i+1, 2*i+2
		if l < len(h) && better(h[worst], h[l]) {
			worst = l
		}
		if r < len(h) && better(h[worst], h[r]) {
			worst = r
		}
		if worst == i {
			return
		}
		h[i], h[worst] = h[worst], h[i]
		i = worst
	}
}

// topK keeps the k best candidates (k <= 0: no-op). Like llama.cpp it
// leaves the list sorted even when k covers all of it.
func (s *Sampler) topK(k int) {
	if k <= 0 {
		return
	}
	k = min(k, len(s.cand))
	if !s.sorted {
		selectTop(s.cand, k)
		s.sorted = true
	}
	s.cand = s.cand[:k]
}

// softmax sets P from the logits (float32 arithmetic as in llama.cpp),
// sorting first if asked to.
func (s *Sampler) softmax(sortFirst bool) {
	if sortFirst {
		s.sortAll()
	}
	maxL := s.maxLogit()
	var sum float32
	for i := range s.cand {
		p := exp32(s.cand[i].Logit - maxL)
		s.cand[i].P = p
		sum += p
	}
	for i := range s.cand {
		s.cand[i].P /= sum
	}
}

func (s *Sampler) maxLogit() float32 {
	if s.sorted {
		return s.cand[0].Logit
	}
	m := s.cand[0].Logit
	for _, t := range s.cand[1:] {
		m = max(m, t.Logit)
	}
	return m
}

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }
func log32(x float32) float32 { return float32(math.Log(float64(x))) }

// typical keeps the locally typical tokens (Meister et al. 2022): those
// whose information content -log p is closest to the distribution's
// entropy, until their probabilities sum past p. The survivors are left in
// that order, not by logit.
func (s *Sampler) typical(p float32) {
	if p >= 1 || len(s.cand) == 0 {
		return
	}
	s.softmax(true)
	var entropy float32
	for _, t := range s.cand {
		if t.P > 0 {
			entropy -= t.P * log32(t.P)
		}
	}
	n := len(s.cand)
	if cap(s.typ) < n {
		s.typ = make([]typEntry, n)
	}
	s.typ = s.typ[:n]
	for i, t := range s.cand {
		s.typ[i] = typEntry{score: float32(math.Abs(float64(-log32(t.P) - entropy))), idx: int32(i)}
	}
	slices.SortFunc(s.typ, func(a, b typEntry) int {
		switch {
		case a.score < b.score:
			return -1
		case a.score > b.score:
			return 1
		}
		return int(a.idx - b.idx)
	})
	last := n
	var cum float32
	for i, e := range s.typ {
		cum += s.cand[e.idx].P
		if cum > p && (s.opts.MinKeep == 0 || i >= s.opts.MinKeep-1) {
			last = i + 1
			break
		}
	}
	if cap(s.scratch) < n {
		s.scratch = make([]Token, n)
	}
	s.scratch = s.scratch[:last]
	for i, e := range s.typ[:last] {
		s.scratch[i] = s.cand[e.idx]
	}
	s.cand = s.cand[:last]
	copy(s.cand, s.scratch)
	s.sorted = false
}

// topP keeps the most likely tokens until their probabilities reach p
// (nucleus sampling), at least MinKeep of them.
func (s *Sampler) topP(p float32) {
	if p >= 1 || len(s.cand) == 0 {
		return
	}
	s.softmax(false)
	// Like llama.cpp, a large unsorted list is not sorted whole at once:
	// the best 256 are selected first and, while they do not reach p, the
	// selection grows fourfold. The outcome is the same as sorting
	// everything, since the order is total.
	n := len(s.cand)
	k := n
	if !s.sorted && n > 1024 {
		k = 256
	}
	for {
		if !s.sorted {
			selectTop(s.cand, k) // k == n sorts everything
		}
		var cum float32
		for i := range k {
			cum += s.cand[i].P
			if cum >= p && i+1 >= s.opts.MinKeep {
				s.cand = s.cand[:i+1]
				s.sorted = true
				return
			}
		}
		if k == n {
			s.sorted = true
			return
		}
		k = min(4*k, n)
	}
}

// minP drops tokens whose probability is below p times the top one's,
// keeping at least MinKeep.
func (s *Sampler) minP(p float32) {
	if p <= 0 || len(s.cand) == 0 {
		return
	}
	if !s.sorted {
		// Filter in place, keeping the current order, if that leaves
		// enough tokens.
		minLogit := s.maxLogit() + log32(p)
		kept := 0
		for _, t := range s.cand {
			if t.Logit >= minLogit {
				kept++
			}
		}
		if kept > 0 && kept >= s.opts.MinKeep {
			j := 0
			for _, t := range s.cand {
				if t.Logit >= minLogit {
					s.cand[j] = t
					j++
				}
			}
			s.cand = s.cand[:j]
			return
		}
		s.sortAll()
	}
	minLogit := s.cand[0].Logit + log32(p)
	i := 1
	for ; i < len(s.cand); i++ {
		if s.cand[i].Logit < minLogit && i >= s.opts.MinKeep {
			break
		}
	}
	s.cand = s.cand[:i]
}

// temperature divides the logits by t (> 0).
func (s *Sampler) temperature(t float32) {
	for i := range s.cand {
		s.cand[i].Logit /= t
	}
}

// dist draws a token from the softmax of the remaining candidates exactly
// as llama.cpp's dist sampler does: probabilities in float32, summed in
// float64, one uniform draw scaled by the sum, and the first candidate (in
// the list's current order) whose running sum reaches it wins. The draw is
// made even when one candidate is left, to keep the generator in step.
func (s *Sampler) dist() int {
	u := s.rng.Float64()
	if len(s.cand) == 1 {
		return int(s.cand[0].ID)
	}
	maxL := s.maxLogit()
	var sum float64
	for i := range s.cand {
		p := exp32(s.cand[i].Logit - maxL)
		s.cand[i].P = p
		sum += float64(p)
	}
	if !(sum > 0) || math.IsInf(sum, 0) {
		// Every logit is -Inf: nothing is more likely than the first.
		return int(s.cand[0].ID)
	}
	target := sum * u
	var run float64
	for i := range s.cand {
		run += float64(s.cand[i].P)
		if run >= target {
			return int(s.cand[i].ID)
		}
	}
	return int(s.cand[len(s.cand)-1].ID)
}
