package gguf

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"

	"golem/tensor"
)

// MaxTensorName is the longest tensor name llama.cpp accepts, exclusive
// (GGML_MAX_NAME is 64 including the terminating NUL). The writer refuses
// longer names so that every file it writes loads in llama.cpp.
const MaxTensorName = 64

// Writer builds a GGUF file: metadata key/values in insertion order, then a
// tensor directory and the tensor data, each tensor aligned to the file's
// alignment (general.alignment if set, else DefaultAlignment) and padded
// with zeros, exactly as llama.cpp's gguf_write_to_file lays it out.
//
// Tensor data is not copied: AddTensor keeps the caller's slice (which may
// be a slice of an opened File's mapping) until WriteTo runs, and
// AddTensorFunc streams data produced on demand, so quantizing or copying a
// model needs no more memory than one tensor at a time.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	// Version is the GGUF version written: 3 (the default), 2 or 1. Versions
	// 2 and 3 share one little-endian layout; version 1 uses 32-bit counts
	// and lengths.
	Version uint32

	kv      []KV
	kvIndex map[string]int

	tensors     []writerTensor
	tensorIndex map[string]int
}

// writerTensor is one tensor queued for writing. Exactly one of data and
// write is set.
type writerTensor struct {
	info  TensorInfo
	data  []byte
	write func(io.Writer) error
}

// NewWriter returns an empty GGUF v3 writer.
func NewWriter() *Writer {
	return &Writer{
		Version:     3,
		kvIndex:     map[string]int{},
		tensorIndex: map[string]int{},
	}
}

// FromFile returns a writer holding all of f's metadata (in f's order) and
// all of its tensors (in f's order, data referring to f's mapping). Change
// it with Set, Delete, ReplaceTensor, RemoveTensor and AddTensor, then
// write it; f must stay open until the writer has been written. The
// version written is f's.
func FromFile(f *File) *Writer {
	w := NewWriter()
	w.Version = f.Version
	for _, kv := range f.KV {
		w.kvIndex[kv.Key] = len(w.kv)
		w.kv = append(w.kv, kv)
	}
	for i := range f.Tensors {
		t := f.Tensors[i]
		t.Shape = append([]int64(nil), t.Shape...)
		w.tensorIndex[t.Name] = len(w.tensors)
		w.tensors = append(w.tensors, writerTensor{info: t, data: f.TensorData(&f.Tensors[i])})
	}
	return w
}

// KV returns the metadata in the order it will be written. The slice
// belongs to the writer and must not be modified.
func (w *Writer) KV() []KV { return w.kv }

// Tensors returns the tensor directory in the order it will be written.
// Offset is not meaningful until the file is written.
func (w *Writer) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(w.tensors))
	for i, t := range w.tensors {
		out[i] = t.info
	}
	return out
}

// Get returns the value set for key.
func (w *Writer) Get(key string) (any, bool) {
	i, ok := w.kvIndex[key]
	if !ok {
		return nil, false
	}
	return w.kv[i].Value, true
}

