package chat

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// methodTable lists the Python methods templates may call, per type. The
// mutating list/dict methods are absent: the sandbox refuses them (see
// unsafeMethods).
var methodTable = map[string]map[string]bool{
	"str": set("split", "rsplit", "strip", "lstrip", "rstrip", "startswith", "endswith", "replace",
		"upper", "lower", "title", "capitalize", "find", "rfind", "index", "rindex", "count", "join",
		"format", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "isnumeric", "isdecimal",
		"splitlines", "partition", "rpartition", "removeprefix", "removesuffix", "zfill", "swapcase", "casefold"),
	"dict":  set("get", "items", "keys", "values", "copy"),
	"list":  set("index", "count", "copy"),
	"tuple": set("index", "count"),
}

func set(names ...string) map[string]bool {
	m := map[string]bool{}
	for _, n := range names {
		m[n] = true
	}
	return m
}

// pyIsSpace is Python's str.isspace for one character.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// pyStrip is str.strip/lstrip/rstrip: chars nil strips whitespace, else the
// given characters.
func pyStrip(s string, chars any, left, right bool) string {
	f := pyIsSpace
	if chars != nil {
		cs, ok := chars.(string)
		if !ok {
			throw("TypeError", "strip arg must be None or str")
		}
		f = func(r rune) bool { return strings.ContainsRune(cs, r) }
	}
	if left {
		s = strings.TrimLeftFunc(s, f)
	}
	if right {
		s = strings.TrimRightFunc(s, f)
	}
	return s
}

// pySplit is str.split(sep, maxsplit).
func pySplit(s string, sep any, maxsplit int) []any {
	var parts []string
	if sep == nil {
		// whitespace runs, ignoring leading/trailing whitespace
		rest := strings.TrimLeftFunc(s, pyIsSpace)
		for rest != "" {
			if maxsplit >= 0 && len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			i := strings.IndexFunc(rest, pyIsSpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			parts = append(parts, rest[:i])
			rest = strings.TrimLeftFunc(rest[i:], pyIsSpace)
		}
	} else {
		sp, ok := sep.(string)
		if !ok {
			throw("TypeError", "must be str or None, not %s", pyTypeName(sep))
		}
		if sp == "" {
			throw("ValueError", "empty separator")
		}
		n := -1
		if maxsplit >= 0 {
			n = maxsplit + 1
		}
		parts = strings.SplitN(s, sp, n)
	}
	out := make([]any, len(parts))
	for i, p := range parts {
		out[i] = p
	}
	return out
}

func pyRSplit(s string, sep any, maxsplit int) []any {
	if maxsplit < 0 {
		return pySplit(s, sep, -1)
	}
	if sep == nil {
		var parts []string
		rest := strings.TrimRightFunc(s, pyIsSpace)
		for rest != "" {
			if len(parts) == maxsplit {
				parts = append(parts, rest)
				break
			}
			i := strings.LastIndexFunc(rest, pyIsSpace)
			if i < 0 {
				parts = append(parts, rest)
				break
			}
			_, w := utf8.DecodeRuneInString(rest[i:])
			parts = append(parts, rest[i+w:])
			rest = strings.TrimRightFunc(rest[:i], pyIsSpace)
		}
		out := make([]any, len(parts))
		for i, p := range parts {
			out[len(parts)-1-i] = p
		}
		return out
	}
	sp, ok := sep.(string)
	if !ok || sp == "" {
		throw("ValueError", "bad separator")
	}
	var parts []string
	rest := s
	for len(parts) < maxsplit {
		i := strings.LastIndex(rest, sp)
		if i < 0 {
			break
		}
		parts = append(parts, rest[i+len(sp):])
		rest = rest[:i]
	}
	parts = append(parts, rest)
	out := make([]any, len(parts))
	for i, p := range parts {
		out[len(parts)-1-i] = p
	}
	return out
}

func intArg(v any, def int) int {
	switch x := v.(type) {
	case nil:
		return def
	case int64:
		return int(x)
	case bool:
		if x {
			return 1
		}
		return 0
	}
	throw("TypeError", "'%s' object cannot be interpreted as an integer", pyTypeName(v))
	return 0
}

// affix checks startswith/endswith with a str or tuple of str.
func affix(s string, arg any, fn func(string, string) bool) bool {
	switch a := arg.(type) {
	case string:
		return fn(s, a)
	case Tuple, []any:
		for _, p := range iterate(a) {
			ps, ok := p.(string)
			if !ok {
				throw("TypeError", "tuple for startswith/endswith must only contain str")
			}
			if fn(s, ps) {
				return true
			}
		}
		return false
	}
	throw("TypeError", "startswith/endswith first arg must be str or a tuple of str, not %s", pyTypeName(arg))
	return false
}

func runeIndex(s string, byteIdx int) int64 {
	if byteIdx < 0 {
		return -1
	}
	return int64(utf8.RuneCountInString(s[:byteIdx]))
}

func allRunes(s string, f func(rune) bool) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !f(r) {
			return false
		}
	}
	return true
}

