//go:build amd64

#include "textflag.h"

// AVX-512 (F, BW, VL, VBMI) + VNNI kernels; see dot512_amd64.go.
//
// Eight-row kernels (Q4_0, Q5_0, Q8_0, IQ4_NL). Each iteration handles two
// blocks of eight weight rows. A row's two blocks are read with one masked
// 64-byte load (the mask stops at the blocks' end, so nothing past the row
// is touched; Q8_0's 68 bytes take a second, 32-byte load), their quants
// spread with VPERMB (VPERMT2B for Q8_0) into 64 unsigned bytes and
// multiplied with the two activation blocks by one VPDPBUSD. The quants'
// offset (8 for Q4_0, 16 for Q5_0, 128 for Q8_0 and the IQ4_NL table,
// whose signed values are made unsigned by adding 128) is folded in by
// starting each row's int32 lanes at -offset·Σy (Σy from a VPDPBUSD shared
// by the rows), so the lanes hold exact partial sums for any quant and
// activation bytes. An unpack/shuffle tree reduces the eight rows' lanes
// to the 16 exact block sums, and a VPERMT2W tree gathers the 16
// half-float weight scales from the loaded bytes for one VCVTPH2PS. Every
// row's float accumulator then takes acc = fma(sum, dx·dy, acc) block by
// block, the arithmetic of the AVX2 kernels, so results are bit-identical
// to them. An odd last block runs the same code with a one-block load mask
// and skips the second FMA. The next eight rows are prefetched as in the
// AVX2 kernels.
//
// Register use (eight-row kernels): Z0 accumulators (Y0, rows 0-7),
// Z1-Z8 the rows' loaded bytes, Z9-Z16 the rows' int32 lanes, Z17, Z29 and
// Z30 temporaries, Z18 activation quants, Z19 offset·Σy lanes, Z20 the
// quant permutation, Z21 nibble shifts, Z22 0x0f bytes, Z23-Z25 the scale
// gather indices, Z26 dy (eight lanes per block), Z27 zero, Z28 offset
// bytes, Z31 the IQ4_NL table. K1 is the load mask, K2 Q5_0's fifth bits.
//
// Row kernels (Q8_0, Q4_K, Q5_K, Q6_K) follow the eight-row kernels.

// Nibble spread for Q4_0 (blocks at 0 and 18, quants at +2) and Q5_0
// (blocks at 0 and 22, quants at +6): bytes [b0 qs, b0 qs, b1 qs, b1 qs],
// 16 each; with the shifts below the low 128-bit half of each block keeps
// the low nibbles (elements 0-15) and the high half the high nibbles
// (elements 16-31), the order of the activation quants.
DATA q40perm<>+0(SB)/8, $0x0908070605040302
DATA q40perm<>+8(SB)/8, $0x11100f0e0d0c0b0a
DATA q40perm<>+16(SB)/8, $0x0908070605040302
DATA q40perm<>+24(SB)/8, $0x11100f0e0d0c0b0a
DATA q40perm<>+32(SB)/8, $0x1b1a191817161514
DATA q40perm<>+40(SB)/8, $0x232221201f1e1d1c
DATA q40perm<>+48(SB)/8, $0x1b1a191817161514
DATA q40perm<>+56(SB)/8, $0x232221201f1e1d1c
GLOBL q40perm<>(SB), RODATA|NOPTR, $64

DATA q50perm<>+0(SB)/8, $0x0d0c0b0a09080706
DATA q50perm<>+8(SB)/8, $0x1514131211100f0e
DATA q50perm<>+16(SB)/8, $0x0d0c0b0a09080706
DATA q50perm<>+24(SB)/8, $0x1514131211100f0e
DATA q50perm<>+32(SB)/8, $0x232221201f1e1d1c
DATA q50perm<>+40(SB)/8, $0x2b2a292827262524
DATA q50perm<>+48(SB)/8, $0x232221201f1e1d1c
DATA q50perm<>+56(SB)/8, $0x2b2a292827262524
GLOBL q50perm<>(SB), RODATA|NOPTR, $64

// nibshift512<> shifts (VPSRLVQ) the second 128-bit half of each block by 4.
DATA nibshift512<>+0(SB)/8, $0
DATA nibshift512<>+8(SB)/8, $0
DATA nibshift512<>+16(SB)/8, $4
DATA nibshift512<>+24(SB)/8, $4
DATA nibshift512<>+32(SB)/8, $0
DATA nibshift512<>+40(SB)/8, $0
DATA nibshift512<>+48(SB)/8, $4
DATA nibshift512<>+56(SB)/8, $4
GLOBL nibshift512<>(SB), RODATA|NOPTR, $64

// Scale gather (VPERMT2W word indices; 32+i is word i of the second
// table). Level 1 pairs rows a, b: [a.d0, b.d0, a.d1, b.d1] where d0 is
// word 0 and d1 word 9 (Q4_0) or 11 (Q5_0). Level 2 joins two pairs:
// [r0 r1 r2 r3 of d0, r0 r1 r2 r3 of d1]; level 3 two quads: [d0 of rows
// 0-7, d1 of rows 0-7].
DATA q40sc1<>+0(SB)/8, $0x0029000900200000
DATA q40sc1<>+8(SB)/8, $0
DATA q40sc1<>+16(SB)/8, $0
DATA q40sc1<>+24(SB)/8, $0
DATA q40sc1<>+32(SB)/8, $0
DATA q40sc1<>+40(SB)/8, $0
DATA q40sc1<>+48(SB)/8, $0
DATA q40sc1<>+56(SB)/8, $0
GLOBL q40sc1<>(SB), RODATA|NOPTR, $64

