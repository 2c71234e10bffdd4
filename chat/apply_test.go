package chat

import (
	"testing"
)

// messagesFromDicts converts fixture messages into []Message; ok is false
// when a message has a field Message cannot express.
func messagesFromDicts(t *testing.T, v any) ([]Message, bool) {
	t.Helper()
	var out []Message
	for _, item := range v.([]any) {
		d := item.(*Dict)
		var m Message
		for _, k := range d.Keys() {
			val, _ := d.Get(k)
			str, isStr := val.(string)
			switch {
			case k == "role" && isStr:
				m.Role = str
			case k == "content" && isStr:
				m.Content = str
			case k == "content" && val == nil:
				m.NullContent = true
			case k == "content":
				for _, p := range val.([]any) {
					text, _ := p.(*Dict).Get("text")
					m.Parts = append(m.Parts, text.(string))
				}
			case k == "reasoning_content" && isStr:
				m.ReasoningContent = str
			case k == "thinking" && isStr:
				m.Thinking = str
			case k == "tool_call_id" && isStr:
				m.ToolCallID = str
			case k == "name" && isStr:
				m.Name = str
			case k == "tool_calls":
				for _, c := range val.([]any) {
					cd := c.(*Dict)
					id, _ := cd.Get("id")
					fnv, _ := cd.Get("function")
					fn := fnv.(*Dict)
					name, _ := fn.Get("name")
					args, _ := fn.Get("arguments")
					m.ToolCalls = append(m.ToolCalls, ToolCall{ID: id.(string), Name: name.(string), Arguments: args})
				}
			default:
				return nil, false
			}
		}
		out = append(out, m)
	}
	return out, true
}

// TestApplyMatchesCases rebuilds every fixture conversation as []Message and
// checks that Apply gives the same result as rendering the raw variables.
func TestApplyMatchesCases(t *testing.T) {
	dir, cases := loadCases(t)
	cache := map[string]*Template{}
	checked := 0
	for _, c := range cases {
		tmpl := loadTemplate(t, dir, c.Template, cache)
		v, err := ParseJSON(c.Variables)
		if err != nil {
			t.Fatal(err)
		}
		vars := v.(*Dict)
		extra := map[string]any{}
		var msgs []Message
		agp := false
		ok := true
		for _, k := range vars.Keys() {
			val, _ := vars.Get(k)
			switch k {
			case "messages":
				msgs, ok = messagesFromDicts(t, val)
			case "add_generation_prompt":
				agp = val.(bool)
			default:
				extra[k] = val
			}
		}
		if !ok {
			t.Errorf("%s: messages not expressible as []Message", c.ID)
			continue
		}
		got, err := Apply(tmpl, msgs, agp, extra)
		switch {
		case c.Expected != nil && (err != nil || got != *c.Expected):
			t.Errorf("%s: Apply gave %q, %v; want %q", c.ID, got, err, *c.Expected)
		case c.Expected == nil && err == nil:
			t.Errorf("%s: Apply rendered; want %s", c.ID, c.ErrorType)
		}
		checked++
	}
	if checked != len(cases) {
		t.Errorf("checked %d of %d cases", checked, len(cases))
	}
}

func TestApplyNilTemplate(t *testing.T) {
	if _, err := Apply(nil, nil, true, nil); err == nil {
		t.Fatal("Apply(nil) succeeded")
	}
}
