package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golem/api"
	"golem/store"
)

// ErrNotFound is wrapped by errors about models or blobs the registry does
// not have.
var ErrNotFound = errors.New("not found in registry")

// ProgressFunc receives progress lines as Ollama's /api/pull and /api/push
// stream them. It is called from one goroutine at a time.
type ProgressFunc func(api.ProgressResponse)

// progressInterval is how often a transfer reports its byte count.
const progressInterval = 200 * time.Millisecond

// short returns the 12 hex digits Ollama prints for a digest.
func short(digest string) string {
	d := strings.TrimPrefix(digest, "sha256:")
	return d[:min(12, len(d))]
}

// Pull downloads the model name (see [ParseRef]) into st: the manifest,
// then every blob the store lacks, then, once all are verified, the
// manifest itself, byte for byte as the registry served it. An interrupted
// pull leaves partial blobs that the next Pull of any model using them
// resumes; nothing unverified ever becomes visible in the store. progress
// may be nil.
func (c *Client) Pull(ctx context.Context, st *store.Store, name string, progress ProgressFunc) error {
	if progress == nil {
		progress = func(api.ProgressResponse) {}
	}
	ref, err := ParseRef(name, c.Insecure)
	if err != nil {
		return err
	}
	progress(api.ProgressResponse{Status: "pulling manifest"})
	raw, m, err := c.fetchManifest(ctx, ref)
	if err != nil {
		return err
	}
	var (
		layers  []store.Layer
		seen    = map[string]bool{}
		pending []store.Layer // downloaded, to verify and commit
	)
	all := m.Layers
	if m.Config.Digest != "" {
		all = append([]store.Layer{m.Config}, all...)
	}
	for _, l := range all {
		if !seen[l.Digest] {
			seen[l.Digest] = true
			layers = append(layers, l)
		}
	}
	unlock, err := lockBlobs(ctx, st, layers)
	if err != nil {
		return err
	}
	defer unlock()
	for _, l := range layers {
		got, err := c.pullBlob(ctx, st, ref, l, progress)
		if err != nil {
			return fmt.Errorf("registry: pull %s: %w", ref.Name.Display(), err)
		}
		if got {
			pending = append(pending, l)
		}
	}
	// Verify every download; the good ones become blobs even if another
	// is corrupt (it is removed, so the next pull fetches it afresh).
	progress(api.ProgressResponse{Status: "verifying sha256 digest"})
	var bad []error
	for _, l := range pending {
		partial, err := st.PartialBlobPath(l.Digest)
		if err != nil {
			return err
		}
		err = st.CommitBlob(partial, l.Digest, l.Size)
		os.Remove(statePath(partial))
		if err != nil {
			bad = append(bad, err)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("registry: pull %s: %w", ref.Name.Display(), errors.Join(bad...))
	}
	progress(api.ProgressResponse{Status: "writing manifest"})
	if err := st.WriteManifestBytes(ref.Name.String(), raw); err != nil {
		return fmt.Errorf("registry: pull %s: %w", ref.Name.Display(), err)
	}
	progress(api.ProgressResponse{Status: "success"})
	return nil
}

// blobLocks serializes pulls of the same blob into the same store within
// this process (two /api/pull requests for one model): the second waits
// and then finds the blob committed. Keys are partial-file paths; values
// are 1-slot channels, so waiting can be cancelled.
var blobLocks sync.Map

// lockBlobs takes the locks of layers' blobs in sorted order (no deadlock
// between pulls sharing blobs) and returns the function releasing them.
func lockBlobs(ctx context.Context, st *store.Store, layers []store.Layer) (func(), error) {
	var keys []string
	for _, l := range layers {
		p, err := st.PartialBlobPath(l.Digest)
		if err != nil {
			return nil, err
		}
		keys = append(keys, p)
	}
	sort.Strings(keys)
	var held []chan struct{}
	unlock := func() {
		for _, c := range held {
			<-c
		}
	}
	for _, k := range keys {
		v, _ := blobLocks.LoadOrStore(k, make(chan struct{}, 1))
		c := v.(chan struct{})
		select {
		case c <- struct{}{}:
			held = append(held, c)
		case <-ctx.Done():
			unlock()
			return nil, ctx.Err()
		}
	}
	return unlock, nil
}

// fetchManifest gets and validates the manifest of ref.
func (c *Client) fetchManifest(ctx context.Context, ref Ref) ([]byte, *store.Manifest, error) {
	resp, err := c.send(ctx, ref, request{
		method: "GET",
		url:    ref.URL("manifests", ref.Name.Tag),
		header: http.Header{"Accept": {mediaTypeDockerManifest + ", " + mediaTypeOCIManifest}},
	})
	if err != nil {
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: %w", ref.Name.Display(), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		resp.Body.Close()
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: model %w (%s)", ref.Name.Display(), ErrNotFound, ref.URL("manifests", ref.Name.Tag))
	}
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: %w", ref.Name.Display(), statusError(resp))
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxManifestSize+1))
	if err != nil {
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: %w", ref.Name.Display(), err)
	}
	if len(b) > maxManifestSize {
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: larger than %d bytes", ref.Name.Display(), maxManifestSize)
	}
	if d := resp.Header.Get("Docker-Content-Digest"); strings.HasPrefix(d, "sha256:") {
		sum := sha256.Sum256(b)
		if got := hex.EncodeToString(sum[:]); !strings.EqualFold(d[7:], got) {
			return nil, nil, fmt.Errorf("registry: pull manifest of %s: registry says digest %s, content hashes to sha256:%s", ref.Name.Display(), d, got)
		}
	}
	m, err := store.ParseManifest(b)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: pull manifest of %s: %w", ref.Name.Display(), err)
	}
	return b, m, nil
}

