// Package presets holds prompt presets: named, reusable prompt-engineering
// methods (a system prompt with placeholders, sampling parameters, optional
// few-shot messages and an optional answer-extraction line) that a request
// can name instead of spelling them out.
//
// # Built-in presets
//
// The built-ins are JSON files embedded from builtin/: structured (role,
// task, quantified constraints and exclusions), step-by-step (chain of
// thought ending in a "Final answer:" line), few-shot (examples from a
// file), role (a persona), meta (check sources first, say what is
// uncertain) and guardrail (neutral, safe framing).
//
// # User presets
//
// A user preset is a file $GOLEM_HOME/presets/NAME.json (~/.golem/presets
// when GOLEM_HOME is not set). NAME is the preset's name; a user preset
// named like a built-in replaces it. The file is one JSON object:
//
//	{
//	  "description": "One line shown by `golem presets`",
//	  "system": "You are {{role}}. {{task}}",
//	  "vars": [
//	    {"name": "role", "description": "who answers", "default": "an editor"},
//	    {"name": "task", "description": "what to do"}
//	  ],
//	  "parameters": {"temperature": 0.3, "stop": ["###"]},
//	  "messages": [
//	    {"role": "user", "content": "Example question"},
//	    {"role": "assistant", "content": "Example answer"}
//	  ],
//	  "examples_var": "examples",
//	  "answer": "Final answer:"
//	}
//
// Every field but "system" is optional (a preset may even set only
// parameters, with an empty system). Placeholders are written {{name}}
// (spaces inside the braces allowed) in "system" and in message contents;
// each must be declared in "vars", and a var without "default" is
// required. "parameters" take Ollama's option names and types (those a
// Modelfile PARAMETER accepts). "examples_var" names a var whose value is
// a file of few-shot examples (see ParseExamples) turned into user and
// assistant messages after "messages". "answer" is the line prefix that
// ExtractAnswer looks for. Unknown fields are errors, and every loading
// error names the file and line.
package presets

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"golem/api"
	"golem/modelfile"
)

//go:embed builtin/*.json
var builtinFS embed.FS

// Preset is a loaded prompt preset.
type Preset struct {
	Name        string
	Description string
	// System is the system prompt with {{name}} placeholders.
	System string
	// Vars are the placeholders, in the file's order.
	Vars []Var
	// Parameters are option defaults keyed by Ollama's names (temperature,
	// top_k, num_predict, stop...). Numbers are float64, stop is []string.
	Parameters map[string]any
	// Messages are fixed few-shot messages (placeholders allowed).
	Messages []api.Message
	// ExamplesVar, when set, names the var whose value is a file of
	// few-shot examples (see ParseExamples).
	ExamplesVar string
	// Answer is the line prefix that introduces the final answer (e.g.
	// "Final answer:"); "" when the preset has none. See ExtractAnswer.
	Answer string
	// Source is "builtin" or the path of the user's file.
	Source string
}

// Var is a placeholder of a preset.
type Var struct {
	Name        string
	Description string
	Default     string
	// Required is true when the var has no default: applying the preset
	// without a value for it is an error.
	Required bool
}

// BuiltinSource is the Source of the built-in presets.
const BuiltinSource = "builtin"

// fileVar and filePreset are the JSON form of a preset file.
type fileVar struct {
	Name        string  `json:"name"`
	Description string  `json:"description"`
	Default     *string `json:"default"`
}

type filePreset struct {
	Description string         `json:"description"`
	System      *string        `json:"system"`
	Vars        []fileVar      `json:"vars"`
	Parameters  map[string]any `json:"parameters"`
	Messages    []fileMessage  `json:"messages"`
	ExamplesVar string         `json:"examples_var"`
	Answer      string         `json:"answer"`
}

type fileMessage struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// LoadError is an error in a preset file, at a 1-based line (0 when the
// error concerns the whole file).
type LoadError struct {
	File string
	Line int
	Msg  string
	Err  error // optional cause
}

