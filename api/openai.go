package api

import "encoding/json"

// The OpenAI-compatible API (/v1/...). Only the fields Golem reads or
// writes are declared; unknown request fields are ignored.

// OpenAIError is the body of an OpenAI-style error answer.
type OpenAIError struct {
	Error OpenAIErrorBody `json:"error"`
}

// OpenAIErrorBody is the inside of OpenAIError.
type OpenAIErrorBody struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Param   *string `json:"param"`
	Code    *string `json:"code"`
}

// OpenAIMessage is one chat message. Content is a string or a list of
// typed parts ({type: "text", text}); see TextContent.
type OpenAIMessage struct {
	Role       string           `json:"role"`
	Content    any              `json:"content"`
	Name       string           `json:"name,omitempty"`
	ToolCalls  []OpenAIToolCall `json:"tool_calls,omitempty"`
	ToolCallID string           `json:"tool_call_id,omitempty"`
	// ReasoningContent is the model's reasoning (think / reasoning_effort),
	// as llama.cpp's server and DeepSeek name it; Reasoning carries the
	// same text under Ollama's /v1 name. Either is accepted in requests.
	ReasoningContent string `json:"reasoning_content,omitempty"`
	Reasoning        string `json:"reasoning,omitempty"`
}

// OpenAIToolCall is a tool call in OpenAI's wire format (arguments are a
// JSON string).
type OpenAIToolCall struct {
	Index    *int   `json:"index,omitempty"`
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// StreamOptions are the stream_options of a request.
type StreamOptions struct {
	IncludeUsage bool `json:"include_usage"`
}

// StopValue is "stop": a string or a list of strings.
type StopValue []string

// UnmarshalJSON accepts a string, a list of strings or null.
func (s *StopValue) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = StopValue{one}
		return nil
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return err
	}
	*s = l
	return nil
}

// ChatCompletionRequest is the body of POST /v1/chat/completions.
type ChatCompletionRequest struct {
	Model               string          `json:"model"`
	Messages            []OpenAIMessage `json:"messages"`
	Stream              bool            `json:"stream"`
	StreamOptions       *StreamOptions  `json:"stream_options"`
	MaxTokens           *int            `json:"max_tokens"`
	MaxCompletionTokens *int            `json:"max_completion_tokens"`
	Seed                *int            `json:"seed"`
	Stop                StopValue       `json:"stop"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	N                   *int            `json:"n"`
	ResponseFormat      json.RawMessage `json:"response_format"`
	Tools               []Tool          `json:"tools"`
	ToolChoice          *ToolChoice     `json:"tool_choice"`
	ReasoningEffort     *string         `json:"reasoning_effort"`
	// Think is a Golem extension with the meaning it has on /api/chat;
	// reasoning_effort wins when both are given.
	Think *ThinkValue `json:"think"`
	// Grammar is a GBNF grammar constraining the output, the extension
	// llama.cpp's server accepts.
	Grammar     string `json:"grammar"`
	Logprobs    *bool  `json:"logprobs"`
	TopLogprobs int    `json:"top_logprobs"`
	// Preset names a prompt preset and PresetVars fills its
	// placeholders: the Golem extension /api/chat takes, with the same
	// meaning (the preset's parameters apply under the request's explicit
	// ones; its system prompt unless the messages have one).
	Preset     string            `json:"preset,omitempty"`
	PresetVars map[string]string `json:"preset_vars,omitempty"`
}

// Usage counts tokens.
type Usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

// OpenAILogprobs is a choice's "logprobs": {content: [...]}, each entry
// {token, logprob, bytes, top_logprobs}.
type OpenAILogprobs struct {
	Content []OpenAITokenLogprob `json:"content"`
}

// OpenAITokenLogprob is one token of OpenAILogprobs.
type OpenAITokenLogprob struct {
	Token       string             `json:"token"`
	Logprob     float64            `json:"logprob"`
	Bytes       []int              `json:"bytes"`
	TopLogprobs []OpenAITopLogprob `json:"top_logprobs"`
}

// OpenAITopLogprob is one alternative of OpenAITokenLogprob.
type OpenAITopLogprob struct {
	Token   string  `json:"token"`
	Logprob float64 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

// ChatChoice is one choice of a non-streamed chat completion.
type ChatChoice struct {
	Index        int           `json:"index"`
	Message      OpenAIMessage `json:"message"`
	FinishReason *string       `json:"finish_reason"`
	Logprobs     any           `json:"logprobs"`
}

// ChatCompletion is the answer of a non-streamed chat completion.
type ChatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"`
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []ChatChoice `json:"choices"`
	Usage             Usage        `json:"usage"`
}

