package model

import (
	"math"
	"sync"

	"golem/tensor"
)

// This file holds the building blocks shared by every architecture. Each
// mirrors the arithmetic of ggml's CPU backend closely enough that rounding
// differences stay far below llama.cpp's own kernel-to-kernel spread.

// rmsNorm sets out = x / sqrt(mean(x²) + eps) * w (w nil: no weight).
// Like ggml, the squares are float32 products summed in float64, and the
// normalization and the weight are two separate float32 multiplications.
func rmsNorm(out, x, w []float32, eps float32) {
	var sum float64
	for _, v := range x {
		sum += float64(v * v)
	}
	mean := float32(sum / float64(len(x)))
	scale := 1 / float32(math.Sqrt(float64(mean+eps)))
	if w == nil {
		for i, v := range x {
			out[i] = v * scale
		}
		return
	}
	for i, v := range x {
		out[i] = (v * scale) * w[i]
	}
}

// Rope describes rotary position embedding as llama.cpp applies it.
type Rope struct {
	Dims        int       // rotated dimensions per head (the rest pass through)
	Base        float32   // frequency base θ
	NeoX        bool      // pairs (x[i], x[i+Dims/2]) instead of (x[2i], x[2i+1])
	FreqScale   float32   // 1/scaling factor (linear and YaRN scaling); 1 = none
	FreqFactors []float32 // per-pair divisors of the frequency (rope_freqs.weight, rope_factors_short.weight), or nil
	// FreqFactorsLong replaces FreqFactors for caches longer than OrigCtx
	// (LongRoPE: rope_factors_long.weight), as llama.cpp chooses per context.
	FreqFactorsLong []float32

	// YaRN: ExtFactor > 0 mixes interpolated and extrapolated angles per
	// dimension between the correction dims derived from OrigCtx and the
	// beta parameters, and scales cos/sin by AttnFactor·(1+0.1·ln(1/FreqScale)).
	ExtFactor          float32
	AttnFactor         float32 // multiplies cos and sin (1 unless YaRN)
	OrigCtx            int
	BetaFast, BetaSlow float32
}

// angles fills cs with cos/sin pairs (cs[2i], cs[2i+1]) for position pos
// in a context of nCtx positions, the way ggml's rope cache does:
// θ_i = pos·base^(-2i/dims) obtained by repeated float32 multiplication,
// divided by the frequency factor, then YaRN-mixed with its interpolated
// version.
func (r *Rope) angles(pos, nCtx int, cs []float32) {
	factors := r.FreqFactors
	if r.FreqFactorsLong != nil && nCtx > r.OrigCtx {
		factors = r.FreqFactorsLong
	}
	thetaScale := float32(math.Pow(float64(r.Base), float64(float32(-2)/float32(r.Dims))))
	var corr [2]float32
	if r.ExtFactor != 0 {
		corr = yarnCorrDims(r.Dims, r.OrigCtx, r.Base, r.BetaFast, r.BetaSlow)
	}
	theta := float32(pos)
	for i0 := 0; i0 < r.Dims; i0 += 2 {
		ff := float32(1)
		if factors != nil {
			ff = factors[i0/2]
		}
		c, s := ropeYarn(theta/ff, r.FreqScale, corr, i0, r.ExtFactor, r.AttnFactor)
		cs[i0], cs[i0+1] = c, s
		theta *= thetaScale
	}
}

// ropeYarn returns cos and sin of the YaRN-corrected angle (ggml's rope_yarn).
func ropeYarn(thetaExtrap, freqScale float32, corr [2]float32, i0 int, extFactor, mscale float32) (float32, float32) {
	thetaInterp := freqScale * thetaExtrap
	theta := thetaInterp
	if extFactor != 0 {
		rampMix := yarnRamp(corr[0], corr[1], i0) * extFactor
		theta = thetaInterp*(1-rampMix) + thetaExtrap*rampMix
		mscale *= 1 + 0.1*float32(math.Log(float64(1/freqScale)))
	}
	return float32(math.Cos(float64(theta))) * mscale, float32(math.Sin(float64(theta))) * mscale
}

// yarnRamp is 1 below dimension pair low, 0 above high, linear between.
func yarnRamp(low, high float32, i0 int) float32 {
	y := (float32(i0/2) - low) / max(0.001, high-low)
	return 1 - min(1, max(0, y))
}

// yarnCorrDim is the dimension whose wavelength makes nRot rotations over
// the original context.
func yarnCorrDim(dims, origCtx int, nRot, base float32) float32 {
	return float32(dims) * float32(math.Log(float64(float32(origCtx)/(nRot*2*math.Pi)))) / (2 * float32(math.Log(float64(base))))
}

