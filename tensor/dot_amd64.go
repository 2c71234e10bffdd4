//go:build amd64

package tensor

import (
	"encoding/binary"
	"math"
)

// Assembly dot kernels for amd64 (dot_amd64.s), used when the CPU has
// AVX2, FMA and F16C. Every type has a row kernel that dots rows weight
// rows, stride bytes apart, with one activation row, looping over rows
// inside the assembly so a matrix-vector product costs one call; Q4_0,
// Q5_0 and Q8_0 also have eight-, four- and two-row kernels that load each
// activation block once for the group, reduce the rows' exact int32 block
// sums into one vector, convert the rows' half-float scales with one
// VCVTPH2PS and accumulate all rows with one FMA per block. The eight- and
// four-row kernels prefetch the next group of rows: without it, the
// hardware prefetcher does not follow eight short interleaved streams and
// a large matrix streamed from memory at about a third of the rate of a
// sequential read. For each of these types all kernels compute the same
// per-row arithmetic (exact int32 block sums, times dx·dy, accumulated
// block by block in one float lane), so they agree bit for bit. The
// single-row kernels in vecDots are the row kernels with rows = 1.
//
// On CPUs with AVX-512 VNNI and VBMI, dot512_amd64.go adds eight-row
// kernels for Q4_0, Q5_0, Q8_0 and IQ4_NL and a Q8_0 row kernel (all
// bit-identical to these), and row kernels for Q4_K, Q5_K and Q6_K; with
// those (use512), F16 rows go to dotF16RowsAVX512 (f16_amd64.s), which is
// bit-identical to dotF16RowsAVX2, so the F16 GEMM's reduction order holds.
//
// Arguments: x is the first weight row, y the activation row, nb the
// number of blocks per row (for F16 and F32, the number of elements, a
// multiple of 32), out receives rows results. The Go wrappers check every
// length so the assembly never reads out of bounds.

//go:noescape
func dotQ4_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ4_1RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ5_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ5_1RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ8_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotIQ4_NLRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ2_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ3_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotIQ4_XSRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ4_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ5_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ6_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotF16RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotF32RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)

//go:noescape
func dotQ4_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ4_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ4_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ8_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ8_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ8_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ5_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ5_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)

//go:noescape
func dotQ5_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)

// asmKernel describes one weight type's assembly kernels. The kernels are
// called through a switch (asmRows, asmGroup) rather than func values so
// the compiler sees that out does not escape and the wrappers do not
// allocate.
type asmKernel struct {
	typ Type // selects the kernels in asmRows and asmGroup
	// groups lists the multi-row kernel sizes, largest first (e.g. 8, 4,
	// 2); each must give results bit-identical to the row kernel.
	groups []int
	elems  int // elements per block
	wsz    int // weight bytes per block
	asz    int // activation bytes per block
	// F16 and F32: the assembly takes an element count (a multiple of 32)
	// and tail dots the remaining elements of each row in Go.
	tail dotKernel
}

var asmKernels = map[Type]*asmKernel{
	Q4_0:   {typ: Q4_0, groups: []int{8, 4, 2}, elems: 32, wsz: 18, asz: 34},
	Q4_1:   {typ: Q4_1, elems: 32, wsz: 20, asz: 36},
	Q5_0:   {typ: Q5_0, groups: []int{8, 4, 2}, elems: 32, wsz: 22, asz: 34},
	Q5_1:   {typ: Q5_1, elems: 32, wsz: 24, asz: 36},
	Q8_0:   {typ: Q8_0, groups: []int{8, 4, 2}, elems: 32, wsz: 34, asz: 34},
	IQ4_NL: {typ: IQ4_NL, groups: []int{8}, elems: 32, wsz: 18, asz: 34},
	Q2_K:   {typ: Q2_K, elems: QK_K, wsz: 84, asz: 292},
	Q3_K:   {typ: Q3_K, elems: QK_K, wsz: 110, asz: 292},
	IQ4_XS: {typ: IQ4_XS, elems: QK_K, wsz: 136, asz: 292},
	Q4_K:   {typ: Q4_K, elems: QK_K, wsz: 144, asz: 292},
	Q5_K:   {typ: Q5_K, elems: QK_K, wsz: 176, asz: 292},
	Q6_K:   {typ: Q6_K, elems: QK_K, wsz: 210, asz: 292},
	F16:    {typ: F16, elems: 32, wsz: 64, asz: 64, tail: dotF16},
	F32:    {typ: F32, elems: 32, wsz: 128, asz: 128, tail: dotF32},
}

