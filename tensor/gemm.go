package tensor

import (
	"encoding/binary"
	"math"
	"sync"
)

// Prompt processing multiplies a weight matrix with a batch of activation
// rows (tokens). The row kernels of dotRows would unpack every weight block
// once per token; the GEMM kernels instead work on tiles of gemmRows weight
// rows by gemmCols tokens and unpack each weight block once per tile.
//
// Before a tile row is multiplied, its gemmRows weight rows are repacked
// into a small scratch buffer (one row group at a time, reused for every
// token of the batch, so the cost is spread over n tokens and no copy of
// the whole matrix is ever held; the mapped weights are only read): per
// block the rows' scales side by side, then the quants interleaved four
// bytes per row, so one vector load brings the same four elements of all
// rows and each 32-bit lane belongs to one row. Per token and block, the
// float activation scale and an integer correction (the weight offset
// times the activation sum, e.g. -8·Σy for Q4_0) are computed once per
// call into a side table.
//
// Q4_0, Q5_0 and Q8_0: the integer block sums are exact and each (row,
// token) result is accumulated block by block with one FMA against dx·dy,
// the arithmetic of the row kernels, so a batch gives the same bits as
// one token at a time (TestGEMMMatchesRows checks it). Q4_K and Q6_K sum
// each super-block exactly and then add d·dy·sum (and -dmin·dy·Σ
// min·bsum); their row kernels order the float work differently, so the
// two paths agree to float rounding only. F16 has its own tile kernel,
// bit-identical to the F16 row kernels (gemmF16Range).

// gemmRows and gemmCols are the tile shape of the GEMM kernels: 16 weight
// rows (the int32 lanes of a zmm register) by 8 tokens.
const (
	gemmRows = 16
	gemmCols = 8
)

// f16MinTokens is the smallest batch routed to the F16 GEMM; smaller
// batches (decoding) use the row kernels. The quantized types set theirs
// in gemmKernel.minTokens.
const f16MinTokens = 4

// gemmKernel describes one weight type's GEMM micro-kernel.
type gemmKernel struct {
	elems    int // elements per weight block
	wsz      int // weight bytes per block
	asz      int // activation bytes per block
	tile     int // repacked bytes per block for gemmRows rows
	sideSize int // side-table bytes per block for gemmCols tokens
	// minTokens is the smallest batch worth repacking for: below it the
	// row kernels are faster (2048×2048 weights, measured).
	minTokens int
	// repack writes rows (<= gemmRows) weight rows of nb blocks, rowBytes
	// apart in w, to dst (nb·tile bytes) in the kernel's layout; missing
	// rows are zero.
	repack func(dst, w []byte, rowBytes, rows, nb int)
	// side fills the side table of one group of up to gemmCols tokens
	// (n activation rows actBytes apart) for nb blocks.
	side func(dst, act []byte, actBytes, n, nb int)
	// call runs the micro-kernel over nb blocks: repacked weights w, the
	// gemmCols tokens' activations as bytes apart from a, their side
	// table; token c's gemmRows results go to out + c·os bytes.
	call func(w, a *byte, as int, side *byte, nb int, out *float32, os int)
}

// gemmKernels holds the GEMM kernels in use (filled at start-up by the
// architecture files unless GOLEM_NO_SIMD is set); simdGemmKernels holds
// every GEMM kernel this CPU can run, for tests.
var (
	gemmKernels     = map[Type]*gemmKernel{}
	simdGemmKernels = map[Type]*gemmKernel{}
)

// gemmScratch is the per-call working memory of gemmRange.
type gemmScratch struct {
	side []byte    // side tables, one per token group
	w    []byte    // one repacked row group
	tail []byte    // the last, partial token group's activations, zero-padded
	out  []float32 // one tile of results
}

var gemmPool = sync.Pool{New: func() any { return &gemmScratch{out: make([]float32, gemmRows*gemmCols)} }}

// gemmGrow returns b resized to n bytes, reallocated if too small.
func gemmGrow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n)
	}
	return b[:n]
}

