package grammar

import "unicode/utf8"

// node is one frame of an immutable parse stack: pos is the next element to
// match in this frame; parent is the frame below. The top frame's pos is
// always an elemChar; a nil stack means the whole root rule has matched.
// hash summarizes the chain so equal stacks are found quickly.
type node struct {
	pos    int32
	parent *node
	hash   uint64
}

// arena hands out nodes from reusable slabs during a token-mask walk, whose
// nodes never outlive the walk. A nil arena allocates from the heap.
type arena struct {
	slabs [][]node
	si, i int
}

const slabSize = 4096

func (a *arena) newNode(pos int32, parent *node) *node {
	h := uint64(pos)*0x9E3779B97F4A7C15 + 1
	if parent != nil {
		h ^= parent.hash*0xBF58476D1CE4E5B9 + uint64(parent.pos)
	}
	if a == nil {
		return &node{pos: pos, parent: parent, hash: h}
	}
	if a.si == len(a.slabs) {
		a.slabs = append(a.slabs, make([]node, slabSize))
	}
	n := &a.slabs[a.si][a.i]
	*n = node{pos: pos, parent: parent, hash: h}
	if a.i++; a.i == slabSize {
		a.si, a.i = a.si+1, 0
	}
	return n
}

func (a *arena) reset() { a.si, a.i = 0, 0 }

func sameStack(a, b *node) bool {
	for a != b {
		if a == nil || b == nil || a.hash != b.hash || a.pos != b.pos {
			return false
		}
		a, b = a.parent, b.parent
	}
	return true
}

// partial is the decoding state of an incomplete UTF-8 sequence: the bits
// so far, continuation bytes still needed, and the smallest codepoint the
// sequence's length may encode (to reject overlong forms).
type partial struct {
	cp   rune
	need uint8
	min  rune
}

// Matcher runs a Grammar over a byte stream. It is cheap to copy: Clone
// shares the immutable stacks. A Matcher is not safe for concurrent use.
type Matcher struct {
	g      *Grammar
	stacks []*node
	part   partial
}

// NewMatcher returns a matcher at the start of g.
func NewMatcher(g *Grammar) *Matcher {
	m := &Matcher{g: g}
	for _, a := range g.rules[g.root] {
		m.stacks = g.expand(a, nil, m.stacks, nil)
	}
	m.stacks = dedupe(m.stacks)
	return m
}

// Grammar returns the grammar being matched.
func (m *Matcher) Grammar() *Grammar { return m.g }

// Clone returns an independent copy of m in O(number of stacks).
func (m *Matcher) Clone() *Matcher {
	c := *m
	c.stacks = append([]*node(nil), m.stacks...)
	return &c
}

// State is a saved Matcher position, for rollback with Restore.
type State struct {
	stacks []*node
	part   partial
}

// Save returns the current position; it stays valid however m advances.
func (m *Matcher) Save() State {
	return State{stacks: append([]*node(nil), m.stacks...), part: m.part}
}

// Restore returns m to a position saved from it.
func (m *Matcher) Restore(s State) {
	m.stacks = append(m.stacks[:0:0], s.stacks...)
	m.part = s.part
}

// Accepting reports whether the bytes so far form a complete sentence of the
// grammar (no unfinished UTF-8 sequence and the root rule matched).
func (m *Matcher) Accepting() bool { return accepting(m.stacks, m.part) }

func accepting(stacks []*node, p partial) bool {
	if p.need != 0 {
		return false
	}
	for _, s := range stacks {
		if s == nil {
			return true
		}
	}
	return false
}

// CanContinue reports whether some non-empty continuation is possible, i.e.
// the sentence is not necessarily finished.
func (m *Matcher) CanContinue() bool {
	for _, s := range m.stacks {
		if s != nil {
			return true
		}
	}
	return false
}

// AcceptByte advances by one byte; on rejection it returns false and leaves
// the matcher unchanged.
func (m *Matcher) AcceptByte(b byte) bool {
	st, p, ok := m.g.advance(m.stacks, m.part, b, nil, nil)
	if !ok {
		return false
	}
	m.stacks, m.part = st, p
	return true
}

// Accept advances by all of p, or (returning false) by none of it.
func (m *Matcher) Accept(p []byte) bool {
	st, pt := m.stacks, m.part
	for _, b := range p {
		var ok bool
		st, pt, ok = m.g.advance(st, pt, b, nil, nil)
		if !ok {
			return false
		}
	}
	m.stacks, m.part = st, pt
	return true
}

// AcceptString is Accept for a string.
func (m *Matcher) AcceptString(s string) bool { return m.Accept([]byte(s)) }