DATA q50sc1<>+0(SB)/8, $0x002b000b00200000
DATA q50sc1<>+8(SB)/8, $0
DATA q50sc1<>+16(SB)/8, $0
DATA q50sc1<>+24(SB)/8, $0
DATA q50sc1<>+32(SB)/8, $0
DATA q50sc1<>+40(SB)/8, $0
DATA q50sc1<>+48(SB)/8, $0
DATA q50sc1<>+56(SB)/8, $0
GLOBL q50sc1<>(SB), RODATA|NOPTR, $64

DATA sc2<>+0(SB)/8, $0x0021002000010000
DATA sc2<>+8(SB)/8, $0x0023002200030002
DATA sc2<>+16(SB)/8, $0
DATA sc2<>+24(SB)/8, $0
DATA sc2<>+32(SB)/8, $0
DATA sc2<>+40(SB)/8, $0
DATA sc2<>+48(SB)/8, $0
DATA sc2<>+56(SB)/8, $0
GLOBL sc2<>(SB), RODATA|NOPTR, $64

DATA sc3<>+0(SB)/8, $0x0003000200010000
DATA sc3<>+8(SB)/8, $0x0023002200210020
DATA sc3<>+16(SB)/8, $0x0007000600050004
DATA sc3<>+24(SB)/8, $0x0027002600250024
DATA sc3<>+32(SB)/8, $0
DATA sc3<>+40(SB)/8, $0
DATA sc3<>+48(SB)/8, $0
DATA sc3<>+56(SB)/8, $0
GLOBL sc3<>(SB), RODATA|NOPTR, $64

// ROWQ4(src, raw, acc) loads a row's two blocks at src into raw, spreads
// its nibbles into 64 unsigned quants (Z17) and sets the 16 int32 lanes
// of acc to exact partial sums of (q - offset)·y.
#define ROWQ4(src, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VPERMB     raw, Z20, Z17 \
	VPSRLVQ    Z21, Z17, Z17 \
	VPANDQ     Z22, Z17, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

// PAIRSUM(a, b) sets a to [a0+a2, b0+b2, a1+a3, b1+b3] per 128-bit lane.
#define PAIRSUM(a, b) \
	VPUNPCKLDQ b, a, Z29 \
	VPUNPCKHDQ b, a, Z30 \
	VPADDD     Z30, Z29, a

// QUADSUM(a, c) sets a to the four full 128-bit lane sums of rows a, b, c,
// d, given a = PAIRSUM(a, b) and c = PAIRSUM(c, d).
#define QUADSUM(a, c) \
	VPUNPCKLQDQ c, a, Z29 \
	VPUNPCKHQDQ c, a, Z30 \
	VPADDD      Z30, Z29, a

// REDUCE8 reduces the int32 lanes of rows Z9-Z16 to Z9 = [block 0 sums
// of rows 0-7, block 1 sums of rows 0-7], converted to float.
#define REDUCE8 \
	PAIRSUM(Z9, Z10) \
	PAIRSUM(Z11, Z12) \
	PAIRSUM(Z13, Z14) \
	PAIRSUM(Z15, Z16) \
	QUADSUM(Z9, Z11) \
	QUADSUM(Z13, Z15) \
	VSHUFI32X4 $0x88, Z13, Z9, Z29 \
	VSHUFI32X4 $0xdd, Z13, Z9, Z30 \
	VPADDD     Z30, Z29, Z9 \
	VSHUFI32X4 $0xd8, Z9, Z9, Z9 \
	VCVTDQ2PS  Z9, Z9

// SCALES8 gathers the 16 weight scales from the rows' bytes Z1-Z8 (which
// it destroys) into Z1 = dx·dy, in Z9's order.
#define SCALES8 \
	VPERMT2W   Z2, Z23, Z1 \
	VPERMT2W   Z4, Z23, Z3 \
	VPERMT2W   Z6, Z23, Z5 \
	VPERMT2W   Z8, Z23, Z7 \
	VPERMT2W   Z3, Z24, Z1 \
	VPERMT2W   Z7, Z24, Z5 \
	VPERMT2W   Z5, Z25, Z1 \
	VCVTPH2PS  Y1, Z1 \
	VMULPS     Z26, Z1, Z1

// ACTLOAD2 loads two activation blocks at DI: quants into Z18, scales
// into Z26 (dy of block 0 in lanes 0-7, block 1 in 8-15), and the lanes
// offset·Σy (four quants each) into Z19, which ROWQ4 subtracts from zero.
#define ACTLOAD2 \
	VMOVDQU32     2(DI), Y18 \
	VINSERTI64X4  $1, 36(DI), Z18, Z18 \
	VPBROADCASTW  (DI), X29 \
	VPBROADCASTW  34(DI), X30 \
	VINSERTI32X4  $1, X30, Y29, Y29 \
	VCVTPH2PS     Y29, Z26 \
	VPXORD        Z19, Z19, Z19 \
	VPDPBUSD      Z18, Z28, Z19

// ACTLOAD1 is ACTLOAD2 for a last, single block (block 1 lanes zero).
#define ACTLOAD1 \
	VMOVDQU32     2(DI), Y18 \
	VPBROADCASTW  (DI), Y29 \
	VCVTPH2PS     Y29, Z26 \
	VPXORD        Z19, Z19, Z19 \
	VPDPBUSD      Z18, Z28, Z19

// ROWS8 runs ROWQ4 on eight rows: SI, SI+DX, R8, R8+DX, R10,
// R10+DX, R11, R11+DX.
#define ROWS8 \
	ROWQ4((SI), Z1, Z9) \
	ROWQ4((SI)(DX*1), Z2, Z10) \
	ROWQ4((R8), Z3, Z11) \
	ROWQ4((R8)(DX*1), Z4, Z12) \
	ROWQ4((R10), Z5, Z13) \
	ROWQ4((R10)(DX*1), Z6, Z14) \
	ROWQ4((R11), Z7, Z15) \
	ROWQ4((R11)(DX*1), Z8, Z16)

// FMA2 accumulates both blocks, FMA1 only block 0.
#define FMA1 \
	VFMADD231PS Y1, Y9, Y0

