package chat

import (
	"fmt"
)

// ---- AST ----

// node is a statement of the template body.
type node interface{}

// expr is an expression node.
type expr interface{}

type (
	textNode   struct{ text string }
	outputNode struct{ e expr }
	ifNode     struct {
		conds  []expr
		bodies [][]node
		els    []node
	}
	forNode struct {
		target    []string // one name, or several for tuple unpacking
		unpack    bool
		iter      expr
		filter    expr
		body, els []node
		recursive bool
	}
	setNode struct {
		target []string // names (several: tuple unpacking)
		unpack bool
		ns     string // non-empty: {% set ns.attr = v %}
		attr   string
		value  expr
		body   []node // block set
		filter []filterCall
	}
	macroNode struct {
		name     string
		params   []string
		defaults []expr // aligned with params; nil when none
		body     []node
	}
	callBlockNode struct {
		params   []string
		defaults []expr
		call     *callExpr
		body     []node
	}
	filterBlockNode struct {
		filters []filterCall
		body    []node
	}
	withNode struct {
		names  []string
		values []expr
		body   []node
	}
	loopCtlNode struct{ brk bool }
)

type (
	literal   struct{ v any }
	nameExpr  struct{ name string }
	listExpr  struct{ items []expr }
	tupleExpr struct{ items []expr }
	dictExpr  struct{ keys, vals []expr }
	attrExpr  struct {
		obj  expr
		name string
	}
	itemExpr  struct{ obj, key expr }
	sliceExpr struct{ obj, start, stop, step expr }
	callExpr  struct {
		fn     expr
		args   []expr
		kwargs []kwArg
	}
	kwArg struct {
		name string
		val  expr
	}
	filterCall struct {
		name   string
		args   []expr
		kwargs []kwArg
	}
	filterExpr struct {
		obj expr
		f   filterCall
	}
	testExpr struct {
		obj    expr
		name   string
		args   []expr
		kwargs []kwArg
		negate bool
	}
	binExpr struct {
		op   string
		l, r expr
	}
	unaryExpr struct {
		op string
		x  expr
	}
	condExpr struct{ cond, a, b expr } // b may be nil
	cmpExpr  struct {
		first expr
		ops   []string
		rest  []expr
	}
)

// ---- parser ----

type parser struct {
	toks  []token
	pos   int
	depth int
}

// maxDepth bounds expression and block nesting so hostile input cannot
// exhaust the stack.
const maxDepth = 500

func parse(src string) ([]node, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	var body []node
	err = catch(func() {
		var end string
		body, end = p.parseBody(nil)
		if end != "" {
			p.fail("unexpected '%s'", end)
		}
	})
	return body, err
}

func (p *parser) fail(format string, args ...any) {
	panic(&Error{Type: "TemplateSyntaxError", Msg: fmt.Sprintf(format, args...) + fmt.Sprintf(" (line %d)", p.cur().line)})
}

func (p *parser) cur() token  { return p.toks[p.pos] }
func (p *parser) peek() token { return p.toks[min(p.pos+1, len(p.toks)-1)] }
func (p *parser) next() token {
	t := p.toks[p.pos]
	if p.pos < len(p.toks)-1 {
		p.pos++
	}
	return t
}

func (p *parser) isOp(v string) bool   { t := p.cur(); return t.kind == tOp && t.val == v }
func (p *parser) isName(v string) bool { t := p.cur(); return t.kind == tName && t.val == v }

