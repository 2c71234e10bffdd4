package gguf

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golem/tensor"
)

// raw assembles a little-endian byte string: integers are written at their
// own width, strings as a uint64 length and the bytes, []byte verbatim.
func raw(parts ...any) []byte {
	var b bytes.Buffer
	for _, p := range parts {
		switch v := p.(type) {
		case string:
			binary.Write(&b, binary.LittleEndian, uint64(len(v)))
			b.WriteString(v)
		case []byte:
			b.Write(v)
		default:
			if err := binary.Write(&b, binary.LittleEndian, v); err != nil {
				panic(err)
			}
		}
	}
	return b.Bytes()
}

// hdr is a v3 header: magic, version, tensor count, KV count.
func hdr(nTensors, nKV uint64) []byte {
	return raw([]byte("GGUF"), uint32(3), nTensors, nKV)
}

// tinfo is one v3 tensor directory entry.
func tinfo(name string, dims []uint64, typ uint32, off uint64) []byte {
	parts := []any{name, uint32(len(dims))}
	for _, d := range dims {
		parts = append(parts, d)
	}
	parts = append(parts, typ, off)
	return raw(parts...)
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// nested returns the encoding of depth arrays nested in one another, the
// innermost an empty uint8 array.
func nested(depth int) []byte {
	var b []byte
	for range depth - 1 {
		b = append(b, raw(uint32(TypeArray), uint64(1))...)
	}
	return append(b, raw(uint32(TypeUint8), uint64(0))...)
}

func TestHostile(t *testing.T) {
	const huge = uint64(1) << 63
	data32 := make([]byte, 32)
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not a GGUF file"},
		{"short magic", []byte("GG"), "not a GGUF file"},
		{"wrong magic", raw([]byte("GGML"), uint32(3), uint64(0), uint64(0)), "magic"},
		{"version 0", raw([]byte("GGUF"), uint32(0), uint64(0), uint64(0)), "unsupported GGUF version 0"},
		{"version 4", raw([]byte("GGUF"), uint32(4), uint64(0), uint64(0)), "unsupported GGUF version 4"},
		{"big-endian version", raw([]byte("GGUF"), uint32(3<<24), uint64(0), uint64(0)), "unsupported GGUF version"},
		{"huge tensor count", hdr(huge, 0), "tensor count"},
		{"max tensor count", hdr(math.MaxUint64, 0), "tensor count"},
		{"huge KV count", hdr(0, huge), "metadata count"},
		{"huge key length", cat(hdr(0, 1), raw(huge), make([]byte, 16)), "string length count"},
		{"huge string value", cat(hdr(0, 1), raw("k", uint32(TypeString), huge)), "string length count"},
		{"huge array", cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(TypeUint8), huge)), "array element count"},
		{"huge string array", cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(TypeString), huge/4)), "array element count"},
		{"huge nested array", cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(TypeArray), huge/8)), "array element count"},
		{"string array with huge string", cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(TypeString), uint64(1), huge)), "string length count"},
		{"unknown value type", cat(hdr(0, 1), raw("k", uint32(13), uint32(0))), "unknown metadata value type 13"},
		{"unknown array type", cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(200), uint64(0))), "array of unknown value type 200"},
		{"deep nesting", cat(hdr(0, 1), raw("k", uint32(TypeArray)), nested(maxArrayDepth+1)), "nested deeper"},
		{"bool 2", cat(hdr(0, 1), raw("k", uint32(TypeBool), uint8(2))), "neither 0 nor 1"},
		{"duplicate key", cat(hdr(0, 2), raw("k", uint32(TypeUint8), uint8(1), "k", uint32(TypeUint8), uint8(2))), "duplicate metadata key"},
		{"alignment 48", cat(hdr(0, 1), raw("general.alignment", uint32(TypeUint32), uint32(48))), "general.alignment"},
		{"alignment 0", cat(hdr(0, 1), raw("general.alignment", uint32(TypeUint32), uint32(0))), "general.alignment"},
		{"alignment string", cat(hdr(0, 1), raw("general.alignment", uint32(TypeString), "32")), "general.alignment"},
		{"alignment negative", cat(hdr(0, 1), raw("general.alignment", uint32(TypeInt32), int32(-32))), "general.alignment"},
		{"5 dims", cat(hdr(1, 0), tinfo("t", []uint64{1, 1, 1, 1, 1}, 0, 0), data32), "5 dimensions"},
		{"dims overflow", cat(hdr(1, 0), tinfo("t", []uint64{1 << 32, 1 << 32, 1 << 32}, 0, 0), data32), "impossible dimension"},
		{"dim 2^63", cat(hdr(1, 0), tinfo("t", []uint64{huge}, 0, 0), data32), "impossible dimension"},
		{"bytes overflow", cat(hdr(1, 0), tinfo("t", []uint64{1 << 31, 1 << 31}, 0, 0), data32), "impossible dimension"},
		{"unknown tensor type", cat(hdr(1, 0), tinfo("t", []uint64{4}, 99, 0), data32), "unknown type 99"},
		{"partial block", cat(hdr(1, 0), tinfo("t", []uint64{31}, uint32(tensor.Q4_0), 0), data32), "block size"},
		{"0-dim quantized", cat(hdr(1, 0), tinfo("t", nil, uint32(tensor.Q4_0), 0), data32), "block size"},
		{"misaligned offset", cat(hdr(1, 0), tinfo("t", []uint64{1}, 0, 4), data32), "not aligned"},
		{"offset past end", cat(hdr(1, 0), tinfo("t", []uint64{1}, 0, 1<<40), data32), "past the end"},
		{"offset 2^64-32", cat(hdr(1, 0), tinfo("t", []uint64{1}, 0, math.MaxUint64-31), data32), "past the end"},
		{"data past end", cat(hdr(1, 0), tinfo("t", []uint64{64}, 0, 0), data32), "past the end"},
		{"no data section", cat(hdr(1, 0), tinfo("t", []uint64{1}, 0, 0)), "truncated"},
		{"duplicate tensor", cat(hdr(2, 0), tinfo("t", []uint64{1}, 0, 0), tinfo("t", []uint64{1}, 0, 32), data32, data32), "duplicate tensor"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("hostile.gguf", tc.data)
			if err == nil {
				t.Fatalf("parsed without error: %d tensors, %d KVs", len(f.Tensors), len(f.KV))
			}
			msg := err.Error()
			if !strings.Contains(msg, "hostile.gguf") {
				t.Errorf("error %q does not name the file", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not mention %q", msg, tc.want)
			}
		})
	}
}