#define FMA2 \
	VFMADD231PS   Y1, Y9, Y0 \
	VEXTRACTF64X4 $1, Z9, Y9 \
	VEXTRACTF64X4 $1, Z1, Y1 \
	VFMADD231PS   Y1, Y9, Y0

// SETUP8(perm, sc1, off) loads the constants and row pointers; off is
// the quant offset byte pattern.
#define SETUP8(perm, sc1, off) \
	MOVQ x+0(FP), SI \
	MOVQ stride+8(FP), DX \
	MOVQ y+16(FP), DI \
	MOVQ nb+24(FP), CX \
	LEAQ (SI)(DX*2), R8 \
	LEAQ (R8)(DX*2), R10 \
	LEAQ (R10)(DX*2), R11 \
	LEAQ (R11)(DX*2), R9 \
	VPXORD      Z0, Z0, Z0 \
	VPXORD      Z27, Z27, Z27 \
	VMOVDQU64   perm(SB), Z20 \
	VMOVDQU64   nibshift512<>(SB), Z21 \
	MOVL        $0x0f0f0f0f, AX \
	VPBROADCASTD AX, Z22 \
	MOVL        off, AX \
	VPBROADCASTD AX, Z28 \
	VMOVDQU64   sc1(SB), Z23 \
	VMOVDQU64   sc2<>(SB), Z24 \
	VMOVDQU64   sc3<>(SB), Z25

// func dotQ4_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ4_0x8AVX512(SB), NOSPLIT, $0-40
	SETUP8(q40perm<>, q40sc1<>, $0x08080808)
	MOVQ $0xfffffffff, AX // 36 bytes: two blocks
	KMOVQ AX, K1
	MOVQ CX, BX
	SHRQ $1, CX
	JZ   q40z_tail

q40z_loop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	ACTLOAD2
	ROWS8
	REDUCE8
	SCALES8
	FMA2
	ADDQ $36, SI
	ADDQ $36, R8
	ADDQ $36, R10
	ADDQ $36, R11
	ADDQ $288, R9
	ADDQ $68, DI
	DECQ CX
	JNZ  q40z_loop

q40z_tail:
	TESTQ $1, BX
	JZ    q40z_done
	MOVQ  $0x3ffff, AX // 18 bytes: one block
	KMOVQ AX, K1
	ACTLOAD1
	ROWS8
	REDUCE8
	SCALES8
	FMA1

q40z_done:
	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// ROWQ5(src, qh0, qh1, raw, acc) is ROWQ4 for Q5_0: the fifth bits of the
// two blocks (32-bit masks at qh0 and qh1) become a 64-bit byte mask that
// adds 16 (Z28) to the quants. Clobbers R12, R13 and K2.
#define ROWQ5(src, qh0, qh1, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VPERMB     raw, Z20, Z17 \
	VPSRLVQ    Z21, Z17, Z17 \
	VPANDQ     Z22, Z17, Z17 \
	MOVL       qh0, R12 \
	MOVL       qh1, R13 \
	SHLQ       $32, R13 \
	ORQ        R13, R12 \
	KMOVQ      R12, K2 \
	VPADDB     Z28, Z17, K2, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

// ROWQ5T is ROWQ5 for a single last block (no second mask is read).
#define ROWQ5T(src, qh0, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VPERMB     raw, Z20, Z17 \
	VPSRLVQ    Z21, Z17, Z17 \
	VPANDQ     Z22, Z17, Z17 \
	MOVL       qh0, R12 \
	KMOVQ      R12, K2 \
	VPADDB     Z28, Z17, K2, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

// func dotQ5_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ5_0x8AVX512(SB), NOSPLIT, $0-40
	SETUP8(q50perm<>, q50sc1<>, $0x10101010)
	MOVQ $0xfffffffffff, AX // 44 bytes: two blocks
	KMOVQ AX, K1
	MOVQ CX, BX
	SHRQ $1, CX
	JZ   q50z_tail

q50z_loop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	PREFETCHT0 320(R9)
	ACTLOAD2
	ROWQ5((SI), 2(SI), 24(SI), Z1, Z9)
	ROWQ5((SI)(DX*1), 2(SI)(DX*1), 24(SI)(DX*1), Z2, Z10)
	ROWQ5((R8), 2(R8), 24(R8), Z3, Z11)
	ROWQ5((R8)(DX*1), 2(R8)(DX*1), 24(R8)(DX*1), Z4, Z12)
	ROWQ5((R10), 2(R10), 24(R10), Z5, Z13)
	ROWQ5((R10)(DX*1), 2(R10)(DX*1), 24(R10)(DX*1), Z6, Z14)
	ROWQ5((R11), 2(R11), 24(R11), Z7, Z15)
	ROWQ5((R11)(DX*1), 2(R11)(DX*1), 24(R11)(DX*1), Z8, Z16)
	REDUCE8
	SCALES8
	FMA2
	ADDQ $44, SI
	ADDQ $44, R8
	ADDQ $44, R10
	ADDQ $44, R11
	ADDQ $352, R9
	ADDQ $68, DI
	DECQ CX
	JNZ  q50z_loop

q50z_tail:
	TESTQ $1, BX
	JZ    q50z_done
	MOVQ  $0x3fffff, AX // 22 bytes: one block
	KMOVQ AX, K1
	ACTLOAD1
	ROWQ5T((SI), 2(SI), Z1, Z9)
	ROWQ5T((SI)(DX*1), 2(SI)(DX*1), Z2, Z10)
	ROWQ5T((R8), 2(R8), Z3, Z11)
	ROWQ5T((R8)(DX*1), 2(R8)(DX*1), Z4, Z12)
	ROWQ5T((R10), 2(R10), Z5, Z13)
	ROWQ5T((R10)(DX*1), 2(R10)(DX*1), Z6, Z14)
	ROWQ5T((R11), 2(R11), Z7, Z15)
	ROWQ5T((R11)(DX*1), 2(R11)(DX*1), Z8, Z16)
	REDUCE8
	SCALES8
	FMA1

