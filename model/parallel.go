package model

import (
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golem/tensor"
)

// Matrix products and attention are split into parts run by a fixed set
// of worker goroutines, so decoding uses every core without allocating per
// token. Each part computes exactly what a serial loop would, so results
// do not depend on the number of CPUs.

// minParallelWork is the number of multiply-adds below which work runs on
// the calling goroutine.
const minParallelWork = 1 << 16

// task is work that can be split into parts.
type task interface {
	run(part, parts int)
}

// preparer is a task that must know its number of parts before any part
// runs.
type preparer interface {
	prepare(parts int)
}

// Dispatch publishes the task through a generation counter rather than a
// job channel: a decode step issues over a hundred short parallel
// products back to back, and waking a parked goroutine for each one costs
// tens of microseconds (often the parts then run one after the other). Worker k runs part
// k of every generation that has more than k parts. After finishing, a
// worker spins on the counter for up to spinWindow before parking, so the
// next dispatch of the same token finds it awake (llama.cpp's threads spin
// at their barriers the same way), while an idle process parks its
// workers and burns no CPU. The caller likewise spins, then blocks, while
// it waits for the other parts.
//
// Spinning only pays when every thread has a core of its own. When the
// machine is oversubscribed, a spinner mostly waits for a thread that
// the kernel has descheduled, often the one it shares a core with, and a
// dispatch costs whole spin windows instead of a wake-up. So each waiter
// backs off: after a spin that ran out, it blocks straight away for its
// next few waits, more of them after each further miss, and a successful
// spin halves the backoff again.

// spinWindow is how long a waiter polls before blocking.
const spinWindow = 50 * time.Microsecond

// spinOff, set by GOLEM_NO_SPIN=1, makes every waiter block at once, to
// compare against spinning or to leave a shared machine's cores alone.
var spinOff = func() bool { v := os.Getenv("GOLEM_NO_SPIN"); return v != "" && v != "0" }()

// Backoff bounds, in waits: the first miss skips minBackoff spins, each
// further miss doubles that, up to maxBackoff.
const (
	minBackoff = 8
	maxBackoff = 1024
)

// spinner decides whether a waiter spins, and spins.
type spinner struct {
	skip    int // waits left that block without spinning
	backoff int // skip to set on the next miss / 2
}

// spin polls ready for up to spinWindow, unless backing off, and reports
// whether it became true. The caller blocks when it did not.
func (s *spinner) spin(ready func() bool) bool {
	if spinOff {
		return ready()
	}
	if s.skip > 0 {
		s.skip--
		return ready()
	}
	deadline := time.Now().Add(spinWindow)
	for i := 1; ; i++ {
		if ready() {
			s.backoff /= 2
			return true
		}
		if i%256 != 0 {
			continue
		}
		if time.Now().After(deadline) {
			s.backoff = min(max(2*s.backoff, minBackoff), maxBackoff)
			s.skip = s.backoff
			return false
		}
		// Let a goroutine queued on this thread run: a woken worker or
		// caller is queued on the waker's thread, and would otherwise
		// wait for the whole window.
		runtime.Gosched()
	}
}

// worker is the parking state of one worker goroutine.
type worker struct {
	parked atomic.Bool   // set while the worker is (about to be) blocked on wake
	wake   chan struct{} // one token per unpark, buffered so senders never block
	spin   spinner
}

var (
	workersOnce sync.Once
	nWorkers    int
	workers     []*worker

	dispatchMu sync.Mutex // one dispatch at a time; held by the caller until all parts finish
	// gen holds a dispatch counter above partsBits and the dispatch's
	// number of parts below, so workers that are not needed never read
	// cur. It changes once per dispatch, after cur is set.
	gen     atomic.Uint64
	pending atomic.Int32 // parts still running on workers
	waiting atomic.Bool  // set while the caller is (about to be) blocked on done
	done    = make(chan struct{}, 1)
	cur     task    // the current dispatch's task, written under dispatchMu
	waitSp  spinner // the caller's, used under dispatchMu
)

