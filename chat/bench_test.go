package chat

import (
	"testing"
)

// BenchmarkRender measures one render of the longest fixture case per
// template family used here (tools + tool call conversation).
func BenchmarkRender(b *testing.B) {
	dir, cases := loadCases(b)
	cache := map[string]*Template{}
	for _, id := range []string{"Qwen-Qwen3-0.6B/tool_call_string_args", "google-gemma-4-31B-it/tool_call", "openai-gpt-oss-120b/tool_call_string_args"} {
		for _, c := range cases {
			if c.ID != id {
				continue
			}
			b.Run(id, func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					if _, err := renderCase(b, dir, c, cache); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkParse measures compiling the largest fixture template.
func BenchmarkParse(b *testing.B) {
	dir, _ := loadCases(b)
	cache := map[string]*Template{}
	loadTemplate(b, dir, "google-gemma-4-31B-it.jinja", cache)
	src := readTemplate(b, dir, "google-gemma-4-31B-it.jinja")
	b.SetBytes(int64(len(src)))
	for i := 0; i < b.N; i++ {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
