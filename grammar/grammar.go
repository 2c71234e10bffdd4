package grammar

import (
	"fmt"
	"sort"
	"strings"
)

// elemKind says what an element of the compiled program is.
type elemKind uint8

const (
	elemEnd  elemKind = iota // end of an alternative
	elemChar                 // one codepoint from a class
	elemRef                  // a reference to a rule
)

// elem is one step of an alternative. arg indexes Grammar.classes for
// elemChar and Grammar.rules for elemRef.
type elem struct {
	kind elemKind
	arg  int32
}

// cpRange is an inclusive codepoint range.
type cpRange struct{ lo, hi rune }

// charClass is a set of codepoints: the union of ranges, complemented when
// neg is set. ascii caches membership of codepoints below 128.
type charClass struct {
	ranges []cpRange
	neg    bool
	ascii  [2]uint64
}

func newClass(ranges []cpRange, neg bool) charClass {
	ranges = append([]cpRange(nil), ranges...)
	sort.Slice(ranges, func(i, j int) bool { return ranges[i].lo < ranges[j].lo })
	c := charClass{ranges: ranges, neg: neg}
	for r := rune(0); r < 128; r++ {
		if c.slowMatch(r) {
			c.ascii[r>>6] |= 1 << (r & 63)
		}
	}
	return c
}

func (c *charClass) slowMatch(r rune) bool {
	in := false
	for _, rg := range c.ranges {
		if r >= rg.lo && r <= rg.hi {
			in = true
			break
		}
	}
	return in != c.neg
}

// match reports whether codepoint r is in the class.
func (c *charClass) match(r rune) bool {
	if r < 128 {
		return c.ascii[r>>6]&(1<<(r&63)) != 0
	}
	return c.slowMatch(r)
}

// overlaps reports whether some codepoint in [lo, hi] is in the class. It
// prunes partial UTF-8 sequences: after a lead byte the codepoint is only
// known to lie in a range.
func (c *charClass) overlaps(lo, hi rune) bool {
	if !c.neg {
		for _, rg := range c.ranges {
			if rg.lo <= hi && rg.hi >= lo {
				return true
			}
		}
		return false
	}
	// Negated: some codepoint of [lo, hi] is outside every range. Walk the
	// sorted ranges covering lo upward.
	x := lo
	for _, rg := range c.ranges {
		if rg.hi < x {
			continue
		}
		if rg.lo > x {
			return true
		}
		if rg.hi >= hi {
			return false
		}
		x = rg.hi + 1
	}
	return x <= hi
}

// Grammar is a compiled grammar, safe for concurrent use by any number of
// Matchers.
type Grammar struct {
	elems   []elem
	rules   [][]int32 // rule -> start positions of its alternatives
	names   []string
	classes []charClass
	root    int32
	minLen  []int32 // per position: fewest codepoints to finish the alternative from there
}

// RuleCount returns the number of rules, synthesized ones included.
func (g *Grammar) RuleCount() int { return len(g.rules) }

