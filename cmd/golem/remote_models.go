package main

// This file holds the server side of the store commands: when a `golem
// serve` answers at GOLEM_HOST (or OLLAMA_HOST), `golem create`, `show`,
// `list`, `cp` and `rm` go through its API, as Ollama's CLI always does,
// so that the server's store (which may be on another machine or owned by
// another user) is the one changed. With no server they work on the local
// store directly.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"golem/api"
	"golem/client"
	"golem/modelfile"
	"golem/models"
	"golem/quantize"
	"golem/store"
)

// storeServer returns a client of the server at GOLEM_HOST when one
// answers the version probe, else nil: the caller then works offline.
func storeServer(ctx context.Context) *client.Client {
	c, err := client.FromEnv()
	if err != nil {
		return nil
	}
	if probe(ctx, c) != nil {
		return nil
	}
	return c
}

// remoteError turns an API error into the CLI's error for name: a 404 is
// the offline "model not found" with its hint, other errors say which
// server answered.
func remoteError(c *client.Client, name string, err error) error {
	var se api.StatusError
	if errors.As(err, &se) && se.StatusCode == 404 {
		return notFoundHint(fmt.Errorf("%w: %s (server %s: %s)", store.ErrNotFound, name, c.URL(), se.ErrorMessage))
	}
	return fmt.Errorf("%s: server %s: %w", name, c.URL(), noServerError(c, err))
}

// listRemote prints the server's models (/api/tags) as `golem list` prints
// the local store.
func listRemote(ctx context.Context, c *client.Client, out io.Writer, prefix string, now time.Time) error {
	resp, err := c.List(ctx)
	if err != nil {
		return fmt.Errorf("list: server %s: %w", c.URL(), noServerError(c, err))
	}
	ms := append([]api.ListModelResponse(nil), resp.Models...)
	sort.SliceStable(ms, func(i, j int) bool { return ms[i].ModifiedAt.After(ms[j].ModifiedAt) })
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tSIZE\tMODIFIED")
	for _, m := range ms {
		if prefix != "" && !strings.HasPrefix(strings.ToLower(m.Name), strings.ToLower(prefix)) {
			continue
		}
		id := strings.TrimPrefix(m.Digest, "sha256:")
		if len(id) > 12 {
			id = id[:12]
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.Name, id, humanBytes(m.Size), humanTime(m.ModifiedAt, now))
	}
	return tw.Flush()
}

// copyRemote runs /api/copy.
func copyRemote(ctx context.Context, c *client.Client, out io.Writer, src, dst string) error {
	if err := c.Copy(ctx, &api.CopyRequest{Source: src, Destination: dst}); err != nil {
		return remoteError(c, src, err)
	}
	fmt.Fprintf(out, "copied '%s' to '%s'\n", src, dst)
	return nil
}

// removeRemote deletes each name through /api/delete. As offline, every
// name is checked first (against /api/tags) so that an unknown name
// removes nothing.
func removeRemote(ctx context.Context, c *client.Client, out io.Writer, names []string) error {
	resp, err := c.List(ctx)
	if err != nil {
		return fmt.Errorf("rm: server %s: %w", c.URL(), noServerError(c, err))
	}
	var bad []string
	for _, name := range names {
		n, err := store.ParseName(name)
		found := false
		for _, m := range resp.Models {
			found = found || (err == nil && strings.EqualFold(m.Name, n.Display()))
		}
		if !found {
			bad = append(bad, fmt.Sprintf("%q", name))
		}
	}
	if len(bad) > 0 {
		return notFoundHint(fmt.Errorf("delete: %w: %s on server %s (nothing was deleted)", store.ErrNotFound, strings.Join(bad, ", "), c.URL()))
	}
	done := map[string]bool{}
	for _, name := range names {
		n, _ := store.ParseName(name)
		key := strings.ToLower(n.Display())
		if !done[key] {
			if err := c.Delete(ctx, &api.DeleteRequest{Model: name}); err != nil {
				return remoteError(c, name, err)
			}
			done[key] = true
		}
		fmt.Fprintf(out, "deleted '%s'\n", name)
	}
	return nil
}

