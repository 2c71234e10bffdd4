package grammar

import (
	"bytes"
	"fmt"
	"math"
	"sort"

	"golem/tokenizer"
)

// Vocab is a tokenizer's vocabulary prepared for masking: every token's
// bytes in a trie (nodes in depth-first preorder, so a node's first child
// is the next node and end marks the end of its subtree), plus the tokens
// that end generation. Build it once per vocabulary; it is read-only and
// safe for concurrent use.
type Vocab struct {
	size     int
	pieces   [][]byte
	eog      []int32
	isEOG    []bool
	b        []byte  // byte on the edge into each node
	end      []int32 // index after each node's subtree
	tokStart []int32 // tokens ending at node i: toks[tokStart[i]:tokStart[i+1]]
	toks     []int32
}

// NewVocab builds a Vocab from each token's bytes (pieces[id]; an empty
// piece, or one containing a NUL byte, is never allowed) and the
// end-of-generation token ids.
func NewVocab(pieces [][]byte, eog []int32) (*Vocab, error) {
	v := &Vocab{size: len(pieces), pieces: pieces, isEOG: make([]bool, len(pieces))}
	for _, id := range eog {
		if id < 0 || int(id) >= len(pieces) {
			return nil, fmt.Errorf("grammar: end-of-generation token %d outside vocabulary of %d", id, len(pieces))
		}
		if !v.isEOG[id] {
			v.isEOG[id] = true
			v.eog = append(v.eog, id)
		}
	}
	var ids []int32
	for id, p := range pieces {
		// Pieces with a NUL byte are never allowed, as in llama.cpp
		// (whose matcher reads pieces as C strings).
		if len(p) > 0 && !v.isEOG[id] && bytes.IndexByte(p, 0) < 0 {
			ids = append(ids, int32(id))
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		c := bytes.Compare(pieces[ids[i]], pieces[ids[j]])
		return c < 0 || c == 0 && ids[i] < ids[j]
	})
	// Build the preorder trie from the sorted pieces: path holds the node
	// index at each depth of the current branch.
	v.b = append(v.b, 0)
	v.end = append(v.end, 0)
	var owner []int32 // node of each sorted token
	path := []int32{0}
	var prev []byte
	for _, id := range ids {
		p := pieces[id]
		common := 0
		for common < len(p) && common < len(prev) && p[common] == prev[common] {
			common++
		}
		for d := len(path) - 1; d > common; d-- {
			v.end[path[d]] = int32(len(v.b))
		}
		path = path[:common+1]
		for d := common; d < len(p); d++ {
			path = append(path, int32(len(v.b)))
			v.b = append(v.b, p[d])
			v.end = append(v.end, 0)
		}
		owner = append(owner, path[len(p)])
		prev = p
	}
	for _, n := range path {
		v.end[n] = int32(len(v.b))
	}
	// tokens per node (ids are sorted by piece, so by node index)
	v.tokStart = make([]int32, len(v.b)+1)
	for _, n := range owner {
		v.tokStart[n+1]++
	}
	for i := 1; i < len(v.tokStart); i++ {
		v.tokStart[i] += v.tokStart[i-1]
	}
	v.toks = make([]int32, len(ids))
	fill := append([]int32(nil), v.tokStart[:len(v.b)]...)
	for i, n := range owner {
		v.toks[fill[n]] = ids[i]
		fill[n]++
	}
	return v, nil
}

// VocabFromTokenizer builds a Vocab from tok: each token's text as
// Tokenizer.Piece renders it (byte tokens as their single byte; control
// tokens empty, so never allowed) and its end-of-generation tokens.
func VocabFromTokenizer(tok *tokenizer.Tokenizer) (*Vocab, error) {
	n := tok.VocabSize()
	pieces := make([][]byte, n)
	var eog []int32
	for id := int32(0); int(id) < n; id++ {
		pieces[id] = tok.Piece(id)
		if tok.IsEOG(id) {
			eog = append(eog, id)
		}
	}
	if len(eog) == 0 {
		return nil, fmt.Errorf("grammar: tokenizer has no end-of-generation token")
	}
	return NewVocab(pieces, eog)
}

// Size returns the number of tokens.
func (v *Vocab) Size() int { return v.size }

// Nodes returns the number of trie nodes (for sizing benchmarks).
func (v *Vocab) Nodes() int { return len(v.b) }

// Piece returns token id's bytes (nil when out of range).
func (v *Vocab) Piece(id int32) []byte {
	if id < 0 || int(id) >= v.size {
		return nil
	}
	return v.pieces[id]
}

// IsEOG reports whether id ends generation.
func (v *Vocab) IsEOG(id int32) bool { return id >= 0 && int(id) < v.size && v.isEOG[id] }