func (p *parser) skipOp(v string) bool {
	if p.isOp(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) skipName(v string) bool {
	if p.isName(v) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expectOp(v string) {
	if !p.skipOp(v) {
		p.fail("expected '%s', got %s", v, p.cur())
	}
}

func (p *parser) expectName() string {
	t := p.cur()
	if t.kind != tName {
		p.fail("expected a name, got %s", t)
	}
	p.next()
	return t.val
}

func (p *parser) expectBlockEnd() {
	if p.cur().kind != tBlockEnd {
		p.fail("expected end of statement, got %s", p.cur())
	}
	p.next()
}

func (p *parser) enter() {
	p.depth++
	if p.depth > maxDepth {
		p.fail("template nested too deeply")
	}
}

// parseBody parses nodes until one of the end keywords (as the first word of a
// block tag). It returns the keyword found, with the parser positioned after
// it (inside the tag); "" at end of input.
func (p *parser) parseBody(ends []string) ([]node, string) {
	p.enter()
	defer func() { p.depth-- }()
	var body []node
	for {
		t := p.cur()
		switch t.kind {
		case tEOF:
			if len(ends) > 0 {
				p.fail("unexpected end of template, expected one of %v", ends)
			}
			return body, ""
		case tText:
			p.next()
			body = append(body, &textNode{t.val})
		case tVarBegin:
			p.next()
			e := p.parseTuple(true, true)
			if p.cur().kind != tVarEnd {
				p.fail("expected end of print statement, got %s", p.cur())
			}
			p.next()
			body = append(body, &outputNode{e})
		case tBlockBegin:
			p.next()
			kw := p.cur()
			if kw.kind != tName {
				p.fail("expected statement name, got %s", kw)
			}
			for _, e := range ends {
				if kw.val == e {
					p.next()
					return body, e
				}
			}
			p.next()
			body = append(body, p.parseStatement(kw.val))
		default:
			p.fail("unexpected %s", t)
		}
	}
}

func (p *parser) parseStatement(kw string) node {
	switch kw {
	case "if":
		return p.parseIf()
	case "for":
		return p.parseFor()
	case "set":
		return p.parseSet()
	case "macro":
		return p.parseMacro()
	case "call":
		return p.parseCallBlock()
	case "filter":
		n := &filterBlockNode{}
		for {
			n.filters = append(n.filters, p.parseFilterCall())
			if !p.skipOp("|") {
				break
			}
		}
		p.expectBlockEnd()
		n.body, _ = p.parseBody([]string{"endfilter"})
		p.expectBlockEnd()
		return n
	case "with":
		n := &withNode{}
		for p.cur().kind != tBlockEnd {
			if len(n.names) > 0 {
				p.expectOp(",")
			}
			n.names = append(n.names, p.expectName())
			p.expectOp("=")
			n.values = append(n.values, p.parseExpr(true))
		}
		p.expectBlockEnd()
		n.body, _ = p.parseBody([]string{"endwith"})
		p.expectBlockEnd()
		return n
	case "generation":
		p.expectBlockEnd()
		body, _ := p.parseBody([]string{"endgeneration"})
		p.expectBlockEnd()
		return &withNode{body: body}
	case "break", "continue":
		p.expectBlockEnd()
		return &loopCtlNode{brk: kw == "break"}
	}
	p.fail("unknown or unsupported statement '%s'", kw)
	return nil
}

func (p *parser) parseIf() node {
	n := &ifNode{}
	for {
		n.conds = append(n.conds, p.parseTuple(false, true))
		p.expectBlockEnd()
		body, end := p.parseBody([]string{"elif", "else", "endif"})
		n.bodies = append(n.bodies, body)
		switch end {
		case "elif":
			continue
		case "else":
			p.expectBlockEnd()
			n.els, _ = p.parseBody([]string{"endif"})
		}
		p.expectBlockEnd()
		return n
	}
}

// parseTarget parses an assignment target: name or name, name, ...
func (p *parser) parseTarget() ([]string, bool) {
	paren := p.skipOp("(")
	names := []string{p.expectName()}
	unpack := paren
	for p.skipOp(",") {
		unpack = true
		if p.cur().kind != tName {
			break
		}
		names = append(names, p.expectName())
	}
	if paren {
		p.expectOp(")")
	}
	return names, unpack
}

func (p *parser) parseFor() node {
	n := &forNode{}
	n.target, n.unpack = p.parseTarget()
	if !p.skipName("in") {
		p.fail("expected 'in', got %s", p.cur())
	}
	n.iter = p.parseTuple(false, false)
	if p.skipName("if") {
		n.filter = p.parseExpr(true)
	}
	if p.skipName("recursive") {
		n.recursive = true
	}
	p.expectBlockEnd()
	body, end := p.parseBody([]string{"else", "endfor"})
	n.body = body
	if end == "else" {
		p.expectBlockEnd()
		n.els, _ = p.parseBody([]string{"endfor"})
	}
	p.expectBlockEnd()
	return n
}

func (p *parser) parseSet() node {
	n := &setNode{}
	if p.cur().kind == tName && p.peek().kind == tOp && p.peek().val == "." {
		n.ns = p.expectName()
		p.next()
		n.attr = p.expectName()
	} else {
		n.target, n.unpack = p.parseTarget()
	}
	if p.skipOp("=") {
		n.value = p.parseTuple(true, true)
		p.expectBlockEnd()
		return n
	}
	if n.unpack {
		p.fail("block set needs a single name")
	}
	for p.skipOp("|") {
		n.filter = append(n.filter, p.parseFilterCall())
	}
	p.expectBlockEnd()
	n.body, _ = p.parseBody([]string{"endset"})
	p.expectBlockEnd()
	return n
}

func (p *parser) parseParams() ([]string, []expr) {
	var names []string
	var defs []expr
	p.expectOp("(")
	for !p.isOp(")") {
		if len(names) > 0 {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		names = append(names, p.expectName())
		if p.skipOp("=") {
			defs = append(defs, p.parseExpr(true))
		} else {
			defs = append(defs, nil)
		}
	}
	p.expectOp(")")
	return names, defs
}

func (p *parser) parseMacro() node {
	n := &macroNode{name: p.expectName()}
	n.params, n.defaults = p.parseParams()
	p.expectBlockEnd()
	n.body, _ = p.parseBody([]string{"endmacro"})
	if p.cur().kind == tName && p.cur().val == n.name {
		p.next()
	}
	p.expectBlockEnd()
	return n
}

func (p *parser) parseCallBlock() node {
	n := &callBlockNode{}
	if p.isOp("(") {
		n.params, n.defaults = p.parseParams()
	}
	c, ok := p.parseExpr(true).(*callExpr)
	if !ok {
		p.fail("expected a call in call block")
	}
	n.call = c
	p.expectBlockEnd()
	n.body, _ = p.parseBody([]string{"endcall"})
	p.expectBlockEnd()
	return n
}

// parseTuple parses an expression or an unparenthesized tuple "a, b".
func (p *parser) parseTuple(withCond, allowEmpty bool) expr {
	var items []expr
	isTuple := false
	for {
		if len(items) > 0 {
			if !p.skipOp(",") {
				break
			}
			isTuple = true
		}
		if p.atTupleEnd() {
			break
		}
		if withCond {
			items = append(items, p.parseExpr(true))
		} else {
			items = append(items, p.parseExpr(false))
		}
	}
	if !isTuple {
		if len(items) == 0 {
			p.fail("expected an expression, got %s", p.cur())
		}
		return items[0]
	}
	return &tupleExpr{items}
}

func (p *parser) atTupleEnd() bool {
	t := p.cur()
	switch t.kind {
	case tVarEnd, tBlockEnd, tEOF:
		return true
	case tOp:
		return t.val == ")" || t.val == "]" || t.val == "}" || t.val == "="
	case tName:
		return t.val == "in" || t.val == "if" || t.val == "recursive"
	}
	return false
}

func (p *parser) parseExpr(withCond bool) expr {
	p.enter()
	defer func() { p.depth-- }()
	if !withCond {
		return p.parseOr()
	}
	e := p.parseOr()
	for p.skipName("if") {
		c := &condExpr{a: e, cond: p.parseOr()}
		if p.skipName("else") {
			c.b = p.parseExpr(true)
		}
		e = c
	}
	return e
}

func (p *parser) parseOr() expr {
	e := p.parseAnd()
	for p.skipName("or") {
		e = &binExpr{op: "or", l: e, r: p.parseAnd()}
	}
	return e
}

func (p *parser) parseAnd() expr {
	e := p.parseNot()
	for p.skipName("and") {
		e = &binExpr{op: "and", l: e, r: p.parseNot()}
	}
	return e
}

func (p *parser) parseNot() expr {
	if p.skipName("not") {
		p.enter()
		defer func() { p.depth-- }()
		return &unaryExpr{op: "not", x: p.parseNot()}
	}
	return p.parseCompare()
}

func (p *parser) parseCompare() expr {
	first := p.parseMath1()
	c := &cmpExpr{first: first}
	for {
		t := p.cur()
		if t.kind == tOp && (t.val == "==" || t.val == "!=" || t.val == "<" || t.val == ">" || t.val == "<=" || t.val == ">=") {
			p.next()
			c.ops = append(c.ops, t.val)
		} else if p.isName("in") {
			p.next()
			c.ops = append(c.ops, "in")
		} else if p.isName("not") && p.peek().kind == tName && p.peek().val == "in" {
			p.next()
			p.next()
			c.ops = append(c.ops, "notin")
		} else {
			break
		}
		c.rest = append(c.rest, p.parseMath1())
	}
	if len(c.ops) == 0 {
		return first
	}
	return c
}

func (p *parser) parseMath1() expr {
	e := p.parseConcat()
	for p.isOp("+") || p.isOp("-") {
		op := p.next().val
		e = &binExpr{op: op, l: e, r: p.parseConcat()}
	}
	return e
}

func (p *parser) parseConcat() expr {
	e := p.parseMath2()
	for p.skipOp("~") {
		e = &binExpr{op: "~", l: e, r: p.parseMath2()}
	}
	return e
}

func (p *parser) parseMath2() expr {
	e := p.parsePow()
	for p.isOp("*") || p.isOp("/") || p.isOp("//") || p.isOp("%") {
		op := p.next().val
		e = &binExpr{op: op, l: e, r: p.parsePow()}
	}
	return e
}

func (p *parser) parsePow() expr {
	e := p.parseUnary(true)
	for p.skipOp("**") {
		e = &binExpr{op: "**", l: e, r: p.parseUnary(true)}
	}
	return e
}

func (p *parser) parseUnary(withFilter bool) expr {
	p.enter()
	defer func() { p.depth-- }()
	var e expr
	if p.isOp("-") || p.isOp("+") {
		op := p.next().val
		e = &unaryExpr{op: op, x: p.parseUnary(false)}
	} else {
		e = p.parsePrimary()
	}
	e = p.parsePostfix(e)
	if withFilter {
		e = p.parseFilterExpr(e)
	}
	return e
}

func (p *parser) parsePrimary() expr {
	t := p.cur()
	switch t.kind {
	case tName:
		p.next()
		switch t.val {
		case "true", "True":
			return &literal{true}
		case "false", "False":
			return &literal{false}
		case "none", "None":
			return &literal{nil}
		}
		return &nameExpr{t.val}
	case tString:
		p.next()
		s := t.val
		for p.cur().kind == tString {
			s += p.next().val
		}
		return &literal{s}
	case tInt:
		p.next()
		return &literal{t.i}
	case tFloat:
		p.next()
		return &literal{t.f}
	case tOp:
		switch t.val {
		case "(":
			p.next()
			if p.skipOp(")") {
				return &tupleExpr{}
			}
			e := p.parseTuple(true, false)
			p.expectOp(")")
			return e
		case "[":
			p.next()
			l := &listExpr{}
			for !p.isOp("]") {
				if len(l.items) > 0 {
					p.expectOp(",")
					if p.isOp("]") {
						break
					}
				}
				l.items = append(l.items, p.parseExpr(true))
			}
			p.expectOp("]")
			return l
		case "{":
			p.next()
			d := &dictExpr{}
			for !p.isOp("}") {
				if len(d.keys) > 0 {
					p.expectOp(",")
					if p.isOp("}") {
						break
					}
				}
				d.keys = append(d.keys, p.parseExpr(true))
				p.expectOp(":")
				d.vals = append(d.vals, p.parseExpr(true))
			}
			p.expectOp("}")
			return d
		}
	}
	p.fail("unexpected %s", t)
	return nil
}

func (p *parser) parsePostfix(e expr) expr {
	for {
		switch {
		case p.isOp("."):
			p.next()
			t := p.next()
			switch t.kind {
			case tName:
				e = &attrExpr{obj: e, name: t.val}
			case tInt:
				e = &itemExpr{obj: e, key: &literal{t.i}}
			default:
				p.fail("expected attribute name, got %s", t)
			}
		case p.isOp("["):
			p.next()
			e = p.parseSubscript(e)
		case p.isOp("("):
			e = p.parseCall(e)
		default:
			return e
		}
	}
}

func (p *parser) parseSubscript(obj expr) expr {
	// Like Jinja: x[a], x[a:b:c], and x[a, b] / x[] (tuple keys).
	var args []expr
	for !p.isOp("]") {
		if len(args) > 0 {
			p.expectOp(",")
		}
		args = append(args, p.parseSubscribed(obj))
	}
	p.expectOp("]")
	if len(args) == 1 {
		if s, ok := args[0].(*sliceExpr); ok {
			return s
		}
		return &itemExpr{obj: obj, key: args[0]}
	}
	for _, a := range args {
		if _, ok := a.(*sliceExpr); ok {
			p.fail("slices inside a tuple subscript are not supported")
		}
	}
	return &itemExpr{obj: obj, key: &tupleExpr{items: args}}
}

// parseSubscribed parses one subscript element: an expression or a slice
// (returned as a *sliceExpr on obj).
func (p *parser) parseSubscribed(obj expr) expr {
	var parts [3]expr
	idx := 0
	isSlice := false
	for !p.isOp("]") && !p.isOp(",") {
		if p.skipOp(":") {
			isSlice = true
			idx++
			if idx > 2 {
				p.fail("too many ':' in slice")
			}
			continue
		}
		if parts[idx] != nil {
			p.fail("expected ']', got %s", p.cur())
		}
		parts[idx] = p.parseExpr(true)
	}
	if !isSlice {
		if parts[0] == nil {
			p.fail("expected an expression, got %s", p.cur())
		}
		return parts[0]
	}
	return &sliceExpr{obj: obj, start: parts[0], stop: parts[1], step: parts[2]}
}

func (p *parser) parseArgs() ([]expr, []kwArg) {
	var args []expr
	var kws []kwArg
	p.expectOp("(")
	for !p.isOp(")") {
		if len(args)+len(kws) > 0 {
			p.expectOp(",")
			if p.isOp(")") {
				break
			}
		}
		if p.cur().kind == tName && p.peek().kind == tOp && p.peek().val == "=" {
			name := p.next().val
			p.next()
			kws = append(kws, kwArg{name, p.parseExpr(true)})
			continue
		}
		if len(kws) > 0 {
			p.fail("positional argument after keyword argument")
		}
		args = append(args, p.parseExpr(true))
	}
	p.expectOp(")")
	return args, kws
}

func (p *parser) parseCall(fn expr) expr {
	args, kws := p.parseArgs()
	return &callExpr{fn: fn, args: args, kwargs: kws}
}

func (p *parser) parseFilterCall() filterCall {
	name := p.expectName()
	for p.isOp(".") && p.peek().kind == tName {
		p.next()
		name += "." + p.next().val
	}
	f := filterCall{name: name}
	if p.isOp("(") {
		f.args, f.kwargs = p.parseArgs()
	}
	return f
}

func (p *parser) parseFilterExpr(e expr) expr {
	for {
		switch {
		case p.isOp("|"):
			p.next()
			e = &filterExpr{obj: e, f: p.parseFilterCall()}
		case p.isName("is"):
			p.next()
			t := &testExpr{obj: e}
			if p.skipName("not") {
				t.negate = true
			}
			t.name = p.expectName()
			for p.isOp(".") && p.peek().kind == tName {
				p.next()
				t.name += "." + p.next().val
			}
			c := p.cur()
			switch {
			case p.isOp("("):
				t.args, t.kwargs = p.parseArgs()
			case (c.kind == tName || c.kind == tString || c.kind == tInt || c.kind == tFloat ||
				c.kind == tOp && (c.val == "(" || c.val == "[" || c.val == "{")) &&
				!(c.kind == tName && (c.val == "else" || c.val == "or" || c.val == "and")):
				if c.kind == tName && c.val == "is" {
					p.fail("you cannot chain multiple tests with is")
				}
				t.args = []expr{p.parsePostfix(p.parsePrimary())}
			}
			e = t
		case p.isOp("("):
			e = p.parseCall(e)
		default:
			return e
		}
	}
}