// asmRows calls t's row kernel.
func asmRows(t Type, x *byte, stride int, y *byte, nb int, out *float32, rows int) {
	if use512 && asmRows512(t, x, stride, y, nb, out, rows) {
		return
	}
	switch t {
	case Q4_0:
		dotQ4_0RowsAVX2(x, stride, y, nb, out, rows)
	case Q4_1:
		dotQ4_1RowsAVX2(x, stride, y, nb, out, rows)
	case Q5_0:
		dotQ5_0RowsAVX2(x, stride, y, nb, out, rows)
	case Q5_1:
		dotQ5_1RowsAVX2(x, stride, y, nb, out, rows)
	case Q8_0:
		dotQ8_0RowsAVX2(x, stride, y, nb, out, rows)
	case IQ4_NL:
		dotIQ4_NLRowsAVX2(x, stride, y, nb, out, rows)
	case Q2_K:
		dotQ2_KRowsAVX2(x, stride, y, nb, out, rows)
	case Q3_K:
		dotQ3_KRowsAVX2(x, stride, y, nb, out, rows)
	case IQ4_XS:
		dotIQ4_XSRowsAVX2(x, stride, y, nb, out, rows)
	case Q4_K:
		dotQ4_KRowsAVX2(x, stride, y, nb, out, rows)
	case Q5_K:
		dotQ5_KRowsAVX2(x, stride, y, nb, out, rows)
	case Q6_K:
		dotQ6_KRowsAVX2(x, stride, y, nb, out, rows)
	case F16:
		if use512 {
			dotF16RowsAVX512(x, stride, y, nb, out, rows)
		} else {
			dotF16RowsAVX2(x, stride, y, nb, out, rows)
		}
	case F32:
		dotF32RowsAVX2(x, stride, y, nb, out, rows)
	}
}

// asmGroup calls t's g-row kernel (g one of asmKernels[t].groups) and
// reports whether the active kernel set has one.
func asmGroup(t Type, g int, x *byte, stride int, y *byte, nb int, out *float32) bool {
	if use512 && asmGroup512(t, g, x, stride, y, nb, out) {
		return true
	}
	switch t {
	case Q4_0:
		switch g {
		case 8:
			dotQ4_0x8AVX2(x, stride, y, nb, out)
		case 4:
			dotQ4_0x4AVX2(x, stride, y, nb, out)
		case 2:
			dotQ4_0x2AVX2(x, stride, y, nb, out)
		}
	case Q8_0:
		switch g {
		case 8:
			dotQ8_0x8AVX2(x, stride, y, nb, out)
		case 4:
			dotQ8_0x4AVX2(x, stride, y, nb, out)
		case 2:
			dotQ8_0x2AVX2(x, stride, y, nb, out)
		}
	case Q5_0:
		switch g {
		case 8:
			dotQ5_0x8AVX2(x, stride, y, nb, out)
		case 4:
			dotQ5_0x4AVX2(x, stride, y, nb, out)
		case 2:
			dotQ5_0x2AVX2(x, stride, y, nb, out)
		}
	default:
		return false
	}
	return true
}

