package fleet

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
)

// maxBaselineBytes is the largest baseline an entry may hold: the bound
// core.LoadBaseline sets on a file, so that a baseline published once
// loads from either.
const maxBaselineBytes = 1 << 20

// BaselineOptions names the key-value entry a service's baseline is read
// from, instead of a file.
type BaselineOptions struct {
	// Bucket and Key name the entry, as jwtguard publish -bucket B -key K
	// writes it.
	Bucket, Key string
	// Service selects the service of an estate file, as
	// [core.Config.ForService] does for a file; "" for a baseline without
	// a services section.
	Service string
	// Logger receives refused updates and deletions of the entry; the
	// verifier logs the switches itself. slog.Default() when nil.
	Logger *slog.Logger
	// OnUpdate is called after each update of the entry is handled, from
	// the watch goroutine, for metrics and tests. It must return quickly.
	OnUpdate func(BaselineUpdate)
}

// BaselineUpdate is one update of the entry, as [BaselineOptions.OnUpdate]
// sees it.
type BaselineUpdate struct {
	// Revision is the entry's revision in its bucket.
	Revision uint64
	// Op is "put", "delete" or "purge". A delete or purge keeps the
	// baseline in force: a service is never left without one.
	Op string
	// Changed is true when the verifier switched; a put that verifies
	// alike (a comment) switches nothing.
	Changed bool
	// Fingerprint is the fingerprint the verifier runs on after the update.
	Fingerprint string
	// Err is why a put was refused; the old baseline keeps serving.
	Err error
}

// BaselineEntry is a service's baseline held in a JetStream key-value
// entry: read once by [OpenBaseline] for the service to start on, then
// followed by [BaselineEntry.Follow]. Close stops it.
type BaselineEntry struct {
	opts   BaselineOptions
	logger *slog.Logger
	w      jetstream.KeyWatcher
	cfg    core.Config
	rev    uint64

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards followed and closed
	follow bool
	closed bool
}

// OpenBaseline reads the entry and validates the baseline in it as a file
// is validated ([core.ParseBaseline], then [core.Config.ForService]). A
// missing bucket or entry, a deleted entry and an invalid baseline are
// errors that name the bucket and key (and, for a baseline, each problem's
// key and line): a service must not start on a baseline it cannot read.
// ctx bounds the read.
//
// The entry is watched from here on, so no update between the read and
// Follow is lost.
func OpenBaseline(ctx context.Context, js jetstream.JetStream, opts BaselineOptions) (*BaselineEntry, error) {
	if opts.Bucket == "" || opts.Key == "" {
		return nil, errors.New("fleet: a baseline entry needs a bucket and a key")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	where := fmt.Sprintf("fleet: baseline in bucket %q key %q", opts.Bucket, opts.Key)
	kv, err := js.KeyValue(ctx, opts.Bucket)
	if err != nil {
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			return nil, fmt.Errorf("%s: no such bucket (jwtguard publish creates it)", where)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// The watch lives as long as its context: the BaselineEntry's, which
	// ctx ends too until the first value is read.
	bctx, cancel := context.WithCancel(context.Background())
	b := &BaselineEntry{opts: opts, logger: opts.Logger, ctx: bctx, cancel: cancel}
	detach := context.AfterFunc(ctx, cancel)
	// The watch delivers the entry's last revision, then nil: one request
	// for the first value and every later one.
	b.w, err = kv.Watch(bctx, opts.Key)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("%s: %w", where, errors.Join(ctx.Err(), err))
	}
	var last jetstream.KeyValueEntry
	for loaded := false; !loaded; {
		select {
		case <-bctx.Done():
			b.Close()
			return nil, fmt.Errorf("%s: %w", where, ctx.Err())
		case e, ok := <-b.w.Updates():
			switch {
			case !ok:
				b.Close()
				return nil, fmt.Errorf("%s: the watch ended before the entry was read", where)
			case e == nil:
				loaded = true
			default:
				last = e
			}
		}
	}
	switch {
	case last == nil:
		err = fmt.Errorf("%s: no such entry (jwtguard publish writes it)", where)
	case last.Operation() != jetstream.KeyValuePut:
		err = fmt.Errorf("%s: the entry was deleted at revision %d (jwtguard publish writes it anew)", where, last.Revision())
	default:
		b.rev = last.Revision()
		if b.cfg, err = b.parse(last.Value()); err != nil {
			err = fmt.Errorf("%s (revision %d):\n%w", where, last.Revision(), err)
		}
	}
	if err == nil && !detach() {
		err = fmt.Errorf("%s: %w", where, ctx.Err())
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Config is the baseline read by OpenBaseline, for the service's verifier
// to start on.
func (b *BaselineEntry) Config() core.Config { return b.cfg }

// Revision is the entry's revision that Config was read from.
func (b *BaselineEntry) Revision() uint64 { return b.rev }

// Follow applies every later update of the entry to v, from a goroutine
// of the BaselineEntry's own, as reload.Watch does for a file: a put is
// parsed and validated in full and switches v atomically
// ([core.Verifier.Reload]) when it verifies differently; an invalid put is
// logged, one line per problem with its key and line, and the old baseline
// keeps serving; a delete or purge is logged and changes nothing. A second
// call is an error.
func (b *BaselineEntry) Follow(v *core.Verifier) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return errors.New("fleet: baseline entry closed")
	case b.follow:
		return errors.New("fleet: baseline entry already followed")
	}
	b.follow = true
	b.wg.Add(1)
	go b.run(v)
	return nil
}

// Close stops following the entry and waits for the goroutine. The
// verifier keeps the baseline it runs on. The connection is the caller's:
// Close leaves it open.
func (b *BaselineEntry) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	b.mu.Unlock()
	b.cancel()
	// After the connection closed, the watch has ended already.
	_ = b.w.Stop()
	b.wg.Wait()
}

