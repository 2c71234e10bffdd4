package model

import (
	"runtime"
	"sync"
	"testing"
)

// emptyTask does nothing: runParallel's cost alone.
type emptyTask struct{}

func (emptyTask) run(part, parts int) {}

// BenchmarkRunParallel measures one dispatch and barrier over every
// thread (the per-matrix overhead of a decode step).
func BenchmarkRunParallel(b *testing.B) {
	var wg sync.WaitGroup
	var t emptyTask
	b.Logf("%d threads", runtime.GOMAXPROCS(0))
	for b.Loop() {
		runParallel(t, 64, &wg)
	}
}
