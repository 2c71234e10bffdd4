package modelfile

import (
	"reflect"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics on any input and that whatever
// it accepts survives Format: the output parses to the same commands and
// formats to the same text again.
func FuzzParse(f *testing.F) {
	for _, tt := range parseCases {
		f.Add([]byte(tt.src))
	}
	for _, s := range []string{
		"", "FROM", "FROM \"", "FROM \"\"\"", "FROM x\nSYSTEM \"\"\"\"", "FROM x\r\nSYSTEM \"a\r\nb\"",
		"\xff\xfeF\x00R\x00O\x00M\x00 \x00x\x00", "\xef\xbb\xbfFROM x", "FROM \xff\xfe",
		"FROM x\nMESSAGE user \"\"\"\"\"\"\"", "FROM x\nPARAMETER stop \"\"\"a\n\"\"\" b\"\"\"",
		"FROM x\nREQUIRES v1.2.3-rc.1+b", "#\n#\nfrom\tx", "FROM x\nSYSTEM \"\"\"a\"\"\"\"\"\"\n",
		"FROM x\nPRESET s a=\"b \\\" c\" d=e", "FROM x\nPRESET s \"\"\"\na=1\n\"\"\"", "FROM x\nPRESET s",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Parse(strings.NewReader(string(data)))
		if err != nil {
			if m != nil {
				t.Fatalf("Parse returned both a Modelfile and error %v", err)
			}
			return
		}
		out := m.Format()
		g, err := ParseString(out)
		if err != nil {
			t.Fatalf("Format output does not parse: %v\ninput %q\noutput %q", err, data, out)
		}
		if !reflect.DeepEqual(stripLines(g.Commands), stripLines(m.Commands)) {
			t.Fatalf("round trip changed commands\ninput %q\n got %q\nwant %q", data, g.Commands, m.Commands)
		}
		if again := g.Format(); again != out {
			t.Fatalf("Format not stable\n%q\n%q", out, again)
		}
		if _, err := m.Options(); err != nil {
			t.Fatalf("Options failed on parsed file: %v", err)
		}
	})
}
