package store

import (
	"errors"
	"strings"
	"testing"
)

func TestParseName(t *testing.T) {
	long := strings.Repeat("a", 80)
	tests := []struct {
		in      string
		want    Name   // when valid
		display string // when valid
		errSub  string // when invalid: substring of the error
	}{
		// Defaults.
		{in: "llama3.2", want: Name{DefaultHost, DefaultNamespace, "llama3.2", "latest"}, display: "llama3.2:latest"},
		{in: "llama3.2:1b", want: Name{DefaultHost, DefaultNamespace, "llama3.2", "1b"}, display: "llama3.2:1b"},
		{in: "library/llama3.2:1b", want: Name{DefaultHost, "library", "llama3.2", "1b"}, display: "llama3.2:1b"},
		{in: "registry.ollama.ai/library/llama3.2:latest", want: Name{DefaultHost, "library", "llama3.2", "latest"}, display: "llama3.2:latest"},
		{in: "https://registry.ollama.ai/library/llama3.2", want: Name{DefaultHost, "library", "llama3.2", "latest"}, display: "llama3.2:latest"},
		{in: "jmorganca/mixtral", want: Name{DefaultHost, "jmorganca", "mixtral", "latest"}, display: "jmorganca/mixtral:latest"},
		{in: "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", want: Name{"hf.co", "bartowski", "Llama-3.2-1B-Instruct-GGUF", "Q4_K_M"}, display: "hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M"},
		{in: "localhost:5000/ns/model:v1.0", want: Name{"localhost:5000", "ns", "model", "v1.0"}, display: "localhost:5000/ns/model:v1.0"},
		{in: "localhost:5000/ns/model", want: Name{"localhost:5000", "ns", "model", "latest"}, display: "localhost:5000/ns/model:latest"},
		{in: "_private/_m:_t", want: Name{DefaultHost, "_private", "_m", "_t"}, display: "_private/_m:_t"},
		// Case is kept; defaults compare case-insensitively for display.
		{in: "Registry.Ollama.AI/Library/Llama3.2:Latest", want: Name{"Registry.Ollama.AI", "Library", "Llama3.2", "Latest"}, display: "Llama3.2:Latest"},
		{in: "m:" + long, want: Name{DefaultHost, DefaultNamespace, "m", long}, display: "m:" + long},
		{in: long, want: Name{DefaultHost, DefaultNamespace, long, "latest"}, display: long + ":latest"},

		// Invalid.
		{in: "", errSub: "empty name"},
		{in: "model:", errSub: "empty tag"},
		{in: ":tag", errSub: "empty model"},
		{in: "/model", errSub: "empty namespace"},
		{in: "ns/", errSub: "empty model"},
		{in: "host//model", errSub: "empty namespace"},
		{in: "a/b/c/d", errSub: "too many"},
		{in: "model@sha256:abc", errSub: "digest references"},
		{in: "ftp://host/ns/m", errSub: "unsupported scheme"},
		{in: "-model", errSub: "must start with"},
		{in: ".hidden", errSub: "must start with"},
		{in: "mod el", errSub: "invalid character ' '"},
		{in: "model:ta/g", errSub: "invalid character ':'"}, // ':' before the last '/' is not a tag separator
		{in: "name.space/model", errSub: "namespace \"name.space\" contains invalid character '.'"},
		{in: "ns:1/model", errSub: "namespace \"ns:1\" contains invalid character ':'"},
		{in: "model:t:g", errSub: "model \"model:t\" contains invalid character ':'"},
		{in: "modèle", errSub: "invalid character"},
		{in: strings.Repeat("a", 81), errSub: "81 bytes long, the limit is 80"},
		{in: "m:" + strings.Repeat("t", 81), errSub: "tag is 81 bytes long"},
		{in: strings.Repeat("h", 351) + "/ns/m", errSub: "host is 351 bytes long, the limit is 350"},
		{in: "..", errSub: "must start with"},
		{in: "../../etc/passwd", errSub: "too many"},
		{in: "../etc/passwd", errSub: "must start with"},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if tt.errSub != "" {
			if err == nil {
				t.Errorf("ParseName(%q) = %+v, want error containing %q", tt.in, got, tt.errSub)
			} else if !errors.Is(err, ErrInvalidName) || !strings.Contains(err.Error(), tt.errSub) {
				t.Errorf("ParseName(%q) error %q, want ErrInvalidName containing %q", tt.in, err, tt.errSub)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseName(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("ParseName(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
		if d := got.Display(); d != tt.display {
			t.Errorf("ParseName(%q).Display() = %q, want %q", tt.in, d, tt.display)
		}
		// The full form parses back to the same name.
		if again, err := ParseName(got.String()); err != nil || again != got {
			t.Errorf("ParseName(%q) = %+v, %v; want %+v", got.String(), again, err, got)
		}
	}
}

func TestNameEqualFold(t *testing.T) {
	a, _ := ParseName("Llama3.2:Latest")
	b, _ := ParseName("REGISTRY.OLLAMA.AI/library/LLAMA3.2")
	c, _ := ParseName("llama3.2:1b")
	if !a.EqualFold(b) {
		t.Errorf("%v and %v should be equal ignoring case", a, b)
	}
	if a.EqualFold(c) {
		t.Errorf("%v and %v should differ", a, c)
	}
	if a == b {
		t.Errorf("Name values should keep their case")
	}
}

// FuzzParseName checks that ParseName never panics and that every name it
// accepts is valid and round-trips through String and Display.
func FuzzParseName(f *testing.F) {
	for _, s := range []string{"llama3.2", "hf.co/a/b:c", "localhost:5000/ns/m:t", "a/b/c/d", "m@sha256:x", "https://h/n/m", ":", "/", "a:b:c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseName(s)
		if err != nil {
			return
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("ParseName(%q) = %+v, invalid: %v", s, n, err)
		}
		if again, err := ParseName(n.String()); err != nil || again != n {
			t.Fatalf("String round trip of %q: %+v, %v", s, again, err)
		}
		if again, err := ParseName(n.Display()); err != nil || !again.EqualFold(n) {
			t.Fatalf("Display round trip of %q (%q): %+v, %v", s, n.Display(), again, err)
		}
	})
}
