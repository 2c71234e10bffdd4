package grammar

import (
	"encoding/json"
	"fmt"
	"maps"
	"math/rand"
	"slices"
	"strings"
	"testing"
	"time"
)

// byteVocab is a small synthetic vocabulary: every single byte (as
// byte-fallback tokens give), some multi-symbol and multi-byte tokens, and
// an EOG token (the last id).
func byteVocab(t testing.TB) *Vocab {
	var pieces [][]byte
	for b := 0; b < 256; b++ {
		pieces = append(pieces, []byte{byte(b)})
	}
	for _, s := range []string{`{"`, `":`, `",`, `", "`, ` "`, `"}`, `},`, `[{`, `true`, `null`, `false`, `é`, `€`, `😀`, "\xF0\x9F", "\x98\x80", `\u00`, `\"`, `12`, `-3`, `.5`, `e+`, `abc`, "\n  ", `date`, `-0`, `00`} {
		pieces = append(pieces, []byte(s))
	}
	pieces = append(pieces, nil)
	v, err := NewVocab(pieces, []int32{int32(len(pieces) - 1)})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// walkAll runs a random walk choosing uniformly among all allowed tokens
// (full mask every step), finishing greedily after maxSteps. It reports a
// dead end as an error.
func walkAll(c *Constraint, rng *rand.Rand, maxSteps int) (string, error) {
	v := c.v
	var out []byte
	for step := 0; step < maxSteps+2000; step++ {
		ids := c.AllowedTokens(nil)
		if len(ids) == 0 {
			if c.m.Clone().AcceptByte(0) {
				return string(out), nil // only NUL continues: no token may carry it (as in llama.cpp)
			}
			return string(out), fmt.Errorf("dead end after %q", out)
		}
		var id int32
		if step < maxSteps {
			id = ids[rng.Intn(len(ids))]
		} else if c.Accepting() {
			id = v.eog[0]
		} else {
			cur := finishScore(c.m.g, c.m.stacks, c.m.part)
			best := 1 << 30
			for _, x := range ids {
				if v.isEOG[x] {
					continue
				}
				m := c.m.Clone()
				m.Accept(v.pieces[x])
				if r := finishScore(m.g, m.stacks, m.part); r < best {
					best, id = r, x
				}
			}
			if best >= cur && c.m.Clone().AcceptByte(0) {
				return string(out), nil // only NUL makes progress: no token may carry it
			}
		}
		if err := c.Accept(id); err != nil {
			return string(out), err
		}
		if c.Done() {
			return string(out), nil
		}
		out = append(out, v.pieces[id]...)
	}
	return string(out), fmt.Errorf("walk did not finish: %q", out)
}

// randomSchema builds a random schema from the supported features.
func randomSchema(rng *rand.Rand, depth int) any {
	str := func() any {
		switch rng.Intn(6) {
		case 0:
			return map[string]any{"type": "string", "maxLength": rng.Intn(5)}
		case 1:
			lo := rng.Intn(3)
			return map[string]any{"type": "string", "minLength": lo, "maxLength": lo + rng.Intn(4)}
		case 2:
			pats := []string{`^[a-c]{1,3}$`, `^x(y|zz)*$`, `\d`, `^[^"\\]{2}$`, `^(a|"|\\)?$`, `^.{0,2}$`, `^\w+@\w+\.com$`}
			return map[string]any{"type": "string", "pattern": pats[rng.Intn(len(pats))]}
		case 3:
			return map[string]any{"type": "string", "format": []string{"date", "time", "date-time", "uuid"}[rng.Intn(4)]}
		case 4:
			return map[string]any{"enum": []any{"a", "b\"c", 3, nil, true}[:1+rng.Intn(5)]}
		}
		return map[string]any{"type": "string"}
	}
	if depth <= 0 {
		switch rng.Intn(6) {
		case 0:
			return str()
		case 1:
			lo := rng.Intn(200) - 100
			return map[string]any{"type": "integer", "minimum": lo, "maximum": lo + rng.Intn(300)}
		case 2:
			return map[string]any{"type": "integer", "exclusiveMinimum": rng.Intn(50) - 25}
		case 3:
			if rng.Intn(2) == 0 {
				lo := rng.Intn(20) - 10
				return map[string]any{"type": "number", "minimum": lo, "exclusiveMaximum": lo + 1 + rng.Intn(20)}
			}
			return map[string]any{"type": []any{"number", "null"}[:1+rng.Intn(2)]}
		case 4:
			return map[string]any{"const": map[string]any{"k": []any{1, "x"}}}
		}
		return map[string]any{"type": "boolean"}
	}
	switch rng.Intn(5) {
	case 0, 1:
		props := map[string]any{}
		var req []any
		for i, n := 0, rng.Intn(4); i < n; i++ {
			name := []string{"a", "b", "ab", "k\"q", "é"}[rng.Intn(5)]
			props[name] = randomSchema(rng, depth-1)
			if rng.Intn(2) == 0 {
				req = append(req, name)
			}
		}
		s := map[string]any{"type": "object", "properties": props}
		if len(req) > 0 {
			seen := map[any]bool{}
			var uniq []any
			for _, r := range req {
				if !seen[r] {
					seen[r] = true
					uniq = append(uniq, r)
				}
			}
			s["required"] = uniq
		}
		switch rng.Intn(3) {
		case 0:
			s["additionalProperties"] = false
		case 1:
			s["additionalProperties"] = randomSchema(rng, 0)
		}
		return s
	case 2:
		s := map[string]any{"type": "array", "items": randomSchema(rng, depth-1)}
		if rng.Intn(2) == 0 {
			lo := rng.Intn(3)
			s["minItems"] = lo
			s["maxItems"] = lo + rng.Intn(3)
		}
		return s
	case 3:
		return map[string]any{"anyOf": []any{randomSchema(rng, depth-1), randomSchema(rng, depth-1)}}
	}
	return randomSchema(rng, 0)
}

// TestRandomSchemas converts random schemas and random-walks each on the
// synthetic byte vocabulary: no dead end, every output validates.
func TestRandomSchemas(t *testing.T) {
	v := byteVocab(t)
	rng := rand.New(rand.NewSource(7))
	n := 150
	if testing.Short() {
		n = 30
	}
	for i := 0; i < n; i++ {
		sb, _ := json.Marshal(randomSchema(rng, 3))
		// Wrap in a top-level $defs/$ref now and then.
		if i%5 == 0 {
			sb = []byte(`{"$ref":"#/$defs/x","$defs":{"x":` + string(sb) + `}}`)
		}
		g, err := FromSchema(sb)
		if err != nil {
			t.Fatalf("schema %s: %v", sb, err)
		}
		val, err := newValidator(string(sb))
		if err != nil {
			t.Fatal(err)
		}
		for w := 0; w < 4; w++ {
			out, err := walkAll(NewConstraint(g, v), rng, 30)
			if err != nil {
				t.Fatalf("schema %s: %v", sb, err)
			}
			if err := val.validateText(out); err != nil {
				t.Fatalf("schema %s: output %q: %v", sb, out, err)
			}
		}
	}
}

// FuzzSchema: converting any input never panics; for accepted schemas,
// random walks never dead-end and their outputs are JSON.
func FuzzSchema(f *testing.F) {
	for _, c := range schemaCases {
		f.Add(c.schema, int64(1))
	}
	for _, s := range walkSchemas {
		f.Add(s.schema, int64(2))
	}
	f.Add(`{"type":"string","pattern":"^(a|b)*c{2,3}[^x-z]$"}`, int64(3))
	v := byteVocab(f)
	f.Fuzz(func(t *testing.T, schema string, seed int64) {
		tm := time.AfterFunc(10*time.Second, func() { panic("slow: " + schema) })
		defer tm.Stop()
		g, err := FromSchema([]byte(schema))
		if err != nil {
			return
		}
		rng := rand.New(rand.NewSource(seed))
		for w := 0; w < 2; w++ {
			out, err := walkAll(NewConstraint(g, v), rng, 20)
			if err != nil {
				t.Fatalf("schema %s: %v", schema, err)
			}
			if !json.Valid([]byte(out)) {
				t.Fatalf("schema %s: output %q is not JSON", schema, out)
			}
		}
	})
}

// FuzzGBNF: parsing never panics; for accepted grammars, random walks
// never reach a state with no allowed token that is not accepting.
func FuzzGBNF(f *testing.F) {
	seeds := []string{
		`root ::= "a" | "b" root`,
		`root ::= [a-z]+ ("," [0-9]{1,3})*`,
		"root ::= x y\nx ::= \"(\" x? \")\"\ny ::= [^\\n]{0,4}",
		`root ::= ("é" | [\u0100-\u01FF] | "😀")* "."`,
		`root ::= "a"? "b"? "c"{2}`,
		`root ::= . . [^a]`,
		`root ::= "b" | "a" [^\x00-\U0010FFFF]`,
		`root ::= "a" [\x00] "b"`,
	}
	for _, s := range seeds {
		f.Add(s, int64(1))
	}
	v := byteVocab(f)
	f.Fuzz(func(t *testing.T, src string, seed int64) {
		tm := time.AfterFunc(10*time.Second, func() { panic("slow: " + src) })
		defer tm.Stop()
		g, err := ParseGBNF(src)
		if err != nil {
			return
		}
		if strings.Count(g.String(), "\n") > 2000 {
			return // keep each case fast
		}
		rng := rand.New(rand.NewSource(seed))
		if _, err := walkAll(NewConstraint(g, v), rng, 20); err != nil {
			t.Fatalf("grammar %q: %v", src, err)
		}
	})
}

// finishScore ranks states for the greedy finish of a random walk: four
// per codepoint still needed; with a codepoint in progress, only stacks
// that can take it count, and its missing bytes count one each.
func finishScore(g *Grammar, stacks []*node, p partial) int {
	if p.need == 0 {
		return 4 * g.minRemaining(stacks)
	}
	best := 1 << 30
	for _, s := range stacks {
		if s != nil && g.partialViable([]*node{s}, p) {
			best = min(best, 4*(g.minRemaining([]*node{s})-1)+int(p.need))
		}
	}
	return best
}

// TestFormatSubsets random-walks the string formats and checks each output
// with formatCheck (the standard library's parsers, independent of the
// patterns).
func TestFormatSubsets(t *testing.T) {
	v := byteVocab(t)
	rng := rand.New(rand.NewSource(9))
	for _, format := range slices.Sorted(maps.Keys(formatCheck)) {
		ok := formatCheck[format]
		g, err := FromSchema([]byte(`{"type":"string","format":"` + format + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 40; i++ {
			out, err := walkAll(NewConstraint(g, v), rng, 25)
			if err != nil {
				t.Fatalf("%s: %v", format, err)
			}
			var s string
			if err := json.Unmarshal([]byte(out), &s); err != nil {
				t.Fatalf("%s: %q: %v", format, out, err)
			}
			if i < 2 {
				t.Logf("%s: %q", format, s)
			}
			if err := ok(s); err != nil {
				t.Fatalf("%s: %q: %v", format, s, err)
			}
		}
	}
}
