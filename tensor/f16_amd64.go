//go:build amd64

package tensor

// dotF16RowsAVX512 is dotF16RowsAVX2 (same arguments, bit-identical
// results) on 512-bit registers, with software prefetch of the weight
// rows; asmRows uses it when the AVX-512 kernels are enabled (use512).
//
//go:noescape
func dotF16RowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