// showRemote prints what showStoredModel prints, from /api/show.
func showRemote(ctx context.Context, c *client.Client, out io.Writer, name string, fl ShowFlags) error {
	resp, err := c.Show(ctx, &api.ShowRequest{Model: name, Verbose: fl.Verbose})
	if err != nil {
		return remoteError(c, name, err)
	}
	switch {
	case fl.Modelfile:
		_, err = fmt.Fprint(out, resp.Modelfile)
		return err
	case fl.Parameters:
		if resp.Parameters == "" {
			_, err = fmt.Fprintln(out, "No parameters were specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, resp.Parameters)
		return err
	case fl.Template:
		if resp.Template == "" {
			_, err = fmt.Fprintln(out, "No template was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, resp.Template)
		return err
	case fl.System:
		if resp.System == "" {
			_, err = fmt.Fprintln(out, "No system message was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, resp.System)
		return err
	case fl.License:
		if resp.License == "" {
			_, err = fmt.Fprintln(out, "No license was specified for this model.")
			return err
		}
		_, err = fmt.Fprintln(out, resp.License)
		return err
	}
	return printRemoteSummary(out, resp, fl.Verbose)
}

// printRemoteSummary lays out a /api/show answer as printSummary lays out
// a local model: Model, Capabilities, Parameters, System, License and,
// with verbose, Metadata sections.
func printRemoteSummary(out io.Writer, r *api.ShowResponse, verbose bool) error {
	tw := tabwriter.NewWriter(out, 0, 0, 4, ' ', 0)
	section := func(title string, rows [][]string) {
		if len(rows) == 0 {
			return
		}
		fmt.Fprintf(tw, "  %s\n", title)
		for _, row := range rows {
			fmt.Fprintf(tw, "    %s\n", strings.Join(row, "\t"))
		}
		fmt.Fprintln(tw)
	}
	arch, _ := r.ModelInfo["general.architecture"].(string)
	if arch == "" {
		arch = r.Details.Family
	}
	rows := [][]string{{"architecture", orUnknown(arch)}}
	if r.Details.ParameterSize != "" {
		rows = append(rows, []string{"parameters", r.Details.ParameterSize})
	}
	for _, k := range []string{"context_length", "embedding_length"} {
		if v, ok := r.ModelInfo[arch+"."+k].(float64); ok {
			rows = append(rows, []string{strings.ReplaceAll(k, "_", " "), strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	rows = append(rows, []string{"quantization", r.Details.QuantizationLevel})
	section("Model", rows)
	var caps [][]string
	for _, c := range r.Capabilities {
		caps = append(caps, []string{c})
	}
	section("Capabilities", caps)
	var prow [][]string
	for _, line := range strings.Split(r.Parameters, "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			prow = append(prow, []string{f[0], strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(line), f[0]))})
		}
	}
	section("Parameters", prow)
	if r.System != "" {
		section("System", [][]string{{firstLines(r.System, 2)}})
	}
	if r.License != "" {
		section("License", [][]string{{firstLines(r.License, 2)}})
	}
	if verbose {
		keys := make([]string, 0, len(r.ModelInfo))
		for k := range r.ModelInfo {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var meta [][]string
		for _, k := range keys {
			v := fmt.Sprint(r.ModelInfo[k])
			switch a := r.ModelInfo[k].(type) {
			case []any:
				v = fmt.Sprintf("[%d values]", len(a))
			case float64:
				v = strconv.FormatFloat(a, 'f', -1, 64)
			}
			if len(v) > 80 {
				v = v[:77] + "..."
			}
			meta = append(meta, []string{k, strings.ReplaceAll(v, "\n", `\n`)})
		}
		section("Metadata", meta)
	}
	return tw.Flush()
}

// createRemote creates model name on the server from the Modelfile at
// path, as Ollama's CLI does: the Modelfile is parsed here, a local GGUF
// file (or directory holding one) named by FROM or ADAPTER is uploaded as
// a blob unless the server has it (progress on log), and /api/create gets
// the blob digests and the Modelfile's template, system, license,
// parameters and messages; its progress statuses are printed to log.
func createRemote(ctx context.Context, c *client.Client, name, path, quant string, log io.Writer) error {
	if _, err := store.ParseName(name); err != nil {
		return fmt.Errorf("invalid model name %q: %w", name, err)
	}
	if quant != "" {
		if _, err := quantize.ParseFileType(quant); err != nil {
			return err
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("no Modelfile at %s (pass one with -f FILE)", path)
		}
		return err
	}
	mf, err := modelfile.Parse(fh)
	fh.Close()
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	// A PRESET is expanded here, with this machine's presets and example
	// files, into the SYSTEM, PARAMETERs and MESSAGEs the request carries.
	if mf, err = models.ExpandPreset(mf, nil, filepath.Dir(path)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	req, err := createRequest(ctx, c, name, mf, filepath.Dir(path), quant, log)
	if err != nil {
		return err
	}
	rep := models.TextReporter(log)
	last := ""
	err = c.Create(ctx, req, func(p api.ProgressResponse) error {
		if p.Total > 0 {
			rep.Progress(p.Status, p.Completed, p.Total)
			return nil
		}
		if p.Status != last {
			rep.Status(p.Status)
			last = p.Status
		}
		return nil
	})
	if err != nil {
		return remoteError(c, name, err)
	}
	return nil
}

// createRequest builds the /api/create body for a parsed Modelfile whose
// relative paths are relative to dir, uploading the local files it names.
func createRequest(ctx context.Context, c *client.Client, name string, mf *modelfile.Modelfile, dir, quant string, log io.Writer) (*api.CreateRequest, error) {
	from := mf.From()
	if from == "" {
		return nil, modelfile.ErrNoFrom
	}
	if _, ok := mf.Last(modelfile.Draft); ok {
		return nil, errors.New("DRAFT (a draft model for speculative decoding) is not supported by golem create yet; remove that line")
	}
	for _, ins := range []string{modelfile.Renderer, modelfile.Parser, modelfile.Requires} {
		if _, ok := mf.Last(ins); ok {
			fmt.Fprintf(log, "warning: %s is not part of the /api/create request and is ignored by the server\n", ins)
		}
	}
	req := &api.CreateRequest{Model: name, Quantize: quant}
	if p := localPath(from, dir); p != "" && !strings.HasPrefix(from, "sha256:") {
		g, digest, err := uploadGGUF(ctx, c, p, log)
		if err != nil {
			return nil, fmt.Errorf("FROM %s: %w", from, err)
		}
		req.Files = map[string]string{filepath.Base(g): digest}
	} else {
		req.From = from
	}
	for i, a := range mf.Values(modelfile.Adapter) {
		if req.Adapters == nil {
			req.Adapters = map[string]string{}
		}
		key := fmt.Sprintf("%03d-%s", i, filepath.Base(a))
		if strings.HasPrefix(a, "sha256:") {
			req.Adapters[key] = a
			continue
		}
		p := localPath(a, dir)
		if p == "" {
			return nil, fmt.Errorf("ADAPTER %s: no such file", a)
		}
		_, digest, err := uploadGGUF(ctx, c, p, log)
		if err != nil {
			return nil, fmt.Errorf("ADAPTER %s: %w", a, err)
		}
		req.Adapters[key] = digest
	}
	req.Template, _ = mf.Last(modelfile.Template)
	req.System, _ = mf.Last(modelfile.System)
	var lic []string
	for _, l := range mf.Values(modelfile.License) {
		if l != "" {
			lic = append(lic, l)
		}
	}
	if len(lic) > 0 {
		req.License = lic
	}
	opts, err := mf.Options()
	if err != nil {
		return nil, err
	}
	if len(opts) > 0 {
		req.Parameters = opts
	}
	for _, m := range mf.Messages() {
		req.Messages = append(req.Messages, api.Message{Role: m.Role, Content: m.Content})
	}
	return req, nil
}

// localPath resolves a Modelfile path (~ is the home directory, relative
// paths are relative to dir) and returns it when it exists, else "".
func localPath(p, dir string) string {
	if p == "~" || strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[1:])
		}
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	if _, err := os.Stat(p); err != nil {
		return ""
	}
	return p
}

// uploadGGUF finds the GGUF file p names (p itself, or the one .gguf file
// in directory p), hashes it and uploads it as a blob unless the server
// has it, printing progress to log. It returns the file and its digest.
func uploadGGUF(ctx context.Context, c *client.Client, p string, log io.Writer) (string, string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return "", "", err
	}
	if fi.IsDir() {
		matches, err := filepath.Glob(filepath.Join(p, "*.gguf"))
		if err != nil {
			return "", "", err
		}
		if len(matches) != 1 {
			return "", "", fmt.Errorf("directory %s holds %d .gguf files; want exactly one (name it in the Modelfile)", p, len(matches))
		}
		p = matches[0]
	}
	f, err := os.Open(p)
	if err != nil {
		return "", "", err
	}
	defer f.Close()
	magic := make([]byte, 4)
	if _, err := io.ReadFull(f, magic); err != nil || string(magic) != "GGUF" {
		return "", "", fmt.Errorf("%s is not a GGUF file", p)
	}
	if fi, err = f.Stat(); err != nil {
		return "", "", err
	}
	rep := models.TextReporter(log)
	h := sha256.New()
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	if _, err := io.Copy(h, &countingReader{r: f, total: fi.Size(), status: "hashing " + filepath.Base(p), rep: rep}); err != nil {
		return "", "", fmt.Errorf("hashing %s: %w", p, err)
	}
	digest := "sha256:" + hex.EncodeToString(h.Sum(nil))
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return "", "", err
	}
	body := &countingReader{r: f, total: fi.Size(), status: "copying file " + digest, rep: rep}
	if err := c.CreateBlob(ctx, digest, body); err != nil {
		return "", "", fmt.Errorf("uploading %s to %s: %w", p, c.URL(), noServerError(c, err))
	}
	fmt.Fprintln(log) // end the progress line
	return p, digest, nil
}

// countingReader reports the bytes read through it as progress.
type countingReader struct {
	r      io.Reader
	done   int64
	total  int64
	status string
	rep    *models.Reporter
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	r.done += int64(n)
	if n > 0 {
		r.rep.Progress(r.status, r.done, r.total)
	}
	return n, err
}
