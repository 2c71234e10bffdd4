//go:build amd64

package tensor

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
)

// TestRepackGatherMatchesGo checks that the assembly (gather) repacking of
// each type writes the same bytes as the Go repacking, for every row count
// of a group, including the zero padding of missing rows.
func TestRepackGatherMatchesGo(t *testing.T) {
	if !hasGEMM {
		t.Skip("no AVX-512 VNNI")
	}
	cases := []struct {
		typ        Type
		tile       int
		fast, slow func(dst, w []byte, rowBytes, rows, nb int)
	}{
		{Q4_0, 288, gatherRepack(repackQ4_0Gather, 288, 18, repackQ4_0), repackQ4_0},
		{Q8_0, u8Tile, gatherRepack(repackQ8_0Gather, u8Tile, 34, repackQ8_0), repackQ8_0},
		{Q5_0, u8Tile, gatherRepack(repackQ5_0Gather, u8Tile, 22, repackQ5_0), repackQ5_0},
		{Q4_K, q4KTile, gatherRepack(repackQ4_KGather, q4KTile, 144, repackQ4_K), repackQ4_K},
		{Q6_K, q6KTile, gatherRepack(repackQ6_KGather, q6KTile, 210, repackQ6_K), repackQ6_K},
	}
	for _, c := range cases {
		const nb = 3
		rowBytes := nb * c.typ.TypeSize()
		rng := rand.New(rand.NewPCG(4, uint64(c.typ)))
		w := simdWeightRow(rng, c.typ, gemmRows*nb, modeRandom)
		for rows := 1; rows <= gemmRows; rows++ {
			t.Run(fmt.Sprintf("%s/%d", c.typ, rows), func(t *testing.T) {
				// Only rows·rowBytes bytes: a gather past them would fault
				// or be caught by the bounds check.
				src := bytes.Clone(w[:rows*rowBytes])
				got, want := make([]byte, nb*c.tile), make([]byte, nb*c.tile)
				for i := range got {
					got[i], want[i] = 0xee, 0xee // repacking must overwrite all
				}
				c.fast(got, src, rowBytes, rows, nb)
				c.slow(want, src, rowBytes, rows, nb)
				if !bytes.Equal(got, want) {
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("first difference at byte %d of %d: %#x, Go %#x", i, len(got), got[i], want[i])
						}
					}
				}
			})
		}
	}
}