// String renders the compiled grammar in GBNF form (one line per rule,
// synthesized rules included), for debugging.
func (g *Grammar) String() string {
	var b strings.Builder
	for r, alts := range g.rules {
		fmt.Fprintf(&b, "%s ::=", g.names[r])
		for i, a := range alts {
			if i > 0 {
				b.WriteString(" |")
			}
			for p := a; g.elems[p].kind != elemEnd; p++ {
				e := g.elems[p]
				if e.kind == elemRef {
					b.WriteString(" " + g.names[e.arg])
				} else {
					b.WriteString(" " + g.classes[e.arg].String())
				}
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// String renders the class in GBNF syntax.
func (c *charClass) String() string {
	var b strings.Builder
	b.WriteByte('[')
	if c.neg {
		b.WriteByte('^')
	}
	for _, r := range c.ranges {
		b.WriteString(escapeClassRune(r.lo))
		if r.hi != r.lo {
			b.WriteByte('-')
			b.WriteString(escapeClassRune(r.hi))
		}
	}
	b.WriteByte(']')
	return b.String()
}

func escapeClassRune(r rune) string {
	switch {
	case r == '\\' || r == ']' || r == '-' || r == '^' || r == '[':
		return `\` + string(r)
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02X`, r)
	case r >= 0xD800 && r <= 0xDFFF:
		return fmt.Sprintf(`\u%04X`, r)
	case r > 0xffff:
		return fmt.Sprintf(`\U%08X`, r)
	}
	return string(r)
}

// compile turns parsed rules into a Grammar and checks it: every reference
// defined, a root rule present, and no left recursion (which would make the
// pushdown automaton loop).
func compile(rules []*ruleDef, root string) (*Grammar, error) {
	c := &compiler{g: &Grammar{}, ids: map[string]int32{}, classIDs: map[string]int32{}}
	for _, r := range rules {
		if _, dup := c.ids[r.name]; dup {
			return nil, &ParseError{Line: r.line, Col: r.col, Msg: fmt.Sprintf("rule %q defined twice", r.name)}
		}
		c.ids[r.name] = int32(len(c.g.names))
		c.g.names = append(c.g.names, r.name)
		c.g.rules = append(c.g.rules, nil)
		c.defs = append(c.defs, r.body)
	}
	rid, ok := c.ids[root]
	if !ok {
		return nil, &ParseError{Line: 1, Col: 1, Msg: fmt.Sprintf("grammar has no %q rule", root)}
	}
	c.g.root = rid
	// Rules synthesized while compiling append to c.defs; loop until done.
	for i := 0; i < len(c.defs); i++ {
		if err := c.compileRule(int32(i), c.defs[i]); err != nil {
			return nil, err
		}
	}
	if err := c.g.check(); err != nil {
		return nil, err
	}
	c.g.computeMinLen()
	return c.g, nil
}

// maxElems bounds the compiled program, so nested repetitions such as
// ("a"{1000}){1000} fail cleanly instead of exhausting memory.
const maxElems = 1 << 20

type compiler struct {
	size     int
	g        *Grammar
	ids      map[string]int32
	defs     []expr
	classIDs map[string]int32
}

func (c *compiler) newRule(name string, body expr) int32 {
	id := int32(len(c.g.names))
	c.g.names = append(c.g.names, fmt.Sprintf("%s_%d", name, id))
	c.g.rules = append(c.g.rules, nil)
	c.defs = append(c.defs, body)
	return id
}

// class interns a class given by ranges and negation.
func (c *compiler) class(cl charClass) int32 {
	key := cl.String()
	if id, ok := c.classIDs[key]; ok {
		return id
	}
	id := int32(len(c.g.classes))
	c.g.classes = append(c.g.classes, newClass(cl.ranges, cl.neg))
	c.classIDs[key] = id
	return id
}

func (c *compiler) compileRule(id int32, body expr) error {
	var alts []expr
	if a, ok := body.(*altExpr); ok {
		alts = a.alts
	} else {
		alts = []expr{body}
	}
	name := c.g.names[id]
	for _, a := range alts {
		start := int32(len(c.g.elems))
		var items []expr
		if s, ok := a.(*seqExpr); ok {
			items = s.items
		} else {
			items = []expr{a}
		}
		// Elements are appended to a local slice first: compiling an item
		// may synthesize rules but never writes c.g.elems itself.
		var seq []elem
		for _, it := range items {
			es, err := c.items(name, it)
			if err != nil {
				return err
			}
			seq = append(seq, es...)
		}
		c.g.elems = append(c.g.elems, seq...)
		c.g.elems = append(c.g.elems, elem{kind: elemEnd})
		c.g.rules[id] = append(c.g.rules[id], start)
	}
	return nil
}

// items compiles one sequence item into elements, synthesizing rules for
// groups and repetitions.
func (c *compiler) items(name string, e expr) ([]elem, error) {
	if c.size++; c.size > maxElems {
		return nil, fmt.Errorf("grammar: too large (over %d elements after expanding repetitions)", maxElems)
	}
	switch x := e.(type) {
	case *litExpr:
		var out []elem
		c.size += len(x.text)
		for _, r := range x.text {
			out = append(out, elem{kind: elemChar, arg: c.class(charClass{ranges: []cpRange{{r, r}}})})
		}
		return out, nil
	case *classExpr:
		return []elem{{kind: elemChar, arg: c.class(charClass{ranges: x.ranges, neg: x.neg})}}, nil
	case *refExpr:
		id, ok := c.ids[x.name]
		if !ok {
			return nil, &ParseError{Line: x.line, Col: x.col, Msg: fmt.Sprintf("undefined rule %q", x.name)}
		}
		return []elem{{kind: elemRef, arg: id}}, nil
	case *ruleIDExpr:
		return []elem{{kind: elemRef, arg: x.id}}, nil
	case *seqExpr:
		var out []elem
		for _, it := range x.items {
			es, err := c.items(name, it)
			if err != nil {
				return nil, err
			}
			out = append(out, es...)
		}
		return out, nil
	case *altExpr:
		return []elem{{kind: elemRef, arg: c.newRule(name, x)}}, nil
	case *repExpr:
		return c.repeat(name, x)
	}
	return nil, fmt.Errorf("grammar: internal error: unknown expression %T", e)
}

// repeat expands x{min,max}: min copies of x, then either a right-recursive
// star rule (max < 0) or max-min nested optionals x (x (x)?)?, which keeps
// the automaton's stacks unambiguous.
func (c *compiler) repeat(name string, x *repExpr) ([]elem, error) {
	var out []elem
	for i := 0; i < x.min; i++ {
		es, err := c.items(name, x.sub)
		if err != nil {
			return nil, err
		}
		out = append(out, es...)
	}
	switch {
	case x.max < 0:
		// star ::= sub star | ε
		id := c.newRule(name, nil)
		c.defs[id] = &altExpr{alts: []expr{&seqExpr{items: []expr{x.sub, &ruleIDExpr{id: id}}}, &seqExpr{}}}
		out = append(out, elem{kind: elemRef, arg: id})
	case x.max > x.min:
		var opt expr = &seqExpr{}
		for i := x.max - x.min; i > 0; i-- {
			var body expr
			if i == x.max-x.min {
				body = &altExpr{alts: []expr{x.sub, &seqExpr{}}}
			} else {
				body = &altExpr{alts: []expr{&seqExpr{items: []expr{x.sub, opt}}, &seqExpr{}}}
			}
			opt = body
		}
		out = append(out, elem{kind: elemRef, arg: c.newRule(name, opt)})
	}
	return out, nil
}

// check rejects left recursion: a rule reachable from itself without
// consuming input.
func (g *Grammar) check() error {
	n := len(g.rules)
	nullable := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for r, alts := range g.rules {
			if nullable[r] {
				continue
			}
			for _, a := range alts {
				if g.seqNullable(a, nullable) {
					nullable[r], changed = true, true
					break
				}
			}
		}
	}
	// left[r]: rules reachable at the left edge of r.
	left := make([][]int32, n)
	for r, alts := range g.rules {
		for _, a := range alts {
			for p := a; g.elems[p].kind == elemRef; p++ {
				left[r] = append(left[r], g.elems[p].arg)
				if !nullable[g.elems[p].arg] {
					break
				}
			}
		}
	}
	state := make([]uint8, n) // 0 new, 1 on path, 2 done
	var visit func(r int32) error
	visit = func(r int32) error {
		state[r] = 1
		for _, s := range left[r] {
			if state[s] == 1 {
				return fmt.Errorf("grammar: left recursion in rule %q (via %q); repeat a nullable item or rewrite it right-recursively", g.displayName(r), g.displayName(s))
			}
			if state[s] == 0 {
				if err := visit(s); err != nil {
					return err
				}
			}
		}
		state[r] = 2
		return nil
	}
	for r := range g.rules {
		if state[r] == 0 {
			if err := visit(int32(r)); err != nil {
				return err
			}
		}
	}
	// Every rule must derive some finite string, or stacks could dead-end.
	productive := make([]bool, n)
	for changed := true; changed; {
		changed = false
		for r, alts := range g.rules {
			if productive[r] {
				continue
			}
			for _, a := range alts {
				ok := true
				for p := a; g.elems[p].kind != elemEnd; p++ {
					e := g.elems[p]
					if (e.kind == elemRef && !productive[e.arg]) || (e.kind == elemChar && g.classes[e.arg].empty()) {
						ok = false
						break
					}
				}
				if ok {
					productive[r], changed = true, true
					break
				}
			}
		}
	}
	// Drop alternatives that can never finish (an empty class, or a rule
	// that never finishes): a stack that entered one would be stuck, and
	// could leave the matcher with no way forward. A rule left with no
	// alternative is an error.
	for r, alts := range g.rules {
		var keep []int32
		for _, a := range alts {
			ok := true
			for p := a; g.elems[p].kind != elemEnd; p++ {
				e := g.elems[p]
				if (e.kind == elemRef && !productive[e.arg]) || (e.kind == elemChar && g.classes[e.arg].empty()) {
					ok = false
					break
				}
			}
			if ok {
				keep = append(keep, a)
			}
		}
		if len(keep) == 0 {
			return fmt.Errorf("grammar: rule %q matches no finite string", g.names[r])
		}
		g.rules[r] = keep
	}
	return nil
}

// empty reports whether the class matches no valid codepoint.
func (c *charClass) empty() bool {
	return !c.overlaps(0, 0xD7FF) && !c.overlaps(0xE000, 0x10FFFF)
}

func (g *Grammar) displayName(r int32) string { return g.names[r] }

func (g *Grammar) seqNullable(p int32, nullable []bool) bool {
	for ; g.elems[p].kind != elemEnd; p++ {
		e := g.elems[p]
		if e.kind == elemChar || !nullable[e.arg] {
			return false
		}
	}
	return true
}

// computeMinLen fills minLen: for each position, the fewest codepoints that
// complete the alternative from there. Unproductive paths get a large value.
func (g *Grammar) computeMinLen() {
	const inf = int32(1 << 28)
	ruleMin := make([]int32, len(g.rules))
	for i := range ruleMin {
		ruleMin[i] = inf
	}
	g.minLen = make([]int32, len(g.elems))
	for changed := true; changed; {
		changed = false
		for r, alts := range g.rules {
			for _, a := range alts {
				// walk backward from the alternative's end
				end := a
				for g.elems[end].kind != elemEnd {
					end++
				}
				acc := int32(0)
				g.minLen[end] = 0
				for p := end - 1; p >= a; p-- {
					e := g.elems[p]
					if e.kind == elemChar {
						acc++
					} else {
						acc += ruleMin[e.arg]
					}
					if acc > inf {
						acc = inf
					}
					g.minLen[p] = acc
				}
				if acc < ruleMin[r] {
					ruleMin[r] = acc
					changed = true
				}
			}
		}
	}
}
