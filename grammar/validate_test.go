package grammar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// validator checks an instance against a JSON Schema, for the subset this
// package supports. It is independent of the converter (it works on the
// decoded values), so the tests can check the grammar against it.
type validator struct {
	root any
	// dups maps the JSON pointer of each object of the instance being
	// validated to the keys that appear in it more than once.
	dups map[string][]string
}

func newValidator(schema string) (*validator, error) {
	d := json.NewDecoder(strings.NewReader(schema))
	d.UseNumber()
	var root any
	if err := d.Decode(&root); err != nil {
		return nil, err
	}
	return &validator{root: root}, nil
}

// validateText parses text as one JSON value and validates it. A key may
// not repeat in an object whose schema declares it under "properties";
// repeats among additional properties are a documented limit of
// context-free constraints.
func (v *validator) validateText(text string) error {
	if !json.Valid([]byte(text)) {
		return fmt.Errorf("not valid JSON")
	}
	root, err := parseJV([]byte(text))
	if err != nil {
		return err
	}
	v.dups = map[string][]string{}
	duplicateKeys(root, "#", v.dups)
	d := json.NewDecoder(strings.NewReader(text))
	d.UseNumber()
	var inst any
	if err := d.Decode(&inst); err != nil {
		return err
	}
	return v.validate(v.root, inst, "#")
}

// ptrEscape escapes a key for a JSON pointer.
func ptrEscape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}

// duplicateKeys records in out the repeated keys of every object in v
// (at JSON pointer path), with the paths validate uses.
func duplicateKeys(v *jv, path string, out map[string][]string) {
	seen := map[string]bool{}
	for i, k := range v.keys {
		if seen[k] {
			out[path] = append(out[path], k)
		}
		seen[k] = true
		duplicateKeys(v.vals[i], path+"/"+ptrEscape(k), out)
	}
	for i, e := range v.arr {
		duplicateKeys(e, path+"/"+strconv.Itoa(i), out)
	}
}

func (v *validator) resolve(ref string) (any, error) {
	cur := v.root
	ptr := strings.TrimPrefix(ref, "#")
	if ptr == "" {
		return cur, nil
	}
	for _, part := range strings.Split(ptr[1:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("bad ref %s", ref)
		}
		cur = m[part]
	}
	return cur, nil
}

func num(x any) (float64, bool) {
	n, ok := x.(json.Number)
	if !ok {
		return 0, false
	}
	f, err := n.Float64()
	return f, err == nil
}

func jsonEqual(a, b any) bool {
	if fa, ok := num(a); ok {
		fb, ok := num(b)
		return ok && fa == fb
	}
	ab, _ := json.Marshal(a)
	bb, _ := json.Marshal(b)
	return bytes.Equal(ab, bb)
}

func typeOK(t string, inst any) bool {
	switch t {
	case "null":
		return inst == nil
	case "boolean":
		_, ok := inst.(bool)
		return ok
	case "string":
		_, ok := inst.(string)
		return ok
	case "number":
		_, ok := num(inst)
		return ok
	case "integer":
		f, ok := num(inst)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := inst.([]any)
		return ok
	case "object":
		_, ok := inst.(map[string]any)
		return ok
	}
	return false
}

