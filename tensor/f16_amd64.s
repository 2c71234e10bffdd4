//go:build amd64

#include "textflag.h"

// AVX-512 F16 decode kernels; see f16_amd64.go for the Go declarations.

// F16RED512 reduces the two 16-lane accumulators Z0 (elements 0-15 of
// every 32) and Z1 (16-31) into X0 in exactly the order of
// dotF16RowsAVX2's reduction, whose four 8-lane accumulators are the
// halves of Z0 and Z1: (Y0+Y1) + (Y2+Y3), then the 8-lane horizontal sum.
#define F16RED512 \
	VEXTRACTF32X8 $1, Z0, Y2 \
	VADDPS        Y2, Y0, Y0 \
	VEXTRACTF32X8 $1, Z1, Y3 \
	VADDPS        Y3, Y1, Y1 \
	VADDPS        Y1, Y0, Y0 \
	VEXTRACTF128  $1, Y0, X1 \
	VADDPS        X1, X0, X0 \
	VMOVHLPS      X0, X1, X1 \
	VADDPS        X1, X0, X0 \
	VMOVSHDUP     X0, X1     \
	VADDSS        X1, X0, X0

// func dotF16RowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// nb is the element count, a positive multiple of 32. Two 16-lane FMA
// accumulators hold the same 32 lanes as dotF16RowsAVX2's four 8-lane
// ones, each lane accumulating the same elements in the same order, so the
// results are bit-identical. The weight row is prefetched f16Ahead bytes
// ahead (into the next row at the end of one). On the Zen 5 test machine
// one thread streams a 128 MiB matrix at 30-36 GB/s against the AVX2
// kernel's 21-27 (BenchmarkF16Stream); with two threads both reach the
// memory bandwidth (28-31 GB/s). Prefetching 512 bytes or more ahead
// measured no better, 1024 worse in whole-model decoding.
#define f16Ahead 256

TEXT ·dotF16RowsAVX512(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX

f16r512row:
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	MOVQ SI, R8
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	CMPQ CX, $64
	JB   f16r512tail

f16r512loop:
	PREFETCHT0 f16Ahead(SI)
	PREFETCHT0 (f16Ahead+64)(SI)
	VCVTPH2PS 0(SI), Z4
	VCVTPH2PS 0(DI), Z8
	VFMADD231PS Z8, Z4, Z0
	VCVTPH2PS 32(SI), Z5
	VCVTPH2PS 32(DI), Z9
	VFMADD231PS Z9, Z5, Z1
	VCVTPH2PS 64(SI), Z6
	VCVTPH2PS 64(DI), Z10
	VFMADD231PS Z10, Z6, Z0
	VCVTPH2PS 96(SI), Z7
	VCVTPH2PS 96(DI), Z11
	VFMADD231PS Z11, Z7, Z1
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $64, CX
	CMPQ CX, $64
	JAE  f16r512loop

f16r512tail:
	TESTQ CX, CX
	JZ    f16r512done
	VCVTPH2PS 0(SI), Z4
	VCVTPH2PS 0(DI), Z8
	VFMADD231PS Z8, Z4, Z0
	VCVTPH2PS 32(SI), Z5
	VCVTPH2PS 32(DI), Z9
	VFMADD231PS Z9, Z5, Z1

f16r512done:
	F16RED512
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	LEAQ   (R8)(DX*1), SI
	DECQ   R13
	JNZ    f16r512row
	VZEROUPPER
	RET
