package engine

import (
	"errors"
	"fmt"
	"math"

	"golem/model"
	"golem/tokenizer"
)

// PerplexityResult is the outcome of Perplexity.
type PerplexityResult struct {
	Tokens  int       // tokens in the whole text (with BOS)
	NCtx    int       // chunk length
	Chunks  int       // chunks evaluated
	Scored  int       // tokens scored (Chunks * (NCtx - NCtx/2 - 1))
	Running []float64 // perplexity after each chunk, as llama-perplexity prints it
	PPL     float64   // final estimate: exp(mean negative log-likelihood)
	// Err is the ± of the final estimate: PPL times the standard error of
	// the mean negative log-likelihood (0 when it cannot be computed).
	Err float64
}

// ErrTextTooShort is returned (wrapped) when the text has fewer than
// 2*nCtx tokens, as llama-perplexity requires.
var ErrTextTooShort = errors.New("text too short for perplexity")

// Perplexity computes the perplexity of a model on text the way
// llama.cpp's llama-perplexity does by default: the text is tokenized once
// (with BOS when the vocabulary adds it), cut into len/nCtx chunks of nCtx
// tokens (the rest is dropped), each chunk is evaluated from an empty
// cache with its first token replaced by BOS, and only the tokens of the
// second half are scored: the logits at positions nCtx/2 .. nCtx-2 predict
// tokens nCtx/2+1 .. nCtx-1, so every scored token has at least nCtx/2
// tokens of context. maxChunks > 0 limits the chunks. progress, if not
// nil, is called after each chunk with its number (from 1) and the running
// perplexity.
func Perplexity(m model.Model, tok *tokenizer.Tokenizer, text string, nCtx, maxChunks int, progress func(chunk int, ppl float64)) (*PerplexityResult, error) {
	if nCtx < 4 {
		return nil, fmt.Errorf("perplexity: context %d is too small (want at least 4 tokens)", nCtx)
	}
	tokens := tok.Encode(text, true, false)
	return perplexityTokens(m, tokens, tok.AddBOS(), tok.BOS(), nCtx, maxChunks, progress)
}

func perplexityTokens(m model.Model, tokens []int32, addBOS bool, bos int32, nCtx, maxChunks int, progress func(int, float64)) (*PerplexityResult, error) {
	if len(tokens) < 2*nCtx {
		return nil, fmt.Errorf("perplexity: %w: it has %d tokens, a context of %d needs at least %d (use a longer text or a smaller -c)", ErrTextTooShort, len(tokens), nCtx, 2*nCtx)
	}
	nChunk := len(tokens) / nCtx
	if maxChunks > 0 {
		nChunk = min(nChunk, maxChunks)
	}
	vocab := m.Config().VocabSize
	first := nCtx / 2
	res := &PerplexityResult{Tokens: len(tokens), NCtx: nCtx, Chunks: nChunk}
	cache := m.NewCache(nCtx)
	chunk := make([]int32, nCtx)
	all := make([]float32, 0, nCtx*vocab)
	var nll, nll2 float64
	count := 0
	for i := range nChunk {
		copy(chunk, tokens[i*nCtx:(i+1)*nCtx])
		if addBOS {
			chunk[0] = bos
		}
		cache.Reset()
		all = all[:0]
		for start := 0; start < nCtx; start += BatchSize {
			end := min(start+BatchSize, nCtx)
			logits, err := m.Forward(cache, chunk[start:end], true)
			if err != nil {
				return nil, fmt.Errorf("perplexity: chunk %d: %w", i+1, err)
			}
			all = append(all, logits...)
		}
		if len(all) != nCtx*vocab {
			return nil, fmt.Errorf("perplexity: model returned %d logits for %d tokens of a %d-token vocabulary", len(all), nCtx, vocab)
		}
		for j := first; j < nCtx-1; j++ {
			next := tokens[i*nCtx+j+1]
			if next < 0 || int(next) >= vocab {
				return nil, fmt.Errorf("perplexity: token id %d outside the vocabulary (%d)", next, vocab)
			}
			v := -logSoftmax(all[j*vocab:(j+1)*vocab], int(next))
			nll += v
			nll2 += v * v
		}
		count += nCtx - first - 1
		ppl := math.Exp(nll / float64(count))
		res.Running = append(res.Running, ppl)
		if progress != nil {
			progress(i+1, ppl)
		}
	}
	res.Scored = count
	mean := nll / float64(count)
	res.PPL = math.Exp(mean)
	if v := nll2/float64(count) - mean*mean; v > 0 && count > 1 {
		res.Err = math.Sqrt(v/float64(count-1)) * res.PPL
	}
	return res, nil
}

// logSoftmax returns log(softmax(logits)[tok]) computed as llama-perplexity
// does: float32 differences from the maximum, float32 exp, summed in
// float64.
func logSoftmax(logits []float32, tok int) float64 {
	maxLogit := logits[0]
	for _, v := range logits[1:] {
		maxLogit = max(maxLogit, v)
	}
	var sum float64
	for _, v := range logits {
		sum += float64(float32(math.Exp(float64(v - maxLogit))))
	}
	return float64(logits[tok]-maxLogit) - math.Log(sum)
}