// MinRemaining returns the fewest codepoints that would complete the
// sentence from here (0 when accepting). An engine can use it to close a
// structure before a token budget runs out.
func (m *Matcher) MinRemaining() int { return m.g.minRemaining(m.stacks) }

func (g *Grammar) minRemaining(stacks []*node) int {
	best := int32(1 << 30)
	for _, s := range stacks {
		var n int32
		for f := s; f != nil; f = f.parent {
			n += g.minLen[f.pos]
		}
		if n < best {
			best = n
		}
	}
	return int(best)
}

// expand pushes onto out every stack reachable from frame (pos, parent)
// without consuming input: references are entered, finished alternatives
// popped, until each stack's top is a character element (or the stack is
// empty). A reference last in its alternative does not leave a frame
// behind, so right recursion runs in constant stack depth.
func (g *Grammar) expand(pos int32, parent *node, out []*node, a *arena) []*node {
	for {
		e := g.elems[pos]
		switch e.kind {
		case elemChar:
			return append(out, a.newNode(pos, parent))
		case elemEnd:
			if parent == nil {
				return append(out, nil)
			}
			pos, parent = parent.pos, parent.parent
		case elemRef:
			cont := parent
			if g.elems[pos+1].kind != elemEnd {
				cont = a.newNode(pos+1, parent)
			}
			alts := g.rules[e.arg]
			for _, alt := range alts[:len(alts)-1] {
				out = g.expand(alt, cont, out, a)
			}
			pos, parent = alts[len(alts)-1], cont
		}
	}
}

// dedupe removes repeated stacks in place.
func dedupe(st []*node) []*node {
	out := st[:0]
outer:
	for _, s := range st {
		for _, t := range out {
			if sameStack(s, t) {
				continue outer
			}
		}
		out = append(out, s)
	}
	return out
}

// advance computes the stacks after byte b, appending them to dst (which
// must not alias stacks). ok is false if no stack can take b.
func (g *Grammar) advance(stacks []*node, p partial, b byte, dst []*node, a *arena) ([]*node, partial, bool) {
	var cp rune
	switch {
	case p.need == 0 && b < 0x80:
		cp = rune(b)
	case p.need == 0:
		switch {
		case b >= 0xC2 && b <= 0xDF:
			p = partial{cp: rune(b & 0x1F), need: 1, min: 0x80}
		case b >= 0xE0 && b <= 0xEF:
			p = partial{cp: rune(b & 0x0F), need: 2, min: 0x800}
		case b >= 0xF0 && b <= 0xF4:
			p = partial{cp: rune(b & 0x07), need: 3, min: 0x10000}
		default:
			return nil, p, false
		}
		return stacks, p, g.partialViable(stacks, p)
	default:
		if b&0xC0 != 0x80 {
			return nil, p, false
		}
		p.cp = p.cp<<6 | rune(b&0x3F)
		p.need--
		if p.need > 0 {
			return stacks, p, g.partialViable(stacks, p)
		}
		cp = p.cp
		if cp < p.min || cp > utf8.MaxRune || (cp >= 0xD800 && cp <= 0xDFFF) {
			return nil, p, false
		}
		p = partial{}
	}
	out := dst[:0]
	for _, s := range stacks {
		if s == nil {
			continue
		}
		if g.classes[g.elems[s.pos].arg].match(cp) {
			out = g.expand(s.pos+1, s.parent, out, a)
		}
	}
	if len(out) == 0 {
		return nil, p, false
	}
	if len(out) > 1 {
		out = dedupe(out)
	}
	return out, p, true
}

// partialViable reports whether some stack can match some codepoint that
// the partial sequence p may still complete to.
func (g *Grammar) partialViable(stacks []*node, p partial) bool {
	shift := 6 * uint(p.need)
	lo := p.cp << shift
	hi := lo | (1<<shift - 1)
	if lo < p.min {
		lo = p.min
	}
	if hi > utf8.MaxRune {
		hi = utf8.MaxRune
	}
	if lo > hi {
		return false
	}
	// Surrogates are not codepoints: test the parts of [lo, hi] outside
	// them, or a sequence like ED A0 would be kept and then dead-end.
	for _, s := range stacks {
		if s == nil {
			continue
		}
		cl := &g.classes[g.elems[s.pos].arg]
		if lo < 0xD800 && cl.overlaps(lo, min(hi, 0xD7FF)) || hi > 0xDFFF && cl.overlaps(max(lo, 0xE000), hi) {
			return true
		}
	}
	return false
}