q50z_done:
	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// q80perm<> merges a Q8_0 row's two blocks for VPERMT2B (first table: the
// second block's quants, loaded from offset 36; second table, indices
// 64+: the bytes loaded from offset 0): [block 0 quants, block 1 quants].
DATA q80perm<>+0(SB)/8, $0x4948474645444342
DATA q80perm<>+8(SB)/8, $0x51504f4e4d4c4b4a
DATA q80perm<>+16(SB)/8, $0x5958575655545352
DATA q80perm<>+24(SB)/8, $0x61605f5e5d5c5b5a
DATA q80perm<>+32(SB)/8, $0x0706050403020100
DATA q80perm<>+40(SB)/8, $0x0f0e0d0c0b0a0908
DATA q80perm<>+48(SB)/8, $0x1716151413121110
DATA q80perm<>+56(SB)/8, $0x1f1e1d1c1b1a1918
GLOBL q80perm<>(SB), RODATA|NOPTR, $64

// q80sc1<> is the level-1 scale gather for Q8_0 (scales at words 0, 17).
DATA q80sc1<>+0(SB)/8, $0x0031001100200000
DATA q80sc1<>+8(SB)/8, $0
DATA q80sc1<>+16(SB)/8, $0
DATA q80sc1<>+24(SB)/8, $0
DATA q80sc1<>+32(SB)/8, $0
DATA q80sc1<>+40(SB)/8, $0
DATA q80sc1<>+48(SB)/8, $0
DATA q80sc1<>+56(SB)/8, $0
GLOBL q80sc1<>(SB), RODATA|NOPTR, $64

// ROWQ8(src, src36, raw, acc): Q8_0 quants are made unsigned by adding
// 128 (xor 0x80, Z28) and the lanes start at -128·Σy, so they hold exact
// partial sums of w·y for any quant values.
#define ROWQ8(src, src36, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VMOVDQU32  src36, Y17 \
	VPERMT2B   raw, Z20, Z17 \
	VPXORD     Z28, Z17, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

// ROWQ8T is ROWQ8 for a single last block.
#define ROWQ8T(src, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VPXORD     Z17, Z17, Z17 \
	VPERMT2B   raw, Z20, Z17 \
	VPXORD     Z28, Z17, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

// func dotQ8_0x8AVX512(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ8_0x8AVX512(SB), NOSPLIT, $0-40
	SETUP8(q80perm<>, q80sc1<>, $0x80808080)
	MOVQ $0xfffffffff, AX // 36 bytes: both scales, first block's quants
	KMOVQ AX, K1
	MOVQ CX, BX
	SHRQ $1, CX
	JZ   q80z_tail

q80z_loop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	PREFETCHT0 320(R9)
	PREFETCHT0 384(R9)
	PREFETCHT0 448(R9)
	PREFETCHT0 512(R9)
	ACTLOAD2
	ROWQ8((SI), 36(SI), Z1, Z9)
	ROWQ8((SI)(DX*1), 36(SI)(DX*1), Z2, Z10)
	ROWQ8((R8), 36(R8), Z3, Z11)
	ROWQ8((R8)(DX*1), 36(R8)(DX*1), Z4, Z12)
	ROWQ8((R10), 36(R10), Z5, Z13)
	ROWQ8((R10)(DX*1), 36(R10)(DX*1), Z6, Z14)
	ROWQ8((R11), 36(R11), Z7, Z15)
	ROWQ8((R11)(DX*1), 36(R11)(DX*1), Z8, Z16)
	REDUCE8
	SCALES8
	FMA2
	ADDQ $68, SI
	ADDQ $68, R8
	ADDQ $68, R10
	ADDQ $68, R11
	ADDQ $544, R9
	ADDQ $68, DI
	DECQ CX
	JNZ  q80z_loop

q80z_tail:
	TESTQ $1, BX
	JZ    q80z_done
	MOVQ  $0x3ffffffff, AX // 34 bytes: one block
	KMOVQ AX, K1
	ACTLOAD1
	ROWQ8T((SI), Z1, Z9)
	ROWQ8T((SI)(DX*1), Z2, Z10)
	ROWQ8T((R8), Z3, Z11)
	ROWQ8T((R8)(DX*1), Z4, Z12)
	ROWQ8T((R10), Z5, Z13)
	ROWQ8T((R10)(DX*1), Z6, Z14)
	ROWQ8T((R11), Z7, Z15)
	ROWQ8T((R11)(DX*1), Z8, Z16)
	REDUCE8
	SCALES8
	FMA1

q80z_done:
	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// iq4nl512<> is IQ4_NL's value table plus 128 (unsigned bytes, for
// VPERMB), so the lookup yields VPDPBUSD's unsigned operand directly and
// the offset is folded in as for Q8_0 (-128·Σy).
DATA iq4nl512<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA iq4nl512<>+8(SB)/8, $0xf1d9c5b5a6998d81
DATA iq4nl512<>+16(SB)/8, $0
DATA iq4nl512<>+24(SB)/8, $0
DATA iq4nl512<>+32(SB)/8, $0
DATA iq4nl512<>+40(SB)/8, $0
DATA iq4nl512<>+48(SB)/8, $0
DATA iq4nl512<>+56(SB)/8, $0
GLOBL iq4nl512<>(SB), RODATA|NOPTR, $64

// ROWIQ4(src, raw, acc) is ROWQ4 for IQ4_NL: the nibbles index the value
// table in Z31.
#define ROWIQ4(src, raw, acc) \
	VMOVDQU8.Z src, K1, raw \
	VPERMB     raw, Z20, Z17 \
	VPSRLVQ    Z21, Z17, Z17 \
	VPANDQ     Z22, Z17, Z17 \
	VPERMB     Z31, Z17, Z17 \
	VPSUBD     Z19, Z27, acc \
	VPDPBUSD   Z18, Z17, acc