// TestAcceptsEdgeCases checks inputs that look odd but are valid GGUF.
func TestAcceptsEdgeCases(t *testing.T) {
	cases := []struct {
		name string
		data []byte
	}{
		{"empty file", hdr(0, 0)},
		{"minimal v1 KV", raw([]byte("GGUF"), uint32(1), uint32(0), uint32(1), uint32(0), uint32(TypeUint8), uint8(7))},
		{"minimal v1 nested array", raw([]byte("GGUF"), uint32(1), uint32(0), uint32(1), uint32(0), uint32(TypeArray),
			uint32(TypeArray), uint32(1), uint32(TypeUint8), uint32(0))},
		{"nesting at the limit", cat(hdr(0, 1), raw("k", uint32(TypeArray)), nested(maxArrayDepth))},
		{"zero-element tensor", cat(hdr(1, 0), tinfo("t", []uint64{0, 7}, uint32(tensor.Q4_K), 0), make([]byte, 32))},
		{"0-dim F32 scalar", cat(hdr(1, 0), tinfo("t", nil, 0, 0), make([]byte, 32))},
		{"v1 file", cat(raw([]byte("GGUF"), uint32(1), uint32(1), uint32(1), uint32(1), []byte("k"), uint32(TypeString), uint32(2), []byte("ab"),
			uint32(1), []byte("t"), uint32(1), uint32(2), uint32(0), uint64(0)), make([]byte, 64))},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, err := Parse("edge.gguf", tc.data)
			if err != nil {
				t.Fatal(err)
			}
			for i := range f.Tensors {
				if got := int64(len(f.TensorData(&f.Tensors[i]))); got != f.Tensors[i].Size {
					t.Errorf("tensor %q: %d bytes, want %d", f.Tensors[i].Name, got, f.Tensors[i].Size)
				}
			}
		})
	}
}

