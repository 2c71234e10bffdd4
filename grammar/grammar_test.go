package grammar

import (
	"errors"
	"strings"
	"testing"
)

// matches reports whether g accepts s as a complete sentence.
func matches(g *Grammar, s string) bool {
	m := NewMatcher(g)
	return m.AcceptString(s) && m.Accepting()
}

func TestGBNFAccept(t *testing.T) {
	cases := []struct {
		name    string
		src     string
		accept  []string
		reject  []string
		prefix  []string // accepted as a prefix but not complete
		rejects []string // rejected at some byte
	}{
		{
			name:   "literal",
			src:    `root ::= "abc"`,
			accept: []string{"abc"},
			reject: []string{"", "ab", "abcd", "abd"},
			prefix: []string{"", "a", "ab"},
		},
		{
			name:   "alternation and grouping",
			src:    `root ::= ("cat" | "dog") "s"?`,
			accept: []string{"cat", "dog", "cats", "dogs"},
			reject: []string{"cow", "catss", "s"},
		},
		{
			name:   "star plus",
			src:    `root ::= "a"* "b"+`,
			accept: []string{"b", "ab", "aaabbb", "bbbb"},
			reject: []string{"", "a", "aba", "ba"},
		},
		{
			name:   "bounded repetition",
			src:    `root ::= [0-9]{2,4} "x"{3} "y"{1,}`,
			accept: []string{"12xxxy", "1234xxxyyyy"},
			reject: []string{"1xxxy", "12345xxxy", "12xxy", "12xxx"},
		},
		{
			name:   "char classes, ranges, negation",
			src:    `root ::= [a-zA-Z_] [^0-9\n]* [\x41-\x43]`,
			accept: []string{"_A", "zé€😀B", "Q  C"},
			reject: []string{"9A", "a1C", "aD", "a\nC"},
		},
		{
			name:   "escapes",
			src:    `root ::= "\"\\\n\t" [\]\[\-] "\u00e9" "\U0001F600" "\x21"`,
			accept: []string{"\"\\\n\t]é😀!", "\"\\\n\t-é😀!"},
			reject: []string{"\"\\\n\t^é😀!"},
		},
		{
			name: "multi-line rules and comments",
			src: `# a comment
root ::= greeting
   ( ", " name )? # trailing comment
greeting ::=
   "hi" |
   "hello"
name ::= [a-z]+`,
			accept: []string{"hi", "hello, bob"},
			reject: []string{"hey", "hi, "},
		},
		{
			name:   "dot",
			src:    `root ::= "<" . . ">"`,
			accept: []string{"<ab>", "<€😀>", "<a\n>"},
			reject: []string{"<a>", "<abc>"},
		},
		{
			name:   "right recursion",
			src:    "root ::= item\nitem ::= \"(\" item \")\" | \"x\"",
			accept: []string{"x", "((x))", strings.Repeat("(", 50) + "x" + strings.Repeat(")", 50)},
			reject: []string{"(x", "(x))", "()"},
		},
		{
			name:   "empty alternative",
			src:    `root ::= "a" ws "b"` + "\nws ::= | \" \" ws",
			accept: []string{"ab", "a b", "a   b"},
			reject: []string{"a\tb"},
		},
		{
			name:   "nullable items in sequence",
			src:    `root ::= "a"? "b"? "c"?`,
			accept: []string{"", "a", "b", "c", "ab", "ac", "bc", "abc"},
			reject: []string{"ba", "cc"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := ParseGBNF(tc.src)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			for _, s := range tc.accept {
				if !matches(g, s) {
					t.Errorf("should accept %q", s)
				}
			}
			for _, s := range tc.reject {
				if matches(g, s) {
					t.Errorf("should reject %q", s)
				}
			}
			for _, s := range tc.prefix {
				m := NewMatcher(g)
				if !m.AcceptString(s) {
					t.Errorf("prefix %q rejected", s)
				}
			}
		})
	}
}

func TestGBNFErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
		msg       string
	}{
		{`root ::= "abc`, 1, 14, "unterminated string"},
		{"root ::= a\n", 1, 10, `undefined rule "a"`},
		{"foo ::= \"x\"", 1, 1, `no "root" rule`},
		{"root ::= (\"a\" | \"b\"", 1, 20, "expected ')'"},
		{"root ::= \"a\"\n  ) \"b\"", 2, 3, "unmatched ')'"},
		{"root ::= [a-", 1, 13, "unterminated character class"},
		{"root ::= [z-a]", 1, 14, "reversed"},
		{"root ::= \"a\"{3,2}", 1, 18, "max below min"},
		{"root ::= \"a\"{2", 1, 15, "expected '}'"},
		{`root ::= "\q"`, 1, 12, `unknown escape \q`},
		{"root ::= \"a\"\nroot ::= \"b\"", 2, 1, "defined twice"},
		{"root = \"a\"", 1, 6, "expected '::='"},
		{"::= \"a\"", 1, 1, "expected rule name"},
		{"root ::= \"a\" @", 1, 14, "unexpected '@'"},
		{"root ::= \"a\"{99999}", 1, 14, "exceeds"},
		{"root ::= <[12]>", 1, 10, "token references"},
	}
	for _, tc := range cases {
		_, err := ParseGBNF(tc.src)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: want ParseError, got %v", tc.src, err)
			continue
		}
		if pe.Line != tc.line || pe.Col != tc.col || !strings.Contains(pe.Msg, tc.msg) {
			t.Errorf("%q: got %v, want line %d col %d containing %q", tc.src, err, tc.line, tc.col, tc.msg)
		}
	}
	// Semantic errors that are not positional.
	for _, src := range []string{
		"root ::= root \"a\" | \"b\"",
		"root ::= a\na ::= \"x\"? root",
		"root ::= (\"a\"?)*",
		"root ::= [^\\x00-\\U0010FFFF]",
		"root ::= a\na ::= a \"x\"",
	} {
		if _, err := ParseGBNF(src); err == nil {
			t.Errorf("%q: expected an error", src)
		}
	}
}

func TestMatcherCloneRestore(t *testing.T) {
	g := MustParseGBNF(`root ::= "ab" ("c" | "d")`)
	m := NewMatcher(g)
	if !m.AcceptString("ab") {
		t.Fatal("ab rejected")
	}
	saved := m.Save()
	c := m.Clone()
	if !m.AcceptString("c") || !m.Accepting() {
		t.Fatal("abc rejected")
	}
	if !c.AcceptString("d") || !c.Accepting() {
		t.Fatal("clone: abd rejected")
	}
	m.Restore(saved)
	if m.Accepting() || !m.AcceptString("d") || !m.Accepting() {
		t.Fatal("restore failed")
	}
	// A failed multi-byte Accept leaves the state unchanged.
	m2 := NewMatcher(g)
	if m2.AcceptString("ax") {
		t.Fatal("ax accepted")
	}
	if !m2.AcceptString("abc") {
		t.Fatal("state changed by failed Accept")
	}
}

func TestUTF8Handling(t *testing.T) {
	g := MustParseGBNF(`root ::= [a-z€]+`) // € is E2 82 AC
	m := NewMatcher(g)
	if !m.Accept([]byte{0xE2}) || m.Accepting() {
		t.Fatal("lead byte of € should be pending")
	}
	if !m.Accept([]byte{0x82}) {
		t.Fatal("second byte of € rejected")
	}
	if !m.Accept([]byte{0xAC}) || !m.Accepting() {
		t.Fatal("€ not accepted")
	}
	for _, bad := range [][]byte{
		{0xC3},             // é lead byte: é not in class, pruned early
		{0xE2, 0x82, 0xAD}, // U+20AD not in class
		{0xC0, 0x80},       // overlong
		{0xED, 0xA0, 0x80}, // surrogate
		{0xFF},
		{0x80}, // stray continuation
	} {
		m := NewMatcher(g)
		if m.Accept(bad) && m.Accepting() {
			t.Errorf("% x accepted", bad)
		}
	}
	// A surrogate prefix is refused at its second byte, not left to
	// dead-end at the third.
	m = NewMatcher(MustParseGBNF(`root ::= [^a]`))
	if !m.Accept([]byte{0xED}) || m.Accept([]byte{0xA5}) {
		t.Error("ED A5 (surrogate prefix) should be refused at A5")
	}
	// Early pruning: after E2 only codepoints U+2000..U+2FFF remain.
	m = NewMatcher(MustParseGBNF(`root ::= [a-z]`))
	if m.Accept([]byte{0xE2}) {
		t.Error("lead byte accepted for an ASCII-only class")
	}
}

func TestMinRemaining(t *testing.T) {
	g := MustParseGBNF(`root ::= "{" item ("," item)* "}"` + "\nitem ::= \"ab\" | \"c\"")
	m := NewMatcher(g)
	if got := m.MinRemaining(); got != 3 {
		t.Errorf("start: MinRemaining %d, want 3", got)
	}
	m.AcceptString("{a")
	if got := m.MinRemaining(); got != 2 {
		t.Errorf("after {a: MinRemaining %d, want 2", got)
	}
	m.AcceptString("b}")
	if got := m.MinRemaining(); got != 0 {
		t.Errorf("done: MinRemaining %d, want 0", got)
	}
}
