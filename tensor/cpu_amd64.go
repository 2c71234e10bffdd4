//go:build amd64

package tensor

import "golang.org/x/sys/cpu"

// CPU features the amd64 kernels rely on, read once at start-up. hasAVX2
// covers the whole AVX2 kernel set, which also uses FMA (float
// accumulation) and F16C (half-float scales and F16 rows); the AVX-512
// flags are reported for diagnostics and future kernels.
var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA && cpu.X86.HasF16C
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW && cpu.X86.HasAVX512VL
	hasVNNI   = cpu.X86.HasAVX512VNNI || cpu.X86.HasAVXVNNI
	// hasVNNI512 is VPDPBUSD on zmm registers, hasVBMI byte permutes
	// (VPERMB); the AVX-512 kernels need both.
	hasVNNI512 = cpu.X86.HasAVX512VNNI
	hasVBMI    = cpu.X86.HasAVX512VBMI
)

// simdDisabled reports whether GOLEM_NO_SIMD is set to a non-empty value
// other than "0", which forces the portable Go kernels (for tests and for
// bisecting a numerical difference to the assembly kernels).
func simdDisabled() bool { return envSet("GOLEM_NO_SIMD") }

// cpuFeatures lists the detected vector extensions relevant to the kernels.
func cpuFeatures() []string {
	var f []string
	add := func(ok bool, name string) {
		if ok {
			f = append(f, name)
		}
	}
	add(cpu.X86.HasAVX2, "avx2")
	add(cpu.X86.HasFMA, "fma")
	add(cpu.X86.HasF16C, "f16c")
	add(cpu.X86.HasAVX512F, "avx512f")
	add(cpu.X86.HasAVX512BW, "avx512bw")
	add(cpu.X86.HasAVX512VL, "avx512vl")
	add(cpu.X86.HasAVX512VBMI, "avx512vbmi")
	add(cpu.X86.HasAVX512VNNI, "avx512vnni")
	add(cpu.X86.HasAVXVNNI, "avxvnni")
	return f
}
