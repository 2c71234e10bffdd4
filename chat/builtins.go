package chat

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// globals are the functions every template sees (Jinja2's defaults plus
// transformers' raise_exception and strftime_now).
var globals map[string]any

func init() {
	globals = map[string]any{
		"range":           &builtin{name: "range", fn: builtinRange},
		"namespace":       &builtin{name: "namespace", fn: builtinNamespace},
		"dict":            &builtin{name: "dict", fn: builtinDict},
		"raise_exception": &builtin{name: "raise_exception", fn: builtinRaise},
		"strftime_now":    &builtin{name: "strftime_now", fn: builtinStrftimeNow},
	}
}

func builtinRange(ev *evaluator, args []any, _ *Dict) any {
	ints := make([]int64, len(args))
	for i, a := range args {
		n, ok := a.(int64)
		if !ok {
			if b, isB := a.(bool); isB {
				n = map[bool]int64{false: 0, true: 1}[b]
			} else {
				throw("TypeError", "'%s' object cannot be interpreted as an integer", pyTypeName(a))
			}
		}
		ints[i] = n
	}
	var start, stop, step int64 = 0, 0, 1
	switch len(ints) {
	case 1:
		stop = ints[0]
	case 2:
		start, stop = ints[0], ints[1]
	case 3:
		start, stop, step = ints[0], ints[1], ints[2]
	default:
		throw("TypeError", "range expected 1 to 3 arguments, got %d", len(args))
	}
	if step == 0 {
		throw("ValueError", "range() arg 3 must not be zero")
	}
	out := []any{}
	for i := start; (step > 0 && i < stop) || (step < 0 && i > stop); i += step {
		if len(out) >= maxSteps {
			throw("OverflowError", "range too big, more than %d items", maxSteps)
		}
		ev.step()
		out = append(out, i)
	}
	r := fmt.Sprintf("range(%d, %d)", start, stop)
	if step != 1 {
		r = fmt.Sprintf("range(%d, %d, %d)", start, stop, step)
	}
	return &seqIter{kind: "range", items: out, view: true, indexable: true, repr: r}
}

func builtinNamespace(_ *evaluator, args []any, kw *Dict) any {
	d := NewDict()
	for _, a := range args {
		src, ok := a.(*Dict)
		if !ok {
			throw("TypeError", "namespace() positional argument must be a mapping")
		}
		for _, k := range src.keys {
			d.set(k, src.value(k))
		}
	}
	if kw != nil {
		for _, k := range kw.keys {
			d.set(k, kw.value(k))
		}
	}
	return &Namespace{d: d}
}

func builtinDict(ev *evaluator, args []any, kw *Dict) any {
	ns := builtinNamespace(ev, args, kw).(*Namespace)
	return ns.d
}

func builtinRaise(_ *evaluator, args []any, _ *Dict) any {
	msg := ""
	if len(args) > 0 {
		msg = pyStr(args[0])
	}
	panic(&Error{Type: "raise_exception", Msg: msg})
}

func builtinStrftimeNow(ev *evaluator, args []any, kw *Dict) any {
	v, _ := bindArgs("strftime_now", args, kw, "format")
	f, ok := v[0].(string)
	if !ok {
		throw("TypeError", "strftime_now() argument must be str, not %s", pyTypeName(v[0]))
	}
	return strftime(ev.now, f)
}

