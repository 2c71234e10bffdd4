package tensor

import "encoding/binary"

// K-quant super-blocks of QK_K = 256 elements. Byte layouts (ggml-common.h):
//
//	Q2_K  84 B: scales[16] (4-bit scale | 4-bit min), qs[64] (2-bit), d, dmin (f16)
//	Q3_K 110 B: hmask[32] (high bit), qs[64] (low 2 bits), scales[12] (16 × 6 bits), d
//	Q4_K 144 B: d, dmin, scales[12] (8 × 6-bit scale + 8 × 6-bit min), qs[128] (4-bit)
//	Q5_K 176 B: d, dmin, scales[12], qh[32] (5th bit), qs[128]
//	Q6_K 210 B: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] (int8), d
//	Q8_K 292 B: d (float32), qs[256] (int8), bsums[16] (int16 sums of 16 qs)

// q3KScale returns the signed 6-bit scale j (0..15) of a Q3_K block's
// 12-byte scales field: low nibbles in bytes 0..7, two high bits each in
// bytes 8..11.
func q3KScale(sc []byte, j int) int {
	var lo int
	if j < 8 {
		lo = int(sc[j] & 0xf)
	} else {
		lo = int(sc[j-8] >> 4)
	}
	hi := int(sc[8+j%4]>>(2*(j/4))) & 3
	return lo | hi<<4 - 32
}

// scaleMinK4 unpacks the 6-bit scale and min j (0..7) of a Q4_K/Q5_K block.
func scaleMinK4(j int, q []byte) (sc, m uint8) {
	if j < 4 {
		return q[j] & 63, q[j+4] & 63
	}
	sc = q[j+4]&0xf | (q[j-4]>>6)<<4
	m = q[j+4]>>4 | (q[j]>>6)<<4
	return sc, m
}

func dequantQ2_K(src []byte, dst []float32) {
	const bs = 84
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		sc, qs := b[0:16], b[16:80]
		d, dmin := f16At(b, 80), f16At(b, 82)
		y := dst[i*QK_K : (i+1)*QK_K]
		is := 0
		for n := 0; n < QK_K; n += 128 {
			q := qs[n/4:]
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				for half := 0; half < 2; half++ {
					s := sc[is]
					is++
					dl := d * float32(s&0xf)
					ml := dmin * float32(s>>4)
					yb := y[n+32*j+16*half:]
					qb := q[16*half:]
					for l := 0; l < 16; l++ {
						yb[l] = float32(dl*float32((qb[l]>>shift)&3)) - ml
					}
				}
			}
		}
	}
}

func dequantQ3_K(src []byte, dst []float32) {
	const bs = 110
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		hm, qs, sc := b[0:32], b[32:96], b[96:108]
		d := f16At(b, 108)
		y := dst[i*QK_K : (i+1)*QK_K]
		is := 0
		for n := 0; n < QK_K; n += 128 {
			q := qs[n/4:]
			for j := 0; j < 4; j++ {
				shift := uint(2 * j)
				m := byte(1) << uint(4*(n/128)+j)
				for half := 0; half < 2; half++ {
					dl := d * float32(q3KScale(sc, is))
					is++
					yb := y[n+32*j+16*half:]
					for l := 16 * half; l < 16*half+16; l++ {
						v := int((q[l] >> shift) & 3)
						if hm[l]&m == 0 {
							v -= 4
						}
						yb[l-16*half] = dl * float32(v)
					}
				}
			}
		}
	}
}

func dequantQ4_K(src []byte, dst []float32) {
	const bs = 144
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		d, dmin := f16At(b, 0), f16At(b, 2)
		sc, qs := b[4:16], b[16:144]
		y := dst[i*QK_K : (i+1)*QK_K]
		for j := 0; j < 4; j++ {
			s1, m1 := scaleMinK4(2*j, sc)
			s2, m2 := scaleMinK4(2*j+1, sc)
			d1, dm1 := d*float32(s1), dmin*float32(m1)
			d2, dm2 := d*float32(s2), dmin*float32(m2)
			q := qs[32*j : 32*j+32]
			yb := y[64*j : 64*j+64]
			for l := 0; l < 32; l++ {
				yb[l] = float32(d1*float32(q[l]&0xf)) - dm1
				yb[l+32] = float32(d2*float32(q[l]>>4)) - dm2
			}
		}
	}
}

