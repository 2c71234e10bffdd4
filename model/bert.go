package model

// BERT sentence embeddings (llama.cpp architecture "bert"), kept apart from
// the decoder models of this package: an encoder with learned position
// embeddings, post-layer-norm blocks, bidirectional attention and pooling
// of the last layer's token vectors into one vector per input.
//
// The arithmetic repeats, operation for operation, what llama.cpp's CPU
// backend does for this graph on the AVX-512 machine the golden numbers
// come from, so the embeddings agree with llama.cpp's to about one float32
// rounding (the golden test measures it) rather than merely within the
// spread of llama.cpp's own configurations:
//
//   - F32 matrix products use the summation order of llamafile's tinyBLAS
//     (batches of two or more rows) or of ggml_vec_dot_f32: 16 lanes of
//     fused multiply-adds reduced like _mm512_reduce_add_ps;
//   - layer norm sums the inputs in float64 for the mean and the squared
//     deviations in blocks of 16 into a float64 for the variance;
//   - GELU is the tanh approximation looked up by the F16-rounded input,
//     with an F16 result (ggml's GGML_GELU_FP16 table);
//   - attention is ggml's flash attention with K and V cast to F16: batches
//     of at least 64 tokens take its tiled path (F32 Q·K with fused
//     multiply-adds, online softmax per tile of 64 keys using ggml's
//     vectorized exp, F32 accumulation of V), shorter ones its one-row path
//     (Q rounded to F16, dot products summed in float64, V·softmax
//     accumulated in F16);
//   - mean pooling is the product with a vector of 1/n that llama.cpp
//     builds for it.
//
// Where llama.cpp's compiler contracted a multiply and an add into one
// fused multiply-add (GELU's 1 + c·x², the one-row softmax sum) the code
// here does too; each such choice was checked against the golden data.
//
// Everything allocated by Embed is per call, so a *BERT may be shared by
// goroutines as long as its exported fields are not changed meanwhile.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"

	"golem/gguf"
	"golem/tensor"
)

// BERTPooling says how Embed reduces the per-token vectors of the last
// layer. The values are llama.cpp's (enum llama_pooling_type and the GGUF
// key bert.pooling_type).
type BERTPooling int

const (
	// BERTPoolingNone returns every token's vector (n × EmbeddingLength).
	BERTPoolingNone BERTPooling = 0
	// BERTPoolingMean averages the token vectors.
	BERTPoolingMean BERTPooling = 1
	// BERTPoolingCLS takes the first token's vector ([CLS]).
	BERTPoolingCLS BERTPooling = 2
	// BERTPoolingLast takes the last token's vector.
	BERTPoolingLast BERTPooling = 3
)

