// Package tokenizer turns text into token ids and back the way llama.cpp's
// llama_tokenize / llama_detokenize do, configured from a GGUF file's
// tokenizer.ggml.* metadata.
//
// Three vocabulary types are supported: SentencePiece BPE ("llama": llama,
// mistral, gemma, phi-3 vocabularies), byte-level BPE ("gpt2", with the
// pre-tokenizer named by tokenizer.ggml.pre) and WordPiece ("bert").
package tokenizer

import (
	"fmt"
	"sort"
	"strings"

	"golem/gguf"
)

// Token attributes (llama.cpp's llama_token_attr bits).
const (
	attrUnknown     = 1 << 0
	attrUnused      = 1 << 1
	attrNormal      = 1 << 2
	attrControl     = 1 << 3
	attrUserDefined = 1 << 4
	attrByte        = 1 << 5
	attrLStrip      = 1 << 7
	attrRStrip      = 1 << 8
)

// vocabType is the tokenization algorithm.
type vocabType int

const (
	typeSPM vocabType = iota
	typeBPE
	typeWPM
)

// Pre-tokenizer kinds (several tokenizer.ggml.pre names share one).
const (
	preDefault       = "default"
	preLlama3        = "llama3"
	preQwen2         = "qwen2"
	preQwen35        = "qwen35"
	preGPT2          = "gpt2"
	preStarcoder     = "starcoder"
	preFalcon        = "falcon"
	preDeepseekLLM   = "deepseek-llm"
	preDeepseekCoder = "deepseek-coder"
)

// null marks an absent special token.
const null int32 = -1

// Tokenizer encodes and decodes text for one vocabulary. It is immutable
// after FromGGUF and safe for concurrent use.
type Tokenizer struct {
	model, pre string
	typ        vocabType
	preKind    string
	steps      []splitStep

	tokens []string
	scores []float32
	attrs  []uint32
	toID   map[string]int32
	ranks  map[mergePair]int

	bos, eos, eot, eom, unk, sep, pad int32
	fim                               [6]int32 // pre, suf, mid, pad, rep, sep
	eog                               map[int32]bool

	addBOS, addEOS, addSpacePrefix bool
	ignoreMerges, cleanSpaces      bool
	escapeWhitespace               bool
	lowercase, stripAccents        bool
	maxTokenLen                    int

	// specials are the control, user-defined and unknown tokens, longest
	// text first, matched in raw text before tokenization.
	specials []int32
}

type mergePair struct{ left, right string }

