package chat

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"time"
)

// Error is a template failure. Type names the Python exception Jinja2 would
// raise: "raise_exception" (the template called raise_exception(msg); Msg is
// exactly msg), "TypeError", "UndefinedError", "SecurityError",
// "TemplateSyntaxError", ...
type Error struct {
	Type string
	Msg  string
}

// Error returns the message; for raise_exception it is the template's own
// message, unprefixed.
func (e *Error) Error() string {
	if e.Type == "raise_exception" {
		return e.Msg
	}
	return e.Type + ": " + e.Msg
}

// throw aborts evaluation with an *Error; catch turns it back into a value.
func throw(typ, format string, args ...any) {
	panic(&Error{Type: typ, Msg: fmt.Sprintf(format, args...)})
}

// catch runs f and converts an *Error panic (or any runtime fault, so bad
// input never crashes the caller) into an error.
func catch(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			switch x := r.(type) {
			case *Error:
				err = x
			case runtime.Error:
				err = &Error{Type: "InternalError", Msg: x.Error()}
			case ctlSignal:
				err = &Error{Type: "TemplateSyntaxError", Msg: "break/continue outside a loop"}
			default:
				err = &Error{Type: "InternalError", Msg: fmt.Sprint(x)}
			}
		}
	}()
	f()
	return nil
}

// scope is one level of variable bindings.
type scope struct {
	vars   map[string]any
	parent *scope
}

func newScope(parent *scope) *scope { return &scope{vars: map[string]any{}, parent: parent} }

func (s *scope) lookup(name string) (any, bool) {
	for c := s; c != nil; c = c.parent {
		if v, ok := c.vars[name]; ok {
			return v, true
		}
	}
	return nil, false
}

// ctlSignal carries {% break %} / {% continue %} out of a loop body.
type ctlSignal struct{ brk bool }

// macro is a callable defined by {% macro %}.
type macro struct {
	name     string
	params   []string
	defaults []expr
	body     []node
	scope    *scope // defining scope (closure)
	caller   *macro
}

// builtin is a global function such as range or namespace.
type builtin struct {
	name string
	fn   func(ev *evaluator, args []any, kw *Dict) any
}

// method is a bound method of a str, list or dict value.
type method struct {
	name string
	recv any
}

// maxCallDepth bounds macro recursion; Go cannot recover from stack exhaustion.
const maxCallDepth = 200

// evaluator holds the state of one Render call.
type evaluator struct {
	now       time.Time
	callDepth int
	steps     int  // loop iterations and macro calls so far
	mutable   bool // llama.cpp mode: list/dict mutators allowed
}

// maxSteps bounds the work of one render (loop iterations plus macro
// calls), so a hostile template cannot run for hours.
const maxSteps = 1_000_000

func (ev *evaluator) step() {
	ev.steps++
	if ev.steps > maxSteps {
		throw("RuntimeError", "template exceeded %d loop iterations and macro calls", maxSteps)
	}
}

// maxOutput bounds a render's output size (bytes) against runaway templates.
const maxOutput = 64 << 20

type writer struct {
	b     strings.Builder
	limit int
}

func (w *writer) WriteString(s string) {
	if w.b.Len()+len(s) > w.limit {
		throw("RuntimeError", "output larger than %d bytes", w.limit)
	}
	w.b.WriteString(s)
}

func (ev *evaluator) execBody(nodes []node, sc *scope, w *writer) {
	for _, n := range nodes {
		ev.exec(n, sc, w)
	}
}