#define ROWSIQ8 \
	ROWIQ4((SI), Z1, Z9) \
	ROWIQ4((SI)(DX*1), Z2, Z10) \
	ROWIQ4((R8), Z3, Z11) \
	ROWIQ4((R8)(DX*1), Z4, Z12) \
	ROWIQ4((R10), Z5, Z13) \
	ROWIQ4((R10)(DX*1), Z6, Z14) \
	ROWIQ4((R11), Z7, Z15) \
	ROWIQ4((R11)(DX*1), Z8, Z16)

// func dotIQ4_NLx8AVX512(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotIQ4_NLx8AVX512(SB), NOSPLIT, $0-40
	SETUP8(q40perm<>, q40sc1<>, $0x80808080)
	VMOVDQU64 iq4nl512<>(SB), Z31
	MOVQ $0xfffffffff, AX // 36 bytes: two blocks
	KMOVQ AX, K1
	MOVQ CX, BX
	SHRQ $1, CX
	JZ   iq4z_tail

iq4z_loop:
	PREFETCHT0 (R9)
	PREFETCHT0 64(R9)
	PREFETCHT0 128(R9)
	PREFETCHT0 192(R9)
	PREFETCHT0 256(R9)
	ACTLOAD2
	ROWSIQ8
	REDUCE8
	SCALES8
	FMA2
	ADDQ $36, SI
	ADDQ $36, R8
	ADDQ $36, R10
	ADDQ $36, R11
	ADDQ $288, R9
	ADDQ $68, DI
	DECQ CX
	JNZ  iq4z_loop

iq4z_tail:
	TESTQ $1, BX
	JZ    iq4z_done
	MOVQ  $0x3ffff, AX // 18 bytes: one block
	KMOVQ AX, K1
	ACTLOAD1
	ROWSIQ8
	REDUCE8
	SCALES8
	FMA1

iq4z_done:
	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// k4sc512<>+64·c (c = 0..3) spreads scale words 2c and 2c+1 (VPERMW) over
// the 16 pair lanes of sub-blocks 2c and 2c+1; k4sc512<>+256 pairs each
// min word m_j (words 8+j) for the sixteen 16-element sums.
DATA k4sc512<>+0(SB)/8, $0x0000000000000000
DATA k4sc512<>+8(SB)/8, $0x0000000000000000
DATA k4sc512<>+16(SB)/8, $0x0000000000000000
DATA k4sc512<>+24(SB)/8, $0x0000000000000000
DATA k4sc512<>+32(SB)/8, $0x0001000100010001
DATA k4sc512<>+40(SB)/8, $0x0001000100010001
DATA k4sc512<>+48(SB)/8, $0x0001000100010001
DATA k4sc512<>+56(SB)/8, $0x0001000100010001
DATA k4sc512<>+64(SB)/8, $0x0002000200020002
DATA k4sc512<>+72(SB)/8, $0x0002000200020002
DATA k4sc512<>+80(SB)/8, $0x0002000200020002
DATA k4sc512<>+88(SB)/8, $0x0002000200020002
DATA k4sc512<>+96(SB)/8, $0x0003000300030003
DATA k4sc512<>+104(SB)/8, $0x0003000300030003
DATA k4sc512<>+112(SB)/8, $0x0003000300030003
DATA k4sc512<>+120(SB)/8, $0x0003000300030003
DATA k4sc512<>+128(SB)/8, $0x0004000400040004
DATA k4sc512<>+136(SB)/8, $0x0004000400040004
DATA k4sc512<>+144(SB)/8, $0x0004000400040004
DATA k4sc512<>+152(SB)/8, $0x0004000400040004
DATA k4sc512<>+160(SB)/8, $0x0005000500050005
DATA k4sc512<>+168(SB)/8, $0x0005000500050005
DATA k4sc512<>+176(SB)/8, $0x0005000500050005
DATA k4sc512<>+184(SB)/8, $0x0005000500050005
DATA k4sc512<>+192(SB)/8, $0x0006000600060006
DATA k4sc512<>+200(SB)/8, $0x0006000600060006
DATA k4sc512<>+208(SB)/8, $0x0006000600060006
DATA k4sc512<>+216(SB)/8, $0x0006000600060006
DATA k4sc512<>+224(SB)/8, $0x0007000700070007
DATA k4sc512<>+232(SB)/8, $0x0007000700070007
DATA k4sc512<>+240(SB)/8, $0x0007000700070007
DATA k4sc512<>+248(SB)/8, $0x0007000700070007
DATA k4sc512<>+256(SB)/8, $0x0009000900080008
DATA k4sc512<>+264(SB)/8, $0x000b000b000a000a
DATA k4sc512<>+272(SB)/8, $0x000d000d000c000c
DATA k4sc512<>+280(SB)/8, $0x000f000f000e000e
DATA k4sc512<>+288(SB)/8, $0
DATA k4sc512<>+296(SB)/8, $0
DATA k4sc512<>+304(SB)/8, $0
DATA k4sc512<>+312(SB)/8, $0
GLOBL k4sc512<>(SB), RODATA|NOPTR, $320

// K4CHUNK(c) adds to Z8's int32 lanes Σ scale·q·y for sub-blocks 2c and
// 2c+1 of the Q4_K super-block at SI: the 32 quant bytes give the low
// nibbles (sub-block 2c) and high nibbles (2c+1), which line up with the
// 64 activation quants at DI+4+64c; VPMADDUBSW pairs them and VPDPWSSD
// weights the pairs by the scale words in Z(10+c).
#define K4CHUNK(qoff, yoff, sc) \
	VMOVDQU32     qoff(SI), Y1 \
	VPSRLW        $4, Y1, Y2 \
	VINSERTI64X4  $1, Y2, Z1, Z1 \
	VPANDQ        Z15, Z1, Z1 \
	VPMADDUBSW    yoff(DI), Z1, Z1 \
	VPDPWSSD      sc, Z1, Z8

