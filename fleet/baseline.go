package fleet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

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
	// AllowWeaker lets an update that loosens verification (an algorithm,
	// issuer or audience added, more leeway, an insecure opt-out: see
	// [core.Config.Weakenings]) switch the verifier. Without it such an
	// update is refused and logged, and the baseline in force stays: a
	// write to the bus alone can make verification stricter, never let a
	// token through that the running baseline refuses. A loosening then
	// takes effect when the service restarts on the entry, or on services
	// started with AllowWeaker (-config-kv-allow-weaker) where the bucket's
	// write permission is held by operators only.
	AllowWeaker bool
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
	opts    BaselineOptions
	logger  *slog.Logger
	stream  jetstream.Stream // the bucket's
	subject string           // the entry's, in the stream
	cfg     core.Config
	rev     uint64 // the revision cfg was read from
	last    uint64 // the last revision handled; the watch goroutine's alone

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	mu     sync.Mutex // guards follow and closed
	follow bool
	closed bool
}

// OpenBaseline reads the entry and validates the baseline in it as a file
// is validated ([core.ParseBaseline], then [core.Config.ForService]). A
// missing bucket or entry, a deleted entry and an invalid baseline are
// errors that name the bucket and key (and, for a baseline, each problem's
// key and line): a service must not start on a baseline it cannot read.
// ctx bounds the read.
func OpenBaseline(ctx context.Context, js jetstream.JetStream, opts BaselineOptions) (*BaselineEntry, error) {
	if opts.Bucket == "" || opts.Key == "" {
		return nil, errors.New("fleet: a baseline entry needs a bucket and a key")
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	where := fmt.Sprintf("fleet: baseline in bucket %q key %q", opts.Bucket, opts.Key)
	// A key-value bucket is the stream KV_<bucket>, an entry the subject
	// $KV.<bucket>.<key>.
	stream, err := js.Stream(ctx, "KV_"+opts.Bucket)
	if err != nil {
		if errors.Is(err, jetstream.ErrStreamNotFound) {
			return nil, fmt.Errorf("%s: no such bucket (jwtguard publish creates it)", where)
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	b := &BaselineEntry{opts: opts, logger: opts.Logger, stream: stream, subject: "$KV." + opts.Bucket + "." + opts.Key}
	m, err := stream.GetLastMsgForSubject(ctx, b.subject)
	switch {
	case errors.Is(err, jetstream.ErrMsgNotFound):
		return nil, fmt.Errorf("%s: no such entry (jwtguard publish writes it)", where)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", where, err)
	case kvRemoval(m.Header) != "":
		return nil, fmt.Errorf("%s: the entry was removed at revision %d (jwtguard publish writes it anew)", where, m.Sequence)
	}
	if b.cfg, err = b.parse(m.Data); err != nil {
		return nil, fmt.Errorf("%s (revision %d):\n%w", where, m.Sequence, err)
	}
	b.rev, b.last = m.Sequence, m.Sequence
	b.ctx, b.cancel = context.WithCancel(context.Background())
	return b, nil
}

// Config is the baseline read by OpenBaseline, for the service's verifier
// to start on.
func (b *BaselineEntry) Config() core.Config { return b.cfg }

// Revision is the entry's revision that Config was read from.
func (b *BaselineEntry) Revision() uint64 { return b.rev }

// Follow applies every update of the entry after the one Config was read
// from to v, from a goroutine of the BaselineEntry's own, as reload.Watch
// does for a file: a put is parsed and validated in full and switches v
// atomically ([core.Verifier.Reload]) when it verifies differently; an
// invalid put is logged, one line per problem with its key and line, and
// the old baseline keeps serving; a delete or purge is logged and changes
// nothing. While the bus is away what is loaded stays in force; the watch
// resumes after the last update it handled. A second call is an error.
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
	go func() {
		defer b.wg.Done()
		rewatch(b.ctx, func() (bool, error) { return b.watchOnce(v) }, func(err error, retry time.Duration) {
			b.logger.Warn("jwtguard baseline entry not watched; the baseline in force stays",
				b.attrs(0, slog.String("error", err.Error()), slog.Duration("retry_in", retry))...)
		})
	}()
	return nil
}

// Close stops following the entry and waits for the goroutine. The
// verifier keeps the baseline it runs on. The connection is the caller's:
// Close leaves it open.
func (b *BaselineEntry) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return
	}
	b.closed = true
	b.cancel()
	b.wg.Wait()
}

// watchOnce applies the entry's updates after the last one handled, until
// the consumer fails for good or the entry is closed.
func (b *BaselineEntry) watchOnce(v *core.Verifier) (progress bool, err error) {
	it, stop, err := orderedMessages(b.ctx, b.stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.subject},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    b.last + 1,
	})
	if err != nil {
		return false, err
	}
	defer stop()
	for {
		m, err := it.Next()
		if err != nil {
			return progress, fmt.Errorf("baseline watch ended: %w", err)
		}
		meta, err := m.Metadata()
		if err != nil {
			return progress, err
		}
		b.apply(v, meta.Sequence.Stream, kvRemoval(m.Headers()), m.Data())
		b.last, progress = meta.Sequence.Stream, true
	}
}

// apply handles one update of the entry: removal is "delete" or "purge"
// for a removal, "" for a put of data.
func (b *BaselineEntry) apply(v *core.Verifier, rev uint64, removal string, data []byte) {
	u := BaselineUpdate{Revision: rev, Op: cmp.Or(removal, "put")}
	if removal != "" {
		// A service is never left without a baseline: the one in force
		// stays until a valid one is published.
		b.logger.Warn("jwtguard baseline entry removed; the baseline in force stays",
			b.attrs(rev, slog.String("op", removal), slog.String("baseline_fingerprint", v.Config().Fingerprint()))...)
	} else {
		cfg, err := b.parse(data)
		var weaker []string
		if err == nil && !b.opts.AllowWeaker {
			weaker = v.Config().Weakenings(cfg)
		}
		switch {
		case err != nil:
			u.Err = err
			b.logRefused(rev, err)
		case cfg.Fingerprint() == v.Config().Fingerprint():
		case len(weaker) > 0:
			u.Err = fmt.Errorf("baseline update loosens verification (%s): refused; a service follows a looser baseline from the bus only when started with -config-kv-allow-weaker, or after a restart", strings.Join(weaker, ", "))
			b.logger.Error("jwtguard baseline update refused: it loosens verification",
				b.attrs(rev, slog.Any("weakens", weaker), slog.String("fingerprint", v.Config().Fingerprint()))...)
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
