package chat

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Values inside the renderer are: nil (Python None), bool, int64, float64,
// string, []any (list), Tuple, *Dict, *Namespace, Undefined, *loopContext,
// *macro, *builtin, *method.

// Dict is an insertion-ordered mapping with string keys, the renderer's
// equivalent of a Python dict. Key order matters: tojson and dict iteration
// follow it.
type Dict struct {
	keys []any       // original key values, in insertion order
	m    map[any]any // keyed by hashKey(key)
}

// NewDict returns an empty Dict.
func NewDict() *Dict { return &Dict{m: map[any]any{}} }

// Set stores v under the string key k, keeping k's original position if it
// already exists.
func (d *Dict) Set(k string, v any) { d.set(k, v) }

// set stores v under any hashable key (str, int, float, bool, None, tuple).
func (d *Dict) set(k, v any) {
	h := hashKey(k)
	if _, ok := d.m[h]; !ok {
		d.keys = append(d.keys, k)
	}
	d.m[h] = v
}

// lookup finds a key of any type; unhashable keys are simply absent.
func (d *Dict) lookup(k any) (any, bool) {
	h, ok := tryHashKey(k)
	if !ok {
		return nil, false
	}
	v, ok := d.m[h]
	return v, ok
}

// value returns the value of a key taken from d.keys.
func (d *Dict) value(k any) any { return d.m[hashKey(k)] }

// Get returns the value stored under the string key k.
func (d *Dict) Get(k string) (any, bool) {
	v, ok := d.m[k]
	return v, ok
}

// Keys returns the keys in insertion order, as strings (Python str() of
// non-string keys).
func (d *Dict) Keys() []string {
	out := make([]string, len(d.keys))
	for i, k := range d.keys {
		out[i] = pyStr(k)
	}
	return out
}

// tryHashKey maps a Python dict key to a comparable Go value with Python's
// equality (1 == 1.0 == True); ok is false for unhashable values.
func tryHashKey(k any) (any, bool) {
	switch x := unmark(k).(type) {
	case Undefined:
		return undefinedKey{}, true
	case nil, string, int64:
		return x, true
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<62 {
			return int64(x), true
		}
		return x, true
	case Tuple:
		for _, e := range x {
			if _, ok := tryHashKey(e); !ok {
				return nil, false
			}
		}
		return "\x00tuple" + pyRepr(x), true
	}
	return nil, false
}

// undefinedKey is the hash key of Undefined (hashable in Jinja, equal to
// every other Undefined).
type undefinedKey struct{}

func hashKey(k any) any {
	h, ok := tryHashKey(k)
	if !ok {
		throw("TypeError", "unhashable type: '%s'", pyTypeName(k))
	}
	return h
}

// Len returns the number of entries.
func (d *Dict) Len() int { return len(d.keys) }

// Tuple is an immutable sequence; it differs from a list only in how Python
// prints it.
type Tuple []any

// Namespace is the mutable object made by namespace(); {% set ns.x = v %}
// assigns to it from any scope.
type Namespace struct{ d *Dict }

// Markup is a string marked safe (Jinja's |safe and |escape results). It
// behaves as a string except that concatenating or %-formatting a plain
// string into it HTML-escapes that string, as markupsafe does; templates such
// as functionary v3.1 depend on this.
type Markup string

// unmark turns Markup into a plain string; other values pass through.
func unmark(v any) any {
	if m, ok := v.(Markup); ok {
		return string(m)
	}
	return v
}

// htmlEscape is markupsafe.escape for a plain value.
func htmlEscape(v any) Markup {
	if m, ok := v.(Markup); ok {
		return m
	}
	return Markup(htmlReplacer.Replace(pyStr(v)))
}

var htmlReplacer = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&#34;", "'", "&#39;")

// seqIter is a lazy Python iterable that is not a list: a generator (what
// Jinja's map, select, unique, ... filters return: single pass, no len(),
// always truthy, not JSON serializable) or a dict view (dict.items() etc.:
// re-iterable, has len(), not subscriptable).
type seqIter struct {
	kind      string // Python type name
	items     []any
	view      bool
	indexable bool   // range: supports x[i]
	repr      string // printed form, when not derived from items
	consumed  bool
	err       *Error // raised when first iterated (a generator that fails lazily)
}

func newGenerator(items []any) *seqIter { return &seqIter{kind: "generator", items: items} }

// Undefined is the value of a missing variable, key, index or attribute. It
// prints as "", is falsy and iterates as empty; most other uses raise
// UndefinedError, as in Jinja2's default Undefined.
type Undefined struct {
	hint   string // message for the UndefinedError raised on misuse
	unsafe bool   // attribute refused by the sandbox: calling it is a SecurityError
}

func (u Undefined) fail() {
	if u.unsafe {
		throw("SecurityError", "%s", u.hint)
	}
	if u.hint == "" {
		throw("UndefinedError", "value is undefined")
	}
	throw("UndefinedError", "%s", u.hint)
}

