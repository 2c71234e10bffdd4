package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"golem/tensor"
)

// allValueKVs returns one metadata entry of every GGUF value type, arrays of
// every element type (empty ones included) and nested arrays.
func allValueKVs() []KV {
	return []KV{
		{"u8", uint8(200)},
		{"i8", int8(-100)},
		{"u16", uint16(60000)},
		{"i16", int16(-30000)},
		{"u32", uint32(4000000000)},
		{"i32", int32(-2000000000)},
		{"f32", float32(3.25)},
		{"f32.inf", float32(math.Inf(-1))},
		{"bool.t", true},
		{"bool.f", false},
		{"str", "héllo\x00world"},
		{"str.empty", ""},
		{"u64", uint64(math.MaxUint64)},
		{"i64", int64(math.MinInt64)},
		{"f64", 1.0 / 3},
		{"arr.u8", Array{TypeUint8, []uint8{0, 1, 255}}},
		{"arr.i8", Array{TypeInt8, []int8{-128, 0, 127}}},
		{"arr.u16", Array{TypeUint16, []uint16{1, 65535}}},
		{"arr.i16", Array{TypeInt16, []int16{-32768, 32767}}},
		{"arr.u32", Array{TypeUint32, []uint32{7, math.MaxUint32}}},
		{"arr.i32", Array{TypeInt32, []int32{-1, 2, -3}}},
		{"arr.f32", Array{TypeFloat32, []float32{0.5, -1e30, 1e-30}}},
		{"arr.bool", Array{TypeBool, []bool{true, false, true}}},
		{"arr.str", Array{TypeString, []string{"a", "", "<|endoftext|>", "ü"}}},
		{"arr.u64", Array{TypeUint64, []uint64{0, math.MaxUint64}}},
		{"arr.i64", Array{TypeInt64, []int64{math.MinInt64, math.MaxInt64}}},
		{"arr.f64", Array{TypeFloat64, []float64{math.Pi, -0.25}}},
		{"arr.empty.u8", Array{TypeUint8, []uint8{}}},
		{"arr.empty.str", Array{TypeString, []string{}}},
		{"arr.empty.arr", Array{TypeArray, []Array{}}},
		{"arr.nested", Array{TypeArray, []Array{
			{TypeInt32, []int32{1, 2}},
			{TypeString, []string{"x"}},
			{TypeArray, []Array{{TypeFloat64, []float64{}}, {TypeBool, []bool{true}}}},
			{TypeUint8, []uint8{}},
		}}},
	}
}

// testTensor is a tensor to add to a test file.
type testTensor struct {
	name  string
	shape []int64
	typ   tensor.Type
}

// fill returns deterministic, non-zero bytes for a tensor.
func fill(n int64, seed byte) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*31) ^ seed
	}
	return b
}