func (ev *evaluator) exec(n node, sc *scope, w *writer) {
	switch n := n.(type) {
	case *textNode:
		w.WriteString(n.text)
	case *outputNode:
		w.WriteString(pyStr(ev.eval(n.e, sc)))
	case *ifNode:
		for i, c := range n.conds {
			if truthy(ev.eval(c, sc)) {
				ev.execBody(n.bodies[i], sc, w)
				return
			}
		}
		ev.execBody(n.els, sc, w)
	case *forNode:
		ev.execFor(n, sc, w)
	case *setNode:
		ev.execSet(n, sc)
	case *macroNode:
		sc.vars[n.name] = &macro{name: n.name, params: n.params, defaults: n.defaults, body: n.body, scope: sc}
	case *callBlockNode:
		caller := &macro{name: "caller", params: n.params, defaults: n.defaults, body: n.body, scope: sc}
		fn := ev.eval(n.call.fn, sc)
		args, kw := ev.evalArgs(n.call.args, n.call.kwargs, sc)
		m, ok := fn.(*macro)
		if !ok {
			throw("TypeError", "call block needs a macro")
		}
		w.WriteString(pyStr(ev.callMacro(m, args, kw, caller)))
	case *filterBlockNode:
		inner := &writer{limit: w.limit}
		ev.execBody(n.body, sc, inner)
		var v any = inner.b.String()
		for _, f := range n.filters {
			v = ev.applyFilter(f, v, sc)
		}
		w.WriteString(pyStr(v))
	case *withNode:
		inner := newScope(sc)
		for i, name := range n.names {
			inner.vars[name] = ev.eval(n.values[i], sc)
		}
		ev.execBody(n.body, inner, w)
	case *loopCtlNode:
		panic(ctlSignal{brk: n.brk})
	default:
		throw("InternalError", "unknown node %T", n)
	}
}

func (ev *evaluator) assign(sc *scope, names []string, unpack bool, v any) {
	if !unpack {
		sc.vars[names[0]] = v
		return
	}
	items := iterate(v)
	if len(items) != len(names) {
		throw("ValueError", "cannot unpack %d values into %d names", len(items), len(names))
	}
	for i, name := range names {
		sc.vars[name] = items[i]
	}
}

func (ev *evaluator) execSet(n *setNode, sc *scope) {
	var v any
	if n.body != nil || n.value == nil {
		inner := &writer{limit: maxOutput}
		ev.execBody(n.body, sc, inner)
		v = inner.b.String()
		for _, f := range n.filter {
			v = ev.applyFilter(f, v, sc)
		}
	} else {
		v = ev.eval(n.value, sc)
	}
	if n.ns != "" {
		obj, ok := sc.lookup(n.ns)
		ns, isNS := obj.(*Namespace)
		if !ok || !isNS {
			throw("TemplateRuntimeError", "cannot assign attribute on non-namespace object")
		}
		ns.d.Set(n.attr, v)
		return
	}
	ev.assign(sc, n.target, n.unpack, v)
}

// loopContext is the `loop` variable of a for loop.
type loopContext struct {
	items   []any
	index   int
	depth   int
	recurse func(any) any // loop(...) of a recursive loop; nil otherwise
	changed *loopChanged  // shared by all iterations of one loop
}

// loopChanged remembers the last loop.changed(...) arguments.
type loopChanged struct {
	last any
	set  bool
}

// execFor runs a for loop; loop.depth starts at 1 and grows only through
// recursive loop(...) calls, as in Jinja.
func (ev *evaluator) execFor(n *forNode, sc *scope, w *writer) {
	ev.runFor(n, sc, w, ev.eval(n.iter, sc), 1)
}

// runFor executes a for loop over src; recursive loops call it again
// through loop(...) with depth+1.
func (ev *evaluator) runFor(n *forNode, sc *scope, w *writer, src any, depth int) {
	all := iterate(src)
	items := all
	if n.filter != nil {
		items = nil
		for _, it := range all {
			ev.step()
			fs := newScope(sc)
			ev.assign(fs, n.target, n.unpack, it)
			if truthy(ev.eval(n.filter, fs)) {
				if n.unpack {
					// Jinja's filtered loop is a generator yielding the
					// unpacked target re-packed as a tuple.
					t := make(Tuple, len(n.target))
					for i, name := range n.target {
						t[i] = fs.vars[name]
					}
					it = t
				}
				items = append(items, it)
			}
		}
	}
	if len(items) == 0 {
		ev.execBody(n.els, sc, w)
		return
	}
	var recurse func(any) any
	if n.recursive {
		recurse = func(v any) any {
			inner := &writer{limit: w.limit}
			ev.runFor(n, sc, inner, v, depth+1)
			return inner.b.String()
		}
	}
	changed := &loopChanged{}
	for i, it := range items {
		ev.step()
		body := newScope(sc)
		ev.assign(body, n.target, n.unpack, it)
		body.vars["loop"] = &loopContext{items: items, index: i, depth: depth, recurse: recurse, changed: changed}
		if ev.runLoopBody(n.body, body, w) {
			break
		}
	}
}

