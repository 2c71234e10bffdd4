package sample

import "strings"

// StopMatcher finds stop strings in streamed text. Generated text arrives
// in pieces (one token's worth at a time) and a stop string may straddle
// pieces, so the matcher holds back any tail that could still grow into a
// stop string and releases the rest. When a stop string appears, the text
// before it is released and the stop string and everything after it are
// dropped, as Ollama does.
//
//	m := sample.NewStopMatcher(opts.Stop)
//	for each piece {
//		out, stopped := m.Push(piece)
//		send(out)
//		if stopped { break }
//	}
//	send(m.Flush()) // at the end of generation
type StopMatcher struct {
	stops   []string
	pending string
	hit     string
	done    bool
}

// NewStopMatcher returns a matcher for stops; empty strings are ignored.
func NewStopMatcher(stops []string) *StopMatcher {
	m := &StopMatcher{}
	for _, s := range stops {
		if s != "" {
			m.stops = append(m.stops, s)
		}
	}
	return m
}

// Push adds the next piece of generated text. It returns the text that can
// be emitted now and whether a stop string has been reached; once it has,
// Push returns ("", true) for ever.
func (m *StopMatcher) Push(text string) (out string, stopped bool) {
	if m.done {
		return "", true
	}
	m.pending += text
	// The earliest stop string in the pending text wins; on a tie of
	// positions, the one listed first.
	at := -1
	for _, s := range m.stops {
		if i := strings.Index(m.pending, s); i >= 0 && (at < 0 || i < at) {
			at, m.hit = i, s
		}
	}
	if at >= 0 {
		out = m.pending[:at]
		m.pending = ""
		m.done = true
		return out, true
	}
	keep := m.heldBack()
	out = m.pending[:len(m.pending)-keep]
	m.pending = m.pending[len(m.pending)-keep:]
	return out, false
}

// heldBack returns the length of the longest tail of pending that is a
// proper prefix of some stop string.
func (m *StopMatcher) heldBack() int {
	keep := 0
	for _, s := range m.stops {
		for l := min(len(s)-1, len(m.pending)); l > keep; l-- {
			if strings.HasSuffix(m.pending, s[:l]) {
				keep = l
				break
			}
		}
	}
	return keep
}

// Flush returns the text still held back, for when generation ends without
// a stop string (end of sequence, token limit). After a stop it returns "".
func (m *StopMatcher) Flush() string {
	out := m.pending
	m.pending = ""
	return out
}

// Stopped reports whether a stop string has been reached.
func (m *StopMatcher) Stopped() bool { return m.done }

// Hit returns the stop string that was reached, or "".
func (m *StopMatcher) Hit() string { return m.hit }

// Pending returns the text currently held back.
func (m *StopMatcher) Pending() string { return m.pending }
