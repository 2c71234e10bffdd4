//go:build amd64

package tensor

import "golang.org/x/sys/cpu"

// hasGEMM reports whether the AVX-512 VNNI GEMM kernels can run: they use
// 512-bit integer and float instructions (AVX512F/BW/VL), VPDPBUSD
// (AVX512_VNNI) and F16C-style half conversion of zmm registers (AVX512F).
var hasGEMM = hasAVX512 && cpu.X86.HasAVX512VNNI && hasAVX2

//go:noescape
func gemmQ4_0VNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)

//go:noescape
func gemmU8VNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ4_KVNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)

//go:noescape
func gemmQ6_KVNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)

//go:noescape
func gemmH16x4x5(w *byte, ws int, a *float32, as int, n32 int, out *float32, os int, acc *float32, mode int)

// gemmF16Tile is the f16TileFunc on gemmH16x4x5: half 0 of the lanes
// (saved), then half 1 (saved, or reduced with half 0 on the last chunk).
func gemmF16Tile(w *byte, ws int, a *float32, as int, n32 int, out *float32, os int, acc *float32, mode int) {
	load := mode & 1
	gemmH16x4x5(w, ws, a, as, n32, nil, 0, acc, load|2)
	if mode&2 == 0 {
		gemmH16x4x5(w, ws, a, as, n32, nil, 0, acc, 16|load|2)
		return
	}
	gemmH16x4x5(w, ws, a, as, n32, out, os, acc, 16|load|4|(mode>>2&1)<<3)
}

//go:noescape
func f16ToF32x16(dst *float32, src *byte, n int)

// f16ToF32Fast is f16ToF32Rows with VCVTPH2PS for whole groups of 16.
func f16ToF32Fast(dst []float32, src []byte) {
	m := len(dst) &^ 15
	if m > 0 {
		_ = src[2*m-1]
		f16ToF32x16(&dst[0], &src[0], m)
	}
	f16ToF32Rows(dst[m:], src[2*m:])
}

//go:noescape
func repackQ4_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)

//go:noescape
func repackQ8_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)

//go:noescape
func repackQ4_KGather(dst *byte, src *byte, rowBytes int, nb int, mask int)

//go:noescape
func repackQ5_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)

//go:noescape
func repackQ6_KGather(dst *byte, src *byte, rowBytes int, nb int, mask int)

// gatherRepack wraps a gather-based repacking kernel (tile bytes per
// block, wsz weight bytes per block) as a gemmKernel.repack, falling back
// to slow when the row offsets do not fit the gathers' int32 indices. The
// missing rows of a partial group come out zero, as from slow.
func gatherRepack(kernel func(dst, src *byte, rowBytes, nb, mask int), tile, wsz int,
	slow func(dst, w []byte, rowBytes, rows, nb int)) func(dst, w []byte, rowBytes, rows, nb int) {
	return func(dst, w []byte, rowBytes, rows, nb int) {
		if rows <= 0 || nb <= 0 || rowBytes > (1<<31-1)/gemmRows {
			slow(dst, w, rowBytes, rows, nb)
			return
		}
		_, _ = dst[nb*tile-1], w[(rows-1)*rowBytes+nb*wsz-1]
		kernel(&dst[0], &w[0], rowBytes, nb, 1<<rows-1)
	}
}

func init() {
	if !hasGEMM {
		return
	}
	simdGemmKernels[Q4_0] = &gemmKernel{
		elems: 32, wsz: 18, asz: 34, tile: 288, sideSize: 64, minTokens: 8,
		repack: gatherRepack(repackQ4_0Gather, 288, 18, repackQ4_0), side: sideQ8_0(8), call: gemmQ4_0VNNI,
	}
	simdGemmKernels[Q8_0] = &gemmKernel{
		elems: 32, wsz: 34, asz: 34, tile: u8Tile, sideSize: 64, minTokens: 8,
		repack: gatherRepack(repackQ8_0Gather, u8Tile, 34, repackQ8_0), side: sideQ8_0(128), call: gemmU8VNNI,
	}
	simdGemmKernels[Q5_0] = &gemmKernel{
		elems: 32, wsz: 22, asz: 34, tile: u8Tile, sideSize: 64, minTokens: 8,
		repack: gatherRepack(repackQ5_0Gather, u8Tile, 22, repackQ5_0), side: sideQ8_0(16), call: gemmU8VNNI,
	}
	simdGemmKernels[Q4_K] = &gemmKernel{
		elems: QK_K, wsz: 144, asz: 292, tile: q4KTile, sideSize: 160, minTokens: 12,
		repack: gatherRepack(repackQ4_KGather, q4KTile, 144, repackQ4_K), side: sideQ4_K, call: gemmQ4_KVNNI,
	}
	simdGemmKernels[Q6_K] = &gemmKernel{
		elems: QK_K, wsz: 210, asz: 292, tile: q6KTile, sideSize: 288, minTokens: 8,
		repack: gatherRepack(repackQ6_KGather, q6KTile, 210, repackQ6_K), side: sideQ6_K, call: gemmQ6_KVNNI,
	}
	simdF16Tile = gemmF16Tile
	simdF16Convert = f16ToF32Fast
	if simdDisabled() {
		return
	}
	for t, k := range simdGemmKernels {
		gemmKernels[t] = k
	}
	f16Tile, f16Convert = simdF16Tile, simdF16Convert
}