// runLoopBody executes one iteration; it reports whether {% break %} ran.
func (ev *evaluator) runLoopBody(body []node, sc *scope, w *writer) (brk bool) {
	defer func() {
		if r := recover(); r != nil {
			if s, ok := r.(ctlSignal); ok {
				brk = s.brk
				return
			}
			panic(r)
		}
	}()
	ev.execBody(body, sc, w)
	return false
}

func (lc *loopContext) attr(name string) any {
	n := len(lc.items)
	switch name {
	case "index":
		return int64(lc.index + 1)
	case "index0":
		return int64(lc.index)
	case "revindex":
		return int64(n - lc.index)
	case "revindex0":
		return int64(n - lc.index - 1)
	case "first":
		return lc.index == 0
	case "last":
		return lc.index == n-1
	case "length":
		return int64(n)
	case "depth":
		return int64(lc.depth)
	case "depth0":
		return int64(lc.depth - 1)
	case "previtem":
		if lc.index == 0 {
			return Undefined{hint: "there is no previous item"}
		}
		return lc.items[lc.index-1]
	case "nextitem":
		if lc.index == n-1 {
			return Undefined{hint: "there is no next item"}
		}
		return lc.items[lc.index+1]
	case "cycle":
		return &builtin{name: "cycle", fn: func(_ *evaluator, args []any, _ *Dict) any {
			if len(args) == 0 {
				throw("TypeError", "no items for cycling given")
			}
			return args[lc.index%len(args)]
		}}
	case "changed":
		// True on the first call and whenever the arguments differ from
		// the previous call's.
		return &builtin{name: "changed", fn: func(_ *evaluator, args []any, _ *Dict) any {
			v := Tuple(append([]any{}, args...))
			if lc.changed.set && pyEqual(lc.changed.last, v) {
				return false
			}
			lc.changed.last, lc.changed.set = v, true
			return true
		}}
	}
	return Undefined{hint: fmt.Sprintf("'LoopContext' has no attribute '%s'", name)}
}

// ---- expressions ----

func (ev *evaluator) eval(e expr, sc *scope) any {
	switch e := e.(type) {
	case *literal:
		return e.v
	case *nameExpr:
		if v, ok := sc.lookup(e.name); ok {
			return v
		}
		if g, ok := globals[e.name]; ok {
			return g
		}
		return Undefined{hint: fmt.Sprintf("'%s' is undefined", e.name)}
	case *listExpr:
		out := make([]any, len(e.items))
		for i, it := range e.items {
			out[i] = ev.eval(it, sc)
		}
		return out
	case *tupleExpr:
		out := make(Tuple, len(e.items))
		for i, it := range e.items {
			out[i] = ev.eval(it, sc)
		}
		return out
	case *dictExpr:
		d := NewDict()
		for i := range e.keys {
			k := ev.eval(e.keys[i], sc)
			d.set(k, ev.eval(e.vals[i], sc))
		}
		return d
	case *attrExpr:
		return getAttr(ev.eval(e.obj, sc), e.name)
	case *itemExpr:
		return getItem(ev.eval(e.obj, sc), ev.eval(e.key, sc))
	case *sliceExpr:
		obj := ev.eval(e.obj, sc)
		var parts [3]any
		for i, p := range []expr{e.start, e.stop, e.step} {
			if p != nil {
				parts[i] = ev.eval(p, sc)
			}
		}
		return slice(obj, parts[0], parts[1], parts[2])
	case *callExpr:
		var fn any
		if a, ok := e.fn.(*attrExpr); ok && ev.mutable {
			recv := ev.eval(a.obj, sc)
			if r, done := ev.mutate(a, recv, e, sc); done {
				return r
			}
			fn = getAttr(recv, a.name)
		} else {
			fn = ev.eval(e.fn, sc)
		}
		args, kw := ev.evalArgs(e.args, e.kwargs, sc)
		return ev.call(fn, args, kw)
	case *filterExpr:
		return ev.applyFilter(e.f, ev.eval(e.obj, sc), sc)
	case *testExpr:
		args, kw := ev.evalArgs(e.args, e.kwargs, sc)
		r := ev.runTest(e.name, ev.eval(e.obj, sc), args, kw)
		return r != e.negate
	case *unaryExpr:
		x := ev.eval(e.x, sc)
		switch e.op {
		case "not":
			return !truthy(x)
		case "-":
			switch n := mustNumber(x, "unary -").(type) {
			case int64:
				return -n
			case float64:
				return -n
			}
		case "+":
			return mustNumber(x, "unary +")
		}
	case *condExpr:
		if truthy(ev.eval(e.cond, sc)) {
			return ev.eval(e.a, sc)
		}
		if e.b == nil {
			return Undefined{hint: "the inline if-expression evaluated to false and no else section was defined"}
		}
		return ev.eval(e.b, sc)
	case *binExpr:
		switch e.op {
		case "and":
			l := ev.eval(e.l, sc)
			if !truthy(l) {
				return l
			}
			return ev.eval(e.r, sc)
		case "or":
			l := ev.eval(e.l, sc)
			if truthy(l) {
				return l
			}
			return ev.eval(e.r, sc)
		}
		return binary(e.op, ev.eval(e.l, sc), ev.eval(e.r, sc))
	case *cmpExpr:
		l := ev.eval(e.first, sc)
		for i, op := range e.ops {
			r := ev.eval(e.rest[i], sc)
			if !compare(op, l, r) {
				return false
			}
			l = r
		}
		return true
	}
	throw("InternalError", "unknown expression %T", e)
	return nil
}

