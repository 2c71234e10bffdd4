//go:build amd64

#include "textflag.h"

// AVX2 activation quantizers (Q8_K, Q8_0, Q8_1), declared and wrapped in
// dot_amd64.go. They reproduce the portable quantizers bit
// for bit: float32 products, round-half-even conversion (VCVTPS2DQ under
// the default MXCSR, like ggml's nearest_int and math.RoundToEven), and
// saturating packs that match the portable clamps for the values that can
// occur. Blocks with NaN, infinite or extreme values are left to the Go
// code.

// permd<> undoes the lane interleaving of VPACKSSDW+VPACKSSWB.
DATA permd<>+0(SB)/4, $0
DATA permd<>+4(SB)/4, $4
DATA permd<>+8(SB)/4, $1
DATA permd<>+12(SB)/4, $5
DATA permd<>+16(SB)/4, $2
DATA permd<>+20(SB)/4, $6
DATA permd<>+24(SB)/4, $3
DATA permd<>+28(SB)/4, $7
GLOBL permd<>(SB), RODATA|NOPTR, $32

// PACK32(a, b, c, d) packs the int32 lanes of a, b, c, d (32 values in
// order) to 32 saturated int8 in a; Y14 must hold permd<>.
#define PACK32(a, b, c, d) \
	VPACKSSDW b, a, a \
	VPACKSSDW d, c, c \
	VPACKSSWB c, a, a \
	VPERMD    a, Y14, a

// func q8KAbsMaxAVX2(x *float32) (amax float32, idx int)
//
// For 256 floats: amax = max |x[i]| ignoring NaNs, idx = the first i with
// |x[i]| == amax, or -1 if some x[i] is NaN.
TEXT ·q8KAbsMaxAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15
	VXORPS       Y0, Y0, Y0
	VXORPS       Y1, Y1, Y1
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3
	VXORPS       Y4, Y4, Y4 // NaN lanes
	MOVQ         $8, CX

absloop:
	VANDPS  (SI), Y15, Y5
	VANDPS  32(SI), Y15, Y6
	VANDPS  64(SI), Y15, Y7
	VANDPS  96(SI), Y15, Y8
	VCMPPS  $3, Y6, Y5, Y9 // unordered: either is NaN
	VCMPPS  $3, Y8, Y7, Y10
	VORPS   Y9, Y4, Y4
	VORPS   Y10, Y4, Y4
	VMAXPS  Y0, Y5, Y0     // (x > acc) ? x : acc, so NaN x is skipped
	VMAXPS  Y1, Y6, Y1
	VMAXPS  Y2, Y7, Y2
	VMAXPS  Y3, Y8, Y3
	ADDQ    $128, SI
	DECQ    CX
	JNZ     absloop

	VMOVMSKPS Y4, AX
	TESTL     AX, AX
	JNZ       hasnan
	VMAXPS    Y1, Y0, Y0
	VMAXPS    Y3, Y2, Y2
	VMAXPS    Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS    X1, X0, X0
	VPERMILPS $0x4e, X0, X1
	VMAXPS    X1, X0, X0
	VPERMILPS $0xb1, X0, X1
	VMAXPS    X1, X0, X0   // amax in every lane
	VINSERTF128 $1, X0, Y0, Y0
	MOVQ      x+0(FP), SI
	XORQ      CX, CX

findloop:
	VANDPS    (SI)(CX*4), Y15, Y5
	VCMPPS    $0, Y0, Y5, Y6 // |x| == amax
	VMOVMSKPS Y6, AX
	TESTL     AX, AX
	JNZ       found
	ADDQ      $8, CX
	CMPQ      CX, $256
	JLT       findloop
	MOVQ      $-1, CX // not reached: amax is one of the |x|

found:
	BSFL  AX, AX
	ADDQ  AX, CX
	VZEROUPPER
	MOVSS X0, amax+8(FP)
	MOVQ  CX, idx+16(FP)
	RET

hasnan:
	VZEROUPPER
	MOVL $0, amax+8(FP)
	MOVQ $-1, idx+16(FP)
	RET