func dequantQ5_K(src []byte, dst []float32) {
	const bs = 176
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		d, dmin := f16At(b, 0), f16At(b, 2)
		sc, qh, qs := b[4:16], b[16:48], b[48:176]
		y := dst[i*QK_K : (i+1)*QK_K]
		for j := 0; j < 4; j++ {
			s1, m1 := scaleMinK4(2*j, sc)
			s2, m2 := scaleMinK4(2*j+1, sc)
			d1, dm1 := d*float32(s1), dmin*float32(m1)
			d2, dm2 := d*float32(s2), dmin*float32(m2)
			u1, u2 := byte(1)<<uint(2*j), byte(2)<<uint(2*j)
			q := qs[32*j : 32*j+32]
			yb := y[64*j : 64*j+64]
			for l := 0; l < 32; l++ {
				lo, hi := int(q[l]&0xf), int(q[l]>>4)
				if qh[l]&u1 != 0 {
					lo += 16
				}
				if qh[l]&u2 != 0 {
					hi += 16
				}
				yb[l] = float32(d1*float32(lo)) - dm1
				yb[l+32] = float32(d2*float32(hi)) - dm2
			}
		}
	}
}

// q6KQuant returns element l (0..31) of quarter k (0..3) of a 128-element
// half of a Q6_K block, as a signed value in [-32, 31].
func q6KQuant(ql, qh []byte, l, k int) int {
	var lo int
	switch k {
	case 0:
		lo = int(ql[l] & 0xf)
	case 1:
		lo = int(ql[l+32] & 0xf)
	case 2:
		lo = int(ql[l] >> 4)
	default:
		lo = int(ql[l+32] >> 4)
	}
	return lo | int(qh[l]>>(2*k))&3<<4 - 32
}

func dequantQ6_K(src []byte, dst []float32) {
	const bs = 210
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 208)
		y := dst[i*QK_K : (i+1)*QK_K]
		for n := 0; n < 2; n++ {
			ql, qh := b[64*n:], b[128+32*n:]
			sc := b[192+8*n:]
			yb := y[128*n:]
			for l := 0; l < 32; l++ {
				is := l / 16
				for k := 0; k < 4; k++ {
					yb[l+32*k] = float32(d*float32(int8(sc[is+2*k]))) * float32(q6KQuant(ql, qh, l, k))
				}
			}
		}
	}
}

func dequantQ8_K(src []byte, dst []float32) {
	const bs = 292
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f32At(b, 0)
		y := dst[i*QK_K : (i+1)*QK_K]
		for j := range y {
			y[j] = d * float32(int8(b[4+j]))
		}
	}
}

// putF16 stores f rounded to half precision at b[off:].
func putF16(b []byte, off int, f float32) { binary.LittleEndian.PutUint16(b[off:], F32ToF16(f)) }

