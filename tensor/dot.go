package tensor

import (
	"encoding/binary"
	"fmt"
	"os"
)

// Dot products between one weight row and one activation row, computed the
// way ggml's CPU backend does: the activation is first converted to the
// weight type's vec_dot type (see VecDotType), then each block contributes
// an exact integer sum of quant products, scaled by the blocks' float
// scales (ggml's vec_dot_*_generic). Only the order in which the per-block
// float terms are accumulated may differ from ggml's SIMD kernels.
//
// Each kernel takes the weight row w, the activation row a (already in the
// vec_dot type) and the element count n (a multiple of the block size).
// They are plain Go and kept in a table so faster per-architecture versions
// can replace individual entries.

// dotKernel computes one row dot product; see above.
type dotKernel func(w, a []byte, n int) float32

type vecDot struct {
	act Type      // the activation ("vec_dot") type
	dot dotKernel // weight row · activation row
}

var vecDots = map[Type]vecDot{
	F32:    {F32, dotF32},
	F16:    {F16, dotF16},
	BF16:   {BF16, dotBF16},
	Q4_0:   {Q8_0, dotQ4_0},
	Q4_1:   {Q8_1, dotQ4_1},
	Q5_0:   {Q8_0, dotQ5_0},
	Q5_1:   {Q8_1, dotQ5_1},
	Q8_0:   {Q8_0, dotQ8_0},
	IQ4_NL: {Q8_0, dotIQ4_NL},
	Q2_K:   {Q8_K, dotQ2_K},
	Q3_K:   {Q8_K, dotQ3_K},
	Q4_K:   {Q8_K, dotQ4_K},
	Q5_K:   {Q8_K, dotQ5_K},
	Q6_K:   {Q8_K, dotQ6_K},
	IQ4_XS: {Q8_K, dotIQ4_XS},
}

// VecDotType returns the type ggml converts activations to before taking
// dot products with weights of type t (Q8_0 for Q4_0/Q5_0/Q8_0/IQ4_NL, Q8_1
// for Q4_1/Q5_1, Q8_K for the K-quants and IQ4_XS, and t itself for F32,
// F16 and BF16). ok is false when t has no dot product kernel.
func VecDotType(t Type) (act Type, ok bool) {
	vd, ok := vecDots[t]
	return vd.act, ok
}

// CanMatVec reports whether MatVec, MatMul and VecDot support weights of
// type t.
func CanMatVec(t Type) bool { _, ok := vecDots[t]; return ok }

// VecDot returns the dot product of n elements of weight row w (type t)
// with activation row a, which must already be in VecDotType(t) (see
// QuantizeActivation).
func VecDot(t Type, w, a []byte, n int) (float32, error) {
	vd, ok := vecDots[t]
	if !ok {
		return 0, fmt.Errorf("tensor: no dot product for type %s", t)
	}
	wn, ok1 := t.RowSize(int64(n))
	an, ok2 := vd.act.RowSize(int64(n))
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("tensor: %d elements is not a whole number of %s blocks", n, t)
	}
	if int64(len(w)) < wn || int64(len(a)) < an {
		return 0, fmt.Errorf("tensor: dot of %d %s elements needs %d+%d bytes, have %d+%d", n, t, wn, an, len(w), len(a))
	}
	return vd.dot(w, a, n), nil
}

func dotF32(w, a []byte, n int) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(f32At(w, 4*i) * f32At(a, 4*i))
	}
	return s
}

// dotF16 multiplies F16 weights by an F16-rounded activation, summing the
// float32 products in float32 (ggml's F16 SIMD path).
func dotF16(w, a []byte, n int) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(f16At(w, 2*i) * f16At(a, 2*i))
	}
	return s
}

func dotBF16(w, a []byte, n int) float32 {
	var s float32
	for i := 0; i < n; i++ {
		s += float32(BF16ToF32(binary.LittleEndian.Uint16(w[2*i:])) * BF16ToF32(binary.LittleEndian.Uint16(a[2*i:])))
	}
	return s
}

// i8 reinterprets a byte as a signed quant.
func i8(b byte) int { return int(int8(b)) }

func dotQ4_0(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[18*ib:18*ib+18], a[34*ib:34*ib+34]
		qy := y[2:34]
		s := 0
		for j := 0; j < 16; j++ {
			s += (int(x[2+j]&0xf)-8)*i8(qy[j]) + (int(x[2+j]>>4)-8)*i8(qy[j+16])
		}
		sum += float32(float32(float32(s)*f16At(x, 0)) * f16At(y, 0))
	}
	return sum
}

func dotQ4_1(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[20*ib:20*ib+20], a[36*ib:36*ib+36]
		qy := y[4:36]
		s := 0
		for j := 0; j < 16; j++ {
			s += int(x[4+j]&0xf)*i8(qy[j]) + int(x[4+j]>>4)*i8(qy[j+16])
		}
		sum += float32(float32(f16At(x, 0)*f16At(y, 0))*float32(s)) + float32(f16At(x, 2)*f16At(y, 2))
	}
	return sum
}

