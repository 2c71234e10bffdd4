// Package gguf reads and writes GGUF files, the model format of llama.cpp
// and Ollama: a header, typed metadata key/values, a tensor directory and an
// aligned data section.
//
// Open memory-maps the file, so opening a multi-gigabyte model costs no copy;
// tensor data is handed out as slices of the mapping. Every count, size and
// offset read from the file is checked against the file's length before it
// is used, so a corrupt or hostile file gives an error, never a panic or a
// huge allocation.
package gguf

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"golem/tensor"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment when general.alignment is absent.
const DefaultAlignment = 32

// ValueType is the type tag of a metadata value.
type ValueType uint32

const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type(%d)", uint32(t))
}

// fixedSize is the encoded size of a scalar of type t (0 for string/array).
func (t ValueType) fixedSize() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// Array is a metadata array. Values holds a typed slice: []uint8, []int8,
// []uint16, []int16, []uint32, []int32, []float32, []bool, []string,
// []uint64, []int64, []float64, or []Array for nested arrays.
type Array struct {
	Type   ValueType
	Values any
}

// Len returns the number of elements.
func (a Array) Len() int {
	switch v := a.Values.(type) {
	case []uint8:
		return len(v)
	case []int8:
		return len(v)
	case []uint16:
		return len(v)
	case []int16:
		return len(v)
	case []uint32:
		return len(v)
	case []int32:
		return len(v)
	case []float32:
		return len(v)
	case []bool:
		return len(v)
	case []string:
		return len(v)
	case []uint64:
		return len(v)
	case []int64:
		return len(v)
	case []float64:
		return len(v)
	case []Array:
		return len(v)
	}
	return 0
}

// KV is one metadata entry. Value is uint8, int8, uint16, int16, uint32,
// int32, float32, bool, string, uint64, int64, float64 or Array.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of the directory.
type TensorInfo struct {
	Name string
	// Shape in ggml order: Shape[0] is the row length (contiguous), Shape[1]
	// the number of rows, and so on.
	Shape  []int64
	Type   tensor.Type
	Offset uint64 // from the start of the data section
	Size   int64  // bytes
}

// Elements returns the number of elements.
func (t *TensorInfo) Elements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// File is an opened GGUF file.
type File struct {
	Path       string
	Version    uint32
	KV         []KV // in file order
	Tensors    []TensorInfo
	Alignment  int64
	DataOffset int64 // where the data section starts in the file

	kvIndex     map[string]int
	tensorIndex map[string]int
	data        []byte // the whole file (mapped or read)
	unmap       func() error
}

// Open memory-maps and parses the GGUF file at path.
func Open(path string) (*File, error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if st.IsDir() {
		return nil, fmt.Errorf("gguf: %s is a directory, not a GGUF file", path)
	}
	data, unmap, err := mapFile(fd, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf: map %s: %w", path, err)
	}
	f, err := parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	f.unmap = unmap
	return f, nil
}

// Parse parses a GGUF file held in memory. name is used in errors only.
// The returned File refers to data; it must not be modified afterwards.
func Parse(name string, data []byte) (*File, error) {
	return parse(name, data)
}

// Close releases the mapping. Slices from TensorData are invalid afterwards.
func (f *File) Close() error {
	if f.unmap == nil {
		return nil
	}
	err := f.unmap()
	f.unmap = nil
	f.data = nil
	return err
}

// Bytes returns the whole file as mapped.
func (f *File) Bytes() []byte { return f.data }

// Tensor finds a tensor by name.
func (f *File) Tensor(name string) (*TensorInfo, bool) {
	i, ok := f.tensorIndex[name]
	if !ok {
		return nil, false
	}
	return &f.Tensors[i], true
}

// TensorData returns the bytes of t inside the mapping (no copy). Every
// tensor of f.Tensors is known to lie inside the file; for a TensorInfo that
// does not (one built by hand, or after Close) it returns nil rather than
// panicking.
func (f *File) TensorData(t *TensorInfo) []byte {
	avail := int64(len(f.data)) - f.DataOffset
	if t == nil || t.Size < 0 || avail < 0 || t.Offset > uint64(avail) || t.Size > avail-int64(t.Offset) {
		return nil
	}
	start := f.DataOffset + int64(t.Offset)
	return f.data[start : start+t.Size : start+t.Size]
}

// Get returns the value of a metadata key.
func (f *File) Get(key string) (any, bool) {
	i, ok := f.kvIndex[key]
	if !ok {
		return nil, false
	}
	return f.KV[i].Value, true
}