func (ev *evaluator) evalArgs(args []expr, kws []kwArg, sc *scope) ([]any, *Dict) {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = ev.eval(a, sc)
	}
	var kw *Dict
	if len(kws) > 0 {
		kw = NewDict()
		for _, k := range kws {
			kw.Set(k.name, ev.eval(k.val, sc))
		}
	}
	return out, kw
}

func mustNumber(v any, op string) any {
	if u, ok := v.(Undefined); ok {
		u.fail()
	}
	n, ok := asNumber(v)
	if !ok {
		throw("TypeError", "bad operand type for %s: '%s'", op, pyTypeName(v))
	}
	return n
}

func compare(op string, l, r any) bool {
	switch op {
	case "==":
		return pyEqual(l, r)
	case "!=":
		return !pyEqual(l, r)
	case "<":
		return pyCompare(l, r) < 0
	case ">":
		return pyCompare(l, r) > 0
	case "<=":
		return pyCompare(l, r) <= 0
	case ">=":
		return pyCompare(l, r) >= 0
	case "in":
		return contains(r, l)
	case "notin":
		return !contains(r, l)
	}
	return false
}

// contains is Python's `item in container`.
func contains(container, item any) bool {
	container, item = unmark(container), unmark(item)
	switch c := container.(type) {
	case string:
		s, ok := item.(string)
		if !ok {
			throw("TypeError", "'in <string>' requires string as left operand, not %s", pyTypeName(item))
		}
		return strings.Contains(c, s)
	case *Dict:
		hashKey(item)
		_, found := c.lookup(item)
		return found
	case Undefined:
		return false
	case []any, Tuple, *seqIter:
		for _, e := range iterate(c) {
			if pyEqual(e, item) {
				return true
			}
		}
		return false
	}
	throw("TypeError", "argument of type '%s' is not iterable", pyTypeName(container))
	return false
}

