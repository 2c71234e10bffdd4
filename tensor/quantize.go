package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Quantizers follow ggml's reference algorithms (quantize_row_*_ref and
// ggml_quantize_chunk without an importance matrix) so that quantizing the
// same floats gives the same bytes as llama-quantize. Every float operation
// is written in the order ggml performs it, in float32; explicit float32
// conversions around products keep compilers for FMA-capable targets from
// fusing a multiply into a following add, which would change the rounding.

// quantizers maps each type to its weight quantizer: it fills dst (whole
// blocks) from len(src) floats, a multiple of the block size.
var quantizers = map[Type]func(src []float32, dst []byte){
	F32:    quantF32,
	F16:    quantF16,
	BF16:   quantBF16,
	Q4_0:   quantQ4_0,
	Q4_1:   quantQ4_1,
	Q5_0:   quantQ5_0,
	Q5_1:   quantQ5_1,
	Q8_0:   quantQ8_0Ref,
	Q8_1:   quantQ8_1Ref,
	Q2_K:   quantQ2_K,
	Q3_K:   quantQ3_K,
	Q4_K:   quantQ4_K,
	Q5_K:   quantQ5_K,
	Q6_K:   quantQ6_K,
	Q8_K:   quantQ8_K,
	IQ4_NL: quantIQ4_NL,
	IQ4_XS: quantIQ4_XS,
}

// activationQuantizers are the CPU backend's from_float functions for the
// vec_dot types, i.e. how ggml quantizes activations before a matmul on an
// x86 machine with AVX2 (Q8_0 and Q8_1 round half to even and scale by
// 127/amax there, which can differ from the reference in rare ties).
var activationQuantizers = map[Type]func(src []float32, dst []byte){
	F32:  quantF32,
	F16:  quantF16,
	BF16: quantBF16,
	Q8_0: quantQ8_0Act,
	Q8_1: quantQ8_1Act,
	Q8_K: quantQ8_K,
}

// CanQuantize reports whether Quantize supports t.
func CanQuantize(t Type) bool { _, ok := quantizers[t]; return ok }

// Quantize stores len(src) floats as type t into dst using ggml's reference
// quantizer for t (no importance matrix). len(src) must be a multiple of
// t's block size and dst must have room for the result.
func Quantize(t Type, src []float32, dst []byte) error {
	return runQuantizer(quantizers, t, src, dst)
}

// QuantizeActivation stores src as the vec_dot type t (F32, F16, BF16,
// Q8_0, Q8_1 or Q8_K) the way ggml's CPU backend quantizes activations for
// a matrix multiplication. See VecDotType.
func QuantizeActivation(t Type, src []float32, dst []byte) error {
	return runQuantizer(activationQuantizers, t, src, dst)
}

func runQuantizer(m map[Type]func([]float32, []byte), t Type, src []float32, dst []byte) error {
	fn, ok := m[t]
	if !ok {
		return fmt.Errorf("tensor: cannot quantize to type %s", t)
	}
	need, ok := t.RowSize(int64(len(src)))
	if !ok {
		return fmt.Errorf("tensor: %d elements is not a whole number of %s blocks", len(src), t)
	}
	if int64(len(dst)) < need {
		return fmt.Errorf("tensor: %s buffer is %d bytes, need %d", t, len(dst), need)
	}
	fn(src, dst[:need])
	return nil
}

func quantF32(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func quantF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToF16(v))
	}
}

func quantBF16(src []float32, dst []byte) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], F32ToBF16(v))
	}
}

// nearestInt rounds to the nearest integer, ties to even, the way ggml's
// nearest_int does (adding 1.5·2^23 and reading the mantissa); valid for
// |f| < 2^22.
func nearestInt(f float32) int {
	v := float32(f) + 12582912
	return int(int32(math.Float32bits(v)&0x7fffff) - 0x400000)
}

// absMax returns the element of largest magnitude (the first one on ties)
// and its magnitude.
func absMax(x []float32) (m, amax float32) {
	for _, v := range x {
		if a := abs32(v); a > amax {
			amax, m = a, v
		}
	}
	return m, amax
}

func abs32(f float32) float32 { return math.Float32frombits(math.Float32bits(f) &^ (1 << 31)) }

func sqrt32(f float32) float32 { return float32(math.Sqrt(float64(f))) }

func minMax(x []float32) (lo, hi float32) {
	lo, hi = math.MaxFloat32, -math.MaxFloat32
	for _, v := range x {
		if v < lo {
			lo = v
		}
		if v > hi {
			hi = v
		}
	}
	return lo, hi
}

func recipOrZero(d float32) float32 {
	if d != 0 {
		return 1 / d
	}
	return 0
}

