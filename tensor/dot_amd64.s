//go:build amd64

#include "textflag.h"

// AVX2 + FMA + F16C dot-product kernels; see dot_amd64.go for the Go
// declarations. Integer blocks follow ggml's scheme: unsigned×signed byte
// products with VPMADDUBSW (signed weights via VPSIGNB/VPABSB, which needs
// activation quants >= -127, as ggml's quantizers guarantee), pairs of int16
// widened with VPMADDWD (by ones or by the sub-block scales), int32 lanes
// converted to float and accumulated with FMA against the block's float
// scale. Each *RowsAVX2 kernel loops over rows weight rows stride bytes
// apart (same activation row y) and stores one float32 per row at out;
// R12/R13 hold the output pointer and row count, and the x argument slot is
// advanced by stride after each row.

// Horizontal sum of the 8 floats of Y0 into X0 (clobbers X1).
#define HSUM_Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPS       X1, X0, X0 \
	VMOVHLPS     X0, X1, X1 \
	VADDPS       X1, X0, X0 \
	VMOVSHDUP    X0, X1     \
	VADDSS       X1, X0, X0

// ONES16 sets every int16 lane of r to 1.
#define ONES16(r) \
	VPCMPEQW r, r, r \
	VPSRLW   $15, r, r

// BCAST32(v, reg, y) broadcasts the 32-bit constant v to every dword of y
// (through reg and X15).
#define BCAST32(v, reg, y) \
	MOVL         v, reg \
	VMOVD        reg, X15 \
	VPBROADCASTD X15, y

// Q8_SCALE(xs, ys, r, t) sets every lane of r to f16(xs)·f16(ys), the
// product of the two half-float block scales at addresses xs and ys
// (broadcast, then converted, to stay in vector registers). Clobbers t.
#define Q8_SCALE(xs, ys, r, t) \
	VPBROADCASTW xs, X15 \
	VPBROADCASTW ys, t \
	VCVTPH2PS    X15, Y15 \
	VCVTPH2PS    t, r \
	VMULPS       Y15, r, r

// func dotQ4_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q4_0 weights by Q8_0: nibbles used unsigned (0..15) in VPMADDUBSW and the
// -8 offset subtracted as VPMADDUBSW(8, y) before widening.
TEXT ·dotQ4_0RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x08080808, AX, Y12)
	VMOVDQU nibshift<>(SB), Y11

	// Same arithmetic as dotQ4_0x4AVX2, so both give identical results:
	// the exact int32 sum of each block, times dx·dy, accumulated
	// block by block in one float lane. Two blocks per iteration share
	// the reduction and the scale conversions.
q4_0row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), BX
	MOVQ BX, CX
	SHRQ $1, CX
	VXORPS X0, X0, X0
	JZ   q40one

q40loop:
	VBROADCASTI128 2(SI), Y1    // block 0: 16 quant bytes in both lanes
	VPSRLVD        Y11, Y1, Y1  // high lane: high nibbles
	VPAND          Y13, Y1, Y1  // unsigned quants 0..15
	VMOVDQU        2(DI), Y2
	VPMADDUBSW     Y2, Y1, Y3   // Σ q·y pairs
	VPMADDUBSW     Y2, Y12, Y2  // Σ 8·y pairs
	VPSUBW         Y2, Y3, Y3   // Σ (q-8)·y pairs, |·| ≤ 2048
	VBROADCASTI128 20(SI), Y5   // block 1
	VPSRLVD        Y11, Y5, Y5
	VPAND          Y13, Y5, Y5
	VMOVDQU        36(DI), Y6
	VPMADDUBSW     Y6, Y5, Y7
	VPMADDUBSW     Y6, Y12, Y6
	VPSUBW         Y6, Y7, Y7
	VPHADDW        Y7, Y3, Y3   // per lane: block 0 ×4, block 1 ×4 (int16)
	VEXTRACTI128   $1, Y3, X4
	VPADDW         X4, X3, X3
	VPMADDWD       X14, X3, X3  // [b0 b0 b1 b1] int32
	VPHADDD        X3, X3, X3   // [b0 b1 b0 b1] exact block sums
	VCVTDQ2PS      X3, X3
	VMOVD          (SI), X4     // dx of both blocks (and quant bytes)
	VPINSRW        $1, 18(SI), X4, X4
	VMOVD          (DI), X5     // dy of both blocks
	VPINSRW        $1, 34(DI), X5, X5
	VCVTPH2PS      X4, X4
	VCVTPH2PS      X5, X5
	VMULPS         X5, X4, X4
	VFMADD231SS    X4, X3, X0
	VMOVSHDUP      X3, X3
	VMOVSHDUP      X4, X4
	VFMADD231SS    X4, X3, X0
	ADDQ $36, SI
	ADDQ $68, DI
	DECQ CX
	JNZ  q40loop

q40one:
	TESTQ $1, BX
	JZ    q40done
	VBROADCASTI128 2(SI), Y1    // odd last block
	VPSRLVD        Y11, Y1, Y1
	VPAND          Y13, Y1, Y1
	VMOVDQU        2(DI), Y2
	VPMADDUBSW     Y2, Y1, Y3
	VPMADDUBSW     Y2, Y12, Y2
	VPSUBW         Y2, Y3, Y3
	VPMADDWD       Y14, Y3, Y3
	VEXTRACTI128   $1, Y3, X4
	VPADDD         X4, X3, X3
	VPSHUFD        $0x4e, X3, X4
	VPADDD         X4, X3, X3
	VPSHUFD        $0xb1, X3, X4
	VPADDD         X4, X3, X3   // exact block sum in every lane
	VCVTDQ2PS      X3, X3
	VPBROADCASTW   (SI), X4
	VPBROADCASTW   (DI), X5
	VCVTPH2PS      X4, X4
	VCVTPH2PS      X5, X5
	VMULSS         X5, X4, X4
	VFMADD231SS    X4, X3, X0

q40done:
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q4_0row
	VZEROUPPER
	RET

// nibshift<> shifts the high 128-bit lane right by 4 bits (VPSRLVD) to
// bring the high nibbles of a broadcast Q4 block down.
DATA nibshift<>+0(SB)/8, $0
DATA nibshift<>+8(SB)/8, $0
DATA nibshift<>+16(SB)/8, $0x0000000400000004
DATA nibshift<>+24(SB)/8, $0x0000000400000004
GLOBL nibshift<>(SB), RODATA|NOPTR, $32