// buildFile writes a GGUF with the given version, metadata and tensors and
// returns its bytes.
func buildFile(t testing.TB, version uint32, kvs []KV, tensors []testTensor) []byte {
	t.Helper()
	w := NewWriter()
	w.Version = version
	for _, kv := range kvs {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatalf("Set(%q): %v", kv.Key, err)
		}
	}
	for i, tt := range tensors {
		ti, err := newTensorInfo(tt.name, tt.shape, tt.typ)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.AddTensor(tt.name, tt.shape, tt.typ, fill(ti.Size, byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	n, err := w.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

func TestRoundTrip(t *testing.T) {
	tensors := []testTensor{
		{"tok_embd.weight", []int64{8, 3}, tensor.F32},
		{"blk.0.attn_q.weight", []int64{64, 2}, tensor.Q4_0},
		{"blk.0.ffn.weight", []int64{256, 1}, tensor.Q4_K},
		{"norm", []int64{5}, tensor.F16},
		{"cube", []int64{2, 3, 4, 5}, tensor.BF16},
		{"empty", []int64{0, 4}, tensor.F32},
	}
	cases := []struct {
		name    string
		version uint32
		align   any // general.alignment value, nil for the default
		kvs     []KV
		tensors []testTensor
	}{
		{"v3 all types", 3, nil, allValueKVs(), tensors},
		{"v2 all types", 2, nil, allValueKVs(), tensors},
		{"v1 all types", 1, nil, allValueKVs(), tensors},
		{"v3 align 64", 3, uint32(64), allValueKVs(), tensors},
		{"v3 align 1", 3, uint32(1), allValueKVs(), tensors},
		{"v3 align 4096 u64", 3, uint64(4096), nil, tensors},
		{"v3 metadata only", 3, nil, allValueKVs(), nil},
		{"v3 tensors only", 3, nil, nil, tensors},
		{"v3 empty", 3, nil, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			kvs := tc.kvs
			if tc.align != nil {
				kvs = append([]KV{{"general.alignment", tc.align}}, kvs...)
			}
			data := buildFile(t, tc.version, kvs, tc.tensors)
			f, err := Parse("rt.gguf", data)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if f.Version != tc.version {
				t.Errorf("version %d, want %d", f.Version, tc.version)
			}
			wantAlign := int64(DefaultAlignment)
			if tc.align != nil {
				wantAlign, _ = alignmentOf(tc.align)
			}
			if f.Alignment != wantAlign {
				t.Errorf("alignment %d, want %d", f.Alignment, wantAlign)
			}
			if len(f.KV) != len(kvs) {
				t.Fatalf("%d KVs, want %d", len(f.KV), len(kvs))
			}
			for i, kv := range kvs {
				if f.KV[i].Key != kv.Key {
					t.Errorf("KV %d key %q, want %q (order must be kept)", i, f.KV[i].Key, kv.Key)
				}
				if !reflect.DeepEqual(f.KV[i].Value, kv.Value) {
					t.Errorf("KV %q = %#v, want %#v", kv.Key, f.KV[i].Value, kv.Value)
				}
			}
			if f.DataOffset%wantAlign != 0 {
				t.Errorf("data offset %d not aligned to %d", f.DataOffset, wantAlign)
			}
			if len(f.Tensors) != len(tc.tensors) {
				t.Fatalf("%d tensors, want %d", len(f.Tensors), len(tc.tensors))
			}
			for i, tt := range tc.tensors {
				got := &f.Tensors[i]
				if got.Name != tt.name || got.Type != tt.typ || !reflect.DeepEqual(got.Shape, tt.shape) {
					t.Errorf("tensor %d = %s %v %v, want %s %v %v", i, got.Name, got.Type, got.Shape, tt.name, tt.typ, tt.shape)
				}
				if int64(got.Offset)%wantAlign != 0 {
					t.Errorf("tensor %q offset %d not aligned to %d", got.Name, got.Offset, wantAlign)
				}
				if want := fill(got.Size, byte(i)); !bytes.Equal(f.TensorData(got), want) {
					t.Errorf("tensor %q data differs", got.Name)
				}
			}
			if len(tc.tensors) > 0 && int64(len(data))%wantAlign != 0 {
				t.Errorf("file length %d is not padded to %d", len(data), wantAlign)
			}
			// Copying the parsed file through FromFile reproduces it exactly.
			var again bytes.Buffer
			if _, err := FromFile(f).WriteTo(&again); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), data) {
				t.Errorf("FromFile rewrite differs from the original (%d vs %d bytes)", again.Len(), len(data))
			}
		})
	}
}

// TestKnownLayout checks the writer's bytes against a header assembled by
// hand from the GGUF specification.
func TestKnownLayout(t *testing.T) {
	w := NewWriter()
	if err := w.Set("general.architecture", "llama"); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("a", []int64{2}, tensor.F32, []byte{1, 2, 3, 4, 5, 6, 7, 8}); err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := w.WriteTo(&got); err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	le := func(v any) { binary.Write(&want, binary.LittleEndian, v) }
	want.WriteString("GGUF")
	le(uint32(3))
	le(uint64(1)) // tensors
	le(uint64(1)) // kvs
	le(uint64(20))
	want.WriteString("general.architecture")
	le(uint32(TypeString))
	le(uint64(5))
	want.WriteString("llama")
	le(uint64(1))
	want.WriteString("a")
	le(uint32(1))
	le(uint64(2))
	le(uint32(tensor.F32))
	le(uint64(0))
	for want.Len()%32 != 0 {
		want.WriteByte(0)
	}
	want.Write([]byte{1, 2, 3, 4, 5, 6, 7, 8})
	for want.Len()%32 != 0 {
		want.WriteByte(0)
	}
	if !bytes.Equal(got.Bytes(), want.Bytes()) {
		t.Errorf("layout differs:\n got %x\nwant %x", got.Bytes(), want.Bytes())
	}
}

