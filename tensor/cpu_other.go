//go:build !amd64

package tensor

// On architectures without assembly kernels every dot product uses the
// portable Go code.

// simdKernels is empty here; see dot_amd64.go.
var simdKernels = map[Type]dotKernel{}

// simdRowKernels is empty here; see dot_amd64.go.
var simdRowKernels = map[Type]rowsKernel{}

// simdName is the active kernel set.
var simdName = "portable"

func cpuFeatures() []string { return nil }

// simdActQuantizers is empty here; see dot_amd64.go.
var simdActQuantizers = map[Type]func(src []float32, dst []byte){}

// simd512Available reports whether the AVX-512 kernels can run: never here.
func simd512Available() bool { return false }
