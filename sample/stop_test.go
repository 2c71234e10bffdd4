package sample

import (
	"strings"
	"testing"
)

func TestStopMatcher(t *testing.T) {
	cases := []struct {
		name    string
		stops   []string
		chunks  []string
		emitted []string // what each Push returns
		stopped bool
		hit     string
		flushed string
	}{
		{
			name: "no stops", stops: nil,
			chunks: []string{"Hello", " world"}, emitted: []string{"Hello", " world"},
		},
		{
			name: "stop inside a chunk", stops: []string{"User:"},
			chunks: []string{"Hi there", "! User: next"}, emitted: []string{"Hi there", "! "},
			stopped: true, hit: "User:",
		},
		{
			name: "stop across chunks", stops: []string{"User:"},
			chunks: []string{"Hi Us", "er", ": more"}, emitted: []string{"Hi ", "", ""},
			stopped: true, hit: "User:",
		},
		{
			name: "false start released", stops: []string{"User:"},
			chunks: []string{"Us", "ually", " fine"}, emitted: []string{"", "Usually", " fine"},
		},
		{
			name: "held back at the end is flushed", stops: []string{"</s>"},
			chunks: []string{"end </"}, emitted: []string{"end "}, flushed: "</",
		},
		{
			name: "one byte at a time", stops: []string{"\n\n"},
			chunks: []string{"a", "\n", "b", "\n", "\n", "c"}, emitted: []string{"a", "", "\nb", "", ""},
			stopped: true, hit: "\n\n",
		},
		{
			name: "earliest of several", stops: []string{"world", "lo w"},
			chunks: []string{"hello world"}, emitted: []string{"hel"},
			stopped: true, hit: "lo w",
		},
		{
			name: "longest partial prefix held", stops: []string{"abcd", "bx"},
			chunks: []string{"zabc", "d"}, emitted: []string{"z", ""},
			stopped: true, hit: "abcd",
		},
		{
			name: "stop at the very start", stops: []string{"###"},
			chunks: []string{"###", "ignored"}, emitted: []string{"", ""},
			stopped: true, hit: "###",
		},
		{
			name: "multibyte stop", stops: []string{"→ end"},
			chunks: []string{"x →", " e", "nd"}, emitted: []string{"x ", "", ""},
			stopped: true, hit: "→ end",
		},
		{
			name: "empty stop ignored", stops: []string{""},
			chunks: []string{"abc"}, emitted: []string{"abc"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			m := NewStopMatcher(tc.stops)
			var all strings.Builder
			stopped := false
			for i, c := range tc.chunks {
				out, st := m.Push(c)
				all.WriteString(out)
				if i < len(tc.emitted) && out != tc.emitted[i] {
					t.Errorf("Push(%q) #%d emitted %q, want %q", c, i, out, tc.emitted[i])
				}
				if stopped && (out != "" || !st) {
					t.Errorf("Push after the stop returned (%q, %v)", out, st)
				}
				stopped = stopped || st
			}
			if stopped != tc.stopped || m.Stopped() != tc.stopped {
				t.Errorf("stopped = %v, want %v", stopped, tc.stopped)
			}
			if m.Hit() != tc.hit {
				t.Errorf("Hit = %q, want %q", m.Hit(), tc.hit)
			}
			if got := m.Flush(); got != tc.flushed {
				t.Errorf("Flush = %q, want %q", got, tc.flushed)
			}
		})
	}
}

// TestStopMatcherSplits checks every way of cutting a text into two or
// three chunks: the emitted text must equal the text up to the first stop
// string (or the whole text plus flush when there is none).
func TestStopMatcherSplits(t *testing.T) {
	stops := []string{"<|im_end|>", "\nUser", "ééé"}
	texts := []string{
		"The answer is 42.<|im_end|>trailing",
		"line one\nUsed to\nUser: hi",
		"<|im_<|im_end|>",
		"no stop here <|im_en",
		"éé ééé",
	}
	for _, text := range texts {
		want := text
		cut := len(text)
		for _, s := range stops {
			if i := strings.Index(text, s); i >= 0 && i < cut {
				cut = i
			}
		}
		want = text[:cut]
		for i := 0; i <= len(text); i++ {
			for j := i; j <= len(text); j++ {
				m := NewStopMatcher(stops)
				var got strings.Builder
				for _, c := range []string{text[:i], text[i:j], text[j:]} {
					out, _ := m.Push(c)
					got.WriteString(out)
				}
				got.WriteString(m.Flush())
				if got.String() != want {
					t.Fatalf("%q split at %d,%d: emitted %q, want %q", text, i, j, got.String(), want)
				}
			}
		}
	}
}