// pyTypeName returns Python's type name for v, used in error messages.
func pyTypeName(v any) string {
	switch x := v.(type) {
	case Markup:
		return "Markup"
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case int64:
		return "int"
	case float64:
		return "float"
	case string:
		return "str"
	case []any:
		return "list"
	case Tuple:
		return "tuple"
	case *Dict:
		return "dict"
	case *Namespace:
		return "Namespace"
	case Undefined:
		return "Undefined"
	case *loopContext:
		return "LoopContext"
	case *macro:
		return "Macro"
	case *seqIter:
		return x.kind
	}
	return "function"
}

// truthy follows Python's bool().
func truthy(v any) bool {
	switch x := unmark(v).(type) {
	case nil:
		return false
	case Undefined:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case Tuple:
		return len(x) > 0
	case *Dict:
		return x.Len() > 0
	case *seqIter:
		return !x.view || len(x.items) > 0
	}
	return true
}

// pyStr is Python's str(): what {{ v }} prints.
func pyStr(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case Markup:
		return string(x)
	case Undefined:
		return ""
	}
	var b strings.Builder
	writeRepr(&b, v, false, 0)
	return b.String()
}

// pyRepr is Python's repr().
func pyRepr(v any) string {
	var b strings.Builder
	writeRepr(&b, v, true, 0)
	return b.String()
}

func writeRepr(b *strings.Builder, v any, quote bool, depth int) {
	if depth > maxDepth {
		throw("RecursionError", "maximum recursion depth exceeded while getting the repr of an object")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("None")
	case bool:
		if x {
			b.WriteString("True")
		} else {
			b.WriteString("False")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		if quote {
			b.WriteString(pyQuote(x))
		} else {
			b.WriteString(x)
		}
	case Markup:
		if quote {
			b.WriteString("Markup(" + pyQuote(string(x)) + ")")
		} else {
			b.WriteString(string(x))
		}
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, true, depth+1)
		}
		b.WriteByte(']')
	case Tuple:
		b.WriteByte('(')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, e, true, depth+1)
		}
		if len(x) == 1 {
			b.WriteByte(',')
		}
		b.WriteByte(')')
	case *Dict:
		b.WriteByte('{')
		for i, k := range x.keys {
			if i > 0 {
				b.WriteString(", ")
			}
			writeRepr(b, k, true, depth+1)
			b.WriteString(": ")
			writeRepr(b, x.value(k), true, depth+1)
		}
		b.WriteByte('}')
	case *Namespace:
		b.WriteString("<Namespace ")
		writeRepr(b, x.d, true, depth+1)
		b.WriteByte('>')
	case Undefined:
		if quote {
			b.WriteString("Undefined")
		}
	case *seqIter:
		if x.repr != "" {
			b.WriteString(x.repr)
		} else if x.view {
			b.WriteString(x.kind + "(")
			writeRepr(b, x.items, true, depth+1)
			b.WriteString(")")
		} else {
			fmt.Fprintf(b, "<%s object>", x.kind)
		}
	case *loopContext:
		fmt.Fprintf(b, "<LoopContext %d/%d>", x.index+1, len(x.items))
	case *macro:
		fmt.Fprintf(b, "<Macro '%s'>", x.name)
	case *builtin:
		fmt.Fprintf(b, "<built-in function %s>", x.name)
	case *method:
		fmt.Fprintf(b, "<built-in method %s of %s object>", x.name, pyTypeName(x.recv))
	default:
		fmt.Fprintf(b, "%v", x)
	}
}

// pyQuote is Python's repr() of a string.
func pyQuote(s string) string {
	q := byte('\'')
	if strings.IndexByte(s, '\'') >= 0 && strings.IndexByte(s, '"') < 0 {
		q = '"'
	}
	var b strings.Builder
	b.WriteByte(q)
	for _, r := range s {
		switch {
		case r == rune(q) || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == utf8.RuneError:
			b.WriteString(`\ufffd`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x80 || unicode.IsPrint(r):
			b.WriteRune(r)
		case r < 0x100:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r < 0x10000:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	b.WriteByte(q)
	return b.String()
}

// pyFloat formats f like Python's float repr (shortest round-trip digits,
// scientific notation outside 1e-4 <= |f| < 1e16).
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "nan"
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	s := strconv.FormatFloat(f, 'e', -1, 64) // d.ddde±XX
	mant, expS, _ := strings.Cut(s, "e")
	exp, _ := strconv.Atoi(expS)
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	digits := strings.Replace(mant, ".", "", 1)
	sign := ""
	if neg {
		sign = "-"
	}
	if exp < -4 || exp >= 16 {
		m := digits[:1]
		if len(digits) > 1 {
			m += "." + digits[1:]
		}
		es := fmt.Sprintf("%+03d", exp)
		return sign + m + "e" + es
	}
	if exp < 0 {
		return sign + "0." + strings.Repeat("0", -exp-1) + digits
	}
	if len(digits) <= exp+1 {
		return sign + digits + strings.Repeat("0", exp+1-len(digits)) + ".0"
	}
	return sign + digits[:exp+1] + "." + digits[exp+1:]
}

// asNumber converts bools and numbers to int64 or float64.
func asNumber(v any) (any, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return int64(1), true
		}
		return int64(0), true
	case int64, float64:
		return x, true
	}
	return nil, false
}

