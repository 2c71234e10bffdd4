// Package api holds the request and response types of Golem's HTTP API:
// Ollama's native API (/api/...) with Ollama's exact JSON field names, so
// that Ollama's clients work unchanged, and the OpenAI-compatible API
// (/v1/...). The server decodes into these types and a Go client can use
// the same ones.
package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Duration is a keep_alive value. In JSON it is a number of seconds or a
// Go duration string ("5m", "1h30m"); a negative value means "keep loaded
// forever" and 0 means "unload right after the request", as in Ollama.
type Duration struct {
	time.Duration
}

// Forever is the Duration a negative keep_alive stands for.
const Forever = time.Duration(math.MaxInt64)

// MarshalJSON writes the duration as Ollama does: -1 for forever, else a
// Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	if d.Duration < 0 || d.Duration == Forever {
		return []byte("-1"), nil
	}
	return json.Marshal(d.String())
}

// UnmarshalJSON accepts a number of seconds or a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch t := v.(type) {
	case float64:
		if t < 0 {
			d.Duration = Forever
		} else {
			d.Duration = time.Duration(t * float64(time.Second))
		}
	case string:
		dur, err := time.ParseDuration(t)
		if err != nil {
			// Ollama also accepts a bare number in a string.
			var secs float64
			if _, serr := fmt.Sscanf(t, "%g", &secs); serr != nil {
				return fmt.Errorf("keep_alive: invalid duration %q", t)
			}
			dur = time.Duration(secs * float64(time.Second))
		}
		if dur < 0 {
			dur = Forever
		}
		d.Duration = dur
	case nil:
		// null: leave unset
	default:
		return fmt.Errorf("keep_alive: want a number of seconds or a duration string, not %s", string(b))
	}
	return nil
}

// ImageData is one base64-encoded image (a JSON string).
type ImageData []byte

// ThinkValue is the "think" field: a bool, or for models that take levels
// a string ("low", "medium", "high").
type ThinkValue struct {
	Value any // bool or string
}

// UnmarshalJSON accepts true/false or a level string.
func (t *ThinkValue) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		t.Value = x
	case string:
		switch x {
		case "high", "medium", "low":
			t.Value = x
		default:
			return fmt.Errorf("think: invalid value %q (want true, false, \"low\", \"medium\" or \"high\")", x)
		}
	case nil:
	default:
		return errors.New("think: want a boolean or a level string")
	}
	return nil
}

// MarshalJSON writes the bool or level.
func (t ThinkValue) MarshalJSON() ([]byte, error) { return json.Marshal(t.Value) }

// Level returns the level string ("low", "medium", "high"), or "" when
// the value is a bool or unset.
func (t *ThinkValue) Level() string {
	if t == nil {
		return ""
	}
	s, _ := t.Value.(string)
	return s
}

// Enabled reports whether thinking is asked for (true or any level).
func (t *ThinkValue) Enabled() bool {
	if t == nil {
		return false
	}
	switch x := t.Value.(type) {
	case bool:
		return x
	case string:
		return x != ""
	}
	return false
}

// GenerateRequest is the body of POST /api/generate.
type GenerateRequest struct {
	Model     string          `json:"model"`
	Prompt    string          `json:"prompt"`
	Suffix    string          `json:"suffix,omitempty"`
	System    string          `json:"system,omitempty"`
	Template  string          `json:"template,omitempty"`
	Context   []int           `json:"context,omitempty"`
	Stream    *bool           `json:"stream,omitempty"`
	Raw       bool            `json:"raw,omitempty"`
	Format    json.RawMessage `json:"format,omitempty"`
	KeepAlive *Duration       `json:"keep_alive,omitempty"`
	Images    []ImageData     `json:"images,omitempty"`
	Options   map[string]any  `json:"options,omitempty"`
	Think     *ThinkValue     `json:"think,omitempty"`
	// Preset names a prompt preset (a Golem extension, see package
	// presets); PresetVars fills its placeholders.
	Preset     string            `json:"preset,omitempty"`
	PresetVars map[string]string `json:"preset_vars,omitempty"`
	// Logprobs asks for each generated token's log-probability;
	// TopLogprobs (0-20) for that many most likely alternatives too.
	Logprobs    bool `json:"logprobs,omitempty"`
	TopLogprobs int  `json:"top_logprobs,omitempty"`
}

