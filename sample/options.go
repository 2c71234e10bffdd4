// Package sample picks the next token from a model's logits the way
// llama.cpp's default sampler chain does (the chain Ollama's llama.cpp
// runner uses), and matches stop strings in streamed output.
//
// The chain, in llama.cpp's order:
//
//  1. penalties over the last repeat_last_n accepted tokens (repeat,
//     frequency, presence);
//  2. top_k, typical_p, top_p, min_p;
//  3. temperature;
//  4. a draw from the softmax of what is left, with MT19937 seeded like
//     llama.cpp's dist sampler.
//
// A temperature of zero or less is greedy: the highest raw logit wins (the
// lowest token id on ties) and the penalties do not apply, so temperature 0
// gives llama.cpp's greedy tokens.
//
// A Sampler keeps its buffers between calls, so sampling a token allocates
// nothing once the first call has sized them.
package sample

import (
	"fmt"
	"math"
)

// Options are the sampling options of Ollama's native API (the "options"
// object of /api/generate and /api/chat; also Modelfile PARAMETERs). The
// JSON names are Ollama's. Decode a request on top of DefaultOptions so that
// absent fields keep their defaults:
//
//	opts := sample.DefaultOptions()
//	err := json.Unmarshal(raw, &opts)
//
// The server reuses this type; options that only affect loading (num_gpu,
// num_thread, ...) are not part of it.
type Options struct {
	// NumCtx is the context window in tokens. It matters here only for
	// RepeatLastN == -1.
	NumCtx int `json:"num_ctx"`
	// NumKeep is how many prompt tokens survive a context shift.
	NumKeep int `json:"num_keep"`
	// NumPredict is the maximum number of tokens to generate; -1 means no
	// limit (until the context is full or a stop condition).
	NumPredict int `json:"num_predict"`
	// Seed seeds the random number generator. Any negative value picks a
	// random seed; others make sampling reproducible (the low 32 bits are
	// used, as llama.cpp does).
	Seed int `json:"seed"`

	Temperature float32 `json:"temperature"`
	// TopK keeps the K most likely tokens; 0 or less disables it.
	TopK int `json:"top_k"`
	// TopP keeps the smallest set of most likely tokens whose probability
	// sum reaches TopP; 1 disables it.
	TopP float32 `json:"top_p"`
	// MinP drops tokens less likely than MinP times the most likely one; 0
	// disables it.
	MinP float32 `json:"min_p"`
	// TypicalP is locally typical sampling; 1 disables it.
	TypicalP float32 `json:"typical_p"`
	// MinKeep is the least number of tokens top_p, min_p and typical_p
	// keep (llama.cpp's min_keep; Ollama does not set it, so 0).
	MinKeep int `json:"min_keep"`

	// RepeatLastN is how many recent tokens the penalties look at: 0
	// disables them, -1 means NumCtx.
	RepeatLastN int `json:"repeat_last_n"`
	// RepeatPenalty divides positive logits and multiplies negative ones
	// of recently seen tokens; 1 disables it.
	RepeatPenalty float32 `json:"repeat_penalty"`
	// PresencePenalty is subtracted once from the logit of every recently
	// seen token.
	PresencePenalty float32 `json:"presence_penalty"`
	// FrequencyPenalty is subtracted once per recent occurrence.
	FrequencyPenalty float32 `json:"frequency_penalty"`

	// Stop lists strings that end generation; the output is cut before
	// the first one found (see StopMatcher).
	Stop []string `json:"stop"`
}

// DefaultOptions returns Ollama's defaults (api.DefaultOptions): temperature
// 0.8, top_k 40, top_p 0.9, min_p 0, typical_p 1, repeat_last_n 64,
// repeat_penalty 1.1, no presence or frequency penalty, a random seed, no
// token limit, num_keep 4 and a 4096-token context.
func DefaultOptions() Options {
	return Options{
		NumCtx:           4096,
		NumKeep:          4,
		NumPredict:       -1,
		Seed:             -1,
		Temperature:      0.8,
		TopK:             40,
		TopP:             0.9,
		MinP:             0,
		TypicalP:         1,
		RepeatLastN:      64,
		RepeatPenalty:    1.1,
		PresencePenalty:  0,
		FrequencyPenalty: 0,
	}
}

// Validate reports options that cannot be used (llama.cpp refuses the
// same): non-finite numbers, a repeat penalty that is not positive, a
// repeat window below -1, a negative min_keep.
func (o *Options) Validate() error {
	finite := func(name string, v float32) error {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("sample: %s must be a finite number, not %v", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    float32
	}{
		{"temperature", o.Temperature}, {"top_p", o.TopP}, {"min_p", o.MinP},
		{"typical_p", o.TypicalP}, {"repeat_penalty", o.RepeatPenalty},
		{"presence_penalty", o.PresencePenalty}, {"frequency_penalty", o.FrequencyPenalty},
	} {
		if err := finite(f.name, f.v); err != nil {
			return err
		}
	}
	if o.RepeatPenalty <= 0 {
		return fmt.Errorf("sample: repeat_penalty must be greater than 0, not %v", o.RepeatPenalty)
	}
	if o.RepeatLastN < -1 {
		return fmt.Errorf("sample: repeat_last_n must be -1 (the context size), 0 (off) or positive, not %d", o.RepeatLastN)
	}
	if o.RepeatLastN == -1 && o.NumCtx <= 0 {
		return fmt.Errorf("sample: repeat_last_n -1 needs a positive num_ctx, not %d", o.NumCtx)
	}
	if o.MinKeep < 0 {
		return fmt.Errorf("sample: min_keep must not be negative, not %d", o.MinKeep)
	}
	return nil
}
