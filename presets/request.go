package presets

import (
	"fmt"

	"golem/api"
)

// ForChat applies the preset called name to a chat request from the
// network: the one call a server needs for a request's "preset" field.
// Presets are looked up as LoadDefault does (the built-ins and the files
// of $GOLEM_HOME/presets on the server, read at each call so that edits
// apply at once), and applied with ApplyUntrusted (an examples var must
// hold the examples' text, never a server path). It returns the messages
// (the preset's system prompt first unless the request starts with a
// system message, then the few-shot turns, then the request's) and the
// options (the preset's parameters under the request's). Errors are the
// caller's fault: an unknown preset (wrapping ErrUnknown), a missing
// (*MissingVarsError) or unknown (ErrUnknownVar) var, or bad examples.
func ForChat(name string, vars map[string]string, messages []api.Message, options map[string]any) ([]api.Message, map[string]any, error) {
	p, err := lookup(name)
	if err != nil {
		return nil, nil, err
	}
	a, err := ApplyUntrusted(p, vars, "", messages, options)
	if err != nil {
		return nil, nil, err
	}
	return a.ChatMessages(), a.Options, nil
}

// ForGenerate is ForChat for a prompt request (/api/generate): it returns
// the system prompt to use (system when the request gave one, else the
// preset's) and the options. A generate request has no turns to carry
// few-shot examples, so a preset with examples is an error that says to
// use the chat endpoint.
func ForGenerate(name string, vars map[string]string, system string, options map[string]any) (string, map[string]any, error) {
	p, err := lookup(name)
	if err != nil {
		return "", nil, err
	}
	if len(p.Messages) > 0 || p.ExamplesVar != "" {
		return "", nil, fmt.Errorf("preset %s has few-shot examples, which need a chat request (/api/chat)", p.Name)
	}
	a, err := ApplyUntrusted(p, vars, system, nil, options)
	if err != nil {
		return "", nil, err
	}
	return a.System, a.Options, nil
}

// lookup finds a preset among the built-ins and the user's.
func lookup(name string) (*Preset, error) {
	set, _ := LoadDefault() // a bad file matters only when it is the one named: Get reports it
	return set.Get(name)
}
