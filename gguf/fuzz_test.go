package gguf

import (
	"os"
	"testing"

	"golem/internal/fixtures"
	"golem/tensor"
)

// FuzzParse feeds arbitrary bytes to Parse. Parse must never panic, and on
// success every tensor's data must be retrievable, the right length, and
// the metadata accessors must be safe to call.
//
// Seeds: small files built with the writer (every value type, each
// version, custom alignment) and the header of a real vocabulary file.
func FuzzParse(f *testing.F) {
	f.Add(smallValidFile(f))
	for _, v := range []uint32{1, 2, 3} {
		f.Add(buildFile(f, v, allValueKVs()[:16], []testTensor{{"t", []int64{4, 2}, tensor.F16}}))
	}
	f.Add(buildFile(f, 3, []KV{{"general.alignment", uint32(8)}, {"a", Array{TypeArray, []Array{{TypeString, []string{"x"}}}}}},
		[]testTensor{{"q", []int64{256}, tensor.Q4_K}, {"r", []int64{1}, tensor.F32}}))
	f.Add(hdr(0, 0))
	if data, err := os.ReadFile(fixtures.Path(f, "vocab/ggml-vocab-llama-spm.gguf")); err == nil && len(data) > 4096 {
		f.Add(data[:4096])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse("fuzz.gguf", data)
		if err != nil {
			return
		}
		for i := range g.Tensors {
			ti := &g.Tensors[i]
			if got := int64(len(g.TensorData(ti))); got != ti.Size {
				t.Fatalf("tensor %q: %d data bytes, want %d", ti.Name, got, ti.Size)
			}
			if ti.Elements() < 0 {
				t.Fatalf("tensor %q: negative element count", ti.Name)
			}
		}
		for _, kv := range g.KV {
			g.Get(kv.Key)
			g.Int(kv.Key)
			g.Float(kv.Key)
			g.Strings(kv.Key)
		}
		g.ParameterCount()
		g.FileType()
		g.Architecture()
	})
}