func binary(op string, l, r any) any {
	if op == "~" {
		return pyStr(l) + pyStr(r)
	}
	if m, ok := markupOp(op, l, r); ok {
		return m
	}
	l, r = unmark(l), unmark(r)
	if s, ok := l.(string); ok && op == "%" {
		return percentFormat(s, r)
	}
	if u, ok := l.(Undefined); ok {
		u.fail()
	}
	if u, ok := r.(Undefined); ok {
		u.fail()
	}
	nl, lnum := asNumber(l)
	nr, rnum := asNumber(r)
	if lnum && rnum {
		return arith(op, nl, nr)
	}
	switch op {
	case "+":
		switch x := l.(type) {
		case string:
			if y, ok := r.(string); ok {
				return x + y
			}
			throw("TypeError", "can only concatenate str (not \"%s\") to str", pyTypeName(r))
		case []any:
			if y, ok := r.([]any); ok {
				out := make([]any, 0, len(x)+len(y))
				return append(append(out, x...), y...)
			}
			throw("TypeError", "can only concatenate list (not \"%s\") to list", pyTypeName(r))
		case Tuple:
			if y, ok := r.(Tuple); ok {
				out := make(Tuple, 0, len(x)+len(y))
				return append(append(out, x...), y...)
			}
		}
	case "*":
		if s, ok := l.(string); ok && rnum {
			return repeatStr(s, nr)
		}
		if s, ok := r.(string); ok && lnum {
			return repeatStr(s, nl)
		}
		if s, ok := r.([]any); ok && lnum {
			return binary("*", s, nl)
		}
		if s, ok := l.([]any); ok && rnum {
			n, isInt := nr.(int64)
			if !isInt {
				throw("TypeError", "can't multiply sequence by non-int of type 'float'")
			}
			var out []any
			for i := int64(0); i < n; i++ {
				if len(out) > 1<<20 {
					throw("MemoryError", "list too large")
				}
				out = append(out, s...)
			}
			if out == nil {
				out = []any{}
			}
			return out
		}
	case "%":
		if s, ok := l.(string); ok {
			return percentFormat(s, r)
		}
	}
	throw("TypeError", "unsupported operand type(s) for %s: '%s' and '%s'", op, pyTypeName(l), pyTypeName(r))
	return nil
}

// markupOp applies markupsafe's Markup operators: Markup + str and
// str + Markup escape the plain side, Markup % args escapes the args.
func markupOp(op string, l, r any) (any, bool) {
	lm, lok := l.(Markup)
	rm, rok := r.(Markup)
	if !lok && !rok {
		return nil, false
	}
	switch op {
	case "+":
		_, ls := l.(string)
		_, rs := r.(string)
		if (lok || ls) && (rok || rs) {
			return htmlEscape(l) + htmlEscape(r), true
		}
	case "%":
		if lok {
			args := []any{r}
			if t, ok := r.(Tuple); ok {
				args = t
			}
			esc := make(Tuple, len(args))
			for i, a := range args {
				esc[i] = string(htmlEscape(a))
			}
			return Markup(percentFormat(string(lm), esc)), true
		}
	case "*":
		if lok {
			if n, ok := r.(int64); ok {
				return Markup(repeatStr(string(lm), n)), true
			}
		}
		if rok {
			if n, ok := l.(int64); ok {
				return Markup(repeatStr(string(rm), n)), true
			}
		}
	}
	return nil, false
}

func repeatStr(s string, n any) string {
	c, ok := n.(int64)
	if !ok {
		throw("TypeError", "can't multiply sequence by non-int of type 'float'")
	}
	return safeRepeat(s, c)
}

// safeRepeat is strings.Repeat bounded by the output limit; n <= 0 gives "".
func safeRepeat(s string, n int64) string {
	if n <= 0 || s == "" {
		return ""
	}
	if n > maxOutput || int64(len(s))*n > maxOutput {
		throw("MemoryError", "string of %d x %d bytes is too large", n, len(s))
	}
	return strings.Repeat(s, int(n))
}

