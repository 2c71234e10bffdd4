//go:build linux

package tensor

import (
	"syscall"
	"testing"
)

// threadCPUTime returns the CPU time the calling OS thread has used, in
// nanoseconds, so benchmarks on a shared machine can report throughput per
// CPU second as well as per wall-clock second. ok is false if unavailable.
func threadCPUTime() (ns int64, ok bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		return 0, false
	}
	return ru.Utime.Nano() + ru.Stime.Nano(), true
}

// guardedBuffer returns a buffer of n bytes that ends exactly where an
// inaccessible page begins, so a kernel that reads past the end of its
// input faults instead of passing silently. free unmaps it.
func guardedBuffer(t *testing.T, n int) (buf []byte, free func()) {
	t.Helper()
	page := syscall.Getpagesize()
	pages := (n+page-1)/page + 1
	mem, err := syscall.Mmap(-1, 0, pages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		t.Skipf("mmap: %v", err)
	}
	guard := mem[(pages-1)*page:]
	if err := syscall.Mprotect(guard, syscall.PROT_NONE); err != nil {
		_ = syscall.Munmap(mem)
		t.Skipf("mprotect: %v", err)
	}
	end := (pages - 1) * page
	return mem[end-n : end : end], func() { _ = syscall.Munmap(mem) }
}