// smallValidFile is a short file that exercises every part of the format.
func smallValidFile(t testing.TB) []byte {
	return buildFile(t, 3, []KV{
		{"general.architecture", "llama"},
		{"u32", uint32(7)},
		{"f64", 2.5},
		{"toks", Array{TypeString, []string{"a", "bc"}}},
		{"nest", Array{TypeArray, []Array{{TypeInt8, []int8{-1}}}}},
		{"b", true},
	}, []testTensor{
		{"a", []int64{3}, tensor.F32},
		{"b", []int64{32, 1}, tensor.Q8_0},
		{"c", []int64{8}, tensor.F32},
	})
}

// TestTruncation parses every prefix of a small valid file: each one short
// of the last tensor's end must fail cleanly (never panic), and the error
// must name the file.
func TestTruncation(t *testing.T) {
	data := smallValidFile(t)
	full, err := Parse("full", data)
	if err != nil {
		t.Fatal(err)
	}
	last := full.Tensors[len(full.Tensors)-1]
	need := full.DataOffset + int64(last.Offset) + last.Size
	for n := 0; n < len(data); n++ {
		// A fresh copy so that reads past n would be caught by the race
		// detector or the bounds checks, not satisfied by leftover bytes.
		prefix := append([]byte(nil), data[:n]...)
		f, err := Parse("trunc.gguf", prefix)
		if int64(n) < need {
			if err == nil {
				t.Fatalf("prefix of %d bytes (of %d) parsed", n, len(data))
			}
			if !strings.Contains(err.Error(), "trunc.gguf") {
				t.Fatalf("prefix %d: error %q does not name the file", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("prefix of %d bytes holds all tensor data but failed: %v", n, err)
		}
		for i := range f.Tensors {
			f.TensorData(&f.Tensors[i])
		}
	}
}

// TestHostileAllocation checks that a count that passes the bytes-left test
// but describes elements that are bigger in memory than on disk does not
// make the parser allocate far more than the input's size.
func TestHostileAllocation(t *testing.T) {
	const n = 1 << 22
	// n/8 string-array elements are claimed; the file has room for that
	// many minimal strings, but the first one is a lie. Allocating all the
	// string headers up front would cost 2n bytes.
	data := cat(hdr(0, 1), raw("k", uint32(TypeArray), uint32(TypeString), uint64(n/8), uint64(math.MaxUint32)), make([]byte, n))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := Parse("alloc.gguf", data); err == nil {
		t.Fatal("parsed")
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > n {
		t.Errorf("parsing a %d-byte hostile file allocated %d bytes", len(data), got)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.gguf")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "bad.gguf")
	if err := os.WriteFile(bad, smallValidFile(t)[:40], 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{filepath.Join(dir, "missing.gguf"), dir, empty, bad} {
		f, err := Open(path)
		if err == nil {
			f.Close()
			t.Errorf("Open(%s) succeeded", path)
			continue
		}
		if !strings.Contains(err.Error(), path) {
			t.Errorf("Open(%s) error %q does not name the file", path, err)
		}
	}
	// TensorData after Close, or for a foreign TensorInfo, returns nil.
	good := filepath.Join(dir, "good.gguf")
	os.WriteFile(good, smallValidFile(t), 0o644)
	f, err := Open(good)
	if err != nil {
		t.Fatal(err)
	}
	foreign := TensorInfo{Name: "x", Offset: 1 << 40, Size: 4}
	if f.TensorData(&foreign) != nil {
		t.Error("TensorData of an out-of-range tensor is not nil")
	}
	ti := f.Tensors[0]
	f.Close()
	if f.TensorData(&ti) != nil {
		t.Error("TensorData after Close is not nil")
	}
}