// func dotQ4_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q4_K rows with AVX-512 BW and VNNI (VPDPWSSD): per super-block, the
// int32 lanes of Σ scale·q·y are converted and accumulated with FMA
// against d·dy lane by lane, the mins term (Σ min·bsum, VPMADDWD) against
// dmin·dy; the lanes are summed at the end of the row.
TEXT ·dotQ4_KRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	VMOVDQU64 k4sc512<>+0(SB), Z20
	VMOVDQU64 k4sc512<>+64(SB), Z21
	VMOVDQU64 k4sc512<>+128(SB), Z22
	VMOVDQU64 k4sc512<>+192(SB), Z23
	VMOVDQU64 k4sc512<>+256(SB), Z24

q4kz_row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VPXORD Z0, Z0, Z0 // Σ d·dy·isum lanes
	VPXORD Z9, Z9, Z9 // Σ dmin·dy·summ lanes (Y9)

q4kz_loop:
	MOVL 4(SI), AX  // scale bytes 0-3
	MOVL 8(SI), BX  // 4-7
	MOVL 12(SI), DX // 8-11
	MOVL DX, R8     // mins 4-7: (u2>>4)&0x0f | ((u1>>6)&3)<<4
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8
	MOVL BX, R10 // mins 0-3: u1&0x3f
	ANDL $0x3f3f3f3f, R10
	MOVL DX, R11 // scales 4-7: u2&0x0f | ((u0>>6)&3)<<4
	ANDL $0x0f0f0f0f, R11
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R11
	ANDL $0x3f3f3f3f, AX // scales 0-3
	SHLQ $32, R11
	ORQ  R11, AX         // scales 0-7
	SHLQ $32, R8
	ORQ  R8, R10         // mins 0-7
	VMOVQ     AX, X3
	VPINSRQ   $1, R10, X3, X3
	VPMOVZXBW X3, Y3      // words: scales 0-7, mins 0-7
	VPERMW    Z3, Z20, Z10
	VPERMW    Z3, Z21, Z11
	VPERMW    Z3, Z22, Z12
	VPERMW    Z3, Z23, Z13
	VPERMW    Z3, Z24, Z14 // min of each 16-element sum (Y14)
	VPMADDWD  260(DI), Y14, Y14
	VCVTDQ2PS Y14, Y14
	VPXORD    Z8, Z8, Z8
	K4CHUNK(16, 4, Z10)
	K4CHUNK(48, 68, Z11)
	K4CHUNK(80, 132, Z12)
	K4CHUNK(112, 196, Z13)
	VCVTDQ2PS    Z8, Z8
	VMOVD        (SI), X5 // d, dmin
	VCVTPH2PS    X5, X5
	VBROADCASTSS (DI), X6
	VMULPS       X6, X5, X5 // d·dy, dmin·dy
	VBROADCASTSS X5, Z6
	VFMADD231PS  Z6, Z8, Z0
	VMOVSHDUP    X5, X7
	VBROADCASTSS X7, Y7
	VFMADD231PS  Y7, Y14, Y9
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kz_loop

	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VEXTRACTF128  $1, Y9, X1
	VADDPS        X1, X9, X9
	VMOVHLPS      X0, X1, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVHLPS      X9, X1, X1
	VADDPS        X1, X9, X9
	VMOVSHDUP     X9, X1
	VADDSS        X1, X9, X9
	VSUBSS        X9, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q4kz_row
	VZEROUPPER
	RET

// K5CHUNK(qoff, yoff, sc) is K4CHUNK for Q5_K, with the fifth bits at
// bit 4 of Z18's bytes (masked with Z17 = 0x10 bytes).
#define K5CHUNK(qoff, yoff, sc) \
	VMOVDQU32     qoff(SI), Y1 \
	VPSRLW        $4, Y1, Y2 \
	VINSERTI64X4  $1, Y2, Z1, Z1 \
	VPANDQ        Z15, Z1, Z1 \
	VPTERNLOGD    $0xf8, Z17, Z18, Z1 \
	VPMADDUBSW    yoff(DI), Z1, Z1 \
	VPDPWSSD      sc, Z1, Z8

// func dotQ5_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// As dotQ4_KRowsAVX512, with each quant's fifth bit (bit j of qh[l] for
// sub-block j) or-ed in as 16: Z16 = [qh, qh>>1] is shifted so that bit
// 2c (low half) and 2c+1 (high half) land on bit 4 for chunk c.
TEXT ·dotQ5_KRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	VMOVDQU64 k4sc512<>+0(SB), Z20
	VMOVDQU64 k4sc512<>+64(SB), Z21
	VMOVDQU64 k4sc512<>+128(SB), Z22
	VMOVDQU64 k4sc512<>+192(SB), Z23
	VMOVDQU64 k4sc512<>+256(SB), Z24
	MOVL $0x10101010, AX
	VPBROADCASTD AX, Z17

q5kz_row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VPXORD Z0, Z0, Z0 // Σ d·dy·isum lanes
	VPXORD Z9, Z9, Z9 // Σ dmin·dy·summ lanes (Y9)

