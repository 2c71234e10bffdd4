//go:build !linux

package tensor

import "testing"

// threadCPUTime is unavailable here; see dot512_linux_test.go.
func threadCPUTime() (ns int64, ok bool) { return 0, false }

// guardedBuffer returns a plain buffer here (no guard page); see
// dot512_linux_test.go.
func guardedBuffer(t *testing.T, n int) (buf []byte, free func()) {
	return make([]byte, n), func() {}
}