// makeQXQuants is ggml's make_qx_quants without an importance matrix and
// with rmse_type 1 (weights x²): it picks a scale for signed quants in
// [-nmax, nmax-1] by trying 19 candidate inverse scales around nmax/max and
// keeping the least-squares best. L receives quants offset by nmax.
func makeQXQuants(nmax int, x []float32, L []int8) float32 {
	xmax, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	quant := func(iscale, v float32) int { return max(-nmax, min(nmax-1, nearestInt(iscale*v))) }
	iscale := float32(-nmax) / xmax
	var sumlx, suml2 float32
	for i, v := range x {
		l := quant(iscale, v)
		L[i] = int8(l + nmax)
		w := v * v
		sumlx += float32(float32(w*v) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	scale := float32(0)
	if suml2 != 0 {
		scale = sumlx / suml2
	}
	best := scale * sumlx
	for is := -9; is <= 9; is++ {
		if is == 0 {
			continue
		}
		iscale = -(float32(nmax) + float32(0.1*float32(is))) / xmax
		sumlx, suml2 = 0, 0
		for _, v := range x {
			l := quant(iscale, v)
			w := v * v
			sumlx += float32(float32(w*v) * float32(l))
			suml2 += float32(float32(w*float32(l)) * float32(l))
		}
		if suml2 > 0 && float32(sumlx*sumlx) > float32(best*suml2) {
			for i, v := range x {
				L[i] = int8(nmax + quant(iscale, v))
			}
			scale = sumlx / suml2
			best = scale * sumlx
		}
	}
	return scale
}

// makeQ3Quants is ggml's make_q3_quants with do_rmse: signed quants in
// [-nmax, nmax-1] refined by up to five passes of coordinate descent on the
// x²-weighted squared error. L receives quants offset by nmax.
func makeQ3Quants(nmax int, x []float32, L []int8) float32 {
	xmax, amax := absMax(x)
	if amax < groupMaxEps {
		clear(L[:len(x)])
		return 0
	}
	iscale := float32(-nmax) / xmax
	var sumlx, suml2 float32
	for i, v := range x {
		l := max(-nmax, min(nmax-1, nearestInt(iscale*v)))
		L[i] = int8(l)
		w := v * v
		sumlx += float32(float32(w*v) * float32(l))
		suml2 += float32(float32(w*float32(l)) * float32(l))
	}
	for itry := 0; itry < 5; itry++ {
		changed := 0
		for i, v := range x {
			w := v * v
			li := float32(L[i])
			slx := sumlx - float32(float32(w*v)*li)
			if slx > 0 {
				sl2 := suml2 - float32(float32(w*li)*li)
				nl := max(-nmax, min(nmax-1, nearestInt(float32(v*sl2)/slx)))
				if nl != int(L[i]) {
					fl := float32(nl)
					slx += float32(float32(w*v) * fl)
					sl2 += float32(float32(w*fl) * fl)
					if sl2 > 0 && float32(float32(slx*slx)*suml2) > float32(float32(sumlx*sumlx)*sl2) {
						L[i] = int8(nl)
						sumlx, suml2 = slx, sl2
						changed++
					}
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for i := range x {
		L[i] += int8(nmax)
	}
	if suml2 > 0 {
		return sumlx / suml2
	}
	return 0
}

// makeQKX2Quants is ggml's make_qkx2_quants: an asymmetric (scale, min) fit
// of unsigned quants in [0, nmax] with the given weights, searching nstep+1
// candidate scales. It returns the scale and the (positive) min offset.
func makeQKX2Quants(nmax int, x, weights []float32, L, Laux []uint8, rmin, rdelta float32, nstep int, useMAD bool) (scale, theMin float32) {
	n := len(x)
	min0, max0 := x[0], x[0]
	sumW := weights[0]
	sumX := sumW * x[0]
	for i := 1; i < n; i++ {
		if x[i] < min0 {
			min0 = x[i]
		}
		if x[i] > max0 {
			max0 = x[i]
		}
		w := weights[i]
		sumW += w
		sumX += float32(w * x[i])
	}
	if min0 > 0 {
		min0 = 0
	}
	if max0 == min0 {
		clear(L[:n])
		return 0, -min0
	}
	errOf := func(diff float32) float32 {
		if useMAD {
			return abs32(diff)
		}
		return diff * diff
	}
	iscale := float32(nmax) / (max0 - min0)
	scale = 1 / iscale
	var bestErr float32
	for i, v := range x {
		l := max(0, min(nmax, nearestInt(iscale*(v-min0))))
		L[i] = uint8(l)
		diff := float32(float32(scale*float32(l))+min0) - v
		bestErr += float32(weights[i] * errOf(diff))
	}
	if nstep < 1 {
		return scale, -min0
	}
	for is := 0; is <= nstep; is++ {
		iscale = float32(float32(rmin+float32(rdelta*float32(is)))+float32(nmax)) / (max0 - min0)
		var sumL, sumL2, sumXL float32
		for i, v := range x {
			l := max(0, min(nmax, nearestInt(iscale*(v-min0))))
			Laux[i] = uint8(l)
			w := weights[i]
			fl := float32(l)
			sumL += float32(w * fl)
			sumL2 += float32(float32(w*fl) * fl)
			sumXL += float32(float32(w*fl) * v)
		}
		D := float32(sumW*sumL2) - float32(sumL*sumL)
		if D > 0 {
			thisScale := (float32(sumW*sumXL) - float32(sumX*sumL)) / D
			thisMin := (float32(sumL2*sumX) - float32(sumL*sumXL)) / D
			if thisMin > 0 {
				thisMin = 0
				thisScale = sumXL / sumL2
			}
			var cur float32
			for i, v := range x {
				diff := float32(float32(thisScale*float32(Laux[i]))+thisMin) - v
				cur += float32(weights[i] * errOf(diff))
			}
			if cur < bestErr {
				copy(L[:n], Laux[:n])
				bestErr = cur
				scale = thisScale
				min0 = thisMin
			}
		}
	}
	return scale, -min0
}

// packQ2Bits packs 256 2-bit quants the K-quant way: byte l of each
// 32-byte group holds elements l, l+32, l+64, l+96 of its 128-element half.
func packQ2Bits(L []uint8, qs []byte) {
	for j := 0; j < QK_K; j += 128 {
		for l := 0; l < 32; l++ {
			qs[j/4+l] = L[j+l] | L[j+l+32]<<2 | L[j+l+64]<<4 | L[j+l+96]<<6
		}
	}
}

// quantQ2_K is quantize_row_q2_K_ref.
func quantQ2_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	var Laux [16]uint8
	var weights [16]float32
	var mins, scales [16]float32
	const q4scale = 15
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[84*i : 84*(i+1)]
		sc := b[0:16]
		var maxScale, maxMin float32
		for j := 0; j < 16; j++ {
			for l := 0; l < 16; l++ {
				weights[l] = abs32(x[16*j+l])
			}
			scales[j], mins[j] = makeQKX2Quants(3, x[16*j:16*j+16], weights[:], L[16*j:], Laux[:], -0.5, 0.1, 15, true)
			maxScale = max(maxScale, scales[j])
			maxMin = max(maxMin, mins[j])
		}
		if maxScale > 0 {
			iscale := q4scale / maxScale
			for j := 0; j < 16; j++ {
				sc[j] = uint8(nearestInt(iscale * scales[j]))
			}
			putF16(b, 80, maxScale/q4scale)
		} else {
			clear(sc)
			putF16(b, 80, 0)
		}
		if maxMin > 0 {
			iscale := q4scale / maxMin
			for j := 0; j < 16; j++ {
				sc[j] |= uint8(nearestInt(iscale*mins[j]) << 4)
			}
			putF16(b, 82, maxMin/q4scale)
		} else {
			putF16(b, 82, 0)
		}
		dAll, dMin := f16At(b, 80), f16At(b, 82)
		for j := 0; j < 16; j++ {
			d := dAll * float32(sc[j]&0xf)
			if d == 0 {
				continue
			}
			dm := dMin * float32(sc[j]>>4)
			for ii := 0; ii < 16; ii++ {
				L[16*j+ii] = uint8(max(0, min(3, nearestInt((x[16*j+ii]+dm)/d))))
			}
		}
		packQ2Bits(L[:], b[16:80])
	}
}

// quantQ3_K is quantize_row_q3_K_ref.
func quantQ3_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[110*i : 110*(i+1)]
		hmask, qs, sc := b[0:32], b[32:96], b[96:108]
		var maxScale, amax float32
		for j := 0; j < 16; j++ {
			scales[j] = makeQ3Quants(4, x[16*j:16*j+16], L[16*j:])
			if a := abs32(scales[j]); a > amax {
				amax, maxScale = a, scales[j]
			}
		}
		clear(sc)
		if maxScale != 0 {
			iscale := -32 / maxScale
			for j := 0; j < 16; j++ {
				l := int(int8(nearestInt(iscale * scales[j])))
				l = max(-32, min(31, l)) + 32
				if j < 8 {
					sc[j] = byte(l & 0xf)
				} else {
					sc[j-8] |= byte(l&0xf) << 4
				}
				sc[8+j%4] |= byte(l>>4) << (2 * uint(j/4))
			}
			putF16(b, 108, 1/iscale)
		} else {
			putF16(b, 108, 0)
		}
		dAll := f16At(b, 108)
		for j := 0; j < 16; j++ {
			d := dAll * float32(q3KScale(sc, j))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := max(-4, min(3, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 4)
			}
		}
		clear(hmask)
		var U [QK_K]uint8
		for j := 0; j < QK_K; j++ {
			l := uint8(L[j])
			if l > 3 {
				hmask[j%32] |= 1 << uint(j/32)
				l -= 4
			}
			U[j] = l
		}
		packQ2Bits(U[:], qs)
	}
}

// packScalesK4 packs eight 6-bit scales and mins into the 12-byte Q4_K/Q5_K
// scales field (the inverse of scaleMinK4).
func packScalesK4(sc []byte, ls, lm [8]uint8) {
	for j := 0; j < 8; j++ {
		if j < 4 {
			sc[j] = ls[j]
			sc[j+4] = lm[j]
		} else {
			sc[j+4] = ls[j]&0xf | (lm[j]&0xf)<<4
			sc[j-4] |= (ls[j] >> 4) << 6
			sc[j] |= (lm[j] >> 4) << 6
		}
	}
}

// quantK4Scales runs the shared first half of the Q4_K and Q5_K reference
// quantizers: per 32-element sub-block scale/min fits, 6-bit quantization
// of them, then requantization of x against the stored scales into L.
// Header bytes (d, dmin, scales) go to b[0:16].
func quantK4Scales(x []float32, b []byte, L []uint8, nmax int, rmin, rdelta float32, nstep int) {
	var Laux [32]uint8
	var weights [32]float32
	var mins, scales [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		xb := x[32*j : 32*j+32]
		var sumX2 float32
		for _, v := range xb {
			sumX2 += float32(v * v)
		}
		avX := sqrt32(sumX2 / 32)
		for l, v := range xb {
			weights[l] = avX + abs32(v)
		}
		scales[j], mins[j] = makeQKX2Quants(nmax, xb, weights[:], L[32*j:], Laux[:], rmin, rdelta, nstep, false)
		maxScale = max(maxScale, scales[j])
		maxMin = max(maxMin, mins[j])
	}
	var invScale, invMin float32
	if maxScale > 0 {
		invScale = 63 / maxScale
	}
	if maxMin > 0 {
		invMin = 63 / maxMin
	}
	var ls, lm [8]uint8
	for j := 0; j < 8; j++ {
		ls[j] = min(63, uint8(nearestInt(invScale*scales[j])))
		lm[j] = min(63, uint8(nearestInt(invMin*mins[j])))
	}
	sc := b[4:16]
	clear(sc)
	packScalesK4(sc, ls, lm)
	putF16(b, 0, maxScale/63)
	putF16(b, 2, maxMin/63)
	dAll, dMin := f16At(b, 0), f16At(b, 2)
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		d := dAll * float32(s)
		if d == 0 {
			continue
		}
		dm := dMin * float32(m)
		for ii := 0; ii < 32; ii++ {
			L[32*j+ii] = uint8(max(0, min(nmax, nearestInt((x[32*j+ii]+dm)/d))))
		}
	}
}

// quantQ4_K is quantize_row_q4_K_ref.
func quantQ4_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[144*i : 144*(i+1)]
		quantK4Scales(x, b, L[:], 15, -1, 0.1, 20)
		q := b[16:]
		for j := 0; j < 4; j++ {
			for l := 0; l < 32; l++ {
				q[32*j+l] = L[64*j+l] | L[64*j+l+32]<<4
			}
		}
	}
}