// gemmRange is matMulRange for a batch: it sets y[i*yStride+r] for rows
// [r0, r1) and tokens [0, n) with k's micro-kernel. The caller has checked
// the buffer sizes (as for matMulRange).
func gemmRange(k *gemmKernel, w []byte, rowBytes, cols, r0, r1 int, act []byte, actBytes, n int, y []float32, yStride int) {
	nb := cols / k.elems
	groups := (n + gemmCols - 1) / gemmCols
	sideBytes := nb * k.sideSize
	s := gemmPool.Get().(*gemmScratch)
	s.side = gemmGrow(s.side, groups*sideBytes)
	s.w = gemmGrow(s.w, nb*k.tile)
	for g := 0; g < groups; g++ {
		c0 := g * gemmCols
		k.side(s.side[g*sideBytes:(g+1)*sideBytes], act[c0*actBytes:], actBytes, min(gemmCols, n-c0), nb)
	}
	full := n / gemmCols
	if full < groups {
		s.tail = gemmGrow(s.tail, gemmCols*actBytes)
		clear(s.tail)
		copy(s.tail, act[full*gemmCols*actBytes:n*actBytes])
	}
	out := s.out
	for rg := r0; rg < r1; rg += gemmRows {
		rows := min(gemmRows, r1-rg)
		k.repack(s.w, w[rg*rowBytes:], rowBytes, rows, nb)
		for g := 0; g < groups; g++ {
			c0 := g * gemmCols
			a := act[c0*actBytes:]
			if g == full {
				a = s.tail
			}
			_ = a[(gemmCols-1)*actBytes+nb*k.asz-1]
			if rows == gemmRows && g < full {
				// A whole tile: the kernel stores straight into y.
				_ = y[(c0+gemmCols-1)*yStride+rg+gemmRows-1]
				k.call(&s.w[0], &a[0], actBytes, &s.side[g*sideBytes], nb, &y[c0*yStride+rg], 4*yStride)
				continue
			}
			k.call(&s.w[0], &a[0], actBytes, &s.side[g*sideBytes], nb, &out[0], 4*gemmRows)
			for c := 0; c < min(gemmCols, n-c0); c++ {
				copy(y[(c0+c)*yStride+rg:(c0+c)*yStride+rg+rows], out[c*gemmRows:c*gemmRows+rows])
			}
		}
	}
	gemmPool.Put(s)
}

// repackQ4_0 lays out 16 Q4_0 rows per block as 16 f16 scales (32 bytes),
// then for k = 0..3 quant bytes 4k..4k+3 of each row (64 bytes), 288 bytes:
// the same bytes as the 16 original blocks, reordered.
func repackQ4_0(dst, w []byte, rowBytes, rows, nb int) {
	const tile = 288
	le := binary.LittleEndian
	for r := 0; r < rows; r++ {
		src := w[r*rowBytes : r*rowBytes+nb*18]
		for b := 0; b < nb; b++ {
			s := src[b*18 : b*18+18]
			d := dst[b*tile : b*tile+tile]
			d[2*r], d[2*r+1] = s[0], s[1]
			le.PutUint32(d[32+4*r:], le.Uint32(s[2:]))
			le.PutUint32(d[96+4*r:], le.Uint32(s[6:]))
			le.PutUint32(d[160+4*r:], le.Uint32(s[10:]))
			le.PutUint32(d[224+4*r:], le.Uint32(s[14:]))
		}
	}
	if rows < gemmRows {
		for b := 0; b < nb; b++ {
			d := dst[b*tile : b*tile+tile]
			clear(d[2*rows : 32])
			for k := 0; k < 4; k++ {
				clear(d[32+64*k+4*rows : 32+64*k+64])
			}
		}
	}
}

// The unsigned-byte kernel's layout (repackQ8_0, repackQ5_0): per block
// 16 f16 scales (32 bytes), then for k = 0..7 elements 4k..4k+3 of each
// row as unsigned bytes (64 bytes), 544 bytes. Each value is the quant
// plus a fixed offset that the side table removes.
const u8Tile = 544