// FromGGUF builds the tokenizer described by f's tokenizer.ggml.* keys.
func FromGGUF(f *gguf.File) (*Tokenizer, error) {
	if f == nil {
		return nil, fmt.Errorf("tokenizer: nil gguf file")
	}
	t := &Tokenizer{eog: map[int32]bool{}}
	model, ok := f.String("tokenizer.ggml.model")
	if !ok {
		return nil, fmt.Errorf("tokenizer: missing tokenizer.ggml.model")
	}
	t.model = model
	t.pre, _ = f.String("tokenizer.ggml.pre")

	// Defaults per vocabulary type, then per pre-tokenizer, as llama.cpp.
	t.escapeWhitespace = true
	t.lowercase = true
	switch model {
	case "llama":
		t.typ = typeSPM
		t.bos, t.eos, t.unk, t.sep, t.pad = 1, 2, 0, null, null
		t.addSpacePrefix, t.addBOS = true, true
	case "bert":
		t.typ = typeWPM
		t.bos, t.eos, t.unk, t.sep, t.pad = 101, null, 100, 102, 0
		t.cleanSpaces, t.addBOS = true, true
	case "gpt2":
		t.typ = typeBPE
		t.bos, t.eos, t.unk, t.sep, t.pad = 11, 11, null, null, null
		t.escapeWhitespace, t.cleanSpaces = false, true
		if err := t.setPre(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("tokenizer: unsupported tokenizer model %q", model)
	}
	t.eot, t.eom = null, null
	t.fim = [6]int32{null, null, null, null, null, null}
	if v, ok := f.Bool("tokenizer.ggml.add_space_prefix"); ok {
		t.addSpacePrefix = v
	}

	toks, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok {
		return nil, fmt.Errorf("tokenizer: missing or invalid tokenizer.ggml.tokens")
	}
	n := len(toks)
	if n == 0 {
		return nil, fmt.Errorf("tokenizer: empty vocabulary")
	}
	if err := t.loadTokens(f, toks); err != nil {
		return nil, err
	}
	if t.typ == typeBPE {
		merges, ok := f.Strings("tokenizer.ggml.merges")
		if !ok {
			return nil, fmt.Errorf("tokenizer: missing or invalid tokenizer.ggml.merges")
		}
		t.ranks = make(map[mergePair]int, len(merges))
		for i, m := range merges {
			var p mergePair
			if k := strings.IndexByte(m[min(1, len(m)):], ' '); k >= 0 {
				k += min(1, len(m))
				p = mergePair{m[:k], m[k+1:]}
			}
			if _, dup := t.ranks[p]; !dup {
				t.ranks[p] = i
			}
		}
	}

	// Special token ids: defaults out of range are dropped; a metadata value
	// out of range keeps the default.
	for _, s := range []struct {
		key string
		id  *int32
	}{
		{"tokenizer.ggml.bos_token_id", &t.bos},
		{"tokenizer.ggml.eos_token_id", &t.eos},
		{"tokenizer.ggml.eot_token_id", &t.eot},
		{"tokenizer.ggml.eom_token_id", &t.eom},
		{"tokenizer.ggml.unknown_token_id", &t.unk},
		{"tokenizer.ggml.seperator_token_id", &t.sep},
		{"tokenizer.ggml.padding_token_id", &t.pad},
		{"tokenizer.ggml.fim_pre_token_id", &t.fim[0]},
		{"tokenizer.ggml.fim_suf_token_id", &t.fim[1]},
		{"tokenizer.ggml.fim_mid_token_id", &t.fim[2]},
		{"tokenizer.ggml.fim_pad_token_id", &t.fim[3]},
		{"tokenizer.ggml.fim_rep_token_id", &t.fim[4]},
		{"tokenizer.ggml.fim_sep_token_id", &t.fim[5]},
		{"tokenizer.ggml.prefix_token_id", &t.fim[0]},
		{"tokenizer.ggml.suffix_token_id", &t.fim[1]},
		{"tokenizer.ggml.middle_token_id", &t.fim[2]},
	} {
		if *s.id >= int32(n) {
			*s.id = null
		}
		if v, ok := f.Uint(s.key); ok && v < uint64(n) {
			*s.id = int32(v)
		}
	}
	if v, ok := f.Bool("tokenizer.ggml.add_bos_token"); ok {
		t.addBOS = v
	}
	if v, ok := f.Bool("tokenizer.ggml.add_eos_token"); ok {
		t.addEOS = v
	}
	if v, ok := f.Bool("tokenizer.ggml.normalizer.lowercase"); ok {
		t.lowercase = v
	}
	t.stripAccents = t.lowercase
	if v, ok := f.Bool("tokenizer.ggml.normalizer.strip_accents"); ok {
		t.stripAccents = v
	}
	name, _ := f.String("general.name")
	t.markSpecial(strings.ToLower(name), f.Architecture())
	return t, nil
}

// setPre maps tokenizer.ggml.pre to a pre-tokenizer and its flags.
func (t *Tokenizer) setPre() error {
	switch t.pre {
	case "", "default":
		t.preKind = preDefault
	case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
		t.preKind, t.ignoreMerges, t.addBOS = preLlama3, true, true
	case "dbrx", "smaug-bpe":
		t.preKind = preLlama3
	case "glm4", "chatglm-bpe":
		t.preKind, t.bos = preLlama3, null
	case "deepseek-llm":
		t.preKind, t.cleanSpaces = preDeepseekLLM, false
	case "deepseek-coder":
		t.preKind, t.cleanSpaces = preDeepseekCoder, false
	case "falcon":
		t.preKind = preFalcon
	case "mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de",
		"a.x-4.0", "mellum", "modern-bert", "olmo", "jais", "exaone4":
		t.preKind = preGPT2
	case "trillion", "granite-docling":
		t.preKind, t.cleanSpaces = preGPT2, false
	case "jina-v1-en", "jina-v2-code", "roberta-bpe":
		t.preKind = preGPT2
	case "starcoder", "refact", "codeshell", "exaone", "minerva-7b", "mellum2":
		t.preKind = preStarcoder
	case "command-r", "smollm":
		t.preKind, t.cleanSpaces = preStarcoder, false
	case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2", "hunyuan", "solar-open", "grok-2":
		t.preKind, t.cleanSpaces = preQwen2, false
	case "qwen35":
		t.preKind, t.cleanSpaces = preQwen35, false
	case "stablelm2", "megrez":
		t.preKind = preQwen2
	default:
		return fmt.Errorf("tokenizer: unsupported pre-tokenizer %q", t.pre)
	}
	t.steps = preSteps(t.preKind)
	return nil
}

// loadTokens reads texts, scores and types.
func (t *Tokenizer) loadTokens(f *gguf.File, toks []string) error {
	n := len(toks)
	t.tokens = make([]string, n)
	t.scores = make([]float32, n)
	t.attrs = make([]uint32, n)
	t.toID = make(map[string]int32, n)
	if a, ok := f.Array("tokenizer.ggml.scores"); ok {
		switch v := a.Values.(type) {
		case []float32:
			if len(v) < n {
				return fmt.Errorf("tokenizer: %d scores for %d tokens", len(v), n)
			}
			copy(t.scores, v)
		case []int32:
			if len(v) < n {
				return fmt.Errorf("tokenizer: %d scores for %d tokens", len(v), n)
			}
			for i := range t.scores {
				t.scores[i] = float32(v[i])
			}
		default:
			return fmt.Errorf("tokenizer: invalid type for tokenizer.ggml.scores")
		}
	}
	var types []int32
	if a, ok := f.Array("tokenizer.ggml.token_type"); ok {
		v, isInt := a.Values.([]int32)
		if !isInt {
			return fmt.Errorf("tokenizer: invalid type for tokenizer.ggml.token_type")
		}
		if len(v) < n {
			return fmt.Errorf("tokenizer: %d token types for %d tokens", len(v), n)
		}
		types = v
	}
	for i, w := range toks {
		if w == "" {
			w = fmt.Sprintf("[EMPTY_%d]", i)
		}
		t.tokens[i] = w
		t.toID[w] = int32(i)
		t.maxTokenLen = max(t.maxTokenLen, len(w))
		t.attrs[i] = attrNormal
		if types != nil {
			switch types[i] {
			case 1:
				t.attrs[i] = attrNormal
			case 2:
				t.attrs[i] = attrUnknown
			case 3:
				t.attrs[i] = attrControl
			case 4:
				t.attrs[i] = attrUserDefined
			case 5:
				t.attrs[i] = attrUnused
			case 6:
				t.attrs[i] = attrByte
			default:
				t.attrs[i] = 0
			}
		}
	}
	return nil
}

// eogTexts are the token texts llama.cpp treats as end of generation.
var eogTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
	"<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
	"<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
	"<｜end▁of▁sentence｜>", "[e~[",
}

