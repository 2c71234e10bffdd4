package api

import (
	"encoding/json"
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  bool
	}{
		{`300`, 5 * time.Minute, false},
		{`0`, 0, false},
		{`1.5`, 1500 * time.Millisecond, false},
		{`-1`, Forever, false},
		{`"5m"`, 5 * time.Minute, false},
		{`"1h30m"`, 90 * time.Minute, false},
		{`"-1s"`, Forever, false},
		{`"10"`, 10 * time.Second, false},
		{`"forever"`, 0, true},
		{`true`, 0, true},
	} {
		var d Duration
		err := json.Unmarshal([]byte(tc.in), &d)
		if (err != nil) != tc.err || err == nil && d.Duration != tc.want {
			t.Errorf("%s: %v, %v; want %v (error %v)", tc.in, d.Duration, err, tc.want, tc.err)
		}
	}
	for _, tc := range []struct {
		d    Duration
		want string
	}{{Duration{5 * time.Minute}, `"5m0s"`}, {Duration{Forever}, `-1`}} {
		if b, _ := json.Marshal(tc.d); string(b) != tc.want {
			t.Errorf("marshal %v = %s, want %s", tc.d.Duration, b, tc.want)
		}
	}
}

func TestEmbedInputAndThink(t *testing.T) {
	var r EmbedRequest
	if err := json.Unmarshal([]byte(`{"model":"m","input":"one"}`), &r); err != nil || len(r.Input) != 1 || r.Input[0] != "one" {
		t.Errorf("string input: %v %v", r.Input, err)
	}
	if err := json.Unmarshal([]byte(`{"model":"m","input":["a","b"]}`), &r); err != nil || len(r.Input) != 2 {
		t.Errorf("list input: %v %v", r.Input, err)
	}
	if err := json.Unmarshal([]byte(`{"model":"m","input":5}`), &r); err == nil {
		t.Error("number input accepted")
	}
	for _, tc := range []struct {
		in      string
		enabled bool
		err     bool
	}{{`true`, true, false}, {`false`, false, false}, {`"high"`, true, false}, {`"max"`, false, true}, {`3`, false, true}} {
		var g GenerateRequest
		err := json.Unmarshal([]byte(`{"think":`+tc.in+`}`), &g)
		if (err != nil) != tc.err || err == nil && g.Think.Enabled() != tc.enabled {
			t.Errorf("think %s: enabled %v err %v", tc.in, g.Think.Enabled(), err)
		}
	}
	// Field names are Ollama's.
	b, _ := json.Marshal(GenerateResponse{Model: "m", Done: true, DoneReason: "stop", Metrics: Metrics{EvalCount: 3, EvalDuration: 7}})
	var m map[string]any
	json.Unmarshal(b, &m)
	for _, k := range []string{"model", "created_at", "response", "done", "done_reason", "eval_count", "eval_duration"} {
		if _, ok := m[k]; !ok {
			t.Errorf("GenerateResponse JSON lacks %q: %s", k, b)
		}
	}
}

func TestToolChoice(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ToolChoice
		err  bool
	}{
		{`"auto"`, ToolChoice{Mode: "auto"}, false},
		{`"none"`, ToolChoice{Mode: "none"}, false},
		{`"required"`, ToolChoice{Mode: "required"}, false},
		{`{"type":"function","function":{"name":"get_weather"}}`, ToolChoice{Mode: "function", Name: "get_weather"}, false},
		{`{"type":"function","name":"get_weather"}`, ToolChoice{Mode: "function", Name: "get_weather"}, false},
		{`"any"`, ToolChoice{}, true},
		{`{"type":"function"}`, ToolChoice{}, true},
		{`{"type":"tool","function":{"name":"x"}}`, ToolChoice{}, true},
		{`7`, ToolChoice{}, true},
	} {
		var r ChatCompletionRequest
		err := json.Unmarshal([]byte(`{"tool_choice":`+tc.in+`}`), &r)
		if (err != nil) != tc.err {
			t.Errorf("%s: err %v", tc.in, err)
			continue
		}
		if tc.err {
			continue
		}
		if r.ToolChoice == nil || *r.ToolChoice != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.in, r.ToolChoice, tc.want)
			continue
		}
		// Round trip.
		b, _ := json.Marshal(r.ToolChoice)
		var back ToolChoice
		if err := json.Unmarshal(b, &back); err != nil || back != tc.want {
			t.Errorf("%s: round trip %s -> %+v %v", tc.in, b, back, err)
		}
	}
	var lv ThinkValue
	json.Unmarshal([]byte(`"low"`), &lv)
	if lv.Level() != "low" || (&ThinkValue{Value: true}).Level() != "" || (*ThinkValue)(nil).Level() != "" {
		t.Error("ThinkValue.Level")
	}
}