// clearRowsU8 zeroes the slots of rows [rows, 16) of nb unsigned-byte
// tiles, so a partial row group multiplies as zero rows.
func clearRowsU8(dst []byte, rows, nb int) {
	if rows == gemmRows {
		return
	}
	for b := 0; b < nb; b++ {
		d := dst[b*u8Tile : b*u8Tile+u8Tile]
		clear(d[2*rows : 32])
		for k := 0; k < 8; k++ {
			clear(d[32+64*k+4*rows : 32+64*k+64])
		}
	}
}

// repackQ8_0 stores Q8_0 quants q as q+128 (the sign bit flipped).
func repackQ8_0(dst, w []byte, rowBytes, rows, nb int) {
	le := binary.LittleEndian
	for r := 0; r < rows; r++ {
		src := w[r*rowBytes : r*rowBytes+nb*34]
		for b := 0; b < nb; b++ {
			s := src[b*34 : b*34+34]
			d := dst[b*u8Tile : b*u8Tile+u8Tile]
			d[2*r], d[2*r+1] = s[0], s[1]
			for k := 0; k < 8; k++ {
				le.PutUint32(d[32+64*k+4*r:], le.Uint32(s[2+4*k:])^0x80808080)
			}
		}
	}
	clearRowsU8(dst, rows, nb)
}

// spread4 moves bits 0..3 of x to bit 4 of bytes 0..3 (the fifth bit of
// four Q5_0 quants).
func spread4(x uint32) uint32 { return (x & 0xf * 0x00204081 & 0x01010101) << 4 }

// repackQ5_0 stores Q5_0's 5-bit quants (0..31, value q-16): low nibbles
// from qs, the fifth bit of element j from bit j of qh.
func repackQ5_0(dst, w []byte, rowBytes, rows, nb int) {
	le := binary.LittleEndian
	for r := 0; r < rows; r++ {
		src := w[r*rowBytes : r*rowBytes+nb*22]
		for b := 0; b < nb; b++ {
			s := src[b*22 : b*22+22]
			d := dst[b*u8Tile : b*u8Tile+u8Tile]
			d[2*r], d[2*r+1] = s[0], s[1]
			qh := le.Uint32(s[2:])
			for k := 0; k < 4; k++ {
				qs := le.Uint32(s[6+4*k:])
				le.PutUint32(d[32+64*k+4*r:], qs&0x0f0f0f0f|spread4(qh>>(4*k)))
				le.PutUint32(d[288+64*k+4*r:], qs>>4&0x0f0f0f0f|spread4(qh>>(16+4*k)))
			}
		}
	}
	clearRowsU8(dst, rows, nb)
}

// sumInt8x32 returns the sum of the 32 signed bytes of b: the bytes are
// biased by 128 (XOR 0x80) and summed as unsigned in 16-bit lanes of
// 64-bit words (at most 4·2·255 per lane), then the bias is removed.
func sumInt8x32(b []byte) int32 {
	const lo = 0x00ff00ff00ff00ff
	var s uint64
	for i := 0; i < 4; i++ {
		v := binary.LittleEndian.Uint64(b[8*i:]) ^ 0x8080808080808080
		s += v&lo + v>>8&lo
	}
	return int32(s*0x0001000100010001>>48) - 32*128
}

// sideQ8_0 returns the side-table builder for Q8_0 activations against a
// weight type whose quants the kernel uses with offset off (8 for Q4_0's
// unsigned nibbles, whose value is q-8; 16 for Q5_0; 128 for Q8_0): per
// block the tokens' scales dy as float32, then -off·Σy as int32, zero for
// missing tokens.
func sideQ8_0(off int32) func(dst, act []byte, actBytes, n, nb int) {
	return func(dst, act []byte, actBytes, n, nb int) {
		clear(dst[:nb*64])
		for c := 0; c < n; c++ {
			a := act[c*actBytes : c*actBytes+nb*34]
			for b := 0; b < nb; b++ {
				blk := a[b*34 : b*34+34]
				sum := sumInt8x32(blk[2:34])
				d := dst[b*64:]
				binary.LittleEndian.PutUint32(d[4*c:], math.Float32bits(F16ToF32(binary.LittleEndian.Uint16(blk))))
				binary.LittleEndian.PutUint32(d[32+4*c:], uint32(-off*sum))
			}
		}
	}
}

