package quantize

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"golem/gguf"
	"golem/tensor"
)

// QuantizationVersion is ggml's GGML_QNT_VERSION, written to
// general.quantization_version.
const QuantizationVersion = 2

// chunkElems is about how many elements are converted at a time: a chunk
// is a whole number of rows, and a few chunks (one per worker) are in
// memory at once.
const chunkElems = 1 << 16

// Options tune a re-quantization.
type Options struct {
	// Progress, if set, is called after each chunk of output with the
	// bytes of tensor data written so far and the total.
	Progress func(done, total int64)
	// Threads is the number of goroutines converting rows (default
	// GOMAXPROCS). The output does not depend on it.
	Threads int
	// Overrides force the types of some tensors (--tensor-type).
	Overrides []Override
}

// NewWriter prepares the re-quantization of src to the file type named
// ftype ("Q4_K_M", "q8_0", ...): a gguf.Writer with src's metadata
// (general.file_type and general.quantization_version set, split keys
// removed) and every tensor in llama-quantize's order, whose data is
// converted while the writer writes. src must stay open until then. The
// plan says which type each tensor gets.
func NewWriter(src *gguf.File, ftype string, opts Options) (*gguf.Writer, []Tensor, error) {
	ft, err := ParseFileType(ftype)
	if err != nil {
		return nil, nil, err
	}
	plan, err := Plan(src, ft, opts.Overrides...)
	if err != nil {
		return nil, nil, err
	}
	w := gguf.NewWriter()
	w.Version = 3 // llama-quantize always writes GGUF v3
	for _, kv := range src.KV {
		if err := w.Set(kv.Key, kv.Value); err != nil {
			return nil, nil, fmt.Errorf("quantize: copy metadata %s: %w", kv.Key, err)
		}
	}
	// gguf_set_val_* in llama.cpp removes an existing key and appends it,
	// so both keys end up last, in this order.
	w.Delete("general.quantization_version")
	w.Delete("general.file_type")
	if err := w.Set("general.quantization_version", uint32(QuantizationVersion)); err != nil {
		return nil, nil, fmt.Errorf("quantize: %w", err)
	}
	if err := w.Set("general.file_type", ft.ID); err != nil {
		return nil, nil, fmt.Errorf("quantize: %w", err)
	}
	for _, k := range []string{"split.no", "split.count", "split.tensors.count"} {
		w.Delete(k)
	}

	var total int64
	sizes := make([]int64, len(plan))
	for i, p := range plan {
		if p.To != p.From {
			if !tensor.CanDequantize(p.From) {
				return nil, nil, fmt.Errorf("quantize: tensor %s: cannot convert from %s (no dequantizer)", p.Name, p.From)
			}
			if !tensor.CanQuantize(p.To) {
				return nil, nil, fmt.Errorf("quantize: tensor %s: cannot write type %s", p.Name, p.To)
			}
		}
		rowBytes, ok := p.To.RowSize(p.Shape[0])
		if !ok {
			return nil, nil, fmt.Errorf("quantize: tensor %s: rows of %d elements do not fit %s blocks", p.Name, p.Shape[0], p.To)
		}
		sizes[i] = rowBytes * (p.src.Elements() / max(p.Shape[0], 1))
		total += sizes[i]
	}

	threads := opts.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	var done int64
	report := func(n int64) {
		done += n
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
	}
	for i := range plan {
		p := plan[i]
		write := func(out io.Writer) error {
			data := src.TensorData(p.src)
			if p.To == p.From {
				if _, err := out.Write(data); err != nil {
					return err
				}
				report(int64(len(data)))
				return nil
			}
			if err := convert(out, data, p, threads, report); err != nil {
				return fmt.Errorf("quantize: tensor %s (%s -> %s): %w", p.Name, p.From, p.To, err)
			}
			return nil
		}
		if err := w.AddTensorFunc(p.Name, p.Shape, p.To, write); err != nil {
			return nil, nil, fmt.Errorf("quantize: %w", err)
		}
	}
	return w, plan, nil
}

// File re-quantizes src to ftype and writes the result to dst atomically
// (a temporary file renamed into place, so dst is never half written).
func File(src *gguf.File, dst, ftype string, opts Options) ([]Tensor, error) {
	w, plan, err := NewWriter(src, ftype, opts)
	if err != nil {
		return nil, err
	}
	if err := w.WriteFile(dst); err != nil {
		return nil, err
	}
	return plan, nil
}

// convert dequantizes the rows of one tensor to float32 and quantizes them
// to p.To, a chunk of rows per worker, writing chunks in order.
func convert(out io.Writer, data []byte, p Tensor, threads int, report func(int64)) error {
	rowLen := p.Shape[0]
	if rowLen <= 0 {
		return nil
	}
	nRows := p.src.Elements() / rowLen
	inRow, ok := p.From.RowSize(rowLen)
	if !ok {
		return fmt.Errorf("rows of %d elements are not whole %s blocks", rowLen, p.From)
	}
	outRow, _ := p.To.RowSize(rowLen)
	if int64(len(data)) < inRow*nRows {
		return fmt.Errorf("tensor data is %d bytes, want %d", len(data), inRow*nRows)
	}
	rowsPerChunk := max(chunkElems/rowLen, 1)

	type job struct {
		first, n int64
		buf      []byte
		err      error
	}
	bufs := make([][]float32, threads)
	for first := int64(0); first < nRows; first += rowsPerChunk * int64(threads) {
		jobs := make([]job, 0, threads)
		for k := range threads {
			f := first + int64(k)*rowsPerChunk
			if f >= nRows {
				break
			}
			jobs = append(jobs, job{first: f, n: min(rowsPerChunk, nRows-f)})
		}
		var wg sync.WaitGroup
		for k := range jobs {
			wg.Add(1)
			go func(j *job, fbuf *[]float32) {
				defer wg.Done()
				n := j.n * rowLen
				if int64(cap(*fbuf)) < n {
					*fbuf = make([]float32, n)
				}
				f32 := (*fbuf)[:n]
				in := data[j.first*inRow : (j.first+j.n)*inRow]
				if err := tensor.Dequantize(p.From, in, f32); err != nil {
					j.err = err
					return
				}
				if p.From == tensor.F32 && !allFinite(in) {
					j.err = fmt.Errorf("rows %d..%d hold NaN or Inf", j.first, j.first+j.n-1)
					return
				}
				j.buf = make([]byte, j.n*outRow)
				j.err = tensor.Quantize(p.To, f32, j.buf)
			}(&jobs[k], &bufs[k])
		}
		wg.Wait()
		for _, j := range jobs {
			if j.err != nil {
				return j.err
			}
			if _, err := out.Write(j.buf); err != nil {
				return err
			}
			report(int64(len(j.buf)))
		}
	}
	return nil
}

// allFinite reports whether F32 data has no NaN or infinity (llama-quantize
// validates rows and refuses such data).
func allFinite(b []byte) bool {
	for i := 0; i+4 <= len(b); i += 4 {
		if f := math.Float32frombits(binary.LittleEndian.Uint32(b[i:])); math.IsNaN(float64(f)) || math.IsInf(float64(f), 0) {
			return false
		}
	}
	return true
}
