package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"syscall"
	"testing"
)

func TestParseRefURL(t *testing.T) {
	tests := []struct {
		name     string
		insecure bool
		want     string
	}{
		{"llama3.2", false, "https://registry.ollama.ai/v2/library/llama3.2/manifests/latest"},
		{"library/llama3.2:1b", false, "https://registry.ollama.ai/v2/library/llama3.2/manifests/1b"},
		{"hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF:Q4_K_M", false, "https://hf.co/v2/bartowski/Llama-3.2-1B-Instruct-GGUF/manifests/Q4_K_M"},
		{"hf.co/bartowski/Llama-3.2-1B-Instruct-GGUF", false, "https://hf.co/v2/bartowski/Llama-3.2-1B-Instruct-GGUF/manifests/latest"},
		{"huggingface.co/user/repo:Q8_0", false, "https://hf.co/v2/user/repo/manifests/Q8_0"},
		{"localhost:5000/team/model:v1", true, "http://localhost:5000/v2/team/model/manifests/v1"},
		{"http://10.0.0.1:5000/team/model:v1", false, "http://10.0.0.1:5000/v2/team/model/manifests/v1"},
		{"https://reg.example/team/model", false, "https://reg.example/v2/team/model/manifests/latest"},
	}
	for _, tt := range tests {
		r, err := ParseRef(tt.name, tt.insecure)
		if err != nil {
			t.Errorf("ParseRef(%q): %v", tt.name, err)
			continue
		}
		if got := r.URL("manifests", r.Name.Tag); got != tt.want {
			t.Errorf("ParseRef(%q) manifest URL = %s, want %s", tt.name, got, tt.want)
		}
	}
	for _, bad := range []string{"", "a/b/c/d", "ftp://x/y", "model@sha256:00"} {
		if _, err := ParseRef(bad, false); err == nil {
			t.Errorf("ParseRef(%q) succeeded", bad)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	tests := []struct {
		in     string
		scheme string
		params map[string]string
	}{
		{`Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:samalba/my-app:pull,push"`,
			"bearer", map[string]string{"realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:samalba/my-app:pull,push"}},
		{`Basic realm="Registry Realm"`, "basic", map[string]string{"realm": "Registry Realm"}},
		{`bearer realm=https://ollama.com:443/token, service=ollama.com`, "bearer", map[string]string{"realm": "https://ollama.com:443/token", "service": "ollama.com"}},
		{`Bearer realm="a\"b"`, "bearer", map[string]string{"realm": `a"b`}},
		{`Basic`, "basic", map[string]string{}},
	}
	for _, tt := range tests {
		c, ok := parseChallenge(tt.in)
		if !ok || c.scheme != tt.scheme || !reflect.DeepEqual(c.params, tt.params) {
			t.Errorf("parseChallenge(%q) = %+v %v, want %s %v", tt.in, c, ok, tt.scheme, tt.params)
		}
	}
	if _, ok := parseChallenge("  "); ok {
		t.Error("empty challenge parsed")
	}
}

func TestLoadCredentials(t *testing.T) {
	home := t.TempDir()
	t.Setenv("GOLEM_HOME", home)
	t.Setenv("GOLEM_REGISTRY_AUTH", "")
	cs, err := LoadCredentials()
	if err != nil || len(cs) != 0 {
		t.Fatalf("no file: %v %v", cs, err)
	}
	file := `{"reg.example:5000":{"username":"u","password":"p"},"hf.co":{"token":"hf_x"}}`
	if err := os.WriteFile(filepath.Join(home, "auth.json"), []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  string
		host string
		want Credential
		ok   bool
	}{
		{"", "reg.example:5000", Credential{Username: "u", Password: "p"}, true},
		{"", "HF.CO", Credential{Token: "hf_x"}, true},
		{"", "other", Credential{}, false},
		{"bob:pw:with:colons", "other", Credential{Username: "bob", Password: "pw:with:colons"}, true},
		{"bob:pw", "hf.co", Credential{Token: "hf_x"}, true},
		{"tok123", "anything", Credential{Token: "tok123"}, true},
		{`{"hf.co":{"token":"env"}}`, "hf.co", Credential{Token: "env"}, true},
	}
	for _, tt := range tests {
		t.Setenv("GOLEM_REGISTRY_AUTH", tt.env)
		cs, err := LoadCredentials()
		if err != nil {
			t.Fatalf("env %q: %v", tt.env, err)
		}
		got, ok := cs.lookup(tt.host)
		if ok != tt.ok || got != tt.want {
			t.Errorf("env %q host %s: %+v %v, want %+v %v", tt.env, tt.host, got, ok, tt.want, tt.ok)
		}
	}
	t.Setenv("GOLEM_REGISTRY_AUTH", "{bad json")
	if _, err := LoadCredentials(); err == nil {
		t.Error("bad env JSON accepted")
	}
	t.Setenv("GOLEM_REGISTRY_AUTH", "")
	os.WriteFile(filepath.Join(home, "auth.json"), []byte("nope"), 0o600)
	if _, err := LoadCredentials(); err == nil {
		t.Error("bad auth file accepted")
	}
}

func TestPlanParts(t *testing.T) {
	const mib = 1 << 20
	tests := []struct {
		size  int64
		parts int
	}{
		{0, 0},
		{1, 1},
		{64 * mib, 1},
		{64*mib + 1, 4},
		{400 * mib, 6},
		{4096 * mib, 8},
	}
	c := &Client{}
	for _, tt := range tests {
		ps := c.planParts(tt.size)
		if len(ps) != tt.parts {
			t.Errorf("size %d: %d parts, want %d", tt.size, len(ps), tt.parts)
		}
		next := int64(0)
		for _, p := range ps {
			if p.off != next || p.end <= p.off {
				t.Errorf("size %d: bad part [%d,%d) after %d", tt.size, p.off, p.end, next)
			}
			next = p.end
		}
		if next != tt.size {
			t.Errorf("size %d: parts cover %d bytes", tt.size, next)
		}
	}
}

func TestContentRangeStart(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"bytes 100-199/1000", 100, true},
		{"bytes 0-0/*", 0, true},
		{"100-199/1000", 0, false},
		{"bytes x-1/2", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, ok := contentRangeStart(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("contentRangeStart(%q) = %d %v, want %d %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestTransient(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{io.ErrUnexpectedEOF, true},
		{fmt.Errorf("read: %w", syscall.ECONNRESET), true},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{&url.Error{Op: "Get", URL: "https://x", Err: &net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}}, false},
		{&url.Error{Op: "Get", URL: "https://x", Err: errors.New("tls: failed to verify certificate")}, false},
		{&StatusError{StatusCode: 503}, true},
		{&StatusError{StatusCode: 429}, true},
		{&StatusError{StatusCode: 404}, false},
		{&StatusError{StatusCode: 501}, false},
		{context.Canceled, false},
		{errStalled, true},
	}
	for _, tt := range tests {
		if got := transient(tt.err); got != tt.want {
			t.Errorf("transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