// statePath is the download state saved next to a partial blob. Its name
// starts with the partial's, hence with the store's temporary prefix.
// writePartial writes downloaded bytes into the partial blob; a variable
// so tests can make the disk fill up.
var writePartial = func(f *os.File, b []byte, off int64) (int, error) { return f.WriteAt(b, off) }

func statePath(partial string) string { return partial + ".json" }

// part is one byte range [off, end) of a blob download; done bytes from
// off are on disk.
type part struct {
	off, end int64
	done     atomic.Int64
}

// savedPart is a part as the state file records it.
type savedPart struct {
	Off  int64 `json:"off"`
	End  int64 `json:"end"`
	Done int64 `json:"done"`
}

// downloadState is the JSON saved next to a partial blob so that a later
// pull resumes each part where it stopped.
type downloadState struct {
	Digest string      `json:"digest"`
	Size   int64       `json:"size"`
	Parts  []savedPart `json:"parts"`
}

// planParts splits a blob of size bytes into download parts.
func (c *Client) planParts(size int64) []*part {
	th := orDefault(c.PartThreshold, DefaultPartThreshold)
	n := int64(1)
	if size > th {
		lo := int64(orDefault(c.MinParts, DefaultMinParts))
		hi := int64(orDefault(c.MaxParts, DefaultMaxParts))
		n = min(max(size/th, lo), max(hi, lo))
	}
	parts := make([]*part, 0, n)
	step := (size + n - 1) / n
	if step >= largePart {
		step = (step + writeBlock - 1) / writeBlock * writeBlock // parts start on write blocks
	}
	for off := int64(0); off < size; off += step {
		parts = append(parts, &part{off: off, end: min(off+step, size)})
	}
	return parts
}

// loadParts reads the saved state of a partial download of l, returning
// nil when there is none or it does not fit (then the download restarts).
func loadParts(path, partial string, l store.Layer) []*part {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s downloadState
	if json.Unmarshal(b, &s) != nil || s.Digest != l.Digest || s.Size != l.Size || len(s.Parts) == 0 {
		return nil
	}
	if fi, err := os.Stat(partial); err != nil || fi.Size() != l.Size {
		return nil
	}
	var parts []*part
	next := int64(0)
	for _, sp := range s.Parts {
		if sp.Off != next || sp.End <= sp.Off || sp.Done < 0 || sp.Done > sp.End-sp.Off {
			return nil
		}
		p := &part{off: sp.Off, end: sp.End}
		p.done.Store(sp.Done)
		parts = append(parts, p)
		next = sp.End
	}
	if next != l.Size {
		return nil
	}
	return parts
}

