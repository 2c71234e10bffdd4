package model

import (
	"fmt"
	"math"
	"os"
	"strings"

	"golem/tensor"
)

// KV cache storage types. llama.cpp stores the cache as F16 by default and
// offers other types (llama-bench -ctk/-ctv, Ollama's OLLAMA_KV_CACHE_TYPE):
// Q8_0 halves the cache's memory at a small cost in accuracy, Q4_0 quarters
// it, F32 doubles it. Golem does the same: F16 (the default, on which the
// golden tests hold bit for bit) runs the vectorized F16 kernels, every
// other type goes through ggml's generic path (the query converted to the
// key type's dot-product type, values expanded to float32 and accumulated
// in float32).

// kvEnv and kvEnvV name the environment variables that choose the cache
// type when Options leaves it empty: GOLEM_KV_CACHE_TYPE for keys and
// values, GOLEM_KV_CACHE_TYPE_V for values only (defaults to the former).
const (
	kvEnv  = "GOLEM_KV_CACHE_TYPE"
	kvEnvV = "GOLEM_KV_CACHE_TYPE_V"
)

// kvTypes are the cache types accepted, by their llama.cpp names.
var kvTypes = map[string]tensor.Type{
	"f32": tensor.F32, "f16": tensor.F16, "bf16": tensor.BF16,
	"q8_0": tensor.Q8_0, "q4_0": tensor.Q4_0, "q4_1": tensor.Q4_1,
	"q5_0": tensor.Q5_0, "q5_1": tensor.Q5_1, "iq4_nl": tensor.IQ4_NL,
}

// ParseKVCacheType returns the cache type named s (f32, f16, bf16, q8_0,
// q4_0, q4_1, q5_0, q5_1, iq4_nl; case-insensitive). An empty s is F16.
func ParseKVCacheType(s string) (tensor.Type, error) {
	if s == "" {
		return tensor.F16, nil
	}
	t, ok := kvTypes[strings.ToLower(strings.TrimSpace(s))]
	if !ok {
		return 0, fmt.Errorf("model: unknown KV cache type %q (have f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, iq4_nl)", s)
	}
	return t, nil
}

// Options tune a loaded model.
type Options struct {
	// KVCacheType is the storage type of cached keys and values ("f16",
	// "q8_0", ...; see ParseKVCacheType). Empty: the environment variable
	// GOLEM_KV_CACHE_TYPE, else f16.
	KVCacheType string
	// KVCacheTypeV overrides the type of cached values. Empty: the
	// environment variable GOLEM_KV_CACHE_TYPE_V, else KVCacheType's type.
	KVCacheTypeV string
}

// kvTypesFor resolves o's cache types, falling back on the environment.
func (o Options) kvTypesFor() (k, v tensor.Type, err error) {
	ks, vs := o.KVCacheType, o.KVCacheTypeV
	if ks == "" {
		ks = os.Getenv(kvEnv)
	}
	if k, err = ParseKVCacheType(ks); err != nil {
		return 0, 0, err
	}
	if vs == "" {
		vs = os.Getenv(kvEnvV)
	}
	if vs == "" {
		return k, k, nil
	}
	v, err = ParseKVCacheType(vs)
	return k, v, err
}

// checkKVType reports whether rows of head size hd can be stored as t:
// each head must be a whole number of t's blocks.
func checkKVType(t tensor.Type, hd int) error {
	if bs := int(t.BlockSize()); bs <= 0 || hd%bs != 0 {
		return fmt.Errorf("model: KV cache type %s needs a head size that is a multiple of %d, have %d", t, bs, hd)
	}
	if !tensor.CanMatVec(t) || !tensor.CanDequantize(t) || !(tensor.CanQuantize(t)) {
		return fmt.Errorf("model: KV cache type %s is not supported", t)
	}
	return nil
}

// Cache is the key/value cache of one sequence: for every layer the keys
// (after RoPE) and values of each evaluated position, F16 by default like
// llama.cpp's, or another type chosen with Options.
//
// F16 rows are stored position-major (nCtx × kvDim per layer), as the
// one-row kernel reads them. Other types are stored head-major (per layer,
// head g's rows for positions 0..nCtx-1 are contiguous, headBytes each),
// so that one head's keys for all positions are one matrix for
// tensor.MatVecQuantized and its values one block for tensor.Dequantize.
type Cache struct {
	kt, vt   tensor.Type
	k16, v16 [][]uint16 // per layer, nCtx × kvDim, when the type is F16
	kq, vq   [][]byte   // per layer, heads × nCtx × k/vHead bytes, other types
	kHead    int        // bytes of one head's key row in kq
	vHead    int        // bytes of one head's value row in vq
	headDim  int
	kvDim    int
	nCtx     int
	n        int // positions filled
}