func dotQ5_0(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[22*ib:22*ib+22], a[34*ib:34*ib+34]
		qh := binary.LittleEndian.Uint32(x[2:])
		qy := y[2:34]
		s := 0
		for j := 0; j < 16; j++ {
			x0 := int(x[6+j]&0xf) | int(qh>>uint(j))&1<<4 - 16
			x1 := int(x[6+j]>>4) | int(qh>>uint(j+16))&1<<4 - 16
			s += x0*i8(qy[j]) + x1*i8(qy[j+16])
		}
		sum += float32(float32(f16At(x, 0)*f16At(y, 0)) * float32(s))
	}
	return sum
}

func dotQ5_1(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[24*ib:24*ib+24], a[36*ib:36*ib+36]
		qh := binary.LittleEndian.Uint32(x[4:])
		qy := y[4:36]
		s := 0
		for j := 0; j < 16; j++ {
			x0 := int(x[8+j]&0xf) | int(qh>>uint(j))&1<<4
			x1 := int(x[8+j]>>4) | int(qh>>uint(j+16))&1<<4
			s += x0*i8(qy[j]) + x1*i8(qy[j+16])
		}
		sum += float32(float32(f16At(x, 0)*f16At(y, 0))*float32(s)) + float32(f16At(x, 2)*f16At(y, 2))
	}
	return sum
}

func dotQ8_0(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[34*ib:34*ib+34], a[34*ib:34*ib+34]
		s := 0
		for j := 2; j < 34; j++ {
			s += i8(x[j]) * i8(y[j])
		}
		sum += float32(float32(s) * float32(f16At(x, 0)*f16At(y, 0)))
	}
	return sum
}

func dotIQ4_NL(w, a []byte, n int) float32 {
	var sum float32
	for ib := 0; ib < n/32; ib++ {
		x, y := w[18*ib:18*ib+18], a[34*ib:34*ib+34]
		qy := y[2:34]
		s := 0
		for j := 0; j < 16; j++ {
			s += int(kvaluesIQ4NL[x[2+j]&0xf])*i8(qy[j]) + int(kvaluesIQ4NL[x[2+j]>>4])*i8(qy[j+16])
		}
		sum += float32(float32(f16At(y, 0)*f16At(x, 0)) * float32(s))
	}
	return sum
}

// q8KBlock splits a Q8_K block into its scale, quants and 16-element sums.
func q8KBlock(a []byte, i int) (d float32, qs []byte, bsum func(j int) int) {
	y := a[292*i : 292*(i+1)]
	return f32At(y, 0), y[4:260], func(j int) int { return int(int16(binary.LittleEndian.Uint16(y[260+2*j:]))) }
}

func dotQ2_K(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[84*i : 84*(i+1)]
		sc, q2 := x[0:16], x[16:80]
		dy, q8, bsum := q8KBlock(a, i)
		summs := 0
		for j := 0; j < 16; j++ {
			summs += bsum(j) * int(sc[j]>>4)
		}
		isum := 0
		for j := 0; j < 16; j++ { // sub-block j: 16 elements
			half, quarter, part := j/8, (j/2)%4, j%2
			q := q2[32*half+16*part : 32*half+16*part+16]
			y := q8[128*half+32*quarter+16*part:]
			shift := uint(2 * quarter)
			s := 0
			for l := 0; l < 16; l++ {
				s += i8(y[l]) * int((q[l]>>shift)&3)
			}
			isum += int(sc[j]&0xf) * s
		}
		dall := dy * f16At(x, 80)
		dmin := dy * f16At(x, 82)
		sum += float32(dall*float32(isum)) - float32(dmin*float32(summs))
	}
	return sum
}

func dotQ3_K(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[110*i : 110*(i+1)]
		hm, q3, sc := x[0:32], x[32:96], x[96:108]
		dy, q8, _ := q8KBlock(a, i)
		isum := 0
		for j := 0; j < 16; j++ {
			half, quarter, part := j/8, (j/2)%4, j%2
			q := q3[32*half:]
			y := q8[128*half+32*quarter+16*part:]
			shift := uint(2 * quarter)
			m := byte(1) << uint(4*half+quarter)
			s := 0
			for l := 0; l < 16; l++ {
				k := 16*part + l
				v := int((q[k] >> shift) & 3)
				if hm[k]&m == 0 {
					v -= 4
				}
				s += i8(y[l]) * v
			}
			isum += q3KScale(sc, j) * s
		}
		sum += float32(f16At(x, 108)*dy) * float32(isum)
	}
	return sum
}