func (e *LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("preset %s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("preset %s: %s", e.File, e.Msg)
}

func (e *LoadError) Unwrap() error { return e.Err }

// nameRE is what a preset name (a file name without .json) may be.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// varNameRE is what a placeholder name may be.
var varNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Parse parses the JSON text of a preset called name. file names the
// source in errors (a path, or "builtin/NAME.json").
func Parse(name, file string, src []byte) (*Preset, error) {
	if !nameRE.MatchString(name) {
		return nil, &LoadError{File: file, Msg: fmt.Sprintf("invalid preset name %q: use letters, digits, '.', '_' and '-'", name)}
	}
	dec := json.NewDecoder(bytes.NewReader(src))
	dec.DisallowUnknownFields()
	var fp filePreset
	if err := dec.Decode(&fp); err != nil {
		return nil, jsonError(file, src, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &LoadError{File: file, Line: lineAt(src, int(dec.InputOffset())), Msg: "text after the JSON object (a preset file holds one object)"}
	}
	if fp.System == nil {
		return nil, &LoadError{File: file, Line: 1, Msg: `missing "system" (the system prompt; "" for none)`}
	}
	p := &Preset{Name: name, Description: strings.TrimSpace(fp.Description), System: *fp.System,
		ExamplesVar: fp.ExamplesVar, Answer: strings.TrimSpace(fp.Answer), Source: file}
	lineOf := func(needle string) int { return lineOfText(src, needle) }
	declared := map[string]bool{}
	for _, v := range fp.Vars {
		if !varNameRE.MatchString(v.Name) {
			return nil, &LoadError{File: file, Line: lineOf(`"` + v.Name + `"`), Msg: fmt.Sprintf("invalid var name %q: use letters, digits and '_'", v.Name)}
		}
		if declared[v.Name] {
			return nil, &LoadError{File: file, Line: lineOf(`"` + v.Name + `"`), Msg: fmt.Sprintf("var %q declared twice", v.Name)}
		}
		declared[v.Name] = true
		pv := Var{Name: v.Name, Description: v.Description, Required: v.Default == nil}
		if v.Default != nil {
			pv.Default = *v.Default
		}
		p.Vars = append(p.Vars, pv)
	}
	check := func(field, text string) error {
		for _, n := range placeholders(text) {
			if !declared[n] {
				return &LoadError{File: file, Line: lineOf("{{"), Msg: fmt.Sprintf("%s uses placeholder {{%s}}, which is not declared in \"vars\"", field, n)}
			}
		}
		return nil
	}
	if err := check(`"system"`, p.System); err != nil {
		return nil, err
	}
	for i, m := range fp.Messages {
		switch m.Role {
		case "system", "user", "assistant":
		default:
			return nil, &LoadError{File: file, Line: lineOf(`"` + m.Role + `"`), Msg: fmt.Sprintf("message %d: role %q is not system, user or assistant", i+1, m.Role)}
		}
		if err := check(fmt.Sprintf("message %d", i+1), m.Content); err != nil {
			return nil, err
		}
		p.Messages = append(p.Messages, api.Message{Role: m.Role, Content: m.Content})
	}
	if p.ExamplesVar != "" && !declared[p.ExamplesVar] {
		return nil, &LoadError{File: file, Line: lineOf(`"examples_var"`), Msg: fmt.Sprintf("examples_var %q is not declared in \"vars\"", p.ExamplesVar)}
	}
	params, err := checkParameters(fp.Parameters)
	if err != nil {
		var pe *paramError
		line := 0
		if errors.As(err, &pe) {
			line = lineOf(`"` + pe.name + `"`)
		}
		return nil, &LoadError{File: file, Line: line, Msg: err.Error(), Err: err}
	}
	p.Parameters = params
	return p, nil
}

// ParseFile loads a user preset file; its name is the file name without
// the .json extension.
func ParseFile(path string) (*Preset, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("preset: %w", err)
	}
	return Parse(strings.TrimSuffix(filepath.Base(path), ".json"), path, b)
}

// jsonError turns a decoding error into a LoadError with the line.
func jsonError(file string, src []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return &LoadError{File: file, Line: lineAt(src, int(se.Offset)), Msg: "invalid JSON: " + se.Error(), Err: err}
	case errors.As(err, &te):
		return &LoadError{File: file, Line: lineAt(src, int(te.Offset)), Msg: fmt.Sprintf("field %q wants %s, found a JSON %s", te.Field, te.Type, te.Value), Err: err}
	case errors.Is(err, io.EOF):
		return &LoadError{File: file, Msg: "empty file: want a JSON object", Err: err}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &LoadError{File: file, Line: lineAt(src, len(src)), Msg: "unexpected end of the file (unclosed JSON object or string)", Err: err}
	}
	// Unknown fields: "json: unknown field \"x\"".
	msg := strings.TrimPrefix(err.Error(), "json: ")
	line := 0
	if _, f, ok := strings.Cut(msg, "unknown field "); ok {
		line = lineOfText(src, f)
		msg += ` (known: description, system, vars, parameters, messages, examples_var, answer)`
	}
	return &LoadError{File: file, Line: line, Msg: msg, Err: err}
}