// The Q4_K layout (repackQ4_K), per super-block of 16 rows: d and dmin as
// 16 f16 each (64 bytes); the mins as int16 pairs, register i holding
// (m_2i, m_2i+1) of each row (4×64 bytes); the scale coefficients
// coef_j = sc_j - sc_{j+1} (sc_8 = 0) as int32 (8×64 bytes, see the
// kernel); then for each 64-element chunk and k = 0..7 the rows' quant
// bytes 4k..4k+3 of the chunk (32×64 bytes): 2880 bytes.
const q4KTile = 2880

func repackQ4_K(dst, w []byte, rowBytes, rows, nb int) {
	repackQ4_KScales(dst, w, rowBytes, rows, nb)
	le := binary.LittleEndian
	for r := 0; r < rows; r++ {
		for b := 0; b < nb; b++ {
			qs := w[r*rowBytes+b*144+16 : r*rowBytes+b*144+144]
			d := dst[b*q4KTile : b*q4KTile+q4KTile]
			for g := 0; g < 32; g++ {
				le.PutUint32(d[832+64*g+4*r:], le.Uint32(qs[4*g:]))
			}
		}
	}
}

// repackQ4_KScales writes the first 832 bytes of each Q4_K tile (d, dmin,
// mins, coefficients); the quants are left to the caller.
func repackQ4_KScales(dst, w []byte, rowBytes, rows, nb int) {
	le := binary.LittleEndian
	if rows < gemmRows {
		clear(dst[:nb*q4KTile])
	}
	for r := 0; r < rows; r++ {
		src := w[r*rowBytes : r*rowBytes+nb*144]
		for b := 0; b < nb; b++ {
			s := src[b*144 : b*144+144]
			d := dst[b*q4KTile : b*q4KTile+q4KTile]
			copy(d[2*r:2*r+2], s[0:2])
			copy(d[32+2*r:32+2*r+2], s[2:4])
			var sc, m [9]int32
			for j := 0; j < 8; j++ {
				a, b := scaleMinK4(j, s[4:16])
				sc[j], m[j] = int32(a), int32(b)
			}
			for i := 0; i < 4; i++ {
				le.PutUint32(d[64+64*i+4*r:], uint32(m[2*i])|uint32(m[2*i+1])<<16)
			}
			for j := 0; j < 8; j++ {
				le.PutUint32(d[320+64*j+4*r:], uint32(sc[j]-sc[j+1]))
			}
		}
	}
}

// The Q6_K layout (repackQ6_K), per super-block of 16 rows: d as 16 f16
// (32 bytes); the offset term's scale pairs (-32·sc_2i, -32·sc_2i+1) as
// int16 (8×64 bytes); the coefficients sc_j - sc_{j+1} (sc_16 = 0) as
// int32 (16×64 bytes); then for g = 0..63 the rows' 6-bit quants of
// elements 4g..4g+3, unsigned (64×64 bytes): 5664 bytes.
const q6KTile = 5664

func repackQ6_K(dst, w []byte, rowBytes, rows, nb int) {
	repackQ6_KScales(dst, w, rowBytes, rows, nb)
	le := binary.LittleEndian
	for r := 0; r < rows; r++ {
		for b := 0; b < nb; b++ {
			s := w[r*rowBytes+b*210 : r*rowBytes+b*210+210]
			d := dst[b*q6KTile : b*q6KTile+q6KTile]
			// Element 128h + 32k + l (h < 2, k < 4, l < 32) has its low
			// four bits in ql[64h + 32(k%2) + l] (low nibble for k < 2)
			// and its high two in bits 2k, 2k+1 of qh[32h + l]; four
			// consecutive l at a time.
			for h := 0; h < 2; h++ {
				for l := 0; l < 32; l += 4 {
					lo0 := le.Uint32(s[64*h+l:])
					lo1 := le.Uint32(s[64*h+32+l:])
					hi := le.Uint32(s[128+32*h+l:])
					g := 32*h + l/4 // element group of k = 0
					o := 1568 + 64*g + 4*r
					le.PutUint32(d[o:], lo0&0x0f0f0f0f|(hi&0x03030303)<<4)
					le.PutUint32(d[o+8*64:], lo1&0x0f0f0f0f|(hi>>2&0x03030303)<<4)
					le.PutUint32(d[o+16*64:], lo0>>4&0x0f0f0f0f|(hi>>4&0x03030303)<<4)
					le.PutUint32(d[o+24*64:], lo1>>4&0x0f0f0f0f|(hi>>6&0x03030303)<<4)
				}
			}
		}
	}
}

