package tensor

import (
	"encoding/binary"
	"fmt"
	"math"
)

// dequantizers maps each type to the function that expands whole blocks of
// src into dst (len(dst) elements, a multiple of the block size).
var dequantizers = map[Type]func(src []byte, dst []float32){
	F32: func(src []byte, dst []float32) {
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	},
	F16: func(src []byte, dst []float32) {
		for i := range dst {
			dst[i] = F16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	},
	BF16: func(src []byte, dst []float32) {
		for i := range dst {
			dst[i] = BF16ToF32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	},
}

// CanDequantize reports whether Dequantize supports t.
func CanDequantize(t Type) bool { _, ok := dequantizers[t]; return ok }

// Dequantize expands len(dst) elements stored as type t in src to float32.
// len(dst) must be a multiple of t's block size and src must hold them.
func Dequantize(t Type, src []byte, dst []float32) error {
	fn, ok := dequantizers[t]
	if !ok {
		return fmt.Errorf("tensor: cannot dequantize type %s", t)
	}
	need, ok := t.RowSize(int64(len(dst)))
	if !ok {
		return fmt.Errorf("tensor: %d elements is not a whole number of %s blocks", len(dst), t)
	}
	if int64(len(src)) < need {
		return fmt.Errorf("tensor: %s data is %d bytes, need %d", t, len(src), need)
	}
	fn(src, dst)
	return nil
}