// func q8KQuantAVX2(x *float32, iscale float32, y *byte)
//
// Stores the 256 quants round(iscale·x[i]) at y[4:260] and their 16-element
// sums (int16) at y[260:292] of a Q8_K block; the caller writes d.
TEXT ·q8KQuantAVX2(SB), NOSPLIT, $0-24
	MOVQ         x+0(FP), SI
	VBROADCASTSS iscale+8(FP), Y15
	MOVQ         y+16(FP), DI
	VMOVDQU      permd<>(SB), Y14
	LEAQ         4(DI), DX
	MOVQ         $8, CX

qkloop:
	VMULPS    (SI), Y15, Y0
	VMULPS    32(SI), Y15, Y1
	VMULPS    64(SI), Y15, Y2
	VMULPS    96(SI), Y15, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	PACK32(Y0, Y1, Y2, Y3)
	VMOVDQU   Y0, (DX)
	ADDQ      $128, SI
	ADDQ      $32, DX
	DECQ      CX
	JNZ       qkloop

	// bsums: t_k = 8 sums of 4 quants of quants[32k:32k+32]; two rounds of
	// VPHADDD leave [bs0 bs2 bs4 bs6 | bs1 bs3 bs5 bs7] and the same for
	// bs8-15, which VPACKSSDW and a word interleave put in order.
	MOVL         $0x01010101, AX
	VMOVD        AX, X13
	VPBROADCASTD X13, Y13 // bytes of 1
	VPCMPEQW     Y12, Y12, Y12
	VPSRLW       $15, Y12, Y12 // words of 1
	VPMADDUBSW   4(DI), Y13, Y0
	VPMADDUBSW   36(DI), Y13, Y1
	VPMADDUBSW   68(DI), Y13, Y2
	VPMADDUBSW   100(DI), Y13, Y3
	VPMADDUBSW   132(DI), Y13, Y4
	VPMADDUBSW   164(DI), Y13, Y5
	VPMADDUBSW   196(DI), Y13, Y6
	VPMADDUBSW   228(DI), Y13, Y7
	VPMADDWD     Y12, Y0, Y0
	VPMADDWD     Y12, Y1, Y1
	VPMADDWD     Y12, Y2, Y2
	VPMADDWD     Y12, Y3, Y3
	VPMADDWD     Y12, Y4, Y4
	VPMADDWD     Y12, Y5, Y5
	VPMADDWD     Y12, Y6, Y6
	VPMADDWD     Y12, Y7, Y7
	VPHADDD      Y1, Y0, Y0
	VPHADDD      Y3, Y2, Y2
	VPHADDD      Y5, Y4, Y4
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y2, Y0, Y0
	VPHADDD      Y6, Y4, Y4
	VPACKSSDW    Y4, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPUNPCKLWD   X1, X0, X2
	VPUNPCKHWD   X1, X0, X3
	VMOVDQU      X2, 260(DI)
	VMOVDQU      X3, 276(DI)
	VZEROUPPER
	RET

// func q8ActAVX2(x *float32, y *byte, nb int, q81 bool) (done int)
//
// Quantizes up to nb 32-element blocks as quantQ8_0Act (q81 false: 34-byte
// blocks, quants at +2) or quantQ8_1Act (q81: 36-byte blocks, s = d·Σq at
// +2, quants at +4): d = amax/127, quants round(x·(127/amax)). It stops
// before the first block containing a NaN or whose amax is not within
// [1e-30, MaxFloat32] (zero, tiny, infinite), which the caller quantizes
// in Go, and returns the number of blocks done.
TEXT ·q8ActAVX2(SB), NOSPLIT, $0-40
	MOVQ         x+0(FP), SI
	MOVQ         y+8(FP), DI
	MOVQ         nb+16(FP), CX
	XORQ         BX, BX // blocks done
	MOVQ         $2, R8  // quant offset
	MOVQ         $34, R9 // block size
	MOVBLZX      q81+24(FP), AX
	TESTL        AX, AX
	JZ           setup
	MOVQ         $4, R8
	MOVQ         $36, R9