// Constraint applies a grammar to token generation: it masks the tokens
// that cannot continue a valid output and advances by sampled tokens. EOG
// tokens are allowed exactly when the output so far is complete. A
// Constraint is not safe for concurrent use; Grammar and Vocab are, so
// each sequence gets its own Constraint.
type Constraint struct {
	m     *Matcher
	v     *Vocab
	done  bool
	arena arena

	// mask-walk scratch, reused across calls
	states []walkState
	trans  []int32
	index  map[uint64][]int32
	keep   []bool
	ids    []int32
	tbuf   [2][]*node // TokenAllowed scratch

	cache     []cacheEntry
	cacheNext int
	cacheHits int
	noCache   bool // benchmarks: measure the walk itself
}

// NewConstraint starts constraining generation over v to grammar g.
func NewConstraint(g *Grammar, v *Vocab) *Constraint {
	return &Constraint{m: NewMatcher(g), v: v}
}

// Matcher returns the underlying byte matcher (do not advance it directly
// while using the Constraint's Accept).
func (c *Constraint) Matcher() *Matcher { return c.m }

// Clone returns an independent copy, cheap enough to call per token for
// speculative decoding or beam search.
func (c *Constraint) Clone() *Constraint {
	return &Constraint{m: c.m.Clone(), v: c.v, done: c.done, cache: append([]cacheEntry(nil), c.cache...), cacheNext: c.cacheNext, noCache: c.noCache}
}

// Done reports whether an EOG token has been accepted.
func (c *Constraint) Done() bool { return c.done }

// Accepting reports whether the output so far is complete, i.e. EOG is
// allowed now.
func (c *Constraint) Accepting() bool { return !c.done && c.m.Accepting() }

// TokenAllowed reports whether token id may come next. It costs one walk of
// the token's bytes, so an engine can sample unconstrained first and fall
// back to a full mask only when the sample is rejected.
func (c *Constraint) TokenAllowed(id int32) bool {
	if c.done || id < 0 || int(id) >= c.v.size {
		return false
	}
	if c.v.isEOG[id] {
		return c.m.Accepting()
	}
	p := c.v.pieces[id]
	if len(p) == 0 || bytes.IndexByte(p, 0) >= 0 {
		return false
	}
	// Advance on scratch: arena nodes and two reusable stack buffers,
	// always writing into the one that does not hold the current stacks.
	st, pt := c.m.stacks, c.m.part
	cur := -1 // buffer holding st; -1: the matcher's own slice
	c.arena.reset()
	for _, b := range p {
		next := 0
		if cur == 0 {
			next = 1
		}
		st2, pt2, ok := c.m.g.advance(st, pt, b, c.tbuf[next][:0], &c.arena)
		if !ok {
			return false
		}
		if pt2.need == 0 { // a completed codepoint: st2 was built in tbuf[next]
			c.tbuf[next], cur = st2, next
		}
		st, pt = st2, pt2
	}
	return true
}

// Accept advances by token id. It fails, leaving the state unchanged, when
// the token is not allowed.
func (c *Constraint) Accept(id int32) error {
	if c.done {
		return fmt.Errorf("grammar: token %d after end of generation", id)
	}
	if id < 0 || int(id) >= c.v.size {
		return fmt.Errorf("grammar: token %d outside vocabulary of %d", id, c.v.size)
	}
	if c.v.isEOG[id] {
		if !c.m.Accepting() {
			return fmt.Errorf("grammar: end of generation (token %d) before the output is complete", id)
		}
		c.done = true
		return nil
	}
	p := c.v.pieces[id]
	if len(p) == 0 || bytes.IndexByte(p, 0) >= 0 || !c.m.Accept(p) {
		return fmt.Errorf("grammar: token %d (%q) not allowed here", id, p)
	}
	return nil
}

// Allowed sets mask[id] for every token that may come next and clears the
// rest; it returns how many are allowed. mask must hold Size() entries.
func (c *Constraint) Allowed(mask []bool) int {
	if len(mask) < c.v.size {
		return 0
	}
	clear(mask)
	ids := c.AllowedTokens(c.ids[:0])
	c.ids = ids
	for _, id := range ids {
		mask[id] = true
	}
	return len(ids)
}

