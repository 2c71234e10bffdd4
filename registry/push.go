package registry

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"

	"golem/api"
	"golem/store"
)

// Push uploads the model name from st to the registry its name points at
// (see [ParseRef]): every blob the registry lacks (checked with HEAD),
// mounted from another repository of the same registry when one is known
// to hold it (the layer's "from" model, or another local model pulled from
// or pushed to that registry), else uploaded through an upload session in
// chunks; then the manifest, byte for byte as stored. progress may be nil.
func (c *Client) Push(ctx context.Context, st *store.Store, name string, progress ProgressFunc) error {
	if progress == nil {
		progress = func(api.ProgressResponse) {}
	}
	ref, err := ParseRef(name, c.Insecure)
	if err != nil {
		return err
	}
	progress(api.ProgressResponse{Status: "retrieving manifest"})
	raw, n, err := st.ManifestBytes(name)
	if err != nil {
		return fmt.Errorf("registry: push %s: %w", name, err)
	}
	ref.Name = n
	m, err := store.ParseManifest(raw)
	if err != nil {
		return fmt.Errorf("registry: push %s: %w", n.Display(), err)
	}
	var layers []store.Layer
	if m.Config.Digest != "" {
		layers = append(layers, m.Config)
	}
	seen := map[string]bool{}
	for _, l := range append(layers, m.Layers...) {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		if err := c.pushBlob(ctx, st, ref, l, mountSources(st, ref, l), progress); err != nil {
			return fmt.Errorf("registry: push %s: blob %s: %w", n.Display(), short(l.Digest), err)
		}
	}
	progress(api.ProgressResponse{Status: "pushing manifest"})
	mt := m.MediaType
	if mt == "" {
		mt = mediaTypeDockerManifest
	}
	resp, err := c.send(ctx, ref, request{
		method: "PUT",
		url:    ref.URL("manifests", n.Tag),
		header: http.Header{"Content-Type": {mt}},
		body:   func() io.Reader { return bytes.NewReader(raw) },
		size:   int64(len(raw)),
		push:   true,
	})
	if err != nil {
		return fmt.Errorf("registry: push %s: manifest: %w", n.Display(), err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("registry: push %s: manifest: %w", n.Display(), statusError(resp))
	}
	resp.Body.Close()
	progress(api.ProgressResponse{Status: "success"})
	return nil
}

// mountSources lists repositories ("namespace/model") of ref's registry
// that should hold blob l: the model the layer came from, then other local
// models of the same host that use it. At most 3 are tried.
func mountSources(st *store.Store, ref Ref, l store.Layer) []string {
	var out []string
	add := func(n store.Name) {
		repo := n.Namespace + "/" + n.Model
		if !strings.EqualFold(n.Host, ref.Name.Host) || strings.EqualFold(repo, ref.Repo()) || len(out) >= 3 {
			return
		}
		for _, o := range out {
			if strings.EqualFold(o, repo) {
				return
			}
		}
		out = append(out, repo)
	}
	if l.From != "" {
		if n, err := store.ParseName(l.From); err == nil {
			add(n)
		}
	}
	models, err := st.List()
	if err != nil {
		return out
	}
	for _, mo := range models {
		if !strings.EqualFold(mo.Name.Host, ref.Name.Host) {
			continue
		}
		m, err := st.Manifest(mo.Name.String())
		if err != nil {
			continue
		}
		for _, ml := range append([]store.Layer{m.Config}, m.Layers...) {
			if ml.Digest == l.Digest {
				add(mo.Name)
				break
			}
		}
	}
	return out
}

// pushBlob makes sure the registry has blob l in ref's repository.
func (c *Client) pushBlob(ctx context.Context, st *store.Store, ref Ref, l store.Layer, mounts []string, progress ProgressFunc) error {
	status := "pushing " + short(l.Digest)
	done := func() {
		progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: l.Size})
	}
	progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size})
	resp, err := c.send(ctx, ref, request{method: "HEAD", url: ref.URL("blobs", l.Digest), push: true})
	if err != nil {
		return fmt.Errorf("check blob: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		done()
		return nil
	}

	// Start an upload session, by mounting the blob from another
	// repository if the registry agrees (201), else a plain one (202).
	var loc *url.URL
	uploads := ref.URL("blobs", "uploads/")
	for _, from := range mounts {
		u := uploads + "?mount=" + url.QueryEscape(l.Digest) + "&from=" + url.QueryEscape(from)
		resp, err := c.send(ctx, ref, request{method: "POST", url: u, body: func() io.Reader { return http.NoBody }, push: true})
		if err != nil {
			continue
		}
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusCreated:
			done()
			return nil
		case http.StatusAccepted:
			if loc, err = resp.Location(); err != nil {
				return fmt.Errorf("upload session without Location: %w", err)
			}
		}
		if loc != nil {
			break
		}
	}
	if loc == nil {
		resp, err := c.send(ctx, ref, request{method: "POST", url: uploads, body: func() io.Reader { return http.NoBody }, push: true})
		if err != nil {
			return fmt.Errorf("start upload: %w", err)
		}
		if resp.StatusCode != http.StatusAccepted {
			return fmt.Errorf("start upload: %w", statusError(resp))
		}
		resp.Body.Close()
		if loc, err = resp.Location(); err != nil {
			return fmt.Errorf("upload session without Location: %w", err)
		}
	}

	path, err := st.BlobPath(l.Digest)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("open blob: %w", err)
	}
	defer f.Close()
	chunk := orDefault(c.ChunkSize, DefaultChunkSize)
	var off int64
	for off < l.Size {
		n := min(chunk, l.Size-off)
		start := off
		resp, err := c.send(ctx, ref, request{
			method: "PATCH",
			url:    loc.String(),
			header: http.Header{
				"Content-Type":  {"application/octet-stream"},
				"Content-Range": {fmt.Sprintf("%d-%d", start, start+n-1)},
			},
			body: func() io.Reader { return io.NewSectionReader(f, start, n) },
			size: n,
			push: true,
		})
		if err != nil {
			return fmt.Errorf("upload bytes %d-%d: %w", start, start+n-1, err)
		}
		switch resp.StatusCode {
		case http.StatusAccepted, http.StatusNoContent, http.StatusCreated:
			resp.Body.Close()
			if u, err := resp.Location(); err == nil {
				loc = u
			}
			off += n
		case http.StatusRequestedRangeNotSatisfiable:
			// A retried chunk the registry partly took: ask where it is.
			resp.Body.Close()
			if off, loc, err = c.uploadStatus(ctx, ref, loc); err != nil {
				return err
			}
		default:
			return fmt.Errorf("upload bytes %d-%d: %w", start, start+n-1, statusError(resp))
		}
		progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: off})
	}

	q := loc.Query()
	q.Set("digest", l.Digest)
	fin := *loc
	fin.RawQuery = q.Encode()
	resp, err = c.send(ctx, ref, request{method: "PUT", url: fin.String(), body: func() io.Reader { return http.NoBody }, push: true})
	if err != nil {
		return fmt.Errorf("finish upload: %w", err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("finish upload: %w", statusError(resp))
	}
	resp.Body.Close()
	done()
	return nil
}

// uploadStatus asks the registry how much of an upload session it holds
// (GET on the session: 204 with "Range: 0-<last>").
func (c *Client) uploadStatus(ctx context.Context, ref Ref, loc *url.URL) (int64, *url.URL, error) {
	resp, err := c.send(ctx, ref, request{method: "GET", url: loc.String(), push: true})
	if err != nil {
		return 0, nil, fmt.Errorf("upload status: %w", err)
	}
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusAccepted {
		return 0, nil, fmt.Errorf("upload status: %w", statusError(resp))
	}
	resp.Body.Close()
	if u, err := resp.Location(); err == nil {
		loc = u
	}
	r := resp.Header.Get("Range")
	if r == "" {
		return 0, loc, nil
	}
	_, last, ok := strings.Cut(strings.TrimPrefix(r, "bytes="), "-")
	n, err := strconv.ParseInt(last, 10, 64)
	if !ok || err != nil {
		return 0, nil, fmt.Errorf("upload status: bad Range %q", r)
	}
	return n + 1, loc, nil
}