// strftime formats t with C-locale strftime directives.
func strftime(t time.Time, f string) string {
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '%' || i+1 >= len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		pad := true
		if f[i] == '-' && i+1 < len(f) { // glibc extension: no padding
			pad = false
			i++
		}
		num := func(n, width int) {
			if pad {
				fmt.Fprintf(&b, "%0*d", width, n)
			} else {
				fmt.Fprintf(&b, "%d", n)
			}
		}
		switch f[i] {
		case 'Y':
			fmt.Fprintf(&b, "%d", t.Year())
		case 'y':
			num(t.Year()%100, 2)
		case 'm':
			num(int(t.Month()), 2)
		case 'd':
			num(t.Day(), 2)
		case 'e':
			fmt.Fprintf(&b, "%2d", t.Day())
		case 'H':
			num(t.Hour(), 2)
		case 'I':
			h := t.Hour() % 12
			if h == 0 {
				h = 12
			}
			num(h, 2)
		case 'M':
			num(t.Minute(), 2)
		case 'S':
			num(t.Second(), 2)
		case 'j':
			num(t.YearDay(), 3)
		case 'p':
			if t.Hour() < 12 {
				b.WriteString("AM")
			} else {
				b.WriteString("PM")
			}
		case 'b', 'h':
			b.WriteString(t.Month().String()[:3])
		case 'B':
			b.WriteString(t.Month().String())
		case 'a':
			b.WriteString(t.Weekday().String()[:3])
		case 'A':
			b.WriteString(t.Weekday().String())
		case 'w':
			fmt.Fprintf(&b, "%d", int(t.Weekday()))
		case 'F':
			b.WriteString(t.Format("2006-01-02"))
		case 'T':
			b.WriteString(t.Format("15:04:05"))
		case 'D':
			b.WriteString(t.Format("01/02/06"))
		case 'c':
			b.WriteString(t.Format("Mon Jan _2 15:04:05 2006"))
		case 'x':
			b.WriteString(t.Format("01/02/06"))
		case 'X':
			b.WriteString(t.Format("15:04:05"))
		case 'Z', 'z':
			// naive datetime: empty
		case '%':
			b.WriteByte('%')
		default:
			b.WriteByte('%')
			b.WriteByte(f[i])
		}
	}
	return b.String()
}

// ---- filters ----

type filterFunc func(ev *evaluator, v any, args []any, kw *Dict) any

var filters map[string]filterFunc

func init() {
	filters = map[string]filterFunc{
		"tojson":     filterToJSON,
		"length":     func(_ *evaluator, v any, _ []any, _ *Dict) any { return length(v) },
		"string":     filterString,
		"safe":       func(_ *evaluator, v any, _ []any, _ *Dict) any { return Markup(pyStr(v)) },
		"trim":       filterTrim,
		"upper":      func(_ *evaluator, v any, _ []any, _ *Dict) any { return strings.ToUpper(pyStr(v)) },
		"lower":      func(_ *evaluator, v any, _ []any, _ *Dict) any { return strings.ToLower(pyStr(v)) },
		"capitalize": func(_ *evaluator, v any, _ []any, _ *Dict) any { return capitalize(pyStr(v)) },
		"title":      func(_ *evaluator, v any, _ []any, _ *Dict) any { return jinjaTitle(pyStr(v)) },
		"items":      filterItems,
		"list":       func(_ *evaluator, v any, _ []any, _ *Dict) any { return append([]any{}, iterate(v)...) },
		"join":       filterJoin,
		"default":    filterDefault,
		"selectattr": func(ev *evaluator, v any, a []any, kw *Dict) any { return selectOrReject(ev, v, a, true, true) },
		"rejectattr": func(ev *evaluator, v any, a []any, kw *Dict) any { return selectOrReject(ev, v, a, true, false) },
		"select":     func(ev *evaluator, v any, a []any, kw *Dict) any { return selectOrReject(ev, v, a, false, true) },
		"reject":     func(ev *evaluator, v any, a []any, kw *Dict) any { return selectOrReject(ev, v, a, false, false) },
		"map":        filterMap,
		"dictsort":   filterDictsort,
		"replace":    filterReplace,
		"indent":     filterIndent,
		"min":        func(ev *evaluator, v any, a []any, kw *Dict) any { return minMax(v, a, kw, "min") },
		"max":        func(ev *evaluator, v any, a []any, kw *Dict) any { return minMax(v, a, kw, "max") },
		"unique":     filterUnique,
		"int":        filterInt,
		"float":      filterFloat,
		"abs":        filterAbs,
		"round":      filterRound,
		"sort":       filterSort,
		"first":      filterFirst,
		"last":       filterLast,
		"reverse":    filterReverse,
		"sum":        filterSum,
		"attr": func(_ *evaluator, v any, a []any, kw *Dict) any {
			p, _ := bindArgs("attr", a, kw, "name")
			return getAttr(v, pyStr(p[0]))
		},
		"format":    func(_ *evaluator, v any, a []any, _ *Dict) any { return percentFormat(pyStr(v), Tuple(a)) },
		"escape":    filterEscape,
		"wordcount": filterWordcount,
		"center":    filterCenter,
		"batch":     filterBatch,
	}
	filters["count"] = filters["length"]
	filters["d"] = filters["default"]
	filters["e"] = filters["escape"]
}