q5kz_loop:
	MOVL 4(SI), AX  // scale bytes 0-3
	MOVL 8(SI), BX  // 4-7
	MOVL 12(SI), DX // 8-11
	MOVL DX, R8     // mins 4-7: (u2>>4)&0x0f | ((u1>>6)&3)<<4
	SHRL $4, R8
	ANDL $0x0f0f0f0f, R8
	MOVL BX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R8
	MOVL BX, R10 // mins 0-3: u1&0x3f
	ANDL $0x3f3f3f3f, R10
	MOVL DX, R11 // scales 4-7: u2&0x0f | ((u0>>6)&3)<<4
	ANDL $0x0f0f0f0f, R11
	MOVL AX, R9
	SHRL $6, R9
	ANDL $0x03030303, R9
	SHLL $4, R9
	ORL  R9, R11
	ANDL $0x3f3f3f3f, AX // scales 0-3
	SHLQ $32, R11
	ORQ  R11, AX         // scales 0-7
	SHLQ $32, R8
	ORQ  R8, R10         // mins 0-7
	VMOVQ     AX, X3
	VPINSRQ   $1, R10, X3, X3
	VPMOVZXBW X3, Y3      // words: scales 0-7, mins 0-7
	VPERMW    Z3, Z20, Z10
	VPERMW    Z3, Z21, Z11
	VPERMW    Z3, Z22, Z12
	VPERMW    Z3, Z23, Z13
	VPERMW    Z3, Z24, Z14 // min of each 16-element sum (Y14)
	VPMADDWD  260(DI), Y14, Y14
	VCVTDQ2PS Y14, Y14
	VPXORD    Z8, Z8, Z8
	VMOVDQU32    16(SI), Y16
	VPSRLW       $1, Y16, Y18
	VINSERTI64X4 $1, Y18, Z16, Z16
	VPSLLW       $4, Z16, Z18
	K5CHUNK(48, 4, Z10)
	VPSLLW       $2, Z16, Z18
	K5CHUNK(80, 68, Z11)
	VMOVDQA64    Z16, Z18
	K5CHUNK(112, 132, Z12)
	VPSRLW       $2, Z16, Z18
	K5CHUNK(144, 196, Z13)
	VCVTDQ2PS    Z8, Z8
	VMOVD        (SI), X5 // d, dmin
	VCVTPH2PS    X5, X5
	VBROADCASTSS (DI), X6
	VMULPS       X6, X5, X5 // d·dy, dmin·dy
	VBROADCASTSS X5, Z6
	VFMADD231PS  Z6, Z8, Z0
	VMOVSHDUP    X5, X7
	VBROADCASTSS X7, Y7
	VFMADD231PS  Y7, Y14, Y9
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kz_loop

	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VEXTRACTF128  $1, Y9, X1
	VADDPS        X1, X9, X9
	VMOVHLPS      X0, X1, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVHLPS      X9, X1, X1
	VADDPS        X1, X9, X9
	VMOVSHDUP     X9, X1
	VADDSS        X1, X9, X9
	VSUBSS        X9, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q5kz_row
	VZEROUPPER
	RET

// q6sc512<>+64·c (c = 0..3) spreads Q6_K scale words 4c..4c+3 over the
// pair lanes of 64 elements (eight lanes, 16 elements, per scale).
DATA q6sc512<>+0(SB)/8, $0x0000000000000000
DATA q6sc512<>+8(SB)/8, $0x0000000000000000
DATA q6sc512<>+16(SB)/8, $0x0001000100010001
DATA q6sc512<>+24(SB)/8, $0x0001000100010001
DATA q6sc512<>+32(SB)/8, $0x0002000200020002
DATA q6sc512<>+40(SB)/8, $0x0002000200020002
DATA q6sc512<>+48(SB)/8, $0x0003000300030003
DATA q6sc512<>+56(SB)/8, $0x0003000300030003
DATA q6sc512<>+64(SB)/8, $0x0004000400040004
DATA q6sc512<>+72(SB)/8, $0x0004000400040004
DATA q6sc512<>+80(SB)/8, $0x0005000500050005
DATA q6sc512<>+88(SB)/8, $0x0005000500050005
DATA q6sc512<>+96(SB)/8, $0x0006000600060006
DATA q6sc512<>+104(SB)/8, $0x0006000600060006
DATA q6sc512<>+112(SB)/8, $0x0007000700070007
DATA q6sc512<>+120(SB)/8, $0x0007000700070007
DATA q6sc512<>+128(SB)/8, $0x0008000800080008
DATA q6sc512<>+136(SB)/8, $0x0008000800080008
DATA q6sc512<>+144(SB)/8, $0x0009000900090009
DATA q6sc512<>+152(SB)/8, $0x0009000900090009
DATA q6sc512<>+160(SB)/8, $0x000a000a000a000a
DATA q6sc512<>+168(SB)/8, $0x000a000a000a000a
DATA q6sc512<>+176(SB)/8, $0x000b000b000b000b
DATA q6sc512<>+184(SB)/8, $0x000b000b000b000b
DATA q6sc512<>+192(SB)/8, $0x000c000c000c000c
DATA q6sc512<>+200(SB)/8, $0x000c000c000c000c
DATA q6sc512<>+208(SB)/8, $0x000d000d000d000d
DATA q6sc512<>+216(SB)/8, $0x000d000d000d000d
DATA q6sc512<>+224(SB)/8, $0x000e000e000e000e
DATA q6sc512<>+232(SB)/8, $0x000e000e000e000e
DATA q6sc512<>+240(SB)/8, $0x000f000f000f000f
DATA q6sc512<>+248(SB)/8, $0x000f000f000f000f
GLOBL q6sc512<>(SB), RODATA|NOPTR, $256

// Q6HALF(qloff, qhoff, y0, y1, sclo, schi) adds to Z8's int32 lanes
// Σ scale·q·y over one 128-element half of a Q6_K super-block at SI: the
// 64 ql bytes give the low four bits of elements 0-63 (low nibbles) and
// 64-127 (high nibbles), the 32 qh bytes, spread as [qh, qh>>2], the top
// two; quants are used unsigned (0..63), the -32 offset is applied once
// per super-block from the Q8_K sums.
#define Q6HALF(qloff, qhoff, y0, y1, sclo, schi) \
	VMOVDQU64    qloff(SI), Z1 \
	VMOVDQU32    qhoff(SI), Y2 \
	VPSRLW       $2, Y2, Y4 \
	VINSERTI64X4 $1, Y4, Z2, Z2 \
	VPSLLW       $4, Z2, Z4 \
	VPANDQ       Z16, Z4, Z4 \
	VPANDQ       Z16, Z2, Z2 \
	VPANDQ       Z15, Z1, Z5 \
	VPORQ        Z4, Z5, Z5 \
	VPSRLW       $4, Z1, Z1 \
	VPANDQ       Z15, Z1, Z1 \
	VPORQ        Z2, Z1, Z1 \
	VPMADDUBSW   y0(DI), Z5, Z5 \
	VPDPWSSD     sclo, Z5, Z8 \
	VPMADDUBSW   y1(DI), Z1, Z1 \
	VPDPWSSD     schi, Z1, Z8

