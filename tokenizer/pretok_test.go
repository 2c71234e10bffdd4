package tokenizer

import (
	"reflect"
	"testing"
)

func words(kind, text string) []string {
	var out []string
	for _, w := range splitWords(text, preSteps(kind)) {
		out = append(out, cptsToString(w))
	}
	return out
}

// TestPreTokenizers pins the word splits of the hand-written matchers on
// cases that exercise their regex semantics.
func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		kind, text string
		want       []string
	}{
		{preGPT2, "Hello world", []string{"Hello", " world"}},
		{preGPT2, "  Hello", []string{" ", " Hello"}},
		{preGPT2, "it's 42!!", []string{"it", "'s", " 42", "!!"}},
		{preGPT2, "x   \n", []string{"x", "   \n"}},
		{preLlama3, "1234567", []string{"123", "456", "7"}},
		{preLlama3, "I'M here", []string{"I", "'M", " here"}},
		{preLlama3, "a\n\n b", []string{"a", "\n\n", " b"}},
		{preLlama3, "...\n\nx", []string{"...\n\n", "x"}},
		{preQwen2, "2024", []string{"2", "0", "2", "4"}},
		{preQwen2, "e\u0301x", []string{"e", "\u0301x"}}, // [^\r\n\p{L}\p{N}]?\p{L}+
		{preQwen35, "e\u0301x", []string{"e\u0301x"}},
		{preDefault, "a+b=1234", []string{"a", "+", "b", "=", "123", "4"}},
		{preFalcon, "x`y 1234", []string{"x", "`", "y", " ", "123", "4"}},
		{preStarcoder, "abc 123", []string{"abc", " ", "1", "2", "3"}},
		{preDeepseekLLM, "Hi 你好 12\n", []string{"Hi", " ", "你好", " ", "12", "\n"}},
		{preDeepseekLLM, "ok  ", []string{"ok", "  "}},
		{preDeepseekCoder, "foo(1, 2)", []string{"foo", "(", "1", ",", " ", "2", ")"}},
	}
	for _, tc := range tests {
		if got := words(tc.kind, tc.text); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s %q: got %q, want %q", tc.kind, tc.text, got, tc.want)
		}
	}
}

// TestPreNames checks every accepted tokenizer.ggml.pre builds a splitter.
func TestPreNames(t *testing.T) {
	names := []string{"", "default", "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral",
		"midm-2.0", "lfm2", "jina-v5-nano", "dbrx", "smaug-bpe", "glm4", "chatglm-bpe", "deepseek-llm",
		"deepseek-coder", "falcon", "mpt", "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es",
		"jina-v2-de", "a.x-4.0", "mellum", "modern-bert", "olmo", "jais", "exaone4", "trillion",
		"granite-docling", "jina-v1-en", "jina-v2-code", "roberta-bpe", "starcoder", "refact", "codeshell",
		"exaone", "minerva-7b", "mellum2", "command-r", "smollm", "qwen2", "deepseek-r1-qwen", "kormo",
		"f2llmv2", "hunyuan", "solar-open", "grok-2", "qwen35", "stablelm2", "megrez"}
	for _, name := range names {
		tok := &Tokenizer{pre: name}
		if err := tok.setPre(); err != nil || len(tok.steps) == 0 {
			t.Errorf("pre %q: err %v, %d steps", name, err, len(tok.steps))
		}
	}
}
