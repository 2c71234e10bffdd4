//go:build amd64

package tensor

// AVX-512 + VNNI kernels (dot512_amd64.s). They need AVX-512 F, BW and
// VL, VBMI (VPERMB) and AVX512-VNNI (VPDPBUSD, VPDPWSSD on zmm), all
// present on Intel Ice Lake and later and AMD Zen 4 and later; on such CPUs
// they replace the AVX2 kernels of the same role (KernelSet "avx512vnni").
//
//   - Eight-row kernels for Q4_0, Q5_0, Q8_0 and IQ4_NL compute the same
//     per-row arithmetic as the AVX2 kernels (exact int32 block sums, then
//     acc = fma(sum, dx·dy, acc) block by block), so the two sets give
//     bit-identical results and the AVX2 four-, two- and one-row kernels
//     finish the rows an eight-row group leaves.
//   - A Q8_0 row kernel (the rows an eight-row group leaves, and single
//     dots) is bit-identical to the AVX2 one.
//   - Row kernels for Q4_K, Q5_K and Q6_K (used for every row, and as the
//     single-row kernels) accumulate float lanes in their own order, so
//     they match the AVX2 ones within the portable comparison's tolerance,
//     not bit for bit.
//
// F16 has its own zmm row kernel in f16_amd64.s, bit-identical to the AVX2
// one (same 32 lanes, same final reduction) with a short prefetch; a
// four-row kernel sharing the activation conversions streamed slower than
// one sequential row.
//
// GOLEM_NO_AVX512=1 keeps the AVX2 kernels on such CPUs (to compare the
// two); GOLEM_NO_SIMD=1 turns both off.

//go:noescape
func dotQ4_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ5_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ8_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotIQ4_NLx8AVX512(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ8_0RowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ4_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ5_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ6_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)

// hasAVX512VNNI reports whether the CPU has everything the AVX-512
// kernels use.
var hasAVX512VNNI = hasAVX2 && hasAVX512 && hasVBMI && hasVNNI512

// simd512Available reports whether the CPU can run the AVX-512 kernels.
func simd512Available() bool { return hasAVX512VNNI }

// use512 selects the AVX-512 kernels in asmGroup and asmRows; fixed at
// start-up (tests switch it to compare the two sets).
var use512 = hasAVX512VNNI && !simdDisabled() && !envSet("GOLEM_NO_AVX512")

// asmGroup512 calls t's AVX-512 g-row kernel and reports whether there is
// one.
func asmGroup512(t Type, g int, x *byte, stride int, y *byte, nb int, out *float32) bool {
	if g != 8 {
		return false
	}
	switch t {
	case Q4_0:
		dotQ4_0x8AVX512(x, stride, y, nb, out)
	case Q5_0:
		dotQ5_0x8AVX512(x, stride, y, nb, out)
	case Q8_0:
		dotQ8_0x8AVX512(x, stride, y, nb, out)
	case IQ4_NL:
		dotIQ4_NLx8AVX512(x, stride, y, nb, out)
	default:
		return false
	}
	return true
}

// asmRows512 calls t's AVX-512 row kernel and reports whether there is
// one. The Q8_0 one is bit-identical to the AVX2 row kernel; the others
// sum float lanes in their own order, so their results match the AVX2 ones
// only within the tolerance of the portable comparison.
func asmRows512(t Type, x *byte, stride int, y *byte, nb int, out *float32, rows int) bool {
	switch t {
	case Q8_0:
		dotQ8_0RowsAVX512(x, stride, y, nb, out, rows)
	case Q4_K:
		dotQ4_KRowsAVX512(x, stride, y, nb, out, rows)
	case Q5_K:
		dotQ5_KRowsAVX512(x, stride, y, nb, out, rows)
	case Q6_K:
		dotQ6_KRowsAVX512(x, stride, y, nb, out, rows)
	default:
		return false
	}
	return true
}
