package synth

import (
	"bytes"
	"crypto/sha256"
	"math"
	"path/filepath"
	"testing"

	"golem/gguf"
	"golem/model"
	"golem/tensor"
	"golem/tokenizer"
)

// TestTinyLoadsAndRuns writes each tiny preset in each mix, loads it with
// model.Load and checks that a short forward pass gives finite logits of
// a sensible size, that the tokenizer section loads and round-trips text,
// and that metadata and parameter counts match the preset.
func TestTinyLoadsAndRuns(t *testing.T) {
	dir := t.TempDir()
	for _, preset := range []string{"tiny", "tiny-qwen2"} {
		for _, mix := range MixNames() {
			t.Run(preset+"/"+mix, func(t *testing.T) {
				p, _ := LookupPreset(preset)
				m, _ := LookupMix(mix)
				path := filepath.Join(dir, preset+"-"+mix+".gguf")
				if err := WriteFile(path, p, m, 1); err != nil {
					t.Fatal(err)
				}
				f, err := gguf.Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if got := f.ParameterCount(); got != p.Params() {
					t.Errorf("parameters: file %d, preset %d", got, p.Params())
				}
				if ft, _ := f.Uint("general.file_type"); ft != uint64(m.FileType) {
					t.Errorf("general.file_type = %d, want %d", ft, m.FileType)
				}
				md, err := model.Load(f)
				if err != nil {
					t.Fatal(err)
				}
				cfg := md.Config()
				if cfg.VocabSize != p.Vocab || cfg.BlockCount != p.Layers || cfg.EmbeddingLength != p.Embd {
					t.Fatalf("config %+v does not match preset %+v", cfg, p)
				}
				c := md.NewCache(16)
				logits, err := md.Forward(c, []int32{int32(p.Vocab - 2), 5, 300, 17}, false)
				if err != nil {
					t.Fatal(err)
				}
				if len(logits) != p.Vocab {
					t.Fatalf("%d logits, want %d", len(logits), p.Vocab)
				}
				var sq float64
				for i, v := range logits {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("logit %d is %v", i, v)
					}
					sq += float64(v) * float64(v)
				}
				// Random weights of std 0.02 give logits of order one:
				// neither all zero nor exploding.
				if rms := math.Sqrt(sq / float64(len(logits))); rms < 1e-3 || rms > 100 {
					t.Errorf("logit RMS %g outside [1e-3, 100]", rms)
				}
				tok, err := tokenizer.FromGGUF(f)
				if err != nil {
					t.Fatalf("tokenizer: %v", err)
				}
				const text = "the synthetic\nmodel: 123 ü"
				ids := tok.Encode(text, false, false)
				if got := tok.Decode(ids); got != text {
					t.Errorf("tokenizer round trip: %q -> %v -> %q", text, ids, got)
				}
			})
		}
	}
}