// partsBits is the width of the parts field of gen.
const (
	partsBits = 16
	partsMask = 1<<partsBits - 1
)

func startWorkers() {
	nWorkers = min(runtime.GOMAXPROCS(0), partsMask) - 1
	workers = make([]*worker, nWorkers)
	for i := range workers {
		w := &worker{wake: make(chan struct{}, 1)}
		workers[i] = w
		go w.loop(i+1, gen.Load())
	}
}

// loop runs part k of each dispatch that has more than k parts, starting
// after generation seen.
func (w *worker) loop(k int, seen uint64) {
	for {
		g := w.await(seen)
		seen = g
		// A dispatch with more than k parts cannot finish without this
		// worker, so its caller still holds dispatchMu and cur is stable;
		// cur is read only then.
		if parts := int(g & partsMask); k < parts {
			cur.run(k, parts)
			if pending.Add(-1) == 0 && waiting.Load() && waiting.CompareAndSwap(true, false) {
				done <- struct{}{}
			}
		}
	}
}

// await returns the first generation after seen, spinning first (see
// spinner) and then parking until a dispatcher wakes the worker.
func (w *worker) await(seen uint64) uint64 {
	var g uint64
	changed := func() bool { g = gen.Load(); return g != seen }
	for {
		if w.spin.spin(changed) {
			return g
		}
		// Announce the park, then look once more so that a dispatch
		// published before the announcement is not missed. If the
		// dispatcher already claimed the flag it has sent (or will send)
		// a token, which must be consumed to keep the channel balanced.
		w.parked.Store(true)
		if changed() {
			if !w.parked.CompareAndSwap(true, false) {
				<-w.wake
			}
			return g
		}
		<-w.wake
	}
}

// waitParts returns when every worker's part of the current dispatch has
// finished: it spins (see spinner), then blocks, so that a worker that
// is still waking up (and may be queued on this thread) can run.
func waitParts() {
	if waitSp.spin(func() bool { return pending.Load() == 0 }) {
		return
	}
	// Same handshake as a parking worker: announce, then look again; a
	// worker sends a token only if it claims the flag. The token can come
	// from a worker that finished the previous dispatch's part just
	// before this dispatch began (it saw pending reach zero then, and the
	// flag set now), so a wake-up only means: look again.
	for {
		waiting.Store(true)
		if pending.Load() == 0 {
			if !waiting.CompareAndSwap(true, false) {
				<-done
			}
			return
		}
		<-done
		if pending.Load() == 0 {
			return
		}
	}
}

// runParallel runs t in up to maxParts parts (at most one per CPU), the
// first on the calling goroutine, and waits for all of them (completion is
// an atomic counter). Workers never call runParallel themselves, so this
// cannot deadlock; concurrent callers take turns.
func runParallel(t task, maxParts int) {
	workersOnce.Do(startWorkers)
	parts := min(maxParts, nWorkers+1)
	if n := int(threads.Load()); n > 0 {
		parts = min(parts, n)
	}
	parts = max(parts, 1)
	if p, ok := t.(preparer); ok {
		p.prepare(parts)
	}
	if parts == 1 {
		t.run(0, 1)
		return
	}
	dispatchMu.Lock()
	cur = t
	pending.Store(int32(parts - 1))
	gen.Store((gen.Load()>>partsBits+1)<<partsBits | uint64(parts))
	for _, w := range workers[:parts-1] {
		if w.parked.Load() && w.parked.CompareAndSwap(true, false) {
			w.wake <- struct{}{}
		}
	}
	t.run(0, parts)
	waitParts()
	cur = nil
	dispatchMu.Unlock()
}

// threads caps the parts work is split into (0: one per CPU).
var threads atomic.Int32

// SetThreads sets how many threads matrix products and attention use
// (Ollama's num_thread); n <= 0 means one per CPU (GOMAXPROCS). More
// threads than GOMAXPROCS are not used.
func SetThreads(n int) { threads.Store(int32(max(n, 0))) }

// Threads returns the number of threads work is split into.
func Threads() int {
	workersOnce.Do(startWorkers)
	if n := int(threads.Load()); n > 0 {
		return min(n, nWorkers+1)
	}
	return nWorkers + 1
}