// String returns a string value.
func (f *File) String(key string) (string, bool) {
	v, ok := f.Get(key)
	s, isStr := v.(string)
	return s, ok && isStr
}

// Uint returns an integer value of any integer type, if it is non-negative.
func (f *File) Uint(key string) (uint64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	return toUint(v)
}

// Int returns an integer value of any integer type.
func (f *File) Int(key string) (int64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case int8:
		return int64(x), true
	case int16:
		return int64(x), true
	case int32:
		return int64(x), true
	case int64:
		return x, true
	}
	u, ok := toUint(v)
	if !ok || u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// Float returns a numeric value as float64.
func (f *File) Float(key string) (float64, bool) {
	v, ok := f.Get(key)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case float32:
		return float64(x), true
	case float64:
		return x, true
	}
	if i, ok := f.Int(key); ok {
		return float64(i), true
	}
	return 0, false
}

// Bool returns a bool value.
func (f *File) Bool(key string) (bool, bool) {
	v, ok := f.Get(key)
	b, isBool := v.(bool)
	return b, ok && isBool
}

// Array returns an array value.
func (f *File) Array(key string) (Array, bool) {
	v, ok := f.Get(key)
	a, isArr := v.(Array)
	return a, ok && isArr
}

// Strings returns an array of strings.
func (f *File) Strings(key string) ([]string, bool) {
	a, ok := f.Array(key)
	s, isStr := a.Values.([]string)
	return s, ok && isStr
}

// Architecture returns general.architecture ("llama", "qwen2", ...).
func (f *File) Architecture() string {
	s, _ := f.String("general.architecture")
	return s
}

func toUint(v any) (uint64, bool) {
	switch x := v.(type) {
	case uint8:
		return uint64(x), true
	case uint16:
		return uint64(x), true
	case uint32:
		return uint64(x), true
	case uint64:
		return x, true
	case int8:
		return uint64(x), x >= 0
	case int16:
		return uint64(x), x >= 0
	case int32:
		return uint64(x), x >= 0
	case int64:
		return uint64(x), x >= 0
	}
	return 0, false
}

// Limits that keep hostile files from asking for absurd work.
const (
	maxDims       = 4       // ggml tensors have at most 4 dimensions
	maxArrayDepth = 8       // nesting of arrays inside arrays
	maxStringLen  = 1 << 30 // one metadata string
	// maxPrealloc caps how many elements are allocated up front for a count
	// read from the file; larger (legitimate) lists grow as they are read,
	// so a hostile count costs no more memory than the bytes behind it.
	maxPrealloc = 1 << 16
)

// decoder reads little-endian values from a byte slice and remembers the
// first error; every read checks the remaining length first.
type decoder struct {
	name string
	buf  []byte
	off  int64
	err  error
}

// errTruncated marks reads past the end of the file.
var errTruncated = errors.New("file is truncated")

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("gguf: %s: at byte %d: %s", d.name, d.off, fmt.Sprintf(format, args...))
	}
}

func (d *decoder) remaining() int64 { return int64(len(d.buf)) - d.off }

func (d *decoder) take(n int64) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > d.remaining() {
		d.fail("%v (need %d more bytes, %d left)", errTruncated, n, d.remaining())
		return nil
	}
	b := d.buf[d.off : d.off+n]
	d.off += n
	return b
}

func (d *decoder) u8() uint8 {
	if b := d.take(1); b != nil {
		return b[0]
	}
	return 0
}