// AllowedTokens appends to dst the ids of the tokens that may come next (in
// no particular order). When few are allowed this is cheaper to apply than
// a full mask.
func (c *Constraint) AllowedTokens(dst []int32) []int32 {
	if c.done {
		return dst
	}
	if c.m.Accepting() {
		dst = append(dst, c.v.eog...)
	}
	if !c.m.CanContinue() && c.m.part.need == 0 {
		return dst
	}
	h := stateHash(c.m.stacks, c.m.part)
	if !c.noCache {
		for i := range c.cache {
			e := &c.cache[i]
			if e.hash == h && sameState(&e.walkState, c.m.stacks, c.m.part) {
				c.cacheHits++
				return append(dst, e.ids...)
			}
		}
	}
	c.arena.reset()
	c.states = c.states[:0]
	c.trans = c.trans[:0]
	if c.index == nil {
		c.index = map[uint64][]int32{}
	}
	clear(c.index)
	root := c.intern(c.m.stacks, c.m.part)
	start := len(dst)
	dst = c.walk(0, root, dst)
	if !c.noCache {
		// Remember the result under the state's structure: in a long
		// string or a repeated element the matcher keeps coming back to
		// the same structural state, whose allowed set is the same.
		e := cacheEntry{walkState: walkState{stacks: c.m.stacks, part: c.m.part, hash: h}, ids: append([]int32(nil), dst[start:]...)}
		if len(c.cache) < maskCacheSize {
			c.cache = append(c.cache, e)
		} else {
			c.cache[c.cacheNext] = e
			c.cacheNext = (c.cacheNext + 1) % maskCacheSize
		}
	}
	return dst
}

// maskCacheSize is how many recent (state, allowed tokens) results a
// Constraint keeps.
const maskCacheSize = 8

// cacheEntry is one remembered mask: the matcher state (heap nodes, never
// arena ones, so it stays valid) and the non-EOG tokens allowed there.
type cacheEntry struct {
	walkState
	ids []int32
}

// Apply sets the logit of every token that may not come next to -Inf and
// returns how many remain. logits must hold Size() entries.
func (c *Constraint) Apply(logits []float32) int {
	if len(c.keep) != c.v.size {
		c.keep = make([]bool, c.v.size)
	}
	n := c.Allowed(c.keep)
	inf := float32(math.Inf(-1))
	for i := range logits {
		if i >= len(c.keep) || !c.keep[i] {
			logits[i] = inf
		}
	}
	return n
}

// The mask walk goes down the vocabulary trie with the matcher, pruning
// each subtree at the first byte the grammar rejects. It memoizes
// transitions: every distinct matcher state met during the walk (stack set
// plus pending UTF-8 bytes, compared structurally) gets a small id, and
// trans[id*256+b] caches the state after byte b. Inside a JSON string, say,
// nearly every byte leads back to the same state, so most trie nodes cost
// one table lookup instead of a stack expansion.

// walkState is a matcher state met during a mask walk.
type walkState struct {
	stacks []*node
	part   partial
	hash   uint64
}

const (
	transUnknown = -1
	transDead    = -2
)

// stateHash summarizes a matcher state independently of stack order.
func stateHash(stacks []*node, p partial) uint64 {
	h := uint64(p.cp)<<8 ^ uint64(p.need)<<40 ^ uint64(p.min)*0x100000001B3
	for _, s := range stacks {
		if s == nil {
			h += 0x51AFD7ED558CCD
		} else {
			x := s.hash ^ uint64(s.pos)<<32
			x ^= x >> 31
			x *= 0x7FB5D329728EA185
			h += x ^ x>>27
		}
	}
	return h
}

// intern returns the id of the state (stacks, p), adding it if new.
func (c *Constraint) intern(stacks []*node, p partial) int32 {
	h := stateHash(stacks, p)
	for _, id := range c.index[h] {
		if sameState(&c.states[id], stacks, p) {
			return id
		}
	}
	id := int32(len(c.states))
	c.states = append(c.states, walkState{stacks: stacks, part: p, hash: h})
	c.index[h] = append(c.index[h], id)
	for i := 0; i < 256; i++ {
		c.trans = append(c.trans, transUnknown)
	}
	return id
}

// sameState reports whether w is the state (stacks, p), comparing stacks
// structurally and ignoring their order.
func sameState(w *walkState, stacks []*node, p partial) bool {
	if w.part != p || len(w.stacks) != len(stacks) {
		return false
	}
outer:
	for _, s := range stacks {
		for _, t := range w.stacks {
			if sameStack(s, t) {
				continue outer
			}
		}
		return false
	}
	return true
}

// walk appends the allowed tokens below trie node n, reached in state.
func (c *Constraint) walk(n int32, state int32, dst []int32) []int32 {
	v, g := c.v, c.m.g
	for ch := n + 1; ch < v.end[n]; ch = v.end[ch] {
		k := int(state)<<8 | int(v.b[ch])
		next := c.trans[k]
		if next == transUnknown {
			w := &c.states[state]
			st, pt, ok := g.advance(w.stacks, w.part, v.b[ch], nil, &c.arena)
			if ok {
				next = c.intern(st, pt)
			} else {
				next = transDead
			}
			c.trans[k] = next
		}
		if next == transDead {
			continue
		}
		dst = append(dst, v.toks[v.tokStart[ch]:v.tokStart[ch+1]]...)
		if v.end[ch] > ch+1 {
			dst = c.walk(ch, next, dst)
		}
	}
	return dst
}
