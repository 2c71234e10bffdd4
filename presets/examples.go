package presets

import (
	"encoding/json"
	"fmt"
	"strings"

	"golem/api"
)

// ParseExamples parses few-shot examples into alternating user and
// assistant messages. name is the source named in errors. Two formats are
// read, told apart by the first non-blank line:
//
// JSONL, one JSON object per line: {"q": "...", "a": "..."} (also spelled
// question/answer, input/output or user/assistant), or a message
// {"role": "user"|"assistant"|"system", "content": "..."}. Blank lines are
// skipped.
//
// Q:/A: text: a line starting with "Q:" begins a question and one with
// "A:" its answer (case-insensitive); the lines that follow, up to the
// next Q: or A:, continue it, and surrounding blank lines are trimmed.
// Lines starting with '#' before the first Q: are comments. Questions and
// answers must alternate, starting with a question.
func ParseExamples(name, text string) ([]api.Message, error) {
	text = strings.ReplaceAll(strings.TrimPrefix(text, "\uFEFF"), "\r\n", "\n")
	first := strings.TrimSpace(text)
	if first == "" {
		return nil, fmt.Errorf("examples %s: no examples", name)
	}
	if strings.HasPrefix(first, "{") {
		return parseJSONL(name, text)
	}
	return parseQA(name, text)
}

func parseJSONL(name, text string) ([]api.Message, error) {
	var out []api.Message
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, fmt.Errorf("examples %s:%d: not a JSON object: %v", name, i+1, err)
		}
		str := func(k string) (string, bool) {
			v, ok := obj[k]
			if !ok {
				return "", false
			}
			s, isStr := v.(string)
			return s, isStr
		}
		if role, ok := str("role"); ok {
			content, ok := str("content")
			if !ok {
				return nil, fmt.Errorf("examples %s:%d: a message needs a string \"content\"", name, i+1)
			}
			switch role {
			case "system", "user", "assistant":
			default:
				return nil, fmt.Errorf("examples %s:%d: role %q is not system, user or assistant", name, i+1, role)
			}
			out = append(out, api.Message{Role: role, Content: content})
			continue
		}
		found := false
		for _, keys := range [][2]string{{"q", "a"}, {"question", "answer"}, {"input", "output"}, {"user", "assistant"}} {
			q, okQ := str(keys[0])
			a, okA := str(keys[1])
			if okQ && okA {
				out = append(out, api.Message{Role: "user", Content: q}, api.Message{Role: "assistant", Content: a})
				found = true
				break
			}
		}
		if !found {
			return nil, fmt.Errorf("examples %s:%d: want {\"q\": ..., \"a\": ...} (or question/answer, input/output, user/assistant) or {\"role\": ..., \"content\": ...} with string values", name, i+1)
		}
	}
	return out, nil
}

func parseQA(name, text string) ([]api.Message, error) {
	var out []api.Message
	var cur *api.Message
	var body []string
	finish := func() {
		if cur != nil {
			cur.Content = strings.TrimSpace(strings.Join(body, "\n"))
			out = append(out, *cur)
		}
	}
	for i, line := range strings.Split(text, "\n") {
		tag := ""
		if len(line) >= 2 && line[1] == ':' {
			tag = strings.ToUpper(line[:1])
		}
		switch {
		case tag == "Q" || tag == "A":
			want := "Q"
			if cur != nil && cur.Role == "user" {
				want = "A"
			}
			if tag != want {
				return nil, fmt.Errorf("examples %s:%d: found %s: where %s: was expected (questions and answers alternate, starting with Q:)", name, i+1, tag, want)
			}
			finish()
			role := "user"
			if tag == "A" {
				role = "assistant"
			}
			cur = &api.Message{Role: role}
			body = []string{line[2:]}
		case cur == nil:
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "#") {
				return nil, fmt.Errorf("examples %s:%d: text before the first Q: line (start each example with Q: and its answer with A:)", name, i+1)
			}
		default:
			body = append(body, line)
		}
	}
	finish()
	if len(out) == 0 {
		return nil, fmt.Errorf("examples %s: no Q:/A: examples", name)
	}
	if out[len(out)-1].Role == "user" {
		return nil, fmt.Errorf("examples %s: the last question has no A: answer", name)
	}
	for _, m := range out {
		if m.Content == "" {
			return nil, fmt.Errorf("examples %s: an empty %s", name, map[string]string{"user": "question", "assistant": "answer"}[m.Role])
		}
	}
	return out, nil
}
