package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ParseJSON decodes JSON into renderer values, keeping object key order
// (objects become *Dict, arrays []any, integers int64, other numbers
// float64). Use it for tool schemas and other inputs whose order a template
// may print.
func ParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, fmt.Errorf("chat: parse json: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("chat: parse json: trailing data")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			d := NewDict()
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key is %T", kt)
				}
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				d.Set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return d, nil
		case '[':
			list := []any{}
			for dec.More() {
				v, err := decodeValue(dec)
				if err != nil {
					return nil, err
				}
				list = append(list, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return list, nil
		}
		return nil, fmt.Errorf("unexpected delimiter %v", t)
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil {
			return i, nil
		}
		f, err := strconv.ParseFloat(string(t), 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", t)
		}
		return f, nil
	default:
		return t, nil // string, bool, nil
	}
}

// jsonOpts are the keyword arguments of Python's json.dumps that tojson takes.
type jsonOpts struct {
	indent      string
	hasIndent   bool
	itemSep     string
	keySep      string
	sortKeys    bool
	ensureASCII bool
}

// toJSON is Python's json.dumps(v, ...) as transformers' tojson calls it.
func toJSON(v any, o jsonOpts) string {
	var b strings.Builder
	writeJSON(&b, v, o, 0, 0)
	return b.String()
}

func writeJSON(b *strings.Builder, v any, o jsonOpts, level, depth int) {
	if depth > maxDepth {
		throw("ValueError", "circular reference detected")
	}
	newline := func(l int) {
		if o.hasIndent {
			b.WriteByte('\n')
			if b.Len()+len(o.indent)*l > maxOutput {
				throw("MemoryError", "tojson output too large")
			}
			b.WriteString(strings.Repeat(o.indent, l))
		}
	}
	switch x := unmark(v).(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		switch {
		case math.IsNaN(x):
			b.WriteString("NaN")
		case math.IsInf(x, 1):
			b.WriteString("Infinity")
		case math.IsInf(x, -1):
			b.WriteString("-Infinity")
		default:
			b.WriteString(pyFloat(x))
		}
	case string:
		writeJSONString(b, x, o.ensureASCII)
	case []any, Tuple:
		items := iterate(x)
		if len(items) == 0 {
			b.WriteString("[]")
			return
		}
		b.WriteByte('[')
		for i, e := range items {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			writeJSON(b, e, o, level+1, depth+1)
		}
		newline(level)
		b.WriteByte(']')
	case *Dict:
		if x.Len() == 0 {
			b.WriteString("{}")
			return
		}
		keys := make([]string, len(x.keys))
		vals := make(map[string]any, len(x.keys))
		for i, k := range x.keys {
			keys[i] = jsonKey(k)
			vals[keys[i]] = x.value(k)
		}
		if o.sortKeys {
			sortStrings(keys)
		}
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteString(o.itemSep)
			}
			newline(level + 1)
			writeJSONString(b, k, o.ensureASCII)
			b.WriteString(o.keySep)
			writeJSON(b, vals[k], o, level+1, depth+1)
		}
		newline(level)
		b.WriteByte('}')
	default:
		throw("TypeError", "Object of type %s is not JSON serializable", pyTypeName(v))
	}
}

// jsonKey converts a dict key the way json.dumps does.
func jsonKey(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case nil:
		return "null"
	case bool:
		if x {
			return "true"
		}
		return "false"
	case int64, float64:
		return pyStr(x)
	}
	throw("TypeError", "keys must be str, int, float, bool or None, not %s", pyTypeName(k))
	return ""
}

func sortStrings(s []string) {
	vs := make([]any, len(s))
	for i, k := range s {
		vs[i] = k
	}
	sortValues(vs, func(v any) any { return v }, false)
	for i := range vs {
		s[i] = vs[i].(string)
	}
}

// writeJSONString quotes s as json.dumps does: only '"', '\\' and control
// characters are escaped (plus all non-ASCII when ensureASCII).
func writeJSONString(b *strings.Builder, s string, ensureASCII bool) {
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20:
				fmt.Fprintf(b, `\u%04x`, r)
			case ensureASCII && r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			case ensureASCII && r >= 0x7f:
				fmt.Fprintf(b, `\u%04x`, r)
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
