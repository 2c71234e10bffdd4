package model

import (
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// emptyTask does nothing: runParallel's cost alone.
type emptyTask struct{}

func (emptyTask) run(part, parts int) {}

// BenchmarkRunParallel measures one dispatch and barrier over every
// thread (the per-matrix overhead of a decode step).
func BenchmarkRunParallel(b *testing.B) {
	var t emptyTask
	b.Logf("%d threads", runtime.GOMAXPROCS(0))
	for b.Loop() {
		runParallel(t, 64)
	}
}

// countTask counts the runs of each part and checks the parts agree on
// their number.
type countTask struct {
	parts int
	runs  []atomic.Int32
	bad   atomic.Int32
}

func (c *countTask) run(part, parts int) {
	if parts != c.parts || part < 0 || part >= parts {
		c.bad.Add(1)
		return
	}
	c.runs[part].Add(1)
}

// TestRunParallel checks that every part of every dispatch runs exactly
// once, with dispatches back to back (workers spinning), after pauses
// longer than the spin window (workers parked) and from several callers
// at once.
func TestRunParallel(t *testing.T) {
	check := func(t *testing.T, maxParts int, pause time.Duration) {
		t.Helper()
		want := min(maxParts, Threads())
		c := &countTask{parts: want, runs: make([]atomic.Int32, want)}
		runParallel(c, maxParts)
		if c.bad.Load() != 0 {
			t.Fatalf("maxParts %d: %d runs with a wrong part or count", maxParts, c.bad.Load())
		}
		for p := range c.runs {
			if n := c.runs[p].Load(); n != 1 {
				t.Fatalf("maxParts %d: part %d ran %d times", maxParts, p, n)
			}
		}
		time.Sleep(pause)
	}
	for _, tc := range []struct {
		name  string
		pause time.Duration
		n     int
	}{
		{"back to back", 0, 2000},
		{"short pauses", 20 * time.Microsecond, 200},
		{"parked", 200 * time.Microsecond, 50},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for i := range tc.n {
				check(t, 1+i%4, tc.pause)
			}
		})
	}
	t.Run("concurrent callers", func(t *testing.T) {
		var callers sync.WaitGroup
		errs := make(chan string, 4)
		for g := range 4 {
			callers.Add(1)
			go func() {
				defer callers.Done()
				for i := range 500 {
					maxParts := 1 + (i+g)%4
					want := min(maxParts, Threads())
					c := &countTask{parts: want, runs: make([]atomic.Int32, want)}
					runParallel(c, maxParts)
					for p := range c.runs {
						if c.bad.Load() != 0 || c.runs[p].Load() != 1 {
							errs <- "a part did not run exactly once"
							return
						}
					}
				}
			}()
		}
		callers.Wait()
		close(errs)
		for e := range errs {
			t.Fatal(e)
		}
	})
}

// busyTask spins for a fixed time per part, like one small matrix product.
type busyTask struct{ d time.Duration }

func (b busyTask) run(part, parts int) {
	for end := time.Now().Add(b.d); time.Now().Before(end); {
	}
}

// BenchmarkRunParallelWork measures back-to-back dispatches of 20 µs
// parts separated by 2 µs of serial work, the shape of a small model's
// decode step (qwen2.5-0.5b: ~120 dispatches a token).
func BenchmarkRunParallelWork(b *testing.B) {
	t := busyTask{20 * time.Microsecond}
	serial := busyTask{2 * time.Microsecond}
	for b.Loop() {
		runParallel(t, 64)
		serial.run(0, 1)
	}
}

// TestChunkRunsTakeEachOnce has parts take their own chunks and steal
// from the others concurrently, as mulTask.runChunks does, and checks
// that every chunk is taken exactly once.
func TestChunkRunsTakeEachOnce(t *testing.T) {
	for _, tc := range []struct{ chunks, parts int }{{1, 2}, {7, 2}, {100, 3}, {1000, 8}} {
		runs := make([]chunkRun, tc.parts)
		for p := range runs {
			lo, hi := span(tc.chunks, p, tc.parts)
			runs[p].v.Store(uint64(lo)<<32 | uint64(hi))
		}
		taken := make([]atomic.Int32, tc.chunks)
		var wg sync.WaitGroup
		for part := range tc.parts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := range tc.parts {
					r := &runs[(part+k)%tc.parts]
					for {
						c, ok := r.take(k > 0)
						if !ok {
							break
						}
						taken[c].Add(1)
					}
				}
			}()
		}
		wg.Wait()
		for c := range taken {
			if n := taken[c].Load(); n != 1 {
				t.Fatalf("%d chunks, %d parts: chunk %d taken %d times", tc.chunks, tc.parts, c, n)
			}
		}
	}
}
