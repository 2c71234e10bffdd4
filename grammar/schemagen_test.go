package grammar

import (
	"encoding/json"
	"fmt"
	"strings"
)

// schemaGen builds a random JSON Schema inside the feature set the
// converter supports, drawing every decision from a byte string (a fuzz
// input, or random bytes): once the bytes run out every choice is 0, which
// always means the simplest option, so any input gives a finite schema.
//
// It only combines keywords the converter accepts together, keeps repeat
// counts small, makes oneOf branches disjoint (the grammar enforces oneOf
// as anyOf, so overlapping branches could match twice and fail
// validation), and lets a $ref point back to a schema still being built
// (recursion) only from an optional place inside it (a property that is
// not required, or the items of an array with minItems 0), so every
// recursive schema has finite instances.
type schemaGen struct {
	src []byte
	pos int

	defs    map[string]any // "$defs" of the schema being built
	defKind []string       // def names in creation order (for reuse)
	// building holds the defs under construction with the optional depth
	// at their start: a reference back to one is safe only from a deeper
	// optional depth.
	building  map[string]int
	optDepth  int
	rootRefs  bool   // a "$ref": "#" may point back to the root
	defsKey   string // "$defs" or "definitions"
	recursive bool   // a reference points back into a schema being built
}

// n returns a choice in [0, k).
func (g *schemaGen) n(k int) int {
	if k <= 1 || g.pos >= len(g.src) {
		return 0
	}
	b := g.src[g.pos]
	g.pos++
	return int(b) % k
}

// pick returns one of the choices.
func pick[T any](g *schemaGen, xs ...T) T { return xs[g.n(len(xs))] }

// genSchema returns a random supported schema (as JSON) from src, and
// whether it is recursive.
func genSchema(src []byte) ([]byte, bool) {
	g := &schemaGen{src: src, defs: map[string]any{}, building: map[string]int{}}
	g.rootRefs = g.n(2) == 1
	g.defsKey = pick(g, "$defs", "definitions")
	root := g.schema(3)
	if len(g.defs) > 0 || g.rootRefs {
		m, ok := root.(map[string]any)
		if !ok || m["$ref"] != nil {
			// Keywords beside $ref are unsupported: wrap.
			m = map[string]any{"allOf": []any{root}}
		}
		if len(g.defs) > 0 {
			m[g.defsKey] = g.defs
		}
		root = m
	}
	b, err := json.Marshal(root)
	if err != nil {
		panic(err) // only maps, slices and scalars: cannot fail
	}
	return b, g.recursive
}

// schema returns a schema of nesting depth at most depth.
func (g *schemaGen) schema(depth int) any {
	if depth <= 0 {
		return g.leaf()
	}
	switch g.n(9) {
	case 1, 2:
		return g.object(depth)
	case 3:
		return g.array(depth)
	case 4:
		subs := make([]any, 2+g.n(2))
		for i := range subs {
			subs[i] = g.schema(depth - 1)
		}
		return map[string]any{"anyOf": subs}
	case 5:
		return g.oneOf(depth)
	case 6:
		return g.ref(depth)
	case 7:
		return map[string]any{"allOf": []any{g.schema(depth - 1)}, "description": "one schema"}
	}
	return g.leaf()
}

// optional runs f in an optional place (see schemaGen).
func (g *schemaGen) optional(opt bool, f func() any) any {
	if opt {
		g.optDepth++
		defer func() { g.optDepth-- }()
	}
	return f()
}

var propNames = []string{"a", "b", "id", "name", "k\"q", "é", "sp ace", "x/y", "back\\slash", "😀", "", "tab\t", "ab"}

func (g *schemaGen) object(depth int) any {
	s := map[string]any{"type": "object"}
	if g.n(5) == 1 {
		delete(s, "type") // inferred from the keywords
	}
	props := map[string]any{}
	var req []any
	for i, n := 0, g.n(4); i < n; i++ {
		name := pick(g, propNames...)
		if _, dup := props[name]; dup {
			continue
		}
		required := g.n(2) == 1
		props[name] = g.optional(!required, func() any { return g.schema(depth - 1) })
		if required {
			req = append(req, name)
		}
	}
	if len(props) > 0 || g.n(2) == 1 {
		s["properties"] = props
	}
	if len(req) > 0 {
		s["required"] = req
	}
	switch g.n(5) {
	case 1:
		s["additionalProperties"] = false
	case 2:
		s["additionalProperties"] = true
	case 3:
		s["additionalProperties"] = g.optional(true, func() any { return g.schema(depth - 2) })
	}
	if len(s) == 0 {
		s["type"] = "object"
	}
	return s
}

