package server

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golem/api"
	"golem/engine"
	"golem/gguf"
)

// ErrQueueFull is returned when a model's request queue is full (503).
var ErrQueueFull = errors.New("server busy: too many requests queued for this model, try again later")

// errUnloading is returned to a request that waited for a runner that was
// unloaded meanwhile; the scheduler retries with a fresh one.
var errUnloading = errors.New("runner is unloading")

// loadSpec says which runner a request needs.
type loadSpec struct {
	name   string // display name (the request's model)
	path   string // GGUF path
	digest string // manifest digest ("" for a file path)
	numCtx int    // 0: the model's default
	embed  bool   // an embedding (BERT) model

	details api.ModelDetails // for /api/ps
}

func (s loadSpec) key() string { return s.path + "\x00" + strconv.Itoa(s.numCtx) }

// runner is one loaded model and its queue. It has NumParallel sequence
// slots: a text model is one engine.Runner whose engine.Batch gives each
// slot its own KV cache and decodes the tokens of all generating slots in
// one forward pass, so the weights are in memory once and stream from it
// once per step for up to NumParallel requests at the same time.
type runner struct {
	spec loadSpec

	ready   chan struct{} // closed when loading finished
	loadErr error

	gen   *engine.Runner   // text model: tokenizer, template, config
	batch *engine.Batch    // text model: the slots' generation loop
	emb   *engine.Embedder // shared by all slots

	size   int64 // estimated bytes (weights + KV cache)
	numCtx int

	slots chan int // indexes of free slots

	// guarded by scheduler.mu
	active    int // requests holding a slot
	queued    int // requests waiting for a slot
	lastUsed  time.Time
	expiresAt time.Time
	keepAlive time.Duration
	timer     *time.Timer
	unloading bool
	// unloadWhenIdle is set by an unload request that found r busy.
	unloadWhenIdle bool
}

// scheduler loads runners on demand, keeps them for keep_alive, evicts idle
// ones when memory is short and queues requests per runner.
type scheduler struct {
	mu       sync.Mutex
	runners  map[string]*runner
	maxQueue int
	// maxLoaded caps the number of loaded runners (0: no cap).
	maxLoaded int
	// freeMemory returns the bytes available for new models.
	freeMemory func() uint64
	// defaultKeepAlive applies when a request has no keep_alive.
	defaultKeepAlive time.Duration
	numParallel      int
	closed           bool
}

func newScheduler(cfg *Config) *scheduler {
	return &scheduler{
		runners:          map[string]*runner{},
		maxQueue:         cfg.MaxQueue,
		maxLoaded:        cfg.MaxLoadedModels,
		freeMemory:       cfg.FreeMemory,
		defaultKeepAlive: cfg.KeepAlive,
		numParallel:      max(cfg.NumParallel, 1),
	}
}

// lease is a request's hold on a runner slot; Release gives it back.
type lease struct {
	s         *scheduler
	r         *runner
	slot      int
	keepAlive time.Duration
	loadDur   time.Duration
	once      sync.Once
}

// acquire returns a lease on a runner for spec, loading it if needed and
// waiting (in FIFO order) for a free slot. It fails with ErrQueueFull when
// the runner's queue is full and with ctx's error when the client leaves.
func (s *scheduler) acquire(ctx context.Context, spec loadSpec, keepAlive *time.Duration) (*lease, error) {
	for attempt := 0; ; attempt++ {
		l, err := s.tryAcquire(ctx, spec, keepAlive)
		if errors.Is(err, errUnloading) && attempt < 3 {
			continue
		}
		return l, err
	}
}

func (s *scheduler) tryAcquire(ctx context.Context, spec loadSpec, keepAlive *time.Duration) (*lease, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errors.New("server is shutting down")
	}
	r := s.runners[spec.key()]
	var loadDur time.Duration
	if r == nil || r.unloading {
		n := s.numParallel
		if spec.embed {
			n = 1
		}
		r = &runner{spec: spec, ready: make(chan struct{}), slots: make(chan int, n)}
		for i := range n {
			r.slots <- i
		}
		// Another context size of the same model is replaced when idle.
		for _, o := range s.runners {
			if o.spec.path == spec.path && o.active == 0 && o.queued == 0 && isReady(o) {
				s.unloadLocked(o)
			}
		}
		s.runners[spec.key()] = r
		r.queued++
		s.mu.Unlock()
		start := time.Now()
		s.load(r)
		loadDur = time.Since(start)
		if r.loadErr != nil {
			return nil, r.loadErr
		}
	} else {
		if s.maxQueue > 0 && r.queued >= s.maxQueue {
			s.mu.Unlock()
			return nil, ErrQueueFull
		}
		r.queued++
		s.mu.Unlock()
		select {
		case <-r.ready:
		case <-ctx.Done():
			s.dequeue(r)
			return nil, ctx.Err()
		}
		if r.loadErr != nil {
			s.dequeue(r)
			return nil, r.loadErr
		}
	}
	var slot int
	select {
	case slot = <-r.slots:
	case <-ctx.Done():
		s.dequeue(r)
		return nil, ctx.Err()
	}
	s.mu.Lock()
	r.queued--
	if r.unloading {
		s.mu.Unlock()
		r.slots <- slot
		return nil, errUnloading
	}
	r.active++
	if r.timer != nil {
		r.timer.Stop()
	}
	ka := s.defaultKeepAlive
	if keepAlive != nil {
		ka = *keepAlive
	}
	s.mu.Unlock()
	return &lease{s: s, r: r, slot: slot, keepAlive: ka, loadDur: loadDur}, nil
}

