package synth

import (
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"sync"

	"golem/gguf"
	"golem/tensor"
)

// Weight scales: matrices and biases are N(0, WeightStd²), norm weights
// 1 + N(0, WeightStd²), roughly what trained small models hold, so that
// hidden states neither vanish nor overflow F16 in the KV cache.
const WeightStd = 0.02

// NewWriter returns a GGUF writer holding preset p quantized as mix m with
// weights drawn from seed. The tensor data is produced while the writer
// writes (one slab of rows at a time, quantized on all CPUs), so even a
// multi-gigabyte model needs only a few megabytes of memory. The same
// preset, mix and seed always give the same file.
func NewWriter(p Preset, m Mix, seed uint64) (*gguf.Writer, error) {
	if err := p.validate(); err != nil {
		return nil, err
	}
	w := gguf.NewWriter()
	arch := p.Arch
	tokens, types, bos, eos := vocabulary(p.Vocab)
	kvs := []struct {
		key string
		val any
	}{
		{"general.architecture", arch},
		{"general.name", p.ModelName},
		{"general.file_type", m.FileType},
		{"general.quantization_version", uint32(2)},
		{arch + ".context_length", uint32(p.Context)},
		{arch + ".embedding_length", uint32(p.Embd)},
		{arch + ".block_count", uint32(p.Layers)},
		{arch + ".feed_forward_length", uint32(p.FFN)},
		{arch + ".attention.head_count", uint32(p.Heads)},
		{arch + ".attention.head_count_kv", uint32(p.HeadsKV)},
		{arch + ".attention.key_length", uint32(p.headDim())},
		{arch + ".attention.value_length", uint32(p.headDim())},
		{arch + ".attention.layer_norm_rms_epsilon", p.RMSEps},
		{arch + ".rope.freq_base", p.RopeBase},
		{arch + ".rope.dimension_count", uint32(p.headDim())},
		{arch + ".vocab_size", uint32(p.Vocab)},
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "default"},
		{"tokenizer.ggml.tokens", tokens},
		{"tokenizer.ggml.token_type", types},
		{"tokenizer.ggml.merges", append([]string(nil), vocabMerges...)},
		{"tokenizer.ggml.bos_token_id", bos},
		{"tokenizer.ggml.eos_token_id", eos},
		{"tokenizer.ggml.add_bos_token", true},
	}
	for _, kv := range kvs {
		if err := w.Set(kv.key, kv.val); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	for i, t := range p.tensors() {
		typ, err := m.tensorType(&p, t)
		if err != nil {
			return nil, err
		}
		if !tensor.CanQuantize(typ) {
			return nil, fmt.Errorf("synth: tensor %s: the tensor package cannot quantize %s", t.name, typ)
		}
		g := &generator{spec: t, typ: typ, seed: seed, index: uint64(i)}
		if err := w.AddTensorFunc(t.name, t.shape, typ, g.write); err != nil {
			return nil, fmt.Errorf("synth: %w", err)
		}
	}
	return w, nil
}

// WriteFile writes preset p as mix m (weights from seed) to path,
// atomically (see gguf.Writer.WriteFile).
func WriteFile(path string, p Preset, m Mix, seed uint64) error {
	w, err := NewWriter(p, m, seed)
	if err != nil {
		return err
	}
	if err := w.WriteFile(path); err != nil {
		return fmt.Errorf("synth: %w", err)
	}
	return nil
}

// generator produces one tensor's data.
type generator struct {
	spec  tensorSpec
	typ   tensor.Type
	seed  uint64
	index uint64 // tensor index, part of every row's random stream
}

// slabBytes bounds the float32 rows generated per slab.
const slabBytes = 4 << 20

// write streams the tensor to out slab by slab. Each row has its own
// random stream (seeded by the seed, tensor index and row), so the data do
// not depend on how rows are split among goroutines.
func (g *generator) write(out io.Writer) error {
	cols := int(g.spec.shape[0])
	rows := 1
	for _, d := range g.spec.shape[1:] {
		rows *= int(d)
	}
	rowBytes64, ok := g.typ.RowSize(int64(cols))
	if !ok {
		return fmt.Errorf("row of %d elements does not fill whole %s blocks", cols, g.typ)
	}
	rowBytes := int(rowBytes64)
	workers := max(1, runtime.GOMAXPROCS(0))
	perWorker := max(1, slabBytes/4/cols/workers)
	slabRows := perWorker * workers
	buf := make([]byte, min(slabRows, rows)*rowBytes)
	floats := make([][]float32, workers)
	for i := range floats {
		floats[i] = make([]float32, perWorker*cols)
	}
	errs := make([]error, workers)
	for r0 := 0; r0 < rows; r0 += slabRows {
		n := min(slabRows, rows-r0)
		clear(errs)
		var wg sync.WaitGroup
		for wi := 0; wi < workers; wi++ {
			a, b := wi*perWorker, min((wi+1)*perWorker, n)
			if a >= b {
				break
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				f := floats[wi][:(b-a)*cols]
				for r := a; r < b; r++ {
					g.fillRow(r0+r, f[(r-a)*cols:(r-a+1)*cols])
				}
				errs[wi] = tensor.Quantize(g.typ, f, buf[a*rowBytes:b*rowBytes])
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return fmt.Errorf("quantize %s: %w", g.typ, err)
			}
		}
		if _, err := out.Write(buf[:n*rowBytes]); err != nil {
			return err
		}
	}
	return nil
}

// fillRow writes row r's random values into dst.
func (g *generator) fillRow(r int, dst []float32) {
	rng := rand.New(rand.NewPCG(g.seed, g.index<<40^uint64(r)))
	switch g.spec.kind {
	case kindNorm:
		for i := range dst {
			dst[i] = float32(1 + WeightStd*rng.NormFloat64())
		}
	default:
		for i := range dst {
			dst[i] = float32(WeightStd * rng.NormFloat64())
		}
	}
}
