package modelfile

import (
	"fmt"
	"math"
	"sort"
	"strconv"
)

// ParamType is the value type of a PARAMETER option.
type ParamType int

// Parameter value types, as Ollama's api.Options declares them.
const (
	TypeInt        ParamType = iota // decimal integer (int64)
	TypeFloat                       // finite number (float32, as Ollama stores it)
	TypeBool                        // true/false, 1/0, t/f (strconv.ParseBool)
	TypeString                      // any text
	TypeStringList                  // repeatable; each PARAMETER adds one string (stop)
)

func (t ParamType) String() string {
	switch t {
	case TypeInt:
		return "integer"
	case TypeFloat:
		return "number"
	case TypeBool:
		return "boolean"
	case TypeStringList:
		return "string (repeatable)"
	default:
		return "string"
	}
}

// Parameters lists the options PARAMETER accepts and their types: the JSON
// names of Ollama's api.Options and api.Runner.
var Parameters = map[string]ParamType{
	// Load-time (runner) options.
	"num_ctx":           TypeInt,
	"num_batch":         TypeInt,
	"num_gpu":           TypeInt,
	"main_gpu":          TypeInt,
	"use_mmap":          TypeBool,
	"num_thread":        TypeInt,
	"draft_num_predict": TypeInt,
	// Prediction options.
	"num_keep":          TypeInt,
	"seed":              TypeInt,
	"num_predict":       TypeInt,
	"top_k":             TypeInt,
	"top_p":             TypeFloat,
	"min_p":             TypeFloat,
	"typical_p":         TypeFloat,
	"repeat_last_n":     TypeInt,
	"temperature":       TypeFloat,
	"repeat_penalty":    TypeFloat,
	"presence_penalty":  TypeFloat,
	"frequency_penalty": TypeFloat,
	"stop":              TypeStringList,
}

// DeprecatedParameters are accepted (older Modelfiles use them) but have no
// effect: Ollama prints a warning and ignores them. Their values are kept
// as text and not validated.
var DeprecatedParameters = map[string]bool{
	"penalize_newline": true,
	"low_vram":         true,
	"f16_kv":           true,
	"logits_all":       true,
	"vocab_only":       true,
	"use_mlock":        true,
	"mirostat":         true,
	"mirostat_tau":     true,
	"mirostat_eta":     true,
}

// ParseParameter validates value for the option name and returns it typed
// as Ollama stores it in a model's params layer: int64, float32, bool,
// string, or for the list option a one-element []string.
func ParseParameter(name, value string) (any, error) {
	t, ok := Parameters[name]
	if !ok {
		if DeprecatedParameters[name] {
			return value, nil
		}
		return nil, fmt.Errorf("unknown parameter %q (known: %s)", name, knownParameterList())
	}
	switch t {
	case TypeInt:
		v, err := strconv.ParseInt(value, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parameter %s wants an integer, got %q", name, value)
		}
		return v, nil
	case TypeFloat:
		v, err := strconv.ParseFloat(value, 32)
		if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
			return nil, fmt.Errorf("parameter %s wants a finite number, got %q", name, value)
		}
		return float32(v), nil
	case TypeBool:
		v, err := strconv.ParseBool(value)
		if err != nil {
			return nil, fmt.Errorf("parameter %s wants true or false, got %q", name, value)
		}
		return v, nil
	case TypeStringList:
		return []string{value}, nil
	default:
		return value, nil
	}
}

func knownParameterList() string {
	names := make([]string, 0, len(Parameters))
	for n := range Parameters {
		names = append(names, n)
	}
	sort.Strings(names)
	s := ""
	for i, n := range names {
		if i > 0 {
			s += ", "
		}
		s += n
	}
	return s
}