func TestWriterEdits(t *testing.T) {
	w := NewWriter()
	for _, kv := range []KV{{"a", uint32(1)}, {"b", "two"}, {"c", []string{"x", "y"}}} {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			t.Fatal(err)
		}
	}
	// Overwriting keeps the position; the type may change.
	if err := w.Set("a", int64(-5)); err != nil {
		t.Fatal(err)
	}
	if !w.Delete("b") || w.Delete("b") {
		t.Fatal("Delete should report presence once")
	}
	if err := w.Set("d", 1.5); err != nil {
		t.Fatal(err)
	}
	keys := []string{}
	for _, kv := range w.KV() {
		keys = append(keys, kv.Key)
	}
	if got := strings.Join(keys, ","); got != "a,c,d" {
		t.Errorf("key order %s, want a,c,d", got)
	}
	if v, _ := w.Get("c"); !reflect.DeepEqual(v, Array{TypeString, []string{"x", "y"}}) {
		t.Errorf("[]string not wrapped in an Array: %#v", v)
	}

	f32 := func(n int) []byte { return make([]byte, 4*n) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.AddTensor("t0", []int64{4}, tensor.F32, f32(4)))
	must(w.AddTensor("t1", []int64{4}, tensor.F32, f32(4)))
	must(w.AddTensor("t2", []int64{4}, tensor.F32, f32(4)))
	must(w.ReplaceTensor("t1", []int64{32, 2}, tensor.Q8_0, make([]byte, 68)))
	if !w.RemoveTensor("t0") || w.RemoveTensor("t0") {
		t.Fatal("RemoveTensor should report presence once")
	}
	must(w.AddTensorFunc("t3", []int64{3}, tensor.F32, func(out io.Writer) error {
		_, err := out.Write([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
		return err
	}))
	var buf bytes.Buffer
	if _, err := w.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := Parse("edit.gguf", buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, ti := range f.Tensors {
		names = append(names, ti.Name)
	}
	if got := strings.Join(names, ","); got != "t1,t2,t3" {
		t.Errorf("tensor order %s, want t1,t2,t3", got)
	}
	if ti, _ := f.Tensor("t1"); ti.Type != tensor.Q8_0 || ti.Size != 68 {
		t.Errorf("replaced tensor is %s of %d bytes", ti.Type, ti.Size)
	}
	if ti, _ := f.Tensor("t3"); !bytes.Equal(f.TensorData(ti), []byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}) {
		t.Errorf("streamed tensor data wrong: %v", f.TensorData(ti))
	}
	if v, _ := f.Int("a"); v != -5 {
		t.Errorf("a = %d, want -5", v)
	}
}

func TestWriterRejects(t *testing.T) {
	deep := Array{TypeInt32, []int32{1}}
	for range maxArrayDepth {
		deep = Array{TypeArray, []Array{deep}}
	}
	setCases := []struct {
		key   string
		value any
		want  string
	}{
		{"", uint32(1), "key is empty"},
		{"k", 1, "sized type"},
		{"k", nil, "nil value"},
		{"k", []int{1}, "sized type"},
		{"k", Array{TypeUint8, []int32{1}}, "declares element type"},
		{"k", Array{TypeUint8, map[int]int{}}, "not supported"},
		{"k", Array{ValueType(99), nil}, "unknown value type"},
		{"k", deep, "nested deeper"},
		{"general.alignment", uint32(48), "power of two"},
		{"general.alignment", int32(32), "power of two"},
		{"general.alignment", uint32(0), "power of two"},
	}
	for _, tc := range setCases {
		err := NewWriter().Set(tc.key, tc.value)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Set(%q, %#v) = %v, want error containing %q", tc.key, tc.value, err, tc.want)
		}
	}

	tensorCases := []struct {
		name  string
		shape []int64
		typ   tensor.Type
		data  int
		want  string
	}{
		{"", []int64{1}, tensor.F32, 4, "name is empty"},
		{strings.Repeat("x", 64), []int64{1}, tensor.F32, 4, "at most 63"},
		{"t", []int64{1}, tensor.Type(99), 4, "unknown type"},
		{"t", nil, tensor.F32, 4, "dimensions"},
		{"t", []int64{1, 1, 1, 1, 1}, tensor.F32, 4, "dimensions"},
		{"t", []int64{-1}, tensor.F32, 4, "impossible shape"},
		{"t", []int64{1 << 40, 1 << 40}, tensor.F32, 4, "impossible shape"},
		{"t", []int64{31}, tensor.Q4_0, 18, "block size"},
		{"t", []int64{2}, tensor.F32, 4, "want 8"},
	}
	for _, tc := range tensorCases {
		err := NewWriter().AddTensor(tc.name, tc.shape, tc.typ, make([]byte, tc.data))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("AddTensor(%q, %v, %s) = %v, want error containing %q", tc.name, tc.shape, tc.typ, err, tc.want)
		}
	}

	w := NewWriter()
	if err := w.AddTensor("t", []int64{1}, tensor.F32, make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if err := w.AddTensor("t", []int64{1}, tensor.F32, make([]byte, 4)); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Errorf("duplicate tensor: %v", err)
	}
	if err := w.ReplaceTensor("nope", []int64{1}, tensor.F32, make([]byte, 4)); err == nil {
		t.Error("ReplaceTensor of a missing tensor succeeded")
	}

	// Streamed tensors must write exactly their size.
	for _, n := range []int{3, 5} {
		w := NewWriter()
		w.AddTensorFunc("s", []int64{1}, tensor.F32, func(out io.Writer) error {
			_, err := out.Write(make([]byte, n))
			return err
		})
		if _, err := w.WriteTo(io.Discard); err == nil {
			t.Errorf("streamed tensor writing %d of 4 bytes was accepted", n)
		}
	}
	// Errors from the stream are passed on with the tensor's name.
	boom := errors.New("boom")
	w = NewWriter()
	w.AddTensorFunc("s", []int64{1}, tensor.F32, func(io.Writer) error { return boom })
	if _, err := w.WriteTo(io.Discard); !errors.Is(err, boom) || !strings.Contains(err.Error(), `"s"`) {
		t.Errorf("stream error = %v", err)
	}
	w = NewWriter()
	w.Version = 4
	if _, err := w.WriteTo(io.Discard); err == nil {
		t.Error("version 4 was written")
	}
}

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "m.gguf")
	if err := os.WriteFile(path, []byte("old contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	w := NewWriter()
	w.Set("general.architecture", "llama")
	w.AddTensor("t", []int64{4}, tensor.F32, fill(16, 7))
	if err := w.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Architecture() != "llama" || !bytes.Equal(f.TensorData(&f.Tensors[0]), fill(16, 7)) {
		t.Error("written file does not read back")
	}
	// Rewriting the file that is open (and mapped) must leave the mapping
	// intact and replace the file.
	w2 := FromFile(f)
	w2.Set("general.name", "copy")
	if err := w2.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	g, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	if s, _ := g.String("general.name"); s != "copy" || !bytes.Equal(g.TensorData(&g.Tensors[0]), fill(16, 7)) {
		t.Error("rewrite over the open source file lost data")
	}
	// A failed write leaves the old file and no temporary behind.
	bad := NewWriter()
	bad.AddTensorFunc("s", []int64{1}, tensor.F32, func(io.Writer) error { return errors.New("fail") })
	if err := bad.WriteFile(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("failed WriteFile error %v should name the path", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries after a failed write, want 1", len(entries))
	}
	if h, err := Open(path); err != nil {
		t.Errorf("old file damaged by a failed write: %v", err)
	} else {
		h.Close()
	}
	if err := w.WriteFile(filepath.Join(dir, "missing", "x.gguf")); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}