// lineAt returns the 1-based line of byte offset off in src.
func lineAt(src []byte, off int) int {
	if off > len(src) {
		off = len(src)
	}
	if off < 0 {
		off = 0
	}
	return 1 + bytes.Count(src[:off], []byte("\n"))
}

// lineOfText returns the line of needle's first occurrence, or 0.
func lineOfText(src []byte, needle string) int {
	i := bytes.Index(src, []byte(needle))
	if i < 0 {
		return 0
	}
	return lineAt(src, i)
}

// paramError is a bad "parameters" entry.
type paramError struct {
	name string
	msg  string
}

func (e *paramError) Error() string { return e.msg }

// checkParameters validates parameters against the options a Modelfile
// PARAMETER accepts and normalizes them: numbers stay float64 (integers
// must be whole), stop becomes []string.
func checkParameters(in map[string]any) (map[string]any, error) {
	if len(in) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(in))
	for k := range in {
		names = append(names, k)
	}
	sort.Strings(names)
	out := make(map[string]any, len(in))
	for _, name := range names {
		v := in[name]
		t, ok := modelfile.Parameters[name]
		if !ok {
			return nil, &paramError{name, fmt.Sprintf("parameters: unknown option %q (use Ollama's option names, e.g. temperature, top_k, num_predict, stop)", name)}
		}
		bad := func(want string) error {
			return &paramError{name, fmt.Sprintf("parameters: %s wants %s, found %s", name, want, jsonKind(v))}
		}
		switch t {
		case modelfile.TypeInt:
			f, ok := v.(float64)
			if !ok || f != float64(int64(f)) {
				return nil, bad("an integer")
			}
		case modelfile.TypeFloat:
			if _, ok := v.(float64); !ok {
				return nil, bad("a number")
			}
		case modelfile.TypeBool:
			if _, ok := v.(bool); !ok {
				return nil, bad("true or false")
			}
		case modelfile.TypeString:
			if _, ok := v.(string); !ok {
				return nil, bad("a string")
			}
		case modelfile.TypeStringList:
			switch x := v.(type) {
			case string:
				v = []string{x}
			case []any:
				l := make([]string, 0, len(x))
				for _, e := range x {
					s, ok := e.(string)
					if !ok {
						return nil, bad("a string or a list of strings")
					}
					l = append(l, s)
				}
				v = l
			default:
				return nil, bad("a string or a list of strings")
			}
		}
		out[name] = v
	}
	return out, nil
}

// jsonKind names the JSON type of a decoded value (with the value when
// short) for error messages.
func jsonKind(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return fmt.Sprintf("the boolean %v", x)
	case float64:
		return fmt.Sprintf("the number %v", x)
	case string:
		return fmt.Sprintf("the string %q", x)
	case []any:
		return "a list"
	default:
		return "an object"
	}
}