func arith(op string, l, r any) any {
	li, lInt := l.(int64)
	ri, rInt := r.(int64)
	if lInt && rInt {
		switch op {
		case "+":
			if s := li + ri; (s > li) == (ri > 0) {
				return s
			}
			throw("OverflowError", "integer overflow in %d + %d (Python ints are unbounded)", li, ri)
		case "-":
			if s := li - ri; (s < li) == (ri > 0) {
				return s
			}
			throw("OverflowError", "integer overflow in %d - %d (Python ints are unbounded)", li, ri)
		case "*":
			return mulInt(li, ri)
		case "//":
			if ri == 0 {
				throw("ZeroDivisionError", "integer division or modulo by zero")
			}
			q := li / ri
			if (li%ri != 0) && ((li < 0) != (ri < 0)) {
				q--
			}
			return q
		case "%":
			if ri == 0 {
				throw("ZeroDivisionError", "integer division or modulo by zero")
			}
			m := li % ri
			if m != 0 && ((m < 0) != (ri < 0)) {
				m += ri
			}
			return m
		case "**":
			if ri >= 0 {
				// exponentiation by squaring; overflow raises
				out, base, e := int64(1), li, ri
				for e > 0 {
					if e&1 == 1 {
						out = mulInt(out, base)
					}
					e >>= 1
					if e > 0 {
						base = mulInt(base, base)
					}
				}
				return out
			}
		}
	}
	a, b := toFloat(l), toFloat(r)
	switch op {
	case "+":
		return a + b
	case "-":
		return a - b
	case "*":
		return a * b
	case "/":
		if b == 0 {
			throw("ZeroDivisionError", "division by zero")
		}
		return a / b
	case "//":
		if b == 0 {
			throw("ZeroDivisionError", "float floor division by zero")
		}
		return math.Floor(a / b)
	case "%":
		if b == 0 {
			throw("ZeroDivisionError", "float modulo")
		}
		m := math.Mod(a, b)
		if m != 0 && ((m < 0) != (b < 0)) {
			m += b
		}
		return m
	case "**":
		if a == 0 && b < 0 {
			throw("ZeroDivisionError", "0.0 cannot be raised to a negative power")
		}
		return math.Pow(a, b)
	}
	throw("TypeError", "unsupported operand %s", op)
	return nil
}

// mulInt multiplies, raising OverflowError where Python would go past int64.
func mulInt(a, b int64) int64 {
	if a == 0 || b == 0 {
		return 0
	}
	p := a * b
	if p/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		throw("OverflowError", "integer overflow in %d * %d (Python ints are unbounded)", a, b)
	}
	return p
}

// percentFormat implements the common subset of Python's str % args.
func percentFormat(f string, arg any) string {
	var args []any
	mapping := false
	switch t := arg.(type) {
	case Tuple:
		args = t
	case *Dict, []any, Undefined:
		// Python treats any non-tuple with __getitem__ as a mapping
		// argument: unused, it raises nothing.
		args, mapping = []any{arg}, true
	default:
		args = []any{arg}
	}
	var b strings.Builder
	ai := 0
	next := func() any {
		if ai >= len(args) {
			throw("TypeError", "not enough arguments for format string")
		}
		ai++
		return args[ai-1]
	}
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c != '%' || i+1 >= len(f) {
			b.WriteByte(c)
			continue
		}
		i++
		switch f[i] {
		case '%':
			b.WriteByte('%')
		case 's':
			b.WriteString(pyStr(next()))
		case 'r':
			b.WriteString(pyRepr(next()))
		case 'd', 'i':
			n := mustNumber(next(), "%d")
			if fl, ok := n.(float64); ok {
				n = int64(fl)
			}
			b.WriteString(pyStr(n))
		case 'f':
			b.WriteString(fmt.Sprintf("%f", toFloat(mustNumber(next(), "%f"))))
		default:
			throw("ValueError", "unsupported format character '%c'", f[i])
		}
	}
	if ai < len(args) && !mapping {
		throw("TypeError", "not all arguments converted during string formatting")
	}
	return b.String()
}

// ---- attribute and item access ----

// unsafeMethods are the mutating methods transformers' ImmutableSandboxedEnvironment refuses.
var unsafeMethods = map[string]map[string]bool{
	"list": {"append": true, "extend": true, "insert": true, "pop": true, "remove": true, "reverse": true, "sort": true, "clear": true, "__setitem__": true},
	"dict": {"clear": true, "pop": true, "popitem": true, "setdefault": true, "update": true},
}

// getAttr is Jinja's x.name: Python attribute (method) first, then item.
func getAttr(obj any, name string) any {
	obj = unmark(obj)
	switch x := obj.(type) {
	case Undefined:
		x.fail()
	case *Dict:
		if m := methodOf(x, name); m != nil {
			return m
		}
		if v, ok := x.m[name]; ok {
			return v
		}
		return Undefined{hint: fmt.Sprintf("'dict object' has no attribute '%s'", name)}
	case *Namespace:
		if v, ok := x.d.m[name]; ok {
			return v
		}
		return Undefined{hint: fmt.Sprintf("'Namespace' has no attribute '%s'", name)}
	case *loopContext:
		return x.attr(name)
	case nil:
		return Undefined{hint: fmt.Sprintf("'None' has no attribute '%s'", name)}
	}
	if m := methodOf(obj, name); m != nil {
		return m
	}
	return Undefined{hint: fmt.Sprintf("'%s object' has no attribute '%s'", pyTypeName(obj), name)}
}