// repackQ6_KScales writes the first 1568 bytes of each Q6_K tile (d, the
// offset term's scale pairs, the coefficients); the quants are left to
// the caller.
func repackQ6_KScales(dst, w []byte, rowBytes, rows, nb int) {
	le := binary.LittleEndian
	if rows < gemmRows {
		clear(dst[:nb*q6KTile])
	}
	for r := 0; r < rows; r++ {
		src := w[r*rowBytes : r*rowBytes+nb*210]
		for b := 0; b < nb; b++ {
			s := src[b*210 : b*210+210]
			d := dst[b*q6KTile : b*q6KTile+q6KTile]
			copy(d[2*r:2*r+2], s[208:210])
			var sc [17]int32
			for j := 0; j < 16; j++ {
				sc[j] = int32(int8(s[192+j]))
			}
			for i := 0; i < 8; i++ {
				le.PutUint32(d[32+64*i+4*r:], uint32(uint16(-32*sc[2*i]))|uint32(uint16(-32*sc[2*i+1]))<<16)
			}
			for j := 0; j < 16; j++ {
				le.PutUint32(d[544+64*j+4*r:], uint32(sc[j]-sc[j+1]))
			}
		}
	}
}

// sideQ4_K fills the Q4_K side table from Q8_K activations: per
// super-block the tokens' float32 scales, then per token the eight int16
// sums bsum_2j + bsum_2j+1 (the activation sum of each 32-element
// sub-block, which the mins multiply).
func sideQ4_K(dst, act []byte, actBytes, n, nb int) {
	le := binary.LittleEndian
	clear(dst[:nb*160])
	for c := 0; c < n; c++ {
		a := act[c*actBytes : c*actBytes+nb*292]
		for b := 0; b < nb; b++ {
			blk := a[b*292 : b*292+292]
			d := dst[b*160:]
			copy(d[4*c:4*c+4], blk[0:4])
			for j := 0; j < 8; j++ {
				s := int16(le.Uint16(blk[260+4*j:])) + int16(le.Uint16(blk[262+4*j:]))
				le.PutUint16(d[32+16*c+2*j:], uint16(s))
			}
		}
	}
}

// sideQ6_K fills the Q6_K side table from Q8_K activations: per
// super-block the tokens' float32 scales, then per token the 16 int16
// bsums.
func sideQ6_K(dst, act []byte, actBytes, n, nb int) {
	clear(dst[:nb*288])
	for c := 0; c < n; c++ {
		a := act[c*actBytes : c*actBytes+nb*292]
		for b := 0; b < nb; b++ {
			blk := a[b*292 : b*292+292]
			d := dst[b*288:]
			copy(d[4*c:4*c+4], blk[0:4])
			copy(d[32+32*c:64+32*c], blk[260:292])
		}
	}
}

// F16 weights take a different GEMM: tiles of f16TileRows rows by
// f16TileCols tokens whose every (row, token) pair keeps the 32 float
// lanes and final reduction of the F16 row kernel (see gemmH16x4x5 in
// gemm_amd64.s), so a batch gives the same bits as token-by-token
// decoding. The activations are converted to float32 for a block of
// f16BlockTokens tokens at a time, stored chunk by chunk; within it, a
// block of f16BlockRows weight rows is multiplied a chunk of f16ChunkCols
// columns at a time: the chunk's F16 weights are copied side by side once
// for all the block's tokens (the kernel widens them to float32 as it
// loads them, exactly), and the tiles' lane accumulators are saved in a
// scratch buffer between chunks (the lanes' FMA sequence is unchanged).
// For each token tile the row block's tiles run in turn, so the tile's
// activations and the chunk's weights (24 rows · 1024 columns · 2 bytes
// and 5 · 1024 · 4 bytes) stay close in the caches while they are reused,
// and each weight row streams from memory once per token block. The
// mapped weights are only read. The constants were tuned on a 2048×8192
// matrix and 512 tokens (BenchmarkGEMM).
const (
	f16TileRows    = 4
	f16TileCols    = 5
	f16BlockTokens = 120  // a multiple of f16TileCols
	f16BlockRows   = 24   // a multiple of f16TileRows
	f16ChunkCols   = 1024 // a multiple of 32
	f16AccFloats   = 2 * 16 * f16TileRows * f16TileCols
)