// TestTensorTypes checks the per-tensor types against llama-quantize's
// rules for the real presets (computed without writing any data).
func TestTensorTypes(t *testing.T) {
	llama, _ := LookupPreset("llama3.2-1b")
	qwen, _ := LookupPreset("qwen2.5-0.5b")
	tests := []struct {
		preset Preset
		mix    string
		tensor string
		want   tensor.Type
	}{
		{llama, "Q4_0", "token_embd.weight", tensor.Q6_K},
		{llama, "Q4_0", "blk.0.attn_v.weight", tensor.Q4_0},
		{llama, "Q4_0", "blk.0.attn_norm.weight", tensor.F32},
		{llama, "Q8_0", "token_embd.weight", tensor.Q8_0},
		{llama, "F16", "token_embd.weight", tensor.F16},
		{llama, "F16", "output_norm.weight", tensor.F32},
		{llama, "Q4_K_M", "token_embd.weight", tensor.Q6_K},
		// 16 layers: use_more_bits picks 0, 1, 4, 7, 10, 13, 14, 15.
		{llama, "Q4_K_M", "blk.0.attn_v.weight", tensor.Q6_K},
		{llama, "Q4_K_M", "blk.1.ffn_down.weight", tensor.Q6_K},
		{llama, "Q4_K_M", "blk.2.attn_v.weight", tensor.Q4_K},
		{llama, "Q4_K_M", "blk.4.ffn_down.weight", tensor.Q6_K},
		{llama, "Q4_K_M", "blk.5.ffn_down.weight", tensor.Q4_K},
		{llama, "Q4_K_M", "blk.15.attn_v.weight", tensor.Q6_K},
		{llama, "Q4_K_M", "blk.3.attn_q.weight", tensor.Q4_K},
		// qwen2.5-0.5b: rows of 896 do not fill 256-blocks.
		{qwen, "Q4_K_M", "token_embd.weight", tensor.Q8_0},
		{qwen, "Q4_K_M", "blk.0.attn_q.weight", tensor.Q5_0},
		{qwen, "Q4_K_M", "blk.0.attn_q.bias", tensor.F32},
		{qwen, "Q4_K_M", "blk.0.attn_v.weight", tensor.Q8_0},
		{qwen, "Q4_K_M", "blk.3.attn_v.weight", tensor.Q5_0},
		{qwen, "Q4_K_M", "blk.0.ffn_down.weight", tensor.Q6_K},
		{qwen, "Q4_K_M", "blk.3.ffn_down.weight", tensor.Q4_K},
		{qwen, "Q4_0", "token_embd.weight", tensor.Q8_0},
	}
	for _, tc := range tests {
		m, ok := LookupMix(tc.mix)
		if !ok {
			t.Fatalf("no mix %s", tc.mix)
		}
		var found bool
		for _, ts := range tc.preset.tensors() {
			if ts.name != tc.tensor {
				continue
			}
			found = true
			got, err := m.tensorType(&tc.preset, ts)
			if err != nil || got != tc.want {
				t.Errorf("%s %s %s: got %s, %v; want %s", tc.preset.Name, tc.mix, tc.tensor, got, err, tc.want)
			}
		}
		if !found {
			t.Errorf("%s has no tensor %s", tc.preset.Name, tc.tensor)
		}
	}
}

// TestRealPresetParams checks the parameter counts of the real presets
// against the published ones (1.24B and 494M, embeddings counted once).
func TestRealPresetParams(t *testing.T) {
	for name, want := range map[string]int64{"llama3.2-1b": 1235814400, "qwen2.5-0.5b": 494032768} {
		p, _ := LookupPreset(name)
		if got := p.Params(); got != want {
			t.Errorf("%s: %d parameters, want %d", name, got, want)
		}
		if err := p.validate(); err != nil {
			t.Error(err)
		}
	}
}

// TestDeterministic checks that the same seed gives the same bytes and
// another seed different ones.
func TestDeterministic(t *testing.T) {
	p, _ := LookupPreset("tiny")
	m, _ := LookupMix("Q4_0")
	sum := func(seed uint64) [32]byte {
		w, err := NewWriter(p, m, seed)
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if _, err := w.WriteTo(&b); err != nil {
			t.Fatal(err)
		}
		return sha256.Sum256(b.Bytes())
	}
	a, b, c := sum(7), sum(7), sum(8)
	if a != b {
		t.Error("same seed gave different files")
	}
	if a == c {
		t.Error("different seeds gave the same file")
	}
}

// TestBadInput checks that invalid presets and mixes are refused with an
// error instead of a panic.
func TestBadInput(t *testing.T) {
	good, _ := LookupPreset("tiny")
	q40, _ := LookupMix("Q4_0")
	bad := []struct {
		name string
		edit func(*Preset)
	}{
		{"arch", func(p *Preset) { p.Arch = "gpt9" }},
		{"heads", func(p *Preset) { p.HeadsKV = 3 }},
		{"zero", func(p *Preset) { p.Layers = 0 }},
		{"vocab", func(p *Preset) { p.Vocab = 100 }},
		{"rows", func(p *Preset) { p.Embd = 200; p.Heads = 4; p.HeadsKV = 2 }}, // 200 % 32 != 0
	}
	for _, tc := range bad {
		p := good
		tc.edit(&p)
		if _, err := NewWriter(p, q40, 1); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	if _, ok := LookupMix("Q3_XYZ"); ok {
		t.Error("unknown mix accepted")
	}
	if _, ok := LookupPreset("nope"); ok {
		t.Error("unknown preset accepted")
	}
}
