package models

import (
	"encoding/json"
	"fmt"

	"golem/sample"
)

// ApplyParams sets the sampling options that params (a params layer, or a
// request's options, keyed by Ollama's names: temperature, num_predict,
// stop...) holds, leaving the others as they are, so that calling it with
// the model's PARAMETERs and then the caller's own values layers them in
// that order. It reports whether params sets num_ctx. Unknown keys are
// ignored, as Ollama does; a value of the wrong type is an error wrapping
// the *json.UnmarshalTypeError.
func ApplyParams(opts *sample.Options, params map[string]any) (numCtxSet bool, err error) {
	if len(params) == 0 {
		return false, nil
	}
	b, err := json.Marshal(params)
	if err != nil {
		return false, fmt.Errorf("parameters: %w", err)
	}
	if err := json.Unmarshal(b, opts); err != nil {
		return false, err
	}
	v, ok := params["num_ctx"]
	return ok && v != nil, nil
}