// eotTexts are the texts llama.cpp accepts as the EOT token when the
// metadata names none.
var eotTexts = []string{
	"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
	"<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
}

// fimTexts are the texts llama.cpp recognises as FIM prefix, suffix,
// middle, pad, repo and file-separator tokens.
var fimTexts = [6][]string{
	{"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"},
	{"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"},
	{"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"},
	{"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"},
	{"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"},
	{"<|file_sep|>"},
}

// markSpecial derives EOT/EOM, the end-of-generation set, the per-model
// strip attributes and the special-token list, as llama.cpp's loader does.
func (t *Tokenizer) markSpecial(modelName, arch string) {
	ctl := func(id int32) { t.attrs[id] |= attrControl }
	// EOT / EOM by text when not given (lowest id among candidates).
	if t.eot == null {
		for _, s := range eotTexts {
			if id, ok := t.toID[s]; ok && (t.eot == null || id < t.eot) {
				t.eot = id
			}
		}
		if t.eot != null {
			ctl(t.eot)
		}
	}
	if t.eom == null {
		if id, ok := t.toID["<|eom_id|>"]; ok {
			t.eom = id
			ctl(id)
		}
	}
	// FIM tokens: ids from metadata, else found by text and made control;
	// pad, repo and file-separator tokens also end generation.
	for i, cands := range fimTexts {
		id := t.fim[i]
		if id == null {
			for _, s := range cands {
				if c, ok := t.toID[s]; ok && (id == null || c < id) {
					id = c
				}
			}
			if id != null {
				ctl(id)
			}
		}
		if i >= 3 && id != null {
			t.eog[id] = true
		}
	}
	for _, s := range eogTexts {
		if id, ok := t.toID[s]; ok {
			t.eog[id] = true
			ctl(id)
		}
	}
	for _, s := range []string{"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"} {
		if id, ok := t.toID[s]; ok {
			t.attrs[id] = attrUserDefined
		}
	}
	for _, id := range []int32{t.eos, t.eot, t.eom} {
		if id != null {
			t.eog[id] = true
		}
	}
	// o200k_harmony / solar-open: <|end|> is not an end of generation there.
	has := func(s string) (int32, bool) {
		id, ok := t.toID[s]
		return id, ok && t.eog[id]
	}
	_, ret := has("<|return|>")
	_, call := has("<|call|>")
	_, calls := has("<|calls|>")
	_, flush := has("<|flush|>")
	if endID, end := has("<|end|>"); end && ((ret && (call || calls)) || ((call || calls) && flush)) {
		delete(t.eog, endID)
		t.attrs[endID] = attrUserDefined
	}
	if sID, s := has("</s>"); s {
		if _, tr := has("<|tool_response>"); tr {
			delete(t.eog, sID)
			t.attrs[sID] = attrNormal
		}
	}

	for id := range t.tokens {
		if t.attrs[id]&(attrControl|attrUserDefined|attrUnknown) != 0 {
			t.specials = append(t.specials, int32(id))
		}
	}
	sort.SliceStable(t.specials, func(i, j int) bool {
		return len(t.tokens[t.specials[i]]) > len(t.tokens[t.specials[j]])
	})

	set := func(s string, a uint32, on bool) {
		if id, ok := t.toID[s]; ok {
			if on {
				t.attrs[id] |= a
			} else {
				t.attrs[id] &^= a
			}
		}
	}
	switch {
	case containsAny(t.pre, "jina-v2-de", "jina-v2-es", "jina-v2-code") || containsAny(arch, "nomic-bert-moe", "jina-bert-v3"):
		set("<mask>", attrLStrip, true)
	case containsAny(modelName, "phi-3", "phi3"):
		for _, id := range t.specials {
			t.attrs[id] |= attrRStrip
		}
		set("</s>", attrRStrip, true)
		for _, s := range []string{"<unk>", "<s>", "<|endoftext|>"} {
			set(s, attrRStrip, false)
		}
	case containsAny(modelName, "modern-bert"):
		set("[MASK]", attrLStrip, true)
	}
}