// func dotQ6_KRowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q6_K rows with AVX-512 BW and VNNI (VPDPWSSD): the int32 lanes of
// Σ scale·(q-32)·y per super-block are converted and accumulated with FMA
// against d·dy lane by lane, and summed at the end of the row.
TEXT ·dotQ6_KRowsAVX512(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVL $0x0f0f0f0f, AX
	VPBROADCASTD AX, Z15
	MOVL $0x30303030, AX
	VPBROADCASTD AX, Z16
	VPXORD    Z17, Z17, Z17
	VMOVDQU64 q6sc512<>+0(SB), Z20
	VMOVDQU64 q6sc512<>+64(SB), Z21
	VMOVDQU64 q6sc512<>+128(SB), Z22
	VMOVDQU64 q6sc512<>+192(SB), Z23

q6kz_row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VPXORD Z0, Z0, Z0

q6kz_loop:
	VPMOVSXBW 192(SI), Y3 // 16 scales
	VPERMW    Z3, Z20, Z10
	VPERMW    Z3, Z21, Z11
	VPERMW    Z3, Z22, Z12
	VPERMW    Z3, Z23, Z13
	VPMADDWD  260(DI), Y3, Y14
	VPSLLD    $5, Y14, Y14
	VPSUBD    Z14, Z17, Z8 // lanes start at -32·Σ scale·bsum
	Q6HALF(0, 128, 4, 68, Z10, Z11)
	Q6HALF(64, 160, 132, 196, Z12, Z13)
	VCVTDQ2PS    Z8, Z8
	MOVWLZX      208(SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	VMULSS       (DI), X5, X5
	VBROADCASTSS X5, Z5
	VFMADD231PS  Z5, Z8, Z0
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kz_loop

	VEXTRACTF64X4 $1, Z0, Y1
	VADDPS        Y1, Y0, Y0
	VEXTRACTF128  $1, Y0, X1
	VADDPS        X1, X0, X0
	VMOVHLPS      X0, X1, X1
	VADDPS        X1, X0, X0
	VMOVSHDUP     X0, X1
	VADDSS        X1, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q6kz_row
	VZEROUPPER
	RET

// func dotQ8_0RowsAVX512(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q8_0 rows one at a time, two blocks per iteration, with the arithmetic
// of the AVX2 row kernel (exact int32 block sums, acc = fma(sum, dx·dy,
// acc) block by block), so results are bit-identical to it.
TEXT ·dotQ8_0RowsAVX512(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	MOVL $0x80808080, AX
	VPBROADCASTD AX, Z28
	VPXORD Z27, Z27, Z27

q80r_row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), BX
	MOVQ BX, CX
	SHRQ $1, CX
	VXORPS X0, X0, X0
	JZ   q80r_one

q80r_loop:
	VMOVDQU32    2(DI), Y2
	VINSERTI64X4 $1, 36(DI), Z2, Z2
	VMOVDQU32    2(SI), Y1
	VINSERTI64X4 $1, 36(SI), Z1, Z1
	VPXORD       Z28, Z1, Z1 // w + 128
	VPXORD       Z3, Z3, Z3
	VPDPBUSD     Z2, Z28, Z3 // 128·Σy lanes
	VPSUBD       Z3, Z27, Z4
	VPDPBUSD     Z2, Z1, Z4  // exact w·y lanes: block 0 in 0-7, block 1 in 8-15
	VEXTRACTI64X4 $1, Z4, Y5
	VPHADDD      Y5, Y4, Y6
	VEXTRACTI128 $1, Y6, X7
	VPADDD       X7, X6, X6
	VPHADDD      X6, X6, X6  // [b0 b1 b0 b1] exact block sums
	VCVTDQ2PS    X6, X6
	VMOVD        (SI), X8
	VPINSRW      $1, 34(SI), X8, X8
	VMOVD        (DI), X9
	VPINSRW      $1, 34(DI), X9, X9
	VCVTPH2PS    X8, X8
	VCVTPH2PS    X9, X9
	VMULPS       X9, X8, X8  // dx·dy of both blocks
	VFMADD231SS  X8, X6, X0
	VMOVSHDUP    X6, X6
	VMOVSHDUP    X8, X8
	VFMADD231SS  X8, X6, X0
	ADDQ $68, SI
	ADDQ $68, DI
	DECQ CX
	JNZ  q80r_loop

q80r_one:
	TESTQ $1, BX
	JZ    q80r_done
	VMOVDQU32    2(DI), Y2
	VMOVDQU32    2(SI), Y1
	VPXORD       Y28, Y1, Y1
	VPXORD       Y3, Y3, Y3
	VPDPBUSD     Y2, Y28, Y3
	VPSUBD       Y3, Y27, Y4
	VPDPBUSD     Y2, Y1, Y4
	VEXTRACTI128 $1, Y4, X5
	VPADDD       X5, X4, X4
	VPSHUFD      $0x4e, X4, X5
	VPADDD       X5, X4, X4
	VPSHUFD      $0xb1, X4, X5
	VPADDD       X5, X4, X4
	VCVTDQ2PS    X4, X4
	VPBROADCASTW (SI), X8
	VPBROADCASTW (DI), X9
	VCVTPH2PS    X8, X8
	VCVTPH2PS    X9, X9
	VMULSS       X9, X8, X8
	VFMADD231SS  X8, X4, X0

q80r_done:
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q80r_row
	VZEROUPPER
	RET