// newCache allocates a cache of nCtx positions of kvDim keys and values
// (heads of headDim) per layer, stored as kt and vt (types checked by the
// caller).
func newCache(layers, kvDim, headDim, nCtx int, kt, vt tensor.Type) *Cache {
	nCtx = max(nCtx, 0)
	c := &Cache{kt: kt, vt: vt, kvDim: kvDim, headDim: headDim, nCtx: nCtx}
	alloc := func(t tensor.Type, f16 *[][]uint16, q *[][]byte, head *int) {
		if t == tensor.F16 {
			*f16 = make([][]uint16, layers)
			for i := range *f16 {
				(*f16)[i] = make([]uint16, nCtx*kvDim)
			}
			return
		}
		hb, _ := t.RowSize(int64(headDim))
		*head = int(hb)
		*q = make([][]byte, layers)
		for i := range *q {
			(*q)[i] = make([]byte, kvDim/headDim*nCtx*int(hb))
		}
	}
	alloc(kt, &c.k16, &c.kq, &c.kHead)
	alloc(vt, &c.v16, &c.vq, &c.vHead)
	return c
}

// kRows returns the stored key rows of head g in layer il for positions
// [lo, hi) (quantized types only).
func (c *Cache) kRows(il, g, lo, hi int) []byte {
	base := g * c.nCtx
	return c.kq[il][(base+lo)*c.kHead : (base+hi)*c.kHead]
}

// vRows is kRows for values.
func (c *Cache) vRows(il, g, lo, hi int) []byte {
	base := g * c.nCtx
	return c.vq[il][(base+lo)*c.vHead : (base+hi)*c.vHead]
}

// layers returns the number of layers the cache holds.
func (c *Cache) layers() int { return max(len(c.k16), len(c.kq)) }

// Len returns the number of positions stored.
func (c *Cache) Len() int { return c.n }

// Cap returns the number of positions the cache can hold.
func (c *Cache) Cap() int { return c.nCtx }

// Reset empties the cache.
func (c *Cache) Reset() { c.n = 0 }

// Truncate keeps the first n positions (to reuse a common prompt prefix).
// n larger than Len is an error.
func (c *Cache) Truncate(n int) error {
	if n < 0 || n > c.n {
		return fmt.Errorf("model: truncate cache to %d: has %d positions", n, c.n)
	}
	c.n = n
	return nil
}

// Types returns the storage types of the keys and the values.
func (c *Cache) Types() (k, v tensor.Type) { return c.kt, c.vt }

// Bytes returns the memory the cache's keys and values take.
func (c *Cache) Bytes() int64 {
	var n int64
	for i := range c.k16 {
		n += 2 * int64(len(c.k16[i]))
	}
	for i := range c.v16 {
		n += 2 * int64(len(c.v16[i]))
	}
	for i := range c.kq {
		n += int64(len(c.kq[i]))
	}
	for i := range c.vq {
		n += int64(len(c.vq[i]))
	}
	return n
}

// store writes the key and value rows (kvDim values each) of position pos
// in layer il, converted as ggml's CPU backend converts rows it copies into
// the cache (F16/BF16 rounding to nearest even, Q8_0 as for activations,
// the other types with the reference quantizer).
func (c *Cache) store(il, pos int, k, v []float32) {
	d, hd := c.kvDim, c.headDim
	if c.k16 != nil {
		tensor.F32ToF16Slice(c.k16[il][pos*d:(pos+1)*d], k)
	} else {
		for g := 0; g < d/hd; g++ {
			storeRow(c.kt, k[g*hd:(g+1)*hd], c.kRows(il, g, pos, pos+1))
		}
	}
	if c.v16 != nil {
		tensor.F32ToF16Slice(c.v16[il][pos*d:(pos+1)*d], v)
	} else {
		for g := 0; g < d/hd; g++ {
			storeRow(c.vt, v[g*hd:(g+1)*hd], c.vRows(il, g, pos, pos+1))
		}
	}
}

// storeRow converts x to type t into dst (sizes checked at cache creation).
func storeRow(t tensor.Type, x []float32, dst []byte) {
	var err error
	switch t {
	case tensor.F32, tensor.BF16, tensor.Q8_0:
		err = tensor.QuantizeActivation(t, x, dst)
	default:
		err = tensor.Quantize(t, x, dst)
	}
	if err != nil {
		panic(err) // the cache was sized for these rows; this is a bug
	}
}