func callMethod(m *method, args []any, kw *Dict) any {
	switch recv := m.recv.(type) {
	case string:
		return strMethod(recv, m.name, args, kw)
	case *Dict:
		switch m.name {
		case "get":
			p, _ := bindArgs("get", args, kw, "key", "default")
			if v, ok := recv.lookup(p[0]); ok {
				return v
			}
			return p[1]
		case "items":
			return &seqIter{kind: "dict_items", items: dictItems(recv), view: true}
		case "keys":
			return &seqIter{kind: "dict_keys", items: iterate(recv), view: true}
		case "values":
			out := make([]any, len(recv.keys))
			for i, k := range recv.keys {
				out[i] = recv.value(k)
			}
			return &seqIter{kind: "dict_values", items: out, view: true}
		case "copy":
			d := NewDict()
			for _, k := range recv.keys {
				d.set(k, recv.value(k))
			}
			return d
		}
	case []any, Tuple:
		items := iterate(recv)
		switch m.name {
		case "index":
			p, _ := bindArgs("index", args, kw, "value")
			for i, it := range items {
				if pyEqual(it, p[0]) {
					return int64(i)
				}
			}
			throw("ValueError", "%s is not in list", pyRepr(p[0]))
		case "count":
			p, _ := bindArgs("count", args, kw, "value")
			n := int64(0)
			for _, it := range items {
				if pyEqual(it, p[0]) {
					n++
				}
			}
			return n
		case "copy":
			return append([]any{}, items...)
		}
	}
	throw("TypeError", "unsupported method %s", m.name)
	return nil
}

