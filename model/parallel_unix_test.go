//go:build unix

package model

import (
	"syscall"
	"testing"
	"time"
)

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestRunParallelIdleParks checks that workers stop spinning once no work
// comes: an idle process must not burn CPU.
func TestRunParallelIdleParks(t *testing.T) {
	if Threads() < 2 {
		t.Skip("no worker goroutines with one thread")
	}
	for range 1000 {
		runParallel(emptyTask{}, 64)
	}
	time.Sleep(20 * time.Millisecond) // far past spinWindow
	before := cpuTime(t)
	const idle = 300 * time.Millisecond
	time.Sleep(idle)
	// A spinning worker would use about idle per worker.
	if used := cpuTime(t) - before; used > idle/5 {
		t.Fatalf("idle for %v, used %v of CPU", idle, used)
	}
}