// download is one blob being fetched into its partial file.
type download struct {
	c       *Client
	ref     Ref
	layer   store.Layer
	partial string
	f       *os.File
	parts   []*part
	saveMu  sync.Mutex
}

// completed returns the bytes on disk.
func (d *download) completed() int64 {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	var n int64
	for _, p := range d.parts {
		n += p.done.Load()
	}
	return n
}

// save syncs the partial file and then records the parts' progress, so
// the state never claims bytes that are not on disk.
func (d *download) save() error {
	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	s := downloadState{Digest: d.layer.Digest, Size: d.layer.Size}
	for _, p := range d.parts {
		s.Parts = append(s.Parts, savedPart{Off: p.off, End: p.end, Done: p.done.Load()})
	}
	if err := d.f.Sync(); err != nil {
		return err
	}
	b, _ := json.Marshal(s)
	tmp := statePath(d.partial) + ".new"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, statePath(d.partial))
}

// errNoRanges means the server answered a range request with the whole
// blob; the download then restarts as one part.
var errNoRanges = errors.New("server does not support range requests")

// pullBlob makes sure blob l is downloaded: it reports got=false when the
// store already has it, else downloads it (resuming a partial download)
// into its partial file, which the caller verifies and commits.
func (c *Client) pullBlob(ctx context.Context, st *store.Store, ref Ref, l store.Layer, progress ProgressFunc) (got bool, err error) {
	status := "pulling " + short(l.Digest)
	if st.HasBlob(l.Digest, l.Size) {
		progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: l.Size})
		return false, nil
	}
	partial, err := st.PartialBlobPath(l.Digest)
	if err != nil {
		return false, err
	}
	d := &download{c: c, ref: ref, layer: l, partial: partial}
	d.parts = loadParts(statePath(partial), partial, l)
	fresh := d.parts == nil
	if fresh {
		d.parts = c.planParts(l.Size)
	}
	d.f, err = os.OpenFile(partial, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", short(l.Digest), err)
	}
	defer d.f.Close()
	restart := func() error {
		if err := d.f.Truncate(0); err != nil {
			return err
		}
		if err := d.f.Truncate(l.Size); err != nil {
			return err
		}
		return d.save()
	}
	if fresh {
		if err := restart(); err != nil {
			return false, fmt.Errorf("blob %s: %w", short(l.Digest), err)
		}
	}

	// Report progress and save the state periodically while parts run.
	stop := make(chan struct{})
	var bg sync.WaitGroup
	bg.Add(1)
	go func() {
		defer bg.Done()
		tick := time.NewTicker(progressInterval)
		defer tick.Stop()
		lastSave := time.Now()
		for {
			progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: d.completed()})
			select {
			case <-stop:
				return
			case <-tick.C:
			}
			if time.Since(lastSave) >= time.Second {
				d.save()
				lastSave = time.Now()
			}
		}
	}()

	err = d.runParts(ctx, false)
	if errors.Is(err, errNoRanges) {
		d.saveMu.Lock()
		d.parts = []*part{{off: 0, end: l.Size}}
		d.saveMu.Unlock()
		if err = restart(); err == nil {
			err = d.runParts(ctx, true)
		}
	}
	close(stop)
	bg.Wait()
	if serr := d.save(); err == nil && serr != nil {
		err = serr
	}
	if err != nil {
		return false, fmt.Errorf("blob %s: %w", short(l.Digest), err)
	}
	progress(api.ProgressResponse{Status: status, Digest: l.Digest, Total: l.Size, Completed: l.Size})
	return true, nil
}

