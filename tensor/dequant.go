package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// dequantizers maps each type to the function that expands whole blocks of
// src into dst (len(dst) elements, a multiple of the block size; src holds
// at least that many blocks). The arithmetic mirrors ggml's to_float
// functions operation for operation (float32 products, no fused
// multiply-add) so the results are bit-identical to llama.cpp's.
var dequantizers = map[Type]func(src []byte, dst []float32){
	F32:    dequantF32,
	F16:    dequantF16,
	BF16:   dequantBF16,
	Q4_0:   dequantQ4_0,
	Q4_1:   dequantQ4_1,
	Q5_0:   dequantQ5_0,
	Q5_1:   dequantQ5_1,
	Q8_0:   dequantQ8_0,
	Q8_1:   dequantQ8_1,
	Q2_K:   dequantQ2_K,
	Q3_K:   dequantQ3_K,
	Q4_K:   dequantQ4_K,
	Q5_K:   dequantQ5_K,
	Q6_K:   dequantQ6_K,
	Q8_K:   dequantQ8_K,
	IQ4_NL: dequantIQ4_NL,
	IQ4_XS: dequantIQ4_XS,
}

// CanDequantize reports whether Dequantize supports t.
func CanDequantize(t Type) bool { _, ok := dequantizers[t]; return ok }

// Dequantize expands len(dst) elements stored as type t in src to float32.
// len(dst) must be a multiple of t's block size and src must hold them.
func Dequantize(t Type, src []byte, dst []float32) error {
	fn, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("tensor: cannot dequantize type %s", t)
	}
	need, ok := t.RowSize(int64(len(dst)))
	if !ok {
		return fmt.Errorf("tensor: %d elements is not a whole number of %s blocks", len(dst), t)
	}
	if int64(len(src)) < need {
		return fmt.Errorf("tensor: %s data is %d bytes, need %d", t, len(src), need)
	}
	fn(src, dst)
	return nil
}

// f16Table holds F16ToF32 of every half-precision bit pattern (256 KiB),
// the same trick ggml uses to make bulk conversion a single load.
var f16Table = func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = F16ToF32(uint16(i))
	}
	return &t
}()

// f16At reads the little-endian half-precision value at b[off:].
func f16At(b []byte, off int) float32 { return f16Table[binary.LittleEndian.Uint16(b[off:])] }

// f32At reads the little-endian float32 at b[off:].
func f32At(b []byte, off int) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[off:]))
}

func dequantF32(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = f32At(src, 4*i)
	}
}

func dequantF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = f16At(src, 2*i)
	}
}

func dequantBF16(src []byte, dst []float32) {
	for i := range dst {
		dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
	}
}

// Legacy 32-element blocks. Q4_0: f16 d, 16 bytes of nibbles; element j is
// the low nibble of qs[j], element j+16 the high nibble; value (q-8)·d.
func dequantQ4_0(src []byte, dst []float32) {
	const bs = 18
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		y := dst[i*32 : i*32+32]
		for j := 0; j < 16; j++ {
			y[j] = float32(int(b[2+j]&0xf)-8) * d
			y[j+16] = float32(int(b[2+j]>>4)-8) * d
		}
	}
}

// Q4_1: f16 d, f16 m, 16 bytes of nibbles; value q·d + m.
func dequantQ4_1(src []byte, dst []float32) {
	const bs = 20
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d, m := f16At(b, 0), f16At(b, 2)
		y := dst[i*32 : i*32+32]
		for j := 0; j < 16; j++ {
			y[j] = float32(float32(b[4+j]&0xf)*d) + m
			y[j+16] = float32(float32(b[4+j]>>4)*d) + m
		}
	}
}

// Q5_0: f16 d, 32-bit high-bit mask qh, 16 bytes of nibbles; value (q-16)·d.
func dequantQ5_0(src []byte, dst []float32) {
	const bs = 22
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		qh := binary.LittleEndian.Uint32(b[2:])
		y := dst[i*32 : i*32+32]
		for j := 0; j < 16; j++ {
			h0 := int(qh>>uint(j)) & 1 << 4
			h1 := int(qh>>uint(j+16)) & 1 << 4
			y[j] = float32(int(b[6+j]&0xf)|h0-16) * d
			y[j+16] = float32(int(b[6+j]>>4)|h1-16) * d
		}
	}
}

// Q5_1: f16 d, f16 m, qh, nibbles; value q·d + m.
func dequantQ5_1(src []byte, dst []float32) {
	const bs = 24
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d, m := f16At(b, 0), f16At(b, 2)
		qh := binary.LittleEndian.Uint32(b[4:])
		y := dst[i*32 : i*32+32]
		for j := 0; j < 16; j++ {
			h0 := int(qh>>uint(j)) & 1 << 4
			h1 := int(qh>>uint(j+16)) & 1 << 4
			y[j] = float32(float32(int(b[8+j]&0xf)|h0)*d) + m
			y[j+16] = float32(float32(int(b[8+j]>>4)|h1)*d) + m
		}
	}
}

// Q8_0: f16 d, 32 int8; value q·d.
func dequantQ8_0(src []byte, dst []float32) {
	const bs = 34
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		y := dst[i*32 : i*32+32]
		for j := range y {
			y[j] = float32(int8(b[2+j])) * d
		}
	}
}

// Q8_1: f16 d, f16 s (= d·Σq), 32 int8; value q·d. ggml has no to_float
// for Q8_1; this is the obvious one.
func dequantQ8_1(src []byte, dst []float32) {
	const bs = 36
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		y := dst[i*32 : i*32+32]
		for j := range y {
			y[j] = float32(int8(b[4+j])) * d
		}
	}
}

// kvaluesIQ4NL is the non-linear 4-bit codebook of IQ4_NL and IQ4_XS.
var kvaluesIQ4NL = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// IQ4_NL: f16 d, 16 bytes of nibbles indexing kvaluesIQ4NL; value d·kv[q].
func dequantIQ4_NL(src []byte, dst []float32) {
	const bs = 18
	for i := 0; i < len(dst)/32; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		y := dst[i*32 : i*32+32]
		for j := 0; j < 16; j++ {
			y[j] = d * float32(kvaluesIQ4NL[b[2+j]&0xf])
			y[j+16] = d * float32(kvaluesIQ4NL[b[2+j]>>4])
		}
	}
}

// IQ4_XS: f16 d, u16 scales_h (2 high bits per sub-block), 4 bytes
// scales_l (4 low bits per sub-block), 128 bytes of nibbles; eight 32-element
// sub-blocks with 6-bit scales ls, value d·(ls-32)·kv[q].
func dequantIQ4_XS(src []byte, dst []float32) {
	const bs = 136
	for i := 0; i < len(dst)/QK_K; i++ {
		b := src[i*bs : (i+1)*bs]
		d := f16At(b, 0)
		sh := binary.LittleEndian.Uint16(b[2:])
		sl := b[4:8]
		qs := b[8:]
		y := dst[i*QK_K : (i+1)*QK_K]
		for ib := 0; ib < 8; ib++ {
			ls := int(sl[ib/2]>>(4*(ib%2)))&0xf | int(sh>>(2*ib))&3<<4
			dl := d * float32(ls-32)
			q := qs[16*ib:]
			yb := y[32*ib:]
			for j := 0; j < 16; j++ {
				yb[j] = dl * float32(kvaluesIQ4NL[q[j]&0xf])
				yb[j+16] = dl * float32(kvaluesIQ4NL[q[j]>>4])
			}
		}
	}
}