// f16TileFunc multiplies f16TileRows F16 weight rows (ws bytes apart)
// with f16TileCols float32 activation rows (as bytes apart) over n32·32
// elements. mode bit 0: start from the lane accumulators saved at acc
// (else zero); bit 1: reduce in order mode>>2 and store pair (r, c) at
// out + c·os bytes + r (else save the accumulators at acc).
type f16TileFunc func(w *byte, ws int, a *float32, as int, n32 int, out *float32, os int, acc *float32, mode int)

// f16Tile is the F16 tile kernel in use and f16Convert the F16 to float32
// conversion that feeds it (nil f16Tile: no F16 GEMM); simdF16Tile and
// simdF16Convert are the CPU's, for tests.
var (
	f16Tile, simdF16Tile       f16TileFunc
	f16Convert, simdF16Convert func(dst []float32, src []byte)
)

// The F16 row kernels reduce their lanes in one of several fixed orders
// (the AVX2 and AVX-512 kernels differ). The first F16 batch probes which
// order reproduces the active row kernel bit for bit; if none does, F16
// batches keep using the row kernels.
var (
	f16OrderOnce sync.Once
	f16Order     int
)

// f16ActiveOrder returns the tile reduction order matching the active F16
// row kernel, or -1.
func f16ActiveOrder() int {
	f16OrderOnce.Do(func() { f16Order = probeF16Order(f16Tile, f16Convert) })
	return f16Order
}

// f16Orders is the number of reduction orders gemmH16x4x5 offers.
const f16Orders = 2

// probeF16Order multiplies a small matrix of varied magnitudes with a few
// tokens through dotRows and through tile in each order, and returns the
// first order whose results are bit-identical, or -1.
func probeF16Order(tile f16TileFunc, convert func([]float32, []byte)) int {
	const rows, cols, n = 5, 320, 6
	w := make([]byte, 2*rows*cols)
	act := make([]byte, 2*n*cols)
	seed := uint32(12345)
	next := func() uint16 {
		seed = seed*1664525 + 1013904223
		// Mantissa and sign random, exponent spread over 2^-6..2^5 so the
		// order of the float additions shows in the rounding.
		v := float32(int32(seed>>8)&0xffff-0x8000) / 0x8000
		return F32ToF16(v * float32(uint32(1)<<(seed>>28)) / 64)
	}
	for i := 0; i < len(w); i += 2 {
		binary.LittleEndian.PutUint16(w[i:], next())
	}
	for i := 0; i < len(act); i += 2 {
		binary.LittleEndian.PutUint16(act[i:], next())
	}
	want := make([]float32, n*rows)
	for i := 0; i < n; i++ {
		dotRows(F16, w, 2*cols, act[2*i*cols:], cols, want[i*rows:(i+1)*rows])
	}
	got := make([]float32, n*rows)
	for order := 0; order < f16Orders; order++ {
		gemmF16Range(tile, convert, order, w, 2*cols, cols, 0, rows, act, 2*cols, n, got, rows)
		same := true
		for i := range want {
			same = same && math.Float32bits(got[i]) == math.Float32bits(want[i])
		}
		if same {
			return order
		}
	}
	return -1
}