func (b *BaselineEntry) run(v *core.Verifier) {
	defer b.wg.Done()
	for {
		select {
		case <-b.ctx.Done():
			return
		case e, ok := <-b.w.Updates():
			if !ok {
				// The connection was closed under the watch: what is
				// loaded stays in force.
				if b.ctx.Err() == nil {
					b.logger.Warn("jwtguard baseline entry no longer watched; the baseline in force stays",
						b.attrs(0, slog.String("fingerprint", v.Config().Fingerprint()))...)
				}
				return
			}
			if e != nil {
				b.apply(v, e)
			}
		}
	}
}

// apply handles one update of the entry.
func (b *BaselineEntry) apply(v *core.Verifier, e jetstream.KeyValueEntry) {
	u := BaselineUpdate{Revision: e.Revision(), Op: "put"}
	switch e.Operation() {
	case jetstream.KeyValueDelete, jetstream.KeyValuePurge:
		// A service is never left without a baseline: the one in force
		// stays until a valid one is published.
		u.Op = map[jetstream.KeyValueOp]string{jetstream.KeyValueDelete: "delete", jetstream.KeyValuePurge: "purge"}[e.Operation()]
		b.logger.Warn("jwtguard baseline entry removed; the baseline in force stays",
			b.attrs(e.Revision(), slog.String("op", u.Op), slog.String("fingerprint", v.Config().Fingerprint()))...)
	default:
		cfg, err := b.parse(e.Value())
		switch {
		case err != nil:
			u.Err = err
			b.logRefused(e.Revision(), err)
		case cfg.Fingerprint() == v.Config().Fingerprint():
		default:
			// Reload logs the switch, or why the verifier could not be
			// built on it (a key file that cannot be read).
			if u.Err = v.Reload(cfg); u.Err == nil {
				u.Changed = true
			}
		}
	}
	u.Fingerprint = v.Config().Fingerprint()
	if b.opts.OnUpdate != nil {
		b.opts.OnUpdate(u)
	}
}

// parse validates a baseline as a file is validated, for the service.
func (b *BaselineEntry) parse(data []byte) (core.Config, error) {
	if len(data) > maxBaselineBytes {
		return core.Config{}, fmt.Errorf("baseline: larger than %d bytes", maxBaselineBytes)
	}
	cfg, err := core.ParseBaseline(data)
	if err != nil {
		return core.Config{}, err
	}
	return cfg.ForService(b.opts.Service)
}

// attrs names the entry in a log line; "key" is left to the baseline's
// keys, as a refused file logs them.
func (b *BaselineEntry) attrs(rev uint64, more ...any) []any {
	out := []any{slog.String("bucket", b.opts.Bucket), slog.String("kv_key", b.opts.Key)}
	if rev > 0 {
		out = append(out, slog.Uint64("revision", rev))
	}
	return append(out, more...)
}

// logRefused logs one line per problem, each naming its key and line.
func (b *BaselineEntry) logRefused(rev uint64, err error) {
	problems := core.ConfigErrors(err)
	if len(problems) == 0 {
		b.logger.Error("jwtguard baseline update refused", b.attrs(rev, slog.String("error", err.Error()))...)
		return
	}
	for _, p := range problems {
		b.logger.Error("jwtguard baseline update refused", b.attrs(rev, slog.String("key", p.Key), slog.Int("line", p.Line),
			slog.String("problem", p.Msg))...)
	}
}