// quantQ5_K is quantize_row_q5_K_ref.
func quantQ5_K(src []float32, dst []byte) {
	var L [QK_K]uint8
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[176*i : 176*(i+1)]
		quantK4Scales(x, b, L[:], 31, -0.5, 0.1, 15)
		qh, ql := b[16:48], b[48:176]
		clear(qh)
		for j := 0; j < 4; j++ {
			m1, m2 := byte(1)<<uint(2*j), byte(2)<<uint(2*j)
			for l := 0; l < 32; l++ {
				l1, l2 := L[64*j+l], L[64*j+l+32]
				if l1 > 15 {
					l1 -= 16
					qh[l] |= m1
				}
				if l2 > 15 {
					l2 -= 16
					qh[l] |= m2
				}
				ql[32*j+l] = l1 | l2<<4
			}
		}
	}
}

// quantQ6_K is quantize_row_q6_K_ref.
func quantQ6_K(src []float32, dst []byte) {
	var L [QK_K]int8
	var scales [16]float32
	for i := 0; i < len(src)/QK_K; i++ {
		x := src[QK_K*i : QK_K*(i+1)]
		b := dst[210*i : 210*(i+1)]
		var maxScale, maxAbsScale float32
		for ib := 0; ib < 16; ib++ {
			s := makeQXQuants(32, x[16*ib:16*ib+16], L[16*ib:])
			scales[ib] = s
			if a := abs32(s); a > maxAbsScale {
				maxAbsScale, maxScale = a, s
			}
		}
		if maxAbsScale < groupMaxEps {
			clear(b)
			continue
		}
		iscale := -128 / maxScale
		putF16(b, 208, 1/iscale)
		sc := b[192:208]
		for ib := 0; ib < 16; ib++ {
			sc[ib] = byte(int8(min(127, nearestInt(iscale*scales[ib]))))
		}
		dAll := f16At(b, 208)
		for j := 0; j < 16; j++ {
			d := dAll * float32(int8(sc[j]))
			if d == 0 {
				continue
			}
			for ii := 0; ii < 16; ii++ {
				l := max(-32, min(31, nearestInt(x[16*j+ii]/d)))
				L[16*j+ii] = int8(l + 32)
			}
		}
		for n := 0; n < 2; n++ {
			ql, qh := b[64*n:64*n+64], b[128+32*n:128+32*n+32]
			Ln := L[128*n:]
			for l := 0; l < 32; l++ {
				q1, q2 := uint8(Ln[l])&0xf, uint8(Ln[l+32])&0xf
				q3, q4 := uint8(Ln[l+64])&0xf, uint8(Ln[l+96])&0xf
				ql[l] = q1 | q3<<4
				ql[l+32] = q2 | q4<<4
				qh[l] = uint8(Ln[l])>>4 | (uint8(Ln[l+32])>>4)<<2 | (uint8(Ln[l+64])>>4)<<4 | (uint8(Ln[l+96])>>4)<<6
			}
		}
	}
}