// yarnCorrDims returns the range of dimension pairs YaRN ramps over.
func yarnCorrDims(dims, origCtx int, base, betaFast, betaSlow float32) [2]float32 {
	start := float32(math.Floor(float64(yarnCorrDim(dims, origCtx, betaFast, base))))
	end := float32(math.Ceil(float64(yarnCorrDim(dims, origCtx, betaSlow, base))))
	return [2]float32{max(0, start), min(float32(dims-1), end)}
}

// llama3FreqFactors computes Llama-3.1 style frequency divisors (what
// convert_hf_to_gguf.py stores as rope_freqs.weight) for models whose file
// carries the scaling parameters instead: high frequencies (wavelength
// below origCtx/highFreqFactor) are kept, low ones (wavelength above
// origCtx/lowFreqFactor) divided by factor, and the band between is
// interpolated smoothly.
func llama3FreqFactors(dims int, base, factor, lowFreqFactor, highFreqFactor float64, origCtx int) []float32 {
	lowWavelen := float64(origCtx) / lowFreqFactor
	highWavelen := float64(origCtx) / highFreqFactor
	out := make([]float32, dims/2)
	for i := range out {
		freq := 1 / math.Pow(base, float64(2*i)/float64(dims))
		wavelen := 2 * math.Pi / freq
		switch {
		case wavelen < highWavelen:
			out[i] = 1
		case wavelen > lowWavelen:
			out[i] = float32(factor)
		default:
			smooth := (float64(origCtx)/wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor)
			out[i] = float32(1 / ((1-smooth)/factor + smooth))
		}
	}
	return out
}

// applyRope rotates each head of x (nHeads × headDim) in place with the
// cos/sin pairs cs from Rope.angles.
func applyRope(x []float32, nHeads, headDim int, r *Rope, cs []float32) {
	half := r.Dims / 2
	for h := 0; h < nHeads; h++ {
		v := x[h*headDim : (h+1)*headDim]
		for i0 := 0; i0 < r.Dims; i0 += 2 {
			c, s := cs[i0], cs[i0+1]
			a, b := i0, i0+1
			if r.NeoX {
				a, b = i0/2, i0/2+half
			}
			x0, x1 := v[a], v[b]
			v[a] = x0*c - x1*s
			v[b] = x0*s + x1*c
		}
	}
}

// f16Table maps every half-precision bit pattern to its float32 value, for
// reading the KV cache quickly.
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = tensor.F16ToF32(uint16(i))
	}
	return &t
})

// geluTable is ggml's GELU lookup table: for every F16 input, the tanh
// approximation computed in float32 and rounded to F16.
var geluTable = sync.OnceValue(func() *[1 << 16]float32 {
	const (
		coefA       = float32(0.044715)
		sqrt2OverPi = float32(0.79788456080286535587989211986876)
	)
	var t [1 << 16]float32
	for i := range t {
		x := tensor.F16ToF32(uint16(i))
		th := float32(math.Tanh(float64(sqrt2OverPi * x * (1 + coefA*x*x))))
		t[i] = tensor.RoundF16(0.5 * x * (1 + th))
	}
	return &t
})

// gelu computes GELU as ggml does on the CPU: 0 below -10, identity above
// 10, else the table entry of the F16-rounded input.
func gelu(x float32) float32 {
	switch {
	case x <= -10:
		return 0
	case x >= 10:
		return x
	}
	return geluTable()[tensor.F32ToF16(x)]
}

// swiglu sets out[i] = silu(gate[i]) * up[i], silu(x) = x/(1+e^-x), with
// the exponentials from the vector exp (as ggml's vectorized SiLU); out
// must not overlap gate or up.
func swiglu(out, gate, up []float32) {
	out = out[:len(gate)]
	for i, g := range gate {
		out[i] = -g
	}
	tensor.ExpF32Slice(out, out)
	for i, g := range gate {
		out[i] = g / (1 + out[i]) * up[i]
	}
}

// geglu sets out[i] = gelu(gate[i]) * up[i].
func geglu(out, gate, up []float32) {
	for i, g := range gate {
		out[i] = gelu(g) * up[i]
	}
}

// tanh32 is tanh in float32.
func tanh32(x float32) float32 { return float32(math.Tanh(float64(x))) }

