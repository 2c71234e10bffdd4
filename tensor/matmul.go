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
	quant := activationQuantizers[vd.act]
	buf := getScratch(int(actBytes))
	act := (*buf)[:actBytes]
	for i := 0; i < n; i++ {
		quant(x[i*cols:(i+1)*cols], act)
		yi := y[i*rows : (i+1)*rows]
		for r := range yi {
			yi[r] = vd.dot(w[int64(r)*rowBytes:int64(r+1)*rowBytes], act, cols)
		}
	}
	scratchPool.Put(buf)
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
	for r := 0; r < rows; r++ {
		y[r] = vd.dot(w[int64(r)*rowBytes:int64(r+1)*rowBytes], act, cols)
	}
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