// span returns the half-open range of part p when n units are split into parts.
func span(n, p, parts int) (int, int) { return n * p / parts, n * (p + 1) / parts }

// maxFused is the most weight matrices one mulTask multiplies (Q, K, V).
const maxFused = 3

// mulTask computes y_i (n × rows_i) = x (n × cols) · W_iᵀ for up to
// maxFused matrices sharing the input x, from activations already
// quantized once per activation type, so one dispatch (one wake-up and
// one barrier) covers the Q, K and V projections, or gate and up.
//
// Small batches (decoding) are cut into chunks of about chunkBytes of
// weights at fixed row boundaries. Each part owns a contiguous run of
// chunks, which it streams front to back, and when its run is done it
// steals chunks from the back of the others' runs. Each thread so reads
// one long sequential stream (two threads streaming a whole file did 54
// GB/s that way against 46 taking turns at neighbouring chunks, as
// llama.cpp's threads do), and a part whose core was busy with
// something else, or a worker that woke late, costs at most a chunk
// instead of holding every other thread at the barrier. Which part
// computes a row never changes its value, since a chunk is computed the
// same way by any part.
//
// Batches of dynChunkMaxN tokens or more (prompts) split the matrices'
// rows taken together into one slice per part, weighted by their bytes,
// so every worker streams its slice of the weights once for the whole
// batch with the GEMM kernels.
type mulTask struct {
	w      [maxFused]*weight
	act    [maxFused][]byte
	y      [maxFused][]float32
	bytes  [maxFused]int // row size of each matrix
	chunk  [maxFused]int // rows per chunk of each matrix (small batches)
	chunks [maxFused]int // chunks of each matrix
	nw     int           // matrices in use
	total  int           // bytes of all matrices
	n      int
	runs   []chunkRun // each part's chunks still to do (small batches)
}

// chunkRun holds a part's remaining chunks [lo, hi) as lo<<32 | hi: the
// owner takes lo, thieves take hi-1. It fills a cache line so that parts
// taking their own chunks do not contend.
type chunkRun struct {
	v atomic.Uint64
	_ [56]byte
}

// take claims the first (or, for a thief, the last) chunk of the run.
func (r *chunkRun) take(thief bool) (int, bool) {
	for {
		v := r.v.Load()
		lo, hi := int(v>>32), int(uint32(v))
		if lo >= hi {
			return 0, false
		}
		next, c := uint64(lo+1)<<32|uint64(hi), lo
		if thief {
			next, c = uint64(lo)<<32|uint64(hi-1), hi-1
		}
		if r.v.CompareAndSwap(v, next) {
			return c, true
		}
	}
}

// prepare splits the chunks into one run per part before the parts start.
func (j *mulTask) prepare(parts int) {
	if j.n >= dynChunkMaxN {
		return
	}
	if cap(j.runs) < parts {
		j.runs = make([]chunkRun, parts)
	}
	j.runs = j.runs[:parts]
	total := 0
	for i := 0; i < j.nw; i++ {
		total += j.chunks[i]
	}
	for p := range j.runs {
		lo, hi := span(total, p, parts)
		j.runs[p].v.Store(uint64(lo)<<32 | uint64(hi))
	}
}

// runChunks computes chunks until none are left: part's own run first,
// then the backs of the other parts' runs.
func (j *mulTask) runChunks(part, parts int) {
	for k := 0; k < parts; k++ {
		r := &j.runs[(part+k)%parts]
		for {
			c, ok := r.take(k > 0)
			if !ok {
				break
			}
			i := 0
			for c >= j.chunks[i] {
				c -= j.chunks[i]
				i++
			}
			r0 := c * j.chunk[i]
			j.rows(i, r0, min(r0+j.chunk[i], j.w[i].rows))
		}
	}
}

// Chunking of small batches: chunks hold about chunkBytes of weights
// (64 rows of a 2048-wide F16 matrix, llama.cpp's decode chunk), in
// whole groups of 8 rows for the multi-row kernels.
const (
	chunkBytes   = 256 << 10
	dynChunkMaxN = 8
)

