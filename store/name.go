package store

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
)

// Defaults filled in for the parts a model name leaves out, the same as
// Ollama's: "llama3.2" means "registry.ollama.ai/library/llama3.2:latest".
const (
	DefaultHost      = "registry.ollama.ai"
	DefaultNamespace = "library"
	DefaultTag       = "latest"
)

// Length limits of the name parts, from Ollama's types/model/name.go.
const (
	maxHostLen = 350
	maxPartLen = 80
)

// ErrInvalidName is wrapped by every error ParseName returns.
var ErrInvalidName = errors.New("invalid model name")

// Name is a fully qualified model name: host/namespace/model:tag. The parts
// keep the case they were written with; compare names with [Name.EqualFold],
// as Ollama does.
type Name struct {
	Host      string
	Namespace string
	Model     string
	Tag       string
}

// partKind selects the character and length rules of one name part.
type partKind int

const (
	partHost partKind = iota
	partNamespace
	partModel
	partTag
)

func (k partKind) String() string {
	switch k {
	case partHost:
		return "host"
	case partNamespace:
		return "namespace"
	case partModel:
		return "model"
	default:
		return "tag"
	}
}

// ParseName parses a model name written as Ollama accepts it,
//
//	[scheme://][host/][namespace/]model[:tag]
//
// fills in the default host, namespace and tag, and validates each part:
//
//   - host: first char letter, digit or '_', then also '-', '_', '.', ':'
//     (for a port); 1..350 bytes
//   - namespace: first char letter, digit or '_', then also '-', '_';
//     1..80 bytes
//   - model and tag: first char letter, digit or '_', then also '-', '_',
//     '.'; 1..80 bytes
//
// A ':' after the last '/' separates the tag. An "http://" or "https://"
// prefix is accepted and dropped. Digest references ("model@sha256:...")
// are not supported.
func ParseName(s string) (Name, error) {
	if s == "" {
		return Name{}, fmt.Errorf("%w: empty name", ErrInvalidName)
	}
	orig := s
	if i := strings.Index(s, "://"); i >= 0 {
		scheme := s[:i]
		if scheme != "http" && scheme != "https" {
			return Name{}, fmt.Errorf("%w %q: unsupported scheme %q", ErrInvalidName, orig, scheme)
		}
		s = s[i+3:]
	}
	if strings.Contains(s, "@") {
		return Name{}, fmt.Errorf("%w %q: digest references (@sha256:...) are not supported", ErrInvalidName, orig)
	}

	var n Name
	// '/' is not allowed in a tag, so a ':' after the last '/' starts the
	// tag while a ':' before it belongs to a host port.
	if c := strings.LastIndex(s, ":"); c > strings.LastIndex(s, "/") {
		n.Tag = s[c+1:]
		s = s[:c]
		if n.Tag == "" {
			return Name{}, fmt.Errorf("%w %q: empty tag after ':'", ErrInvalidName, orig)
		}
	}
	parts := strings.Split(s, "/")
	switch len(parts) {
	case 1:
		n.Model = parts[0]
	case 2:
		n.Namespace, n.Model = parts[0], parts[1]
	case 3:
		n.Host, n.Namespace, n.Model = parts[0], parts[1], parts[2]
	default:
		return Name{}, fmt.Errorf("%w %q: too many '/'-separated parts (want at most host/namespace/model)", ErrInvalidName, orig)
	}
	for i, p := range parts {
		if p == "" {
			kind := partKind(3 - len(parts) + i)
			return Name{}, fmt.Errorf("%w %q: empty %s", ErrInvalidName, orig, kind)
		}
	}
	if n.Host == "" {
		n.Host = DefaultHost
	}
	if n.Namespace == "" {
		n.Namespace = DefaultNamespace
	}
	if n.Tag == "" {
		n.Tag = DefaultTag
	}
	if err := n.Validate(); err != nil {
		return Name{}, fmt.Errorf("%w %q: %v", ErrInvalidName, orig, err)
	}
	return n, nil
}

// Validate reports whether every part of n is present and obeys Ollama's
// character and length rules (see [ParseName]).
func (n Name) Validate() error {
	for _, p := range []struct {
		kind partKind
		s    string
	}{{partHost, n.Host}, {partNamespace, n.Namespace}, {partModel, n.Model}, {partTag, n.Tag}} {
		if err := validatePart(p.kind, p.s); err != nil {
			return err
		}
	}
	return nil
}

func validatePart(kind partKind, s string) error {
	limit := maxPartLen
	if kind == partHost {
		limit = maxHostLen
	}
	switch {
	case s == "":
		return fmt.Errorf("empty %s", kind)
	case len(s) > limit:
		return fmt.Errorf("%s is %d bytes long, the limit is %d", kind, len(s), limit)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isAlnumUnderscore(c) {
			continue
		}
		if i == 0 {
			return fmt.Errorf("%s %q must start with a letter, digit or '_'", kind, s)
		}
		ok := c == '-' ||
			(c == '.' && kind != partNamespace) ||
			(c == ':' && kind == partHost)
		if !ok {
			return fmt.Errorf("%s %q contains invalid character %q", kind, s, rune(c))
		}
	}
	return nil
}

func isAlnumUnderscore(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// String returns the fully qualified form host/namespace/model:tag.
func (n Name) String() string {
	return n.Host + "/" + n.Namespace + "/" + n.Model + ":" + n.Tag
}

// Display returns the short form Ollama's `list` prints: "model:tag" for the
// default host and namespace, "namespace/model:tag" for the default host
// only, else "host/namespace/model:tag". Defaults compare case-insensitively.
func (n Name) Display() string {
	switch {
	case !strings.EqualFold(n.Host, DefaultHost):
		return n.Host + "/" + n.Namespace + "/" + n.Model + ":" + n.Tag
	case !strings.EqualFold(n.Namespace, DefaultNamespace):
		return n.Namespace + "/" + n.Model + ":" + n.Tag
	default:
		return n.Model + ":" + n.Tag
	}
}

// EqualFold reports whether n and o name the same model, ignoring case, the
// way Ollama compares names.
func (n Name) EqualFold(o Name) bool {
	return strings.EqualFold(n.Host, o.Host) &&
		strings.EqualFold(n.Namespace, o.Namespace) &&
		strings.EqualFold(n.Model, o.Model) &&
		strings.EqualFold(n.Tag, o.Tag)
}

// filepath returns the manifest path of n relative to the manifests
// directory: host/namespace/model/tag. n must be valid.
func (n Name) filepath() string {
	return filepath.Join(n.Host, n.Namespace, n.Model, n.Tag)
}
