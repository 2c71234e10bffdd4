package store

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Media types of a manifest, its config blob and its layers, as Ollama
// writes them (server/images.go, server/create.go, manifest/layer.go).
const (
	// MediaTypeManifest is the manifest's own mediaType (Docker image
	// manifest v2, schema 2).
	MediaTypeManifest = "application/vnd.docker.distribution.manifest.v2+json"
	// MediaTypeConfig is the config blob: JSON of [Config].
	MediaTypeConfig = "application/vnd.docker.container.image.v1+json"

	// MediaTypeModel holds the weights: a GGUF file, or for Ollama's
	// experimental safetensors models a JSON/other file (see [Config]).
	MediaTypeModel = "application/vnd.ollama.image.model"
	// MediaTypeAdapter holds a LoRA adapter (GGUF).
	MediaTypeAdapter = "application/vnd.ollama.image.adapter"
	// MediaTypeProjector holds a multimodal projector (GGUF).
	MediaTypeProjector = "application/vnd.ollama.image.projector"
	// MediaTypeDraft holds a draft model for speculative decoding.
	MediaTypeDraft = "application/vnd.ollama.image.draft"
	// MediaTypeTemplate holds the Go text/template prompt template.
	MediaTypeTemplate = "application/vnd.ollama.image.template"
	// MediaTypePrompt is the legacy name of MediaTypeTemplate.
	MediaTypePrompt = "application/vnd.ollama.image.prompt"
	// MediaTypeSystem holds the default system message (plain text).
	MediaTypeSystem = "application/vnd.ollama.image.system"
	// MediaTypeParams holds the PARAMETER values as a JSON object.
	MediaTypeParams = "application/vnd.ollama.image.params"
	// MediaTypeMessages holds the MESSAGE history as a JSON array of
	// {"role","content"} objects.
	MediaTypeMessages = "application/vnd.ollama.image.messages"
	// MediaTypeLicense holds one license text; a model may have several.
	MediaTypeLicense = "application/vnd.ollama.image.license"
	// MediaTypeTensor holds one safetensors tensor of Ollama's per-tensor
	// model layout; the layer's Name is the tensor name. Not GGUF.
	MediaTypeTensor = "application/vnd.ollama.image.tensor"
	// MediaTypeJSON holds a named JSON config file (layer Name is its path)
	// of a safetensors model.
	MediaTypeJSON = "application/vnd.ollama.image.json"
	// MediaTypeEmbed is deprecated (Ollama ignores such layers).
	MediaTypeEmbed = "application/vnd.ollama.image.embed"
)

// Layer is one blob reference of a manifest (also used for the config).
// Field order and tags match Ollama's so that a manifest we write is
// byte-identical to the one Ollama would write for the same content.
type Layer struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
	// From names the model the layer was inherited from, if any.
	From string `json:"from,omitempty"`
	// Name is the tensor or file name of tensor/json layers.
	Name string `json:"name,omitempty"`
}

// Manifest is a model manifest (Docker image manifest v2 JSON).
type Manifest struct {
	SchemaVersion int     `json:"schemaVersion"`
	MediaType     string  `json:"mediaType"`
	Config        Layer   `json:"config"`
	Layers        []Layer `json:"layers"`

	digest string // sha256 hex of the manifest file, set when read
}

// NewManifest returns a schema-2 manifest with the given config and layers.
func NewManifest(config Layer, layers ...Layer) *Manifest {
	return &Manifest{
		SchemaVersion: 2,
		MediaType:     MediaTypeManifest,
		Config:        config,
		Layers:        layers,
	}
}

// Digest returns the sha256 (hex, no prefix) of the manifest file as read
// from the store; Ollama's `list` shows its first 12 digits as the ID. It is
// empty for a manifest that was not read from a store.
func (m *Manifest) Digest() string { return m.digest }

// Size returns the total size of the config and all layers, as Ollama's
// `list` reports it.
func (m *Manifest) Size() int64 {
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n
}

// LayersOf returns the layers with the given media type, in order.
func (m *Manifest) LayersOf(mediaType string) []Layer {
	var out []Layer
	for _, l := range m.Layers {
		if l.MediaType == mediaType {
			out = append(out, l)
		}
	}
	return out
}

