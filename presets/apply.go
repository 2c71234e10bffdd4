package presets

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"

	"golem/api"
)

// placeholderRE matches {{name}} with optional spaces inside the braces.
var placeholderRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

// placeholders returns the distinct placeholder names of text in order.
func placeholders(text string) []string {
	var out []string
	seen := map[string]bool{}
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !seen[m[1]] {
			seen[m[1]] = true
			out = append(out, m[1])
		}
	}
	return out
}

// MissingVarsError reports required placeholders that were given no value.
type MissingVarsError struct {
	Preset string
	Vars   []Var // the missing ones, in the preset's order
}

func (e *MissingVarsError) Error() string {
	parts := make([]string, len(e.Vars))
	for i, v := range e.Vars {
		parts[i] = v.Name
		if v.Description != "" {
			parts[i] += " (" + v.Description + ")"
		}
	}
	return fmt.Sprintf("preset %s: no value for %s", e.Preset, strings.Join(parts, ", "))
}

// ErrUnknownVar is wrapped by the error for a value given for a var the
// preset does not declare (most often a typo).
var ErrUnknownVar = errors.New("unknown preset variable")

// Values returns each var's value: vars' value when given, else the
// default. A required var without a value is a *MissingVarsError (listing
// all of them); a value for an undeclared var wraps ErrUnknownVar.
func (p *Preset) Values(vars map[string]string) (map[string]string, error) {
	declared := map[string]bool{}
	out := map[string]string{}
	var missing []Var
	for _, v := range p.Vars {
		declared[v.Name] = true
		if x, ok := vars[v.Name]; ok {
			out[v.Name] = x
		} else if v.Required {
			missing = append(missing, v)
		} else {
			out[v.Name] = v.Default
		}
	}
	var unknown []string
	for k := range vars {
		if !declared[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, fmt.Errorf("preset %s: %w %s (it takes: %s)", p.Name, ErrUnknownVar, strings.Join(unknown, ", "), p.varList())
	}
	if len(missing) > 0 {
		return nil, &MissingVarsError{Preset: p.Name, Vars: missing}
	}
	return out, nil
}

func (p *Preset) varList() string {
	if len(p.Vars) == 0 {
		return "no variables"
	}
	names := make([]string, len(p.Vars))
	for i, v := range p.Vars {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// fill replaces the placeholders of text with values (all declared, as
// Parse checked).
func fill(text string, values map[string]string) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if v, ok := values[name]; ok {
			return v
		}
		return m
	})
}

// RenderSystem returns the preset's system prompt with vars filled in
// (defaults for those not given).
func (p *Preset) RenderSystem(vars map[string]string) (string, error) {
	values, err := p.Values(vars)
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(fill(p.System, values)), nil
}

// Applied is what a request sends once a preset is applied.
type Applied struct {
	// System is the system prompt to use: the caller's when given, else
	// the preset's rendered one. It is "" when the conversation already
	// starts with a system message (which then stays first in Messages).
	System string
	// Messages are the conversation's leading system messages, then the
	// preset's few-shot messages, then the rest of the conversation.
	Messages []api.Message
	// Options are the preset's parameters overridden by the caller's.
	Options map[string]any
}

// ChatMessages returns Messages with System, when set, as a first system
// message: the messages of a /api/chat request.
func (a *Applied) ChatMessages() []api.Message {
	if a.System == "" {
		return a.Messages
	}
	return append([]api.Message{{Role: "system", Content: a.System}}, a.Messages...)
}

// Apply applies preset p to a request: vars fill the placeholders, system
// is the caller's system prompt ("" for none), messages the conversation
// and options the caller's options (Ollama names).
//
// Precedence: what the request says explicitly wins over the preset. A
// non-empty system, or a system message at the start of messages, is
// kept and the preset's system prompt is not used; an option in options
// overrides the preset's parameter of the same name. The preset's few-shot
// messages (its fixed messages, then the examples file's) go before the
// conversation, after its leading system messages. A model's own SYSTEM
// and PARAMETERs rank below the preset: they apply only where neither the
// request nor the preset sets a value.
//
// When the preset takes an examples file (ExamplesVar), that var's value
// is read as a file path; if no such file exists and the value holds a
// line break, the value itself is the examples' text (see ParseExamples).
// Use ApplyUntrusted for requests from the network.
func Apply(p *Preset, vars map[string]string, system string, messages []api.Message, options map[string]any) (*Applied, error) {
	return apply(p, vars, system, messages, options, true)
}