func (d *decoder) u16() uint16 {
	if b := d.take(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if b := d.take(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if b := d.take(8); b != nil {
		return binary.LittleEndian.Uint64(b)
	}
	return 0
}

// count reads a count (uint32 in v1, uint64 later) and checks that at least
// minBytes per element remain in the file.
func (d *decoder) count(v1 bool, what string, minBytes int64) int64 {
	var n uint64
	if v1 {
		n = uint64(d.u32())
	} else {
		n = d.u64()
	}
	if d.err != nil {
		return 0
	}
	if minBytes < 1 {
		minBytes = 1
	}
	if n > uint64(d.remaining()/minBytes) {
		d.fail("%s count %d is larger than the rest of the file allows", what, n)
		return 0
	}
	return int64(n)
}

func (d *decoder) str(v1 bool) string {
	n := d.count(v1, "string length", 1)
	if n > maxStringLen {
		d.fail("string of %d bytes is too long", n)
		return ""
	}
	return string(d.take(n))
}

func parse(name string, data []byte) (*File, error) {
	d := &decoder{name: name, buf: data}
	magic := d.take(4)
	if d.err != nil {
		return nil, fmt.Errorf("gguf: %s: not a GGUF file (only %d bytes)", name, len(data))
	}
	if string(magic) != Magic {
		return nil, fmt.Errorf("gguf: %s: not a GGUF file (magic %q, want %q)", name, magic, Magic)
	}
	f := &File{Path: name, data: data, Alignment: DefaultAlignment}
	f.Version = d.u32()
	if d.err == nil && (f.Version < 1 || f.Version > 3) {
		return nil, fmt.Errorf("gguf: %s: unsupported GGUF version %d (Golem reads 1 to 3)", name, f.Version)
	}
	v1 := f.Version == 1
	// The shortest tensor info is an empty name's length, a dimension
	// count, a type and an offset: 8+4+4+8 bytes (4+4+4+8 in v1). The
	// shortest KV is a key length, a type and one byte: 8+4+1 (4+4+1).
	minTensor, minKV := int64(24), int64(13)
	if v1 {
		minTensor, minKV = 20, 9
	}
	nTensors := d.count(v1, "tensor", minTensor)
	nKV := d.count(v1, "metadata", minKV)
	if d.err != nil {
		return nil, d.err
	}

	f.KV = make([]KV, 0, min(nKV, maxPrealloc))
	f.kvIndex = make(map[string]int, min(nKV, maxPrealloc))
	for i := int64(0); i < nKV && d.err == nil; i++ {
		key := d.str(v1)
		vt := ValueType(d.u32())
		val := d.value(vt, v1, 0)
		if d.err != nil {
			break
		}
		if _, dup := f.kvIndex[key]; dup {
			d.fail("duplicate metadata key %q", key)
			break
		}
		f.kvIndex[key] = len(f.KV)
		f.KV = append(f.KV, KV{Key: key, Value: val})
	}
	if d.err != nil {
		return nil, d.err
	}
	if v, ok := f.Get("general.alignment"); ok {
		a, isUint := toUint(v)
		if !isUint || a == 0 || a > 1<<20 || a&(a-1) != 0 {
			return nil, fmt.Errorf("gguf: %s: general.alignment %v is not a power of two", name, v)
		}
		f.Alignment = int64(a)
	}

	f.Tensors = make([]TensorInfo, 0, min(nTensors, maxPrealloc))
	f.tensorIndex = make(map[string]int, min(nTensors, maxPrealloc))
	for i := int64(0); i < nTensors && d.err == nil; i++ {
		var t TensorInfo
		t.Name = d.str(v1)
		nd := d.u32()
		if d.err == nil && nd > maxDims {
			d.fail("tensor %q has %d dimensions (at most %d)", t.Name, nd, maxDims)
			break
		}
		t.Shape = make([]int64, nd)
		elems := int64(1)
		for j := range t.Shape {
			var dim uint64
			if v1 {
				dim = uint64(d.u32())
			} else {
				dim = d.u64()
			}
			if d.err != nil {
				break
			}
			// Zero is allowed (llama.cpp accepts empty tensors); anything
			// beyond 256 elements per file byte cannot have its data in the
			// file whatever the type.
			if dim > uint64(len(data))*256 || (dim > 0 && elems > math.MaxInt64/int64(dim)) {
				d.fail("tensor %q has an impossible dimension %d", t.Name, dim)
				break
			}
			t.Shape[j] = int64(dim)
			elems *= int64(dim)
		}
		t.Type = tensor.Type(d.u32())
		t.Offset = d.u64()
		if d.err != nil {
			break
		}
		if !t.Type.Known() {
			d.fail("tensor %q has unknown type %d", t.Name, uint32(t.Type))
			break
		}
		rowLen := elems
		if len(t.Shape) > 0 {
			rowLen = t.Shape[0]
		}
		size, ok := t.Type.RowSize(elems)
		if !ok || rowLen%int64(t.Type.BlockSize()) != 0 {
			d.fail("tensor %q: row length %d is not a multiple of %s's block size %d", t.Name, rowLen, t.Type, t.Type.BlockSize())
			break
		}
		t.Size = size
		if t.Offset%uint64(f.Alignment) != 0 {
			d.fail("tensor %q: offset %d is not aligned to %d", t.Name, t.Offset, f.Alignment)
			break
		}
		if _, dup := f.tensorIndex[t.Name]; dup {
			d.fail("duplicate tensor %q", t.Name)
			break
		}
		f.tensorIndex[t.Name] = len(f.Tensors)
		f.Tensors = append(f.Tensors, t)
	}
	if d.err != nil {
		return nil, d.err
	}

	// The data section starts at the next multiple of the alignment.
	f.DataOffset = (d.off + f.Alignment - 1) / f.Alignment * f.Alignment
	if len(f.Tensors) > 0 && f.DataOffset > int64(len(data)) {
		return nil, fmt.Errorf("gguf: %s: file is truncated: data section would start at %d, file has %d bytes", name, f.DataOffset, len(data))
	}
	avail := int64(len(data)) - f.DataOffset
	for i := range f.Tensors {
		t := &f.Tensors[i]
		if t.Offset > uint64(avail) || t.Size > avail-int64(t.Offset) {
			return nil, fmt.Errorf("gguf: %s: file is truncated: tensor %q (%d bytes at data offset %d) ends past the end of the file (%d data bytes)", name, t.Name, t.Size, t.Offset, avail)
		}
	}
	return f, nil
}

// value decodes one metadata value of type vt.
func (d *decoder) value(vt ValueType, v1 bool, depth int) any {
	switch vt {
	case TypeUint8:
		return d.u8()
	case TypeInt8:
		return int8(d.u8())
	case TypeUint16:
		return d.u16()
	case TypeInt16:
		return int16(d.u16())
	case TypeUint32:
		return d.u32()
	case TypeInt32:
		return int32(d.u32())
	case TypeFloat32:
		return math.Float32frombits(d.u32())
	case TypeBool:
		b := d.u8()
		if d.err == nil && b > 1 {
			d.fail("bool value %d is neither 0 nor 1", b)
		}
		return b == 1
	case TypeString:
		return d.str(v1)
	case TypeUint64:
		return d.u64()
	case TypeInt64:
		return int64(d.u64())
	case TypeFloat64:
		return math.Float64frombits(d.u64())
	case TypeArray:
		if depth >= maxArrayDepth {
			d.fail("arrays nested deeper than %d", maxArrayDepth)
			return nil
		}
		et := ValueType(d.u32())
		minSize := int64(et.fixedSize())
		switch et {
		case TypeString:
			minSize = 8
			if v1 {
				minSize = 4
			}
		case TypeArray:
			minSize = 12 // element type and count
			if v1 {
				minSize = 8
			}
		}
		if d.err == nil && minSize == 0 {
			d.fail("array of unknown value type %d", uint32(et))
			return nil
		}
		n := d.count(v1, "array element", minSize)
		if d.err != nil {
			return nil
		}
		return Array{Type: et, Values: d.array(et, n, v1, depth)}
	}
	d.fail("unknown metadata value type %d", uint32(vt))
	return nil
}

func (d *decoder) array(et ValueType, n int64, v1 bool, depth int) any {
	switch et {
	case TypeUint8:
		return readSlice(d, n, func(d *decoder) uint8 { return d.u8() })
	case TypeInt8:
		return readSlice(d, n, func(d *decoder) int8 { return int8(d.u8()) })
	case TypeUint16:
		return readSlice(d, n, func(d *decoder) uint16 { return d.u16() })
	case TypeInt16:
		return readSlice(d, n, func(d *decoder) int16 { return int16(d.u16()) })
	case TypeUint32:
		return readSlice(d, n, func(d *decoder) uint32 { return d.u32() })
	case TypeInt32:
		return readSlice(d, n, func(d *decoder) int32 { return int32(d.u32()) })
	case TypeFloat32:
		return readSlice(d, n, func(d *decoder) float32 { return math.Float32frombits(d.u32()) })
	case TypeBool:
		return readSlice(d, n, func(d *decoder) bool { return d.value(TypeBool, v1, depth).(bool) })
	case TypeString:
		return readSlice(d, n, func(d *decoder) string { return d.str(v1) })
	case TypeUint64:
		return readSlice(d, n, func(d *decoder) uint64 { return d.u64() })
	case TypeInt64:
		return readSlice(d, n, func(d *decoder) int64 { return int64(d.u64()) })
	case TypeFloat64:
		return readSlice(d, n, func(d *decoder) float64 { return math.Float64frombits(d.u64()) })
	case TypeArray:
		return readSlice(d, n, func(d *decoder) Array {
			v, _ := d.value(TypeArray, v1, depth+1).(Array)
			return v
		})
	}
	return nil
}

// readSlice reads n elements. The up-front allocation is capped (see
// maxPrealloc) so that a count which passes the bytes-left check but whose
// Go representation is larger than its encoding (a string header is 16
// bytes, its shortest encoding 8) cannot multiply memory use.
func readSlice[T any](d *decoder, n int64, read func(*decoder) T) []T {
	s := make([]T, 0, min(n, maxPrealloc))
	for i := int64(0); i < n; i++ {
		v := read(d)
		if d.err != nil {
			return nil
		}
		s = append(s, v)
	}
	return s
}