setup:
	MOVL         $0x7fffffff, AX
	VMOVD        AX, X15
	VPBROADCASTD X15, Y15 // abs mask
	VMOVDQU      permd<>(SB), Y14
	MOVL         $0x42fe0000, AX // 127
	VMOVD        AX, X13
	MOVL         $0x0da24260, AX // 1e-30
	VMOVD        AX, X12
	MOVL         $0x7f7fffff, AX // MaxFloat32
	VMOVD        AX, X11
	TESTQ        CX, CX
	JLE          actdone

actloop:
	VMOVUPS   (SI), Y0
	VMOVUPS   32(SI), Y1
	VMOVUPS   64(SI), Y2
	VMOVUPS   96(SI), Y3
	VCMPPS    $3, Y1, Y0, Y4
	VCMPPS    $3, Y3, Y2, Y5
	VORPS     Y5, Y4, Y4
	VMOVMSKPS Y4, AX
	TESTL     AX, AX
	JNZ       actdone
	VANDPS    Y15, Y0, Y4
	VANDPS    Y15, Y1, Y5
	VANDPS    Y15, Y2, Y6
	VANDPS    Y15, Y3, Y7
	VMAXPS    Y5, Y4, Y4
	VMAXPS    Y7, Y6, Y6
	VMAXPS    Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS    X5, X4, X4
	VPERMILPS $0x4e, X4, X5
	VMAXPS    X5, X4, X4
	VPERMILPS $0xb1, X4, X5
	VMAXPS    X5, X4, X4 // amax
	VCMPSS    $0x1d, X12, X4, X5 // amax >= 1e-30 (false for NaN)
	VCMPSS    $0x12, X11, X4, X6 // amax <= MaxFloat32
	VANDPS    X6, X5, X5
	VMOVD     X5, AX
	TESTL     AX, AX
	JZ        actdone
	VDIVSS    X13, X4, X5  // d = amax/127
	VDIVSS    X4, X13, X6  // id = 127/amax
	VBROADCASTSS X6, Y6
	VMULPS    Y6, Y0, Y0
	VMULPS    Y6, Y1, Y1
	VMULPS    Y6, Y2, Y2
	VMULPS    Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	CMPQ      R8, $2
	JEQ       actpack
	VPADDD    Y1, Y0, Y7 // Q8_1: s = d·Σq
	VPADDD    Y3, Y2, Y8
	VPADDD    Y8, Y7, Y7
	VEXTRACTI128 $1, Y7, X8
	VPADDD    X8, X7, X7
	VPSHUFD   $0x4e, X7, X8
	VPADDD    X8, X7, X7
	VPSHUFD   $0xb1, X7, X8
	VPADDD    X8, X7, X7
	VCVTDQ2PS X7, X7
	VMULSS    X7, X5, X7
	VCVTPS2PH $0, X7, X7
	VPEXTRW   $0, X7, AX
	MOVW      AX, 2(DI)

actpack:
	VCVTPS2PH $0, X5, X5
	VPEXTRW   $0, X5, AX
	MOVW      AX, (DI)
	PACK32(Y0, Y1, Y2, Y3)
	VMOVDQU   Y0, (DI)(R8*1)
	ADDQ      $128, SI
	ADDQ      R9, DI
	INCQ      BX
	CMPQ      BX, CX
	JLT       actloop

actdone:
	VZEROUPPER
	MOVQ BX, done+32(FP)
	RET

// func f32ToF16AVX2(x *float32, y *byte, n int)
//
// Converts n floats (a positive multiple of 8) to half precision with
// VCVTPS2PH, rounding to nearest even like F32ToF16 (NaNs keep their sign
// and top payload bits and come out quiet, as F32ToF16 makes them).
TEXT ·f32ToF16AVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ y+8(FP), DI
	MOVQ n+16(FP), CX

f16cvtloop:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X0
	VMOVDQU   X0, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	SUBQ      $8, CX
	JNZ       f16cvtloop
	VZEROUPPER
	RET
