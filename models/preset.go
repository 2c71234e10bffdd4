package models

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golem/modelfile"
	"golem/presets"
)

// ExpandPreset returns mf with its PRESET line (see modelfile.PresetRef)
// replaced by the commands the preset stands for, so that the model
// created from it holds ordinary SYSTEM, params and messages layers and
// works in any Ollama client:
//
//   - SYSTEM: the preset's system prompt with the PRESET's vars filled in,
//     unless the Modelfile has its own SYSTEM (which wins);
//   - PARAMETER: each preset parameter the Modelfile does not set;
//   - MESSAGE: the preset's few-shot messages (and its examples file's,
//     relative to dir), before the Modelfile's own MESSAGE lines.
//
// The preset's answer-extraction line is a property of the output and is
// not baked in. set is where presets are looked up (nil: the built-ins and
// the user's, presets.LoadDefault). A Modelfile without PRESET is returned
// as is. Errors name the PRESET's line and wrap ErrInvalid.
func ExpandPreset(mf *modelfile.Modelfile, set *presets.Set, dir string) (*modelfile.Modelfile, error) {
	ref, err := mf.PresetRef()
	if err != nil {
		return nil, invalidErr(err)
	}
	if ref == nil {
		return mf, nil
	}
	fail := func(err error) error {
		return invalidErr(&modelfile.Error{Line: ref.Line, Msg: fmt.Sprintf("PRESET %s: %v", ref.Name, err), Err: err})
	}
	if set == nil {
		set, _ = presets.LoadDefault() // a bad user file matters only if named: Get reports it
	}
	p, err := set.Get(ref.Name)
	if err != nil {
		return nil, fail(err)
	}
	vars := ref.Vars
	if ev, ok := vars[p.ExamplesVar]; ok && p.ExamplesVar != "" && !strings.Contains(ev, "\n") {
		vars = copyVars(vars)
		vars[p.ExamplesVar] = expandPath(ev, dir)
	}
	a, err := presets.Apply(p, vars, "", nil, nil)
	if err != nil {
		return nil, fail(err)
	}
	setParam := map[string]bool{}
	for _, c := range mf.Commands {
		if c.Instruction == modelfile.Parameter {
			setParam[c.Name] = true
		}
	}
	var head, shots []modelfile.Command
	if _, ok := mf.Last(modelfile.System); !ok && a.System != "" {
		head = append(head, modelfile.Command{Instruction: modelfile.System, Value: a.System, Line: ref.Line})
	}
	names := make([]string, 0, len(p.Parameters))
	for k := range p.Parameters {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		if setParam[name] {
			continue
		}
		for _, text := range paramTexts(p.Parameters[name]) {
			head = append(head, modelfile.Command{Instruction: modelfile.Parameter, Name: name, Value: text, Line: ref.Line})
		}
	}
	for _, m := range a.Messages {
		shots = append(shots, modelfile.Command{Instruction: modelfile.Message, Name: m.Role, Value: m.Content, Line: ref.Line})
	}
	out := &modelfile.Modelfile{}
	placed := false
	for _, c := range mf.Commands {
		switch {
		case c.Instruction == modelfile.Preset:
			out.Commands = append(out.Commands, head...)
			continue
		case c.Instruction == modelfile.Message && !placed:
			out.Commands = append(out.Commands, shots...)
			placed = true
		}
		out.Commands = append(out.Commands, c)
	}
	if !placed {
		out.Commands = append(out.Commands, shots...)
	}
	return out, nil
}

func copyVars(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// paramTexts writes a preset parameter (as presets.Parse normalized it) as
// PARAMETER values: one per stop string.
func paramTexts(v any) []string {
	switch x := v.(type) {
	case []string:
		return x
	case float64:
		return []string{strconv.FormatFloat(x, 'g', -1, 64)}
	case bool:
		return []string{strconv.FormatBool(x)}
	case string:
		return []string{x}
	}
	return []string{fmt.Sprint(v)}
}