// lazyFilters are Jinja filters implemented as Python generators: their
// errors surface only when the result is iterated.
var lazyFilters = map[string]bool{"map": true, "select": true, "reject": true, "selectattr": true, "rejectattr": true, "unique": true, "batch": true}

func (ev *evaluator) applyFilter(f filterCall, v any, sc *scope) any {
	fn, ok := filters[f.name]
	if !ok {
		throw("TemplateRuntimeError", "No filter named '%s' found.", f.name)
	}
	args, kw := ev.evalArgs(f.args, f.kwargs, sc)
	if lazyFilters[f.name] {
		var out any
		if err := catch(func() { out = fn(ev, v, args, kw) }); err != nil {
			e, isErr := err.(*Error)
			if !isErr || e.Type == "InternalError" || e.Type == "RuntimeError" {
				panic(err)
			}
			return &seqIter{kind: "generator", err: e}
		}
		return out
	}
	return fn(ev, v, args, kw)
}

func filterToJSON(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("tojson", args, kw, "ensure_ascii", "indent", "separators", "sort_keys")
	o := jsonOpts{ensureASCII: truthy(p[0]), sortKeys: truthy(p[3]), itemSep: ", ", keySep: ": "}
	switch ind := p[1].(type) {
	case nil:
	case int64:
		o.hasIndent, o.indent, o.itemSep = true, safeRepeat(" ", ind), ","
	case string:
		o.hasIndent, o.indent, o.itemSep = true, ind, ","
	default:
		throw("TypeError", "tojson indent must be an int or str")
	}
	if p[2] != nil {
		seps := iterate(p[2])
		if len(seps) != 2 {
			throw("ValueError", "separators must be a pair")
		}
		o.itemSep, o.keySep = pyStr(seps[0]), pyStr(seps[1])
	}
	return toJSON(v, o)
}

func filterTrim(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("trim", args, kw, "chars")
	return pyStrip(pyStr(v), p[0], true, true)
}

func filterItems(_ *evaluator, v any, _ []any, _ *Dict) any {
	switch x := v.(type) {
	case Undefined:
		return newGenerator(nil)
	case *Dict:
		return newGenerator(dictItems(x))
	}
	// Jinja's items filter is a generator: the error surfaces on iteration.
	return &seqIter{kind: "generator", err: &Error{Type: "TypeError", Msg: "Can only get item pairs from a mapping."}}
}

func dictItems(d *Dict) []any {
	out := make([]any, len(d.keys))
	for i, k := range d.keys {
		out[i] = Tuple{k, d.value(k)}
	}
	return out
}

func filterJoin(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("join", args, kw, "d", "attribute")
	sep := ""
	if p[0] != nil {
		sep = pyStr(p[0])
	}
	items := iterate(v)
	parts := make([]string, len(items))
	for i, it := range items {
		if p[1] != nil {
			it = attrPath(it, p[1])
		}
		parts[i] = pyStr(it)
	}
	return strings.Join(parts, sep)
}

func filterDefault(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("default", args, kw, "default_value", "boolean")
	def := p[0]
	if def == nil && len(args) == 0 && (kw == nil || !hasKey(kw, "default_value")) {
		def = ""
	}
	if _, ok := v.(Undefined); ok || (truthy(p[1]) && !truthy(v)) {
		return def
	}
	return v
}

