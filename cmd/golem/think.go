package main

// Thinking output of `golem run`: reasoning that the server separates into
// message.thinking (or, running a file directly, that the model wraps in
// <think>...</think>) is shown in a "Thinking..." block before the answer,
// as `ollama run` shows it, or hidden with --hidethinking.

import (
	"fmt"
	"strings"

	"golem/api"
	"golem/presets"
)

// Terminal colors of the thinking block (256-color grey, bold, reset).
const (
	colorGrey    = "\x1b[38;5;245m"
	colorBold    = "\x1b[1m"
	colorDefault = "\x1b[0m"
)

// parseThink turns the --think flag's value into the request's think
// field: true/false or a level (low, medium, high).
func parseThink(s string) (*api.ThinkValue, error) {
	var t api.ThinkValue
	switch v := strings.ToLower(strings.TrimSpace(s)); v {
	case "true", "1", "yes", "on":
		t.Value = true
	case "false", "0", "no", "off":
		t.Value = false
	case "low", "medium", "high":
		t.Value = v
	default:
		return nil, fmt.Errorf("--think: want true, false, low, medium or high, not %q", s)
	}
	return &t, nil
}

// textSink is where streamed answer text goes: write for text (wrapped
// in interactive mode), raw for markers that must not be wrapped.
type textSink interface {
	write(s string) error
	raw(s string)
}

// thinkWriter prints a stream of thinking and content chunks: the
// thinking, unless hidden, between a "Thinking..." line and a "...done
// thinking." line (grey on a terminal), then the content.
type thinkWriter struct {
	sink   textSink
	hide   bool
	color  bool
	opened bool // the Thinking... line was printed
	closed bool // the ...done thinking. line was printed
	nl     bool // the thinking printed so far ends with a line break
}

// thinking prints a chunk of reasoning.
func (w *thinkWriter) thinking(s string) error {
	if s == "" || w.hide {
		return nil
	}
	if !w.opened {
		w.opened = true
		if w.color {
			w.sink.raw(colorGrey + colorBold + "Thinking...\n" + colorDefault + colorGrey)
		} else {
			w.sink.raw("Thinking...\n")
		}
	}
	w.nl = strings.HasSuffix(s, "\n")
	return w.sink.write(s)
}

// content prints a chunk of the answer, closing the thinking block first.
func (w *thinkWriter) content(s string) error {
	if s == "" {
		return nil
	}
	w.close()
	return w.sink.write(s)
}

// close ends an open thinking block (also when the answer is empty).
func (w *thinkWriter) close() {
	if !w.opened || w.closed {
		return
	}
	w.closed = true
	text := "...done thinking.\n\n"
	if !w.nl {
		text = "\n" + text
	}
	if w.color {
		w.sink.raw(colorGrey + colorBold + text + colorDefault)
	} else {
		w.sink.raw(text)
	}
}

// thinkSplitter separates a model's raw output into thinking and content
// when it opens with <think> (after optional blanks): everything up to
// </think> is thinking, the rest content (with the blanks after </think>
// dropped). Output that does not open with <think> is all content. Tags
// split across chunks are held back until they can be told apart.
type thinkSplitter struct {
	state int // splitStart, splitThinking, splitContent
	buf   string
	lead  bool // drop blanks before the thinking (just after <think>)
	trim  bool // drop blanks before the next content (just after </think>)
	emit  func(thinking, content string) error
}

const (
	splitStart = iota
	splitThinking
	splitContent
)

const (
	openTag  = "<think>"
	closeTag = "</think>"
)

func (s *thinkSplitter) write(text string) error {
	s.buf += text
	for {
		switch s.state {
		case splitStart:
			t := strings.TrimLeft(s.buf, " \t\r\n")
			switch {
			case strings.HasPrefix(t, openTag):
				s.buf = t[len(openTag):]
				s.state, s.lead = splitThinking, true
				continue
			case strings.HasPrefix(openTag, t):
				return nil // only blanks or part of the tag so far
			}
			s.state = splitContent
			continue
		case splitThinking:
			if s.lead {
				s.buf = strings.TrimLeft(s.buf, " \t\r\n")
				if s.buf == "" {
					return nil
				}
				s.lead = false
			}
			if i := strings.Index(s.buf, closeTag); i >= 0 {
				th := s.buf[:i]
				s.buf = s.buf[i+len(closeTag):]
				s.state, s.trim = splitContent, true
				if err := s.emit(strings.TrimRight(th, " \t\r\n"), ""); err != nil {
					return err
				}
				continue
			}
			// Hold back what may start </think> and the blanks before
			// it, which are dropped if the tag follows.
			keep := partialSuffix(s.buf, closeTag)
			th := strings.TrimRight(s.buf[:len(s.buf)-keep], " \t\r\n")
			s.buf = s.buf[len(th):]
			return s.emit(th, "")
		default:
			c := s.buf
			if s.trim {
				c = strings.TrimLeft(c, " \t\r\n")
				if c == "" {
					s.buf = ""
					return nil
				}
				s.trim = false
			}
			s.buf = ""
			return s.emit("", c)
		}
	}
}

// flush emits what is held back at the end of the output.
func (s *thinkSplitter) flush() error {
	b := s.buf
	s.buf = ""
	switch s.state {
	case splitThinking:
		return s.emit(b, "")
	default:
		if s.trim {
			b = strings.TrimLeft(b, " \t\r\n")
		}
		return s.emit("", b)
	}
}

// partialSuffix returns the length of the longest suffix of s that is a
// proper prefix of tag (text that may become the tag).
func partialSuffix(s, tag string) int {
	for n := min(len(tag)-1, len(s)); n > 0; n-- {
		if strings.HasSuffix(s, tag[:n]) {
			return n
		}
	}
	return 0
}

// runOutput prints one streamed answer of `golem run`: the thinking block
// and the content, or with answerOnly only the final answer that the
// preset's answer line introduces, once the answer is complete.
type runOutput struct {
	tw         *thinkWriter
	answerOnly bool
	prefix     string // the preset's answer line, with answerOnly
	content    strings.Builder
	thought    strings.Builder
}

// newRunOutput returns the printer for out; color only on a terminal.
func newRunOutput(sink textSink, hide, color, answerOnly bool, prefix string) *runOutput {
	return &runOutput{tw: &thinkWriter{sink: sink, hide: hide, color: color}, answerOnly: answerOnly, prefix: prefix}
}

func (o *runOutput) thinking(s string) error {
	o.thought.WriteString(s)
	return o.tw.thinking(s)
}

func (o *runOutput) text(s string) error {
	o.content.WriteString(s)
	if o.answerOnly {
		return nil
	}
	return o.tw.content(s)
}

// finish closes the thinking block and, with answerOnly, prints the
// extracted answer (or, when the model wrote no answer line, the whole
// answer, with a warning on warn).
func (o *runOutput) finish(warn func(string)) error {
	o.tw.close()
	if !o.answerOnly {
		return nil
	}
	if ans, ok := presets.ExtractAnswer(o.content.String(), o.prefix); ok {
		return o.tw.sink.write(ans)
	}
	warn(fmt.Sprintf("the answer has no %q line; printing all of it", o.prefix))
	return o.tw.sink.write(o.content.String())
}