func quantQ4_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[18*i : 18*i+18]
		xmax, _ := absMax(x)
		d := xmax / -8
		id := recipOrZero(d)
		putF16(b, 0, d)
		for j := 0; j < 16; j++ {
			q0 := min(15, int(int8(float32(x[j]*id)+8.5)))
			q1 := min(15, int(int8(float32(x[j+16]*id)+8.5)))
			b[2+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func quantQ4_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[20*i : 20*i+20]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		id := recipOrZero(d)
		putF16(b, 0, d)
		putF16(b, 2, lo)
		for j := 0; j < 16; j++ {
			q0 := min(15, int(int8(float32((x[j]-lo)*id)+0.5)))
			q1 := min(15, int(int8(float32((x[j+16]-lo)*id)+0.5)))
			b[4+j] = byte(q0) | byte(q1)<<4
		}
	}
}

func quantQ5_0(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[22*i : 22*i+22]
		xmax, _ := absMax(x)
		d := xmax / -16
		id := recipOrZero(d)
		putF16(b, 0, d)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := min(31, int(int8(float32(x[j]*id)+16.5)))
			q1 := min(31, int(int8(float32(x[j+16]*id)+16.5)))
			b[6+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[2:], qh)
	}
}

func quantQ5_1(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[24*i : 24*i+24]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		id := recipOrZero(d)
		putF16(b, 0, d)
		putF16(b, 2, lo)
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := int(uint8(float32((x[j]-lo)*id) + 0.5))
			q1 := int(uint8(float32((x[j+16]-lo)*id) + 0.5))
			b[8+j] = byte(q0&0xf) | byte(q1&0xf)<<4
			qh |= uint32(q0>>4&1)<<uint(j) | uint32(q1>>4&1)<<uint(j+16)
		}
		binary.LittleEndian.PutUint32(b[4:], qh)
	}
}

// roundAway rounds half away from zero, like C's roundf.
func roundAway(f float32) int { return int(math.Round(float64(f))) }

// quantQ8_0Ref is quantize_row_q8_0_ref: d = amax/127, q = roundf(x/d).
func quantQ8_0Ref(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[34*i : 34*i+34]
		_, amax := absMax(x)
		d := amax / 127
		id := recipOrZero(d)
		putF16(b, 0, d)
		for j, v := range x {
			b[2+j] = byte(int8(roundAway(v * id)))
		}
	}
}

// quantQ8_1Ref is quantize_row_q8_1_ref: Q8_0 plus s = d·Σq.
func quantQ8_1Ref(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		x := src[32*i : 32*i+32]
		b := dst[36*i : 36*i+36]
		_, amax := absMax(x)
		d := amax / 127
		id := recipOrZero(d)
		putF16(b, 0, d)
		sum := 0
		for j, v := range x {
			q := roundAway(v * id)
			b[4+j] = byte(int8(q))
			sum += q
		}
		putF16(b, 2, float32(sum)*d)
	}
}

// q8Act quantizes one 32-element block as ggml's AVX2 quantize_row_q8_0 /
// q8_1 do: d = amax/127, multiplier 127/amax, round half to even. It
// returns d and Σq.
func q8Act(x []float32, qs []byte) (d float32, sum int) {
	var amax float32
	for _, v := range x {
		amax = max(amax, abs32(v))
	}
	d = amax / 127
	var id float32
	if amax != 0 {
		id = 127 / amax
	}
	for j, v := range x {
		q := int(math.RoundToEven(float64(v * id)))
		q = max(-128, min(127, q))
		qs[j] = byte(int8(q))
		sum += q
	}
	return d, sum
}

func quantQ8_0Act(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		b := dst[34*i : 34*i+34]
		d, _ := q8Act(src[32*i:32*i+32], b[2:])
		putF16(b, 0, d)
	}
}

func quantQ8_1Act(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		b := dst[36*i : 36*i+36]
		d, sum := q8Act(src[32*i:32*i+32], b[4:])
		putF16(b, 0, d)
		putF16(b, 2, d*float32(sum))
	}
}

// quantQ8_K is quantize_row_q8_K_ref (also what the x86 backend uses):
// scale -127/max over the 256-element block, float32 d = 1/iscale, and
// per-16 sums of the quants.
func quantQ8_K(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[292*i : 292*(i+1)]
		xmax, amax := absMax(x)
		if amax == 0 {
			clear(b)
			continue
		}
		iscale := -127 / xmax
		for j, v := range x {
			b[4+j] = byte(int8(min(127, nearestInt(iscale*v))))
		}
		for j := 0; j < 16; j++ {
			sum := 0
			for _, q := range b[4+16*j : 4+16*j+16] {
				sum += int(int8(q))
			}
			binary.LittleEndian.PutUint16(b[260+2*j:], uint16(int16(sum)))
		}
		binary.LittleEndian.PutUint32(b, math.Float32bits(1/iscale))
	}
}