// attrPath is Jinja's make_attrgetter: dotted path, each part looked up
// item-first; integer parts index sequences.
func attrPath(v any, path any) any {
	s, ok := path.(string)
	if !ok {
		return getItem(v, path)
	}
	for _, part := range strings.Split(s, ".") {
		if n, err := strconv.ParseInt(part, 10, 64); err == nil {
			v = getItem(v, n)
		} else {
			v = getItem(v, part)
		}
	}
	return v
}

func selectOrReject(ev *evaluator, v any, args []any, byAttr, want bool) any {
	var attr any
	if byAttr {
		if len(args) == 0 {
			throw("TypeError", "missing attribute argument")
		}
		attr, args = args[0], args[1:]
	}
	out := []any{}
	if !truthy(v) {
		return newGenerator(out)
	}
	for _, it := range iterate(v) {
		x := it
		if byAttr {
			x = attrPath(it, attr)
		}
		var ok bool
		if len(args) == 0 {
			ok = truthy(x)
		} else {
			ok = ev.runTest(pyStr(args[0]), x, args[1:], nil)
		}
		if ok == want {
			out = append(out, it)
		}
	}
	return newGenerator(out)
}

func filterMap(ev *evaluator, v any, args []any, kw *Dict) any {
	if !truthy(v) {
		return newGenerator(nil)
	}
	items := iterate(v)
	out := make([]any, 0, len(items))
	if kw != nil && hasKey(kw, "attribute") {
		def, hasDef := kw.m["default"]
		for _, it := range items {
			x := attrPath(it, kw.m["attribute"])
			if _, undef := x.(Undefined); undef && hasDef {
				x = def
			}
			out = append(out, x)
		}
		return newGenerator(out)
	}
	if len(args) == 0 {
		throw("FilterArgumentError", "map requires a filter argument")
	}
	name := pyStr(args[0])
	fn, ok := filters[name]
	if !ok {
		throw("TemplateRuntimeError", "No filter named '%s'.", name)
	}
	for _, it := range items {
		out = append(out, fn(ev, it, args[1:], kw))
	}
	return newGenerator(out)
}

// ignoreCase lowers strings for the case-insensitive sorts of Jinja filters.
func ignoreCase(v any) any {
	if s, ok := v.(string); ok {
		return strings.ToLower(s)
	}
	return v
}

func filterDictsort(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("dictsort", args, kw, "case_sensitive", "by", "reverse")
	d, ok := v.(*Dict)
	if !ok {
		if u, isU := v.(Undefined); isU {
			u.fail()
		}
		throw("AttributeError", "'%s' object has no attribute 'items'", pyTypeName(v))
	}
	pos := 0
	if p[1] != nil {
		switch pyStr(p[1]) {
		case "key":
		case "value":
			pos = 1
		default:
			throw("FilterArgumentError", "You can only sort by either \"key\" or \"value\"")
		}
	}
	items := dictItems(d)
	cs := truthy(p[0])
	sortValues(items, func(it any) any {
		x := it.(Tuple)[pos]
		if !cs {
			x = ignoreCase(x)
		}
		return x
	}, truthy(p[2]))
	return items
}

func filterReplace(_ *evaluator, v any, args []any, kw *Dict) any {
	p, given := bindArgs("replace", args, kw, "old", "new", "count")
	if !given[0] || !given[1] {
		throw("TypeError", "replace() missing arguments")
	}
	n := -1
	if c, ok := p[2].(int64); ok {
		n = int(c)
	}
	return strings.Replace(pyStr(v), pyStr(p[0]), pyStr(p[1]), n)
}