// Metrics are the timings and counts of a finished request, in
// nanoseconds, with Ollama's names.
type Metrics struct {
	TotalDuration      time.Duration `json:"total_duration,omitempty"`
	LoadDuration       time.Duration `json:"load_duration,omitempty"`
	PromptEvalCount    int           `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration time.Duration `json:"prompt_eval_duration,omitempty"`
	EvalCount          int           `json:"eval_count,omitempty"`
	EvalDuration       time.Duration `json:"eval_duration,omitempty"`
}

// TokenLogprob is a token's log-probability. Bytes are its UTF-8 bytes
// (a token may hold part of a character).
type TokenLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

// Logprob is a generated token's log-probability and, when top_logprobs
// was asked for, the most likely alternatives.
type Logprob struct {
	TokenLogprob
	TopLogprobs []TokenLogprob `json:"top_logprobs,omitempty"`
}

// GenerateResponse is one NDJSON line of /api/generate (or the whole answer
// when not streaming).
type GenerateResponse struct {
	Model      string    `json:"model"`
	CreatedAt  time.Time `json:"created_at"`
	Response   string    `json:"response"`
	Thinking   string    `json:"thinking,omitempty"`
	Done       bool      `json:"done"`
	DoneReason string    `json:"done_reason,omitempty"`
	Context    []int     `json:"context,omitempty"`
	Metrics
	Logprobs []Logprob `json:"logprobs,omitempty"`
}

// ToolCallFunction is the function part of a tool call.
type ToolCallFunction struct {
	Index     int            `json:"index,omitempty"`
	Name      string         `json:"name"`
	Arguments map[string]any `json:"arguments"`
	// RawArguments is the arguments object's JSON text when the client
	// sent it as text (OpenAI's string form), so the chat template sees
	// the keys in the client's order; it is never serialized.
	RawArguments string `json:"-"`
}

// ToolCall is an assistant's call of a tool.
type ToolCall struct {
	ID       string           `json:"id,omitempty"`
	Function ToolCallFunction `json:"function"`
}

// Message is one chat message.
type Message struct {
	Role       string      `json:"role"`
	Content    string      `json:"content"`
	Thinking   string      `json:"thinking,omitempty"`
	Images     []ImageData `json:"images,omitempty"`
	ToolCalls  []ToolCall  `json:"tool_calls,omitempty"`
	ToolName   string      `json:"tool_name,omitempty"`
	ToolCallID string      `json:"tool_call_id,omitempty"`
}

// Tool is a tool definition as clients send it ({type: "function",
// function: {name, description, parameters}}); it is passed to the chat
// template as is.
type Tool = map[string]any

// ToolChoice is OpenAI's tool_choice: "auto" (the model decides),
// "none" (no tools), "required" (some tool must be called) or
// {"type": "function", "function": {"name": NAME}} (that tool must be
// called).
type ToolChoice struct {
	Mode string // "auto", "none", "required" or "function"
	Name string // the function's name when Mode is "function"
}

// UnmarshalJSON accepts the string forms and the object form (also with
// the name directly in the object, as the Responses API writes it).
func (c *ToolChoice) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		switch s {
		case "auto", "none", "required":
			*c = ToolChoice{Mode: s}
			return nil
		}
		return fmt.Errorf("tool_choice: invalid value %q (want \"auto\", \"none\", \"required\" or a function object)", s)
	}
	var o struct {
		Type     string `json:"type"`
		Name     string `json:"name"`
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(b, &o); err != nil {
		return errors.New("tool_choice: want a string or {\"type\": \"function\", \"function\": {\"name\": ...}}")
	}
	name := o.Function.Name
	if name == "" {
		name = o.Name
	}
	if o.Type != "function" || name == "" {
		return errors.New("tool_choice: an object needs \"type\": \"function\" and the function's name")
	}
	*c = ToolChoice{Mode: "function", Name: name}
	return nil
}

// MarshalJSON writes the string form or the function object.
func (c ToolChoice) MarshalJSON() ([]byte, error) {
	if c.Mode == "function" {
		return json.Marshal(map[string]any{"type": "function", "function": map[string]string{"name": c.Name}})
	}
	return json.Marshal(c.Mode)
}

// ChatRequest is the body of POST /api/chat.
type ChatRequest struct {
	Model     string          `json:"model"`
	Messages  []Message       `json:"messages"`
	Stream    *bool           `json:"stream,omitempty"`
	Format    json.RawMessage `json:"format,omitempty"`
	KeepAlive *Duration       `json:"keep_alive,omitempty"`
	Tools     []Tool          `json:"tools,omitempty"`
	// ToolChoice is a Golem extension with OpenAI's meaning (auto, none,
	// required or a named function); Ollama has no equivalent.
	ToolChoice *ToolChoice    `json:"tool_choice,omitempty"`
	Options    map[string]any `json:"options,omitempty"`
	Think      *ThinkValue    `json:"think,omitempty"`
	// Preset names a prompt preset (a Golem extension, see package
	// presets); PresetVars fills its placeholders.
	Preset      string            `json:"preset,omitempty"`
	PresetVars  map[string]string `json:"preset_vars,omitempty"`
	Logprobs    bool              `json:"logprobs,omitempty"`
	TopLogprobs int               `json:"top_logprobs,omitempty"`
}

// ChatResponse is one NDJSON line of /api/chat.
type ChatResponse struct {
	Model      string    `json:"model"`
	CreatedAt  time.Time `json:"created_at"`
	Message    Message   `json:"message"`
	Done       bool      `json:"done"`
	DoneReason string    `json:"done_reason,omitempty"`
	Metrics
	Logprobs []Logprob `json:"logprobs,omitempty"`
}

// EmbedInput is the "input" of /api/embed: a string or a list of strings.
type EmbedInput []string

// UnmarshalJSON accepts a string or an array of strings.
func (e *EmbedInput) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*e = EmbedInput{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return errors.New("input: want a string or an array of strings")
	}
	*e = l
	return nil
}

// EmbedRequest is the body of POST /api/embed.
type EmbedRequest struct {
	Model      string         `json:"model"`
	Input      EmbedInput     `json:"input"`
	KeepAlive  *Duration      `json:"keep_alive,omitempty"`
	Truncate   *bool          `json:"truncate,omitempty"`
	Dimensions int            `json:"dimensions,omitempty"`
	Options    map[string]any `json:"options,omitempty"`
}

// EmbedResponse is the answer of /api/embed.
type EmbedResponse struct {
	Model           string        `json:"model"`
	Embeddings      [][]float32   `json:"embeddings"`
	TotalDuration   time.Duration `json:"total_duration,omitempty"`
	LoadDuration    time.Duration `json:"load_duration,omitempty"`
	PromptEvalCount int           `json:"prompt_eval_count,omitempty"`
}

// EmbeddingRequest is the body of the older POST /api/embeddings.
type EmbeddingRequest struct {
	Model     string         `json:"model"`
	Prompt    string         `json:"prompt"`
	KeepAlive *Duration      `json:"keep_alive,omitempty"`
	Options   map[string]any `json:"options,omitempty"`
}

// EmbeddingResponse is the answer of /api/embeddings (not normalized in
// Ollama; here the model's own pooling output).
type EmbeddingResponse struct {
	Embedding []float64 `json:"embedding"`
}

// ModelDetails describes a model's format and size.
type ModelDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// ListModelResponse is one model of /api/tags.
type ListModelResponse struct {
	Name       string       `json:"name"`
	Model      string       `json:"model"`
	ModifiedAt time.Time    `json:"modified_at"`
	Size       int64        `json:"size"`
	Digest     string       `json:"digest"`
	Details    ModelDetails `json:"details,omitempty"`
}

// ListResponse is the answer of GET /api/tags.
type ListResponse struct {
	Models []ListModelResponse `json:"models"`
}

// ProcessModelResponse is one loaded model of /api/ps.
type ProcessModelResponse struct {
	Name          string       `json:"name"`
	Model         string       `json:"model"`
	Size          int64        `json:"size"`
	Digest        string       `json:"digest"`
	Details       ModelDetails `json:"details,omitempty"`
	ExpiresAt     time.Time    `json:"expires_at"`
	SizeVRAM      int64        `json:"size_vram"`
	ContextLength int          `json:"context_length"`
	// Active and Queued are Golem extras: requests running and waiting.
	Active int `json:"active"`
	Queued int `json:"queued"`
}

// ProcessResponse is the answer of GET /api/ps.
type ProcessResponse struct {
	Models []ProcessModelResponse `json:"models"`
}

// ShowRequest is the body of POST /api/show.
type ShowRequest struct {
	Model   string         `json:"model"`
	Name    string         `json:"name,omitempty"` // deprecated spelling
	System  string         `json:"system,omitempty"`
	Verbose bool           `json:"verbose,omitempty"`
	Options map[string]any `json:"options,omitempty"`
}

// ShowResponse is the answer of /api/show.
type ShowResponse struct {
	License      string         `json:"license,omitempty"`
	Modelfile    string         `json:"modelfile,omitempty"`
	Parameters   string         `json:"parameters,omitempty"`
	Template     string         `json:"template,omitempty"`
	System       string         `json:"system,omitempty"`
	Details      ModelDetails   `json:"details,omitempty"`
	Messages     []Message      `json:"messages,omitempty"`
	ModelInfo    map[string]any `json:"model_info,omitempty"`
	Capabilities []string       `json:"capabilities,omitempty"`
	ModifiedAt   time.Time      `json:"modified_at,omitempty"`
}

// CopyRequest is the body of POST /api/copy.
type CopyRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// DeleteRequest is the body of DELETE /api/delete.
type DeleteRequest struct {
	Model string `json:"model"`
	Name  string `json:"name,omitempty"` // deprecated spelling
}

// CreateRequest is the body of POST /api/create (Ollama's JSON create
// API): From names a model in the store (or, as a Golem extra, a path to
// a GGUF file); Files maps file names to blob digests uploaded with
// /api/blobs.
type CreateRequest struct {
	Model      string            `json:"model"`
	Name       string            `json:"name,omitempty"` // deprecated spelling
	From       string            `json:"from,omitempty"`
	Files      map[string]string `json:"files,omitempty"`
	Adapters   map[string]string `json:"adapters,omitempty"`
	Template   string            `json:"template,omitempty"`
	License    any               `json:"license,omitempty"` // string or []string
	System     string            `json:"system,omitempty"`
	Parameters map[string]any    `json:"parameters,omitempty"`
	Messages   []Message         `json:"messages,omitempty"`
	Stream     *bool             `json:"stream,omitempty"`
	Quantize   string            `json:"quantize,omitempty"`
}

// PullRequest is the body of /api/pull and /api/push.
type PullRequest struct {
	Model    string `json:"model"`
	Name     string `json:"name,omitempty"`
	Insecure bool   `json:"insecure,omitempty"`
	Stream   *bool  `json:"stream,omitempty"`
}

// ProgressResponse is one NDJSON status line of create, pull and push.
type ProgressResponse struct {
	Status    string `json:"status"`
	Digest    string `json:"digest,omitempty"`
	Total     int64  `json:"total,omitempty"`
	Completed int64  `json:"completed,omitempty"`
}

// VersionResponse is the answer of /api/version.
type VersionResponse struct {
	Version string `json:"version"`
}

// TokenizeRequest is the body of POST /api/tokenize (a Golem extra).
type TokenizeRequest struct {
	Model        string         `json:"model"`
	Content      string         `json:"content"`
	AddSpecial   *bool          `json:"add_special,omitempty"`   // default true: BOS etc. as the model asks
	ParseSpecial *bool          `json:"parse_special,omitempty"` // default true: "<s>" in the text is the special token
	KeepAlive    *Duration      `json:"keep_alive,omitempty"`
	Options      map[string]any `json:"options,omitempty"`
}

// TokenizeResponse is the answer of /api/tokenize.
type TokenizeResponse struct {
	Model  string `json:"model"`
	Tokens []int  `json:"tokens"`
}

// DetokenizeRequest is the body of POST /api/detokenize (a Golem extra).
type DetokenizeRequest struct {
	Model     string         `json:"model"`
	Tokens    []int          `json:"tokens"`
	KeepAlive *Duration      `json:"keep_alive,omitempty"`
	Options   map[string]any `json:"options,omitempty"`
}

// DetokenizeResponse is the answer of /api/detokenize.
type DetokenizeResponse struct {
	Model   string `json:"model"`
	Content string `json:"content"`
}

// StatusError is an error answer of the native API: {"error": "..."}.
type StatusError struct {
	StatusCode   int    `json:"-"`
	ErrorMessage string `json:"error"`
}

func (e StatusError) Error() string {
	if e.ErrorMessage == "" {
		return fmt.Sprintf("status %d", e.StatusCode)
	}
	return e.ErrorMessage
}

// ModelNotFoundMessage is Ollama's wording for a model that is not in the
// store.
func ModelNotFoundMessage(name string) string {
	return fmt.Sprintf("model %q not found, try pulling it first", strings.TrimSpace(name))
}
