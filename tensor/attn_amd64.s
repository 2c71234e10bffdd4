//go:build amd64

#include "textflag.h"

// Attention helpers over F16 vectors; see attn.go for the arithmetic they
// reproduce. Conversions use F16C with round-to-nearest-even (imm 0).

// REDUCE16 adds the 16 float32 lanes held in Y0 (lanes 0-7) and Y1 (lanes
// 8-15) in ggml's order (lane l += lane l+8, then l+4, l+2, l+1), leaving
// the sum in X0.
#define REDUCE16 \
	VADDPS       Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X1, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0

// func dotF16x64AVX2(k *uint16, q *float32, n int) float32
//
// n is a positive multiple of 64. The four 16-lane accumulators of ggml's
// AVX-512 loop live in register pairs: accumulator j is Y(2j) (lanes 0-7)
// and Y(2j+1) (lanes 8-15).
TEXT ·dotF16x64AVX2(SB), NOSPLIT, $0-28
	MOVQ   k+0(FP), SI
	MOVQ   q+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

dot2loop:
	VCVTPH2PS   0(SI), Y8
	VCVTPH2PS   16(SI), Y9
	VCVTPH2PS   32(SI), Y10
	VCVTPH2PS   48(SI), Y11
	VFMADD231PS 0(DI), Y8, Y0
	VFMADD231PS 32(DI), Y9, Y1
	VFMADD231PS 64(DI), Y10, Y2
	VFMADD231PS 96(DI), Y11, Y3
	VCVTPH2PS   64(SI), Y8
	VCVTPH2PS   80(SI), Y9
	VCVTPH2PS   96(SI), Y10
	VCVTPH2PS   112(SI), Y11
	VFMADD231PS 128(DI), Y8, Y4
	VFMADD231PS 160(DI), Y9, Y5
	VFMADD231PS 192(DI), Y10, Y6
	VFMADD231PS 224(DI), Y11, Y7
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JNZ         dot2loop

	// r = (acc0 + acc2) + (acc1 + acc3), per half.
	VADDPS Y4, Y0, Y0
	VADDPS Y6, Y2, Y2
	VADDPS Y2, Y0, Y0
	VADDPS Y5, Y1, Y1
	VADDPS Y7, Y3, Y3
	VADDPS Y3, Y1, Y1
	REDUCE16
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func dotF16x64AVX512(k *uint16, q *float32, n int) float32
//
// n is a positive multiple of 64; accumulator j is Z(j), as in ggml.
TEXT ·dotF16x64AVX512(SB), NOSPLIT, $0-28
	MOVQ   k+0(FP), SI
	MOVQ   q+8(FP), DI
	MOVQ   n+16(FP), CX
	VXORPS Z0, Z0, Z0
	VXORPS Z1, Z1, Z1
	VXORPS Z2, Z2, Z2
	VXORPS Z3, Z3, Z3

dot5loop:
	VCVTPH2PS   0(SI), Z4
	VCVTPH2PS   32(SI), Z5
	VCVTPH2PS   64(SI), Z6
	VCVTPH2PS   96(SI), Z7
	VFMADD231PS 0(DI), Z4, Z0
	VFMADD231PS 64(DI), Z5, Z1
	VFMADD231PS 128(DI), Z6, Z2
	VFMADD231PS 192(DI), Z7, Z3
	ADDQ        $128, SI
	ADDQ        $256, DI
	SUBQ        $64, CX
	JNZ         dot5loop

	VADDPS        Z2, Z0, Z0
	VADDPS        Z3, Z1, Z1
	VADDPS        Z1, Z0, Z0
	VEXTRACTF64X4 $1, Z0, Y1
	REDUCE16
	VMOVSS        X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyF16x64AVX2(acc, v *uint16, n int, s float32)
//
// acc[i] = F16(fma(v[i], s, acc[i])); n is a positive multiple of 64
// (a multiple of 16 suffices).
TEXT ·axpyF16x64AVX2(SB), NOSPLIT, $0-28
	MOVQ         acc+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Y15

