package grammar

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// ErrUnsupported marks a schema feature the converter cannot enforce. The
// converter never ignores a constraint silently: it fails up front.
var ErrUnsupported = errors.New("unsupported schema")

func unsupported(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrUnsupported, path, fmt.Sprintf(format, args...))
}

// jv is a JSON value that keeps object keys in document order (property
// order decides the order the model writes them in).
type jv struct {
	kind byte // 'o' object, 'a' array, 's' string, 'n' number, 'b' bool, 'z' null
	keys []string
	vals []*jv
	arr  []*jv
	str  string
	num  json.Number
	b    bool
}

func (v *jv) get(k string) *jv {
	if v == nil || v.kind != 'o' {
		return nil
	}
	for i, key := range v.keys {
		if key == k {
			return v.vals[i]
		}
	}
	return nil
}

func parseJV(data []byte) (*jv, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	v, err := decodeJV(d, 0)
	if err != nil {
		return nil, err
	}
	if _, err := d.Token(); err == nil {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

func decodeJV(d *json.Decoder, depth int) (*jv, error) {
	if depth > 200 {
		return nil, fmt.Errorf("JSON nested too deeply")
	}
	t, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := t.(type) {
	case json.Delim:
		switch x {
		case '{':
			v := &jv{kind: 'o'}
			for d.More() {
				kt, err := d.Token()
				if err != nil {
					return nil, err
				}
				k, _ := kt.(string)
				val, err := decodeJV(d, depth+1)
				if err != nil {
					return nil, err
				}
				v.keys = append(v.keys, k)
				v.vals = append(v.vals, val)
			}
			_, err := d.Token()
			return v, err
		case '[':
			v := &jv{kind: 'a'}
			for d.More() {
				e, err := decodeJV(d, depth+1)
				if err != nil {
					return nil, err
				}
				v.arr = append(v.arr, e)
			}
			_, err := d.Token()
			return v, err
		}
		return nil, fmt.Errorf("unexpected %v", x)
	case string:
		return &jv{kind: 's', str: x}, nil
	case json.Number:
		return &jv{kind: 'n', num: x}, nil
	case bool:
		return &jv{kind: 'b', b: x}, nil
	case nil:
		return &jv{kind: 'z'}, nil
	}
	return nil, fmt.Errorf("unexpected token %v", t)
}

// encodeJSONString writes s in the canonical JSON form used throughout:
// '"' and '\' escaped, \n \r \t \b \f short escapes, other control
// characters and DEL as \u00XX, everything else raw. Each character has
// exactly one encoding, which keeps property-name exclusion exact.
func encodeJSONString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		b.WriteString(encodeJSONRune(r))
	}
	b.WriteByte('"')
	return b.String()
}

func encodeJSONRune(r rune) string {
	switch r {
	case '"':
		return `\"`
	case '\\':
		return `\\`
	case '\n':
		return `\n`
	case '\r':
		return `\r`
	case '\t':
		return `\t`
	case '\b':
		return `\b`
	case '\f':
		return `\f`
	}
	if r < 0x20 || r == 0x7f {
		return fmt.Sprintf(`\u%04x`, r)
	}
	return string(r)
}