func (g *schemaGen) array(depth int) any {
	s := map[string]any{"type": "array"}
	lo := -1
	switch g.n(4) {
	case 1:
		lo = g.n(3)
		s["minItems"] = lo
	case 2:
		s["maxItems"] = g.n(4)
	case 3:
		lo = g.n(3)
		s["minItems"], s["maxItems"] = lo, lo+g.n(3)
	}
	switch g.n(6) {
	case 0:
		// no items: any values
	case 1:
		s["items"] = true
	case 5:
		if lo <= 0 {
			s["items"] = false // only the empty array
			break
		}
		s["items"] = g.optional(false, func() any { return g.schema(depth - 1) })
	default:
		s["items"] = g.optional(lo <= 0, func() any { return g.schema(depth - 1) })
	}
	return s
}

// oneOf gives branches of distinct instance types, so at most one matches.
func (g *schemaGen) oneOf(depth int) any {
	kinds := []string{"string", "integer", "boolean", "null", "object", "array"}
	var subs []any
	for i, n := 0, 2+g.n(2); i < n && len(kinds) > 0; i++ {
		j := g.n(len(kinds))
		subs = append(subs, g.ofType(kinds[j], depth-1))
		kinds = append(kinds[:j:j], kinds[j+1:]...)
	}
	return map[string]any{"oneOf": subs}
}

// ofType returns a schema whose instances all have JSON type t.
func (g *schemaGen) ofType(t string, depth int) any {
	switch t {
	case "string":
		if g.n(4) == 1 {
			return map[string]any{"enum": []any{"x", "y\"z"}[:1+g.n(2)]}
		}
		return g.str()
	case "integer":
		if g.n(4) == 1 {
			return map[string]any{"const": 42}
		}
		return g.integer()
	case "object":
		s, _ := g.object(max(depth, 1)).(map[string]any)
		s["type"] = "object"
		return s
	case "array":
		s, _ := g.array(max(depth, 1)).(map[string]any)
		return s
	}
	return map[string]any{"type": t}
}

// ref returns a reference: to the root, to a def being built (only from
// an optional place), to an existing def, or to a new def.
func (g *schemaGen) ref(depth int) any {
	var ok []string
	if g.rootRefs && g.optDepth > 0 {
		ok = append(ok, "#")
	}
	for _, name := range g.defKind {
		if start, busy := g.building[name]; !busy || g.optDepth > start {
			ok = append(ok, "#/"+g.defsKey+"/"+name)
		}
	}
	if len(ok) > 0 && g.n(3) != 0 {
		r := pick(g, ok...)
		_, busy := g.building[strings.TrimPrefix(r, "#/"+g.defsKey+"/")]
		g.recursive = g.recursive || r == "#" || busy
		return map[string]any{"$ref": r}
	}
	name := fmt.Sprintf("d%d", len(g.defKind))
	g.defKind = append(g.defKind, name)
	g.building[name] = g.optDepth
	g.defs[name] = map[string]any{} // placeholder until built
	g.defs[name] = g.schema(depth - 1)
	delete(g.building, name)
	return map[string]any{"$ref": "#/" + g.defsKey + "/" + name}
}

func (g *schemaGen) leaf() any {
	switch g.n(14) {
	case 1:
		return map[string]any{"type": "null"}
	case 2, 3:
		return g.str()
	case 4:
		return g.integer()
	case 5:
		return g.number()
	case 6:
		return g.enum()
	case 7:
		return map[string]any{"const": pick[any](g, "c", 7, nil, map[string]any{"k": []any{1, "x"}}, []any{}, "q\"\\\n")}
	case 8:
		// nullable: a type list with null, keywords of the other type
		s, _ := pick(g, g.str, g.integer, g.number)().(map[string]any)
		if t, ok := s["type"].(string); ok {
			s["type"] = []any{t, "null"}
		}
		return s
	case 9:
		// two types, each constrained by its own keywords
		return map[string]any{"type": []any{"integer", "string"}, "minimum": 0, "maximum": 9, "maxLength": 2}
	case 10:
		return true
	case 11:
		return map[string]any{}
	case 12:
		return map[string]any{"type": "string", "format": pick(g, "date", "time", "date-time", "uuid", "ipv4", "hostname", "email", "uri")}
	case 13:
		return map[string]any{"type": "number", "minimum": 0}
	}
	return map[string]any{"type": "boolean"}
}

func (g *schemaGen) str() any {
	s := map[string]any{"type": "string"}
	switch g.n(6) {
	case 1:
		s["minLength"] = g.n(4)
	case 2:
		s["maxLength"] = g.n(6)
	case 3:
		lo := g.n(4)
		s["minLength"], s["maxLength"] = lo, lo+g.n(5)
	case 4, 5:
		s["pattern"] = g.pattern()
	}
	return s
}

