//go:build amd64

#include "textflag.h"

// AVX-512 VNNI GEMM micro-kernels for prompt processing; see gemm_amd64.go
// for the Go side and the repacked weight layout. A tile is 16 weight rows
// (one int32/float32 lane of a zmm register per row) by 8 activation rows
// (tokens). Per weight block the 16 rows' quants are loaded once, as four
// bytes per row per register, and multiplied with each token's matching
// four activation quants, broadcast from memory by VPDPBUSD, so lane r of
// token c's accumulator collects the exact integer block sum of row r and
// token c with no horizontal reduction. Per block and token the sum is then
// converted to float and accumulated with one FMA against dx·dy, the
// arithmetic of the AVX2 Q4_0 row kernels, so the results agree bit for bit.
//
// Token c's activation row is at a + c·as (as = activation row stride):
// c = 0..7 are addressed as (DI), (DI)(BX*1), (DI)(BX*2), (R8), (R8)(BX*1),
// (R8)(BX*2), (R9), (R8)(BX*4) with R8 = a + 3·as and R9 = a + 6·as.
//
// side holds, per block, the 8 tokens' float32 activation scales dy and
// then their int32 block corrections (the offset term folded into the
// integer sum, e.g. -8·Σy for Q4_0), 64 bytes a block.
//
// Registers: Z0-Z7 float accumulators, Z8-Z15 integer block sums (one
// pair per token), Z16 constants, Z17 weight scales dx, Z18-Z23 scratch.

// INITACC loads the eight tokens' block corrections into the integer sums.
#define INITACC \
	VPBROADCASTD 32(DX), Z8 \
	VPBROADCASTD 36(DX), Z9 \
	VPBROADCASTD 40(DX), Z10 \
	VPBROADCASTD 44(DX), Z11 \
	VPBROADCASTD 48(DX), Z12 \
	VPBROADCASTD 52(DX), Z13 \
	VPBROADCASTD 56(DX), Z14 \
	VPBROADCASTD 60(DX), Z15

// DP8(off, w) adds, for each token c, the products of weight bytes w
// (unsigned) with the four activation quants at offset off of token c's
// current block (signed, broadcast) to Z8+c.
#define DP8(off, w) \
	VPDPBUSD.BCST off(DI), w, Z8 \
	VPDPBUSD.BCST off(DI)(BX*1), w, Z9 \
	VPDPBUSD.BCST off(DI)(BX*2), w, Z10 \
	VPDPBUSD.BCST off(R8), w, Z11 \
	VPDPBUSD.BCST off(R8)(BX*1), w, Z12 \
	VPDPBUSD.BCST off(R8)(BX*2), w, Z13 \
	VPDPBUSD.BCST off(R9), w, Z14 \
	VPDPBUSD.BCST off(R8)(BX*4), w, Z15

// SCALE1(c, i, f) accumulates token c's block sum (Z8+c, register i) into
// its float accumulator f: f += float(i) · (dx · dy_c).
#define SCALE1(c, i, f) \
	VCVTDQ2PS        i, i \
	VMULPS.BCST      c(DX), Z17, Z18 \
	VFMADD231PS      Z18, i, f

#define SCALE8 \
	SCALE1(0, Z8, Z0) \
	SCALE1(4, Z9, Z1) \
	SCALE1(8, Z10, Z2) \
	SCALE1(12, Z11, Z3) \
	SCALE1(16, Z12, Z4) \
	SCALE1(20, Z13, Z5) \
	SCALE1(24, Z14, Z6) \
	SCALE1(28, Z15, Z7)

// PROLOGUE loads the arguments shared by the kernels and clears the float
// accumulators.
#define PROLOGUE \
	MOVQ w+0(FP), SI \
	MOVQ a+8(FP), DI \
	MOVQ as+16(FP), BX \
	MOVQ side+24(FP), DX \
	MOVQ nb+32(FP), CX \
	LEAQ (DI)(BX*2), R8 \
	ADDQ BX, R8 \
	LEAQ (R8)(BX*2), R9 \
	ADDQ BX, R9 \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7

// EPILOGUE stores the 8 tokens' 16 results: token c's at out + c·os.
#define EPILOGUE \
	MOVQ      out+40(FP), AX \
	MOVQ      os+48(FP), BX \
	LEAQ      (AX)(BX*2), R8 \
	ADDQ      BX, R8 \
	LEAQ      (R8)(BX*2), R9 \
	ADDQ      BX, R9 \
	VMOVUPS   Z0, (AX) \
	VMOVUPS   Z1, (AX)(BX*1) \
	VMOVUPS   Z2, (AX)(BX*2) \
	VMOVUPS   Z3, (R8) \
	VMOVUPS   Z4, (R8)(BX*1) \
	VMOVUPS   Z5, (R8)(BX*2) \
	VMOVUPS   Z6, (R9) \
	VMOVUPS   Z7, (R8)(BX*4) \
	VZEROUPPER

// Q40K(k) handles quant bytes 4k..4k+3 of the 16 rows' Q4_0 blocks:
// elements 4k..4k+3 (low nibbles) and 16+4k..19+4k (high nibbles).
#define Q40K(k) \
	VMOVDQU32 (32+64*k)(SI), Z19 \
	VPSRLW    $4, Z19, Z20 \
	VPANDD    Z16, Z19, Z19 \
	VPANDD    Z16, Z20, Z20 \
	DP8(2+4*k, Z19) \
	DP8(18+4*k, Z20)

// func gemmQ4_0VNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)
//
// Repacked Q4_0 weights (per block: 16 f16 scales, then for k = 0..3 the
// 16 rows' quant bytes 4k..4k+3; 288 bytes) by Q8_0 activations.
TEXT ·gemmQ4_0VNNI(SB), NOSPLIT, $0-56
	PROLOGUE
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z16

q40gemm:
	INITACC
	VCVTPH2PS (SI), Z17
	Q40K(0)
	Q40K(1)
	Q40K(2)
	Q40K(3)
	SCALE8
	ADDQ $288, SI
	ADDQ $34, DI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $64, DX
	DECQ CX
	JNZ  q40gemm

	EPILOGUE
	RET