axpy2loop:
	VCVTPH2PS   0(DI), Y0
	VCVTPH2PS   16(DI), Y1
	VCVTPH2PS   0(SI), Y2
	VCVTPH2PS   16(SI), Y3
	VFMADD231PS Y15, Y2, Y0
	VFMADD231PS Y15, Y3, Y1
	VCVTPS2PH   $0, Y0, 0(DI)
	VCVTPS2PH   $0, Y1, 16(DI)
	ADDQ        $32, DI
	ADDQ        $32, SI
	SUBQ        $16, CX
	JNZ         axpy2loop
	VZEROUPPER
	RET

// func axpyF16x64AVX512(acc, v *uint16, n int, s float32)
//
// As axpyF16x64AVX2, 16 lanes per register; n a positive multiple of 32.
TEXT ·axpyF16x64AVX512(SB), NOSPLIT, $0-28
	MOVQ         acc+0(FP), DI
	MOVQ         v+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSS s+24(FP), Z15

axpy5loop:
	VCVTPH2PS   0(DI), Z0
	VCVTPH2PS   32(DI), Z1
	VCVTPH2PS   0(SI), Z2
	VCVTPH2PS   32(SI), Z3
	VFMADD231PS Z15, Z2, Z0
	VFMADD231PS Z15, Z3, Z1
	VCVTPS2PH   $0, Z0, 0(DI)
	VCVTPS2PH   $0, Z1, 32(DI)
	ADDQ        $64, DI
	ADDQ        $64, SI
	SUBQ        $32, CX
	JNZ         axpy5loop
	VZEROUPPER
	RET

// func scaleF16x8AVX2(acc *uint16, n int, s float32)
//
// acc[i] = F16(acc[i]·s); n is a positive multiple of 8.
TEXT ·scaleF16x8AVX2(SB), NOSPLIT, $0-20
	MOVQ         acc+0(FP), DI
	MOVQ         n+8(FP), CX
	VBROADCASTSS s+16(FP), Y15

scaleloop:
	VCVTPH2PS 0(DI), Y0
	VMULPS    Y15, Y0, Y0
	VCVTPS2PH $0, Y0, 0(DI)
	ADDQ      $16, DI
	SUBQ      $8, CX
	JNZ       scaleloop
	VZEROUPPER
	RET

// func cvtF32ToF16x8AVX2(dst *uint16, src *float32, n int)
//
// n is a positive multiple of 8.
TEXT ·cvtF32ToF16x8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

