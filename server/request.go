package server

import (
	"encoding/json"
	"net/http"
	"strings"

	"golem/api"
	"golem/grammar"
	"golem/sample"
)

// reqSetup is what every generating request reads the same way before it
// differs: the model, the sampling options and the output constraint.
type reqSetup struct {
	mi      *modelInfo
	opts    sample.Options
	numCtx  int
	grammar *grammar.Grammar // nil: unconstrained
}

// constraint is one way a request may constrain its output: field is the
// name used in errors, raw the value (empty: not given), compile turns it
// into a grammar.
type constraint struct {
	field   string
	raw     json.RawMessage
	compile func(json.RawMessage) (*grammar.Grammar, error)
}

// formatConstraint is Ollama's format ("json" or a JSON Schema).
func formatConstraint(raw json.RawMessage) constraint {
	return constraint{"format", raw, grammar.FromFormat}
}

// responseFormatConstraint is OpenAI's response_format.
func responseFormatConstraint(raw json.RawMessage) constraint {
	return constraint{"response_format", raw, grammar.FromResponseFormat}
}

// gbnfConstraint is a GBNF grammar text (options.grammar on /api/*,
// grammar on /v1, as llama.cpp's server accepts).
func gbnfConstraint(field, src string) constraint {
	var raw json.RawMessage
	if strings.TrimSpace(src) != "" {
		raw, _ = json.Marshal(src)
	}
	return constraint{field, raw, func(b json.RawMessage) (*grammar.Grammar, error) {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return nil, err
		}
		return grammar.ParseGBNF(s)
	}}
}

// given reports whether the request set this constraint.
func (c constraint) given() bool {
	t := strings.TrimSpace(string(c.raw))
	return t != "" && t != "null"
}

// setup resolves the model, builds the options (the model's parameters,
// then rawOpts; a string "grammar" in rawOpts is taken out as a GBNF
// constraint) and compiles the one output constraint given. Two
// constraints at once, or one that does not compile (an unsupported
// schema included), are 400s with the grammar package's message.
func (s *Server) setup(model string, rawOpts map[string]any, cons ...constraint) (*reqSetup, error) {
	mi, err := s.resolveModel(model)
	if err != nil {
		return nil, err
	}
	if g, ok := rawOpts["grammar"]; ok {
		src, isStr := g.(string)
		if !isStr && g != nil {
			return nil, errf(http.StatusBadRequest, "invalid options: \"grammar\" must be a string (a GBNF grammar)")
		}
		rest := make(map[string]any, len(rawOpts))
		for k, v := range rawOpts {
			if k != "grammar" {
				rest[k] = v
			}
		}
		rawOpts = rest
		cons = append(cons, gbnfConstraint("options.grammar", src))
	}
	opts, numCtx, err := options(mi, rawOpts)
	if err != nil {
		return nil, err
	}
	rs := &reqSetup{mi: mi, opts: opts, numCtx: numCtx}
	var used string
	for _, c := range cons {
		if !c.given() {
			continue
		}
		if used != "" {
			return nil, errf(http.StatusBadRequest, "%s and %s cannot be used together: give one output constraint", used, c.field)
		}
		g, err := c.compile(c.raw)
		if err != nil {
			return nil, errf(http.StatusBadRequest, "%s: %v", c.field, err)
		}
		rs.grammar, used = g, c.field
	}
	return rs, nil
}

// tools plans the request's tools (see planTools; body is the raw request,
// whose tool JSON keeps the client's key order) and adds the plan's forcing
// grammar to the request's constraint; tool_choice cannot be forced
// together with a format.
func (rs *reqSetup) tools(tools []api.Tool, body []byte, choice *api.ToolChoice) (toolPlan, error) {
	p, err := planTools(rs.mi, tools, requestTools(body), choice)
	if err != nil || p.grammar == nil {
		return p, err
	}
	if rs.grammar != nil {
		return p, errf(http.StatusBadRequest, "tool_choice required or a named function cannot be combined with format, response_format or grammar")
	}
	rs.grammar = p.grammar
	return p, nil
}

// toolMessages resolves tool_name on tool results that only carry a
// tool_call_id, from the assistant calls before them, so templates that
// print the tool's name (tool_name / name) get it.
func toolMessages(msgs []api.Message) []api.Message {
	names := map[string]string{}
	for i, m := range msgs {
		for _, tc := range m.ToolCalls {
			if tc.ID != "" {
				names[tc.ID] = tc.Function.Name
			}
		}
		if m.Role == "tool" && m.ToolName == "" && m.ToolCallID != "" {
			if n, ok := names[m.ToolCallID]; ok {
				msgs[i].ToolName = n
			}
		}
	}
	return msgs
}