func containsAny(s string, subs ...string) bool {
	for _, x := range subs {
		if strings.Contains(s, x) {
			return true
		}
	}
	return false
}

// Model returns tokenizer.ggml.model ("llama", "gpt2", "bert").
func (t *Tokenizer) Model() string { return t.model }

// Pre returns tokenizer.ggml.pre ("" when absent).
func (t *Tokenizer) Pre() string { return t.pre }

// VocabSize returns the number of tokens.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// BOS returns the beginning-of-sequence id (CLS for BERT), or -1.
func (t *Tokenizer) BOS() int32 { return t.bos }

// EOS returns the end-of-sequence id, or -1.
func (t *Tokenizer) EOS() int32 { return t.eos }

// EOT returns the end-of-turn id, or -1.
func (t *Tokenizer) EOT() int32 { return t.eot }

// SEP returns the separator id (BERT), or -1.
func (t *Tokenizer) SEP() int32 { return t.sep }

// PAD returns the padding id, or -1.
func (t *Tokenizer) PAD() int32 { return t.pad }

// AddBOS reports whether Encode with addSpecial prepends BOS.
func (t *Tokenizer) AddBOS() bool { return t.addBOS || t.typ == typeWPM }

// AddEOS reports whether Encode with addSpecial appends EOS.
func (t *Tokenizer) AddEOS() bool { return t.addEOS }

// IsEOG reports whether id ends generation (EOS, EOT, EOM and tokens such
// as <|im_end|> or <|endoftext|>, as llama.cpp marks them).
func (t *Tokenizer) IsEOG(id int32) bool { return id != null && t.eog[id] }

// IsControl reports whether id is a control token.
func (t *Tokenizer) IsControl(id int32) bool {
	return t.valid(id) && t.attrs[id]&attrControl != 0
}

// Token returns the vocabulary text of id ("" if out of range).
func (t *Tokenizer) Token(id int32) string {
	if !t.valid(id) {
		return ""
	}
	return t.tokens[id]
}

// TokenID returns the id whose vocabulary text is exactly s.
func (t *Tokenizer) TokenID(s string) (int32, bool) {
	id, ok := t.toID[s]
	return id, ok
}

func (t *Tokenizer) valid(id int32) bool { return id >= 0 && int(id) < len(t.tokens) }
