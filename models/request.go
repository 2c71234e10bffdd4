package models

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"golem/api"
	"golem/modelfile"
)

// FromRequest turns the JSON body of /api/create into the Modelfile it
// stands for, so that the server creates models with the same Create as
// `golem create`: files (uploaded blobs) or from become FROM, adapters
// ADAPTER, and template, system, license, parameters and messages their
// instructions. A parameter's values are written as PARAMETER text and
// parsed back as a Modelfile's are, so the params layer is the same.
func FromRequest(req *api.CreateRequest) (*modelfile.Modelfile, error) {
	var cmds []modelfile.Command
	add := func(ins, name, val string) {
		cmds = append(cmds, modelfile.Command{Instruction: ins, Name: name, Value: val})
	}
	switch {
	case len(req.Files) > 0 && req.From != "":
		return nil, invalidf("give either from or files, not both")
	case len(req.Files) > 1:
		return nil, invalidf("files: %d files given; only one GGUF file per model is supported", len(req.Files))
	case len(req.Files) == 1:
		for fname, digest := range req.Files {
			if !strings.HasSuffix(strings.ToLower(fname), ".gguf") {
				return nil, invalidf("files: %s: only GGUF files are supported (safetensors import is not)", fname)
			}
			add(modelfile.From, "", blobRef(digest))
		}
	case req.From != "":
		add(modelfile.From, "", req.From)
	default:
		return nil, invalidf("neither 'from' nor 'files' was specified")
	}
	names := make([]string, 0, len(req.Adapters))
	for k := range req.Adapters {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		add(modelfile.Adapter, "", blobRef(req.Adapters[k]))
	}
	if req.Template != "" {
		add(modelfile.Template, "", req.Template)
	}
	if req.System != "" {
		add(modelfile.System, "", req.System)
	}
	switch lic := req.License.(type) {
	case nil:
	case string:
		add(modelfile.License, "", lic)
	case []string:
		for _, l := range lic {
			add(modelfile.License, "", l)
		}
	case []any:
		for _, e := range lic {
			s, ok := e.(string)
			if !ok {
				return nil, invalidf("license: want a string or a list of strings")
			}
			add(modelfile.License, "", s)
		}
	default:
		return nil, invalidf("license: want a string or a list of strings")
	}
	keys := make([]string, 0, len(req.Parameters))
	for k := range req.Parameters {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		var vals []any
		switch v := req.Parameters[k].(type) {
		case []any:
			vals = v
		case []string:
			for _, s := range v {
				vals = append(vals, s)
			}
		default:
			vals = []any{v}
		}
		for _, v := range vals {
			text := paramText(v)
			if _, err := modelfile.ParseParameter(k, text); err != nil {
				return nil, invalidf("parameters: %v", err)
			}
			add(modelfile.Parameter, k, text)
		}
	}
	for _, m := range req.Messages {
		add(modelfile.Message, m.Role, m.Content)
	}
	return &modelfile.Modelfile{Commands: cmds}, nil
}

// paramText writes a JSON parameter value as PARAMETER text; numbers in
// plain decimal (1000000, not 1e+06) so that integer parameters parse.
func paramText(v any) string {
	if f, ok := v.(float64); ok {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}

// blobRef normalizes an uploaded blob's digest ("sha256-<hex>" as in blob
// file names, or "sha256:<hex>") to the sha256:<hex> FROM accepts.
func blobRef(d string) string {
	if rest, ok := strings.CutPrefix(d, "sha256-"); ok {
		return "sha256:" + rest
	}
	return d
}