func toFloat(v any) float64 {
	switch x := v.(type) {
	case int64:
		return float64(x)
	case float64:
		return x
	case bool:
		if x {
			return 1
		}
	}
	return 0
}

// pyEqual follows Python's == (1 == 1.0 == True, deep list/dict equality).
func pyEqual(a, b any) bool { return pyEqualDepth(a, b, 0) }

func pyEqualDepth(a, b any, depth int) bool {
	if depth > maxDepth {
		throw("RecursionError", "maximum recursion depth exceeded in comparison")
	}
	a, b = unmark(a), unmark(b)
	if na, ok := asNumber(a); ok {
		nb, ok := asNumber(b)
		if !ok {
			return false
		}
		ia, aInt := na.(int64)
		ib, bInt := nb.(int64)
		if aInt && bInt {
			return ia == ib
		}
		return toFloat(na) == toFloat(nb)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case Undefined:
		_, ok := b.(Undefined)
		return ok
	case []any:
		y, ok := b.([]any)
		return ok && seqEqual(x, y, depth+1)
	case Tuple:
		y, ok := b.(Tuple)
		return ok && seqEqual(x, y, depth+1)
	case *Dict:
		y, ok := b.(*Dict)
		if !ok || x.Len() != y.Len() {
			return false
		}
		for _, k := range x.keys {
			yv, ok := y.lookup(k)
			if !ok || !pyEqualDepth(x.value(k), yv, depth+1) {
				return false
			}
		}
		return true
	}
	return a == b
}

func seqEqual(a, b []any, depth int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !pyEqualDepth(a[i], b[i], depth) {
			return false
		}
	}
	return true
}

// pyCompare orders a and b as Python's < does; it raises TypeError for
// incomparable types.
func pyCompare(a, b any) int {
	a, b = unmark(a), unmark(b)
	if _, ok := a.(Undefined); ok {
		a.(Undefined).fail()
	}
	if _, ok := b.(Undefined); ok {
		b.(Undefined).fail()
	}
	if na, ok := asNumber(a); ok {
		if nb, ok := asNumber(b); ok {
			ia, aInt := na.(int64)
			ib, bInt := nb.(int64)
			if aInt && bInt {
				return cmpInt(ia, ib)
			}
			fa, fb := toFloat(na), toFloat(nb)
			switch {
			case fa < fb:
				return -1
			case fa > fb:
				return 1
			}
			return 0
		}
	}
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return strings.Compare(x, y)
		}
	case []any:
		if y, ok := b.([]any); ok {
			return seqCompare(x, y)
		}
	case Tuple:
		if y, ok := b.(Tuple); ok {
			return seqCompare(x, y)
		}
	}
	throw("TypeError", "'<' not supported between instances of '%s' and '%s'", pyTypeName(a), pyTypeName(b))
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func seqCompare(a, b []any) int {
	for i := 0; i < len(a) && i < len(b); i++ {
		if !pyEqual(a[i], b[i]) {
			return pyCompare(a[i], b[i])
		}
	}
	return cmpInt(int64(len(a)), int64(len(b)))
}

// sortValues sorts in place with Python ordering (stable, like list.sort).
func sortValues(vs []any, key func(any) any, reverse bool) {
	sort.SliceStable(vs, func(i, j int) bool {
		c := pyCompare(key(vs[i]), key(vs[j]))
		if reverse {
			return c > 0
		}
		return c < 0
	})
}

// iterate returns the items a for loop (or list()) sees.
func iterate(v any) []any {
	switch x := unmark(v).(type) {
	case []any:
		return x
	case Tuple:
		return x
	case *Dict:
		return append([]any{}, x.keys...)
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out
	case Undefined:
		return nil
	case *loopContext:
		return x.items
	case *seqIter:
		if x.view {
			return x.items
		}
		if x.consumed {
			return nil
		}
		x.consumed = true
		if x.err != nil {
			panic(x.err)
		}
		return x.items
	}
	throw("TypeError", "'%s' object is not iterable", pyTypeName(v))
	return nil
}

// length is Python's len(); strings count code points.
func length(v any) int64 {
	switch x := unmark(v).(type) {
	case string:
		return int64(utf8.RuneCountInString(x))
	case []any:
		return int64(len(x))
	case Tuple:
		return int64(len(x))
	case *Dict:
		return int64(x.Len())
	case Undefined:
		return 0
	case *seqIter:
		if x.view {
			return int64(len(x.items))
		}
	}
	throw("TypeError", "object of type '%s' has no len()", pyTypeName(v))
	return 0
}