func (g *schemaGen) integer() any {
	s := map[string]any{"type": "integer"}
	lo := g.n(41) - 20
	span := g.n(30)
	switch g.n(7) {
	case 1:
		s["minimum"] = lo
	case 2:
		s["maximum"] = lo
	case 3:
		s["minimum"], s["maximum"] = lo, lo+span
	case 4:
		s["exclusiveMinimum"], s["exclusiveMaximum"] = lo, lo+2+span
	case 5:
		// draft 4 boolean forms
		s["minimum"], s["exclusiveMinimum"] = lo, true
		s["maximum"], s["exclusiveMaximum"] = lo+2+span, g.n(2) == 1
	case 6:
		s["minimum"], s["exclusiveMaximum"] = lo*100, lo*100+1+span*37
	}
	return s
}

func (g *schemaGen) number() any {
	s := map[string]any{"type": "number"}
	lo := g.n(21) - 10
	span := g.n(10)
	switch g.n(5) {
	case 1:
		s["minimum"], s["maximum"] = lo, lo+span
	case 2:
		s["exclusiveMinimum"], s["maximum"] = lo, lo+1+span
	case 3:
		s["minimum"], s["exclusiveMaximum"] = lo, lo+1+span
	case 4:
		s["exclusiveMinimum"], s["exclusiveMaximum"] = lo, lo+1+span
	}
	return s
}

var enumPool = []any{"a", "b\"c", "é😀", "line\nbreak", "", json.Number("0"), json.Number("-1"), json.Number("2.5"), json.Number("1e3"), true, false, nil, []any{json.Number("1"), "x"}, map[string]any{"k": nil}}

func (g *schemaGen) enum() any {
	var vals []any
	seen := map[string]bool{}
	for i, n := 0, 1+g.n(4); i < n; i++ {
		v := pick(g, enumPool...)
		b, _ := json.Marshal(v)
		if !seen[string(b)] {
			seen[string(b)] = true
			vals = append(vals, v)
		}
	}
	s := map[string]any{"enum": vals}
	// A type beside enum when every value has it.
	allStr := true
	for _, v := range vals {
		_, isStr := v.(string)
		allStr = allStr && isStr
	}
	if allStr && g.n(2) == 1 {
		s["type"] = "string"
	}
	return s
}

// pattern returns a random regular expression in the common subset of
// the converter's syntax and Go's (the validator uses regexp).
func (g *schemaGen) pattern() string {
	var b strings.Builder
	anchor := g.n(4) // 0: both ends, 1: start, 2: end, 3: none
	if anchor <= 1 {
		b.WriteByte('^')
	}
	g.reAlt(&b, 2)
	if anchor == 0 || anchor == 2 {
		b.WriteByte('$')
	}
	return b.String()
}

func (g *schemaGen) reAlt(b *strings.Builder, depth int) {
	for i, n := 0, 1+g.n(3)/2; i < n; i++ {
		if i > 0 {
			b.WriteByte('|')
		}
		for j, m := 0, 1+g.n(3); j < m; j++ {
			g.reAtom(b, depth)
			g.reQuant(b)
		}
	}
}

var (
	reLiterals = []string{"a", "b", "z", "0", "7", "-", "_", " ", "é", "😀", `\.`, `\*`, `\+`, `\?`, `\(`, `\)`, `\[`, `\]`, `\{`, `\}`, `\|`, `\\`, `\/`, `\^`, `\$`, `"`, `\n`, `\t`, `\x41`, ",", ":"}
	reClasses  = []string{`[a-c]`, `[^a-c]`, `[xyz0-2]`, `[\d_]`, `[^"\\]`, `[\w.-]`, `[\s,]`, `[é-ë]`, `[^\n]`, `[-a]`, `\d`, `\w`, `\s`, `\D`, `\W`, `\S`, `.`}
)

func (g *schemaGen) reAtom(b *strings.Builder, depth int) {
	switch g.n(4) {
	case 1:
		b.WriteString(pick(g, reClasses...))
	case 2:
		if depth > 0 {
			b.WriteString(pick(g, "(", "(?:"))
			g.reAlt(b, depth-1)
			b.WriteByte(')')
			return
		}
		b.WriteString(pick(g, reClasses...))
	default:
		b.WriteString(pick(g, reLiterals...))
	}
}

func (g *schemaGen) reQuant(b *strings.Builder) {
	q := pick(g, "", "", "?", "*", "+", "{2}", "{0,2}", "{1,}", "{1,3}")
	b.WriteString(q)
	if q != "" && g.n(6) == 1 {
		b.WriteByte('?') // lazy: same language
	}
}