// ApplyUntrusted is Apply for requests from the network (the server): it
// never reads files, so an examples var must hold the examples' text.
func ApplyUntrusted(p *Preset, vars map[string]string, system string, messages []api.Message, options map[string]any) (*Applied, error) {
	return apply(p, vars, system, messages, options, false)
}

func apply(p *Preset, vars map[string]string, system string, messages []api.Message, options map[string]any, files bool) (*Applied, error) {
	if p == nil {
		return nil, errors.New("presets: Apply of a nil preset")
	}
	values, err := p.Values(vars)
	if err != nil {
		return nil, err
	}
	a := &Applied{}
	lead := 0
	for lead < len(messages) && messages[lead].Role == "system" {
		lead++
	}
	switch {
	case system != "":
		a.System = system
	case lead > 0:
	default:
		a.System = strings.TrimSpace(fill(p.System, values))
	}
	shots := make([]api.Message, 0, len(p.Messages))
	for _, m := range p.Messages {
		shots = append(shots, api.Message{Role: m.Role, Content: fill(m.Content, values)})
	}
	if p.ExamplesVar != "" {
		ex, err := examples(p, values[p.ExamplesVar], files)
		if err != nil {
			return nil, err
		}
		shots = append(shots, ex...)
	}
	a.Messages = make([]api.Message, 0, len(messages)+len(shots))
	a.Messages = append(a.Messages, messages[:lead]...)
	a.Messages = append(a.Messages, shots...)
	a.Messages = append(a.Messages, messages[lead:]...)
	if len(p.Parameters)+len(options) > 0 {
		a.Options = make(map[string]any, len(p.Parameters)+len(options))
		for k, v := range p.Parameters {
			a.Options[k] = v
		}
		for k, v := range options {
			a.Options[k] = v
		}
	}
	return a, nil
}

// examples loads the few-shot examples that value (the examples var)
// names or holds.
func examples(p *Preset, value string, files bool) ([]api.Message, error) {
	if strings.TrimSpace(value) == "" {
		return nil, fmt.Errorf("preset %s: %s is empty: give a file of examples (Q:/A: text or JSONL)", p.Name, p.ExamplesVar)
	}
	if files {
		b, err := os.ReadFile(value)
		if err == nil {
			msgs, err := ParseExamples(value, string(b))
			if err != nil {
				return nil, fmt.Errorf("preset %s: %w", p.Name, err)
			}
			return msgs, nil
		}
		if !strings.Contains(value, "\n") {
			return nil, fmt.Errorf("preset %s: %s: %w", p.Name, p.ExamplesVar, err)
		}
	} else if !strings.Contains(value, "\n") {
		return nil, fmt.Errorf("preset %s: %s must hold the examples' text (Q:/A: lines or JSONL), not a file name, in a request", p.Name, p.ExamplesVar)
	}
	msgs, err := ParseExamples(p.ExamplesVar, value)
	if err != nil {
		return nil, fmt.Errorf("preset %s: %w", p.Name, err)
	}
	return msgs, nil
}

// ExtractAnswer returns the final answer from a model's output: the text
// after the last line that starts with the preset's Answer prefix
// (case-insensitive, ignoring Markdown emphasis, heading and quote marks
// around it), or the next non-blank line when the prefix ends its line.
// ok is false when the preset has no Answer or the output no such line.
func (p *Preset) ExtractAnswer(output string) (answer string, ok bool) {
	return ExtractAnswer(output, p.Answer)
}

// ExtractAnswer is Preset.ExtractAnswer with the prefix given.
func ExtractAnswer(output, prefix string) (string, bool) {
	prefix = strings.ToLower(strings.TrimSpace(prefix))
	if prefix == "" {
		return "", false
	}
	bare := strings.TrimRight(prefix, ":")
	lines := strings.Split(strings.ReplaceAll(output, "\r\n", "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimLeft(strings.TrimSpace(lines[i]), "*_#> ")
		low := strings.ToLower(l)
		if !strings.HasPrefix(low, bare) {
			continue
		}
		rest := l[len(bare):]
		rest = strings.TrimLeft(rest, "*_ ")
		if !strings.HasPrefix(rest, ":") && bare != prefix {
			continue // "Final answers are" is not the marker
		}
		rest = strings.TrimSpace(strings.TrimLeft(strings.TrimPrefix(rest, ":"), "*_ "))
		rest = strings.TrimSpace(strings.TrimRight(rest, "*_"))
		if rest != "" {
			return rest, true
		}
		for _, next := range lines[i+1:] {
			if t := strings.TrimSpace(next); t != "" {
				return strings.Trim(t, "*_ "), true
			}
		}
		return "", false
	}
	return "", false
}