// k4shuf<>+32·k broadcasts int16 word k of each 128-bit lane (VPSHUFB).
DATA k4shuf<>+0(SB)/8, $0x0100010001000100
DATA k4shuf<>+8(SB)/8, $0x0100010001000100
DATA k4shuf<>+16(SB)/8, $0x0100010001000100
DATA k4shuf<>+24(SB)/8, $0x0100010001000100
DATA k4shuf<>+32(SB)/8, $0x0302030203020302
DATA k4shuf<>+40(SB)/8, $0x0302030203020302
DATA k4shuf<>+48(SB)/8, $0x0302030203020302
DATA k4shuf<>+56(SB)/8, $0x0302030203020302
DATA k4shuf<>+64(SB)/8, $0x0504050405040504
DATA k4shuf<>+72(SB)/8, $0x0504050405040504
DATA k4shuf<>+80(SB)/8, $0x0504050405040504
DATA k4shuf<>+88(SB)/8, $0x0504050405040504
DATA k4shuf<>+96(SB)/8, $0x0706070607060706
DATA k4shuf<>+104(SB)/8, $0x0706070607060706
DATA k4shuf<>+112(SB)/8, $0x0706070607060706
DATA k4shuf<>+120(SB)/8, $0x0706070607060706
DATA k4shuf<>+128(SB)/8, $0x0908090809080908
DATA k4shuf<>+136(SB)/8, $0x0908090809080908
DATA k4shuf<>+144(SB)/8, $0x0908090809080908
DATA k4shuf<>+152(SB)/8, $0x0908090809080908
DATA k4shuf<>+160(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+168(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+176(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+184(SB)/8, $0x0b0a0b0a0b0a0b0a
DATA k4shuf<>+192(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+200(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+208(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+216(SB)/8, $0x0d0c0d0c0d0c0d0c
DATA k4shuf<>+224(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+232(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+240(SB)/8, $0x0f0e0f0e0f0e0f0e
DATA k4shuf<>+248(SB)/8, $0x0f0e0f0e0f0e0f0e
GLOBL k4shuf<>(SB), RODATA|NOPTR, $256

// q6shuf<>+16·i picks byte 2i eight times, then byte 2i+1 eight times.
DATA q6shuf<>+0(SB)/8, $0x0000000000000000
DATA q6shuf<>+8(SB)/8, $0x0101010101010101
DATA q6shuf<>+16(SB)/8, $0x0202020202020202
DATA q6shuf<>+24(SB)/8, $0x0303030303030303
DATA q6shuf<>+32(SB)/8, $0x0404040404040404
DATA q6shuf<>+40(SB)/8, $0x0505050505050505
DATA q6shuf<>+48(SB)/8, $0x0606060606060606
DATA q6shuf<>+56(SB)/8, $0x0707070707070707
DATA q6shuf<>+64(SB)/8, $0x0808080808080808
DATA q6shuf<>+72(SB)/8, $0x0909090909090909
DATA q6shuf<>+80(SB)/8, $0x0a0a0a0a0a0a0a0a
DATA q6shuf<>+88(SB)/8, $0x0b0b0b0b0b0b0b0b
DATA q6shuf<>+96(SB)/8, $0x0c0c0c0c0c0c0c0c
DATA q6shuf<>+104(SB)/8, $0x0d0d0d0d0d0d0d0d
DATA q6shuf<>+112(SB)/8, $0x0e0e0e0e0e0e0e0e
DATA q6shuf<>+120(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q6shuf<>(SB), RODATA|NOPTR, $128

// func dotQ4_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Per 256-element super-block: unpack the twelve 6-bit scale/min bytes
// into eight scales and eight mins (int16), take the min term from the
// Q8_K 16-element sums (mins·pairwise bsums, VPMADDWD), and the scale term
// from nibble×int8 products weighted per 32 elements.
TEXT ·dotQ4_KRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x0f0f0f0f, AX, Y13)

q4_krow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0 // Σ d·dy·isum lanes
	VXORPS Y9, Y9, Y9 // Σ dmin·dy·summ lanes (X9)

q4kloop:
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
	VMOVD        AX, X1
	VPINSRD      $1, R11, X1, X1
	VPINSRD      $2, R10, X1, X1
	VPINSRD      $3, R8, X1, X1
	VPMOVZXBW    X1, Y1          // words 0-7 scales, 8-15 mins
	VPERMQ       $0x44, Y1, Y2   // scales in both lanes
	VEXTRACTI128 $1, Y1, X1      // mins
	VMOVDQU      260(DI), Y3     // bsums
	VEXTRACTI128 $1, Y3, X4
	VPHADDW      X4, X3, X3      // per-32 sums
	VPMADDWD     X3, X1, X1
	VCVTDQ2PS    X1, X1
	VMOVD        (SI), X5        // d, dmin
	VCVTPH2PS    X5, X5
	VBROADCASTSS (DI), X6
	VMULPS       X6, X5, X5      // d·dy, dmin·dy
	VMOVSHDUP    X5, X6
	VBROADCASTSS X6, X6
	VFMADD231PS  X6, X1, X9
	VBROADCASTSS X5, Y7
	VPXOR        Y8, Y8, Y8
	VMOVDQU     16(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPMADDUBSW  4(DI), Y10, Y10
	VPSHUFB     k4shuf<>+0(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  36(DI), Y11, Y11
	VPSHUFB     k4shuf<>+32(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     48(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPMADDUBSW  68(DI), Y10, Y10
	VPSHUFB     k4shuf<>+64(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  100(DI), Y11, Y11
	VPSHUFB     k4shuf<>+96(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     80(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPMADDUBSW  132(DI), Y10, Y10
	VPSHUFB     k4shuf<>+128(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  164(DI), Y11, Y11
	VPSHUFB     k4shuf<>+160(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     112(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPMADDUBSW  196(DI), Y10, Y10
	VPSHUFB     k4shuf<>+192(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  228(DI), Y11, Y11
	VPSHUFB     k4shuf<>+224(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VCVTDQ2PS   Y8, Y8
	VFMADD231PS Y7, Y8, Y0
	ADDQ $144, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q4kloop
	HSUM_Y0
	VMOVHLPS  X9, X1, X1
	VADDPS    X1, X9, X9
	VMOVSHDUP X9, X1
	VADDSS    X1, X9, X9
	VSUBSS    X9, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q4_krow
	VZEROUPPER
	RET

// func dotQ6_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q6_K quants are used unsigned (0..63) in VPMADDUBSW; the -32 offset is
// applied once per super-block as 32·Σ scale·bsum from the Q8_K sums.
TEXT ·dotQ6_KRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x30303030, AX, Y12)

q6_krow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0

q6kloop:
	VMOVDQU   192(SI), X10   // 16 int8 scales
	VPMOVSXBW X10, Y11
	VPMADDWD  260(DI), Y11, Y11
	VPSLLD    $5, Y11, Y11   // 32·Σ scale·bsum
	VPXOR     Y8, Y8, Y8
	VMOVDQU 128(SI), Y9
	VMOVDQU 0(SI), Y1
	VMOVDQU 32(SI), Y2
	VPAND   Y13, Y1, Y3
	VPSLLW  $4, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 4(DI), Y3, Y3
	VPSHUFB   q6shuf<>+0(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPAND   Y13, Y2, Y3
	VPSLLW  $2, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 36(DI), Y3, Y3
	VPSHUFB   q6shuf<>+16(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPSRLW  $4, Y1, Y3
	VPAND   Y13, Y3, Y3
	VPAND   Y12, Y9, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 68(DI), Y3, Y3
	VPSHUFB   q6shuf<>+32(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPSRLW  $4, Y2, Y3
	VPAND   Y13, Y3, Y3
	VPSRLW  $2, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 100(DI), Y3, Y3
	VPSHUFB   q6shuf<>+48(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VMOVDQU 160(SI), Y9
	VMOVDQU 64(SI), Y1
	VMOVDQU 96(SI), Y2
	VPAND   Y13, Y1, Y3
	VPSLLW  $4, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 132(DI), Y3, Y3
	VPSHUFB   q6shuf<>+64(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPAND   Y13, Y2, Y3
	VPSLLW  $2, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 164(DI), Y3, Y3
	VPSHUFB   q6shuf<>+80(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPSRLW  $4, Y1, Y3
	VPAND   Y13, Y3, Y3
	VPAND   Y12, Y9, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 196(DI), Y3, Y3
	VPSHUFB   q6shuf<>+96(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPSRLW  $4, Y2, Y3
	VPAND   Y13, Y3, Y3
	VPSRLW  $2, Y9, Y4
	VPAND   Y12, Y4, Y4
	VPOR    Y4, Y3, Y3
	VPMADDUBSW 228(DI), Y3, Y3
	VPSHUFB   q6shuf<>+112(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y3, Y3
	VPADDD    Y3, Y8, Y8
	VPSUBD       Y11, Y8, Y8
	VCVTDQ2PS    Y8, Y8
	MOVWLZX      208(SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	VMULSS       (DI), X5, X5
	VBROADCASTSS X5, Y5
	VFMADD231PS  Y5, Y8, Y0
	ADDQ $210, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q6kloop
	HSUM_Y0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q6_krow
	VZEROUPPER
	RET

// func dotF16RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// nb is the element count, a positive multiple of 32; four 8-lane FMA
// accumulators.
TEXT ·dotF16RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13

f16row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f16loop:
	VCVTPH2PS 0(SI), Y4
	VCVTPH2PS 0(DI), Y8
	VFMADD231PS Y8, Y4, Y0
	VCVTPH2PS 16(SI), Y5
	VCVTPH2PS 16(DI), Y9
	VFMADD231PS Y9, Y5, Y1
	VCVTPH2PS 32(SI), Y6
	VCVTPH2PS 32(DI), Y10
	VFMADD231PS Y10, Y6, Y2
	VCVTPH2PS 48(SI), Y7
	VCVTPH2PS 48(DI), Y11
	VFMADD231PS Y11, Y7, Y3
	ADDQ $64, SI
	ADDQ $64, DI
	SUBQ $32, CX
	JNZ  f16loop
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    f16row
	VZEROUPPER
	RET

// func dotF32RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// nb is the element count, a positive multiple of 32; four 8-lane FMA
// accumulators.
TEXT ·dotF32RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13

f32row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

f32loop:
	VMOVUPS 0(SI), Y4
	VMOVUPS 0(DI), Y8
	VFMADD231PS Y8, Y4, Y0
	VMOVUPS 32(SI), Y5
	VMOVUPS 32(DI), Y9
	VFMADD231PS Y9, Y5, Y1
	VMOVUPS 64(SI), Y6
	VMOVUPS 64(DI), Y10
	VFMADD231PS Y10, Y6, Y2
	VMOVUPS 96(SI), Y7
	VMOVUPS 96(DI), Y11
	VFMADD231PS Y11, Y7, Y3
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ  f32loop
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	HSUM_Y0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    f32row
	VZEROUPPER
	RET

// HSUM(y, x, t) sums the 8 floats of y into the low lane of x (y's own
// X register), clobbering t.
#define HSUM(y, x, t) \
	VEXTRACTF128 $1, y, t \
	VADDPS       t, x, x \
	VMOVHLPS     x, t, t \
	VADDPS       t, x, x \
	VMOVSHDUP    x, t \
	VADDSS       t, x, x

// Q40ROW(src, r) sets the sixteen int16 lanes of r to pair sums of
// (q-8)·y for the Q4_0 block whose quants start at src (the low 128-bit
// lane covers the low nibbles, the high lane the high nibbles), against
// the activation quants in Y4 whose 8·y pair sums are in Y9. Each lane
// is at most 2·8·128 in magnitude, so sums of eight lanes still fit int16.
#define Q40ROW(src, r) \
	VBROADCASTI128 src, r \
	VPSRLVD        Y10, r, r \
	VPAND          Y13, r, r \
	VPMADDUBSW     Y4, r, r \
	VPSUBW         Y9, r, r

// func dotQ4_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)
//
// Four weight rows (x, x+stride, x+2·stride, x+3·stride) against one Q8_0
// activation row. Per block, the four rows' int32 partial sums are
// reduced with VPHADDD into one vector of the four exact block sums, so
// the int-to-float conversion, the scale product and the FMA run once for
// the four rows: the weight scales are gathered as four halves into one
// register (VPINSRW) and converted with a single VCVTPH2PS, instead of a
// scalar conversion and a broadcast per row. Writes out[0..3].
TEXT ·dotQ4_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*2), R8
	LEAQ (R8)(DX*2), R9 // next four rows, prefetched 72 bytes a block
	VXORPS X0, X0, X0
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x08080808, AX, Y12)
	VMOVDQU nibshift<>(SB), Y10

q4_0x4loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	VMOVDQU      2(DI), Y4  // activation quants
	VPMADDUBSW   Y4, Y12, Y9 // Σ 8·y pairs, shared by the rows
	VPBROADCASTW (DI), X11
	VCVTPH2PS    X11, X11   // dy in four lanes
	Q40ROW(2(SI), Y5)
	Q40ROW(2(SI)(DX*1), Y6)
	Q40ROW(2(R8), Y7)
	Q40ROW(2(R8)(DX*1), Y8)
	VPHADDW      Y6, Y5, Y5 // rows 0,1 per lane: r0 ×4, r1 ×4 (int16)
	VPHADDW      Y8, Y7, Y7 // rows 2,3
	VPHADDW      Y7, Y5, Y5 // r0 r0 r1 r1 r2 r2 r3 r3 per 128-bit lane
	VPMADDWD     Y14, Y5, Y5 // [r0 r1 r2 r3] per lane, int32
	VEXTRACTI128 $1, Y5, X6
	VPADDD       X6, X5, X5 // exact block sums of the four rows
	VCVTDQ2PS    X5, X5
	VMOVD        (SI), X6   // row 0 scale (and two quant bytes)
	VPINSRW      $1, (SI)(DX*1), X6, X6
	VPINSRW      $2, (R8), X6, X6
	VPINSRW      $3, (R8)(DX*1), X6, X6
	VCVTPH2PS    X6, X6     // dx of the four rows
	VMULPS       X11, X6, X6
	VFMADD231PS  X6, X5, X0
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $72, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q4_0x4loop

	MOVQ    out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dotQ4_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)
//
// Eight weight rows (x + k·stride, k < 8) against one Q8_0 activation row,
// with the arithmetic of dotQ4_0x4AVX2 (identical results per row): the
// two groups of four rows are reduced with VPHADDW, their 128-bit halves
// recombined so one vector holds the eight exact block sums, and the
// conversion, scale product and FMA run once for the eight rows. The
// next eight rows are prefetched, 144 bytes a block. Writes out[0..7].
TEXT ·dotQ4_0x8AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*2), R8
	LEAQ (R8)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R9
	VXORPS Y0, Y0, Y0
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x08080808, AX, Y12)
	VMOVDQU nibshift<>(SB), Y10

q4_0x8loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	PREFETCHT0   128(R9)
	VMOVDQU      2(DI), Y4   // activation quants
	VPMADDUBSW   Y4, Y12, Y9 // Σ 8·y pairs, shared by the rows
	VPBROADCASTW (DI), Y11
	VCVTPH2PS    X11, Y11    // dy in eight lanes
	Q40ROW(2(SI), Y5)
	Q40ROW(2(SI)(DX*1), Y6)
	Q40ROW(2(R8), Y7)
	Q40ROW(2(R8)(DX*1), Y8)
	Q40ROW(2(R10), Y1)
	Q40ROW(2(R10)(DX*1), Y2)
	Q40ROW(2(R11), Y3)
	Q40ROW(2(R11)(DX*1), Y15)
	VPHADDW      Y6, Y5, Y5
	VPHADDW      Y8, Y7, Y7
	VPHADDW      Y7, Y5, Y5  // rows 0-3: r0 r0 r1 r1 r2 r2 r3 r3 per lane
	VPHADDW      Y2, Y1, Y1
	VPHADDW      Y15, Y3, Y3
	VPHADDW      Y3, Y1, Y1  // rows 4-7
	VPERM2I128   $0x20, Y1, Y5, Y6 // low halves: rows 0-3 | rows 4-7
	VPERM2I128   $0x31, Y1, Y5, Y7 // high halves
	VPADDW       Y7, Y6, Y6
	VPMADDWD     Y14, Y6, Y6 // exact block sums of rows 0-7, int32
	VCVTDQ2PS    Y6, Y6
	VMOVD        (SI), X7    // row scales (VMOVD also takes two quant bytes)
	VPINSRW      $1, (SI)(DX*1), X7, X7
	VPINSRW      $2, (R8), X7, X7
	VPINSRW      $3, (R8)(DX*1), X7, X7
	VPINSRW      $4, (R10), X7, X7
	VPINSRW      $5, (R10)(DX*1), X7, X7
	VPINSRW      $6, (R11), X7, X7
	VPINSRW      $7, (R11)(DX*1), X7, X7
	VCVTPH2PS    X7, Y7      // dx of the eight rows
	VMULPS       Y11, Y7, Y7
	VFMADD231PS  Y7, Y6, Y0
	ADDQ $18, SI
	ADDQ $18, R8
	ADDQ $18, R10
	ADDQ $18, R11
	ADDQ $144, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q4_0x8loop

	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// func dotQ4_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)
//
// Two weight rows (x, x+stride) against one Q8_0 activation row, with the
// arithmetic of dotQ4_0x4AVX2 (identical results per row); the two rows'
// accumulators are two lanes of one register, so their FMA chains overlap.
// Used for the last rows of a block, where a one-row kernel would wait on
// its FMA latency. Writes out[0..1].
TEXT ·dotQ4_0x2AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x08080808, AX, Y12)
	VMOVDQU nibshift<>(SB), Y10

q4_0x2loop:
	VMOVDQU      2(DI), Y4   // activation quants
	VPMADDUBSW   Y4, Y12, Y9 // Σ 8·y pairs, shared by the rows
	VPBROADCASTW (DI), X11
	VCVTPH2PS    X11, X11    // dy in four lanes
	Q40ROW(2(SI), Y5)
	Q40ROW(2(SI)(DX*1), Y6)
	VPHADDW      Y6, Y5, Y5  // per lane: r0 ×4, r1 ×4 (int16)
	VEXTRACTI128 $1, Y5, X6
	VPADDW       X6, X5, X5
	VPMADDWD     X14, X5, X5 // [r0 r0 r1 r1] int32
	VPHADDD      X5, X5, X5  // [r0 r1 r0 r1] exact block sums
	VCVTDQ2PS    X5, X5
	VMOVD        (SI), X6    // row scales (and quant bytes)
	VPINSRW      $1, (SI)(DX*1), X6, X6
	VCVTPH2PS    X6, X6
	VMULPS       X11, X6, X6
	VFMADD231PS  X6, X5, X0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q4_0x2loop

	MOVQ  out+32(FP), DX
	VMOVQ X0, (DX)
	VZEROUPPER
	RET

// func dotQ5_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// As dotQ4_KRowsAVX2, with the fifth bit of each quant taken from qh (bit j
// for sub-block j) and or-ed in as 16 before the byte products.
TEXT ·dotQ5_KRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x0f0f0f0f, AX, Y13)
	BCAST32($0x01010101, AX, Y14)

q5_krow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0 // Σ d·dy·isum lanes
	VXORPS Y9, Y9, Y9 // Σ dmin·dy·summ lanes (X9)

q5kloop:
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
	VMOVD        AX, X1
	VPINSRD      $1, R11, X1, X1
	VPINSRD      $2, R10, X1, X1
	VPINSRD      $3, R8, X1, X1
	VPMOVZXBW    X1, Y1          // words 0-7 scales, 8-15 mins
	VPERMQ       $0x44, Y1, Y2   // scales in both lanes
	VEXTRACTI128 $1, Y1, X1      // mins
	VMOVDQU      260(DI), Y3     // bsums
	VEXTRACTI128 $1, Y3, X4
	VPHADDW      X4, X3, X3      // per-32 sums
	VPMADDWD     X3, X1, X1
	VCVTDQ2PS    X1, X1
	VMOVD        (SI), X5        // d, dmin
	VCVTPH2PS    X5, X5
	VBROADCASTSS (DI), X6
	VMULPS       X6, X5, X5      // d·dy, dmin·dy
	VMOVSHDUP    X5, X6
	VBROADCASTSS X6, X6
	VFMADD231PS  X6, X1, X9
	VBROADCASTSS X5, Y7
	VPXOR        Y8, Y8, Y8
	VMOVDQU      16(SI), Y15     // qh: bit j = fifth bit of sub-block j
	VMOVDQU     48(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPAND       Y14, Y15, Y12     // next bit: sub-block 2j
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y10, Y10
	VPSRLW      $1, Y15, Y15
	VPAND       Y14, Y15, Y12     // sub-block 2j+1
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y11, Y11
	VPSRLW      $1, Y15, Y15
	VPMADDUBSW  4(DI), Y10, Y10
	VPSHUFB     k4shuf<>+0(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  36(DI), Y11, Y11
	VPSHUFB     k4shuf<>+32(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     80(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPAND       Y14, Y15, Y12     // next bit: sub-block 2j
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y10, Y10
	VPSRLW      $1, Y15, Y15
	VPAND       Y14, Y15, Y12     // sub-block 2j+1
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y11, Y11
	VPSRLW      $1, Y15, Y15
	VPMADDUBSW  68(DI), Y10, Y10
	VPSHUFB     k4shuf<>+64(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  100(DI), Y11, Y11
	VPSHUFB     k4shuf<>+96(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     112(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPAND       Y14, Y15, Y12     // next bit: sub-block 2j
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y10, Y10
	VPSRLW      $1, Y15, Y15
	VPAND       Y14, Y15, Y12     // sub-block 2j+1
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y11, Y11
	VPSRLW      $1, Y15, Y15
	VPMADDUBSW  132(DI), Y10, Y10
	VPSHUFB     k4shuf<>+128(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  164(DI), Y11, Y11
	VPSHUFB     k4shuf<>+160(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VMOVDQU     144(SI), Y10
	VPSRLW      $4, Y10, Y11
	VPAND       Y13, Y11, Y11
	VPAND       Y13, Y10, Y10
	VPAND       Y14, Y15, Y12     // next bit: sub-block 2j
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y10, Y10
	VPSRLW      $1, Y15, Y15
	VPAND       Y14, Y15, Y12     // sub-block 2j+1
	VPSLLW      $4, Y12, Y12
	VPOR        Y12, Y11, Y11
	VPSRLW      $1, Y15, Y15
	VPMADDUBSW  196(DI), Y10, Y10
	VPSHUFB     k4shuf<>+192(SB), Y2, Y12
	VPMADDWD    Y12, Y10, Y10
	VPMADDUBSW  228(DI), Y11, Y11
	VPSHUFB     k4shuf<>+224(SB), Y2, Y12
	VPMADDWD    Y12, Y11, Y11
	VPADDD      Y10, Y8, Y8
	VPADDD      Y11, Y8, Y8
	VCVTDQ2PS   Y8, Y8
	VFMADD231PS Y7, Y8, Y0
	ADDQ $176, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q5kloop
	HSUM_Y0
	VMOVHLPS  X9, X1, X1
	VADDPS    X1, X9, X9
	VMOVSHDUP X9, X1
	VADDSS    X1, X9, X9
	VSUBSS    X9, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q5_krow
	VZEROUPPER
	RET

// bitshuf<> and bitmask<> expand a 32-bit mask into 32 bytes (0xff where
// the bit is set): byte i takes byte i/8 of the mask, or-ed with all bits
// but bit i%8, compared with all-ones.
DATA bitshuf<>+0(SB)/8, $0x0000000000000000
DATA bitshuf<>+8(SB)/8, $0x0101010101010101
DATA bitshuf<>+16(SB)/8, $0x0202020202020202
DATA bitshuf<>+24(SB)/8, $0x0303030303030303
GLOBL bitshuf<>(SB), RODATA|NOPTR, $32
DATA bitmask<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+8(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+16(SB)/8, $0x7fbfdfeff7fbfdfe
DATA bitmask<>+24(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL bitmask<>(SB), RODATA|NOPTR, $32

// iq4nl<> is IQ4_NL's 16-entry value table (int8).
DATA iq4nl<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA iq4nl<>+8(SB)/8, $0x7159453526190d01
GLOBL iq4nl<>(SB), RODATA|NOPTR, $16

// func dotQ4_1RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q4_1 weights by Q8_1: d_x·d_y·Σq·y per block plus m_x·s_y.
TEXT ·dotQ4_1RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	VMOVDQU nibshift<>(SB), Y11
	VMOVDQU bitshuf<>(SB), Y10
	VMOVDQU bitmask<>(SB), Y9
	VPCMPEQB Y8, Y8, Y8

q4_1row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y7, Y7, Y7

q4_1loop:
	VBROADCASTI128 4(SI), Y1
	VPSRLVD        Y11, Y1, Y1
	VPAND          Y13, Y1, Y1
	VPMADDUBSW  4(DI), Y1, Y3
	VPMADDWD    Y14, Y3, Y3
	VCVTDQ2PS   Y3, Y3
	VMOVD       (SI), X5
	VCVTPH2PS   X5, X5        // dx, mx
	VMOVD       (DI), X6
	VCVTPH2PS   X6, X6        // dy, sy
	VMULPS      X6, X5, X5    // dx·dy, mx·sy
	VBROADCASTSS X5, Y4
	VFMADD231PS Y4, Y3, Y0
	VMOVSHDUP   X5, X5
	VADDSS      X5, X7, X7
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q4_1loop
	HSUM_Y0
	VADDSS X7, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q4_1row
	VZEROUPPER
	RET

// func dotQ5_1RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q5_1 weights by Q8_1: as Q4_1 with the fifth bit from the 32-bit mask.
TEXT ·dotQ5_1RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	VMOVDQU nibshift<>(SB), Y11
	VMOVDQU bitshuf<>(SB), Y10
	VMOVDQU bitmask<>(SB), Y9
	VPCMPEQB Y8, Y8, Y8
	BCAST32($0x10101010, AX, Y12)

q5_1row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y7, Y7, Y7

q5_1loop:
	VBROADCASTI128 8(SI), Y1
	VPSRLVD        Y11, Y1, Y1
	VPAND          Y13, Y1, Y1
	VPBROADCASTD 4(SI), Y2
	VPSHUFB      Y10, Y2, Y2
	VPOR         Y9, Y2, Y2
	VPCMPEQB     Y8, Y2, Y2
	VPAND       Y12, Y2, Y2
	VPOR        Y2, Y1, Y1
	VPMADDUBSW  4(DI), Y1, Y3
	VPMADDWD    Y14, Y3, Y3
	VCVTDQ2PS   Y3, Y3
	VMOVD       (SI), X5
	VCVTPH2PS   X5, X5        // dx, mx
	VMOVD       (DI), X6
	VCVTPH2PS   X6, X6        // dy, sy
	VMULPS      X6, X5, X5    // dx·dy, mx·sy
	VBROADCASTSS X5, Y4
	VFMADD231PS Y4, Y3, Y0
	VMOVSHDUP   X5, X5
	VADDSS      X5, X7, X7
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q5_1loop
	HSUM_Y0
	VADDSS X7, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q5_1row
	VZEROUPPER
	RET

// func dotIQ4_NLRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// IQ4_NL weights by Q8_0: nibbles looked up in the value table with
// VPSHUFB; per block the exact int32 sum, then acc = fma(sum, dx·dy, acc)
// (the arithmetic of the AVX-512 eight-row kernel, which is bit-identical).
TEXT ·dotIQ4_NLRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	ONES16(Y14)
	BCAST32($0x0f0f0f0f, AX, Y13)
	VMOVDQU nibshift<>(SB), Y11
	VBROADCASTI128 iq4nl<>(SB), Y12

iq4_nlrow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0

iq4_nlloop:
	VBROADCASTI128 2(SI), Y1
	VPSRLVD        Y11, Y1, Y1
	VPAND          Y13, Y1, Y1
	VPSHUFB     Y1, Y12, Y1
	VMOVDQU     2(DI), Y2
	VPSIGNB     Y1, Y2, Y2
	VPABSB      Y1, Y1
	VPMADDUBSW  Y2, Y1, Y3
	VPMADDWD    Y14, Y3, Y3
	VEXTRACTI128 $1, Y3, X2
	VPADDD       X2, X3, X3
	VPSHUFD      $0x4e, X3, X2
	VPADDD       X2, X3, X3
	VPSHUFD      $0xb1, X3, X2
	VPADDD       X2, X3, X3 // exact block sum
	VCVTDQ2PS    X3, X3
	VPBROADCASTW (SI), X2
	VPBROADCASTW (DI), X4
	VCVTPH2PS    X2, X2
	VCVTPH2PS    X4, X4
	VMULSS       X4, X2, X2
	VFMADD231SS  X2, X3, X0
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  iq4_nlloop
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    iq4_nlrow
	VZEROUPPER
	RET

// func dotIQ4_XSRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// IQ4_XS weights by Q8_K: IQ4_NL table lookups per 32-element sub-block,
// weighted by the 6-bit sub-block scale minus 32.
TEXT ·dotIQ4_XSRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x0f0f0f0f, AX, Y13)
	VMOVDQU        nibshift<>(SB), Y11
	VBROADCASTI128 iq4nl<>(SB), Y12

iq4_xsrow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0

iq4_xsloop:
	VPXOR        Y8, Y8, Y8
	MOVWLZX      2(SI), DX // scales_h
	VBROADCASTI128 8(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 0
	VMOVDQU      4(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      4(SI), AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $0, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 24(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 1
	VMOVDQU      36(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      4(SI), AX
	SHRL         $4, AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $2, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 40(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 2
	VMOVDQU      68(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      5(SI), AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $4, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 56(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 3
	VMOVDQU      100(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      5(SI), AX
	SHRL         $4, AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $6, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 72(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 4
	VMOVDQU      132(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      6(SI), AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $8, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 88(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 5
	VMOVDQU      164(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      6(SI), AX
	SHRL         $4, AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $10, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 104(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 6
	VMOVDQU      196(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      7(SI), AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $12, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VBROADCASTI128 120(SI), Y1
	VPSRLVD      Y11, Y1, Y1
	VPAND        Y13, Y1, Y1
	VPSHUFB      Y1, Y12, Y1     // signed values of sub-block 7
	VMOVDQU      228(DI), Y2
	VPSIGNB      Y1, Y2, Y2
	VPABSB       Y1, Y1
	VPMADDUBSW   Y2, Y1, Y3
	MOVBLZX      7(SI), AX
	SHRL         $4, AX
	ANDL         $15, AX
	MOVL         DX, BX
	SHRL         $14, BX
	ANDL         $3, BX
	SHLL         $4, BX
	ORL          BX, AX
	SUBL         $32, AX          // ls-32
	VMOVD        AX, X4
	VPBROADCASTW X4, Y4
	VPMADDWD     Y4, Y3, Y3
	VPADDD       Y3, Y8, Y8
	VCVTDQ2PS    Y8, Y8
	MOVWLZX      (SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	VMULSS       (DI), X5, X5
	VBROADCASTSS X5, Y5
	VFMADD231PS  Y5, Y8, Y0
	ADDQ $136, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  iq4_xsloop
	HSUM_Y0

	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    iq4_xsrow
	VZEROUPPER
	RET

// func dotQ3_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q3_K weights by Q8_K: 2-bit quants plus 4 where the hmask bit is set
// (0..7) in VPMADDUBSW; the -4 offset is applied once per super-block as
// 4·Σ scale·bsum from the Q8_K sums.
TEXT ·dotQ3_KRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x03030303, AX, Y13)
	BCAST32($0x04040404, AX, Y12)
	BCAST32($0x20202020, AX, Y15)

q3_krow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0

q3_kloop:
	MOVL  96(SI), AX  // scale bytes 0-3
	MOVL  100(SI), BX // 4-7
	MOVL  104(SI), DX // 8-11: high bits
	MOVL  AX, R8      // scales 0-3: lo nibbles of 0-3 | (u2 & 3) << 4
	ANDL  $0x0f0f0f0f, R8
	MOVL  DX, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, R8
	MOVL  BX, R9      // scales 4-7
	ANDL  $0x0f0f0f0f, R9
	MOVL  DX, R10
	SHRL  $2, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, R9
	MOVL  AX, R11     // scales 8-11
	SHRL  $4, R11
	ANDL  $0x0f0f0f0f, R11
	MOVL  DX, R10
	SHRL  $4, R10
	ANDL  $0x03030303, R10
	SHLL  $4, R10
	ORL   R10, R11
	SHRL  $4, BX      // scales 12-15
	ANDL  $0x0f0f0f0f, BX
	SHRL  $6, DX
	ANDL  $0x03030303, DX
	SHLL  $4, DX
	ORL   DX, BX
	VMOVD     R8, X10
	VPINSRD   $1, R9, X10, X10
	VPINSRD   $2, R11, X10, X10
	VPINSRD   $3, BX, X10, X10
	VPSUBB    X15, X10, X10     // 16 signed scales
	VPMOVSXBW X10, Y9
	VPMADDWD  260(DI), Y9, Y9   // Σ scale·bsum pairs
	VPSLLD    $2, Y9, Y9        // ·4: the quants' -4 offset
	VPXOR     Y8, Y8, Y8
	VMOVDQU   (SI), Y7          // hmask
	VMOVDQU   32(SI), Y6
	VPAND     Y13, Y6, Y1
	VPSLLW    $2, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 4(DI), Y1, Y1
	VPSHUFB   q6shuf<>+0(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $2, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPSLLW    $1, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 36(DI), Y1, Y1
	VPSHUFB   q6shuf<>+16(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $4, Y6, Y1
	VPAND     Y13, Y1, Y1
	VMOVDQA   Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 68(DI), Y1, Y1
	VPSHUFB   q6shuf<>+32(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $6, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPSRLW    $1, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 100(DI), Y1, Y1
	VPSHUFB   q6shuf<>+48(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VMOVDQU   64(SI), Y6
	VPAND     Y13, Y6, Y1
	VPSRLW    $2, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 132(DI), Y1, Y1
	VPSHUFB   q6shuf<>+64(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $2, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPSRLW    $3, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 164(DI), Y1, Y1
	VPSHUFB   q6shuf<>+80(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $4, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPSRLW    $4, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 196(DI), Y1, Y1
	VPSHUFB   q6shuf<>+96(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $6, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPSRLW    $5, Y7, Y2
	VPAND     Y12, Y2, Y2
	VPOR      Y2, Y1, Y1        // quant + 4, 0..7
	VPMADDUBSW 228(DI), Y1, Y1
	VPSHUFB   q6shuf<>+112(SB), X10, X5
	VPMOVSXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSUBD       Y9, Y8, Y8
	VCVTDQ2PS    Y8, Y8
	MOVWLZX      108(SI), AX
	VMOVD        AX, X5
	VCVTPH2PS    X5, X5
	VMULSS       (DI), X5, X5
	VBROADCASTSS X5, Y5
	VFMADD231PS  Y5, Y8, Y0
	ADDQ $110, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q3_kloop
	HSUM_Y0

	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q3_krow
	VZEROUPPER
	RET

// func dotQ2_KRowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
//
// Q2_K weights by Q8_K: 2-bit quants times 4-bit scales per 16 elements,
// minus dmin·Σ min·bsum (accumulated separately in Y7).
TEXT ·dotQ2_KRowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	BCAST32($0x03030303, AX, Y13)
	BCAST32($0x0f0f0f0f, AX, Y14)

q2_krow:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS Y0, Y0, Y0
	VXORPS Y7, Y7, Y7

q2_kloop:
	VMOVDQU      (SI), X10         // scales: low nibble scale, high nibble min
	VPSRLW       $4, X10, X9
	VPAND        X14, X9, X9       // mins
	VPAND        X14, X10, X10     // scales
	VPMOVZXBW    X9, Y9
	VPMADDWD     260(DI), Y9, Y9   // Σ min·bsum pairs
	VCVTDQ2PS    Y9, Y9
	VMOVD        80(SI), X5        // d, dmin
	VCVTPH2PS    X5, X5
	VBROADCASTSS (DI), X6
	VMULPS       X6, X5, X5        // d·dy, dmin·dy
	VMOVSHDUP    X5, X6
	VBROADCASTSS X6, Y6
	VFMADD231PS  Y6, Y9, Y7        // min term
	VBROADCASTSS X5, Y4
	VPXOR        Y8, Y8, Y8
	VMOVDQU   16(SI), Y6
	VPAND     Y13, Y6, Y1
	VPMADDUBSW 4(DI), Y1, Y1
	VPSHUFB   q6shuf<>+0(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $2, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 36(DI), Y1, Y1
	VPSHUFB   q6shuf<>+16(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $4, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 68(DI), Y1, Y1
	VPSHUFB   q6shuf<>+32(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $6, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 100(DI), Y1, Y1
	VPSHUFB   q6shuf<>+48(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VMOVDQU   48(SI), Y6
	VPAND     Y13, Y6, Y1
	VPMADDUBSW 132(DI), Y1, Y1
	VPSHUFB   q6shuf<>+64(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $2, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 164(DI), Y1, Y1
	VPSHUFB   q6shuf<>+80(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $4, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 196(DI), Y1, Y1
	VPSHUFB   q6shuf<>+96(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VPSRLW    $6, Y6, Y1
	VPAND     Y13, Y1, Y1
	VPMADDUBSW 228(DI), Y1, Y1
	VPSHUFB   q6shuf<>+112(SB), X10, X5
	VPMOVZXBW X5, Y5
	VPMADDWD  Y5, Y1, Y1
	VPADDD    Y1, Y8, Y8
	VCVTDQ2PS    Y8, Y8
	VFMADD231PS  Y4, Y8, Y0
	ADDQ $84, SI
	ADDQ $292, DI
	DECQ CX
	JNZ  q2_kloop
	HSUM_Y0
	HSUM(Y7, X7, X1)
	VSUBSS       X7, X0, X0
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q2_krow
	VZEROUPPER
	RET

// Q8_0 kernels. Every one computes, per row and block, the exact int32
// sum of the 32 quant products, then acc = fma(sum, dx·dy, acc) block by
// block in one float lane per row, so the one-, two-, four- and eight-row
// kernels agree bit for bit. The multi-row kernels convert the rows'
// weight scales in one VCVTPH2PS and prefetch the next group of rows
// (assumed to follow contiguously, as in a weight matrix).

// Q80ROW(src, r) sets the eight int32 lanes of r to partial sums of w·y
// for the Q8_0 block whose quants start at src, against the activation
// quants in Y4 (sign trick: |w| × y·sign(w)); Y14 holds int16 ones.
// Clobbers Y15.
#define Q80ROW(src, r) \
	VMOVDQU    src, r \
	VPSIGNB    r, Y4, Y15 \
	VPABSB     r, r \
	VPMADDUBSW Y15, r, r \
	VPMADDWD   Y14, r, r

// func dotQ8_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
TEXT ·dotQ8_0RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	ONES16(Y14)

q8_0row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0

q80loop:
	VMOVDQU      2(DI), Y4
	Q80ROW(2(SI), Y1)
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0x4e, X1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0xb1, X1, X2
	VPADDD       X2, X1, X1 // exact block sum
	VCVTDQ2PS    X1, X1
	VPBROADCASTW (SI), X2
	VPBROADCASTW (DI), X3
	VCVTPH2PS    X2, X2
	VCVTPH2PS    X3, X3
	VMULSS       X3, X2, X2
	VFMADD231SS  X2, X1, X0
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q80loop
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q8_0row
	VZEROUPPER
	RET

// func dotQ8_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ8_0x2AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0
	ONES16(Y14)

q8_0x2loop:
	VMOVDQU      2(DI), Y4
	VPBROADCASTW (DI), X11
	VCVTPH2PS    X11, X11
	Q80ROW(2(SI), Y1)
	Q80ROW(2(SI)(DX*1), Y2)
	VPHADDD      Y2, Y1, Y1 // per lane: r0 r0 r1 r1
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1
	VPHADDD      X1, X1, X1 // [r0 r1 r0 r1] exact block sums
	VCVTDQ2PS    X1, X1
	VMOVD        (SI), X6
	VPINSRW      $1, (SI)(DX*1), X6, X6
	VCVTPH2PS    X6, X6
	VMULPS       X11, X6, X6
	VFMADD231PS  X6, X1, X0
	ADDQ $34, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q8_0x2loop

	MOVQ  out+32(FP), DX
	VMOVQ X0, (DX)
	VZEROUPPER
	RET

// func dotQ8_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ8_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*2), R8
	LEAQ (R8)(DX*2), R9 // next four rows, prefetched 136 bytes a block
	VXORPS X0, X0, X0
	ONES16(Y14)

q8_0x4loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	PREFETCHT0   128(R9)
	VMOVDQU      2(DI), Y4
	VPBROADCASTW (DI), X11
	VCVTPH2PS    X11, X11
	Q80ROW(2(SI), Y1)
	Q80ROW(2(SI)(DX*1), Y2)
	Q80ROW(2(R8), Y3)
	Q80ROW(2(R8)(DX*1), Y5)
	VPHADDD      Y2, Y1, Y1
	VPHADDD      Y5, Y3, Y3
	VPHADDD      Y3, Y1, Y1 // [r0 r1 r2 r3] per 128-bit lane
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1 // exact block sums of the four rows
	VCVTDQ2PS    X1, X1
	VMOVD        (SI), X6
	VPINSRW      $1, (SI)(DX*1), X6, X6
	VPINSRW      $2, (R8), X6, X6
	VPINSRW      $3, (R8)(DX*1), X6, X6
	VCVTPH2PS    X6, X6
	VMULPS       X11, X6, X6
	VFMADD231PS  X6, X1, X0
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $136, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q8_0x4loop

	MOVQ    out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dotQ8_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ8_0x8AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*2), R8
	LEAQ (R8)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R9 // next eight rows, prefetched 272 bytes a block
	VXORPS Y0, Y0, Y0
	ONES16(Y14)

q8_0x8loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	PREFETCHT0   128(R9)
	PREFETCHT0   192(R9)
	PREFETCHT0   256(R9)
	VMOVDQU      2(DI), Y4
	VPBROADCASTW (DI), Y11
	VCVTPH2PS    X11, Y11 // dy in eight lanes
	Q80ROW(2(SI), Y1)
	Q80ROW(2(SI)(DX*1), Y2)
	Q80ROW(2(R8), Y3)
	Q80ROW(2(R8)(DX*1), Y5)
	Q80ROW(2(R10), Y6)
	Q80ROW(2(R10)(DX*1), Y7)
	Q80ROW(2(R11), Y8)
	Q80ROW(2(R11)(DX*1), Y9)
	VPHADDD      Y2, Y1, Y1
	VPHADDD      Y5, Y3, Y3
	VPHADDD      Y3, Y1, Y1 // rows 0-3 per 128-bit lane
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y9, Y8, Y8
	VPHADDD      Y8, Y6, Y6 // rows 4-7
	VPERM2I128   $0x20, Y6, Y1, Y2
	VPERM2I128   $0x31, Y6, Y1, Y3
	VPADDD       Y3, Y2, Y2 // exact block sums of rows 0-7
	VCVTDQ2PS    Y2, Y2
	VMOVD        (SI), X7
	VPINSRW      $1, (SI)(DX*1), X7, X7
	VPINSRW      $2, (R8), X7, X7
	VPINSRW      $3, (R8)(DX*1), X7, X7
	VPINSRW      $4, (R10), X7, X7
	VPINSRW      $5, (R10)(DX*1), X7, X7
	VPINSRW      $6, (R11), X7, X7
	VPINSRW      $7, (R11)(DX*1), X7, X7
	VCVTPH2PS    X7, Y7
	VMULPS       Y11, Y7, Y7
	VFMADD231PS  Y7, Y2, Y0
	ADDQ $34, SI
	ADDQ $34, R8
	ADDQ $34, R10
	ADDQ $34, R11
	ADDQ $272, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q8_0x8loop

	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET

// Q5_0 kernels: the same scheme as Q8_0's (exact int32 sum per row and
// block, then acc = fma(sum, dx·dy, acc) block by block), so the one-,
// two-, four- and eight-row kernels agree bit for bit. Quants are used
// unsigned (0..31: nibble | 16·fifth bit) in VPMADDUBSW and the -16 offset
// is subtracted as VPMADDUBSW(16, y), shared by the rows.

// Q50ROW(qs, qh, r) sets the eight int32 lanes of r to partial sums of
// (q-16)·y for the Q5_0 block whose quants are at qs and fifth bits at qh, against the activation quants in Y4
// whose 16·y pair sums are in Y9. Y13 = 0x0f bytes, Y12 = 0x10 bytes,
// Y11 = all ones, Y14 = int16 ones; clobbers Y15.
#define Q50ROW(qs, qh, r) \
	VBROADCASTI128 qs, r \
	VPSRLVD        nibshift<>(SB), r, r \
	VPAND          Y13, r, r \
	VPBROADCASTD   qh, Y15 \
	VPSHUFB        bitshuf<>(SB), Y15, Y15 \
	VPOR           bitmask<>(SB), Y15, Y15 \
	VPCMPEQB       Y11, Y15, Y15 \
	VPAND          Y12, Y15, Y15 \
	VPOR           Y15, r, r \
	VPMADDUBSW     Y4, r, r \
	VPSUBW         Y9, r, r \
	VPMADDWD       Y14, r, r

// Q50SETUP loads the constants Q50ROW uses.
#define Q50SETUP \
	ONES16(Y14) \
	BCAST32($0x0f0f0f0f, AX, Y13) \
	BCAST32($0x10101010, AX, Y12) \
	VPCMPEQB Y11, Y11, Y11

// Q50ACT loads the activation block at DI into Y4 and its 16·y pair sums
// into Y9.
#define Q50ACT \
	VMOVDQU    2(DI), Y4 \
	VPMADDUBSW Y4, Y12, Y9

// func dotQ5_0RowsAVX2(x *byte, stride int, y *byte, nb int, out *float32, rows int)
TEXT ·dotQ5_0RowsAVX2(SB), NOSPLIT, $0-48
	MOVQ out+32(FP), R12
	MOVQ rows+40(FP), R13
	Q50SETUP

q5_0row:
	MOVQ x+0(FP), SI
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	VXORPS X0, X0, X0

q5_0loop:
	Q50ACT
	Q50ROW(6(SI), 2(SI), Y1)
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0x4e, X1, X2
	VPADDD       X2, X1, X1
	VPSHUFD      $0xb1, X1, X2
	VPADDD       X2, X1, X1 // exact block sum
	VCVTDQ2PS    X1, X1
	VPBROADCASTW (SI), X2
	VPBROADCASTW (DI), X3
	VCVTPH2PS    X2, X2
	VCVTPH2PS    X3, X3
	VMULSS       X3, X2, X2
	VFMADD231SS  X2, X1, X0
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q5_0loop
	VMOVSS X0, (R12)
	ADDQ   $4, R12
	MOVQ   stride+8(FP), AX
	ADDQ   AX, x+0(FP)
	DECQ   R13
	JNZ    q5_0row
	VZEROUPPER
	RET

// func dotQ5_0x2AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ5_0x2AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*1), R8
	VXORPS X0, X0, X0
	Q50SETUP

q5_0x2loop:
	Q50ACT
	Q50ROW(6(SI), 2(SI), Y1)
	Q50ROW(6(R8), 2(R8), Y2)
	VPHADDD      Y2, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1
	VPHADDD      X1, X1, X1 // [r0 r1 r0 r1] exact block sums
	VCVTDQ2PS    X1, X1
	VPBROADCASTW (DI), X10
	VCVTPH2PS    X10, X10
	VMOVD        (SI), X6
	VPINSRW      $1, (R8), X6, X6
	VCVTPH2PS    X6, X6
	VMULPS       X10, X6, X6
	VFMADD231PS  X6, X1, X0
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $34, DI
	DECQ CX
	JNZ  q5_0x2loop

	MOVQ  out+32(FP), DX
	VMOVQ X0, (DX)
	VZEROUPPER
	RET

// func dotQ5_0x4AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ5_0x4AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R10
	LEAQ (R10)(DX*1), R11
	LEAQ (R11)(DX*1), R9 // next four rows, prefetched 88 bytes a block
	VXORPS X0, X0, X0
	Q50SETUP

q5_0x4loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	Q50ACT
	Q50ROW(6(SI), 2(SI), Y1)
	Q50ROW(6(R8), 2(R8), Y2)
	Q50ROW(6(R10), 2(R10), Y3)
	Q50ROW(6(R11), 2(R11), Y5)
	VPHADDD      Y2, Y1, Y1
	VPHADDD      Y5, Y3, Y3
	VPHADDD      Y3, Y1, Y1
	VEXTRACTI128 $1, Y1, X2
	VPADDD       X2, X1, X1 // exact block sums of the four rows
	VCVTDQ2PS    X1, X1
	VPBROADCASTW (DI), X10
	VCVTPH2PS    X10, X10
	VMOVD        (SI), X6
	VPINSRW      $1, (R8), X6, X6
	VPINSRW      $2, (R10), X6, X6
	VPINSRW      $3, (R11), X6, X6
	VCVTPH2PS    X6, X6
	VMULPS       X10, X6, X6
	VFMADD231PS  X6, X1, X0
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $22, R10
	ADDQ $22, R11
	ADDQ $88, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q5_0x4loop

	MOVQ    out+32(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET

// func dotQ5_0x8AVX2(x *byte, stride int, y *byte, nb int, out *float32)
TEXT ·dotQ5_0x8AVX2(SB), NOSPLIT, $0-40
	MOVQ x+0(FP), SI
	MOVQ stride+8(FP), DX
	MOVQ y+16(FP), DI
	MOVQ nb+24(FP), CX
	LEAQ (SI)(DX*2), R8
	LEAQ (R8)(DX*2), R10
	LEAQ (R10)(DX*2), R11
	LEAQ (R11)(DX*2), R9 // next eight rows, prefetched 176 bytes a block
	VXORPS Y0, Y0, Y0
	Q50SETUP

q5_0x8loop:
	PREFETCHT0   (R9)
	PREFETCHT0   64(R9)
	PREFETCHT0   128(R9)
	Q50ACT
	Q50ROW(6(SI), 2(SI), Y1)
	Q50ROW(6(SI)(DX*1), 2(SI)(DX*1), Y2)
	Q50ROW(6(R8), 2(R8), Y3)
	Q50ROW(6(R8)(DX*1), 2(R8)(DX*1), Y5)
	Q50ROW(6(R10), 2(R10), Y6)
	Q50ROW(6(R10)(DX*1), 2(R10)(DX*1), Y7)
	Q50ROW(6(R11), 2(R11), Y8)
	Q50ROW(6(R11)(DX*1), 2(R11)(DX*1), Y10)
	VPHADDD      Y2, Y1, Y1
	VPHADDD      Y5, Y3, Y3
	VPHADDD      Y3, Y1, Y1 // rows 0-3 per 128-bit lane
	VPHADDD      Y7, Y6, Y6
	VPHADDD      Y10, Y8, Y8
	VPHADDD      Y8, Y6, Y6 // rows 4-7
	VPERM2I128   $0x20, Y6, Y1, Y2
	VPERM2I128   $0x31, Y6, Y1, Y3
	VPADDD       Y3, Y2, Y2 // exact block sums of rows 0-7
	VCVTDQ2PS    Y2, Y2
	VPBROADCASTW (DI), Y10
	VCVTPH2PS    X10, Y10 // dy in eight lanes
	VMOVD        (SI), X7
	VPINSRW      $1, (SI)(DX*1), X7, X7
	VPINSRW      $2, (R8), X7, X7
	VPINSRW      $3, (R8)(DX*1), X7, X7
	VPINSRW      $4, (R10), X7, X7
	VPINSRW      $5, (R10)(DX*1), X7, X7
	VPINSRW      $6, (R11), X7, X7
	VPINSRW      $7, (R11)(DX*1), X7, X7
	VCVTPH2PS    X7, Y7
	VMULPS       Y10, Y7, Y7
	VFMADD231PS  Y7, Y2, Y0
	ADDQ $22, SI
	ADDQ $22, R8
	ADDQ $22, R10
	ADDQ $22, R11
	ADDQ $176, R9
	ADDQ $34, DI
	DECQ CX
	JNZ  q5_0x8loop

	MOVQ    out+32(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
