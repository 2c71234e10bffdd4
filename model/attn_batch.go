package model

import (
	"encoding/binary"
	"math"
	"unsafe"

	"golem/tensor"
)

// Batched attention for prompt processing. A prompt of n tokens attends
// over up to Len+n positions per query, so attention grows with the
// square of the prompt and dominated pp512 when each (token, head) pair
// was computed on its own with scalar code. Here one Forward step (one
// cache) is computed per key/value head and block of query tokens:
//
//  1. once per layer, the cached keys and values of each KV head are
//     expanded to float32 rows (F16 conversion or dequantization), so that
//     the kernels below read contiguous float32 memory;
//  2. the scores of every query row of a block (its tokens × the query
//     heads sharing the KV head) against every position are one matrix
//     product (tensor.MatMulRows on float32 rows, the SIMD dot kernels);
//  3. each row is masked (causal, sliding window), soft-capped, scaled and
//     exponentiated like the float32 kernel (attention), and the output is
//     the weighted sum of the value rows (tensor.WeightedSumF32).
//
// The arithmetic is that of the float32 kernel up to the order of
// float32 additions in the dot products and fused multiply-adds in the
// value sums (a few units in the last place), which the golden tests
// cover: it is what AttentionGGML picks for batches of 64 tokens or more.

// batchBlock is the number of query tokens per unit of work.
const batchBlock = 16

// batchAttnTask computes the attention output of the n rows of a Forward
// step in layer il, all in cache c at positions c.Len()... . Units are
// (block of tokens, KV head) pairs, dealt round-robin to the parts so that
// the growing cost of later blocks is shared evenly.
type batchAttnTask struct {
	m     *decoder
	c     *Cache
	il    int
	n     int
	npos  int // positions attended by the last token (c.n + n)
	swa   bool
	scale float32
}

// prepare expands layer il's keys and values of positions [0, npos) into
// s.kf and s.vf, laid out per KV head: head g's row p at (g·npos+p)·hd.
func (a *batchAttnTask) prepare() {
	m, c, s := a.m, a.c, &a.m.s
	hd, nkv, kvDim := m.cfg.HeadDim, m.cfg.HeadCountKV, m.kvDim()
	need := nkv * a.npos * hd
	if cap(s.kf) < need {
		s.kf = make([]float32, need)
		s.vf = make([]float32, need)
	}
	s.kf, s.vf = s.kf[:need], s.vf[:need]
	for g := 0; g < nkv; g++ {
		kf, vf := s.kf[g*a.npos*hd:(g+1)*a.npos*hd], s.vf[g*a.npos*hd:(g+1)*a.npos*hd]
		if c.k16 != nil {
			for p := 0; p < a.npos; p++ {
				tensor.F16ToF32Slice(kf[p*hd:(p+1)*hd], c.k16[a.il][p*kvDim+g*hd:])
			}
		} else if err := tensor.Dequantize(c.kt, c.kRows(a.il, g, 0, a.npos), kf); err != nil {
			panic(err) // sizes fixed at cache creation
		}
		if c.v16 != nil {
			for p := 0; p < a.npos; p++ {
				tensor.F16ToF32Slice(vf[p*hd:(p+1)*hd], c.v16[a.il][p*kvDim+g*hd:])
			}
		} else if err := tensor.Dequantize(c.vt, c.vRows(a.il, g, 0, a.npos), vf); err != nil {
			panic(err)
		}
	}
}

// units returns the number of (block, KV head) units.
func (a *batchAttnTask) units() int {
	return (a.n + batchBlock - 1) / batchBlock * a.m.cfg.HeadCountKV
}