// formatCheck validates the string formats with the standard library,
// independently of the package's patterns.
var formatCheck = map[string]func(string) error{
	"email": func(s string) error {
		a, err := mail.ParseAddress(s)
		if err == nil && a.Address != s {
			err = fmt.Errorf("parsed as %q", a.Address)
		}
		return err
	},
	"uri": func(s string) error {
		u, err := url.Parse(s)
		if err == nil && (u.Host == "" || (u.Scheme != "http" && u.Scheme != "https")) {
			err = fmt.Errorf("no host or scheme")
		}
		return err
	},
	"hostname": func(s string) error {
		if len(s) > 253 {
			return fmt.Errorf("too long")
		}
		for _, l := range strings.Split(s, ".") {
			if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
				return fmt.Errorf("bad label %q", l)
			}
		}
		return nil
	},
	"date": func(s string) error {
		_, err := time.Parse("2006-01-02", s)
		return err
	},
	"date-time": func(s string) error {
		_, err := time.Parse(time.RFC3339Nano, s)
		return err
	},
	"time": func(s string) error {
		_, err := time.Parse("15:04:05.999999999Z07:00", s)
		return err
	},
	"ipv4": func(s string) error {
		ip := net.ParseIP(s)
		if ip == nil || ip.To4() == nil {
			return fmt.Errorf("not an IPv4 address")
		}
		return nil
	},
	"uuid": func(s string) error {
		if !uuidRE.MatchString(s) {
			return fmt.Errorf("not a UUID")
		}
		return nil
	},
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$`)

func (v *validator) validate(s, inst any, path string) error {
	if b, ok := s.(bool); ok {
		if !b {
			return fmt.Errorf("%s: schema false", path)
		}
		return nil
	}
	m, ok := s.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: bad schema", path)
	}
	if ref, ok := m["$ref"].(string); ok {
		t, err := v.resolve(ref)
		if err != nil {
			return err
		}
		return v.validate(t, inst, path)
	}
	if c, ok := m["const"]; ok && !jsonEqual(c, inst) {
		return fmt.Errorf("%s: not const", path)
	}
	if e, ok := m["enum"].([]any); ok {
		found := false
		for _, x := range e {
			found = found || jsonEqual(x, inst)
		}
		if !found {
			return fmt.Errorf("%s: not in enum", path)
		}
	}
	if list, ok := m["anyOf"].([]any); ok {
		okAny := false
		for _, sub := range list {
			okAny = okAny || v.validate(sub, inst, path) == nil
		}
		if !okAny {
			return fmt.Errorf("%s: anyOf failed", path)
		}
	}
	if list, ok := m["oneOf"].([]any); ok {
		n := 0
		for _, sub := range list {
			if v.validate(sub, inst, path) == nil {
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%s: oneOf matched %d", path, n)
		}
	}
	if list, ok := m["allOf"].([]any); ok {
		for _, sub := range list {
			if err := v.validate(sub, inst, path); err != nil {
				return err
			}
		}
	}
	switch t := m["type"].(type) {
	case string:
		if !typeOK(t, inst) {
			return fmt.Errorf("%s: want type %s, got %T", path, t, inst)
		}
	case []any:
		okAny := false
		for _, x := range t {
			okAny = okAny || typeOK(x.(string), inst)
		}
		if !okAny {
			return fmt.Errorf("%s: no type of %v", path, t)
		}
	}
	switch x := inst.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if f, ok := num(m["minLength"]); ok && float64(n) < f {
			return fmt.Errorf("%s: shorter than %v", path, f)
		}
		if f, ok := num(m["maxLength"]); ok && float64(n) > f {
			return fmt.Errorf("%s: longer than %v", path, f)
		}
		if p, ok := m["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				return err
			}
			if !re.MatchString(x) {
				return fmt.Errorf("%s: %q does not match %q", path, x, p)
			}
		}
		if f, ok := m["format"].(string); ok {
			if err := formatCheck[f](x); err != nil {
				return fmt.Errorf("%s: %q is not a %s: %v", path, x, f, err)
			}
		}
	case json.Number:
		f, _ := x.Float64()
		// Draft 4: a boolean exclusiveMinimum/exclusiveMaximum makes
		// minimum/maximum strict.
		exMin, exMax := m["exclusiveMinimum"] == true, m["exclusiveMaximum"] == true
		if b, ok := num(m["minimum"]); ok && (f < b || exMin && f == b) {
			return fmt.Errorf("%s: %v < minimum %v (exclusive %v)", path, f, b, exMin)
		}
		if b, ok := num(m["maximum"]); ok && (f > b || exMax && f == b) {
			return fmt.Errorf("%s: %v > maximum %v (exclusive %v)", path, f, b, exMax)
		}
		if b, ok := num(m["exclusiveMinimum"]); ok && f <= b {
			return fmt.Errorf("%s: %v <= exclusiveMinimum %v", path, f, b)
		}
		if b, ok := num(m["exclusiveMaximum"]); ok && f >= b {
			return fmt.Errorf("%s: %v >= exclusiveMaximum %v", path, f, b)
		}
	case []any:
		if f, ok := num(m["minItems"]); ok && float64(len(x)) < f {
			return fmt.Errorf("%s: fewer than %v items", path, f)
		}
		if f, ok := num(m["maxItems"]); ok && float64(len(x)) > f {
			return fmt.Errorf("%s: more than %v items", path, f)
		}
		if it, ok := m["items"]; ok {
			for i, e := range x {
				if err := v.validate(it, e, path+"/"+strconv.Itoa(i)); err != nil {
					return err
				}
			}
		}
	case map[string]any:
		props, _ := m["properties"].(map[string]any)
		for _, k := range v.dups[path] {
			if _, ok := props[k]; ok {
				return fmt.Errorf("%s: duplicate key %q, a declared property", path, k)
			}
		}
		if req, ok := m["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[r.(string)]; !ok {
					return fmt.Errorf("%s: missing %q", path, r)
				}
			}
		}
		for k, val := range x {
			if ps, ok := props[k]; ok {
				if err := v.validate(ps, val, path+"/"+ptrEscape(k)); err != nil {
					return err
				}
				continue
			}
			if ap, ok := m["additionalProperties"]; ok {
				if err := v.validate(ap, val, path+"/"+ptrEscape(k)); err != nil {
					return fmt.Errorf("%s: additional property %q: %w", path, k, err)
				}
			}
		}
	}
	return nil
}