func (s *scheduler) dequeue(r *runner) {
	s.mu.Lock()
	r.queued--
	s.maybeUnloadLocked(r)
	s.mu.Unlock()
}

// load loads r's model after making room for it, then marks it ready.
func (s *scheduler) load(r *runner) {
	defer close(r.ready)
	need, err := estimateSize(r.spec)
	if err != nil {
		r.loadErr = err
		s.mu.Lock()
		r.queued--
		r.unloading = true
		delete(s.runners, r.spec.key())
		s.mu.Unlock()
		return
	}
	if !r.spec.embed && cap(r.slots) > 1 {
		// Each more slot needs its own KV cache.
		if one, err := estimateSize(loadSpec{path: r.spec.path, numCtx: r.spec.numCtx}); err == nil {
			fi, _ := os.Stat(r.spec.path)
			if fi != nil {
				need += int64(cap(r.slots)-1) * (one - fi.Size())
			}
		}
	}
	r.size = need
	s.makeRoom(r, need)
	if r.spec.embed {
		r.emb, err = engine.LoadEmbedder(r.spec.path)
		if err == nil {
			r.numCtx = r.emb.ContextLength()
		}
	} else if r.gen, err = engine.Load(r.spec.path, r.spec.numCtx); err == nil {
		r.numCtx = r.gen.NumCtx
		if r.batch, err = engine.NewBatch(r.gen, cap(r.slots)); err != nil {
			r.gen.Close()
			r.gen = nil
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		r.loadErr = fmt.Errorf("loading model %s: %w", r.spec.name, err)
		r.queued--
		r.unloading = true
		if s.runners[r.spec.key()] == r {
			delete(s.runners, r.spec.key())
		}
		return
	}
	r.lastUsed = time.Now()
}

// makeRoom unloads idle runners, least recently used first, until need
// bytes fit in free memory and the loaded count is under the cap. Busy
// runners are never evicted; if room cannot be made the model is loaded
// anyway (the kernel pages weights in from the mapping on demand).
func (s *scheduler) makeRoom(r *runner, need int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		others := 0
		for _, o := range s.runners {
			if o != r && !o.unloading {
				others++
			}
		}
		tooMany := s.maxLoaded > 0 && others >= s.maxLoaded
		short := s.freeMemory != nil && uint64(need) > s.freeMemory()
		if !tooMany && !short {
			return
		}
		victim := s.idleLRULocked(r)
		if victim == nil {
			return
		}
		s.unloadLocked(victim)
	}
}

func isReady(r *runner) bool {
	select {
	case <-r.ready:
		return r.loadErr == nil
	default:
		return false
	}
}

func (s *scheduler) idleLRULocked(except *runner) *runner {
	var best *runner
	for _, o := range s.runners {
		if o == except || o.unloading || o.active > 0 || o.queued > 0 {
			continue
		}
		select {
		case <-o.ready:
		default:
			continue // still loading
		}
		if best == nil || o.lastUsed.Before(best.lastUsed) {
			best = o
		}
	}
	return best
}

// unloadLocked removes an idle runner and closes its model.
func (s *scheduler) unloadLocked(r *runner) {
	if r.unloading {
		return
	}
	r.unloading = true
	if r.timer != nil {
		r.timer.Stop()
	}
	if s.runners[r.spec.key()] == r {
		delete(s.runners, r.spec.key())
	}
	if r.batch != nil {
		r.batch.Close()
	}
	if r.gen != nil {
		r.gen.Close()
	}
	if r.emb != nil {
		r.emb.Close()
	}
}

// maybeUnloadLocked unloads r if it is idle and its keep-alive has passed.
func (s *scheduler) maybeUnloadLocked(r *runner) {
	if r.active == 0 && r.queued == 0 && !r.expiresAt.IsZero() && !time.Now().Before(r.expiresAt) {
		s.unloadLocked(r)
	}
}

// gen returns the text runner (nil for an embedding model), for its
// tokenizer, template and configuration; all slots share it.
func (l *lease) gen() *engine.Runner { return l.r.gen }