// U8K(k) handles elements 4k..4k+3 of the 16 rows' unsigned byte blocks.
#define U8K(k, r) \
	VMOVDQU32 (32+64*k)(SI), r \
	DP8(2+4*k, r)

// func gemmU8VNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)
//
// Weights repacked as unsigned bytes (per block: 16 f16 scales, then for
// k = 0..7 the 16 rows' elements 4k..4k+3; 544 bytes) by Q8_0
// activations: Q8_0 (quants + 128), Q5_0 (5-bit quants 0..31), IQ4_NL
// (table values + 128). The side table's corrections remove the offset.
TEXT ·gemmU8VNNI(SB), NOSPLIT, $0-56
	PROLOGUE

u8gemm:
	INITACC
	VCVTPH2PS (SI), Z17
	U8K(0, Z19)
	U8K(1, Z20)
	U8K(2, Z19)
	U8K(3, Z20)
	U8K(4, Z19)
	U8K(5, Z20)
	U8K(6, Z19)
	U8K(7, Z20)
	SCALE8
	ADDQ $544, SI
	ADDQ $34, DI
	ADDQ $34, R8
	ADDQ $34, R9
	ADDQ $64, DX
	DECQ CX
	JNZ  u8gemm

	EPILOGUE
	RET

// K-quant kernels (Q8_K activations: f32 scale, 256 quants at offset 4).
// Within a super-block each sub-block has its own integer scale sc_j. The
// 16 rows' running sums T over the sub-blocks so far (Z20-Z27, per token)
// are multiplied after each sub-block by coef_j = sc_j - sc_{j+1} (sc past
// the last sub-block = 0) and added to the block sum, which gives
// Σ_j sc_j·T_j exactly (summation by parts) without clearing T per
// sub-block.

// DP8T is DP8 into the running sums Z20-Z27.
#define DP8T(off, w) \
	VPDPBUSD.BCST off(DI), w, Z20 \
	VPDPBUSD.BCST off(DI)(BX*1), w, Z21 \
	VPDPBUSD.BCST off(DI)(BX*2), w, Z22 \
	VPDPBUSD.BCST off(R8), w, Z23 \
	VPDPBUSD.BCST off(R8)(BX*1), w, Z24 \
	VPDPBUSD.BCST off(R8)(BX*2), w, Z25 \
	VPDPBUSD.BCST off(R9), w, Z26 \
	VPDPBUSD.BCST off(R8)(BX*4), w, Z27

// COEF8(m) adds coef·T to each token's block sum; m is the 16 rows' int32
// coefficients.
#define COEF8(m) \
	VPMULLD m, Z20, Z18 \
	VPADDD  Z18, Z8, Z8 \
	VPMULLD m, Z21, Z18 \
	VPADDD  Z18, Z9, Z9 \
	VPMULLD m, Z22, Z18 \
	VPADDD  Z18, Z10, Z10 \
	VPMULLD m, Z23, Z18 \
	VPADDD  Z18, Z11, Z11 \
	VPMULLD m, Z24, Z18 \
	VPADDD  Z18, Z12, Z12 \
	VPMULLD m, Z25, Z18 \
	VPADDD  Z18, Z13, Z13 \
	VPMULLD m, Z26, Z18 \
	VPADDD  Z18, Z14, Z14 \
	VPMULLD m, Z27, Z18 \
	VPADDD  Z18, Z15, Z15

// CLEARK clears the block sums and running sums.
#define CLEARK \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD Z12, Z12, Z12 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14 \
	VPXORD Z15, Z15, Z15 \
	VPXORD Z20, Z20, Z20 \
	VPXORD Z21, Z21, Z21 \
	VPXORD Z22, Z22, Z22 \
	VPXORD Z23, Z23, Z23 \
	VPXORD Z24, Z24, Z24 \
	VPXORD Z25, Z25, Z25 \
	VPXORD Z26, Z26, Z26 \
	VPXORD Z27, Z27, Z27

// Q4KSUB(j2, half) runs sub-block j = 2·j2 + half of a Q4_K super-block:
// eight groups of four nibbles per row (low nibbles for half 0, high for
// half 1) against activation quants 32j..32j+31, then the coefficients.
#define Q4KG(j2, half, k) \
	VMOVDQU32 (832+512*j2+64*k)(SI), Z19 \
	VPSRLW    $(4*half), Z19, Z19 \
	VPANDD    Z16, Z19, Z19 \
	DP8T(4+32*(2*j2+half)+4*k, Z19)

#define Q4KSUB(j2, half) \
	Q4KG(j2, half, 0) \
	Q4KG(j2, half, 1) \
	Q4KG(j2, half, 2) \
	Q4KG(j2, half, 3) \
	Q4KG(j2, half, 4) \
	Q4KG(j2, half, 5) \
	Q4KG(j2, half, 6) \
	Q4KG(j2, half, 7) \
	COEF8((320+64*(2*j2+half))(SI))

// MIN1(c, f, t) subtracts token c's min term from f: t = Σ_j m_j·B_j (the
// rows' mins in Z28-Z31 as int16 pairs, the token's pair sums of bsums in
// the side table), f -= float(t)·(dmin·dy_c).
#define MIN1(c, f, t) \
	VPXORD        t, t, t \
	VPDPWSSD.BCST (32+16*c)(DX), Z28, t \
	VPDPWSSD.BCST (36+16*c)(DX), Z29, t \
	VPDPWSSD.BCST (40+16*c)(DX), Z30, t \
	VPDPWSSD.BCST (44+16*c)(DX), Z31, t \
	VCVTDQ2PS     t, t \
	VMULPS.BCST   (4*c)(DX), Z17, Z18 \
	VFNMADD231PS  Z18, t, f

