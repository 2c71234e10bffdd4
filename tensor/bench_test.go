package tensor

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMatVec measures one 1024×1024 matrix-vector product per type
// (go test -bench MatVec ./tensor/).
func BenchmarkMatVec(b *testing.B) {
	const rows, cols = 1024, 1024
	rng := rand.New(rand.NewPCG(9, 9))
	wf := randRow(rng, rows*cols)
	x := randRow(rng, cols)
	y := make([]float32, rows)
	for _, typ := range matTypes {
		size, _ := typ.RowSize(rows * cols)
		w := make([]byte, size)
		if err := Quantize(typ, wf, w); err != nil {
			b.Fatal(err)
		}
		b.Run(typ.String(), func(b *testing.B) {
			b.SetBytes(size)
			for b.Loop() {
				MatVec(typ, w, rows, cols, x, y)
			}
		})
	}
}
