package model

import (
	"fmt"
	"os"
	"slices"
	"testing"

	"golem/gguf"
)

// TestForwardBatchMatchesForward decodes several sequences together and
// checks every row against the same sequence decoded alone with Forward:
// the logits must be bit-identical, whatever the sequences' lengths, the
// batch's composition (sequences joining, leaving, reordered) or the
// architecture (GQA, q/k norms, fused QKV, sliding windows, soft-caps).
func TestForwardBatchMatchesForward(t *testing.T) {
	for _, rel := range []string{
		"models/stories260K.gguf",
		"models/tiny/gemma2-tiny.gguf", // sliding window 16, soft-capping
		"models/tiny/gemma3-tiny.gguf",
		"models/tiny/qwen3-tiny.gguf", // q/k norms
		"models/tiny/phi3-tiny.gguf",  // fused qkv and gate|up
	} {
		t.Run(rel, func(t *testing.T) {
			single := loadFixture(t, rel)
			batched := loadFixture(t, rel)
			bm, ok := batched.(BatchModel)
			if !ok {
				t.Fatalf("%T does not implement BatchModel", batched)
			}
			nv := single.Config().VocabSize
			tok := func(seq, i int) int32 { return int32(1 + (seq*131+i*37)%(nv-1)) }
			// Prompts of 1, 6 and 19 tokens: the last crosses gemma2's window.
			prompts := []int{1, 6, 19}
			const steps = 8
			ref := make([]*Cache, len(prompts))
			bc := make([]*Cache, len(prompts))
			for s, n := range prompts {
				ref[s], bc[s] = single.NewCache(n+steps+1), batched.NewCache(n+steps+1)
				p := make([]int32, n)
				for i := range p {
					p[i] = tok(s, i)
				}
				for _, c := range []*Cache{ref[s], bc[s]} {
					m := single
					if c == bc[s] {
						m = batched
					}
					if _, err := m.Forward(c, p, false); err != nil {
						t.Fatal(err)
					}
				}
			}
			for step := range steps {
				// Which sequences take part, in which order.
				var order []int
				switch step % 4 {
				case 0:
					order = []int{0, 1, 2}
				case 1:
					order = []int{2, 0, 1}
				case 2:
					order = []int{1}
				case 3:
					order = []int{2, 0}
				}
				caches := make([]*Cache, len(order))
				toks := make([]int32, len(order))
				for i, s := range order {
					caches[i], toks[i] = bc[s], tok(s, 100+ref[s].Len())
				}
				got, err := bm.ForwardBatch(caches, toks)
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != len(order)*nv {
					t.Fatalf("step %d: %d logits for %d sequences", step, len(got), len(order))
				}
				got = slices.Clone(got)
				for i, s := range order {
					want, err := single.Forward(ref[s], toks[i:i+1], false)
					if err != nil {
						t.Fatal(err)
					}
					if !slices.Equal(got[i*nv:(i+1)*nv], want) {
						t.Fatalf("step %d, sequence %d at position %d: batched logits differ from Forward", step, s, ref[s].Len()-1)
					}
					if bc[s].Len() != ref[s].Len() {
						t.Fatalf("step %d, sequence %d: cache length %d, want %d", step, s, bc[s].Len(), ref[s].Len())
					}
				}
			}
		})
	}
}

// TestForwardBatchErrors checks that bad batches are refused without
// touching any cache.
func TestForwardBatchErrors(t *testing.T) {
	m := loadFixture(t, "models/stories260K.gguf").(BatchModel)
	other := loadFixture(t, "models/tiny/llama-tiny.gguf")
	nv := int32(m.Config().VocabSize)
	a, b, full := m.NewCache(4), m.NewCache(4), m.NewCache(1)
	if _, err := m.Forward(full, []int32{1}, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		caches []*Cache
		toks   []int32
	}{
		{"empty", nil, nil},
		{"count mismatch", []*Cache{a, b}, []int32{1}},
		{"nil cache", []*Cache{a, nil}, []int32{1, 2}},
		{"shared cache", []*Cache{a, a}, []int32{1, 2}},
		{"full cache", []*Cache{a, full}, []int32{1, 2}},
		{"token out of range", []*Cache{a, b}, []int32{1, nv}},
		{"negative token", []*Cache{a, b}, []int32{-1, 1}},
		{"foreign cache", []*Cache{a, other.NewCache(4)}, []int32{1, 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := m.ForwardBatch(tc.caches, tc.toks); err == nil {
				t.Error("no error")
			}
			if a.Len() != 0 || b.Len() != 0 || full.Len() != 1 {
				t.Errorf("failed call changed caches: lengths %d %d %d", a.Len(), b.Len(), full.Len())
			}
		})
	}
}

// TestForwardBatchAllocs checks that a batched decode step allocates
// nothing once the buffers exist.
func TestForwardBatchAllocs(t *testing.T) {
	m := loadFixture(t, "models/tiny/llama-tiny.gguf").(BatchModel)
	caches := []*Cache{m.NewCache(8), m.NewCache(8), m.NewCache(8)}
	toks := []int32{5, 6, 7}
	if _, err := m.ForwardBatch(caches, toks); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(20, func() {
		for _, c := range caches {
			if err := c.Truncate(1); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := m.ForwardBatch(caches, toks); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%g allocations per batched step", allocs)
	}
}

// BenchmarkForwardBatch compares decoding n sequences one Forward at a
// time with one ForwardBatch step; ns/op is per step of n tokens. The
// model is GOLEM_BENCH_MODEL (a GGUF path) when set.
func BenchmarkForwardBatch(b *testing.B) {
	var m BatchModel
	if path := os.Getenv("GOLEM_BENCH_MODEL"); path != "" {
		f, err := gguf.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		mm, err := Load(f)
		if err != nil {
			b.Fatal(err)
		}
		m = mm.(BatchModel)
	} else {
		m = loadFixture(b, "models/quant/llama-q256-Q4_K_M.gguf").(BatchModel)
	}
	for _, n := range []int{1, 4} {
		caches := make([]*Cache, n)
		toks := make([]int32, n)
		for i := range caches {
			caches[i] = m.NewCache(64)
			toks[i] = int32(5 + i)
			if _, err := m.Forward(caches[i], []int32{1, 2, 3, 4}, false); err != nil {
				b.Fatal(err)
			}
		}
		reset := func() {
			for _, c := range caches {
				c.Truncate(4)
			}
		}
		b.Run(fmt.Sprintf("sequential%d", n), func(b *testing.B) {
			for b.Loop() {
				reset()
				for i, c := range caches {
					if _, err := m.Forward(c, toks[i:i+1], false); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
		b.Run(fmt.Sprintf("batch%d", n), func(b *testing.B) {
			for b.Loop() {
				reset()
				if _, err := m.ForwardBatch(caches, toks); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