// func gemmQ4_KVNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)
//
// Repacked Q4_K (per super-block, 2880 bytes: 16 f16 d, 16 f16 dmin, the
// mins as int16 pairs (4×64 bytes), the scale coefficients as int32
// (8×64), then for each 64-element chunk j2 and k = 0..7 the rows' quant
// bytes 4k..4k+3 of the chunk) by Q8_K. Side table per super-block: 8
// float32 dy, then per token 8 int16 sums of bsum pairs (160 bytes).
TEXT ·gemmQ4_KVNNI(SB), NOSPLIT, $0-56
	PROLOGUE
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z16

q4kgemm:
	CLEARK
	Q4KSUB(0, 0)
	Q4KSUB(0, 1)
	Q4KSUB(1, 0)
	Q4KSUB(1, 1)
	Q4KSUB(2, 0)
	Q4KSUB(2, 1)
	Q4KSUB(3, 0)
	Q4KSUB(3, 1)
	VCVTPH2PS (SI), Z17
	SCALE8
	VCVTPH2PS 32(SI), Z17
	VMOVDQU32 64(SI), Z28
	VMOVDQU32 128(SI), Z29
	VMOVDQU32 192(SI), Z30
	VMOVDQU32 256(SI), Z31
	MIN1(0, Z0, Z20)
	MIN1(1, Z1, Z21)
	MIN1(2, Z2, Z22)
	MIN1(3, Z3, Z23)
	MIN1(4, Z4, Z24)
	MIN1(5, Z5, Z25)
	MIN1(6, Z6, Z26)
	MIN1(7, Z7, Z27)
	ADDQ $2880, SI
	ADDQ $292, DI
	ADDQ $292, R8
	ADDQ $292, R9
	ADDQ $160, DX
	DECQ CX
	JNZ  q4kgemm

	EPILOGUE
	RET

// BS8(i) adds the -32 offset term of sub-block pair i to the block sums:
// the rows' (-32·sc_2i, -32·sc_2i+1) int16 pairs times each token's
// (bsum_2i, bsum_2i+1) from the side table.
#define BS8(i) \
	VMOVDQU32     (32+64*i)(SI), Z19 \
	VPDPWSSD.BCST (32+4*i)(DX), Z19, Z8 \
	VPDPWSSD.BCST (64+4*i)(DX), Z19, Z9 \
	VPDPWSSD.BCST (96+4*i)(DX), Z19, Z10 \
	VPDPWSSD.BCST (128+4*i)(DX), Z19, Z11 \
	VPDPWSSD.BCST (160+4*i)(DX), Z19, Z12 \
	VPDPWSSD.BCST (192+4*i)(DX), Z19, Z13 \
	VPDPWSSD.BCST (224+4*i)(DX), Z19, Z14 \
	VPDPWSSD.BCST (256+4*i)(DX), Z19, Z15

// Q6KG(g) multiplies element group g (elements 4g..4g+3, unsigned 0..63).
#define Q6KG(g) \
	VMOVDQU32 (1568+64*g)(SI), Z19 \
	DP8T(4+4*g, Z19)

// Q6KSUB(j) runs the 16-element sub-block j.
#define Q6KSUB(j) \
	Q6KG((4*j)) \
	Q6KG((4*j+1)) \
	Q6KG((4*j+2)) \
	Q6KG((4*j+3)) \
	COEF8((544+64*j)(SI))

// func gemmQ6_KVNNI(w *byte, a *byte, as int, side *byte, nb int, out *float32, os int)
//
// Repacked Q6_K (per super-block, 5664 bytes: 16 f16 d, the offset terms'
// scale pairs -32·sc as int16 (8×64 bytes), the scale coefficients as
// int32 (16×64), then for g = 0..63 the rows' unsigned quants of elements
// 4g..4g+3) by Q8_K. Side table per super-block: 8 float32 dy, then per
// token the 16 int16 bsums (288 bytes).
TEXT ·gemmQ6_KVNNI(SB), NOSPLIT, $0-56
	PROLOGUE

q6kgemm:
	CLEARK
	BS8(0)
	BS8(1)
	BS8(2)
	BS8(3)
	BS8(4)
	BS8(5)
	BS8(6)
	BS8(7)
	Q6KSUB(0)
	Q6KSUB(1)
	Q6KSUB(2)
	Q6KSUB(3)
	Q6KSUB(4)
	Q6KSUB(5)
	Q6KSUB(6)
	Q6KSUB(7)
	Q6KSUB(8)
	Q6KSUB(9)
	Q6KSUB(10)
	Q6KSUB(11)
	Q6KSUB(12)
	Q6KSUB(13)
	Q6KSUB(14)
	Q6KSUB(15)
	VCVTPH2PS (SI), Z17
	SCALE8
	ADDQ $5664, SI
	ADDQ $292, DI
	ADDQ $292, R8
	ADDQ $292, R9
	ADDQ $288, DX
	DECQ CX
	JNZ  q6kgemm

	EPILOGUE
	RET

