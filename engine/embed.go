package engine

import (
	"fmt"
	"time"

	"golem/gguf"
	"golem/model"
	"golem/tokenizer"
)

// Embedder is a loaded embedding model (a BERT encoder) ready to turn text
// into vectors. It is not safe for concurrent use.
type Embedder struct {
	Path      string
	File      *gguf.File
	Model     *model.BERT
	Tokenizer *tokenizer.Tokenizer

	LoadDuration time.Duration
}

// IsEmbeddingModel reports whether the GGUF file at path is an embedding
// model (its architecture is bert) rather than a text generator.
func IsEmbeddingModel(f *gguf.File) bool { return f.Architecture() == "bert" }

// LoadEmbedder opens a BERT GGUF file for embedding. Embeddings are
// pooled as the file says and L2-normalized (llama.cpp's default).
func LoadEmbedder(path string) (*Embedder, error) {
	start := time.Now()
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	if !IsEmbeddingModel(f) {
		f.Close()
		return nil, fmt.Errorf("%s: architecture %q is not an embedding model", path, f.Architecture())
	}
	m, err := model.LoadBERT(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Embedder{Path: path, File: f, Model: m, Tokenizer: tok, LoadDuration: time.Since(start)}, nil
}

// Close releases the model file.
func (e *Embedder) Close() error { return e.File.Close() }

// ContextLength is the most tokens one input may have.
func (e *Embedder) ContextLength() int { return e.Model.ContextLength }

// Embed returns the embedding of text and the number of tokens it took.
// With truncate, an input longer than the context is cut to fit (keeping
// the final separator token); without it, such an input is an error
// wrapping ErrContextFull.
func (e *Embedder) Embed(text string, truncate bool) ([]float32, int, error) {
	ids := e.Tokenizer.Encode(text, true, false)
	if n := e.Model.ContextLength; n > 0 && len(ids) > n {
		if !truncate {
			return nil, 0, fmt.Errorf("%w: input is %d tokens, the model takes at most %d", ErrContextFull, len(ids), n)
		}
		last := ids[len(ids)-1]
		ids = append(ids[:n-1:n-1], last)
	}
	v, err := e.Model.Embed(ids)
	if err != nil {
		return nil, 0, err
	}
	return v, len(ids), nil
}