// Set sets a metadata value. A new key is appended; an existing key keeps
// its position and gets the new value (and type). The value must be one of
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64 or Array; a typed slice of those ([]string, []float32,
// []int32, ..., []Array) is wrapped in an Array for convenience. Plain int,
// uint and float kinds are refused because their GGUF width would be a
// guess.
func (w *Writer) Set(key string, value any) error {
	if key == "" {
		return errors.New("gguf: metadata key is empty")
	}
	v, err := normalizeValue(value)
	if err != nil {
		return fmt.Errorf("gguf: metadata %q: %w", key, err)
	}
	if _, err := checkValue(v, 0); err != nil {
		return fmt.Errorf("gguf: metadata %q: %w", key, err)
	}
	if key == "general.alignment" {
		if _, err := alignmentOf(v); err != nil {
			return fmt.Errorf("gguf: metadata %q: %w", key, err)
		}
	}
	if i, ok := w.kvIndex[key]; ok {
		w.kv[i].Value = v
		return nil
	}
	w.kvIndex[key] = len(w.kv)
	w.kv = append(w.kv, KV{Key: key, Value: v})
	return nil
}

// Delete removes a metadata key; it reports whether the key was present.
func (w *Writer) Delete(key string) bool {
	i, ok := w.kvIndex[key]
	if !ok {
		return false
	}
	w.kv = append(w.kv[:i], w.kv[i+1:]...)
	delete(w.kvIndex, key)
	for j := i; j < len(w.kv); j++ {
		w.kvIndex[w.kv[j].Key] = j
	}
	return true
}

// AddTensor appends a tensor. data must hold exactly the tensor's bytes
// (typ.RowSize of its element count); it is kept, not copied, until the
// file is written.
func (w *Writer) AddTensor(name string, shape []int64, typ tensor.Type, data []byte) error {
	t, err := newTensorInfo(name, shape, typ)
	if err != nil {
		return err
	}
	if int64(len(data)) != t.Size {
		return fmt.Errorf("gguf: tensor %q: %d data bytes, want %d for %s %v", name, len(data), t.Size, typ, shape)
	}
	return w.add(writerTensor{info: t, data: data})
}

// AddTensorFunc appends a tensor whose data is produced while the file is
// written: write is called once, in tensor order, and must write exactly
// the tensor's byte size to its argument. Use it to stream quantized or
// converted tensors without holding a whole model in memory.
func (w *Writer) AddTensorFunc(name string, shape []int64, typ tensor.Type, write func(io.Writer) error) error {
	if write == nil {
		return fmt.Errorf("gguf: tensor %q: nil write function", name)
	}
	t, err := newTensorInfo(name, shape, typ)
	if err != nil {
		return err
	}
	return w.add(writerTensor{info: t, write: write})
}

func (w *Writer) add(t writerTensor) error {
	if _, dup := w.tensorIndex[t.info.Name]; dup {
		return fmt.Errorf("gguf: duplicate tensor %q", t.info.Name)
	}
	w.tensorIndex[t.info.Name] = len(w.tensors)
	w.tensors = append(w.tensors, t)
	return nil
}

// ReplaceTensor replaces the shape, type and data of an existing tensor,
// keeping its position in the directory (as quantization and LoRA merging
// need). It fails if no tensor has that name.
func (w *Writer) ReplaceTensor(name string, shape []int64, typ tensor.Type, data []byte) error {
	i, ok := w.tensorIndex[name]
	if !ok {
		return fmt.Errorf("gguf: replace tensor %q: no such tensor", name)
	}
	t, err := newTensorInfo(name, shape, typ)
	if err != nil {
		return err
	}
	if int64(len(data)) != t.Size {
		return fmt.Errorf("gguf: tensor %q: %d data bytes, want %d for %s %v", name, len(data), t.Size, typ, shape)
	}
	w.tensors[i] = writerTensor{info: t, data: data}
	return nil
}

// ReplaceTensorFunc is ReplaceTensor with streamed data (see AddTensorFunc).
func (w *Writer) ReplaceTensorFunc(name string, shape []int64, typ tensor.Type, write func(io.Writer) error) error {
	i, ok := w.tensorIndex[name]
	if !ok {
		return fmt.Errorf("gguf: replace tensor %q: no such tensor", name)
	}
	if write == nil {
		return fmt.Errorf("gguf: tensor %q: nil write function", name)
	}
	t, err := newTensorInfo(name, shape, typ)
	if err != nil {
		return err
	}
	w.tensors[i] = writerTensor{info: t, write: write}
	return nil
}

// RemoveTensor drops a tensor; it reports whether it was present.
func (w *Writer) RemoveTensor(name string) bool {
	i, ok := w.tensorIndex[name]
	if !ok {
		return false
	}
	w.tensors = append(w.tensors[:i], w.tensors[i+1:]...)
	delete(w.tensorIndex, name)
	for j := i; j < len(w.tensors); j++ {
		w.tensorIndex[w.tensors[j].info.Name] = j
	}
	return true
}

// Alignment returns the data alignment the file will use.
func (w *Writer) Alignment() int64 {
	if v, ok := w.Get("general.alignment"); ok {
		if a, err := alignmentOf(v); err == nil {
			return a
		}
	}
	return DefaultAlignment
}

// newTensorInfo validates a tensor's name, shape and type and computes its
// byte size, refusing anything llama.cpp (or our reader) would refuse.
func newTensorInfo(name string, shape []int64, typ tensor.Type) (TensorInfo, error) {
	t := TensorInfo{Name: name, Type: typ, Shape: append([]int64(nil), shape...)}
	switch {
	case name == "":
		return t, errors.New("gguf: tensor name is empty")
	case len(name) >= MaxTensorName:
		return t, fmt.Errorf("gguf: tensor name %q is %d bytes (llama.cpp allows at most %d)", name, len(name), MaxTensorName-1)
	case !typ.Known():
		return t, fmt.Errorf("gguf: tensor %q: unknown type %d", name, uint32(typ))
	case len(shape) < 1 || len(shape) > maxDims:
		return t, fmt.Errorf("gguf: tensor %q has %d dimensions (want 1 to %d)", name, len(shape), maxDims)
	}
	elems := int64(1)
	for _, d := range shape {
		if d < 0 || (d > 0 && elems > math.MaxInt64/d) {
			return t, fmt.Errorf("gguf: tensor %q: impossible shape %v", name, shape)
		}
		elems *= d
	}
	if shape[0]%int64(typ.BlockSize()) != 0 {
		return t, fmt.Errorf("gguf: tensor %q: row length %d is not a multiple of %s's block size %d", name, shape[0], typ, typ.BlockSize())
	}
	size, ok := typ.RowSize(elems)
	if !ok {
		return t, fmt.Errorf("gguf: tensor %q: %d elements do not fill whole %s blocks", name, elems, typ)
	}
	t.Size = size
	return t, nil
}

// alignmentOf checks a general.alignment value: an unsigned integer that is
// a power of two no larger than the reader accepts.
func alignmentOf(v any) (int64, error) {
	a, ok := toUint(v)
	switch v.(type) {
	case uint8, uint16, uint32, uint64:
	default:
		ok = false
	}
	if !ok || a == 0 || a > 1<<20 || a&(a-1) != 0 {
		return 0, fmt.Errorf("alignment %v (%T) is not an unsigned power of two up to 2^20", v, v)
	}
	return int64(a), nil
}

// normalizeValue wraps typed slices in an Array and passes everything else
// through for checkValue to judge.
func normalizeValue(v any) (any, error) {
	switch x := v.(type) {
	case []uint8:
		return Array{TypeUint8, x}, nil
	case []int8:
		return Array{TypeInt8, x}, nil
	case []uint16:
		return Array{TypeUint16, x}, nil
	case []int16:
		return Array{TypeInt16, x}, nil
	case []uint32:
		return Array{TypeUint32, x}, nil
	case []int32:
		return Array{TypeInt32, x}, nil
	case []float32:
		return Array{TypeFloat32, x}, nil
	case []bool:
		return Array{TypeBool, x}, nil
	case []string:
		return Array{TypeString, x}, nil
	case []uint64:
		return Array{TypeUint64, x}, nil
	case []int64:
		return Array{TypeInt64, x}, nil
	case []float64:
		return Array{TypeFloat64, x}, nil
	case []Array:
		return Array{TypeArray, x}, nil
	case *Array:
		if x == nil {
			return nil, errors.New("nil *Array")
		}
		return *x, nil
	}
	return v, nil
}

// checkValue reports the GGUF type of v, or why v cannot be written: an
// unsupported Go type, an Array whose Values do not match its Type, or
// nesting deeper than the reader accepts.
func checkValue(v any, depth int) (ValueType, error) {
	switch x := v.(type) {
	case uint8:
		return TypeUint8, nil
	case int8:
		return TypeInt8, nil
	case uint16:
		return TypeUint16, nil
	case int16:
		return TypeInt16, nil
	case uint32:
		return TypeUint32, nil
	case int32:
		return TypeInt32, nil
	case float32:
		return TypeFloat32, nil
	case bool:
		return TypeBool, nil
	case string:
		if len(x) > maxStringLen {
			return 0, fmt.Errorf("string of %d bytes is too long", len(x))
		}
		return TypeString, nil
	case uint64:
		return TypeUint64, nil
	case int64:
		return TypeInt64, nil
	case float64:
		return TypeFloat64, nil
	case Array:
		if depth >= maxArrayDepth {
			return 0, fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
		}
		if x.Values == nil {
			// An empty array of any element type.
			if x.Type.fixedSize() == 0 && x.Type != TypeString && x.Type != TypeArray {
				return 0, fmt.Errorf("array of unknown value type %d", uint32(x.Type))
			}
			return TypeArray, nil
		}
		want, ok := sliceElemType(x.Values)
		if !ok {
			return 0, fmt.Errorf("array values of Go type %T are not supported", x.Values)
		}
		if want != x.Type {
			return 0, fmt.Errorf("array declares element type %s but holds %T", x.Type, x.Values)
		}
		switch s := x.Values.(type) {
		case []string:
			for _, e := range s {
				if len(e) > maxStringLen {
					return 0, fmt.Errorf("string of %d bytes is too long", len(e))
				}
			}
		case []Array:
			for _, e := range s {
				if _, err := checkValue(e, depth+1); err != nil {
					return 0, err
				}
			}
		}
		return TypeArray, nil
	case nil:
		return 0, errors.New("nil value")
	}
	return 0, fmt.Errorf("Go type %T has no GGUF value type (use a sized type such as int32 or uint64)", v)
}

// sliceElemType maps a typed slice to its GGUF element type.
func sliceElemType(v any) (ValueType, bool) {
	switch v.(type) {
	case []uint8:
		return TypeUint8, true
	case []int8:
		return TypeInt8, true
	case []uint16:
		return TypeUint16, true
	case []int16:
		return TypeInt16, true
	case []uint32:
		return TypeUint32, true
	case []int32:
		return TypeInt32, true
	case []float32:
		return TypeFloat32, true
	case []bool:
		return TypeBool, true
	case []string:
		return TypeString, true
	case []uint64:
		return TypeUint64, true
	case []int64:
		return TypeInt64, true
	case []float64:
		return TypeFloat64, true
	case []Array:
		return TypeArray, true
	}
	return 0, false
}

// encoder appends little-endian GGUF encodings to a byte slice.
type encoder struct {
	buf []byte
	v1  bool // 32-bit counts and lengths
}

func (e *encoder) u8(v uint8)   { e.buf = append(e.buf, v) }
func (e *encoder) u16(v uint16) { e.buf = binary.LittleEndian.AppendUint16(e.buf, v) }
func (e *encoder) u32(v uint32) { e.buf = binary.LittleEndian.AppendUint32(e.buf, v) }
func (e *encoder) u64(v uint64) { e.buf = binary.LittleEndian.AppendUint64(e.buf, v) }

// count writes a count or length in the version's width.
func (e *encoder) count(n int) error {
	if e.v1 {
		if uint64(n) > math.MaxUint32 {
			return fmt.Errorf("count %d does not fit GGUF v1's 32 bits", n)
		}
		e.u32(uint32(n))
		return nil
	}
	e.u64(uint64(n))
	return nil
}

func (e *encoder) str(s string) error {
	if err := e.count(len(s)); err != nil {
		return err
	}
	e.buf = append(e.buf, s...)
	return nil
}

// value writes v's payload (not its type tag); v has passed checkValue.
func (e *encoder) value(v any) error {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		return e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case Array:
		e.u32(uint32(x.Type))
		if err := e.count(x.Len()); err != nil {
			return err
		}
		switch s := x.Values.(type) {
		case []uint8:
			e.buf = append(e.buf, s...)
		case []int8:
			for _, a := range s {
				e.u8(uint8(a))
			}
		case []uint16:
			for _, a := range s {
				e.u16(a)
			}
		case []int16:
			for _, a := range s {
				e.u16(uint16(a))
			}
		case []uint32:
			for _, a := range s {
				e.u32(a)
			}
		case []int32:
			for _, a := range s {
				e.u32(uint32(a))
			}
		case []float32:
			for _, a := range s {
				e.u32(math.Float32bits(a))
			}
		case []bool:
			for _, a := range s {
				e.value(a)
			}
		case []string:
			for _, a := range s {
				if err := e.str(a); err != nil {
					return err
				}
			}
		case []uint64:
			for _, a := range s {
				e.u64(a)
			}
		case []int64:
			for _, a := range s {
				e.u64(uint64(a))
			}
		case []float64:
			for _, a := range s {
				e.u64(math.Float64bits(a))
			}
		case []Array:
			for _, a := range s {
				if err := e.value(a); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("Go type %T has no GGUF value type", v)
	}
	return nil
}

// header encodes everything before the data section (without the padding)
// and returns it with the tensor offsets filled in.
func (w *Writer) header() ([]byte, []TensorInfo, int64, error) {
	if w.Version < 1 || w.Version > 3 {
		return nil, nil, 0, fmt.Errorf("gguf: cannot write GGUF version %d (1 to 3 supported)", w.Version)
	}
	align := w.Alignment()
	e := &encoder{v1: w.Version == 1}
	e.buf = append(e.buf, Magic...)
	e.u32(w.Version)
	if err := e.count(len(w.tensors)); err != nil {
		return nil, nil, 0, fmt.Errorf("gguf: tensor %w", err)
	}
	if err := e.count(len(w.kv)); err != nil {
		return nil, nil, 0, fmt.Errorf("gguf: metadata %w", err)
	}
	for _, kv := range w.kv {
		vt, err := checkValue(kv.Value, 0)
		if err != nil {
			return nil, nil, 0, fmt.Errorf("gguf: metadata %q: %w", kv.Key, err)
		}
		if err := e.str(kv.Key); err != nil {
			return nil, nil, 0, fmt.Errorf("gguf: metadata key %q: %w", kv.Key, err)
		}
		e.u32(uint32(vt))
		if err := e.value(kv.Value); err != nil {
			return nil, nil, 0, fmt.Errorf("gguf: metadata %q: %w", kv.Key, err)
		}
	}
	infos := make([]TensorInfo, len(w.tensors))
	var off int64
	for i, t := range w.tensors {
		info := t.info
		info.Offset = uint64(off)
		infos[i] = info
		if err := e.str(info.Name); err != nil {
			return nil, nil, 0, fmt.Errorf("gguf: tensor %q: %w", info.Name, err)
		}
		e.u32(uint32(len(info.Shape)))
		for _, d := range info.Shape {
			if e.v1 {
				if d > math.MaxUint32 {
					return nil, nil, 0, fmt.Errorf("gguf: tensor %q: dimension %d does not fit GGUF v1", info.Name, d)
				}
				e.u32(uint32(d))
			} else {
				e.u64(uint64(d))
			}
		}
		e.u32(uint32(info.Type))
		e.u64(info.Offset)
		if info.Size > math.MaxInt64-off-align {
			return nil, nil, 0, fmt.Errorf("gguf: tensor %q: data section larger than 2^63 bytes", info.Name)
		}
		off = padTo(off+info.Size, align)
	}
	return e.buf, infos, align, nil
}

// padTo rounds n up to a multiple of align (a power of two).
func padTo(n, align int64) int64 { return (n + align - 1) &^ (align - 1) }

// zeros is the source of padding bytes.
var zeros [4096]byte

func writeZeros(w io.Writer, n int64) error {
	for n > 0 {
		k := min(n, int64(len(zeros)))
		if _, err := w.Write(zeros[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// countingWriter counts bytes and refuses to write more than limit, so a
// streamed tensor can neither overrun nor fall short unnoticed.
type countingWriter struct {
	w     io.Writer
	n     int64
	limit int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	if c.n+int64(len(p)) > c.limit {
		return 0, fmt.Errorf("write of %d bytes overruns the tensor's %d bytes (%d written)", len(p), c.limit, c.n)
	}
	k, err := c.w.Write(p)
	c.n += int64(k)
	return k, err
}

// WriteTo writes the GGUF file to out. It implements io.WriterTo.
func (w *Writer) WriteTo(out io.Writer) (int64, error) {
	hdr, infos, align, err := w.header()
	if err != nil {
		return 0, err
	}
	cw := &countingWriter{w: out, limit: math.MaxInt64}
	if _, err := cw.Write(hdr); err != nil {
		return cw.n, fmt.Errorf("gguf: write header: %w", err)
	}
	if err := writeZeros(cw, padTo(cw.n, align)-cw.n); err != nil {
		return cw.n, fmt.Errorf("gguf: write header padding: %w", err)
	}
	dataStart := cw.n
	for i, t := range w.tensors {
		info := &infos[i]
		if cw.n != dataStart+int64(info.Offset) {
			return cw.n, fmt.Errorf("gguf: tensor %q: internal error: at data offset %d, want %d", info.Name, cw.n-dataStart, info.Offset)
		}
		if t.write != nil {
			tw := &countingWriter{w: cw, limit: info.Size}
			if err := t.write(tw); err != nil {
				return cw.n, fmt.Errorf("gguf: tensor %q: %w", info.Name, err)
			}
			if tw.n != info.Size {
				return cw.n, fmt.Errorf("gguf: tensor %q: wrote %d bytes, want %d", info.Name, tw.n, info.Size)
			}
		} else if int64(len(t.data)) != info.Size {
			return cw.n, fmt.Errorf("gguf: tensor %q: %d data bytes, want %d (was the source file closed?)", info.Name, len(t.data), info.Size)
		} else if _, err := cw.Write(t.data); err != nil {
			return cw.n, fmt.Errorf("gguf: tensor %q: %w", info.Name, err)
		}
		if err := writeZeros(cw, padTo(cw.n, align)-cw.n); err != nil {
			return cw.n, fmt.Errorf("gguf: tensor %q padding: %w", info.Name, err)
		}
	}
	return cw.n, nil
}

// WriteFile writes the GGUF file to path atomically: it writes a temporary
// file in the same directory, syncs it, and renames it over path, so a
// reader (or a crash) never sees a half-written model. Overwriting the file
// a source *File was opened from is safe: the old mapping keeps the old
// contents.
func (w *Writer) WriteFile(path string) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	// Writes of 4 MiB at 4 MiB-aligned offsets let the kernel cache the
	// new file in 2 MiB folios, which a later load maps as huge pages
	// (see mapFile).
	bw := bufio.NewWriterSize(tmp, 4<<20)
	if _, err = w.WriteTo(bw); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = bw.Flush(); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("gguf: write %s: sync: %w", path, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	if err = os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("gguf: write %s: %w", path, err)
	}
	// Make the rename durable; not every platform can sync a directory.
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}