func filterIndent(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("indent", args, kw, "width", "first", "blank")
	ind := "    "
	switch w := p[0].(type) {
	case int64:
		ind = safeRepeat(" ", w)
	case string:
		ind = w
	}
	switch x := v.(type) {
	case string, Markup:
	case Undefined:
		x.fail()
	case []any:
		throw("AttributeError", "'list' object has no attribute 'splitlines'")
	default:
		// Jinja's indent does `s += "\n"` before anything else.
		throw("TypeError", "unsupported operand type(s) for +=: '%s' and 'str'", pyTypeName(v))
	}
	s := pyStr(v) + "\n"
	lines := pySplitLines(s)
	var rv string
	if truthy(p[2]) {
		rv = strings.Join(lines, "\n"+ind)
	} else {
		rv = lines[0]
		rest := lines[1:]
		if len(rest) > 0 {
			parts := make([]string, len(rest))
			for i, l := range rest {
				if l != "" {
					l = ind + l
				}
				parts[i] = l
			}
			rv += "\n" + strings.Join(parts, "\n")
		}
	}
	if truthy(p[1]) {
		rv = ind + rv
	}
	return rv
}

// pySplitLines is str.splitlines() for \n, \r\n and \r line ends.
func pySplitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\n':
			out = append(out, s[start:i])
			start = i + 1
		case '\r':
			out = append(out, s[start:i])
			if i+1 < len(s) && s[i+1] == '\n' {
				i++
			}
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	if out == nil {
		out = []string{""}
	}
	return out
}

func minMax(v any, args []any, kw *Dict, which string) any {
	p, _ := bindArgs(which, args, kw, "case_sensitive", "attribute")
	items := iterate(v)
	if len(items) == 0 {
		return Undefined{hint: fmt.Sprintf("No aggregated item, sequence was empty.")}
	}
	key := func(x any) any {
		if p[1] != nil {
			x = attrPath(x, p[1])
		}
		if !truthy(p[0]) {
			x = ignoreCase(x)
		}
		return x
	}
	best := items[0]
	for _, it := range items[1:] {
		c := pyCompare(key(it), key(best))
		if (which == "min" && c < 0) || (which == "max" && c > 0) {
			best = it
		}
	}
	return best
}

func filterUnique(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("unique", args, kw, "case_sensitive", "attribute")
	out := []any{}
	var seen []any
	for _, it := range iterate(v) {
		k := it
		if p[1] != nil {
			k = attrPath(it, p[1])
		}
		if !truthy(p[0]) {
			k = ignoreCase(k)
		}
		dup := false
		for _, s := range seen {
			if pyEqual(s, k) {
				dup = true
				break
			}
		}
		if !dup {
			hashKey(k)
			seen = append(seen, k)
			out = append(out, it)
		}
	}
	return newGenerator(out)
}

func filterInt(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("int", args, kw, "default", "base")
	def := p[0]
	if def == nil {
		def = int64(0)
	}
	base := 10
	if b, ok := p[1].(int64); ok {
		base = int(b)
	}
	switch x := unmark(v).(type) {
	case Undefined:
		x.fail()
	case int64:
		return x
	case bool:
		return map[bool]int64{false: 0, true: 1}[x]
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return def
		}
		return int64(x)
	case string:
		s := strings.ReplaceAll(strings.TrimFunc(x, pyIsSpace), "_", "")
		if base != 10 && base != 0 {
			// Python accepts the prefix matching the base: int("0x1A", 16).
			prefix := map[int]string{16: "0x", 8: "0o", 2: "0b"}[base]
			body := strings.TrimLeft(s, "+-")
			if prefix != "" && strings.HasPrefix(strings.ToLower(body), prefix) {
				s = s[:len(s)-len(body)] + body[2:]
			}
		}
		if n, err := strconv.ParseInt(s, base, 64); err == nil {
			return n
		}
		if f, err := strconv.ParseFloat(s, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
			return int64(f)
		}
	}
	return def
}

func filterFloat(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("float", args, kw, "default")
	def := p[0]
	if def == nil {
		def = 0.0
	}
	switch x := unmark(v).(type) {
	case Undefined:
		x.fail()
	case int64, bool:
		return toFloat(x)
	case float64:
		return x
	case string:
		if f, err := strconv.ParseFloat(strings.TrimFunc(x, pyIsSpace), 64); err == nil {
			return f
		}
	}
	return def
}