func (a *batchAttnTask) run(part, parts int) {
	m, s := a.m, &a.m.s
	cfg := &m.cfg
	hd, nh, nkv := cfg.HeadDim, cfg.HeadCount, cfg.HeadCountKV
	group, qDim := nh/nkv, nh*hd
	sc := &s.batch[part]
	for u := part; u < a.units(); u += parts {
		b, g := u/nkv, u%nkv
		t0, t1 := b*batchBlock, min(a.n, (b+1)*batchBlock)
		nq := (t1 - t0) * group
		npos := a.c.n + t1 // positions the block's last token sees
		// Query rows, ordered (token, head of the group), pre-scaled when
		// the scale is not folded into a soft-cap.
		qs := float32(1)
		if cfg.AttnSoftcap <= 0 {
			qs = a.scale
		}
		for t := t0; t < t1; t++ {
			for j := 0; j < group; j++ {
				h := g*group + j
				dst := sc.q[((t-t0)*group+j)*hd:][:hd]
				for i, v := range s.q[t*qDim+h*hd:][:hd] {
					dst[i] = v * qs
				}
			}
		}
		scores := sc.scores[:nq*npos]
		kf := s.kf[g*a.npos*hd : (g*a.npos+npos)*hd]
		if err := tensor.MatMulRows(tensor.F32, f32Bytes(kf), hd, 0, npos, f32Bytes(sc.q[:nq*hd]), nq, scores, npos); err != nil {
			panic(err) // sizes are this function's own; a bug
		}
		vf := s.vf[g*a.npos*hd:]
		for t := t0; t < t1; t++ {
			pos := a.c.n + t
			lo := 0
			if a.swa {
				lo = max(0, pos-cfg.SlidingWindow+1)
			}
			for j := 0; j < group; j++ {
				row := scores[((t-t0)*group+j)*npos:][lo : pos+1]
				sum := a.softmaxWeights(row)
				h := g*group + j
				out := s.att[t*qDim+h*hd:][:hd]
				tensor.WeightedSumF32(out, row, vf[lo*hd:(pos+1)*hd], hd)
				inv := 1 / sum
				for i := range out {
					out[i] *= inv
				}
			}
		}
	}
}

// softmaxWeights turns scores q·k (already scaled when there is no
// soft-cap: run scales the queries) into the unnormalized softmax weights
// exp(s - max) of the float32 kernel (with a soft-cap folded into the
// scale as ggml does) and returns their sum.
func (a *batchAttnTask) softmaxWeights(row []float32) float32 {
	scale, softcap := a.scale, a.m.cfg.AttnSoftcap
	maxS := float32(math.Inf(-1))
	if softcap > 0 {
		for i, s := range row {
			s = softcap * tanh32(s*(scale/softcap))
			row[i] = s
			maxS = max(maxS, s)
		}
	} else {
		for _, s := range row {
			maxS = max(maxS, s)
		}
	}
	tensor.ExpShiftF32Slice(row, row, maxS)
	var sum float32
	for _, e := range row {
		sum += e
	}
	return sum
}

// batchScratch is one part's scratch for batchAttnTask.
type batchScratch struct {
	q      []float32 // batchBlock × group query rows
	scores []float32 // those rows × positions
}

// ensureBatch sizes the batched-attention scratch for parts parts and a
// cache of nCtx positions.
func (m *decoder) ensureBatch(parts, nCtx int) {
	cfg, s := &m.cfg, &m.s
	group := cfg.HeadCount / cfg.HeadCountKV
	rows := batchBlock * group
	if len(s.batch) < parts {
		s.batch = append(s.batch, make([]batchScratch, parts-len(s.batch))...)
	}
	for i := range s.batch[:parts] {
		b := &s.batch[i]
		if len(b.q) < rows*cfg.HeadDim {
			b.q = make([]float32, rows*cfg.HeadDim)
		}
		if len(b.scores) < rows*nCtx {
			b.scores = make([]float32, rows*nCtx)
		}
	}
}

// littleEndian reports whether float32 values in memory are laid out as
// the tensor kernels' F32 bytes; batched attention needs it (f32Bytes).
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// f32Bytes views float32s as their little-endian bytes (the F32 weight and
// activation layout of the tensor kernels) without copying; only valid
// where littleEndian holds.
func f32Bytes(x []float32) []byte {
	if len(x) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&x[0])), 4*len(x))
}