// dotK4 is the shared Q4_K/Q5_K kernel; qh is nil for Q4_K.
func dotK4(x []byte, qh, qs []byte, a []byte, i int) float32 {
	dy, q8, bsum := q8KBlock(a, i)
	sc := x[4:16]
	summ, isum := 0, 0
	for j := 0; j < 8; j++ {
		s, m := scaleMinK4(j, sc)
		summ += (bsum(2*j) + bsum(2*j+1)) * int(m)
		q := qs[32*(j/2) : 32*(j/2)+32]
		y := q8[32*j : 32*j+32]
		shift := uint(4 * (j % 2))
		t := 0
		for l := 0; l < 32; l++ {
			t += i8(y[l]) * int((q[l]>>shift)&0xf)
		}
		if qh != nil { // Q5_K: add 16·y where the fifth bit is set
			h := 0
			for l := 0; l < 32; l++ {
				h += i8(y[l]) * int(qh[l]>>uint(j)&1)
			}
			t += 16 * h
		}
		isum += int(s) * t
	}
	d := f16At(x, 0) * dy
	dmin := f16At(x, 2) * dy
	return float32(d*float32(isum)) - float32(dmin*float32(summ))
}

func dotQ4_K(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[144*i : 144*(i+1)]
		sum += dotK4(x, nil, x[16:144], a, i)
	}
	return sum
}

func dotQ5_K(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[176*i : 176*(i+1)]
		sum += dotK4(x, x[16:48], x[48:176], a, i)
	}
	return sum
}

func dotQ6_K(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[210*i : 210*(i+1)]
		dy, q8, _ := q8KBlock(a, i)
		isum := 0
		for half := 0; half < 2; half++ {
			ql, qh := x[64*half:], x[128+32*half:]
			sc := x[192+8*half:]
			y := q8[128*half:]
			for k := 0; k < 4; k++ {
				lo, shift := ql[32*(k%2):32*(k%2)+32], uint(4*(k/2))
				yk := y[32*k : 32*k+32]
				for part := 0; part < 2; part++ {
					s := 0
					for l := 16 * part; l < 16*part+16; l++ {
						q := int((lo[l]>>shift)&0xf) | int(qh[l]>>(2*uint(k)))&3<<4 - 32
						s += i8(yk[l]) * q
					}
					isum += i8(sc[2*k+part]) * s
				}
			}
		}
		sum += float32(f16At(x, 208)*dy) * float32(isum)
	}
	return sum
}

func dotIQ4_XS(w, a []byte, n int) float32 {
	var sum float32
	for i := 0; i < n/QK_K; i++ {
		x := w[136*i : 136*(i+1)]
		dy, q8, _ := q8KBlock(a, i)
		d4d8 := f16At(x, 0) * dy
		sh := binary.LittleEndian.Uint16(x[2:])
		sl, qs := x[4:8], x[8:136]
		for ib := 0; ib < 8; ib++ {
			ls := int(sl[ib/2]>>(4*uint(ib%2)))&0xf | int(sh>>(2*uint(ib)))&3<<4
			q, y := qs[16*ib:16*ib+16], q8[32*ib:32*ib+32]
			s := 0
			for j := 0; j < 16; j++ {
				s += i8(y[j])*int(kvaluesIQ4NL[q[j]&0xf]) + i8(y[j+16])*int(kvaluesIQ4NL[q[j]>>4])
			}
			sum += float32(float32(d4d8*float32(ls-32)) * float32(s))
		}
	}
	return sum
}

// rowsKernel is a multi-row dot kernel: it sets out[r] to the dot product
// of the weight row at w[r·stride:] with activation row a (n elements) for
// the first rows of out it handles, in whole groups (e.g. of four rows
// sharing each activation load), and returns how many it did.
type rowsKernel func(w []byte, stride int, a []byte, n int, out []float32) int

// vecDotRows holds the multi-row kernels available on this machine; see
// dotRows. Architecture files fill it at start-up.
var vecDotRows = map[Type]rowsKernel{}

// dotRows sets out[r] = dot(weight row r, a) for r < len(out), where weight
// row r (type t, n elements) starts at w[r·stride:] and a is in
// VecDotType(t). It uses a multi-row kernel where one exists and the
// single-row kernel for the remaining rows; results equal VecDot's up to
// float accumulation order. t must have a kernel (CanMatVec) and the
// buffers must be large enough, as for MatVecQuantized.
func dotRows(t Type, w []byte, stride int, a []byte, n int, out []float32) {
	r := 0
	if k := vecDotRows[t]; k != nil {
		r = k(w, stride, a, n, out)
	}
	dot := vecDots[t].dot
	for ; r < len(out); r++ {
		out[r] = dot(w[r*stride:], a, n)
	}
}

// KernelSet names the dot-product kernels in use: "avx512vnni" when the
// amd64 AVX-512 VNNI kernels are active (GOLEM_NO_AVX512=1 turns them
// off), "avx2" for the AVX2 assembly kernels, "portable" otherwise (other
// architectures, CPUs without AVX2/FMA/F16C, or GOLEM_NO_SIMD=1).
func KernelSet() string { return simdName }

// CPUFeatures lists the vector extensions detected on this CPU that the
// kernels care about (empty off amd64), for diagnostics.
func CPUFeatures() []string { return cpuFeatures() }

// envSet reports whether the environment variable is set to a non-empty
// value other than "0" (GOLEM_NO_SIMD, GOLEM_NO_AVX512).
func envSet(name string) bool {
	v := os.Getenv(name)
	return v != "" && v != "0"
}