// runParts downloads every unfinished part concurrently; the first error
// cancels the others. whole allows a 200 answer (no range support) for a
// single part starting at 0.
func (d *download) runParts(ctx context.Context, whole bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, len(d.parts))
	for _, p := range d.parts {
		go func() {
			err := d.runPart(ctx, p, whole)
			if err != nil {
				cancel()
			}
			errs <- err
		}()
	}
	var first error
	for range d.parts {
		if err := <-errs; err != nil && (first == nil || errors.Is(first, context.Canceled)) {
			first = err
		}
	}
	return first
}

// runPart downloads the rest of part p, retrying transient failures with
// backoff; the retry budget is reset whenever a try made progress.
func (d *download) runPart(ctx context.Context, p *part, whole bool) error {
	fails := 0
	for p.off+p.done.Load() < p.end {
		before := p.done.Load()
		err := d.fetchRange(ctx, p, whole)
		if err == nil {
			continue
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errNoRanges) || !transient(err) {
			return err
		}
		if p.done.Load() > before {
			fails = 0
		}
		if fails >= d.c.retries() {
			return fmt.Errorf("giving up after %d retries: %w", fails, err)
		}
		if err := d.c.backoff(ctx, fails, 0); err != nil {
			return err
		}
		fails++
	}
	return nil
}

// fetchRange requests the rest of p and writes what arrives to the
// partial file.
func (d *download) fetchRange(ctx context.Context, p *part, whole bool) error {
	start := p.off + p.done.Load()
	rctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	resp, err := d.c.send(rctx, d.ref, request{
		method: "GET",
		url:    d.ref.URL("blobs", d.layer.Digest),
		header: http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, p.end-1)}},
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusPartialContent:
		if got, ok := contentRangeStart(resp.Header.Get("Content-Range")); !ok || got != start {
			return fmt.Errorf("asked for bytes from %d, got Content-Range %q", start, resp.Header.Get("Content-Range"))
		}
	case http.StatusOK:
		if !whole {
			return errNoRanges
		}
		if start != 0 { // no ranges, so a retry starts over
			p.done.Store(0)
			start = 0
		}
	case http.StatusNotFound:
		return fmt.Errorf("blob %s %w", d.layer.Digest, ErrNotFound)
	default:
		return statusError(resp)
	}
	body := newStallReader(resp.Body, orDefault(d.c.StallTimeout, DefaultStallTimeout), cancel)
	defer body.stop()
	// A large part's writes end on multiples of writeBlock, so the page
	// cache can hold the blob in 2 MiB folios that a model load maps as
	// huge pages; a small one is written in smaller pieces, which report
	// progress more often.
	blk := int64(smallWriteBlock)
	if p.end-p.off >= largePart {
		blk = writeBlock
	}
	buf := make([]byte, blk)
	pos := start
	for pos < p.end {
		n, rerr := io.ReadFull(body, buf[:min((pos/blk+1)*blk, p.end)-pos])
		if n > 0 {
			if _, err := writePartial(d.f, buf[:n], pos); err != nil {
				return fmt.Errorf("write partial blob: %w", err)
			}
			pos += int64(n)
			p.done.Add(int64(n))
		}
		if rerr != nil {
			if context.Cause(rctx) == errStalled {
				return errStalled
			}
			if rerr == io.EOF {
				rerr = io.ErrUnexpectedEOF
			}
			return fmt.Errorf("read blob at byte %d: %w", pos, rerr)
		}
	}
	return nil
}

// A download writes a part of largePart bytes or more to the partial file
// in writes of writeBlock bytes at multiples of writeBlock, so that the
// kernel can cache what is written in 2 MiB folios (as gguf.Writer and
// store.WriteBlob do); smaller parts in writes of smallWriteBlock.
const (
	writeBlock      = 4 << 20
	largePart       = 16 * writeBlock
	smallWriteBlock = 256 << 10
)

// contentRangeStart parses the first byte of "bytes START-END/TOTAL".
func contentRangeStart(h string) (int64, bool) {
	h, ok := strings.CutPrefix(strings.TrimSpace(h), "bytes ")
	if !ok {
		return 0, false
	}
	s, _, ok := strings.Cut(h, "-")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil
}