// Builtin returns the built-in presets, sorted by name.
func Builtin() []*Preset {
	entries, err := builtinFS.ReadDir("builtin")
	if err != nil {
		panic(fmt.Sprintf("presets: embedded builtin directory: %v", err)) // a build defect, not input
	}
	var out []*Preset
	for _, e := range entries {
		name := strings.TrimSuffix(e.Name(), ".json")
		b, err := builtinFS.ReadFile("builtin/" + e.Name())
		if err != nil {
			panic(fmt.Sprintf("presets: embedded %s: %v", e.Name(), err))
		}
		p, err := Parse(name, "builtin/"+e.Name(), b)
		if err != nil {
			panic(fmt.Sprintf("presets: built-in preset is invalid (tests catch this): %v", err))
		}
		p.Source = BuiltinSource
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Dir returns the directory of user presets: $GOLEM_HOME/presets, or
// ~/.golem/presets when GOLEM_HOME is not set.
func Dir() (string, error) {
	if h := os.Getenv("GOLEM_HOME"); h != "" {
		return filepath.Join(h, "presets"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("presets: locate home directory (set GOLEM_HOME): %w", err)
	}
	return filepath.Join(home, ".golem", "presets"), nil
}

// LoadDir loads every NAME.json in dir (a missing dir holds none). Files
// that fail to load are left out and their errors joined in err, so one
// bad file does not hide the others.
func LoadDir(dir string) ([]*Preset, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("presets: %w", err)
	}
	var out []*Preset
	var errs []error
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".json") {
			continue
		}
		p, err := ParseFile(filepath.Join(dir, e.Name()))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}

// Set is the presets available: the built-ins, replaced or extended by
// the user's.
type Set struct {
	byName map[string]*Preset
	// bad maps the names of user files that failed to load to their
	// errors, so that asking for one reports why.
	bad map[string]error
}

// Load returns the built-in presets with those of dir over them ("" for
// none). Err reports the user files that failed to load; the Set is
// usable either way.
func Load(dir string) (*Set, error) {
	s := &Set{byName: map[string]*Preset{}, bad: map[string]error{}}
	for _, p := range Builtin() {
		s.byName[p.Name] = p
	}
	if dir == "" {
		return s, nil
	}
	user, err := LoadDir(dir)
	for _, p := range user {
		s.byName[p.Name] = p
	}
	var le *LoadError
	for _, e := range unjoin(err) {
		if errors.As(e, &le) {
			s.bad[strings.TrimSuffix(filepath.Base(le.File), ".json")] = e
		}
	}
	return s, err
}

// LoadDefault is Load of Dir().
func LoadDefault() (*Set, error) {
	dir, err := Dir()
	if err != nil {
		s, _ := Load("")
		return s, err
	}
	return Load(dir)
}

func unjoin(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// List returns the presets sorted by name.
func (s *Set) List() []*Preset {
	out := make([]*Preset, 0, len(s.byName))
	for _, p := range s.byName {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Names returns the preset names, sorted.
func (s *Set) Names() []string {
	var out []string
	for _, p := range s.List() {
		out = append(out, p.Name)
	}
	return out
}

// ErrUnknown is wrapped by Get's error for a name no preset has.
var ErrUnknown = errors.New("unknown preset")

// Get returns the preset called name (case-insensitive). An unknown name
// is an error wrapping ErrUnknown that lists the available presets; a user
// file that failed to load is reported with its error.
func (s *Set) Get(name string) (*Preset, error) {
	if p, ok := s.byName[name]; ok {
		return p, nil
	}
	for n, p := range s.byName {
		if strings.EqualFold(n, name) {
			return p, nil
		}
	}
	if err, ok := s.bad[name]; ok {
		return nil, err
	}
	return nil, fmt.Errorf("%w %q: available presets are %s", ErrUnknown, name, strings.Join(s.Names(), ", "))
}