// attention computes one query head's output over cached keys/values at
// positions [lo, hi]: softmax(scale·q·k [soft-capped]) · v, in float32
// like ggml's tiled flash-attention path (K and V come from the F16 cache).
// kc/vc are one layer's cache, kvStride elements per position, head offset
// off; scores is scratch of at least hi-lo+1 values.
func attention(out, q []float32, kc, vc []uint16, kvStride, off, lo, hi int, scale, cap float32, scores []float32) {
	tab := f16Table()
	hd := len(q)
	maxS := float32(math.Inf(-1))
	for p := lo; p <= hi; p++ {
		k := kc[p*kvStride+off : p*kvStride+off+hd]
		var s float32
		for i, kv := range k {
			s += q[i] * tab[kv]
		}
		if cap > 0 {
			// ggml folds the cap into the scale: cap·tanh(s·(scale/cap)).
			s = cap * tanh32(s*(scale/cap))
		} else {
			s *= scale
		}
		scores[p-lo] = s
		maxS = max(maxS, s)
	}
	var sum float32
	for i := range out {
		out[i] = 0
	}
	for p := lo; p <= hi; p++ {
		e := float32(math.Exp(float64(scores[p-lo] - maxS)))
		sum += e
		v := vc[p*kvStride+off : p*kvStride+off+hd]
		for i, vv := range v {
			out[i] += e * tab[vv]
		}
	}
	inv := 1 / sum
	for i := range out {
		out[i] *= inv
	}
}

// weight is a 2-D weight matrix left in the file's mapping: rows rows of
// cols elements stored as typ.
type weight struct {
	typ        tensor.Type
	data       []byte
	rows, cols int
}

// row expands row r into dst (len cols), e.g. for embedding lookups.
func (w *weight) row(r int, dst []float32) error {
	rowBytes, _ := w.typ.RowSize(int64(w.cols))
	return tensor.Dequantize(w.typ, w.data[int64(r)*rowBytes:int64(r+1)*rowBytes], dst)
}

// addBias adds b to each of the n rows of x (nothing if b is nil).
func addBias(x, b []float32, n int) {
	d := len(b)
	if d == 0 {
		return
	}
	for t := 0; t < n; t++ {
		row := x[t*d : (t+1)*d]
		for i, v := range b {
			row[i] += v
		}
	}
}

// attentionOneRow is ggml's one-row flash-attention kernel, which llama.cpp
// runs on the CPU when a batch has fewer than 64 query rows (every decoded
// token) or the head size is not a multiple of the SIMD width: Q is rounded
// to F16, each score is an F16·F16 dot product (tensor.DotF16: AVX-512
// lane order for whole 64-element chunks, float64 for the rest), the
// softmax is online in float32, and V·softmax accumulates in an F16 vector
// (tensor.AxpyF16, tensor.ScaleF16).
//
// The online softmax's exponentials depend only on the scores and their
// running maximum, so they are computed up front in one vector pass
// (tensor.ExpF32Slice, within about 1 ulp of e^x) rather than one call per
// cached position; the accumulation then runs in position order as
// before. At position p, with M the maximum of the scores before it and
// d = s_p - M: a new maximum (d > 0) rescales the accumulator by e^-d and
// adds V_p with weight 1; otherwise V_p gets weight e^d. acc and qh
// (len(q) values) and d and e (hi-lo+1 values) are scratch.
func attentionOneRow(out, q []float32, kc, vc []uint16, kvStride, off, lo, hi int, scale, cap float32, acc []uint16, qh, d, e []float32) {
	hd := len(q)
	acc, qh = acc[:hd], qh[:hd]
	np := hi - lo + 1
	d, e = d[:np], e[:np]
	copy(qh, q)
	tensor.RoundF16Slice(qh)
	clear(acc)
	if cap > 0 {
		scale /= cap
	}
	tensor.DotF16Rows(kc[lo*kvStride+off:], kvStride, qh, d)
	m := float32(math.Inf(-1))
	for i, s := range d {
		s *= scale
		if cap > 0 {
			s = cap * tanh32(s)
		}
		d[i] = s - m
		// e^-|d|: the rescale factor of a new maximum, else the weight.
		e[i] = -abs32(s - m)
		m = max(m, s)
	}
	tensor.ExpF32Slice(e, e)
	var sum float32
	for i, p := 0, lo; p <= hi; i, p = i+1, p+1 {
		base := p*kvStride + off
		ms, vs := float32(1), e[i]
		if d[i] > 0 {
			ms, vs = e[i], 1
			tensor.ScaleF16(acc, ms)
		}
		tensor.AxpyF16(acc, vc[base:base+hd], vs)
		sum = sum*ms + vs
	}
	inv := float32(0)
	if sum != 0 {
		inv = 1 / sum
	}
	tensor.F16ToF32Slice(out[:hd], acc)
	for i := range out[:hd] {
		out[i] *= inv
	}
}

// abs32 is |x|.
func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