func strMethod(s, name string, args []any, kw *Dict) any {
	strArg := func(v any) string {
		x, ok := v.(string)
		if !ok {
			throw("TypeError", "%s() argument must be str, not %s", name, pyTypeName(v))
		}
		return x
	}
	switch name {
	case "split", "rsplit":
		p, _ := bindArgs(name, args, kw, "sep", "maxsplit")
		if name == "split" {
			return pySplit(s, p[0], intArg(p[1], -1))
		}
		return pyRSplit(s, p[0], intArg(p[1], -1))
	case "strip", "lstrip", "rstrip":
		p, _ := bindArgs(name, args, kw, "chars")
		return pyStrip(s, p[0], name != "rstrip", name != "lstrip")
	case "startswith", "endswith":
		p, _ := bindArgs(name, args, kw, "prefix", "start", "end")
		rs := []rune(s)
		sub := string(rs[clampIdx(p[1], len(rs), 0):max(clampIdx(p[1], len(rs), 0), clampIdx(p[2], len(rs), len(rs)))])
		if name == "startswith" {
			return affix(sub, p[0], strings.HasPrefix)
		}
		return affix(sub, p[0], strings.HasSuffix)
	case "replace":
		p, _ := bindArgs(name, args, kw, "old", "new", "count")
		return strings.Replace(s, strArg(p[0]), strArg(p[1]), intArg(p[2], -1))
	case "upper":
		return strings.ToUpper(s)
	case "lower", "casefold":
		return strings.ToLower(s)
	case "swapcase":
		return strings.Map(func(r rune) rune {
			if unicode.IsUpper(r) {
				return unicode.ToLower(r)
			}
			return unicode.ToUpper(r)
		}, s)
	case "title":
		return title(s)
	case "capitalize":
		return capitalize(s)
	case "find", "rfind", "index", "rindex":
		p, _ := bindArgs(name, args, kw, "sub")
		sub := strArg(p[0])
		var i int64
		if name == "find" || name == "index" {
			i = runeIndex(s, strings.Index(s, sub))
		} else {
			i = runeIndex(s, strings.LastIndex(s, sub))
		}
		if i < 0 && (name == "index" || name == "rindex") {
			throw("ValueError", "substring not found")
		}
		return i
	case "count":
		p, _ := bindArgs(name, args, kw, "sub")
		sub := strArg(p[0])
		if sub == "" {
			return int64(utf8.RuneCountInString(s) + 1)
		}
		return int64(strings.Count(s, sub))
	case "join":
		p, _ := bindArgs(name, args, kw, "iterable")
		items := iterate(p[0])
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = strArg(it)
		}
		return strings.Join(parts, s)
	case "format":
		return pyFormat(s, args, kw)
	case "isdigit", "isnumeric", "isdecimal":
		return allRunes(s, unicode.IsDigit)
	case "isalpha":
		return allRunes(s, unicode.IsLetter)
	case "isalnum":
		return allRunes(s, func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) })
	case "isspace":
		return allRunes(s, pyIsSpace)
	case "islower":
		return strings.ToLower(s) == s && strings.ToUpper(s) != s
	case "isupper":
		return strings.ToUpper(s) == s && strings.ToLower(s) != s
	case "splitlines":
		if s == "" {
			return []any{}
		}
		lines := pySplitLines(s)
		out := make([]any, len(lines))
		for i, l := range lines {
			out[i] = l
		}
		return out
	case "partition", "rpartition":
		p, _ := bindArgs(name, args, kw, "sep")
		sep := strArg(p[0])
		var i int
		if name == "partition" {
			i = strings.Index(s, sep)
		} else {
			i = strings.LastIndex(s, sep)
		}
		if i < 0 {
			if name == "partition" {
				return Tuple{s, "", ""}
			}
			return Tuple{"", "", s}
		}
		return Tuple{s[:i], sep, s[i+len(sep):]}
	case "removeprefix":
		p, _ := bindArgs(name, args, kw, "prefix")
		return strings.TrimPrefix(s, strArg(p[0]))
	case "removesuffix":
		p, _ := bindArgs(name, args, kw, "suffix")
		return strings.TrimSuffix(s, strArg(p[0]))
	case "zfill":
		p, _ := bindArgs(name, args, kw, "width")
		w := intArg(p[0], 0)
		n := utf8.RuneCountInString(s)
		if n >= w {
			return s
		}
		sign := ""
		if s != "" && (s[0] == '-' || s[0] == '+') {
			sign, s = s[:1], s[1:]
		}
		return sign + safeRepeat("0", int64(w-n)) + s
	}
	throw("TypeError", "unsupported str method %s", name)
	return nil
}

// clampIdx normalizes a Python slice bound (nil means def) into [0, n].
func clampIdx(v any, n, def int) int {
	if v == nil {
		return def
	}
	i := intArg(v, def)
	if i < 0 {
		i += n
	}
	return max(0, min(i, n))
}

// pyFormat implements str.format for {} / {0} / {name} fields with an
// optional !s/!r conversion; format specs are not supported.
func pyFormat(f string, args []any, kw *Dict) string {
	var b strings.Builder
	auto := 0
	for i := 0; i < len(f); i++ {
		c := f[i]
		if c == '{' && i+1 < len(f) && f[i+1] == '{' {
			b.WriteByte('{')
			i++
			continue
		}
		if c == '}' && i+1 < len(f) && f[i+1] == '}' {
			b.WriteByte('}')
			i++
			continue
		}
		if c != '{' {
			b.WriteByte(c)
			continue
		}
		end := strings.IndexByte(f[i:], '}')
		if end < 0 {
			throw("ValueError", "Single '{' encountered in format string")
		}
		field := f[i+1 : i+end]
		i += end
		conv := ""
		if j := strings.IndexByte(field, '!'); j >= 0 {
			field, conv = field[:j], field[j+1:]
		}
		if j := strings.IndexByte(field, ':'); j >= 0 {
			field = field[:j]
		}
		var v any
		switch {
		case field == "":
			if auto >= len(args) {
				throw("IndexError", "Replacement index %d out of range for positional args tuple", auto)
			}
			v = args[auto]
			auto++
		default:
			if n, err := strconv.Atoi(field); err == nil {
				if n >= len(args) {
					throw("IndexError", "Replacement index %d out of range for positional args tuple", n)
				}
				v = args[n]
			} else {
				if kw == nil || !hasKey(kw, field) {
					throw("KeyError", "'%s'", field)
				}
				v = kw.m[field]
			}
		}
		if conv == "r" {
			b.WriteString(pyRepr(v))
		} else {
			b.WriteString(pyStr(v))
		}
	}
	return b.String()
}
