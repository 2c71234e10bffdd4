package gguf

import (
	"testing"

	"golem/internal/fixtures"
)

func TestFormatParamCount(t *testing.T) {
	// Ollama's format.HumanNumber cases, plus model sizes as Ollama shows them.
	cases := []struct {
		n    int64
		want string
	}{
		{0, "0"},
		{999, "999"},
		{1000, "1K"},
		{1001, "1K"},
		{292800, "293K"},
		{1000000, "1M"},
		{125000000, "125M"},
		{494032768, "494.03M"},
		{500500000, "500.5M"},
		{500550000, "500.55M"},
		{1000000000, "1B"},
		{1235814400, "1.24B"},
		{2800000000, "2.8B"},
		{2850000000, "2.85B"},
		{8030261248, "8.03B"},
		{1000000000000, "1000B"},
	}
	for _, tc := range cases {
		if got := FormatParamCount(tc.n); got != tc.want {
			t.Errorf("FormatParamCount(%d) = %q, want %q", tc.n, got, tc.want)
		}
	}
}

func TestFileTypeName(t *testing.T) {
	cases := []struct {
		ft   uint32
		want string
	}{
		{0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {3, "Q4_1"}, {7, "Q8_0"}, {8, "Q5_0"},
		{9, "Q5_1"}, {10, "Q2_K"}, {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"},
		{14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},
		{19, "IQ2_XXS"}, {20, "IQ2_XS"}, {21, "Q2_K_S"}, {22, "IQ3_XS"}, {23, "IQ3_XXS"},
		{24, "IQ1_S"}, {25, "IQ4_NL"}, {26, "IQ3_S"}, {27, "IQ3_M"}, {28, "IQ2_S"},
		{29, "IQ2_M"}, {30, "IQ4_XS"}, {31, "IQ1_M"}, {32, "BF16"}, {36, "TQ1_0"},
		{37, "TQ2_0"}, {38, "MXFP4_MOE"},
		{1024 + 15, "Q4_K_M (guessed)"},
		{999, "unknown(999)"},
	}
	for _, tc := range cases {
		if got := FileTypeName(tc.ft); got != tc.want {
			t.Errorf("FileTypeName(%d) = %q, want %q", tc.ft, got, tc.want)
		}
	}
}

// TestFixtureFileTypes checks general.file_type of the quantized fixtures
// against the quantization named in their file names.
func TestFixtureFileTypes(t *testing.T) {
	for _, name := range []string{
		"F16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "IQ4_NL", "IQ4_XS",
		"Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K",
	} {
		f, err := Open(fixtures.Path(t, "models/quant/llama-q256-"+name+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.FileType(); got != name {
			t.Errorf("llama-q256-%s.gguf: FileType = %q", name, got)
		}
		f.Close()
	}
}