// attnScratch is one attention part's scratch for attentionAny.
type attnScratch struct {
	qh, acc32 []float32 // head size each
	acc16     []uint16  // head size
	qAct      []byte    // the query in the key type's dot-product type
	vChunk    []float32 // anyChunk value rows
	scores    []float32 // context length
}

// anyChunk is the number of value rows attentionAny expands at a time.
const anyChunk = 64

// attentionAny computes one query head's attention output over layer il
// of a cache whose keys or values are not F16, at positions [lo, hi], KV
// head g. It follows ggml's one-row flash-attention kernel for such types
// in what it computes: the query converted to the key type's dot-product
// type (F16 rounding, Q8_0 quantization, ...), scores by the type's dot
// product, values accumulated in F16 when they are stored as F16, else
// expanded to float32 and accumulated in float32. The softmax is taken in
// two passes (all scores, then weights) instead of online, which changes
// only the rounding, so that a head's keys are one matrix-vector product
// and its values a few block expansions and weighted sums. With oneRow
// false the query stays float32 and keys are expanded to float32 (the
// float32 kernel, used for batches).
func attentionAny(out, q []float32, c *Cache, il, g, lo, hi int, scale, softcap float32, oneRow bool, sc *attnScratch) {
	hd := len(q)
	np := hi - lo + 1
	scores := sc.scores[:np]
	switch {
	case c.k16 != nil && oneRow:
		copy(sc.qh, q)
		tensor.RoundF16Slice(sc.qh)
		for p := lo; p <= hi; p++ {
			b := p*c.kvDim + g*hd
			scores[p-lo] = tensor.DotF16(c.k16[il][b:b+hd], sc.qh)
		}
	case c.k16 != nil:
		for p := lo; p <= hi; p++ {
			b := p*c.kvDim + g*hd
			tensor.F16ToF32Slice(sc.vChunk[:hd], c.k16[il][b:b+hd])
			scores[p-lo] = tensor.Dot(sc.vChunk[:hd], q)
		}
	default:
		kt := c.kt
		if !oneRow {
			kt = tensor.F32 // dot the expanded keys with the float32 query
		}
		act, _ := tensor.VecDotType(c.kt)
		if !oneRow {
			act = tensor.F32
		}
		if err := tensor.QuantizeActivation(act, q, sc.qAct); err != nil {
			panic(err) // scratch sized for the largest type
		}
		if kt == c.kt {
			if err := tensor.MatVecQuantized(c.kt, c.kRows(il, g, lo, hi+1), np, hd, sc.qAct, scores); err != nil {
				panic(err)
			}
		} else {
			for p0 := lo; p0 <= hi; p0 += anyChunk {
				p1 := min(hi+1, p0+anyChunk)
				rows := sc.vChunk[:(p1-p0)*hd]
				if err := tensor.Dequantize(c.kt, c.kRows(il, g, p0, p1), rows); err != nil {
					panic(err)
				}
				for p := p0; p < p1; p++ {
					scores[p-lo] = tensor.Dot(rows[(p-p0)*hd:(p-p0+1)*hd], q)
				}
			}
		}
	}
	// Softmax weights, as the float32 kernel folds the cap into the scale.
	maxS := float32(math.Inf(-1))
	for i, s := range scores {
		if softcap > 0 {
			s = softcap * tanh32(s*(scale/softcap))
		} else {
			s *= scale
		}
		scores[i] = s
		maxS = max(maxS, s)
	}
	for i := range scores {
		scores[i] -= maxS
	}
	tensor.ExpF32Slice(scores, scores)
	var sum float32
	for _, e := range scores {
		sum += e
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	if c.v16 != nil {
		clear(sc.acc16)
		for p := lo; p <= hi; p++ {
			b := p*c.kvDim + g*hd
			tensor.AxpyF16(sc.acc16, c.v16[il][b:b+hd], scores[p-lo])
		}
		tensor.F16ToF32Slice(out[:hd], sc.acc16)
	} else {
		clear(out[:hd])
		for p0 := lo; p0 <= hi; p0 += anyChunk {
			p1 := min(hi+1, p0+anyChunk)
			rows := sc.vChunk[:(p1-p0)*hd]
			if err := tensor.Dequantize(c.vt, c.vRows(il, g, p0, p1), rows); err != nil {
				panic(err)
			}
			tensor.WeightedSumF32(sc.acc32, scores[p0-lo:p1-lo], rows, hd)
			for i, a := range sc.acc32 {
				out[i] += a
			}
		}
	}
	for i := range out[:hd] {
		out[i] *= inv
	}
}