// generate runs req in the lease's slot of the runner's batch.
func (l *lease) generate(ctx context.Context, req engine.Request, emit func(string) error) (engine.Stats, error) {
	return l.r.batch.Generate(ctx, l.slot, req, emit)
}

// Release frees the slot and starts the keep-alive clock.
func (l *lease) Release() {
	l.once.Do(func() {
		s, r := l.s, l.r
		s.mu.Lock()
		defer s.mu.Unlock()
		r.active--
		r.slots <- l.slot
		now := time.Now()
		r.lastUsed = now
		r.keepAlive = l.keepAlive
		if (r.unloadWhenIdle || s.closed) && r.active == 0 && r.queued == 0 {
			s.unloadLocked(r)
			return
		}
		if l.keepAlive >= time.Duration(1<<62) {
			r.expiresAt = time.Time{}
			return
		}
		r.expiresAt = now.Add(l.keepAlive)
		if r.active > 0 || r.queued > 0 {
			return
		}
		if l.keepAlive <= 0 {
			s.unloadLocked(r)
			return
		}
		if r.timer != nil {
			r.timer.Stop()
		}
		r.timer = time.AfterFunc(l.keepAlive, func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.maybeUnloadLocked(r)
		})
	})
}

// unloadNow unloads the runners of path right away when idle (keep_alive 0
// with an empty prompt); busy ones unload when their last request ends.
func (s *scheduler) unloadPath(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.runners {
		if r.spec.path != path {
			continue
		}
		if r.active == 0 && r.queued == 0 {
			s.unloadLocked(r)
		} else {
			r.unloadWhenIdle = true
		}
	}
}

// snapshot lists the loaded runners for /api/ps, most recently used first.
type runnerInfo struct {
	spec      loadSpec
	size      int64
	numCtx    int
	expiresAt time.Time
	active    int
	queued    int
	lastUsed  time.Time
}

func (s *scheduler) snapshot() []runnerInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []runnerInfo
	for _, r := range s.runners {
		select {
		case <-r.ready:
		default:
			continue
		}
		if r.loadErr != nil || r.unloading {
			continue
		}
		exp := r.expiresAt
		if r.active > 0 || r.queued > 0 || exp.IsZero() {
			ka := r.keepAlive
			if ka == 0 && exp.IsZero() {
				ka = s.defaultKeepAlive
			}
			if ka >= time.Duration(1<<62) {
				exp = time.Now().AddDate(100, 0, 0)
			} else {
				exp = time.Now().Add(ka)
			}
		}
		out = append(out, runnerInfo{spec: r.spec, size: r.size, numCtx: r.numCtx, expiresAt: exp,
			active: r.active, queued: r.queued, lastUsed: r.lastUsed})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].lastUsed.After(out[j].lastUsed) })
	return out
}

// close unloads every idle runner and refuses new requests.
func (s *scheduler) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	for _, r := range s.runners {
		select {
		case <-r.ready:
		default:
			continue
		}
		if r.active == 0 && r.queued == 0 {
			s.unloadLocked(r)
		}
	}
}

// estimateSize is the memory a model needs: its file (weights are mapped
// and paged in) plus the F16 KV cache for its context.
func estimateSize(spec loadSpec) (int64, error) {
	fi, err := os.Stat(spec.path)
	if err != nil {
		return 0, fmt.Errorf("model %s: %w", spec.name, err)
	}
	size := fi.Size()
	if spec.embed {
		return size, nil
	}
	f, err := gguf.Open(spec.path)
	if err != nil {
		return 0, fmt.Errorf("model %s: %w", spec.name, err)
	}
	defer f.Close()
	arch := f.Architecture()
	u := func(k string) int64 {
		v, _ := f.Uint(arch + "." + k)
		return int64(v)
	}
	layers, embd := u("block_count"), u("embedding_length")
	heads, kvHeads := u("attention.head_count"), u("attention.head_count_kv")
	if kvHeads == 0 {
		kvHeads = heads
	}
	headDim := u("attention.key_length")
	if headDim == 0 && heads > 0 {
		headDim = embd / heads
	}
	nCtx := int64(spec.numCtx)
	if nCtx <= 0 {
		nCtx = u("context_length")
		if nCtx <= 0 || nCtx > engine.DefaultMaxContext {
			nCtx = engine.DefaultMaxContext
		}
	}
	return size + layers*nCtx*kvHeads*headDim*2*2, nil
}

// memAvailable reads MemAvailable from /proc/meminfo (0 when unknown,
// which disables the memory check).
func memAvailable() uint64 {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return ^uint64(0)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "MemAvailable:"); ok {
			fields := strings.Fields(rest)
			if len(fields) == 0 {
				break
			}
			kb, err := strconv.ParseUint(fields[0], 10, 64)
			if err != nil {
				break
			}
			return kb * 1024
		}
	}
	return ^uint64(0)
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
