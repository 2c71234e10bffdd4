//go:build !amd64

package tensor

import "testing"

// forKernelSets runs f once: there is one kernel set here (see
// dot512_amd64_test.go).
func forKernelSets(t *testing.T, f func(t *testing.T)) { f(t) }