func filterAbs(_ *evaluator, v any, _ []any, _ *Dict) any {
	if _, ok := v.(Undefined); ok {
		throw("TypeError", "bad operand type for abs(): 'Undefined'")
	}
	switch x := mustNumber(v, "abs()").(type) {
	case int64:
		if x < 0 {
			return -x
		}
		return x
	case float64:
		return math.Abs(x)
	}
	return nil
}

func filterRound(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("round", args, kw, "precision", "method")
	prec := int64(0)
	if n, ok := p[0].(int64); ok {
		prec = n
	}
	if _, ok := v.(Undefined); ok {
		throw("TypeError", "type Undefined doesn't define __round__ method")
	}
	n := mustNumber(v, "round")
	scale := math.Pow(10, float64(prec))
	method := "common"
	if p[1] != nil {
		method = pyStr(p[1])
	}
	switch method {
	case "ceil":
		return math.Ceil(toFloat(n)*scale) / scale
	case "floor":
		return math.Floor(toFloat(n)*scale) / scale
	case "common":
	default:
		throw("FilterArgumentError", "method must be common, ceil or floor")
	}
	if i, ok := n.(int64); ok {
		// Python's round(int, ndigits) stays an int.
		if prec >= 0 {
			return i
		}
		return int64(math.RoundToEven(float64(i)*scale) / scale)
	}
	f := toFloat(n)
	if prec >= 0 && prec < 300 && !math.IsInf(f, 0) && !math.IsNaN(f) {
		// Correctly rounded, like Python's round(): 2.675 -> 2.67 (its
		// binary value is below the tie).
		r, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', int(prec), 64), 64)
		return r
	}
	return math.RoundToEven(f*scale) / scale
}

func filterSort(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("sort", args, kw, "reverse", "case_sensitive", "attribute")
	items := append([]any{}, iterate(v)...)
	// Jinja's make_multi_attrgetter: the key is a list (one entry per
	// comma-separated attribute), so equal keys compare with == first.
	var attrs []any
	if a, ok := p[2].(string); ok {
		for _, part := range strings.Split(a, ",") {
			attrs = append(attrs, part)
		}
	} else {
		attrs = []any{p[2]}
	}
	sortValues(items, func(x any) any {
		key := make([]any, len(attrs))
		for i, a := range attrs {
			k := x
			if a != nil {
				k = attrPath(x, a)
			}
			if !truthy(p[1]) {
				k = ignoreCase(k)
			}
			key[i] = k
		}
		return key
	}, truthy(p[0]))
	return items
}

func filterFirst(_ *evaluator, v any, _ []any, _ *Dict) any {
	items := iterate(v)
	if len(items) == 0 {
		return Undefined{hint: "No first item, sequence was empty."}
	}
	return items[0]
}

func filterLast(_ *evaluator, v any, _ []any, _ *Dict) any {
	if g, ok := v.(*seqIter); ok && !g.view {
		throw("TypeError", "'%s' object is not reversible", g.kind)
	}
	items := iterate(v)
	if len(items) == 0 {
		return Undefined{hint: "No last item, sequence was empty."}
	}
	return items[len(items)-1]
}

func filterReverse(_ *evaluator, v any, _ []any, _ *Dict) any {
	if s, ok := unmark(v).(string); ok {
		return slice(s, nil, nil, int64(-1))
	}
	switch x := v.(type) {
	case []any, Tuple, *Dict, Undefined:
	case *seqIter:
		if !x.view {
			// reversed() refuses generators; Jinja falls back to a list
			items := append([]any{}, iterate(x)...)
			for i, j := 0, len(items)-1; i < j; i, j = i+1, j-1 {
				items[i], items[j] = items[j], items[i]
			}
			return items
		}
	default:
		throw("FilterArgumentError", "argument must be iterable")
	}
	items := iterate(v)
	out := make([]any, len(items))
	for i, it := range items {
		out[len(items)-1-i] = it
	}
	kind := map[string]string{"list": "list_reverseiterator", "dict": "dict_reversekeyiterator"}[pyTypeName(v)]
	if kind == "" {
		kind = "reversed"
	}
	return &seqIter{kind: kind, items: out}
}

