package synth

import "fmt"

// The synthetic tokenizer is a GPT-2 style byte-level BPE vocabulary that
// llama.cpp and Golem both load: one token per byte (in GPT-2's printable
// byte-to-unicode form, so any text can be encoded), a few merges and
// their results, filler tokens "tok_N" up to the vocabulary size, and two
// control tokens at the end for BOS and EOS.

// vocabMerges are the merges of the tokenizer, in rank order; the result
// of each (the two parts joined) is a token.
var vocabMerges = []string{"Ġ t", "Ġ a", "h e", "i n", "r e", "o n", "Ġt he", "e r"}

// minVocab is the smallest vocabulary the tokenizer fits in.
var minVocab = 256 + len(vocabMerges) + 2

// byteLevelRunes returns GPT-2's byte-to-unicode table: printable bytes
// stand for themselves, the others map to U+0100 onwards in byte order.
func byteLevelRunes() [256]rune {
	var r [256]rune
	next := rune(256)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			r[b] = rune(b)
		} else {
			r[b] = next
			next++
		}
	}
	return r
}

// vocabulary returns the tokens, their llama.cpp token types (1 normal,
// 3 control) and the BOS and EOS ids for a vocabulary of n tokens
// (n >= minVocab).
func vocabulary(n int) (tokens []string, types []int32, bos, eos uint32) {
	tokens = make([]string, 0, n)
	types = make([]int32, 0, n)
	for _, r := range byteLevelRunes() {
		tokens = append(tokens, string(r))
	}
	for _, m := range vocabMerges {
		for i := 0; i < len(m); i++ {
			if m[i] == ' ' {
				tokens = append(tokens, m[:i]+m[i+1:])
				break
			}
		}
	}
	for i := len(tokens); i < n-2; i++ {
		tokens = append(tokens, fmt.Sprintf("tok_%d", i))
	}
	for range tokens {
		types = append(types, 1)
	}
	tokens = append(tokens, "<|begin_of_text|>", "<|end_of_text|>")
	types = append(types, 3, 3)
	return tokens, types, uint32(n - 2), uint32(n - 1)
}