// f16ToF32Rows converts len(dst) F16 values at src to float32.
func f16ToF32Rows(dst []float32, src []byte) {
	for i := range dst {
		dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// f16Scratch is gemmF16Range's working memory: a token block's float32
// activations, a row block's chunk of F16 weights, and the lane
// accumulators of the row block's tiles.
type f16Scratch struct {
	act []float32
	w   []byte
	acc []float32
}

var f16Pool = sync.Pool{New: func() any {
	return &f16Scratch{
		w:   make([]byte, 2*f16BlockRows*f16ChunkCols),
		acc: make([]float32, f16BlockRows/f16TileRows*f16BlockTokens/f16TileCols*f16AccFloats),
	}
}}

// gemmF16Range is matMulRange for F16 weights and a batch, with tile in
// the given reduction order and convert (cols a multiple of 32).
func gemmF16Range(tile f16TileFunc, convert func([]float32, []byte), order int,
	w []byte, rowBytes, cols, r0, r1 int, act []byte, actBytes, n int, y []float32, yStride int) {
	s := f16Pool.Get().(*f16Scratch)
	tb := min(f16BlockTokens, (n+f16TileCols-1)/f16TileCols*f16TileCols)
	if cap(s.act) < tb*cols {
		s.act = make([]float32, tb*cols)
	}
	buf := s.act[:tb*cols]
	var out [f16TileRows * f16TileCols]float32
	for t0 := 0; t0 < n; t0 += tb {
		nt := min(tb, n-t0)
		// Chunk-major: chunk k0's activations of token c at
		// buf[k0·tb + c·kc:], so a tile's token rows are kc floats apart
		// (not cols), which keeps them in few pages and apart in the L1
		// sets.
		for k0 := 0; k0 < cols; k0 += f16ChunkCols {
			kc := min(f16ChunkCols, cols-k0)
			for c := 0; c < nt; c++ {
				convert(buf[k0*tb+c*kc:k0*tb+(c+1)*kc], act[(t0+c)*actBytes+2*k0:])
			}
			clear(buf[k0*tb+nt*kc : k0*tb+(nt+f16TileCols-1)/f16TileCols*f16TileCols*kc])
		}
		for rb := r0; rb < r1; rb += f16BlockRows {
			re := min(rb+f16BlockRows, r1)
			for k0 := 0; k0 < cols; k0 += f16ChunkCols {
				kc := min(f16ChunkCols, cols-k0)
				// The chunk's F16 weights, 2·kc bytes a row, copied side by
				// side (rows in place are rowBytes apart and would crowd the
				// same L1 sets); rows past re (a partial last tile) are zero
				// and their results dropped.
				wh := s.w[:(re-rb+f16TileRows-1)/f16TileRows*f16TileRows*2*kc]
				for r := rb; r < re; r++ {
					copy(wh[(r-rb)*2*kc:(r-rb+1)*2*kc], w[r*rowBytes+2*k0:])
				}
				clear(wh[(re-rb)*2*kc:])
				mode := order << 2
				if k0 > 0 {
					mode |= 1
				}
				final := k0+kc == cols
				if final {
					mode |= 2
				}
				for ct := 0; ct < nt; ct += f16TileCols {
					cn := min(f16TileCols, nt-ct)
					a := buf[k0*tb+ct*kc : k0*tb+(ct+f16TileCols)*kc]
					for ti, rt := 0, rb; rt < re; ti, rt = ti+1, rt+f16TileRows {
						rows := min(f16TileRows, re-rt)
						wt, ws := wh[ti*f16TileRows*2*kc:(ti+1)*f16TileRows*2*kc], 2*kc
						accs := s.acc[(ti*(f16BlockTokens/f16TileCols)+ct/f16TileCols)*f16AccFloats:][:f16AccFloats]
						if !final {
							tile(&wt[0], ws, &a[0], 4*kc, kc/32, nil, 0, &accs[0], mode)
							continue
						}
						if rows == f16TileRows && cn == f16TileCols {
							_ = y[(t0+ct+f16TileCols-1)*yStride+rt+f16TileRows-1]
							tile(&wt[0], ws, &a[0], 4*kc, kc/32, &y[(t0+ct)*yStride+rt], 4*yStride, &accs[0], mode)
							continue
						}
						tile(&wt[0], ws, &a[0], 4*kc, kc/32, &out[0], 4*f16TileRows, &accs[0], mode)
						for c := 0; c < cn; c++ {
							copy(y[(t0+ct+c)*yStride+rt:(t0+ct+c)*yStride+rt+rows], out[c*f16TileRows:])
						}
					}
				}
			}
		}
	}
	f16Pool.Put(s)
}