// String returns llama.cpp's name of the pooling type.
func (p BERTPooling) String() string {
	switch p {
	case BERTPoolingNone:
		return "none"
	case BERTPoolingMean:
		return "mean"
	case BERTPoolingCLS:
		return "cls"
	case BERTPoolingLast:
		return "last"
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// BERT is a loaded BERT encoder. Its weight matrices are slices of the GGUF
// file's memory mapping, so the *gguf.File must stay open while the BERT is
// used.
type BERT struct {
	VocabSize         int     // rows of token_embd
	ContextLength     int     // positions (bert.context_length); longer inputs are rejected
	EmbeddingLength   int     // n_embd, the length of one embedding
	HeadCount         int     // attention heads
	HeadDim           int     // EmbeddingLength / HeadCount
	BlockCount        int     // layers
	FeedForwardLength int     // FFN hidden size
	Eps               float32 // layer norm epsilon (bert.attention.layer_norm_epsilon)

	// Pooling is read from bert.pooling_type (none when the key is absent,
	// as in llama.cpp) and may be changed before calling Embed.
	Pooling BERTPooling
	// Normalize makes Embed scale each returned vector to unit Euclidean
	// length, as llama.cpp's embedding tools do by default (embd_normalize
	// 2). LoadBERT sets it to true; set it to false to get the raw pooled
	// vectors (llama_get_embeddings_seq).
	Normalize bool

	tokEmbd  bertMatrix // VocabSize rows
	posEmbd  bertMatrix // ContextLength rows
	typeRow0 []float32  // row 0 of token_types (nil when the model has none)
	normW    []float32  // token_embd_norm
	normB    []float32
	layers   []bertLayer
}

// bertLayer holds one encoder block. Biases are nil when the file has none
// (llama.cpp treats the attention output and FFN biases as optional).
type bertLayer struct {
	q, k, v, o     bertMatrix
	qB, kB, vB, oB []float32
	attnNormW      []float32 // attn_output_norm
	attnNormB      []float32
	up, down       bertMatrix
	upB, downB     []float32
	outNormW       []float32 // layer_output_norm
	outNormB       []float32
}

// bertMatrix is a 2-D weight left in the file: rows rows of cols elements
// stored as typ (ggml shape [cols, rows]).
type bertMatrix struct {
	typ      tensor.Type
	data     []byte
	rows     int
	cols     int
	rowBytes int
}

// mul sets y (n×rows) to x (n×cols) times the transposed matrix.
//
// F32 weights are multiplied with the operations, in the order, of ggml's
// AVX-512 CPU kernels, so equal inputs give llama.cpp's bits: batches of n ≥ 2
// rows with cols a multiple of 16 and rows a multiple of 4 go through
// llamafile's tinyBLAS (16 lanes of fused multiply-adds, then a
// _mm512_reduce_add_ps), everything else through ggml_vec_dot_f32
// (bertVecDot). Other weight types use tensor.MatMul.
func (m *bertMatrix) mul(x, y []float32, n int) {
	if m.typ != tensor.F32 {
		tensor.MatMul(m.typ, m.data, m.rows, m.cols, x, y, n)
		return
	}
	tiny := n >= 2 && m.cols%bertSIMDWidth == 0 && m.rows%4 == 0
	w := make([]float32, m.cols)
	for r := 0; r < m.rows; r++ {
		row := m.data[r*m.rowBytes : (r+1)*m.rowBytes]
		for i := range w {
			w[i] = math.Float32frombits(binary.LittleEndian.Uint32(row[4*i:]))
		}
		for t := 0; t < n; t++ {
			xt := x[t*m.cols : (t+1)*m.cols]
			if tiny {
				y[t*m.rows+r] = bertTinyBLASDot(w, xt)
			} else {
				y[t*m.rows+r] = bertVecDot(w, xt)
			}
		}
	}
}

// row expands row r into dst (len cols).
func (m *bertMatrix) row(r int, dst []float32) error {
	return tensor.Dequantize(m.typ, m.data[r*m.rowBytes:(r+1)*m.rowBytes], dst)
}

// LoadBERT reads a BERT encoder (general.architecture "bert") from f. It
// checks every tensor's presence, shape, type and size against the
// hyperparameters so that Embed cannot index out of range later.
func LoadBERT(f *gguf.File) (*BERT, error) {
	if arch := f.Architecture(); arch != "bert" {
		return nil, fmt.Errorf("bert: architecture is %q, want \"bert\"", arch)
	}
	m := &BERT{Normalize: true}
	var err error
	get := func(key string, dst *int) {
		if err != nil {
			return
		}
		v, ok := f.Uint("bert." + key)
		if !ok || v == 0 || v > 1<<24 {
			err = fmt.Errorf("bert: metadata bert.%s missing or out of range", key)
			return
		}
		*dst = int(v)
	}
	get("context_length", &m.ContextLength)
	get("embedding_length", &m.EmbeddingLength)
	get("feed_forward_length", &m.FeedForwardLength)
	get("block_count", &m.BlockCount)
	get("attention.head_count", &m.HeadCount)
	if err != nil {
		return nil, err
	}
	if m.BlockCount > 1024 {
		return nil, fmt.Errorf("bert: block_count %d is implausible", m.BlockCount)
	}
	if kv, ok := f.Uint("bert.attention.head_count_kv"); ok && int(kv) != m.HeadCount {
		return nil, fmt.Errorf("bert: head_count_kv %d != head_count %d is not supported", kv, m.HeadCount)
	}
	if m.EmbeddingLength%m.HeadCount != 0 {
		return nil, fmt.Errorf("bert: embedding_length %d is not a multiple of head_count %d", m.EmbeddingLength, m.HeadCount)
	}
	m.HeadDim = m.EmbeddingLength / m.HeadCount
	eps, ok := f.Float("bert.attention.layer_norm_epsilon")
	if !ok || !(eps >= 0) || eps > 1 {
		return nil, errors.New("bert: metadata bert.attention.layer_norm_epsilon missing or out of range")
	}
	m.Eps = float32(eps)
	if causal, ok := f.Bool("bert.attention.causal"); ok && causal {
		return nil, errors.New("bert: causal attention is not supported")
	}
	if p, ok := f.Uint("bert.pooling_type"); ok {
		if p > uint64(BERTPoolingLast) {
			return nil, fmt.Errorf("bert: pooling type %d is not supported (none, mean, cls, last are)", p)
		}
		m.Pooling = BERTPooling(p)
	}

	l := bertLoader{f: f}
	n, ff := m.EmbeddingLength, m.FeedForwardLength
	m.tokEmbd = l.matrix("token_embd.weight", n, -1)
	m.VocabSize = m.tokEmbd.rows
	m.posEmbd = l.matrix("position_embd.weight", n, m.ContextLength)
	if _, ok := f.Tensor("token_types.weight"); ok {
		types := l.matrix("token_types.weight", n, -1)
		if l.err == nil {
			m.typeRow0 = make([]float32, n)
			if err := types.row(0, m.typeRow0); err != nil {
				return nil, fmt.Errorf("bert: token_types.weight: %w", err)
			}
		}
	}
	m.normW = l.vector("token_embd_norm.weight", n, true)
	m.normB = l.vector("token_embd_norm.bias", n, true)
	m.layers = make([]bertLayer, m.BlockCount)
	for i := range m.layers {
		b := &m.layers[i]
		p := fmt.Sprintf("blk.%d.", i)
		b.q = l.matrix(p+"attn_q.weight", n, n)
		b.k = l.matrix(p+"attn_k.weight", n, n)
		b.v = l.matrix(p+"attn_v.weight", n, n)
		b.o = l.matrix(p+"attn_output.weight", n, n)
		b.qB = l.vector(p+"attn_q.bias", n, false)
		b.kB = l.vector(p+"attn_k.bias", n, false)
		b.vB = l.vector(p+"attn_v.bias", n, false)
		b.oB = l.vector(p+"attn_output.bias", n, false)
		b.attnNormW = l.vector(p+"attn_output_norm.weight", n, true)
		b.attnNormB = l.vector(p+"attn_output_norm.bias", n, true)
		b.up = l.matrix(p+"ffn_up.weight", n, ff)
		b.upB = l.vector(p+"ffn_up.bias", ff, false)
		b.down = l.matrix(p+"ffn_down.weight", ff, n)
		b.downB = l.vector(p+"ffn_down.bias", n, false)
		b.outNormW = l.vector(p+"layer_output_norm.weight", n, true)
		b.outNormB = l.vector(p+"layer_output_norm.bias", n, true)
	}
	if l.err != nil {
		return nil, l.err
	}
	return m, nil
}

// bertLoader fetches and checks tensors, keeping the first error so the
// loading code can read as a list.
type bertLoader struct {
	f   *gguf.File
	err error
}

func (l *bertLoader) fail(format string, args ...any) {
	if l.err == nil {
		l.err = fmt.Errorf("bert: "+format, args...)
	}
}

// matrix returns the 2-D tensor name with rows of cols elements; rows < 0
// accepts any row count.
func (l *bertLoader) matrix(name string, cols, rows int) bertMatrix {
	if l.err != nil {
		return bertMatrix{}
	}
	ti, ok := l.f.Tensor(name)
	if !ok {
		l.fail("tensor %s is missing", name)
		return bertMatrix{}
	}
	if len(ti.Shape) != 2 || ti.Shape[0] != int64(cols) || ti.Shape[1] < 1 || ti.Shape[1] > 1<<31 ||
		(rows >= 0 && ti.Shape[1] != int64(rows)) {
		l.fail("tensor %s has shape %v, want [%d %d]", name, ti.Shape, cols, rows)
		return bertMatrix{}
	}
	if !tensor.CanDequantize(ti.Type) {
		l.fail("tensor %s has unsupported type %s", name, ti.Type)
		return bertMatrix{}
	}
	rowBytes, ok := ti.Type.RowSize(int64(cols))
	if !ok {
		l.fail("tensor %s: row of %d is not a whole number of %s blocks", name, cols, ti.Type)
		return bertMatrix{}
	}
	data := l.f.TensorData(ti)
	if int64(len(data)) != rowBytes*ti.Shape[1] {
		l.fail("tensor %s holds %d bytes, want %d", name, len(data), rowBytes*ti.Shape[1])
		return bertMatrix{}
	}
	return bertMatrix{typ: ti.Type, data: data, rows: int(ti.Shape[1]), cols: cols, rowBytes: int(rowBytes)}
}

// vector returns the 1-D tensor name of n elements as float32 (a small
// copy), or nil when it is absent and not required.
func (l *bertLoader) vector(name string, n int, required bool) []float32 {
	if l.err != nil {
		return nil
	}
	ti, ok := l.f.Tensor(name)
	if !ok {
		if required {
			l.fail("tensor %s is missing", name)
		}
		return nil
	}
	if ti.Elements() != int64(n) || len(ti.Shape) < 1 || ti.Shape[0] != int64(n) {
		l.fail("tensor %s has shape %v, want [%d]", name, ti.Shape, n)
		return nil
	}
	out := make([]float32, n)
	if err := tensor.Dequantize(ti.Type, l.f.TensorData(ti), out); err != nil {
		l.fail("tensor %s: %v", name, err)
		return nil
	}
	return out
}

// Embed runs the encoder on one sequence of token ids (as the WPM tokenizer
// gives them, [CLS] first and [SEP] last; token type 0, positions from 0)
// and returns its embedding, pooled as m.Pooling says and L2-normalized
// when m.Normalize is set. With BERTPoolingNone the result holds every
// token's vector, one after another, each normalized on its own.
//
// An empty input, more tokens than ContextLength or an id outside the
// vocabulary gives an error.
func (m *BERT) Embed(tokens []int32) ([]float32, error) {
	n := len(tokens)
	if n == 0 {
		return nil, errors.New("bert: no tokens to embed")
	}
	if n > m.ContextLength {
		return nil, fmt.Errorf("bert: %d tokens exceed the context length %d", n, m.ContextLength)
	}
	for i, t := range tokens {
		if t < 0 || int(t) >= m.VocabSize {
			return nil, fmt.Errorf("bert: token %d at position %d is outside the vocabulary (size %d)", t, i, m.VocabSize)
		}
	}
	switch m.Pooling {
	case BERTPoolingNone, BERTPoolingMean, BERTPoolingCLS, BERTPoolingLast:
	default:
		return nil, fmt.Errorf("bert: unsupported pooling %v", m.Pooling)
	}

	d, ff := m.EmbeddingLength, m.FeedForwardLength
	x := make([]float32, n*d)
	pos := make([]float32, d)
	for i, t := range tokens {
		row := x[i*d : (i+1)*d]
		if err := m.tokEmbd.row(int(t), row); err != nil {
			return nil, fmt.Errorf("bert: token_embd row %d: %w", t, err)
		}
		if err := m.posEmbd.row(i, pos); err != nil {
			return nil, fmt.Errorf("bert: position_embd row %d: %w", i, err)
		}
		// llama.cpp adds (tok + type) first, then the position row.
		for j := range row {
			v := row[j]
			if m.typeRow0 != nil {
				v += m.typeRow0[j]
			}
			row[j] = pos[j] + v
		}
	}
	m.layerNorm(x, n, m.normW, m.normB)

	q := make([]float32, n*d)
	k := make([]float32, n*d)
	v := make([]float32, n*d)
	att := make([]float32, n*d)
	h := make([]float32, n*d)
	up := make([]float32, n*ff)
	for i := range m.layers {
		b := &m.layers[i]
		b.q.mul(x, q, n)
		bertAddBias(q, b.qB)
		b.k.mul(x, k, n)
		bertAddBias(k, b.kB)
		b.v.mul(x, v, n)
		bertAddBias(v, b.vB)
		m.attention(q, k, v, att, n)
		b.o.mul(att, h, n)
		bertAddBias(h, b.oB)
		for j := range h {
			h[j] += x[j]
		}
		m.layerNorm(h, n, b.attnNormW, b.attnNormB)

		b.up.mul(h, up, n)
		bertAddBias(up, b.upB)
		bertGELUVec(up)
		b.down.mul(up, x, n)
		bertAddBias(x, b.downB)
		for j := range x {
			x[j] += h[j]
		}
		m.layerNorm(x, n, b.outNormW, b.outNormB)
	}

	var out []float32
	switch m.Pooling {
	case BERTPoolingNone:
		out = x
	case BERTPoolingMean:
		// llama.cpp multiplies the transposed token matrix by a vector
		// of 1/n. With a single column that product never goes through
		// tinyBLAS: it is one ggml_vec_dot_f32 per dimension.
		out = make([]float32, d)
		col := make([]float32, n)
		inv := make([]float32, n)
		for t := range inv {
			inv[t] = 1 / float32(n)
		}
		for j := range out {
			for t := range col {
				col[t] = x[t*d+j]
			}
			out[j] = bertVecDot(col, inv)
		}
	case BERTPoolingCLS:
		out = append([]float32(nil), x[:d]...)
	case BERTPoolingLast:
		out = append([]float32(nil), x[(n-1)*d:]...)
	}
	if m.Normalize {
		for r := 0; r < len(out); r += d {
			BERTNormalizeL2(out[r : r+d])
		}
	}
	return out, nil
}

// BERTNormalizeL2 scales v in place to unit Euclidean length: each element
// becomes v[i] / ‖v‖₂ computed in float64 (squares and quotient), rounded
// once to float32. This is how the golden numbers define the normalized
// embedding; llama.cpp's common_embd_normalize multiplies by a float32
// 1/‖v‖ instead, which can differ in the last bit. A zero vector stays
// zero.
func BERTNormalizeL2(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	norm := math.Sqrt(sum)
	if !(norm > 0) {
		for i := range v {
			v[i] = 0
		}
		return
	}
	for i, x := range v {
		v[i] = float32(float64(x) / norm)
	}
}

// bertAddBias adds b to every row of x (nothing when b is nil).
func bertAddBias(x, b []float32) {
	if b == nil {
		return
	}
	for r := 0; r < len(x); r += len(b) {
		row := x[r : r+len(b)]
		for j := range row {
			row[j] += b[j]
		}
	}
}

// layerNorm normalizes each of the n rows of x in place to zero mean and
// unit variance, then applies weight w and bias b, as ggml_norm followed by
// ggml_mul and ggml_add compute it.
func (m *BERT) layerNorm(x []float32, n int, w, b []float32) {
	d := m.EmbeddingLength
	for r := 0; r < n; r++ {
		row := x[r*d : (r+1)*d]
		var sum float64
		for _, v := range row {
			sum += float64(v)
		}
		mean := float32(sum) / float32(d)
		// Variance: squared deviations in blocks of 16 reduced like
		// _mm512_reduce_add_ps, block sums added in float64, the tail
		// element by element.
		var sq [bertSIMDWidth]float32
		var vsum float64
		i := 0
		for ; i+bertSIMDWidth <= d; i += bertSIMDWidth {
			for j := range sq {
				dv := row[i+j] - mean
				row[i+j] = dv
				sq[j] = dv * dv
			}
			vsum += float64(bertReduce16(&sq))
		}
		for ; i < d; i++ {
			dv := row[i] - mean
			row[i] = dv
			vsum += float64(dv * dv)
		}
		variance := float32(vsum / float64(d))
		scale := 1 / float32(math.Sqrt(float64(variance+m.Eps)))
		for j := range row {
			row[j] = float32(float32(row[j]*scale)*w[j]) + b[j] // no FMA: ggml_mul, then ggml_add
		}
	}
}

// bertSIMDWidth is the float32 vector width of the machine the golden
// numbers come from (AVX-512). ggml reduces some sums in blocks of this
// size and takes its tiled flash-attention path only when the head size is
// a multiple of it.
const bertSIMDWidth = 16

// bertReduce16 sums 16 floats in the order of _mm512_reduce_add_ps: halves
// added lane by lane (512 → 256 → 128 bits), then the pairs (0+2, 1+3),
// then those two.
func bertReduce16(v *[16]float32) float32 {
	var a [8]float32
	for i := range a {
		a[i] = v[i] + v[i+8]
	}
	var c [4]float32
	for i := range c {
		c[i] = a[i] + a[i+4]
	}
	return (c[0] + c[2]) + (c[1] + c[3])
}

// Flash-attention tile sizes of ggml's CPU backend (GGML_FA_TILE_Q and
// GGML_FA_TILE_KV): a batch needs at least bertTileQ query rows for the
// tiled path, which walks the keys bertTileKV at a time.
const (
	bertTileQ  = 64
	bertTileKV = 64
)

// attention computes bidirectional multi-head attention of the n rows of
// q, k and v (n×EmbeddingLength, heads side by side) into out, with K and V
// rounded to F16 as llama.cpp's F16 cast before flash attention does.
func (m *BERT) attention(q, k, v, out []float32, n int) {
	for i := range k {
		k[i] = tensor.RoundF16(k[i])
		v[i] = tensor.RoundF16(v[i])
	}
	hd := m.HeadDim
	// llama.cpp passes 1.0f/sqrtf(float(n_embd_head)).
	scale := 1 / float32(math.Sqrt(float64(hd)))
	tiled := n >= bertTileQ && hd%bertSIMDWidth == 0
	scratch := make([]float32, 2*bertTileKV+2*hd)
	for h := 0; h < m.HeadCount; h++ {
		for i := 0; i < n; i++ {
			off := i*m.EmbeddingLength + h*hd
			qi := q[off : off+hd]
			dst := out[off : off+hd]
			if tiled {
				m.attendTiled(qi, k, v, dst, n, h, scale, scratch)
			} else {
				m.attendOneRow(qi, k, v, dst, n, h, scale, scratch)
			}
		}
	}
}

// attendOneRow is ggml's one-row flash attention for one query row and
// head: Q rounded to F16, each score a float64 sum of exact F16×F16
// products, online softmax, and the V accumulator kept in F16 (rounded
// after every scale and multiply-add).
func (m *BERT) attendOneRow(qi, k, v, dst []float32, n, h int, scale float32, scratch []float32) {
	hd := m.HeadDim
	qh := scratch[:hd]
	acc := scratch[hd : 2*hd]
	for c := range qh {
		qh[c] = tensor.RoundF16(qi[c])
		acc[c] = 0
	}
	var S float32
	M := float32(math.Inf(-1))
	for j := 0; j < n; j++ {
		off := j*m.EmbeddingLength + h*hd
		kj := k[off : off+hd]
		var dot float64
		for c, qc := range qh {
			dot += float64(qc * kj[c])
		}
		s := float32(dot) * scale
		ms, vs := float32(1), float32(1)
		if s > M {
			ms = bertExp(M - s)
			M = s
			for c := range acc {
				acc[c] = tensor.RoundF16(acc[c] * ms)
			}
		} else {
			vs = bertExp(s - M)
		}
		vj := v[off : off+hd]
		for c := range acc {
			acc[c] = tensor.RoundF16(acc[c] + float32(vj[c]*vs))
		}
		S = bertFMA(S, ms, vs) // contracted to an FMA in llama.cpp's build
	}
	inv := float32(0)
	if S != 0 {
		inv = 1 / S
	}
	for c := range dst {
		dst[c] = acc[c] * inv
	}
}

// attendTiled is ggml's tiled flash attention for one query row and head:
// F32 Q, scores as sequential fused multiply-adds over the head dimension,
// then per tile of bertTileKV keys: the running maximum updated once, the
// exponentials summed in blocks of 16 into a float64, and V accumulated
// with fused multiply-adds in F32.
func (m *BERT) attendTiled(qi, k, v, dst []float32, n, h int, scale float32, scratch []float32) {
	hd := m.HeadDim
	kq := scratch[:bertTileKV]
	acc := scratch[2*bertTileKV : 2*bertTileKV+hd]
	for c := range acc {
		acc[c] = 0
	}
	var S float32
	M := float32(math.Inf(-1))
	negInf := float32(math.Inf(-1))
	for ic := 0; ic < n; ic += bertTileKV {
		tile := min(bertTileKV, n-ic)
		tileMax := negInf
		for t := 0; t < bertTileKV; t++ {
			if t >= tile {
				kq[t] = negInf
				continue
			}
			off := (ic+t)*m.EmbeddingLength + h*hd
			kj := k[off : off+hd]
			var s float32
			for c, qc := range qi {
				s = bertFMA(qc, kj[c], s)
			}
			s *= scale
			kq[t] = s
			tileMax = max(tileMax, s)
		}
		if tileMax == negInf {
			continue
		}
		if tileMax > M {
			ms := bertExp(M - tileMax)
			for c := range acc {
				acc[c] *= ms
			}
			S *= ms
			M = tileMax
		}
		var sum float64
		var blk [16]float32
		for t0 := 0; t0 < bertTileKV; t0 += 16 {
			for j := range blk {
				blk[j] = bertExpAVX512(kq[t0+j] - M)
				kq[t0+j] = blk[j]
			}
			sum += float64(bertReduce16(&blk))
		}
		S = float32(float64(S) + sum)
		for t := 0; t < tile; t++ {
			off := (ic+t)*m.EmbeddingLength + h*hd
			vj := v[off : off+hd]
			p := kq[t]
			for c := range acc {
				acc[c] = bertFMA(p, vj[c], acc[c])
			}
		}
	}
	inv := float32(0)
	if S != 0 {
		inv = 1 / S
	}
	for c := range dst {
		dst[c] = acc[c] * inv
	}
}

// bertExp is expf: e^x rounded to float32 (exp(-Inf) = 0).
func bertExp(x float32) float32 { return float32(math.Exp(float64(x))) }

// bertFMA returns a*b+c rounded once to float32, as a float32 fused
// multiply-add instruction computes it. a*b is exact in float64; when the
// float64 sum had to round onto a float32 rounding midpoint, it is moved
// off the midpoint towards the exact value so that the second rounding is
// correct (float32 subnormal results are not treated specially).
func bertFMA(a, b, c float32) float32 {
	p := float64(a) * float64(b)
	s := p + float64(c)
	if math.Float64bits(s)&(1<<29-1) == 1<<28 {
		s = bertFMAMidpoint(p, float64(c), s)
	}
	return float32(s)
}

// bertFMAMidpoint handles bertFMA's rare case: s = p + c rounded to
// float64 lies on a float32 rounding midpoint. It moves s one float64 step
// towards the exact sum (TwoSum gives the rounding error), or leaves it
// when the sum was exact.
func bertFMAMidpoint(p, c, s float64) float64 {
	bv := s - p
	e := (p - (s - bv)) + (c - bv)
	if e == 0 {
		return s
	}
	return math.Nextafter(s, math.Copysign(math.Inf(1), e))
}

// bertVecDot is ggml_vec_dot_f32 on AVX-512: 64 elements at a time into
// four 16-lane accumulators (fused multiply-adds), the accumulators added
// pairwise (0+2, 1+3, then 0+1) and reduced like _mm512_reduce_add_ps,
// then the remaining elements added one by one in float32.
func bertVecDot(x, y []float32) float32 {
	n := len(x)
	np := n &^ 63
	var sum float32
	if np > 0 {
		var acc [4][16]float32
		for i := 0; i < np; i += 64 {
			for j := range acc {
				for l := range acc[j] {
					k := i + 16*j + l
					acc[j][l] = bertFMA(x[k], y[k], acc[j][l])
				}
			}
		}
		for l := 0; l < 16; l++ {
			acc[0][l] += acc[2][l]
			acc[1][l] += acc[3][l]
		}
		for l := 0; l < 16; l++ {
			acc[0][l] += acc[1][l]
		}
		sum = bertReduce16(&acc[0])
	}
	for i := np; i < n; i++ {
		sum += float32(x[i] * y[i])
	}
	return sum
}

// bertTinyBLASDot is one element of llamafile's tinyBLAS F32 product on
// AVX-512: lane l accumulates elements l, l+16, ... with fused
// multiply-adds, then the 16 lanes are reduced like _mm512_reduce_add_ps.
// len(x) must be a multiple of 16.
func bertTinyBLASDot(x, y []float32) float32 {
	var acc [16]float32
	for i := 0; i < len(x); i += 16 {
		for l := range acc {
			acc[l] = bertFMA(x[i+l], y[i+l], acc[l])
		}
	}
	return bertReduce16(&acc)
}

// bertExpAVX512 is e^x as ggml_v_expf computes it on AVX-512 (used by its
// softmax over 16 values at a time): x = n·ln2 + b with n rounded to an
// integer, a degree-5 polynomial in b made of fused multiply-adds, scaled
// by 2^n; |n| > 192 gives 0 or +Inf.
func bertExpAVX512(x float32) float32 {
	const shift = float32(0x1.8p23) // adding it rounds to an integer
	z := bertFMA(x, 0x1.715476p+0, shift)
	n := z - shift
	b := bertFMA(-n, 0x1.62e4p-1, x)
	b = bertFMA(-n, 0x1.7f7d1cp-20, b)
	if n > 192 || n < -192 {
		if n <= 0 {
			return 0
		}
		return float32(math.Inf(1))
	}
	u := b * b
	j := bertFMA(
		bertFMA(bertFMA(0x1.0e4020p-7, b, 0x1.573e2ep-5), u, bertFMA(0x1.555e66p-3, b, 0x1.fffdb6p-2)),
		u,
		bertFMA(0x1.ffffecp-1, b, 1))
	return float32(math.Ldexp(float64(j), int(n)))
}

// GELU constants of ggml (float32).
const (
	bertGELUCoefA      = float32(0.044715)
	bertSqrt2OverPi    = float32(0.79788456080286535587989211986876)
	bertGELUTableLimit = float32(10)
)

var (
	bertGELUOnce  sync.Once
	bertGELUTable []float32 // indexed by F16 bits, F16-rounded results
)

// bertGELUExact is ggml_gelu_f32, the tanh approximation of GELU in float32
// arithmetic: 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²))). The compiler
// contracts 1 + (0.044715·x)·x into a fused multiply-add in llama.cpp's
// build; doing the same here takes the 89-token golden sentence's pooled
// difference from 2e-5 down to one float32 step (6e-8).
func bertGELUExact(x float32) float32 {
	inner := float32(bertSqrt2OverPi*x) * bertFMA(float32(bertGELUCoefA*x), x, 1)
	t := float32(math.Tanh(float64(inner)))
	return float32(0.5*x) * (1 + t)
}

// bertGELU is GELU as ggml's CPU backend computes it for float32 tensors:
// inputs ≤ -10 give 0, inputs ≥ 10 pass through, and anything else is
// rounded to F16 and looked up in a table of F16-rounded bertGELUExact
// values.
func bertGELU(x float32) float32 {
	switch {
	case x <= -bertGELUTableLimit:
		return 0
	case x >= bertGELUTableLimit:
		return x
	}
	bertGELUOnce.Do(func() {
		bertGELUTable = make([]float32, 1<<16)
		for i := range bertGELUTable {
			f := tensor.F16ToF32(uint16(i))
			bertGELUTable[i] = tensor.RoundF16(bertGELUExact(f))
		}
	})
	return bertGELUTable[tensor.F32ToF16(x)]
}

// bertGELUVec applies bertGELU to every element of x in place.
func bertGELUVec(x []float32) {
	for i, v := range x {
		x[i] = bertGELU(v)
	}
}