// dotRows is a rowsKernel: it sets out[r] to the dot product of the n
// elements at w[r·stride:] with a, for every r < len(out), and returns
// len(out) (0 for a negative stride, left to the caller's checks).
func (k *asmKernel) dotRows(w []byte, stride int, a []byte, n int, out []float32) int {
	rows := len(out)
	if rows == 0 || stride < 0 {
		return 0
	}
	nb := n / k.elems
	m := nb * k.elems // elements covered by the assembly
	if nb == 0 {
		clear(out)
	} else {
		_, _ = w[(rows-1)*stride+nb*k.wsz-1], a[nb*k.asz-1]
		cnt := nb
		if k.tail != nil {
			cnt = m
		}
		r := 0
		for _, g := range k.groups { // e.g. eight-row kernel, then four, two
			for r+g <= rows && asmGroup(k.typ, g, &w[r*stride], stride, &a[0], cnt, &out[r]) {
				r += g
			}
		}
		if r < rows {
			asmRows(k.typ, &w[r*stride], stride, &a[0], cnt, &out[r], rows-r)
		}
	}
	if m < n && k.tail != nil {
		eb := k.wsz / k.elems // bytes per element
		for r := range out {
			out[r] += k.tail(w[r*stride+m*eb:], a[m*eb:], n-m)
		}
	}
	return rows
}

// Single-row kernels (dotKernel): the row kernel with rows = 1, called
// directly so out stays on the stack.