// methodOf returns the bound method name of obj, a sandbox-refusing
// Undefined for mutating ones, or nil.
func methodOf(obj any, name string) any {
	tn := pyTypeName(obj)
	if unsafeMethods[tn][name] {
		return Undefined{unsafe: true, hint: fmt.Sprintf("access to attribute '%s' of '%s' object is unsafe.", name, tn)}
	}
	if methodTable[tn][name] {
		return &method{name: name, recv: obj}
	}
	return nil
}

// getItem is Jinja's x[key]: item first, then attribute.
func getItem(obj, key any) any {
	obj, key = unmark(obj), unmark(key)
	switch x := obj.(type) {
	case Undefined:
		x.fail()
	case *Dict:
		if v, ok := x.lookup(key); ok {
			return v
		}
		if k, ok := key.(string); ok {
			if m := methodOf(x, k); m != nil {
				return m
			}
		}
		return Undefined{hint: fmt.Sprintf("'dict object' has no attribute %s", pyRepr(key))}
	case *seqIter:
		if i, ok := key.(int64); ok && x.indexable {
			return indexSeq(x.items, i)
		}
	case []any, Tuple, string:
		if i, ok := asNumber(key); ok {
			if idx, isInt := i.(int64); isInt {
				if _, isBool := key.(bool); !isBool {
					return indexSeq(obj, idx)
				}
			}
		}
		if k, ok := key.(string); ok {
			return getAttr(obj, k)
		}
	case nil:
		return Undefined{hint: fmt.Sprintf("None has no element %s", pyRepr(key))}
	default:
		if k, ok := key.(string); ok {
			return getAttr(obj, k)
		}
	}
	return Undefined{hint: fmt.Sprintf("'%s object' has no element %s", pyTypeName(obj), pyRepr(key))}
}

func indexSeq(obj any, i int64) any {
	if s, ok := obj.(string); ok {
		rs := []rune(s)
		if i < 0 {
			i += int64(len(rs))
		}
		if i < 0 || i >= int64(len(rs)) {
			return Undefined{hint: "string index out of range"}
		}
		return string(rs[i])
	}
	items := iterate(obj)
	if i < 0 {
		i += int64(len(items))
	}
	if i < 0 || i >= int64(len(items)) {
		return Undefined{hint: fmt.Sprintf("'%s object' has no element %d", pyTypeName(obj), i)}
	}
	return items[i]
}

