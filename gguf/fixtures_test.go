package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"golem/internal/fixtures"
	"golem/tensor"
)

// fixtureGGUFs lists every GGUF under the fixture directories.
func fixtureGGUFs(t *testing.T) []string {
	t.Helper()
	var paths []string
	for _, dir := range []string{"models", "models/tiny", "models/quant", "vocab"} {
		d := fixtures.Path(t, dir)
		m, err := filepath.Glob(filepath.Join(d, "*.gguf"))
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatalf("no GGUF files in fixture directory %s", dir)
		}
		paths = append(paths, m...)
	}
	return paths
}

// TestFixtures opens every fixture GGUF, checks that each tensor's data lies
// inside the file, aligned and laid out as llama.cpp requires (contiguous in
// directory order, each padded to the alignment), and that copying the file
// through the writer reproduces it byte for byte.
func TestFixtures(t *testing.T) {
	paths := fixtureGGUFs(t)
	if len(paths) < 40 {
		t.Errorf("found %d fixture GGUFs, expected at least 40", len(paths))
	}
	for _, path := range paths {
		rel, _ := filepath.Rel(fixtures.Root(), path)
		t.Run(rel, func(t *testing.T) {
			f, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			st, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if f.Version != 3 {
				t.Errorf("version %d", f.Version)
			}
			if f.DataOffset%f.Alignment != 0 {
				t.Errorf("data offset %d not aligned to %d", f.DataOffset, f.Alignment)
			}
			var next uint64
			for i := range f.Tensors {
				ti := &f.Tensors[i]
				end := f.DataOffset + int64(ti.Offset) + ti.Size
				if end > st.Size() {
					t.Errorf("tensor %q ends at %d, past the file's %d bytes", ti.Name, end, st.Size())
				}
				if got := int64(len(f.TensorData(ti))); got != ti.Size {
					t.Errorf("tensor %q: %d data bytes, want %d", ti.Name, got, ti.Size)
				}
				if want, _ := ti.Type.RowSize(ti.Elements()); want != ti.Size {
					t.Errorf("tensor %q: size %d, want %d", ti.Name, ti.Size, want)
				}
				if ti.Offset != next {
					t.Errorf("tensor %q at data offset %d, llama.cpp expects %d", ti.Name, ti.Offset, next)
				}
				next = uint64(padTo(int64(ti.Offset)+ti.Size, f.Alignment))
			}
			if rel == filepath.FromSlash("models/stories260K.gguf") {
				checkStories(t, f)
			}

			var buf bytes.Buffer
			if _, err := FromFile(f).WriteTo(&buf); err != nil {
				t.Fatal(err)
			}
			got, orig := buf.Bytes(), f.Bytes()
			if len(f.Tensors) == 0 && len(got) == int(padTo(int64(len(orig)), f.Alignment)) && len(got) >= len(orig) {
				// gguf-py ends a tensor-less (vocab-only) file right after
				// the header; the writer, like llama.cpp's gguf_write,
				// always pads to the alignment. Compare up to the padding.
				if !bytes.Equal(got[len(orig):], make([]byte, len(got)-len(orig))) {
					t.Error("padding after the header is not zero")
				}
				got = got[:len(orig)]
			}
			if !bytes.Equal(got, orig) {
				t.Errorf("rewrite via the writer is not byte-identical (%d vs %d bytes)", buf.Len(), len(f.Bytes()))
				g, err := Parse("rewrite", buf.Bytes())
				if err != nil {
					t.Fatalf("rewrite does not parse: %v", err)
				}
				if !reflect.DeepEqual(g.KV, f.KV) {
					t.Error("rewrite has different metadata")
				}
			}
		})
	}
}

// checkStories asserts facts about stories260K.gguf: a llama with a
// 512-token vocabulary whose parameter count follows from its
// hyperparameters.
func checkStories(t *testing.T, f *File) {
	t.Helper()
	if f.Architecture() != "llama" {
		t.Errorf("architecture %q", f.Architecture())
	}
	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(toks) != 512 {
		t.Errorf("vocabulary of %d tokens, want 512", len(toks))
	}
	emb, ok := f.Tensor("token_embd.weight")
	if !ok || emb.Type != tensor.F32 || !reflect.DeepEqual(emb.Shape, []int64{64, 512}) {
		t.Errorf("token_embd.weight = %+v", emb)
	}
	get := func(k string) int64 {
		v, ok := f.Int("llama." + k)
		if !ok {
			t.Fatalf("llama.%s missing", k)
		}
		return v
	}
	d, ff, layers := get("embedding_length"), get("feed_forward_length"), get("block_count")
	kvDim := d / get("attention.head_count") * get("attention.head_count_kv")
	vocab := int64(len(toks))
	// Per layer: q and o (d×d), k and v (d×kvDim), three FFN matrices, two
	// norms; plus token embedding, output norm and output matrix.
	want := layers*(2*d*d+2*d*kvDim+3*d*ff+2*d) + vocab*d + d + vocab*d
	if n := f.ParameterCount(); n != want {
		t.Errorf("ParameterCount = %d, want %d", n, want)
	}
	if got := FormatParamCount(f.ParameterCount()); got != "293K" {
		t.Errorf("FormatParamCount = %q, want 293K", got)
	}
	if got := f.FileType(); got != "" {
		t.Errorf("FileType = %q; stories260K.gguf has no general.file_type", got)
	}
}