func dotQ4_0Fast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[18*nb-1], a[34*nb-1]
		dotQ4_0RowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ4_1Fast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[20*nb-1], a[36*nb-1]
		dotQ4_1RowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ5_0Fast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[22*nb-1], a[34*nb-1]
		dotQ5_0RowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ5_1Fast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[24*nb-1], a[36*nb-1]
		dotQ5_1RowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ8_0Fast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[34*nb-1], a[34*nb-1]
		asmRows(Q8_0, &w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotIQ4_NLFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / 32; nb > 0 {
		_, _ = w[18*nb-1], a[34*nb-1]
		dotIQ4_NLRowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ2_KFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[84*nb-1], a[292*nb-1]
		dotQ2_KRowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ3_KFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[110*nb-1], a[292*nb-1]
		dotQ3_KRowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotIQ4_XSFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[136*nb-1], a[292*nb-1]
		dotIQ4_XSRowsAVX2(&w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ4_KFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[144*nb-1], a[292*nb-1]
		asmRows(Q4_K, &w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ5_KFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[176*nb-1], a[292*nb-1]
		asmRows(Q5_K, &w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotQ6_KFast(w, a []byte, n int) float32 {
	var out float32
	if nb := n / QK_K; nb > 0 {
		_, _ = w[210*nb-1], a[292*nb-1]
		asmRows(Q6_K, &w[0], 0, &a[0], nb, &out, 1)
	}
	return out
}

func dotF16Fast(w, a []byte, n int) float32 {
	var out float32
	m := n &^ 31
	if m > 0 {
		_, _ = w[2*m-1], a[2*m-1]
		dotF16RowsAVX2(&w[0], 0, &a[0], m, &out, 1)
	}
	if m < n {
		out += dotF16(w[2*m:], a[2*m:], n-m)
	}
	return out
}

func dotF32Fast(w, a []byte, n int) float32 {
	var out float32
	m := n &^ 31
	if m > 0 {
		_, _ = w[4*m-1], a[4*m-1]
		dotF32RowsAVX2(&w[0], 0, &a[0], m, &out, 1)
	}
	if m < n {
		out += dotF32(w[4*m:], a[4*m:], n-m)
	}
	return out
}

// simdKernels maps weight types to their assembly single-row kernels and
// simdRowKernels to their multi-row ones. When the CPU has AVX2, FMA and
// F16C they are filled at start-up, and unless GOLEM_NO_SIMD is set they
// replace the portable entries of vecDots and fill vecDotRows. Tests call
// both the portable and the assembly kernels directly.
var (
	simdKernels    = map[Type]dotKernel{}
	simdRowKernels = map[Type]rowsKernel{}
)

// simdName is the active kernel set ("avx2" or "portable").
var simdName = "portable"

func init() {
	if !hasAVX2 {
		return
	}
	simdKernels = map[Type]dotKernel{
		Q4_0: dotQ4_0Fast, Q4_1: dotQ4_1Fast, Q5_0: dotQ5_0Fast, Q5_1: dotQ5_1Fast,
		Q8_0: dotQ8_0Fast, IQ4_NL: dotIQ4_NLFast,
		Q2_K: dotQ2_KFast, Q3_K: dotQ3_KFast, IQ4_XS: dotIQ4_XSFast,
		Q4_K: dotQ4_KFast, Q5_K: dotQ5_KFast, Q6_K: dotQ6_KFast,
		F16: dotF16Fast, F32: dotF32Fast,
	}
	for t, k := range asmKernels {
		simdRowKernels[t] = k.dotRows
	}
	if simdDisabled() {
		return
	}
	simdName = "avx2"
	if use512 {
		simdName = "avx512vnni"
	}
	for t, k := range simdKernels {
		vd := vecDots[t]
		vd.dot = k
		vecDots[t] = vd
		vecDotRows[t] = simdRowKernels[t]
	}
}

//go:noescape
func q8KAbsMaxAVX2(x *float32) (amax float32, idx int)

//go:noescape
func q8KQuantAVX2(x *float32, iscale float32, y *byte)

//go:noescape
func q8ActAVX2(x *float32, y *byte, nb int, q81 bool) (done int)

// quantQ8_KFast is quantQ8_K with the amax search, quantization and
// 16-element sums in assembly; blocks with a NaN or infinite element, or
// whose scale -127/max is infinite or zero, use the Go code, so the bytes
// always equal quantQ8_K's.
func quantQ8_KFast(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[292*i : 292*(i+1)]
		amax, idx := q8KAbsMaxAVX2(&x[0])
		if amax == 0 && idx >= 0 {
			clear(b)
			continue
		}
		var iscale float32
		if idx >= 0 {
			iscale = -127 / x[idx]
		}
		if idx < 0 || amax > math.MaxFloat32 || math.IsInf(float64(iscale), 0) || iscale == 0 {
			quantQ8_K(x, b)
			continue
		}
		q8KQuantAVX2(&x[0], iscale, &b[0])
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// quantQ8ActFast quantizes Q8_0 (q81 false) or Q8_1 activation blocks in
// assembly, handing each block the assembly declines (NaN, zero, tiny or
// infinite amax) to the Go quantizer, so the bytes equal quantQ8_0Act's or
// quantQ8_1Act's.
func quantQ8ActFast(src []float32, dst []byte, q81 bool) {
	bs, slow := 34, quantQ8_0Act
	if q81 {
		bs, slow = 36, quantQ8_1Act
	}
	nb := len(src) / 32
	if nb == 0 {
		return
	}
	_ = dst[nb*bs-1]
	for i := 0; i < nb; {
		i += q8ActAVX2(&src[32*i], &dst[bs*i], nb-i, q81)
		if i < nb {
			slow(src[32*i:32*i+32], dst[bs*i:bs*i+bs])
			i++
		}
	}
}

//go:noescape
func f32ToF16AVX2(x *float32, y *byte, n int)

// quantF16Fast is quantF16 with F16C's VCVTPS2PH for whole groups of 8.
func quantF16Fast(src []float32, dst []byte) {
	m := len(src) &^ 7
	if m > 0 {
		_ = dst[2*m-1]
		f32ToF16AVX2(&src[0], &dst[0], m)
	}
	quantF16(src[m:], dst[2*m:])
}

func quantQ8_0Fast(src []float32, dst []byte) { quantQ8ActFast(src, dst, false) }

func quantQ8_1Fast(src []float32, dst []byte) { quantQ8ActFast(src, dst, true) }

// simdActQuantizers are the assembly activation quantizers, installed in
// activationQuantizers under the same conditions as simdKernels.
var simdActQuantizers = map[Type]func(src []float32, dst []byte){}

func init() {
	if !hasAVX2 {
		return
	}
	simdActQuantizers[Q8_K] = quantQ8_KFast
	simdActQuantizers[Q8_0] = quantQ8_0Fast
	simdActQuantizers[Q8_1] = quantQ8_1Fast
	simdActQuantizers[F16] = quantF16Fast
	if simdDisabled() {
		return
	}
	for t, q := range simdActQuantizers {
		activationQuantizers[t] = q
	}
}
