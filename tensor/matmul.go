package tensor

import (
	"fmt"
	"sync"
)

// MatVec sets y[r] = dot(row r of W, x) for r in [0, rows). W holds rows
// rows of cols elements stored as type t, row-major (ggml's layout for a
// weight of shape [cols, rows]). len(x) == cols, len(y) >= rows.
//
// The arithmetic follows ggml's CPU backend so results match llama.cpp:
// x is converted once to t's vec_dot type (VecDotType: F16 weights see x
// rounded to F16, quantized weights see x quantized to Q8_0, Q8_1 or Q8_K)
// and each row is dotted with it using integer block sums.
//
// MatVec panics if t has no kernel (see CanMatVec) or the buffers are too
// small, like an out-of-range slice index; use MatVecChecked to get an
// error instead. In steady state it does not allocate.
func MatVec(t Type, w []byte, rows, cols int, x []float32, y []float32) {
	MatMul(t, w, rows, cols, x, y, 1)
}

// MatMul applies MatVec to n activation rows: x is n×cols, y is n×rows.
// Each activation row is quantized once and dotted with every weight row.
func MatMul(t Type, w []byte, rows, cols int, x []float32, y []float32, n int) {
	if err := MatMulChecked(t, w, rows, cols, x, y, n); err != nil {
		panic(err)
	}
}

// MatVecChecked is MatVec returning an error for an unsupported type or
// mismatched buffer sizes.
func MatVecChecked(t Type, w []byte, rows, cols int, x []float32, y []float32) error {
	return MatMulChecked(t, w, rows, cols, x, y, 1)
}

// MatMulChecked is MatMul returning an error for an unsupported type or
// mismatched buffer sizes.
func MatMulChecked(t Type, w []byte, rows, cols int, x []float32, y []float32, n int) error {
	vd, ok := vecDots[t]
	if !ok {
		return fmt.Errorf("tensor: no matmul kernel for type %s", t)
	}
	rowBytes, ok1 := t.RowSize(int64(cols))
	actBytes, ok2 := vd.act.RowSize(int64(cols))
	if !ok1 || !ok2 || rows < 0 || n < 0 {
		return fmt.Errorf("tensor: bad %s matmul shape rows=%d cols=%d n=%d", t, rows, cols, n)
	}
	if int64(len(w)) < int64(rows)*rowBytes {
		return fmt.Errorf("tensor: %s weight is %d bytes, %d×%d needs %d", t, len(w), rows, cols, int64(rows)*rowBytes)
	}
	if len(x) < n*cols || len(y) < n*rows {
		return fmt.Errorf("tensor: matmul %d×%d by %d rows: x has %d floats (need %d), y has %d (need %d)",
			rows, cols, n, len(x), n*cols, len(y), n*rows)
	}
	buf := getScratch(n * int(actBytes))
	act := (*buf)[:int64(n)*actBytes]
	quantizeRows(activationQuantizers[vd.act], x, n, cols, act, int(actBytes))
	matMulRange(t, w, int(rowBytes), cols, 0, rows, act, int(actBytes), n, y, rows)
	scratchPool.Put(buf)
	return nil
}

// rowBlockBytes bounds the weight rows one pass over the activations
// touches, so a block stays in the L1/L2 cache while every token of a batch
// is multiplied with it: weights stream from memory once per batch, not
// once per token.
const rowBlockBytes = 16 << 10

// matMulRange sets y[i*yStride+r] = row r of w · activation i for rows
// [r0, r1) and activations [0, n). act holds the n quantized activations,
// actBytes apart.
func matMulRange(t Type, w []byte, rowBytes, cols, r0, r1 int, act []byte, actBytes, n int, y []float32, yStride int) {
	// Batches (prompt processing) go to the GEMM kernels where t has one.
	if n > 1 && r1 > r0 {
		if k := gemmKernels[t]; k != nil && n >= k.minTokens && cols%k.elems == 0 {
			gemmRange(k, w, rowBytes, cols, r0, r1, act, actBytes, n, y, yStride)
			return
		}
		if t == F16 && n >= f16MinTokens && f16Tile != nil && cols%32 == 0 {
			if order := f16ActiveOrder(); order >= 0 {
				gemmF16Range(f16Tile, f16Convert, order, w, rowBytes, cols, r0, r1, act, actBytes, n, y, yStride)
				return
			}
		}
	}
	rowsRange(t, w, rowBytes, cols, r0, r1, act, actBytes, n, y, yStride)
}

