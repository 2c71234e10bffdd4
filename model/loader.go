package model

import (
	"errors"
	"fmt"
	"math"

	"golem/gguf"
	"golem/tensor"
)

// loader reads tensors and metadata for the architecture files, checking
// every shape against the configuration so that a malformed file gives an
// error at load time instead of a panic in Forward.
type loader struct {
	f   *gguf.File
	cfg *Config
}

// weight returns the 2-D tensor name, which must have rows of cols elements.
func (ld *loader) weight(name string, cols, rows int) (*weight, error) {
	ti, ok := ld.f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("missing tensor %s", name)
	}
	return ld.checkWeight(ti, cols, rows)
}

// optWeight is weight for a tensor that may be absent (nil, nil).
func (ld *loader) optWeight(name string, cols, rows int) (*weight, error) {
	ti, ok := ld.f.Tensor(name)
	if !ok {
		return nil, nil
	}
	return ld.checkWeight(ti, cols, rows)
}

func (ld *loader) checkWeight(ti *gguf.TensorInfo, cols, rows int) (*weight, error) {
	if len(ti.Shape) < 1 || len(ti.Shape) > 2 || ti.Shape[0] != int64(cols) || (len(ti.Shape) == 2 && ti.Shape[1] != int64(rows)) || (len(ti.Shape) == 1 && rows != 1) {
		return nil, fmt.Errorf("tensor %s: shape %v, want [%d %d]", ti.Name, ti.Shape, cols, rows)
	}
	// Matrices need a matmul kernel, vectors and embedding rows a dequantizer.
	if !ti.Type.Known() || !tensor.CanDequantize(ti.Type) || (rows > 1 && !tensor.CanMatVec(ti.Type)) {
		return nil, fmt.Errorf("tensor %s: unsupported type %s", ti.Name, ti.Type)
	}
	rowBytes, ok := ti.Type.RowSize(int64(cols))
	if !ok || rowBytes*int64(rows) != ti.Size {
		return nil, fmt.Errorf("tensor %s: %d bytes for %d rows of %d %s", ti.Name, ti.Size, rows, cols, ti.Type)
	}
	return &weight{typ: ti.Type, data: ld.f.TensorData(ti), rows: rows, cols: cols}, nil
}

// vector returns the 1-D tensor name (n elements) as float32.
func (ld *loader) vector(name string, n int) ([]float32, error) {
	w, err := ld.weight(name, n, 1)
	if err != nil {
		return nil, err
	}
	v := make([]float32, n)
	if err := tensor.Dequantize(w.typ, w.data, v); err != nil {
		return nil, fmt.Errorf("tensor %s: %w", name, err)
	}
	return v, nil
}

// optVector is vector for a tensor that may be absent (nil, nil).
func (ld *loader) optVector(name string, n int) ([]float32, error) {
	if _, ok := ld.f.Tensor(name); !ok {
		return nil, nil
	}
	return ld.vector(name, n)
}

// readConfig reads the hyperparameters common to all decoder architectures.
// neox selects the RoPE pair layout of the architecture.
func readConfig(f *gguf.File, neox bool) (*Config, error) {
	c := &Config{Arch: f.Architecture()}
	c.ContextLength = metaInt(f, "context_length", 0)
	c.EmbeddingLength = metaInt(f, "embedding_length", 0)
	c.BlockCount = metaInt(f, "block_count", 0)
	c.HeadCount = metaInt(f, "attention.head_count", 0)
	c.FeedForwardLength = metaInt(f, "feed_forward_length", 0)
	if c.EmbeddingLength <= 0 || c.BlockCount <= 0 || c.HeadCount <= 0 || c.FeedForwardLength <= 0 {
		return nil, fmt.Errorf("metadata: need positive embedding_length, block_count, attention.head_count, feed_forward_length (got %d, %d, %d, %d)",
			c.EmbeddingLength, c.BlockCount, c.HeadCount, c.FeedForwardLength)
	}
	c.HeadCountKV = metaInt(f, "attention.head_count_kv", c.HeadCount)
	if c.HeadCountKV <= 0 || c.HeadCount%c.HeadCountKV != 0 {
		return nil, fmt.Errorf("metadata: head_count %d not a multiple of head_count_kv %d", c.HeadCount, c.HeadCountKV)
	}
	c.HeadDim = metaInt(f, "attention.key_length", c.EmbeddingLength/c.HeadCount)
	if vd := metaInt(f, "attention.value_length", c.HeadDim); vd != c.HeadDim || c.HeadDim <= 0 {
		return nil, fmt.Errorf("metadata: key_length %d and value_length %d must be equal and positive", c.HeadDim, vd)
	}
	c.RMSEps = metaFloat(f, "attention.layer_norm_rms_epsilon", 1e-5)
	c.AttnScale = float32(1 / math.Sqrt(float64(c.HeadDim)))
	if s := metaFloat(f, "attention.scale", 0); s != 0 {
		c.AttnScale = s
	}
	if c.ContextLength <= 0 {
		c.ContextLength = 2048
	}

	rope, err := readRope(f, c, neox)
	if err != nil {
		return nil, err
	}
	c.Rope = rope
	c.RopeSWA = rope
	return c, nil
}

