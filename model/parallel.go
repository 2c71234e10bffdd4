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

// mulTask computes y (n × rows) = x (n × cols) · Wᵀ from activations
// already quantized once into act. Parts split the weight rows, so each
// worker streams its own slice of W once for the whole batch.
type mulTask struct {
	w   *weight
	act []byte
	y   []float32
	n   int
}

func (j *mulTask) run(part, parts int) {
	w := j.w
	r0, r1 := span(w.rows, part, parts)
	if err := tensor.MatMulRows(w.typ, w.data, w.cols, r0, r1, j.act, j.n, j.y, w.rows); err != nil {
		panic(err) // shapes were checked at load; this is a bug
	}
}

// mul sets y (n × rows) = x (n × cols) · Wᵀ, in parallel when large.
func (m *decoder) mul(w *weight, x, y []float32, n int) {
	size, err := tensor.ActivationRowSize(w.typ, w.cols)
	if err != nil {
		panic(err) // checked at load
	}
	if cap(m.s.act) < n*size {
		m.s.act = make([]byte, n*size)
	}
	act := m.s.act[:n*size]
	if err := tensor.QuantizeActivations(w.typ, x, n, w.cols, act); err != nil {
		panic(err)
	}
	m.mt = mulTask{w: w, act: act, y: y[:n*w.rows], n: n}
	units := w.rows
	if w.rows*w.cols*n < minParallelWork {
		units = 1
	}
	runParallel(&m.mt, units, &m.wg)
}