func sliceIndex(v any, name string) (int64, bool) {
	switch x := v.(type) {
	case nil:
		return 0, false
	case int64:
		return x, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	throw("TypeError", "slice %s must be an integer or None", name)
	return 0, false
}

// slice is Python's obj[start:stop:step] for lists, tuples and strings.
func slice(obj, start, stop, step any) any {
	obj = unmark(obj)
	if u, ok := obj.(Undefined); ok {
		u.fail()
	}
	var items []any
	var runes []rune
	n := int64(0)
	switch x := obj.(type) {
	case string:
		runes = []rune(x)
		n = int64(len(runes))
	case []any, Tuple:
		items = iterate(x)
		n = int64(len(items))
	case *seqIter:
		if !x.indexable {
			throw("TypeError", "'%s' object is not subscriptable", x.kind)
		}
		items, obj = x.items, x.items // a sliced range becomes a list
		n = int64(len(items))
	default:
		throw("TypeError", "'%s' object is not subscriptable", pyTypeName(obj))
	}
	st, hasStep := sliceIndex(step, "step")
	if !hasStep {
		st = 1
	}
	if st == 0 {
		throw("ValueError", "slice step cannot be zero")
	}
	norm := func(v any, def int64, name string) int64 {
		i, ok := sliceIndex(v, name)
		if !ok {
			return def
		}
		if i < 0 {
			i += n
		}
		if st > 0 {
			return max(0, min(i, n))
		}
		return max(-1, min(i, n-1))
	}
	var lo, hi int64
	if st > 0 {
		lo, hi = norm(start, 0, "start"), norm(stop, n, "stop")
	} else {
		lo, hi = norm(start, n-1, "start"), norm(stop, -1, "stop")
	}
	var idx []int64
	for i := lo; (st > 0 && i < hi) || (st < 0 && i > hi); i += st {
		idx = append(idx, i)
	}
	switch obj.(type) {
	case string:
		out := make([]rune, len(idx))
		for k, i := range idx {
			out[k] = runes[i]
		}
		return string(out)
	case Tuple:
		out := make(Tuple, len(idx))
		for k, i := range idx {
			out[k] = items[i]
		}
		return out
	}
	out := make([]any, len(idx))
	for k, i := range idx {
		out[k] = items[i]
	}
	return out
}

// ---- calls ----

func (ev *evaluator) call(fn any, args []any, kw *Dict) any {
	switch f := fn.(type) {
	case *builtin:
		return f.fn(ev, args, kw)
	case *method:
		return callMethod(f, args, kw)
	case *macro:
		return ev.callMacro(f, args, kw, nil)
	case *loopContext:
		if f.recurse != nil && len(args) == 1 && kw == nil {
			ev.callDepth++
			defer func() { ev.callDepth-- }()
			if ev.callDepth > maxCallDepth {
				throw("RecursionError", "maximum loop recursion depth exceeded")
			}
			return f.recurse(args[0])
		}
		throw("TypeError", "loop() needs a recursive for loop and one argument")
	case Undefined:
		f.fail()
	}
	throw("TypeError", "'%s' object is not callable", pyTypeName(fn))
	return nil
}

func (ev *evaluator) callMacro(m *macro, args []any, kw *Dict, caller *macro) any {
	ev.step()
	ev.callDepth++
	defer func() { ev.callDepth-- }()
	if ev.callDepth > maxCallDepth {
		throw("RecursionError", "maximum macro recursion depth exceeded in '%s'", m.name)
	}
	sc := newScope(m.scope)
	varargs := Tuple{}
	if len(args) > len(m.params) {
		varargs = Tuple(args[len(m.params):])
		args = args[:len(m.params)]
	}
	used := map[string]bool{}
	for i, p := range m.params {
		switch {
		case i < len(args):
			sc.vars[p] = args[i]
		case kw != nil && hasKey(kw, p):
			sc.vars[p] = kw.m[p]
			used[p] = true
		case m.defaults[i] != nil:
			sc.vars[p] = ev.eval(m.defaults[i], sc)
		default:
			sc.vars[p] = Undefined{hint: fmt.Sprintf("parameter '%s' was not provided", p)}
		}
	}
	extra := NewDict()
	if kw != nil {
		for _, k := range kw.keys {
			if ks := k.(string); !used[ks] {
				extra.Set(ks, kw.value(k))
			}
		}
	}
	sc.vars["varargs"] = varargs
	sc.vars["kwargs"] = extra
	if caller != nil {
		sc.vars["caller"] = caller
	}
	w := &writer{limit: maxOutput}
	ev.execBody(m.body, sc, w)
	return w.b.String()
}

func hasKey(d *Dict, k string) bool {
	_, ok := d.m[k]
	return ok
}

// bindArgs maps positional and keyword arguments onto named parameters,
// returning one value per name (nil where not given) and whether each was given.
func bindArgs(fname string, args []any, kw *Dict, names ...string) ([]any, []bool) {
	if len(args) > len(names) {
		throw("TypeError", "%s() takes at most %d arguments (%d given)", fname, len(names), len(args))
	}
	vals := make([]any, len(names))
	given := make([]bool, len(names))
	for i, a := range args {
		vals[i], given[i] = a, true
	}
	if kw != nil {
		for _, key := range kw.keys {
			k := key.(string)
			found := false
			for i, n := range names {
				if n == k {
					if given[i] {
						throw("TypeError", "%s() got multiple values for argument '%s'", fname, k)
					}
					vals[i], given[i], found = kw.m[k], true, true
				}
			}
			if !found {
				throw("TypeError", "%s() got an unexpected keyword argument '%s'", fname, k)
			}
		}
	}
	return vals, given
}