// func f16ToF32x16(dst *float32, src *byte, n int)
//
// Converts n (a positive multiple of 16) F16 values to float32.
TEXT ·f16ToF32x16(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	SHRQ $4, CX

f16cvt:
	VCVTPH2PS (SI), Z0
	VMOVUPS   Z0, (DI)
	ADDQ      $32, SI
	ADDQ      $64, DI
	DECQ      CX
	JNZ       f16cvt
	VZEROUPPER
	RET

DATA iota16<>+0(SB)/4, $0
DATA iota16<>+4(SB)/4, $1
DATA iota16<>+8(SB)/4, $2
DATA iota16<>+12(SB)/4, $3
DATA iota16<>+16(SB)/4, $4
DATA iota16<>+20(SB)/4, $5
DATA iota16<>+24(SB)/4, $6
DATA iota16<>+28(SB)/4, $7
DATA iota16<>+32(SB)/4, $8
DATA iota16<>+36(SB)/4, $9
DATA iota16<>+40(SB)/4, $10
DATA iota16<>+44(SB)/4, $11
DATA iota16<>+48(SB)/4, $12
DATA iota16<>+52(SB)/4, $13
DATA iota16<>+56(SB)/4, $14
DATA iota16<>+60(SB)/4, $15
GLOBL iota16<>(SB), RODATA|NOPTR, $64

// Gather-based repacking of Q4_0 and Q8_0 row groups (the layouts of
// repackQ4_0 and repackQ8_0). Z1 holds the 16 rows' byte offsets
// (r·rowBytes); DX the row mask (bit r set for the rows present; the
// others' lanes stay zero, as the Go repacking leaves them).

// GSETUP loads the arguments and the row offsets.
#define GSETUP \
	MOVQ         dst+0(FP), DI \
	MOVQ         src+8(FP), SI \
	MOVQ         rowBytes+16(FP), AX \
	MOVQ         nb+24(FP), CX \
	MOVQ         mask+32(FP), DX \
	VPBROADCASTD AX, Z1 \
	VMOVDQU32    iota16<>(SB), Z2 \
	VPMULLD      Z1, Z2, Z1

// GATHER(off, r) sets r to the dwords at off(SI) of the 16 rows.
#define GATHER(off, r) \
	KMOVW      DX, K1 \
	VPXORD     r, r, r \
	VPGATHERDD off(SI)(Z1*1), K1, r

// GSCALES stores the rows' f16 scales (the low words of the dwords at SI).
#define GSCALES \
	GATHER(0, Z2) \
	VPMOVDW Z2, (DI)

// func repackQ4_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)
TEXT ·repackQ4_0Gather(SB), NOSPLIT, $0-40
	GSETUP

q40gather:
	GSCALES
	GATHER(2, Z3)
	VMOVDQU32 Z3, 32(DI)
	GATHER(6, Z4)
	VMOVDQU32 Z4, 96(DI)
	GATHER(10, Z5)
	VMOVDQU32 Z5, 160(DI)
	GATHER(14, Z6)
	VMOVDQU32 Z6, 224(DI)
	ADDQ $18, SI
	ADDQ $288, DI
	DECQ CX
	JNZ  q40gather
	VZEROUPPER
	RET

// Q80G(k, r) stores elements 4k..4k+3 of the rows, sign bit flipped (in
// the rows present only, K2, so missing rows stay zero as in repackQ8_0).
#define Q80G(k, r) \
	GATHER(2+4*k, r) \
	VPXORD    Z31, r, K2, r \
	VMOVDQU32 r, (32+64*k)(DI)

// func repackQ8_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)
TEXT ·repackQ8_0Gather(SB), NOSPLIT, $0-40
	GSETUP
	MOVL         $0x80808080, AX
	VPBROADCASTD AX, Z31
	KMOVW        DX, K2

q80gather:
	GSCALES
	Q80G(0, Z3)
	Q80G(1, Z4)
	Q80G(2, Z5)
	Q80G(3, Z6)
	Q80G(4, Z7)
	Q80G(5, Z8)
	Q80G(6, Z9)
	Q80G(7, Z10)
	ADDQ $34, SI
	ADDQ $544, DI
	DECQ CX
	JNZ  q80gather
	VZEROUPPER
	RET

// Q4KGQ(g, r) stores quant dword g (bytes 4g..4g+3 of qs) of the rows.
#define Q4KGQ(g, r) \
	GATHER(16+4*g, r) \
	VMOVDQU32 r, (832+64*g)(DI)

// BYTEK(d, k, r) sets r to byte k of each dword of d.
#define BYTEK(d, k, r) \
	VPSRLD $(8*k), d, r \
	VPANDD Z30, r, r

// SCLO(d, k, r) sets r to the low six bits of byte k of d (sc_k or m_k,
// k < 4, from scales bytes 0-3 or 4-7).
#define SCLO(d, k, r) \
	BYTEK(d, k, r) \
	VPANDD Z28, r, r

// SCHI(lo, hi, k, sh, r) sets r to a six-bit scale or min of sub-block
// 4+k: four bits of byte k of lo (scales bytes 8-11) shifted down by sh
// (0 for a scale, 4 for a min), over the top two bits of byte k of hi.
#define SCHI(lo, hi, k, sh, r) \
	BYTEK(lo, k, r) \
	VPSRLD $(sh), r, r \
	VPANDD Z29, r, r \
	BYTEK(hi, k, Z3) \
	VPSRLD $6, Z3, Z3 \
	VPSLLD $4, Z3, Z3 \
	VPORD  Z3, r, r

// MINPAIR(i, a, b) stores the int16 pairs (a, b).
#define MINPAIR(i, a, b) \
	VPSLLD    $16, b, Z3 \
	VPORD     a, Z3, Z3 \
	VMOVDQU32 Z3, (64+64*i)(DI)

// COEF4(j, a, b) stores the coefficients a - b.
#define COEF4(j, a, b) \
	VPSUBD    b, a, Z3 \
	VMOVDQU32 Z3, (320+64*j)(DI)

// func repackQ4_KGather(dst *byte, src *byte, rowBytes int, nb int, mask int)
//
// repackQ4_K in assembly: d and dmin from the first dword, the 6-bit
// scales and mins (scaleMinK4) from the three dwords of scales bytes, and
// the quants.
TEXT ·repackQ4_KGather(SB), NOSPLIT, $0-40
	GSETUP
	MOVL         $63, AX
	VPBROADCASTD AX, Z28
	MOVL         $15, AX
	VPBROADCASTD AX, Z29
	MOVL         $255, AX
	VPBROADCASTD AX, Z30
	VPXORD       Z31, Z31, Z31

q4kgather:
	GATHER(0, Z8)
	VPMOVDW Z8, (DI)
	VPSRLD  $16, Z8, Z8
	VPMOVDW Z8, 32(DI)
	GATHER(4, Z8)
	GATHER(8, Z9)
	GATHER(12, Z10)
	SCLO(Z8, 0, Z12)
	SCLO(Z8, 1, Z13)
	SCLO(Z8, 2, Z14)
	SCLO(Z8, 3, Z15)
	SCHI(Z10, Z8, 0, 0, Z16)
	SCHI(Z10, Z8, 1, 0, Z17)
	SCHI(Z10, Z8, 2, 0, Z18)
	SCHI(Z10, Z8, 3, 0, Z19)
	SCLO(Z9, 0, Z20)
	SCLO(Z9, 1, Z21)
	SCLO(Z9, 2, Z22)
	SCLO(Z9, 3, Z23)
	SCHI(Z10, Z9, 0, 4, Z24)
	SCHI(Z10, Z9, 1, 4, Z25)
	SCHI(Z10, Z9, 2, 4, Z26)
	SCHI(Z10, Z9, 3, 4, Z27)
	MINPAIR(0, Z20, Z21)
	MINPAIR(1, Z22, Z23)
	MINPAIR(2, Z24, Z25)
	MINPAIR(3, Z26, Z27)
	COEF4(0, Z12, Z13)
	COEF4(1, Z13, Z14)
	COEF4(2, Z14, Z15)
	COEF4(3, Z15, Z16)
	COEF4(4, Z16, Z17)
	COEF4(5, Z17, Z18)
	COEF4(6, Z18, Z19)
	COEF4(7, Z19, Z31)
	Q4KGQ(0, Z3)
	Q4KGQ(1, Z4)
	Q4KGQ(2, Z5)
	Q4KGQ(3, Z6)
	Q4KGQ(4, Z7)
	Q4KGQ(5, Z8)
	Q4KGQ(6, Z9)
	Q4KGQ(7, Z10)
	Q4KGQ(8, Z3)
	Q4KGQ(9, Z4)
	Q4KGQ(10, Z5)
	Q4KGQ(11, Z6)
	Q4KGQ(12, Z7)
	Q4KGQ(13, Z8)
	Q4KGQ(14, Z9)
	Q4KGQ(15, Z10)
	Q4KGQ(16, Z3)
	Q4KGQ(17, Z4)
	Q4KGQ(18, Z5)
	Q4KGQ(19, Z6)
	Q4KGQ(20, Z7)
	Q4KGQ(21, Z8)
	Q4KGQ(22, Z9)
	Q4KGQ(23, Z10)
	Q4KGQ(24, Z3)
	Q4KGQ(25, Z4)
	Q4KGQ(26, Z5)
	Q4KGQ(27, Z6)
	Q4KGQ(28, Z7)
	Q4KGQ(29, Z8)
	Q4KGQ(30, Z9)
	Q4KGQ(31, Z10)
	ADDQ $144, SI
	ADDQ $2880, DI
	DECQ CX
	JNZ  q4kgather
	VZEROUPPER
	RET

// Q6KQUAD(h, q) builds element groups 32h+q+8k (k < 4) of the rows from
// the gathered ql dwords at 64h+4q and 64h+32+4q and the qh dword at
// 128+32h+4q: low nibbles (k = 0, 1) or high nibbles (k = 2, 3) of ql,
// with qh bits 2k, 2k+1 as bits 4, 5 of each byte.
#define Q6KQUAD(h, q) \
	GATHER(64*h+4*q, Z3) \
	GATHER(64*h+32+4*q, Z4) \
	GATHER(128+32*h+4*q, Z5) \
	VPANDD    Z29, Z3, Z6 \
	VPSLLD    $4, Z5, Z7 \
	VPANDD    Z30, Z7, Z7 \
	VPORD     Z7, Z6, Z6 \
	VMOVDQU32 Z6, (1568+64*(32*h+q))(DI) \
	VPANDD    Z29, Z4, Z6 \
	VPSLLD    $2, Z5, Z7 \
	VPANDD    Z30, Z7, Z7 \
	VPORD     Z7, Z6, Z6 \
	VMOVDQU32 Z6, (1568+64*(32*h+q+8))(DI) \
	VPSRLD    $4, Z3, Z6 \
	VPANDD    Z29, Z6, Z6 \
	VPANDD    Z30, Z5, Z7 \
	VPORD     Z7, Z6, Z6 \
	VMOVDQU32 Z6, (1568+64*(32*h+q+16))(DI) \
	VPSRLD    $4, Z4, Z6 \
	VPANDD    Z29, Z6, Z6 \
	VPSRLD    $2, Z5, Z7 \
	VPANDD    Z30, Z7, Z7 \
	VPORD     Z7, Z6, Z6 \
	VMOVDQU32 Z6, (1568+64*(32*h+q+24))(DI)

// SC6(z, m, r) sets r to the sign-extended byte m of each dword of z.
#define SC6(z, m, r) \
	VPSLLD $(24-8*m), z, r \
	VPSRAD $24, r, r

// COEF6(j, a, b) stores the coefficients sc_j - sc_j+1 (a - b).
#define COEF6(j, a, b) \
	VPSUBD    b, a, Z3 \
	VMOVDQU32 Z3, (544+64*j)(DI)

// PAIR6(i, a, b) stores the int16 pairs (-32·a, -32·b).
#define PAIR6(i, a, b) \
	VPSLLD    $5, a, Z3 \
	VPSUBD    Z3, Z28, Z3 \
	VPANDD    Z2, Z3, Z3 \
	VPSLLD    $5, b, Z4 \
	VPSUBD    Z4, Z28, Z4 \
	VPSLLD    $16, Z4, Z4 \
	VPORD     Z4, Z3, Z3 \
	VMOVDQU32 Z3, (32+64*i)(DI)

// func repackQ6_KGather(dst *byte, src *byte, rowBytes int, nb int, mask int)
//
// repackQ6_K in assembly: d (the high word of the dword at 206, so no
// byte past the block is read), the 16 int8 scales (four gathered dwords)
// as offset-term pairs and coefficients, and the quants.
TEXT ·repackQ6_KGather(SB), NOSPLIT, $0-40
	GSETUP
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x30303030, AX
	VPBROADCASTD AX, Z30
	MOVL         $0xffff, AX
	VPBROADCASTD AX, Z2
	VPXORD       Z28, Z28, Z28

q6kgather:
	GATHER(206, Z8)
	VPSRLD  $16, Z8, Z8
	VPMOVDW Z8, (DI)
	GATHER(192, Z8)
	GATHER(196, Z9)
	GATHER(200, Z10)
	GATHER(204, Z11)
	SC6(Z8, 0, Z12)
	SC6(Z8, 1, Z13)
	SC6(Z8, 2, Z14)
	SC6(Z8, 3, Z15)
	SC6(Z9, 0, Z16)
	SC6(Z9, 1, Z17)
	SC6(Z9, 2, Z18)
	SC6(Z9, 3, Z19)
	SC6(Z10, 0, Z20)
	SC6(Z10, 1, Z21)
	SC6(Z10, 2, Z22)
	SC6(Z10, 3, Z23)
	SC6(Z11, 0, Z24)
	SC6(Z11, 1, Z25)
	SC6(Z11, 2, Z26)
	SC6(Z11, 3, Z27)
	PAIR6(0, Z12, Z13)
	PAIR6(1, Z14, Z15)
	PAIR6(2, Z16, Z17)
	PAIR6(3, Z18, Z19)
	PAIR6(4, Z20, Z21)
	PAIR6(5, Z22, Z23)
	PAIR6(6, Z24, Z25)
	PAIR6(7, Z26, Z27)
	COEF6(0, Z12, Z13)
	COEF6(1, Z13, Z14)
	COEF6(2, Z14, Z15)
	COEF6(3, Z15, Z16)
	COEF6(4, Z16, Z17)
	COEF6(5, Z17, Z18)
	COEF6(6, Z18, Z19)
	COEF6(7, Z19, Z20)
	COEF6(8, Z20, Z21)
	COEF6(9, Z21, Z22)
	COEF6(10, Z22, Z23)
	COEF6(11, Z23, Z24)
	COEF6(12, Z24, Z25)
	COEF6(13, Z25, Z26)
	COEF6(14, Z26, Z27)
	COEF6(15, Z27, Z28)
	Q6KQUAD(0, 0)
	Q6KQUAD(0, 1)
	Q6KQUAD(0, 2)
	Q6KQUAD(0, 3)
	Q6KQUAD(0, 4)
	Q6KQUAD(0, 5)
	Q6KQUAD(0, 6)
	Q6KQUAD(0, 7)
	Q6KQUAD(1, 0)
	Q6KQUAD(1, 1)
	Q6KQUAD(1, 2)
	Q6KQUAD(1, 3)
	Q6KQUAD(1, 4)
	Q6KQUAD(1, 5)
	Q6KQUAD(1, 6)
	Q6KQUAD(1, 7)
	ADDQ $210, SI
	ADDQ $5664, DI
	DECQ CX
	JNZ  q6kgather
	VZEROUPPER
	RET

// SPREAD5(sh, r) sets r to bits sh..sh+3 of the rows' qh (Z8) moved to
// bit 4 of bytes 0..3 (spread4 in gemm.go).
#define SPREAD5(sh, r) \
	VPSRLD  $(sh), Z8, r \
	VPANDD  Z30, r, r \
	VPMULLD Z28, r, r \
	VPANDD  Z27, r, r \
	VPSLLD  $4, r, r

// Q50K(k) stores element groups k (low nibbles of qs dword k, fifth bits
// qh 4k..4k+3) and 4+k (high nibbles, qh 16+4k..19+4k).
#define Q50K(k) \
	GATHER(6+4*k, Z9) \
	SPREAD5(4*k, Z10) \
	VPANDD    Z29, Z9, Z11 \
	VPORD     Z10, Z11, Z11 \
	VMOVDQU32 Z11, (32+64*k)(DI) \
	SPREAD5(16+4*k, Z10) \
	VPSRLD    $4, Z9, Z11 \
	VPANDD    Z29, Z11, Z11 \
	VPORD     Z10, Z11, Z11 \
	VMOVDQU32 Z11, (288+64*k)(DI)

// func repackQ5_0Gather(dst *byte, src *byte, rowBytes int, nb int, mask int)
//
// repackQ5_0 in assembly.
TEXT ·repackQ5_0Gather(SB), NOSPLIT, $0-40
	GSETUP
	MOVL         $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z29
	MOVL         $0x0f, AX
	VPBROADCASTD AX, Z30
	MOVL         $0x00204081, AX
	VPBROADCASTD AX, Z28
	MOVL         $0x01010101, AX
	VPBROADCASTD AX, Z27

q50gather:
	GSCALES
	GATHER(2, Z8)
	Q50K(0)
	Q50K(1)
	Q50K(2)
	Q50K(3)
	ADDQ $22, SI
	ADDQ $544, DI
	DECQ CX
	JNZ  q50gather
	VZEROUPPER
	RET

// F16 tile kernel: 4 weight rows × 5 tokens with the summation order of
// the F16 row kernels, so batch and single-token products agree bit for
// bit. The row kernels keep, per row, 32 float lanes (element index mod
// 32) that each accumulate w·x by FMA in element order, then reduce them
// in one of two fixed trees:
//
//	order 0 (dotF16RowsAVX2): lanes 0-7 + 8-15 and 16-23 + 24-31, the
//	  two results added, then the 8 lanes as HSUM_Y0 does;
//	order 1 (the AVX-512 F16 kernels' F16FIN): lanes 0-15 + 16-31, then
//	  the high 8 lanes + the low 8, then the same 8-lane tail.
//
// Here each (row, token) pair has the same 32 lanes as two halves, A
// (elements 0-15 of every 32) and B (16-31), and one call runs one half:
// 20 accumulators, 4 weight rows and 5 token vectors (float32) fit the
// 32 registers, so each 32-element step is 20 FMAs for 9 loads. The caller
// runs half 0, saving
// its accumulators, then half 1, which on the last chunk of columns
// reduces each pair's two halves and stores the result.
//
// Registers: pair (r, c) in Z(5r+c); row r's weights Z(20+r); token c's
// activations Z(24+c); Z29-Z31 scratch. Accumulator slots at R10: half h,
// pair p at 1280h + 64p.

#define F16X5ROW(w, a0, a1, a2, a3, a4) \
	VFMADD231PS Z24, w, a0 \
	VFMADD231PS Z25, w, a1 \
	VFMADD231PS Z26, w, a2 \
	VFMADD231PS Z27, w, a3 \
	VFMADD231PS Z28, w, a4

// F16TAIL8(y, x, t, dst) sums the 8 lanes of y as HSUM_Y0 does (t's X
// register as scratch) and stores the float32 at dst.
#define F16TAIL8(y, x, t, dst) \
	VEXTRACTF32X4 $1, y, t \
	VADDPS        t, x, x \
	VMOVHLPS      x, t, t \
	VADDPS        t, x, x \
	VMOVSHDUP     x, t \
	VADDSS        t, x, x \
	VMOVSS        x, dst

// F16X5R0(p, zb, yb, xb, dst): order 0, (A_lo+A_hi) + (B_lo+B_hi), A from
// slot p of half 0, B in zb.
#define F16X5R0(p, zb, yb, xb, dst) \
	VMOVUPS       (64*p)(R10), Z30 \
	VEXTRACTF64X4 $1, Z30, Y31 \
	VADDPS        Y31, Y30, Y30 \
	VEXTRACTF64X4 $1, zb, Y31 \
	VADDPS        Y31, yb, yb \
	VADDPS        yb, Y30, Y30 \
	F16TAIL8(Y30, X30, X31, dst)

// F16X5R1(p, zb, yb, xb, dst): order 1, (A + B) then lo + hi.
#define F16X5R1(p, zb, yb, xb, dst) \
	VADDPS        (64*p)(R10), zb, zb \
	VEXTRACTF64X4 $1, zb, Y31 \
	VADDPS        Y31, yb, yb \
	F16TAIL8(yb, xb, X31, dst)

#define F16X5LOAD \
	VMOVUPS (64*0)(R10), Z0 \
	VMOVUPS (64*1)(R10), Z1 \
	VMOVUPS (64*2)(R10), Z2 \
	VMOVUPS (64*3)(R10), Z3 \
	VMOVUPS (64*4)(R10), Z4 \
	VMOVUPS (64*5)(R10), Z5 \
	VMOVUPS (64*6)(R10), Z6 \
	VMOVUPS (64*7)(R10), Z7 \
	VMOVUPS (64*8)(R10), Z8 \
	VMOVUPS (64*9)(R10), Z9 \
	VMOVUPS (64*10)(R10), Z10 \
	VMOVUPS (64*11)(R10), Z11 \
	VMOVUPS (64*12)(R10), Z12 \
	VMOVUPS (64*13)(R10), Z13 \
	VMOVUPS (64*14)(R10), Z14 \
	VMOVUPS (64*15)(R10), Z15 \
	VMOVUPS (64*16)(R10), Z16 \
	VMOVUPS (64*17)(R10), Z17 \
	VMOVUPS (64*18)(R10), Z18 \
	VMOVUPS (64*19)(R10), Z19

#define F16X5STORE \
	VMOVUPS Z0, (64*0)(R10) \
	VMOVUPS Z1, (64*1)(R10) \
	VMOVUPS Z2, (64*2)(R10) \
	VMOVUPS Z3, (64*3)(R10) \
	VMOVUPS Z4, (64*4)(R10) \
	VMOVUPS Z5, (64*5)(R10) \
	VMOVUPS Z6, (64*6)(R10) \
	VMOVUPS Z7, (64*7)(R10) \
	VMOVUPS Z8, (64*8)(R10) \
	VMOVUPS Z9, (64*9)(R10) \
	VMOVUPS Z10, (64*10)(R10) \
	VMOVUPS Z11, (64*11)(R10) \
	VMOVUPS Z12, (64*12)(R10) \
	VMOVUPS Z13, (64*13)(R10) \
	VMOVUPS Z14, (64*14)(R10) \
	VMOVUPS Z15, (64*15)(R10) \
	VMOVUPS Z16, (64*16)(R10) \
	VMOVUPS Z17, (64*17)(R10) \
	VMOVUPS Z18, (64*18)(R10) \
	VMOVUPS Z19, (64*19)(R10)

#define F16X5ZERO \
	VPXORD Z0, Z0, Z0 \
	VPXORD Z1, Z1, Z1 \
	VPXORD Z2, Z2, Z2 \
	VPXORD Z3, Z3, Z3 \
	VPXORD Z4, Z4, Z4 \
	VPXORD Z5, Z5, Z5 \
	VPXORD Z6, Z6, Z6 \
	VPXORD Z7, Z7, Z7 \
	VPXORD Z8, Z8, Z8 \
	VPXORD Z9, Z9, Z9 \
	VPXORD Z10, Z10, Z10 \
	VPXORD Z11, Z11, Z11 \
	VPXORD Z12, Z12, Z12 \
	VPXORD Z13, Z13, Z13 \
	VPXORD Z14, Z14, Z14 \
	VPXORD Z15, Z15, Z15 \
	VPXORD Z16, Z16, Z16 \
	VPXORD Z17, Z17, Z17 \
	VPXORD Z18, Z18, Z18 \
	VPXORD Z19, Z19, Z19

#define F16X5RED0 \
	F16X5R0(0, Z0, Y0, X0, (AX)) \
	F16X5R0(1, Z1, Y1, X1, (AX)(BX*1)) \
	F16X5R0(2, Z2, Y2, X2, (AX)(BX*2)) \
	F16X5R0(3, Z3, Y3, X3, (R8)) \
	F16X5R0(4, Z4, Y4, X4, (AX)(BX*4)) \
	F16X5R0(5, Z5, Y5, X5, 4(AX)) \
	F16X5R0(6, Z6, Y6, X6, 4(AX)(BX*1)) \
	F16X5R0(7, Z7, Y7, X7, 4(AX)(BX*2)) \
	F16X5R0(8, Z8, Y8, X8, 4(R8)) \
	F16X5R0(9, Z9, Y9, X9, 4(AX)(BX*4)) \
	F16X5R0(10, Z10, Y10, X10, 8(AX)) \
	F16X5R0(11, Z11, Y11, X11, 8(AX)(BX*1)) \
	F16X5R0(12, Z12, Y12, X12, 8(AX)(BX*2)) \
	F16X5R0(13, Z13, Y13, X13, 8(R8)) \
	F16X5R0(14, Z14, Y14, X14, 8(AX)(BX*4)) \
	F16X5R0(15, Z15, Y15, X15, 12(AX)) \
	F16X5R0(16, Z16, Y16, X16, 12(AX)(BX*1)) \
	F16X5R0(17, Z17, Y17, X17, 12(AX)(BX*2)) \
	F16X5R0(18, Z18, Y18, X18, 12(R8)) \
	F16X5R0(19, Z19, Y19, X19, 12(AX)(BX*4))

#define F16X5RED1 \
	F16X5R1(0, Z0, Y0, X0, (AX)) \
	F16X5R1(1, Z1, Y1, X1, (AX)(BX*1)) \
	F16X5R1(2, Z2, Y2, X2, (AX)(BX*2)) \
	F16X5R1(3, Z3, Y3, X3, (R8)) \
	F16X5R1(4, Z4, Y4, X4, (AX)(BX*4)) \
	F16X5R1(5, Z5, Y5, X5, 4(AX)) \
	F16X5R1(6, Z6, Y6, X6, 4(AX)(BX*1)) \
	F16X5R1(7, Z7, Y7, X7, 4(AX)(BX*2)) \
	F16X5R1(8, Z8, Y8, X8, 4(R8)) \
	F16X5R1(9, Z9, Y9, X9, 4(AX)(BX*4)) \
	F16X5R1(10, Z10, Y10, X10, 8(AX)) \
	F16X5R1(11, Z11, Y11, X11, 8(AX)(BX*1)) \
	F16X5R1(12, Z12, Y12, X12, 8(AX)(BX*2)) \
	F16X5R1(13, Z13, Y13, X13, 8(R8)) \
	F16X5R1(14, Z14, Y14, X14, 8(AX)(BX*4)) \
	F16X5R1(15, Z15, Y15, X15, 12(AX)) \
	F16X5R1(16, Z16, Y16, X16, 12(AX)(BX*1)) \
	F16X5R1(17, Z17, Y17, X17, 12(AX)(BX*2)) \
	F16X5R1(18, Z18, Y18, X18, 12(R8)) \
	F16X5R1(19, Z19, Y19, X19, 12(AX)(BX*4))

// func gemmH16x4x5(w *byte, ws int, a *float32, as int, n32 int, out *float32, os int, acc *float32, mode int)
//
// F16 weight rows w + r·ws (bytes), widened to float32 by VCVTPH2PS as
// they are loaded (exactly; no float32 copy of the weights is made), by
// the float32 activation rows a + c·as (bytes), over n32 steps of 32
// elements, half mode>>4&1 of each step's lanes. mode bit 0: start from
// the saved accumulators of that half (else zero); bit 1: save them at the
// end; bit 2 (half 1 only): reduce each pair with its saved half 0, in
// order 1 if bit 3 is set (else 0), and store pair (r, c) at out + c·os +
// 4r.
TEXT ·gemmH16x4x5(SB), NOSPLIT, $0-72
	MOVQ w+0(FP), SI
	MOVQ ws+8(FP), DX
	MOVQ a+16(FP), DI
	MOVQ as+24(FP), BX
	MOVQ n32+32(FP), CX
	MOVQ acc+56(FP), R10
	MOVQ mode+64(FP), R11
	TESTQ $16, R11
	JZ    h16x5half0
	ADDQ  $32, SI
	ADDQ  $64, DI
	ADDQ  $1280, R10

h16x5half0:
	LEAQ (SI)(DX*2), R9
	ADDQ DX, R9
	LEAQ (DI)(BX*2), R8
	ADDQ BX, R8
	TESTQ $1, R11
	JZ    h16x5zero
	F16X5LOAD
	JMP   h16x5loop

h16x5zero:
	F16X5ZERO

h16x5loop:
	VCVTPH2PS (SI), Z20
	VCVTPH2PS (SI)(DX*1), Z21
	VCVTPH2PS (SI)(DX*2), Z22
	VCVTPH2PS (R9), Z23
	VMOVUPS   (DI), Z24
	VMOVUPS   (DI)(BX*1), Z25
	VMOVUPS   (DI)(BX*2), Z26
	VMOVUPS   (R8), Z27
	VMOVUPS   (DI)(BX*4), Z28
	F16X5ROW(Z20, Z0, Z1, Z2, Z3, Z4)
	F16X5ROW(Z21, Z5, Z6, Z7, Z8, Z9)
	F16X5ROW(Z22, Z10, Z11, Z12, Z13, Z14)
	F16X5ROW(Z23, Z15, Z16, Z17, Z18, Z19)
	ADDQ $64, SI
	ADDQ $64, R9
	ADDQ $128, DI
	ADDQ $128, R8
	DECQ CX
	JNZ  h16x5loop

	TESTQ $2, R11
	JZ    h16x5nostore
	F16X5STORE

h16x5nostore:
	TESTQ $4, R11
	JZ    h16x5done
	SUBQ  $1280, R10 // half 0's slots
	MOVQ  out+40(FP), AX
	MOVQ  os+48(FP), BX
	LEAQ  (AX)(BX*2), R8
	ADDQ  BX, R8
	TESTQ $8, R11
	JNZ   h16x5order1
	F16X5RED0
	VZEROUPPER
	RET

h16x5order1:
	F16X5RED1

h16x5done:
	VZEROUPPER
	RET