// bestIndexInt8 returns the index of the entry of the sorted table val
// nearest to x (the upper one on ties), as ggml's best_index_int8.
func bestIndexInt8(val []int8, x float32) int {
	n := len(val)
	if x <= float32(val[0]) {
		return 0
	}
	if x >= float32(val[n-1]) {
		return n - 1
	}
	ml, mu := 0, n-1
	for mu-ml > 1 {
		mav := (ml + mu) / 2
		if x < float32(val[mav]) {
			mu = mav
		} else {
			ml = mav
		}
	}
	if x-float32(val[mu-1]) < float32(val[mu])-x {
		return mu - 1
	}
	return mu
}

const groupMaxEps = 1e-15

// quantIQ4Super quantizes one super-block x (32 elements for IQ4_NL, 256 for
// IQ4_XS) with 32-element sub-blocks, as ggml's quantize_row_iq4_nl_impl
// with ntry = 7 and no importance matrix (weights x²). It returns the f16
// super scale, the packed 6-bit sub-block scales (IQ4_XS only) and fills q4.
func quantIQ4Super(x []float32, q4 []byte) (dh uint16, scalesH uint16, scalesL [4]byte) {
	const ntry = 7
	values := kvaluesIQ4NL[:]
	nb := len(x) / 32
	var scales [8]float32
	var L [QK_K]uint8
	var weight [32]float32
	clear(q4[:len(x)/2])
	var maxScale, amaxScale float32
	for ib := 0; ib < nb; ib++ {
		xb := x[32*ib : 32*ib+32]
		Lb := L[32*ib : 32*ib+32]
		for j, v := range xb {
			weight[j] = v * v
		}
		xmax, amax := absMax(xb)
		if amax < groupMaxEps {
			scales[ib] = 0
			continue
		}
		d := -xmax / float32(values[0])
		id := 1 / d
		var sumqx, sumq2 float32
		for j, v := range xb {
			l := bestIndexInt8(values, id*v)
			Lb[j] = uint8(l)
			q := float32(values[l])
			w := weight[j]
			sumqx += float32(float32(w*q) * v)
			sumq2 += float32(float32(w*q) * q)
		}
		d = 0
		if sumq2 > 0 {
			d = sumqx / sumq2
		}
		best := d * sumqx
		for itry := -ntry; itry <= ntry; itry++ {
			id = float32(itry+int(values[0])) / xmax
			sumqx, sumq2 = 0, 0
			for j, v := range xb {
				l := bestIndexInt8(values, id*v)
				q := float32(values[l])
				w := weight[j]
				sumqx += float32(float32(w*q) * v)
				sumq2 += float32(float32(w*q) * q)
			}
			if sumq2 > 0 && float32(sumqx*sumqx) > float32(best*sumq2) {
				d = sumqx / sumq2
				best = d * sumqx
			}
		}
		scales[ib] = d
		if a := abs32(d); a > amaxScale {
			amaxScale, maxScale = a, d
		}
	}
	if nb > 1 {
		d := -maxScale / 32
		dh = F32ToF16(d)
		id := recipOrZero(d)
		for ib := 0; ib < nb; ib++ {
			l := max(-32, min(31, nearestInt(id*scales[ib])))
			dl := d * float32(l)
			idl := recipOrZero(dl)
			for j, v := range x[32*ib : 32*ib+32] {
				L[32*ib+j] = uint8(bestIndexInt8(values, idl*v))
			}
			l += 32
			scalesL[ib/2] |= byte(l&0xf) << (4 * uint(ib%2))
			scalesH |= uint16(l>>4) << (2 * uint(ib%8))
		}
	} else {
		dh = F32ToF16(scales[0])
		id := recipOrZero(scales[0])
		for j, v := range x {
			L[j] = uint8(bestIndexInt8(values, id*v))
		}
	}
	for i := 0; i < len(x)/32; i++ {
		for j := 0; j < 16; j++ {
			q4[16*i+j] = L[32*i+j] | L[32*i+16+j]<<4
		}
	}
	return dh, scalesH, scalesL
}

func quantIQ4_NL(src []float32, dst []byte) {
	for i := 0; i < len(src)/32; i++ {
		b := dst[18*i : 18*i+18]
		dh, _, _ := quantIQ4Super(src[32*i:32*i+32], b[2:])
		binary.LittleEndian.PutUint16(b, dh)
	}
}

func quantIQ4_XS(src []float32, dst []byte) {
	for i := 0; i < len(src)/QK_K; i++ {
		b := dst[136*i : 136*(i+1)]
		dh, sh, sl := quantIQ4Super(src[QK_K*i:QK_K*(i+1)], b[8:])
		binary.LittleEndian.PutUint16(b, dh)
		binary.LittleEndian.PutUint16(b[2:], sh)
		copy(b[4:8], sl[:])
	}
}
