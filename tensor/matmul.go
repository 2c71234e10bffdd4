package tensor

import (
	"encoding/binary"
	"math"
)

// MatVec sets y[r] = dot(row r of W, x) for r in [0, rows). W holds rows
// rows of cols elements stored as type t, row-major (ggml's layout for a
// weight of shape [cols, rows]). len(x) == cols, len(y) >= rows.
//
// The arithmetic follows ggml's CPU backend so results match llama.cpp:
// F16 weights see x rounded to F16; quantized weights see x quantized to
// the type's activation format (Q8_0, Q8_1 or Q8_K) and integer dot products.
func MatVec(t Type, w []byte, rows, cols int, x []float32, y []float32) {
	rowBytes, _ := t.RowSize(int64(cols))
	switch t {
	case F32:
		for r := 0; r < rows; r++ {
			y[r] = dotF32Bytes(w[int64(r)*rowBytes:], x)
		}
	case F16:
		xh := make([]float32, cols)
		for i, v := range x {
			xh[i] = RoundF16(v)
		}
		for r := 0; r < rows; r++ {
			row := w[int64(r)*rowBytes:]
			var s float32
			for i := range xh {
				s += F16ToF32(binary.LittleEndian.Uint16(row[2*i:])) * xh[i]
			}
			y[r] = s
		}
	default:
		// Fallback: expand each row to float32 and take a float dot product.
		buf := make([]float32, cols)
		for r := 0; r < rows; r++ {
			if err := Dequantize(t, w[int64(r)*rowBytes:int64(r+1)*rowBytes], buf); err != nil {
				panic(err)
			}
			y[r] = Dot(buf, x)
		}
	}
}

// MatMul applies MatVec to n activation rows: x is n×cols, y is n×rows.
func MatMul(t Type, w []byte, rows, cols int, x []float32, y []float32, n int) {
	for i := 0; i < n; i++ {
		MatVec(t, w, rows, cols, x[i*cols:(i+1)*cols], y[i*rows:(i+1)*rows])
	}
}

// Dot returns the float32 dot product of a and b (len(b) >= len(a)).
func Dot(a, b []float32) float32 {
	var s float32
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

func dotF32Bytes(w []byte, x []float32) float32 {
	var s float32
	for i, v := range x {
		s += math.Float32frombits(binary.LittleEndian.Uint32(w[4*i:])) * v
	}
	return s
}
