package toolcall

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// ThinkTags are the markers around a model's reasoning.
type ThinkTags struct {
	Open, Close string
}

// knownThinkTags are the reasoning markers of the main thinking families,
// most specific first: Qwen 3 / QwQ / DeepSeek R1 / Granite and most
// others write <think>...</think>; Command R7B, Magistral, Kimi and Seed
// have their own.
var knownThinkTags = []ThinkTags{
	{"<|START_THINKING|>", "<|END_THINKING|>"},
	{"[THINK]", "[/THINK]"},
	{"◁think▷", "◁/think▷"},
	{"<seed:think>", "</seed:think>"},
	{"<think>", "</think>"},
}

// DetectThinkTags returns the reasoning markers a chat template uses, found
// as the first known pair of which the template mentions both halves, and
// false when it shows none (the model does not think, or in a form this
// package does not separate, such as gpt-oss's harmony channels).
func DetectThinkTags(chatTemplate string) (ThinkTags, bool) {
	for _, t := range knownThinkTags {
		if strings.Contains(chatTemplate, t.Open) && strings.Contains(chatTemplate, t.Close) {
			return t, true
		}
	}
	return ThinkTags{}, false
}

// thinkState is where a ThinkSplitter is in the output.
type thinkState int

const (
	thinkLooking   thinkState = iota // before any text: is there an opening tag?
	thinkStartTrim                   // just after the opening tag: drop whitespace
	thinkInside                      // reasoning text
	thinkAfterTrim                   // just after the closing tag: drop whitespace
	thinkDone                        // answer text
)

// ThinkSplitter separates a streamed generation into reasoning and answer,
// as Ollama does: reasoning is recognized only at the very start of the
// output (after optional whitespace), or from the start when the prompt
// already opened it; whitespace right after either tag and before the
// closing tag is dropped. Text is held back only while it may be part of a
// tag or of trailing whitespace, so chunks may cut tags anywhere. The zero
// value is not usable; call NewThinkSplitter.
type ThinkSplitter struct {
	tags  ThinkTags
	state thinkState
	buf   string
}

// NewThinkSplitter returns a splitter for tags. inside says the prompt
// already ended with the opening tag (templates that force reasoning), so
// the output starts as reasoning.
func NewThinkSplitter(tags ThinkTags, inside bool) *ThinkSplitter {
	s := &ThinkSplitter{tags: tags}
	if inside {
		s.state = thinkStartTrim
	}
	return s
}

// PromptOpensThinking reports whether a rendered prompt ends inside a
// reasoning block (its last non-space text is the opening tag).
func PromptOpensThinking(prompt string, tags ThinkTags) bool {
	return tags.Open != "" && strings.HasSuffix(strings.TrimRightFunc(prompt, unicode.IsSpace), tags.Open)
}

// Push adds generated text and returns the reasoning and answer text that
// are now certain.
func (s *ThinkSplitter) Push(chunk string) (thinking, content string) {
	s.buf += chunk
	return s.run(false)
}

// Flush ends the stream and returns what was held back: an unclosed
// reasoning block stays reasoning, a partial opening tag is answer text.
func (s *ThinkSplitter) Flush() (thinking, content string) {
	return s.run(true)
}

func (s *ThinkSplitter) run(final bool) (thinking, content string) {
	var th, ct strings.Builder
	for {
		switch s.state {
		case thinkLooking:
			rest := strings.TrimLeftFunc(s.buf, unicode.IsSpace)
			switch {
			case strings.HasPrefix(rest, s.tags.Open):
				s.buf, s.state = rest[len(s.tags.Open):], thinkStartTrim
				continue
			case !final && (rest == "" || strings.HasPrefix(s.tags.Open, rest)):
				return th.String(), ct.String() // may still become the tag
			}
			s.state = thinkDone
			continue
		case thinkStartTrim, thinkAfterTrim:
			s.buf = strings.TrimLeftFunc(s.buf, unicode.IsSpace)
			if s.buf == "" && !final {
				return th.String(), ct.String()
			}
			if s.state == thinkStartTrim {
				s.state = thinkInside
			} else {
				s.state = thinkDone
			}
			continue
		case thinkInside:
			if i := strings.Index(s.buf, s.tags.Close); i >= 0 {
				th.WriteString(strings.TrimRightFunc(s.buf[:i], unicode.IsSpace))
				s.buf, s.state = s.buf[i+len(s.tags.Close):], thinkAfterTrim
				continue
			}
			if final {
				th.WriteString(strings.TrimRightFunc(s.buf, unicode.IsSpace))
				s.buf = ""
				return th.String(), ct.String()
			}
			keep := partialSuffix(s.buf, s.tags.Close)
			cut := len(s.buf) - keep
			// Trailing whitespace waits: it is dropped if the tag follows.
			for cut > 0 {
				r, n := utf8.DecodeLastRuneInString(s.buf[:cut])
				if !unicode.IsSpace(r) {
					break
				}
				cut -= n
			}
			th.WriteString(s.buf[:cut])
			s.buf = s.buf[cut:]
			return th.String(), ct.String()
		case thinkDone:
			ct.WriteString(s.buf)
			s.buf = ""
			return th.String(), ct.String()
		}
	}
}

// partialSuffix returns the length of the longest proper suffix of s that
// is a prefix of tag.
func partialSuffix(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}

// formatTokens are the texts of the special tokens each format's syntax
// is written with (llama.cpp's preserved tokens for the format).
var formatTokens = [numFormats][]string{
	FormatHermes:      {"<tool_call>", "</tool_call>"},
	FormatMistral:     {"[TOOL_CALLS]", "[ARGS]", "[CALL_ID]"},
	FormatLlama3:      {"<|python_tag|>"},
	FormatGranite:     {"<|tool_call|>"},
	FormatCommandR:    {"<|START_ACTION|>", "<|END_ACTION|>", "<|START_RESPONSE|>", "<|END_RESPONSE|>"},
	FormatHarmony:     {"<|channel|>", "<|message|>", "<|start|>", "<|end|>", "<|constrain|>"},
	FormatDeepSeek:    {dsCallsBegin, dsCallsEnd, dsCallBegin, dsCallEnd, dsSep},
	FormatQwenXML:     {"<tool_call>", "</tool_call>"},
	FormatGLM:         {"<tool_call>", "</tool_call>", "<arg_key>", "</arg_key>", "<arg_value>", "</arg_value>"},
	FormatFunctionary: nil,
}

// SpecialTokens returns the texts of the special tokens format's syntax
// uses. A runtime that hides control tokens from the output must show
// these for the parsers to see the markers (llama.cpp's server does the
// same with its "preserved tokens").
func (f Format) SpecialTokens() []string {
	if f < 0 || f >= numFormats {
		return nil
	}
	return formatTokens[f]
}