tohalfloop:
	VMOVUPS   0(SI), Y0
	VCVTPS2PH $0, Y0, 0(DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, CX
	JNZ       tohalfloop
	VZEROUPPER
	RET

// func cvtF16ToF32x8AVX2(dst *float32, src *uint16, n int)
//
// n is a positive multiple of 8.
TEXT ·cvtF16ToF32x8AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

fromhalfloop:
	VCVTPH2PS 0(SI), Y0
	VMOVUPS   Y0, 0(DI)
	ADDQ      $16, SI
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       fromhalfloop
	VZEROUPPER
	RET

// func roundF16x8AVX2(x *float32, n int)
//
// x[i] = F32(F16(x[i])); n is a positive multiple of 8.
TEXT ·roundF16x8AVX2(SB), NOSPLIT, $0-16
	MOVQ x+0(FP), DI
	MOVQ n+8(FP), CX

roundloop:
	VMOVUPS   0(DI), Y0
	VCVTPS2PH $0, Y0, X0
	VCVTPH2PS X0, Y0
	VMOVUPS   Y0, 0(DI)
	ADDQ      $32, DI
	SUBQ      $8, CX
	JNZ       roundloop
	VZEROUPPER
	RET

// func weightedSum32AVX2(dst, w *float32, n int, rows *float32, stride int)
//
// dst[0:32] = Σ_{i<n} w[i]·rows[i·stride : i·stride+32], one FMA per row
// and element in row order; n > 0, stride in elements.
TEXT ·weightedSum32AVX2(SB), NOSPLIT, $0-40
	MOVQ   dst+0(FP), DI
	MOVQ   w+8(FP), SI
	MOVQ   n+16(FP), CX
	MOVQ   rows+24(FP), R8
	MOVQ   stride+32(FP), R9
	SHLQ   $2, R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

wsumloop:
	VBROADCASTSS 0(SI), Y4
	VFMADD231PS  0(R8), Y4, Y0
	VFMADD231PS  32(R8), Y4, Y1
	VFMADD231PS  64(R8), Y4, Y2
	VFMADD231PS  96(R8), Y4, Y3
	ADDQ         $4, SI
	ADDQ         R9, R8
	DECQ         CX
	JNZ          wsumloop

	VMOVUPS Y0, 0(DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	VZEROUPPER
	RET

// BCAST32 sets every 32-bit lane of Y register r to the constant c,
// through AX and the X register x (the low half of r).
#define BCAST32(c, x, r) \
	MOVL         c, AX \
	VMOVD        AX, x \
	VPBROADCASTD x, r

// func expF32x8AVX2(dst, src *float32, n int, shift float32)
//
// dst[i] = e^(src[i]-shift) as expF32 in attn.go computes it (same
// float32 operations, same order, no fused multiply-adds); n is a
// positive multiple of 8. The shift lives in memory (no register left).
TEXT ·expF32x8AVX2(SB), NOSPLIT, $0-28
	MOVQ    dst+0(FP), DI
	MOVQ    src+8(FP), SI
	MOVQ    n+16(FP), CX
	BCAST32($0x42b0bd71, X4, Y4)   // expHi
	BCAST32($0xc2aeac4f, X5, Y5)   // expLo
	BCAST32($0x3fb8aa3b, X6, Y6)   // log2(e)
	BCAST32($0x3f318000, X7, Y7)   // expC1
	BCAST32($0xb95e8083, X8, Y8)   // expC2
	BCAST32($0x3ab743ce, X9, Y9)   // expP1
	BCAST32($0x3c088908, X10, Y10) // expP2
	BCAST32($0x3d2aa9c1, X11, Y11) // expP3
	BCAST32($0x3e2aaaaa, X12, Y12) // expP4
	BCAST32($0x3f000000, X13, Y13) // expP5
	BCAST32($0x3f800000, X14, Y14) // 1.0
	BCAST32($127, X15, Y15)        // exponent bias

exploop:
	VMOVUPS      0(SI), Y0
	VBROADCASTSS shift+24(FP), Y1
	VSUBPS       Y1, Y0, Y0             // x - shift
	VMAXPS   Y5, Y0, Y0
	VMINPS   Y4, Y0, Y0
	VMULPS   Y6, Y0, Y1
	VROUNDPS $0, Y1, Y1             // fx = round-to-even(x·log2 e)
	VMULPS   Y7, Y1, Y3
	VSUBPS   Y3, Y0, Y2             // r = x - fx·C1
	VMULPS   Y8, Y1, Y3
	VSUBPS   Y3, Y2, Y2             // r -= fx·C2
	VMULPS   Y2, Y2, Y0             // r²
	BCAST32($0x39506967, X3, Y3)   // y = expP0
	VMULPS   Y2, Y3, Y3
	VADDPS   Y9, Y3, Y3
	VMULPS   Y2, Y3, Y3
	VADDPS   Y10, Y3, Y3
	VMULPS   Y2, Y3, Y3
	VADDPS   Y11, Y3, Y3
	VMULPS   Y2, Y3, Y3
	VADDPS   Y12, Y3, Y3
	VMULPS   Y2, Y3, Y3
	VADDPS   Y13, Y3, Y3
	VMULPS   Y0, Y3, Y3             // y·r²
	VADDPS   Y2, Y3, Y3             // + r
	VADDPS   Y14, Y3, Y3            // + 1
	VCVTPS2DQ Y1, Y1
	VPADDD   Y15, Y1, Y1
	VPSLLD   $23, Y1, Y1            // 2^fx
	VMULPS   Y1, Y3, Y3
	VMOVUPS  Y3, 0(DI)
	ADDQ     $32, SI
	ADDQ     $32, DI
	SUBQ     $8, CX
	JNZ      exploop
	VZEROUPPER
	RET