func filterSum(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("sum", args, kw, "attribute", "start")
	var total any = int64(0)
	if p[1] != nil {
		total = p[1]
	}
	for _, it := range iterate(v) {
		if p[0] != nil {
			it = attrPath(it, p[0])
		}
		total = binary("+", total, it)
	}
	return total
}

func filterEscape(_ *evaluator, v any, _ []any, _ *Dict) any { return htmlEscape(v) }

// filterString is soft_str: Markup stays Markup, anything else becomes str.
func filterString(_ *evaluator, v any, _ []any, _ *Dict) any {
	if m, ok := v.(Markup); ok {
		return m
	}
	return pyStr(v)
}

func filterCenter(_ *evaluator, v any, args []any, kw *Dict) any {
	p, _ := bindArgs("center", args, kw, "width")
	w := int64(80)
	if n, ok := p[0].(int64); ok {
		w = n
	}
	s := pyStr(v)
	if w > maxOutput {
		throw("MemoryError", "center width %d too large", w)
	}
	n := int(w) - len([]rune(s))
	if n <= 0 {
		return s
	}
	left := n / 2
	if n%2 == 1 && int(w)%2 == 1 {
		left++
	}
	return safeRepeat(" ", int64(left)) + s + safeRepeat(" ", int64(n-left))
}

func filterBatch(_ *evaluator, v any, args []any, kw *Dict) any {
	p, given := bindArgs("batch", args, kw, "linecount", "fill_with")
	n, ok := p[0].(int64)
	if !ok || n <= 0 {
		throw("TypeError", "batch() needs a positive linecount")
	}
	out := []any{}
	var cur []any
	for _, it := range iterate(v) {
		cur = append(cur, it)
		if int64(len(cur)) == n {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		for given[1] && int64(len(cur)) < n {
			cur = append(cur, p[1])
		}
		out = append(out, cur)
	}
	return newGenerator(out)
}

// jinjaTitle is Jinja's title filter: split before runs of "-", whitespace,
// "(", "{", "[" or "<", then upper-case each piece's first character and
// lower-case the rest (unlike str.title, a quote does not start a word).
func jinjaTitle(s string) string {
	isSep := func(r rune) bool { return r == '-' || r == '(' || r == '{' || r == '[' || r == '<' || pyIsSpace(r) }
	var b strings.Builder
	rs := []rune(s)
	for i := 0; i < len(rs); {
		j := i
		if isSep(rs[i]) {
			for j < len(rs) && isSep(rs[j]) {
				j++
			}
			b.WriteString(string(rs[i:j]))
		} else {
			for j < len(rs) && !isSep(rs[j]) {
				j++
			}
			b.WriteString(strings.ToUpper(string(rs[i])))
			b.WriteString(strings.ToLower(string(rs[i+1 : j])))
		}
		i = j
	}
	return b.String()
}

// filterWordcount counts runs of word characters (Python's \w+).
func filterWordcount(_ *evaluator, v any, _ []any, _ *Dict) any {
	n, in := int64(0), false
	for _, r := range pyStr(v) {
		w := r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r)
		if w && !in {
			n++
		}
		in = w
	}
	return n
}

func capitalize(s string) string {
	rs := []rune(strings.ToLower(s))
	if len(rs) > 0 {
		rs[0] = unicode.ToUpper(rs[0])
	}
	return string(rs)
}

func title(s string) string {
	rs := []rune(s)
	prevLetter := false
	for i, r := range rs {
		if unicode.IsLetter(r) {
			if prevLetter {
				rs[i] = unicode.ToLower(r)
			} else {
				rs[i] = unicode.ToTitle(r)
			}
			prevLetter = true
		} else {
			prevLetter = false
		}
	}
	return string(rs)
}