// encode returns the manifest as Ollama writes it: compact JSON followed by
// a newline (json.Encoder output).
func (m *Manifest) encode() ([]byte, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// validate checks the fields a reader relies on.
func (m *Manifest) validate() error {
	if m.SchemaVersion != 2 {
		return fmt.Errorf("schemaVersion %d, want 2", m.SchemaVersion)
	}
	if err := checkDigest(m.Config.Digest); m.Config.Digest != "" && err != nil {
		return fmt.Errorf("config: %w", err)
	}
	for i, l := range m.Layers {
		if err := checkDigest(l.Digest); err != nil {
			return fmt.Errorf("layer %d (%s): %w", i, l.MediaType, err)
		}
		if l.Size < 0 {
			return fmt.Errorf("layer %d (%s): negative size %d", i, l.MediaType, l.Size)
		}
	}
	return nil
}

// parseManifest decodes manifest JSON and validates it.
func parseManifest(b []byte) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	if err := m.validate(); err != nil {
		return nil, fmt.Errorf("invalid manifest: %w", err)
	}
	return &m, nil
}

// Config is the config blob Ollama writes (types/model.ConfigV2). Fields
// Golem does not use are kept so a rewritten config loses nothing Ollama
// reads.
type Config struct {
	ModelFormat   string   `json:"model_format"`
	ModelFamily   string   `json:"model_family"`
	ModelFamilies []string `json:"model_families"`
	ModelType     string   `json:"model_type"` // parameter size, e.g. "3.2B"
	FileType      string   `json:"file_type"`  // quantization, e.g. "Q4_K_M"
	Renderer      string   `json:"renderer,omitempty"`
	Parser        string   `json:"parser,omitempty"`
	Requires      string   `json:"requires,omitempty"`

	RemoteHost  string `json:"remote_host,omitempty"`
	RemoteModel string `json:"remote_model,omitempty"`

	Capabilities []string `json:"capabilities,omitempty"`
	ContextLen   int      `json:"context_length,omitempty"`
	EmbedLen     int      `json:"embedding_length,omitempty"`
	BaseName     string   `json:"base_name,omitempty"`
	Draft        *Draft   `json:"draft,omitempty"`

	Architecture string `json:"architecture"`
	OS           string `json:"os"`
	// RootFS is written by Ollama releases before Aug 2026 only.
	RootFS *RootFS `json:"rootfs,omitempty"`
}

// Draft describes a draft model stored in the same manifest.
type Draft struct {
	ModelFormat  string `json:"model_format,omitempty"`
	Architecture string `json:"architecture,omitempty"`
	TensorPrefix string `json:"tensor_prefix,omitempty"`
	Config       string `json:"config,omitempty"`
}

// RootFS is the OCI rootfs section older Ollama configs carry.
type RootFS struct {
	Type    string   `json:"type"`
	DiffIDs []string `json:"diff_ids"`
}

// IsGGUF reports whether the model layer is GGUF: Ollama treats an empty
// model_format as GGUF.
func (c *Config) IsGGUF() bool {
	return c.ModelFormat == "" || strings.EqualFold(c.ModelFormat, "gguf")
}

var digestRE = regexp.MustCompile(`^sha256[:-][0-9a-fA-F]{64}$`)

// checkDigest accepts "sha256:<64 hex>" (and Ollama's file form
// "sha256-<64 hex>").
func checkDigest(d string) error {
	if !digestRE.MatchString(d) {
		return fmt.Errorf("invalid digest %q: want sha256:<64 hex digits>", d)
	}
	return nil
}

// blobFileName maps a digest to its file name under blobs/: "sha256-<hex>",
// keeping the hex digits as written, as Ollama does (it always writes them
// in lower case).
func blobFileName(digest string) (string, error) {
	if err := checkDigest(digest); err != nil {
		return "", err
	}
	return "sha256-" + digest[7:], nil
}

// isBlobFileName reports whether a file in blobs/ is a finished blob.
// Temporary files never match.
func isBlobFileName(name string) bool {
	if len(name) != 7+64 || !strings.HasPrefix(name, "sha256-") {
		return false
	}
	for _, c := range name[7:] {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}