// ChunkChoice is one choice of a streamed chunk.
type ChunkChoice struct {
	Index        int           `json:"index"`
	Delta        OpenAIMessage `json:"delta"`
	FinishReason *string       `json:"finish_reason"`
	Logprobs     any           `json:"logprobs"`
}

// ChatCompletionChunk is one SSE event of a streamed chat completion.
type ChatCompletionChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"`
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []ChunkChoice `json:"choices"`
	Usage             *Usage        `json:"usage,omitempty"`
}

// CompletionRequest is the body of POST /v1/completions (legacy).
type CompletionRequest struct {
	Model            string         `json:"model"`
	Prompt           any            `json:"prompt"` // string or [string]
	Stream           bool           `json:"stream"`
	StreamOptions    *StreamOptions `json:"stream_options"`
	MaxTokens        *int           `json:"max_tokens"`
	Seed             *int           `json:"seed"`
	Stop             StopValue      `json:"stop"`
	Temperature      *float64       `json:"temperature"`
	TopP             *float64       `json:"top_p"`
	FrequencyPenalty *float64       `json:"frequency_penalty"`
	PresencePenalty  *float64       `json:"presence_penalty"`
	Suffix           string         `json:"suffix"`
	Echo             bool           `json:"echo"`
	// ResponseFormat constrains the text as on /v1/chat/completions.
	ResponseFormat json.RawMessage `json:"response_format"`
	// Grammar is a GBNF grammar (llama.cpp server extension).
	Grammar string `json:"grammar"`
}

// CompletionChoice is one choice of a completion (streamed or not).
type CompletionChoice struct {
	Text         string  `json:"text"`
	Index        int     `json:"index"`
	Logprobs     any     `json:"logprobs"`
	FinishReason *string `json:"finish_reason"`
}

// Completion is the answer (or one SSE chunk) of /v1/completions.
type Completion struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	Created           int64              `json:"created"`
	Model             string             `json:"model"`
	SystemFingerprint string             `json:"system_fingerprint"`
	Choices           []CompletionChoice `json:"choices"`
	Usage             *Usage             `json:"usage,omitempty"`
}

// EmbeddingsRequest is the body of POST /v1/embeddings.
type EmbeddingsRequest struct {
	Model          string `json:"model"`
	Input          any    `json:"input"` // string, [string], [int] or [[int]]
	EncodingFormat string `json:"encoding_format"`
	Dimensions     int    `json:"dimensions"`
}

// EmbeddingObject is one embedding of /v1/embeddings. Embedding is
// []float32, or a base64 string when encoding_format is "base64".
type EmbeddingObject struct {
	Object    string `json:"object"`
	Embedding any    `json:"embedding"`
	Index     int    `json:"index"`
}

// EmbeddingsResponse is the answer of /v1/embeddings.
type EmbeddingsResponse struct {
	Object string            `json:"object"`
	Data   []EmbeddingObject `json:"data"`
	Model  string            `json:"model"`
	Usage  struct {
		PromptTokens int `json:"prompt_tokens"`
		TotalTokens  int `json:"total_tokens"`
	} `json:"usage"`
}

// OpenAIModel is one model of /v1/models.
type OpenAIModel struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// OpenAIModelList is the answer of /v1/models.
type OpenAIModelList struct {
	Object string        `json:"object"`
	Data   []OpenAIModel `json:"data"`
}