// ---- tests ----

func (ev *evaluator) runTest(name string, v any, args []any, kw *Dict) bool {
	if name == "escaped" {
		_, ok := v.(Markup)
		return ok
	}
	v = unmark(v)
	for i := range args {
		args[i] = unmark(args[i])
	}
	arg := func() any {
		if len(args) > 0 {
			return args[0]
		}
		if kw != nil && len(kw.keys) > 0 {
			return kw.value(kw.keys[0])
		}
		throw("TypeError", "test '%s' needs an argument", name)
		return nil
	}
	_, isUndef := v.(Undefined)
	switch name {
	case "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "boolean", "true", "false",
		"number", "integer", "float", "callable", "odd", "even", "lower", "upper", "filter", "test":
		if len(args) > 0 || (kw != nil && kw.Len() > 0) {
			throw("TypeError", "test_%s() takes 1 positional argument but %d were given", name, len(args)+1)
		}
	}
	switch name {
	case "defined":
		return !isUndef
	case "undefined":
		return isUndef
	case "none":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "mapping":
		_, ok := v.(*Dict)
		return ok
	case "iterable", "sequence":
		switch v.(type) {
		case string, []any, Tuple, *Dict, Undefined:
			return true
		case *seqIter:
			return name == "iterable" || v.(*seqIter).indexable
		case *loopContext:
			return name == "iterable"
		}
		return false
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "true":
		b, ok := v.(bool)
		return ok && b
	case "false":
		b, ok := v.(bool)
		return ok && !b
	case "number":
		switch v.(type) {
		case int64, float64, bool:
			return true
		}
		return false
	case "integer":
		_, ok := v.(int64)
		return ok
	case "float":
		_, ok := v.(float64)
		return ok
	case "callable":
		switch x := v.(type) {
		case *builtin, *method, *macro, Undefined: // Undefined defines __call__
			return true
		case *loopContext:
			return x.recurse != nil
		}
		return false
	case "equalto", "eq", "==":
		return pyEqual(v, arg())
	case "ne", "!=":
		return !pyEqual(v, arg())
	case "lt", "lessthan", "<":
		return pyCompare(v, arg()) < 0
	case "gt", "greaterthan", ">":
		return pyCompare(v, arg()) > 0
	case "le", "<=":
		return pyCompare(v, arg()) <= 0
	case "ge", ">=":
		return pyCompare(v, arg()) >= 0
	case "in":
		return contains(arg(), v)
	case "odd", "even", "divisibleby":
		// Python: value % 2 == 1, value % 2 == 0, value % num == 0
		var div any = int64(2)
		if name == "divisibleby" {
			div = arg()
		}
		m := binary("%", v, div)
		if name == "odd" {
			return pyEqual(m, int64(1))
		}
		return pyEqual(m, int64(0))
	case "sameas":
		o := arg()
		switch v.(type) {
		case nil, bool, Undefined:
			return v == o
		}
		return pyEqual(v, o) && fmt.Sprintf("%p", v) == fmt.Sprintf("%p", o)
	case "lower", "upper":
		// Jinja: str(value).islower() / .isupper()
		s := pyStr(v)
		cased := false
		for _, r := range s {
			if unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) {
				cased = true
				if (name == "lower" && !unicode.IsLower(r)) || (name == "upper" && !unicode.IsUpper(r)) {
					return false
				}
			}
		}
		return cased
	case "filter":
		_, ok := filters[pyStr(v)]
		return ok
	case "test":
		switch pyStr(v) {
		case "defined", "undefined", "none", "string", "mapping", "iterable", "sequence", "boolean", "true", "false",
			"number", "integer", "float", "callable", "equalto", "eq", "ne", "lt", "gt", "le", "ge", "in", "odd", "even",
			"divisibleby", "sameas", "lower", "upper", "filter", "test", "escaped":
			return true
		}
		return false
	}
	throw("TemplateAssertionError", "No test named '%s'.", name)
	return false
}