// rowsRange is matMulRange with the row kernels: for each block of weight
// rows, every activation is dotted with the block in turn.
func rowsRange(t Type, w []byte, rowBytes, cols, r0, r1 int, act []byte, actBytes, n int, y []float32, yStride int) {
	// At least 8 rows, in multiples of 8, so the multi-row kernels (which
	// share each activation load across 4 or 8 rows) get whole groups.
	block := max(8, rowBlockBytes/rowBytes&^7)
	if n == 1 {
		block = r1 - r0
	}
	for b0 := r0; b0 < r1; b0 += block {
		b1 := min(r1, b0+block)
		wb := w[b0*rowBytes:]
		for i := 0; i < n; i++ {
			dotRows(t, wb, rowBytes, act[i*actBytes:(i+1)*actBytes], cols, y[i*yStride+b0:i*yStride+b1])
		}
	}
}

func quantizeRows(quant func([]float32, []byte), x []float32, n, cols int, act []byte, actBytes int) {
	for i := 0; i < n; i++ {
		quant(x[i*cols:(i+1)*cols], act[i*actBytes:(i+1)*actBytes])
	}
}

// ActivationRowSize returns the bytes one activation row of cols elements
// takes in the vec_dot type of weight type t.
func ActivationRowSize(t Type, cols int) (int, error) {
	vd, ok := vecDots[t]
	if !ok {
		return 0, fmt.Errorf("tensor: no matmul kernel for type %s", t)
	}
	n, ok := vd.act.RowSize(int64(cols))
	if !ok {
		return 0, fmt.Errorf("tensor: %d columns is not a whole number of %s blocks", cols, vd.act)
	}
	return int(n), nil
}

// QuantizeActivations converts the n rows of x (n×cols) to weight type t's
// vec_dot type, ActivationRowSize(t, cols) bytes each, into act. Callers
// that split one product over several workers quantize once with this and
// then call MatMulRows from each worker.
func QuantizeActivations(t Type, x []float32, n, cols int, act []byte) error {
	size, err := ActivationRowSize(t, cols)
	if err != nil {
		return err
	}
	if len(x) < n*cols || len(act) < n*size {
		return fmt.Errorf("tensor: quantize %d activations of %d: x has %d floats, act %d bytes (need %d)", n, cols, len(x), len(act), n*size)
	}
	quantizeRows(activationQuantizers[vecDots[t].act], x, n, cols, act, size)
	return nil
}

// MatMulRows computes rows [r0, r1) of the product of weight W (type t,
// cols columns, row-major) with n activations already converted by
// QuantizeActivations: y[i*yStride + r] = W[r] · act_i. Disjoint row ranges
// may run concurrently.
func MatMulRows(t Type, w []byte, cols, r0, r1 int, act []byte, n int, y []float32, yStride int) error {
	rowBytes, ok := t.RowSize(int64(cols))
	size, err := ActivationRowSize(t, cols)
	if err != nil || !ok {
		return fmt.Errorf("tensor: bad %s matmul: %d columns", t, cols)
	}
	if r0 < 0 || r1 < r0 || int64(len(w)) < int64(r1)*rowBytes || len(act) < n*size ||
		(n > 0 && len(y) < (n-1)*yStride+r1) {
		return fmt.Errorf("tensor: %s matmul rows [%d,%d) of %d activations: buffers too small", t, r0, r1, n)
	}
	matMulRange(t, w, int(rowBytes), cols, r0, r1, act, size, n, y, yStride)
	return nil
}

// MatVecQuantized is MatVec for an activation already converted with
// QuantizeActivation(VecDotType(t), x, act), for callers that reuse one
// activation across several weights.
func MatVecQuantized(t Type, w []byte, rows, cols int, act []byte, y []float32) error {
	vd, ok := vecDots[t]
	if !ok {
		return fmt.Errorf("tensor: no matmul kernel for type %s", t)
	}
	rowBytes, ok1 := t.RowSize(int64(cols))
	actBytes, ok2 := vd.act.RowSize(int64(cols))
	if !ok1 || !ok2 || rows < 0 {
		return fmt.Errorf("tensor: bad %s matvec shape rows=%d cols=%d", t, rows, cols)
	}
	if int64(len(w)) < int64(rows)*rowBytes || int64(len(act)) < actBytes || len(y) < rows {
		return fmt.Errorf("tensor: %s matvec %d×%d: buffers too small (w %d, act %d, y %d)", t, rows, cols, len(w), len(act), len(y))
	}
	dotRows(t, w, int(rowBytes), act, cols, y[:rows])
	return nil
}

// scratchPool recycles activation buffers so MatVec does not allocate.
var scratchPool sync.Pool

func getScratch(n int) *[]byte {
	if p, ok := scratchPool.Get().(*[]byte); ok && cap(*p) >= n {
		return p
	}
	b := make([]byte, n)
	return &b
}

// Dot returns the float32 dot product of a and b (len(b) >= len(a)).
func Dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}
