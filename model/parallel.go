package model

import (
	"runtime"
	"sync"
	"sync/atomic"

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

type job struct {
	t           task
	part, parts int
	wg          *sync.WaitGroup
}

var (
	workersOnce sync.Once
	jobs        chan job
	nWorkers    int
)

func startWorkers() {
	nWorkers = runtime.GOMAXPROCS(0) - 1
	jobs = make(chan job, 4*max(nWorkers, 1))
	for i := 0; i < nWorkers; i++ {
		go func() {
			for j := range jobs {
				j.t.run(j.part, j.parts)
				j.wg.Done()
			}
		}()
	}
}

// runParallel runs t in up to maxParts parts (at most one per CPU), the
// first on the calling goroutine, and waits for all of them. wg is the
// caller's, reused so that nothing is allocated per call. Workers never
// call runParallel themselves, so this cannot deadlock.
func runParallel(t task, maxParts int, wg *sync.WaitGroup) {
	workersOnce.Do(startWorkers)
	parts := min(maxParts, nWorkers+1)
	if n := int(threads.Load()); n > 0 {
		parts = min(parts, n)
	}
	if parts <= 1 {
		t.run(0, 1)
		return
	}
	wg.Add(parts - 1)
	for p := 1; p < parts; p++ {
		jobs <- job{t: t, part: p, parts: parts, wg: wg}
	}
	t.run(0, parts)
	wg.Wait()
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
// quantized once per activation type. The parts split the matrices' rows
// taken together, weighted by their bytes, so one dispatch (one wake-up
// and one barrier) covers the Q, K and V projections, or gate and up,
// and every worker streams its own slice of the weights once for the
// whole batch.
type mulTask struct {
	w     [maxFused]*weight
	act   [maxFused][]byte
	y     [maxFused][]float32
	bytes [maxFused]int // row size of each matrix
	nw    int           // matrices in use
	total int           // bytes of all matrices
	n     int
}

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

func (j *mulTask) run(part, parts int) {
	b0, b1 := span(j.total, part, parts)
	off := 0
	for i := 0; i < j.nw; i++ {
		w := j.w[i]
		r0, r1 := j.rowAt(i, off, b0), j.rowAt(i, off, b1)
		if part == parts-1 {
			r1 = w.rows
		}
		if r0 < r1 {
			if err := tensor.MatMulRows(w.typ, w.data, w.cols, r0, r1, j.act[i], j.n, j.y[i], w.rows); err != nil {
				panic(err) // shapes were checked at load; this is a bug
			}
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
	*t = mulTask{n: n}
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
		t.total += p.w.rows * int(rb)
		work += p.w.rows * p.w.cols * n
		t.nw++
	}
	units := t.total
	if work < minParallelWork {
		units = 1
	}
	runParallel(t, units, &m.wg)
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