// encodeJV writes v as compact JSON, keys in document order.
func encodeJV(v *jv) string {
	switch v.kind {
	case 'o':
		parts := make([]string, len(v.keys))
		for i, k := range v.keys {
			parts[i] = encodeJSONString(k) + ":" + encodeJV(v.vals[i])
		}
		return "{" + strings.Join(parts, ",") + "}"
	case 'a':
		parts := make([]string, len(v.arr))
		for i, e := range v.arr {
			parts[i] = encodeJV(e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case 's':
		return encodeJSONString(v.str)
	case 'n':
		return v.num.String()
	case 'b':
		return strconv.FormatBool(v.b)
	}
	return "null"
}

// QuoteGBNF renders s as a GBNF string literal, escaping quotes,
// backslashes and control characters, for code that builds grammars as text.
func QuoteGBNF(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// annotations are keywords that do not constrain instances.
var annotations = map[string]bool{
	"title": true, "description": true, "$schema": true, "$id": true, "$comment": true,
	"default": true, "examples": true, "deprecated": true, "readOnly": true, "writeOnly": true,
	"$defs": true, "definitions": true, "strict": true,
}

// known lists every constraint keyword the converter handles.
var known = map[string]bool{
	"type": true, "enum": true, "const": true, "$ref": true, "anyOf": true, "oneOf": true, "allOf": true,
	"properties": true, "required": true, "additionalProperties": true,
	"items": true, "minItems": true, "maxItems": true,
	"minLength": true, "maxLength": true, "pattern": true, "format": true,
	"minimum": true, "maximum": true, "exclusiveMinimum": true, "exclusiveMaximum": true,
}

// Number-size limits shared with the "integral-part" rule: 16 digits.
const maxIntMagnitude = 9999999999999999

// schemaConv accumulates the GBNF rules of one schema.
type schemaConv struct {
	p     string // prefix of every rule name
	root  *jv
	rules map[string]string
	order []string
	refs  map[string]string // "$ref" target -> rule name
	used  map[string]bool   // primitive rules referenced
	n     int
}

// FromSchema compiles a JSON Schema (given as JSON text) into a grammar
// whose sentences all validate against the schema. A feature it cannot
// enforce gives an error wrapping ErrUnsupported; the package
// documentation lists what is supported and the known limits.
func FromSchema(schema []byte) (*Grammar, error) {
	src, err := SchemaToGBNF(schema)
	if err != nil {
		return nil, err
	}
	g, err := ParseGBNF(src)
	if err != nil {
		return nil, fmt.Errorf("grammar: compiling schema grammar: %w", err)
	}
	return g, nil
}

// SchemaToGBNF converts a JSON Schema into GBNF text (start rule "root").
func SchemaToGBNF(schema []byte) (string, error) {
	return schemaToGBNF(schema, "", "root")
}

// SchemaToGBNFRule converts a JSON Schema into GBNF rules defining rule
// name (matching one instance followed by optional whitespace), with every
// helper rule named name + "-..." and no root rule, so that several schemas
// can be embedded in a larger grammar (e.g. tool calls:
// root ::= "<tool_call>" (call-a | call-b) "</tool_call>").
func SchemaToGBNFRule(schema []byte, name string) (string, error) {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return r > 0x7f || !isNameByte(byte(r)) }) >= 0 {
		return "", fmt.Errorf("grammar: bad rule name %q", name)
	}
	return schemaToGBNF(schema, name+"-", name)
}

func schemaToGBNF(schema []byte, prefix, top string) (string, error) {
	root, err := parseJV(schema)
	if err != nil {
		return "", fmt.Errorf("grammar: schema is not valid JSON: %w", err)
	}
	c := &schemaConv{p: prefix, root: root, rules: map[string]string{}, refs: map[string]string{}, used: map[string]bool{}}
	body, err := c.visit(root, "#")
	if err != nil {
		return "", err
	}
	c.add(top, body)
	var b strings.Builder
	for _, name := range c.order {
		fmt.Fprintf(&b, "%s ::= %s\n", name, c.rules[name])
	}
	// Primitive rules, with their dependencies.
	need := map[string]bool{}
	var mark func(string)
	deps := map[string][]string{
		"string": {"char", "space"}, "number": {"integral-part", "decimal-part", "space"},
		"integer": {"integral-part", "space"}, "boolean": {"space"}, "null": {"space"},
		"value":  {"object", "array", "string", "number", "boolean", "null"},
		"object": {"string", "value", "space"}, "array": {"value", "space"},
	}
	mark = func(n string) {
		if need[n] {
			return
		}
		need[n] = true
		for _, d := range deps[n] {
			mark(d)
		}
	}
	for n := range c.used {
		mark(n)
	}
	for _, p := range jsonPrimitives {
		if need[p.name] {
			b.WriteString(primitiveRule(prefix, p.name, p.body))
		}
	}
	return b.String(), nil
}

// add defines a rule and returns its name.
func (c *schemaConv) add(name, body string) string {
	if _, ok := c.rules[name]; !ok {
		c.order = append(c.order, name)
	}
	c.rules[name] = body
	return name
}

// fresh returns a new rule name with the given prefix.
func (c *schemaConv) fresh(prefix string) string {
	c.n++
	return fmt.Sprintf("%s%s-%d", c.p, prefix, c.n)
}

// prim returns the (prefixed) name of a primitive rule and marks it used.
func (c *schemaConv) prim(name string) string {
	c.used[name] = true
	return c.p + name
}

// visit returns a GBNF expression matching the JSON texts (followed by
// optional space) allowed by schema s found at JSON-pointer path.
func (c *schemaConv) visit(s *jv, path string) (string, error) {
	switch s.kind {
	case 'b':
		if s.b {
			return c.prim("value"), nil
		}
		return "", unsupported(path, "schema false matches nothing")
	case 'o':
	default:
		return "", unsupported(path, "schema must be an object or a boolean")
	}
	var constraints []string
	for _, k := range s.keys {
		switch {
		case annotations[k]:
		case known[k]:
			constraints = append(constraints, k)
		default:
			return "", unsupported(path, "keyword %q", k)
		}
	}
	only := func(kw string) error {
		for _, k := range constraints {
			if k != kw {
				return unsupported(path, "%q combined with %q", kw, k)
			}
		}
		return nil
	}
	switch {
	case s.get("$ref") != nil:
		if err := only("$ref"); err != nil {
			return "", err
		}
		return c.ref(s.get("$ref"), path)
	case s.get("const") != nil:
		if err := c.onlyWithType(s, path, "const"); err != nil {
			return "", err
		}
		return "(" + QuoteGBNF(encodeJV(s.get("const"))) + " " + c.prim("space") + ")", nil
	case s.get("enum") != nil:
		if err := c.onlyWithType(s, path, "enum"); err != nil {
			return "", err
		}
		e := s.get("enum")
		if e.kind != 'a' || len(e.arr) == 0 {
			return "", unsupported(path+"/enum", "enum must be a non-empty array")
		}
		alts := make([]string, len(e.arr))
		for i, v := range e.arr {
			alts[i] = QuoteGBNF(encodeJV(v))
		}
		return "((" + strings.Join(alts, " | ") + ") " + c.prim("space") + ")", nil
	case s.get("anyOf") != nil || s.get("oneOf") != nil:
		kw := "anyOf"
		if s.get("anyOf") == nil {
			kw = "oneOf"
		}
		if err := only(kw); err != nil {
			return "", err
		}
		list := s.get(kw)
		if list.kind != 'a' || len(list.arr) == 0 {
			return "", unsupported(path+"/"+kw, "must be a non-empty array")
		}
		alts := make([]string, len(list.arr))
		for i, sub := range list.arr {
			a, err := c.visit(sub, fmt.Sprintf("%s/%s/%d", path, kw, i))
			if err != nil {
				return "", err
			}
			alts[i] = a
		}
		return "(" + strings.Join(alts, " | ") + ")", nil
	case s.get("allOf") != nil:
		if err := only("allOf"); err != nil {
			return "", err
		}
		list := s.get("allOf")
		if list.kind != 'a' || len(list.arr) != 1 {
			return "", unsupported(path+"/allOf", "allOf is supported with exactly one schema")
		}
		return c.visit(list.arr[0], path+"/allOf/0")
	}
	types, err := c.types(s, path)
	if err != nil {
		return "", err
	}
	alts := make([]string, 0, len(types))
	for _, t := range types {
		a, err := c.typed(s, t, path)
		if err != nil {
			return "", err
		}
		alts = append(alts, a)
	}
	if len(alts) == 1 {
		return alts[0], nil
	}
	return "(" + strings.Join(alts, " | ") + ")", nil
}

// onlyWithType allows kw beside "type" only; the values are literal, so the
// type adds nothing (a value of the wrong type would fail validation,
// which is the schema author's contradiction).
func (c *schemaConv) onlyWithType(s *jv, path, kw string) error {
	for _, k := range s.keys {
		if k != kw && k != "type" && !annotations[k] {
			return unsupported(path, "%q combined with %q", kw, k)
		}
	}
	return nil
}

// types returns the instance types s allows, inferring them from the
// keywords present when "type" is absent.
func (c *schemaConv) types(s *jv, path string) ([]string, error) {
	t := s.get("type")
	valid := map[string]bool{"object": true, "array": true, "string": true, "number": true, "integer": true, "boolean": true, "null": true}
	switch {
	case t == nil:
		has := func(ks ...string) bool {
			for _, k := range ks {
				if s.get(k) != nil {
					return true
				}
			}
			return false
		}
		var out []string
		if has("properties", "required", "additionalProperties") {
			out = append(out, "object")
		}
		if has("items", "minItems", "maxItems") {
			out = append(out, "array")
		}
		if has("minLength", "maxLength", "pattern", "format") {
			out = append(out, "string")
		}
		if has("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum") {
			out = append(out, "number")
		}
		if len(out) == 0 {
			return []string{"any"}, nil
		}
		if len(out) > 1 {
			return nil, unsupported(path, "keywords for several types without \"type\"")
		}
		return out, nil
	case t.kind == 's':
		if !valid[t.str] {
			return nil, unsupported(path+"/type", "type %q", t.str)
		}
		return []string{t.str}, nil
	case t.kind == 'a' && len(t.arr) > 0:
		var out []string
		for _, e := range t.arr {
			if e.kind != 's' || !valid[e.str] {
				return nil, unsupported(path+"/type", "type list entry %s", encodeJV(e))
			}
			out = append(out, e.str)
		}
		return out, nil
	}
	return nil, unsupported(path+"/type", "type must be a string or a non-empty array")
}

func (c *schemaConv) typed(s *jv, t, path string) (string, error) {
	switch t {
	case "any":
		return c.prim("value"), nil
	case "null":
		return c.prim("null"), nil
	case "boolean":
		return c.prim("boolean"), nil
	case "string":
		return c.str(s, path)
	case "integer":
		return c.integer(s, path)
	case "number":
		return c.number(s, path)
	case "array":
		return c.array(s, path)
	case "object":
		return c.object(s, path)
	}
	return "", unsupported(path, "type %q", t)
}

// ref resolves a local JSON pointer and gives the target its own rule,
// which makes recursive schemas finite.
func (c *schemaConv) ref(r *jv, path string) (string, error) {
	if r.kind != 's' {
		return "", unsupported(path+"/$ref", "$ref must be a string")
	}
	if name, ok := c.refs[r.str]; ok {
		return name, nil
	}
	if !strings.HasPrefix(r.str, "#") {
		return "", unsupported(path+"/$ref", "only local references (#...) are supported, got %q", r.str)
	}
	target := c.root
	ptr := strings.TrimPrefix(r.str, "#")
	if ptr != "" {
		if !strings.HasPrefix(ptr, "/") {
			return "", unsupported(path+"/$ref", "reference %q is not a JSON pointer", r.str)
		}
		for _, part := range strings.Split(ptr[1:], "/") {
			part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
			var next *jv
			switch target.kind {
			case 'o':
				next = target.get(part)
			case 'a':
				if i, err := strconv.Atoi(part); err == nil && i >= 0 && i < len(target.arr) {
					next = target.arr[i]
				}
			}
			if next == nil {
				return "", unsupported(path+"/$ref", "reference %q not found", r.str)
			}
			target = next
		}
	}
	name := c.fresh("ref")
	c.refs[r.str] = name
	c.add(name, "") // reserve, so the order stays stable
	body, err := c.visit(target, r.str)
	if err != nil {
		return "", err
	}
	c.add(name, body)
	return name, nil
}

func intField(s *jv, key, path string) (int, bool, error) {
	v := s.get(key)
	if v == nil {
		return 0, false, nil
	}
	if v.kind != 'n' {
		return 0, false, unsupported(path+"/"+key, "must be a number")
	}
	n, err := strconv.ParseInt(v.num.String(), 10, 64)
	if err != nil || n < 0 {
		return 0, false, unsupported(path+"/"+key, "must be a non-negative integer")
	}
	if n > maxRepeat {
		return 0, false, unsupported(path+"/"+key, "%d exceeds the limit of %d", n, maxRepeat)
	}
	return int(n), true, nil
}

// stringFormats are the supported "format" values, as patterns.
var stringFormats = map[string]string{
	"date":      `^` + fullDate + `$`,
	"time":      `^` + fullTime + `$`,
	"date-time": `^` + fullDate + `T` + fullTime + `$`,
	"uuid":      `^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`,
	// The rest are conservative subsets: every string they allow is valid
	// for the format, not every valid string is allowed.
	"ipv4":     `^((25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])$`,
	"hostname": `^` + hostLabel + `(\.` + hostLabel + `){0,6}$`,
	"email":    `^[A-Za-z0-9_%+-]{1,32}(\.[A-Za-z0-9_%+-]{1,32}){0,3}@` + hostLabel + `(\.` + hostLabel + `){0,4}\.[A-Za-z]{2,10}$`,
	"uri":      `^https?://` + hostLabel + `(\.` + hostLabel + `){0,6}(:[1-9][0-9]{0,3})?(/([A-Za-z0-9._~!$&'()*+,;=:@-]|%[0-9A-Fa-f]{2}){0,40}){0,10}(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2}){0,80})?$`,
}

// RFC 3339 dates and times, conservatively: every day of every month but
// February 29 (which needs a leap year), no leap second.
const (
	fullDate = `[0-9]{4}-((0[13578]|1[02])-(0[1-9]|[12][0-9]|3[01])|(0[469]|11)-(0[1-9]|[12][0-9]|30)|02-(0[1-9]|1[0-9]|2[0-8]))`
	fullTime = `([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])`
)

// hostLabel is one DNS label: letters, digits and inner hyphens, at most
// 24 characters here (63 allowed) to keep the grammar small.
const hostLabel = `[A-Za-z0-9]([A-Za-z0-9-]{0,22}[A-Za-z0-9])?`

func (c *schemaConv) str(s *jv, path string) (string, error) {
	minL, hasMin, err := intField(s, "minLength", path)
	if err != nil {
		return "", err
	}
	maxL, hasMax, err := intField(s, "maxLength", path)
	if err != nil {
		return "", err
	}
	pat := ""
	if p := s.get("pattern"); p != nil {
		if p.kind != 's' {
			return "", unsupported(path+"/pattern", "must be a string")
		}
		pat = p.str
	}
	if f := s.get("format"); f != nil {
		re, ok := stringFormats[f.str]
		if f.kind != 's' || !ok {
			return "", unsupported(path+"/format", "format %s (supported: date, time, date-time, uuid, ipv4, hostname, email, uri)", encodeJV(f))
		}
		if pat != "" {
			return "", unsupported(path, "format combined with pattern")
		}
		pat = re
	}
	if pat != "" {
		if hasMin || hasMax {
			return "", unsupported(path, "minLength/maxLength combined with pattern or format")
		}
		body, err := patternToGBNF(pat, c.prim("char"))
		if err != nil {
			return "", unsupported(path+"/pattern", "%v", err)
		}
		return c.add(c.fresh("pattern"), `"\"" (`+body+`) "\"" `+c.prim("space")), nil
	}
	if !hasMin && !hasMax {
		return c.prim("string"), nil
	}
	rep := fmt.Sprintf("{%d,}", minL)
	if hasMax {
		if maxL < minL {
			return "", unsupported(path, "maxLength %d below minLength %d", maxL, minL)
		}
		rep = fmt.Sprintf("{%d,%d}", minL, maxL)
	}
	return c.add(c.fresh("string"), `"\"" `+c.prim("char")+rep+` "\"" `+c.prim("space")), nil
}

// bound reads a numeric keyword as a float.
func bound(s *jv, key, path string) (float64, bool, error) {
	v := s.get(key)
	if v == nil {
		return 0, false, nil
	}
	if v.kind == 'b' {
		return 0, false, nil // draft-4 boolean exclusive flags, read by caller
	}
	if v.kind != 'n' {
		return 0, false, unsupported(path+"/"+key, "must be a number")
	}
	f, err := v.num.Float64()
	if err != nil {
		return 0, false, unsupported(path+"/"+key, "bad number %s", v.num)
	}
	return f, true, nil
}

// intBounds computes the inclusive integer range allowed by minimum,
// maximum and the exclusive forms (draft 6+ numbers or draft 4 booleans).
func intBounds(s *jv, path string) (lo, hi int64, has bool, err error) {
	lo, hi = -maxIntMagnitude, maxIntMagnitude
	flag := func(k string) bool { v := s.get(k); return v != nil && v.kind == 'b' && v.b }
	for _, k := range []string{"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} {
		f, ok, e := bound(s, k, path)
		if e != nil {
			return 0, 0, false, e
		}
		if !ok {
			continue
		}
		has = true
		if math.Abs(f) > maxIntMagnitude {
			return 0, 0, false, unsupported(path+"/"+k, "bound %v beyond ±%d", f, int64(maxIntMagnitude))
		}
		switch {
		case k == "minimum" && !flag("exclusiveMinimum"):
			lo = max(lo, int64(math.Ceil(f)))
		case k == "minimum" || k == "exclusiveMinimum":
			lo = max(lo, int64(math.Floor(f))+1)
		case k == "maximum" && !flag("exclusiveMaximum"):
			hi = min(hi, int64(math.Floor(f)))
		default:
			hi = min(hi, int64(math.Ceil(f))-1)
		}
	}
	if lo > hi {
		return 0, 0, false, unsupported(path, "empty integer range [%d, %d]", lo, hi)
	}
	return lo, hi, has, nil
}

func (c *schemaConv) integer(s *jv, path string) (string, error) {
	lo, hi, has, err := intBounds(s, path)
	if err != nil || !has {
		return c.prim("integer"), err
	}
	return c.add(c.fresh("integer"), "("+intRangeGBNF(lo, hi)+") "+c.prim("space")), nil
}

func (c *schemaConv) number(s *jv, path string) (string, error) {
	var keys []string
	for _, k := range []string{"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} {
		if s.get(k) != nil {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return c.prim("number"), nil
	}
	// "minimum": 0 alone keeps exponents: every non-negative number.
	if m := s.get("minimum"); len(keys) == 1 && m != nil && m.kind == 'n' {
		if f, err := m.num.Float64(); err == nil && f == 0 {
			return c.add(c.fresh("nonneg-number"), c.prim("integral-part")+` ("." `+c.prim("decimal-part")+`)? ([eE] [-+]? [0-9]{1,2})? `+c.prim("space")), nil
		}
	}
	lo, loEx, hi, hiEx, err := numBounds(s, path)
	if err != nil {
		return "", err
	}
	body := numRangeGBNF(lo, loEx, hi, hiEx)
	if body == "" {
		return "", unsupported(path, "number range too narrow for 15 significant digits")
	}
	return c.add(c.fresh("number"), "("+body+") "+c.prim("space")), nil
}

// numBounds reads the bounds of a number schema. Bounds must be integers
// within ±(10^16-1); a missing side is bounded by the 16-digit limit.
func numBounds(s *jv, path string) (lo int64, loEx bool, hi int64, hiEx bool, err error) {
	lo, hi = -maxIntMagnitude, maxIntMagnitude
	flag := func(k string) bool { v := s.get(k); return v != nil && v.kind == 'b' && v.b }
	for _, k := range []string{"minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"} {
		f, ok, e := bound(s, k, path)
		if e != nil {
			return 0, false, 0, false, e
		}
		if !ok {
			continue
		}
		if f != math.Trunc(f) || math.Abs(f) > maxIntMagnitude {
			return 0, false, 0, false, unsupported(path+"/"+k, "number bound %v (bounds on type number must be integers within ±%d)", f, int64(maxIntMagnitude))
		}
		n := int64(f)
		switch {
		case k == "minimum" || k == "exclusiveMinimum":
			ex := k == "exclusiveMinimum" || flag("exclusiveMinimum")
			if n > lo || n == lo && ex {
				lo, loEx = n, ex
			}
		default:
			ex := k == "exclusiveMaximum" || flag("exclusiveMaximum")
			if n < hi || n == hi && ex {
				hi, hiEx = n, ex
			}
		}
	}
	if lo > hi || lo == hi && (loEx || hiEx) {
		return 0, false, 0, false, unsupported(path, "empty number range")
	}
	return lo, loEx, hi, hiEx, nil
}

// zeroFrac is the fraction part a bounded number may have at an
// inclusive integer bound: zeros only.
const zeroFrac = `("." "0"{1,16})?`

// fracDigits is how many fraction digits a bounded number whose integer
// part has k digits may have: 15 significant digits in all. Decimals of 15
// significant digits stay distinct as float64, so a value that differs
// from a bound never rounds onto it in a validator that parses numbers as
// floats (4.9999999999999999 is 5.0, which "exclusiveMaximum": 5 refuses).
func fracDigits(k int) int { return max(15-k, 0) }

// anyFrac is an optional fraction of at most fd digits.
func anyFrac(fd int) string {
	if fd == 0 {
		return ""
	}
	return fmt.Sprintf(` ("." [0-9]{1,%d})?`, fd)
}

// numRangeGBNF matches decimal numbers (no exponent) between lo and hi,
// each bound inclusive unless its flag is set; "" when there are none
// (an exclusive range too narrow for the digits allowed).
func numRangeGBNF(lo int64, loEx bool, hi int64, hiEx bool) string {
	var alts []string
	if hi >= 0 {
		a, aEx := lo, loEx
		if lo < 0 {
			a, aEx = 0, false
		}
		alts = append(alts, magRange(a, aEx, hi, hiEx)...)
	}
	if lo < 0 {
		// x = -m: m <= -lo, and m >= -hi when hi < 0.
		b, bEx := -lo, loEx
		a, aEx := int64(0), false
		if hi <= 0 {
			a, aEx = -hi, hiEx // hi = 0 exclusive: m > 0, so no "-0"
		}
		if neg := magRange(a, aEx, b, bEx); len(neg) > 0 {
			alts = append(alts, `"-" (`+strings.Join(neg, " | ")+")")
		}
	}
	return strings.Join(alts, " | ")
}

// magRange returns alternatives matching non-negative decimals m with
// a <= m <= b (strict where flagged), for integers 0 <= a <= b, with at
// most fracDigits fraction digits.
func magRange(a int64, aEx bool, b int64, bEx bool) []string {
	var alts []string
	as := strconv.FormatInt(a, 10)
	if a == b {
		if !aEx && !bEx {
			alts = append(alts, `"`+as+`" `+zeroFrac)
		}
		return alts
	}
	fd := fracDigits(len(as))
	switch {
	case !aEx:
		alts = append(alts, `"`+as+`"`+anyFrac(fd))
	case fd > 0:
		alts = append(alts, fmt.Sprintf(`"%s" "." [0-9]{0,%d} [1-9]`, as, fd-1))
	}
	// Integer parts strictly inside, grouped by digit count.
	for lo, hi := a+1, b-1; lo <= hi; {
		k := len(strconv.FormatInt(lo, 10))
		top := min(hi, pow10(k)-1)
		alts = append(alts, "("+sameLenRange(strconv.FormatInt(lo, 10), strconv.FormatInt(top, 10))+")"+anyFrac(fracDigits(k)))
		lo = top + 1
	}
	if !bEx {
		alts = append(alts, `"`+strconv.FormatInt(b, 10)+`" `+zeroFrac)
	}
	return alts
}

func (c *schemaConv) array(s *jv, path string) (string, error) {
	item := c.prim("value")
	if it := s.get("items"); it != nil {
		if it.kind == 'a' {
			return "", unsupported(path+"/items", "tuple-form items (an array)")
		}
		if it.kind == 'b' && !it.b {
			item = ""
		} else {
			x, err := c.visit(it, path+"/items")
			if err != nil {
				return "", err
			}
			item = x
		}
	}
	minI, _, err := intField(s, "minItems", path)
	if err != nil {
		return "", err
	}
	maxI, hasMax, err := intField(s, "maxItems", path)
	if err != nil {
		return "", err
	}
	if hasMax && maxI < minI {
		return "", unsupported(path, "maxItems %d below minItems %d", maxI, minI)
	}
	if item == "" {
		if minI > 0 {
			return "", unsupported(path, "items false with minItems %d", minI)
		}
		maxI, hasMax = 0, true
	}
	sp := c.prim("space")
	if hasMax && maxI == 0 {
		return c.add(c.fresh("array"), `"[" `+sp+` "]" `+sp), nil
	}
	more := fmt.Sprintf("{%d,}", max(minI-1, 0))
	if hasMax {
		more = fmt.Sprintf("{%d,%d}", max(minI-1, 0), maxI-1)
	}
	list := fmt.Sprintf(`%s ("," %s %s)%s`, item, sp, item, more)
	if minI == 0 {
		list = "(" + list + ")?"
	}
	return c.add(c.fresh("array"), `"[" `+sp+" "+list+` "]" `+sp), nil
}

func (c *schemaConv) object(s *jv, path string) (string, error) {
	props := s.get("properties")
	if props != nil && props.kind != 'o' {
		return "", unsupported(path+"/properties", "must be an object")
	}
	var names []string
	var schemas []*jv
	if props != nil {
		names, schemas = props.keys, props.vals
	}
	required := map[string]bool{}
	if r := s.get("required"); r != nil {
		if r.kind != 'a' {
			return "", unsupported(path+"/required", "must be an array")
		}
		for _, e := range r.arr {
			if e.kind != 's' {
				return "", unsupported(path+"/required", "entries must be strings")
			}
			found := false
			for _, n := range names {
				found = found || n == e.str
			}
			if !found {
				return "", unsupported(path+"/required", "required property %q is not listed in properties", e.str)
			}
			required[e.str] = true
		}
	}
	sp := c.prim("space")
	// Additional properties: absent means none when properties are listed.
	addValue := ""
	if ap := s.get("additionalProperties"); ap != nil {
		if !(ap.kind == 'b' && !ap.b) {
			v, err := c.visit(ap, path+"/additionalProperties")
			if err != nil {
				return "", err
			}
			addValue = v
		}
	} else if len(names) == 0 {
		addValue = c.prim("value")
	}
	kv := make([]string, len(names))
	for i, n := range names {
		v, err := c.visit(schemas[i], path+"/properties/"+n)
		if err != nil {
			return "", err
		}
		kv[i] = c.add(c.fresh("prop"), QuoteGBNF(encodeJSONString(n))+" "+sp+` ":" `+sp+" "+v)
	}
	base := c.fresh("object")
	addKV := ""
	if addValue != "" {
		addKV = c.add(base+"-addkv", c.keyNotIn(base, names)+` ":" `+sp+" "+addValue)
	}
	// first(i): the members from property i on, none written yet;
	// rest(i): the same after at least one member (so each needs a comma).
	first := func(i int) string { return fmt.Sprintf("%s-f%d", base, i) }
	rest := func(i int) string { return fmt.Sprintf("%s-r%d", base, i) }
	n := len(names)
	if addKV != "" {
		c.add(rest(n), `("," `+sp+" "+addKV+")*")
		c.add(first(n), "("+addKV+" "+rest(n)+")?")
	} else {
		c.add(rest(n), `""`)
		c.add(first(n), `""`)
	}
	for i := n - 1; i >= 0; i-- {
		f := kv[i] + " " + rest(i+1)
		r := `"," ` + sp + " " + kv[i] + " " + rest(i+1)
		if !required[names[i]] {
			f += " | " + first(i+1)
			r += " | " + rest(i+1)
		}
		c.add(first(i), f)
		c.add(rest(i), r)
	}
	return c.add(base, `"{" `+sp+" "+first(0)+` "}" `+sp), nil
}

// keyNotIn returns a rule matching a quoted property name (in canonical
// encoding, followed by space) that is none of names. It walks a trie of
// the names: at each node the key may end (unless a name ends there),
// leave the trie with a character no name continues with, or follow a
// child.
func (c *schemaConv) keyNotIn(base string, names []string) string {
	sp := c.prim("space")
	kchar := c.add(base+"-kchar", `[^"\\\x7F\x00-\x1F] | "\\" ["\\nrtbf]`)
	type tnode struct {
		kids map[rune]*tnode
		end  bool
	}
	root := &tnode{kids: map[rune]*tnode{}}
	for _, n := range names {
		t := root
		for _, r := range n {
			k := t.kids[r]
			if k == nil {
				k = &tnode{kids: map[rune]*tnode{}}
				t.kids[r] = k
			}
			t = k
		}
		t.end = true
	}
	tail := c.add(base+"-ktail", kchar+`* "\"" `+sp)
	var build func(t *tnode) string
	build = func(t *tnode) string {
		c.n++
		name := fmt.Sprintf("%s-key-%d", base, c.n)
		c.add(name, "")
		var alts []string
		if !t.end {
			alts = append(alts, `"\"" `+sp)
		}
		var kids []rune
		for r := range t.kids {
			kids = append(kids, r)
		}
		sort.Slice(kids, func(i, j int) bool { return kids[i] < kids[j] })
		// characters that leave the trie: raw ones, then short escapes
		raw := `[^"\\\x7F\x00-\x1F`
		escs := ""
		for _, e := range []rune{'"', '\\', '\n', '\r', '\t', '\b', '\f'} {
			if t.kids[e] == nil {
				escs += strings.TrimPrefix(encodeJSONRune(e), `\`)
			}
		}
		for _, r := range kids {
			if r >= 0x20 && r != 0x7f && r != '"' && r != '\\' {
				raw += escapeClassRune(r)
			}
		}
		alts = append(alts, raw+"] "+tail)
		if escs != "" {
			alts = append(alts, `"\\" [`+strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(escs)+"] "+tail)
		}
		for _, r := range kids {
			alts = append(alts, QuoteGBNF(encodeJSONRune(r))+" "+build(t.kids[r]))
		}
		c.add(name, strings.Join(alts, " | "))
		return name
	}
	return `"\"" ` + build(root)
}

// intRangeGBNF returns a GBNF expression for the decimal integers in
// [lo, hi] (no leading zeros, "-0" excluded).
func intRangeGBNF(lo, hi int64) string {
	var alts []string
	if lo < 0 {
		nhi := min(hi, -1)
		alts = append(alts, `"-" (`+posRange(-nhi, -lo)+")")
	}
	if hi >= 0 {
		alts = append(alts, posRange(max(lo, 0), hi))
	}
	return strings.Join(alts, " | ")
}

// posRange matches the non-negative integers in [a, b], split by digit
// count.
func posRange(a, b int64) string {
	var alts []string
	for k := len(strconv.FormatInt(a, 10)); k <= len(strconv.FormatInt(b, 10)); k++ {
		lo, hi := int64(0), int64(9)
		if k > 1 {
			lo = pow10(k - 1)
			hi = pow10(k) - 1
		}
		lo, hi = max(lo, a), min(hi, b)
		if lo > hi {
			continue
		}
		alts = append(alts, sameLenRange(strconv.FormatInt(lo, 10), strconv.FormatInt(hi, 10)))
	}
	return strings.Join(alts, " | ")
}

func pow10(k int) int64 {
	p := int64(1)
	for ; k > 0; k-- {
		p *= 10
	}
	return p
}

// sameLenRange matches the digit strings of length len(s) between s and t.
func sameLenRange(s, t string) string {
	if s == t {
		return `"` + s + `"`
	}
	n := len(s)
	if n == 1 {
		return "[" + s + "-" + t + "]"
	}
	if s[0] == t[0] {
		return `"` + s[:1] + `" (` + sameLenRange(s[1:], t[1:]) + ")"
	}
	anyDigits := func(k int) string {
		if k == 0 {
			return ""
		}
		return fmt.Sprintf(" [0-9]{%d}", k)
	}
	var alts []string
	loD, hiD := s[0], t[0]
	if strings.Trim(s[1:], "0") != "" {
		alts = append(alts, `"`+s[:1]+`" (`+sameLenRange(s[1:], strings.Repeat("9", n-1))+")")
		loD++
	}
	topFull := strings.Trim(t[1:], "9") == ""
	if !topFull {
		hiD--
	}
	if loD <= hiD {
		alts = append(alts, "["+string(loD)+"-"+string(hiD)+"]"+anyDigits(n-1))
	}
	if !topFull {
		alts = append(alts, `"`+t[:1]+`" (`+sameLenRange(strings.Repeat("0", n-1), t[1:])+")")
	}
	return strings.Join(alts, " | ")
}