// rowAt returns the row of matrix i where the part boundary at byte b of
// the concatenated matrices falls, rounded to a multiple of 8 rows so the
// multi-row kernels get whole groups. Boundaries are monotone in b, so
// neighbouring parts share them and the parts cover every row once.
func (j *mulTask) rowAt(i, off, b int) int {
	rows := j.w[i].rows
	if b <= off {
		return 0
	}
	r := (b - off) / j.bytes[i]
	r = (r + 4) &^ 7
	return min(r, rows)
}

// rows multiplies rows [r0, r1) of matrix i.
func (j *mulTask) rows(i, r0, r1 int) {
	w := j.w[i]
	if err := tensor.MatMulRows(w.typ, w.data, w.cols, r0, r1, j.act[i], j.n, j.y[i], w.rows); err != nil {
		panic(err) // shapes were checked at load; this is a bug
	}
}

func (j *mulTask) run(part, parts int) {
	if j.n < dynChunkMaxN {
		j.runChunks(part, parts)
		return
	}
	b0, b1 := span(j.total, part, parts)
	off := 0
	for i := 0; i < j.nw; i++ {
		w := j.w[i]
		r0, r1 := j.rowAt(i, off, b0), j.rowAt(i, off, b1)
		if part == parts-1 {
			r1 = w.rows
		}
		if r0 < r1 {
			j.rows(i, r0, r1)
		}
		off += w.rows * j.bytes[i]
	}
}

// mul sets y (n × rows) = x (n × cols) · Wᵀ, in parallel when large.
func (m *decoder) mul(w *weight, x, y []float32, n int) {
	m.mulFused(x, n, w, y, nil, nil, nil, nil)
}

// mulFused sets ya = x·Waᵀ and, for the matrices that are not nil, yb =
// x·Wbᵀ and yc = x·Wcᵀ (all with the same input columns) in one parallel
// dispatch. x is quantized once per activation type.
func (m *decoder) mulFused(x []float32, n int, wa *weight, ya []float32, wb *weight, yb []float32, wc *weight, yc []float32) {
	t := &m.mt
	t.n, t.nw, t.total = n, 0, 0
	work := 0
	for _, p := range [maxFused]struct {
		w *weight
		y []float32
	}{{wa, ya}, {wb, yb}, {wc, yc}} {
		if p.w == nil {
			continue
		}
		i := t.nw
		t.w[i], t.y[i] = p.w, p.y[:n*p.w.rows]
		t.act[i] = m.quantized(i, p.w, x, n)
		rb, _ := p.w.typ.RowSize(int64(p.w.cols))
		t.bytes[i] = int(rb)
		t.chunk[i] = max(chunkBytes/int(rb)&^7, 8)
		t.chunks[i] = (p.w.rows + t.chunk[i] - 1) / t.chunk[i]
		t.total += p.w.rows * int(rb)
		work += p.w.rows * p.w.cols * n
		t.nw++
	}
	units := t.total
	if work < minParallelWork {
		units = 1
	}
	runParallel(t, units)
}

// quantized returns x (n rows) converted to w's activation type in scratch
// slot i, reusing an earlier slot of the same call that holds the same
// type and width.
func (m *decoder) quantized(i int, w *weight, x []float32, n int) []byte {
	at, _ := tensor.VecDotType(w.typ)
	m.s.actType[i], m.s.actCols[i] = at, w.cols
	for k := 0; k < i; k++ {
		if m.s.actType[k] == at && m.s.actCols[k] == w.cols {
			return m.mt.act[k]
		}
	}
	size, err := tensor.ActivationRowSize(w.typ, w.cols)
	if err != nil {
		panic(err) // checked at load
	}
	buf := &m.s.act[i]
	if cap(*buf) < n*size {
		*buf = make([]byte, n*size)
	}
	act := (*buf)[:n*size]
	if err := tensor.QuantizeActivations(w.typ, x, n, w.cols, act); err != nil {
		panic(err)
	}
	return act
}