// readRope reads RoPE parameters: dimension count, base, and scaling
// (<arch>.rope.scaling.type none/linear/yarn/llama3, .factor,
// .original_context_length, .attn_factor, YaRN betas, rope_freqs.weight).
func readRope(f *gguf.File, c *Config, neox bool) (Rope, error) {
	r := Rope{
		Dims:       metaInt(f, "rope.dimension_count", c.HeadDim),
		Base:       metaFloat(f, "rope.freq_base", 10000),
		NeoX:       neox,
		FreqScale:  1,
		AttnFactor: 1,
		OrigCtx:    metaInt(f, "rope.scaling.original_context_length", c.ContextLength),
		BetaFast:   metaFloat(f, "rope.scaling.yarn_beta_fast", 32),
		BetaSlow:   metaFloat(f, "rope.scaling.yarn_beta_slow", 1),
	}
	if r.Dims <= 0 || r.Dims > c.HeadDim || r.Dims%2 != 0 {
		return r, fmt.Errorf("metadata: rope.dimension_count %d invalid for head size %d", r.Dims, c.HeadDim)
	}
	if r.Base <= 0 {
		return r, fmt.Errorf("metadata: rope.freq_base %g must be positive", r.Base)
	}
	typ, ok := f.String(metaKey(f, "rope.scaling.type"))
	if !ok {
		typ = "linear" // llama.cpp's default: a factor, if present, is linear
	}
	factor := metaFloat(f, "rope.scaling.factor", 0)
	if factor == 0 {
		factor = metaFloat(f, "rope.scale_linear", 0)
	}
	switch typ {
	case "none":
	case "linear", "yarn", "longrope":
		if factor != 0 {
			r.FreqScale = 1 / factor
		}
		if typ == "yarn" {
			r.ExtFactor = 1
			r.AttnFactor = yarnAttnFactor(factor, metaFloat(f, "rope.scaling.yarn_log_multiplier", 0))
		}
	case "llama3":
		// Handled through frequency factors below when rope_freqs is absent.
	default:
		return r, fmt.Errorf("metadata: unsupported rope.scaling.type %q", typ)
	}
	r.AttnFactor *= metaFloat(f, "rope.scaling.attn_factor", 1)

	ld := loader{f: f, cfg: c}
	var err error
	if _, ok := f.Tensor("rope_freqs.weight"); ok {
		if r.FreqFactors, err = ld.vector("rope_freqs.weight", r.Dims/2); err != nil {
			return r, err
		}
	} else if _, ok := f.Tensor("rope_factors_long.weight"); ok {
		// LongRoPE (phi3 128k): short factors up to the original context,
		// long ones beyond.
		if r.FreqFactorsLong, err = ld.vector("rope_factors_long.weight", r.Dims/2); err != nil {
			return r, err
		}
		if r.FreqFactors, err = ld.vector("rope_factors_short.weight", r.Dims/2); err != nil {
			return r, err
		}
	} else if typ == "llama3" && factor > 0 {
		r.FreqFactors = llama3FreqFactors(r.Dims, float64(r.Base), float64(factor),
			float64(metaFloat(f, "rope.scaling.low_freq_factor", 1)),
			float64(metaFloat(f, "rope.scaling.high_freq_factor", 4)), r.OrigCtx)
	}
	for _, ff := range [][]float32{r.FreqFactors, r.FreqFactorsLong} {
		for _, v := range ff {
			if !(v > 0) {
				return r, errors.New("rope frequency factors must be positive")
			}
		}
	}
	return r, nil
}

// yarnAttnFactor is the cos/sin multiplier llama.cpp passes to RoPE for
// YaRN: its context setup divides out the 1+0.1·ln(factor) that ggml's
// rope_yarn multiplies in, after choosing the magnitude correction
// (ratio of mscales when a log multiplier is given, else the plain one).
func yarnAttnFactor(factor, logMul float32) float32 {
	if factor <= 1 {
		return 1
	}
	mscale := func(s, m float32) float32 {
		if s <= 1 {
			return 1
		}
		return 0.1*m*float32(math.Log(float64(s))) + 1
	}
	a := mscale(factor, 1)
	if logMul != 0 {
		a = mscale(factor, 1) / mscale(factor, logMul)
	}
	return a / (1 + 0.1*float32(math.Log(float64(factor))))
}
