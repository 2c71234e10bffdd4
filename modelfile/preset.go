package modelfile

import (
	"fmt"
	"strings"
)

// ParsePresetVars parses the vars of a PRESET line: whitespace-separated
// key=value pairs where key is letters, digits and '_' and value is a bare
// word or a double-quoted string in which \" is a quote, \\ a backslash
// and \n a line break. Line breaks between pairs count as whitespace. A
// key given twice is an error.
func ParsePresetVars(s string) (map[string]string, error) {
	out := map[string]string{}
	i := 0
	for {
		for i < len(s) && strings.ContainsRune(" \t\n", rune(s[i])) {
			i++
		}
		if i == len(s) {
			return out, nil
		}
		start := i
		for i < len(s) && (isAlpha(rune(s[i])) || isDigit(rune(s[i])) || s[i] == '_') {
			i++
		}
		key := s[start:i]
		if key == "" || i == len(s) || s[i] != '=' {
			return nil, fmt.Errorf("expected key=value at %q", clip(s[start:]))
		}
		i++ // '='
		var val strings.Builder
		if i < len(s) && s[i] == '"' {
			i++
			closed := false
			for i < len(s) && !closed {
				switch c := s[i]; {
				case c == '"':
					closed = true
				case c == '\\' && i+1 < len(s):
					i++
					switch s[i] {
					case 'n':
						val.WriteByte('\n')
					case '"', '\\':
						val.WriteByte(s[i])
					default:
						val.WriteByte('\\')
						val.WriteByte(s[i])
					}
				default:
					val.WriteByte(c)
				}
				i++
			}
			if !closed {
				return nil, fmt.Errorf("%s: unterminated quoted value", key)
			}
			if i < len(s) && !strings.ContainsRune(" \t\n", rune(s[i])) {
				return nil, fmt.Errorf("%s: expected whitespace after the closing quote, found %q", key, s[i])
			}
		} else {
			for i < len(s) && !strings.ContainsRune(" \t\n", rune(s[i])) {
				val.WriteByte(s[i])
				i++
			}
		}
		if _, dup := out[key]; dup {
			return nil, fmt.Errorf("%s is given twice", key)
		}
		out[key] = val.String()
	}
}

// clip shortens s for an error message.
func clip(s string) string {
	if len(s) > 20 {
		return s[:20] + "..."
	}
	return s
}

// PresetRef is the PRESET line of a Modelfile.
type PresetRef struct {
	Name string            // the preset's name as written
	Vars map[string]string // its placeholder values
	Line int               // 1-based line of the PRESET command
}

// PresetRef returns the Modelfile's PRESET (nil when it has none). A
// Modelfile with several PRESET lines is an error: presets do not combine.
func (f *Modelfile) PresetRef() (*PresetRef, error) {
	var ref *PresetRef
	for _, c := range f.Commands {
		if c.Instruction != Preset {
			continue
		}
		if ref != nil {
			return nil, &Error{Line: c.Line, Msg: fmt.Sprintf("a second PRESET (%s): a Modelfile names at most one preset (the first is on line %d)", c.Name, ref.Line)}
		}
		vars, err := ParsePresetVars(c.Value)
		if err != nil {
			return nil, &Error{Line: c.Line, Msg: fmt.Sprintf("PRESET %s: %v", c.Name, err)}
		}
		ref = &PresetRef{Name: c.Name, Vars: vars, Line: c.Line}
	}
	return ref, nil
}
