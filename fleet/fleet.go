package fleet

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
)

// The subjects of the bus. Announcements and heartbeats are plain NATS
// messages; revocations live in [RevocationBucket].
const (
	// SubjectKeys carries key set announcements: an issuer, the kids and
	// the fingerprint of the set an instance has just loaded.
	SubjectKeys = "jwtguard.fleet.keys"
	// SubjectHeartbeat carries every instance's [Heartbeat].
	SubjectHeartbeat = "jwtguard.fleet.heartbeat"
	// SubjectPing asks every instance for a heartbeat now, so that
	// jwtguard fleet need not wait a whole heartbeat interval.
	SubjectPing = "jwtguard.fleet.ping"
)

// Defaults of [Options].
const (
	DefaultHeartbeatInterval = 10 * time.Second
	// pingInterval bounds the heartbeats pings can draw from one instance.
	pingInterval = 250 * time.Millisecond
	// watchRetryMax caps the backoff between attempts to watch the
	// revocation bucket while the bus is unreachable.
	watchRetryMax = 30 * time.Second
	// busTimeout bounds one JetStream request (binding the bucket).
	busTimeout = 5 * time.Second
)

// Options configures an instance's membership of the fleet.
type Options struct {
	// URL is the NATS server URL, or several separated by commas, as
	// nats.Connect takes them.
	URL string
	// NATS are nats.go's own connection options: credentials
	// (nats.UserCredentials), nkey (nats.Nkey, nats.NkeyOptionFromSeed),
	// TLS (nats.Secure, nats.RootCAs, nats.ClientCert). [ConnFlags] builds
	// them from command-line flags. Reconnection is always on.
	NATS []nats.Option
	// Service names the service in heartbeats; the verifier's
	// Config().Service when empty.
	Service string
	// Instance identifies this instance; the host name and a random
	// suffix when empty.
	Instance string
	// Version is the service's version, reported in heartbeats.
	Version string
	// HeartbeatInterval is the period of heartbeats; DefaultHeartbeatInterval
	// when zero.
	HeartbeatInterval time.Duration
	// MaxRevocations bounds the revocation list held in memory;
	// DefaultMaxRevocations when zero.
	MaxRevocations int
	// Replicas is the replica count of the revocation bucket when this
	// instance is the one that creates it; 1 when zero.
	Replicas int
	// Logger receives the bus's events; slog.Default() when nil.
	Logger *slog.Logger
}

// Fleet is one instance's membership of the fleet. It is the verifier's
// revocation list ([core.WithRevocations]) and key hooks ([core.WithHooks]),
// and once attached to the verifier it hints key set announcements to it and
// publishes heartbeats. Nothing it receives can make a token pass: the bus
// carries hints and refusals, never keys.
type Fleet struct {
	opts   Options
	host   string
	logger *slog.Logger
	nc     *nats.Conn
	list   *revocationList

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once

	verifier atomic.Pointer[core.Verifier]
	attached chan struct{} // closed by Attach

	mu        sync.Mutex
	changedAt map[string]time.Time // issuer: when its key set last changed here
	announced map[string]string    // issuer: the last fingerprint announced on the bus
	lastErr   string

	disconnects   atomic.Uint64
	reconnects    atomic.Uint64
	announcesSent atomic.Uint64
	announcesRecv atomic.Uint64
	hints         atomic.Uint64
	hintedFetches atomic.Uint64
	heartbeats    atomic.Uint64
}

// Stats reports the instance's view of the bus.
type Stats struct {
	Connected   bool   `json:"connected"`
	Disconnects uint64 `json:"disconnects"`
	Reconnects  uint64 `json:"reconnects"`
	LastError   string `json:"last_error,omitempty"` // the last bus error; "" when none since the last connect
	// Revocations is the number of entries in force; RevocationsSynced
	// says the bucket has been read whole since the watch started.
	Revocations        int    `json:"revocations"`
	RevocationsSynced  bool   `json:"revocations_synced"`
	RevocationsRefused uint64 `json:"revocations_refused"` // entries refused because the list was full
	AnnouncementsSent  uint64 `json:"announcements_sent"`
	AnnouncementsSeen  uint64 `json:"announcements_seen"` // from other instances
	Hints              uint64 `json:"hints"`              // announcements hinted to the verifier
	HintedFetches      uint64 `json:"hinted_fetches"`     // fetches the verifier ran for a hint
	HeartbeatsSent     uint64 `json:"heartbeats_sent"`
}

// New starts the instance's membership: it connects to the bus in the
// background and begins loading the revocation list. An unreachable bus is
// not an error: verification goes on without it, the client reconnects,
// and Stats and the log say so. New fails only on options nats.go refuses
// (an unreadable credentials file, say).
func New(opts Options) (*Fleet, error) {
	if opts.URL == "" {
		return nil, errors.New("fleet: no NATS URL")
	}
	if opts.HeartbeatInterval <= 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	if opts.MaxRevocations <= 0 {
		opts.MaxRevocations = DefaultMaxRevocations
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	host, _ := os.Hostname()
	if opts.Instance == "" {
		var b [4]byte
		_, _ = crand.Read(b[:])
		opts.Instance = host + "-" + hex.EncodeToString(b[:])
	}
	ctx, cancel := context.WithCancel(context.Background())
	f := &Fleet{opts: opts, host: host, logger: opts.Logger, ctx: ctx, cancel: cancel, attached: make(chan struct{}),
		list: newRevocationList(opts.MaxRevocations, opts.Logger), changedAt: map[string]time.Time{}, announced: map[string]string{}}
	nopts := []nats.Option{
		nats.Name("jwtguard " + opts.Instance),
		// The bus must never hold up a service: connect in the
		// background, and keep reconnecting for as long as it runs.
		nats.RetryOnFailedConnect(true), nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second), nats.ReconnectJitter(500*time.Millisecond, 2*time.Second),
		nats.ConnectHandler(f.onConnect), nats.ReconnectHandler(f.onReconnect),
		nats.DisconnectErrHandler(f.onDisconnect), nats.ErrorHandler(f.onAsyncError),
	}
	nc, err := nats.Connect(opts.URL, append(nopts, opts.NATS...)...)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	f.nc = nc
	if !nc.IsConnected() {
		f.logger.Warn("jwtguard fleet bus unreachable; verifying without it until it is back", slog.String("url", opts.URL))
	}
	// Messages go through channels to goroutines of the Fleet's own, so
	// that Close knows when the last one is handled.
	keys := make(chan *nats.Msg, 1024)
	pings := make(chan *nats.Msg, 16)
	if _, err := nc.ChanSubscribe(SubjectKeys, keys); err != nil {
		nc.Close()
		cancel()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	if _, err := nc.ChanSubscribe(SubjectPing, pings); err != nil {
		nc.Close()
		cancel()
		return nil, fmt.Errorf("fleet: %w", err)
	}
	updates := make(chan revUpdate, 1024)
	f.wg.Add(4)
	go func() { defer f.wg.Done(); f.list.run(updates, ctx.Done()) }()
	go func() { defer f.wg.Done(); f.watchRevocations(updates) }()
	go func() { defer f.wg.Done(); f.receiveAnnouncements(keys) }()
	go func() { defer f.wg.Done(); f.heartbeatLoop(pings) }()
	return f, nil
}

// Attach gives the Fleet the verifier it serves: announcements are hinted
// to it from now on, and heartbeats describe it. Build the verifier with
// core.WithRevocations(f) and core.WithHooks(f) first.
func (f *Fleet) Attach(v *core.Verifier) {
	if f.verifier.CompareAndSwap(nil, v) {
		close(f.attached)
	}
}

// Revoked implements [core.Revocations]: one atomic load, and with entries
// one map lookup per kind; no lock, no allocation.
func (f *Fleet) Revoked(issuer, kid, jti, sub string) bool {
	return f.list.Revoked(issuer, kid, jti, sub)
}

// RevocationsChanged returns a channel closed when the next change of the
// revocation list is in force: a test or a health check can wait on it
// instead of polling.
func (f *Fleet) RevocationsChanged() <-chan struct{} { return f.list.Changed() }

// Close leaves the fleet: it stops every goroutine of the Fleet, waits for
// them, and closes the connection. The verifier keeps the revocations it
// held and is not closed.
func (f *Fleet) Close() {
	f.once.Do(func() {
		f.cancel()
		f.nc.Close()
		f.wg.Wait()
	})
}

// Stats reports the bus as this instance sees it.
func (f *Fleet) Stats() Stats {
	f.mu.Lock()
	lastErr := f.lastErr
	f.mu.Unlock()
	return Stats{
		Connected: f.nc.IsConnected(), Disconnects: f.disconnects.Load(), Reconnects: f.reconnects.Load(), LastError: lastErr,
		Revocations: f.list.len(), RevocationsSynced: f.list.synced.Load(), RevocationsRefused: f.list.refused.Load(),
		AnnouncementsSent: f.announcesSent.Load(), AnnouncementsSeen: f.announcesRecv.Load(), Hints: f.hints.Load(),
		HintedFetches: f.hintedFetches.Load(), HeartbeatsSent: f.heartbeats.Load(),
	}
}

// The connection handlers take the connection as an argument: the first
// may run before nats.Connect has returned it.
func (f *Fleet) onConnect(nc *nats.Conn) {
	f.setErr("")
	f.logger.Info("jwtguard fleet bus connected", slog.String("url", nc.ConnectedUrlRedacted()))
}

// onReconnect needs no new watch of the revocations: nats.go recreates
// the ordered consumer, where it left off, on a reconnect.
func (f *Fleet) onReconnect(nc *nats.Conn) {
	f.reconnects.Add(1)
	f.onConnect(nc)
}

func (f *Fleet) onDisconnect(_ *nats.Conn, err error) {
	f.disconnects.Add(1)
	if f.ctx.Err() != nil {
		return // Close
	}
	msg := "connection lost"
	if err != nil {
		msg = err.Error()
	}
	f.setErr(msg)
	f.logger.Warn("jwtguard fleet bus disconnected; verification goes on with what is loaded",
		slog.String("error", msg), slog.Int("revocations", f.list.len()))
}

func (f *Fleet) onAsyncError(_ *nats.Conn, _ *nats.Subscription, err error) {
	f.setErr(err.Error())
	f.logger.Warn("jwtguard fleet bus error", slog.String("error", err.Error()))
}

func (f *Fleet) setErr(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lastErr = s
}

// watchRevocations keeps a watcher on the bucket, and starts a new one
// whenever it ends, with a capped backoff while the bus is unreachable.
func (f *Fleet) watchRevocations(updates chan<- revUpdate) {
	rewatch(f.ctx, func() (bool, error) { return f.watchOnce(updates) }, func(err error, retry time.Duration) {
		f.setErr(err.Error())
		f.logger.Warn("jwtguard fleet revocations not watched; what is loaded stays in force",
			slog.String("error", err.Error()), slog.Duration("retry_in", retry))
	})
}

// rewatch runs watch until ctx ends, and again whenever it returns, after
// a backoff that doubles up to watchRetryMax while it fails without
// progress (the bus unreachable) and starts again at a second after
// progress. failed is told each error and the wait before the next try.
func rewatch(ctx context.Context, watch func() (progress bool, err error), failed func(err error, retry time.Duration)) {
	backoff := time.Second
	for {
		progress, err := watch()
		if ctx.Err() != nil {
			return
		}
		if progress {
			backoff = time.Second
		}
		failed(err, backoff)
		t := time.NewTimer(backoff + rand.N(backoff/2))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, watchRetryMax)
	}
}

// watchHeartbeat is the idle heartbeat of the watch consumers: two
// missed ones (a cluster node hosting the consumer stopped) make the client
// recreate the consumer where it left off, so revocations and baselines
// keep arriving within seconds of a node loss.
const watchHeartbeat = time.Second

// orderedMessages relays the messages of stream that cfg selects through
// an ordered consumer with the idle heartbeat watchHeartbeat, which
// nats.go recreates where it left off after a reconnect or the loss of the
// node hosting it. The iterator stops when ctx ends or stop is called;
// stop waits for it.
func orderedMessages(ctx context.Context, stream jetstream.Stream, cfg jetstream.OrderedConsumerConfig) (it jetstream.MessagesContext, stop func(), err error) {
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	it, err = cons.Messages(jetstream.PullHeartbeat(watchHeartbeat), jetstream.PullExpiry(5*watchHeartbeat))
	if err != nil {
		return nil, nil, err
	}
	// Next blocks; stopping the iterator ends it. stop returns once the
	// iterator is stopped.
	stopped, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
		case <-stopped:
		}
		it.Stop()
	}()
	return it, func() { close(stopped); <-done }, nil
}

// kvRemoval is "delete" or "purge" when a key-value message removes its
// key (a delete, a purge, or the marker of a TTL expiry), "" for a put.
func kvRemoval(h nats.Header) string {
	switch {
	case h.Get("KV-Operation") == "DEL" || h.Get("Nats-Marker-Reason") == "Remove":
		return "delete"
	case h.Get("KV-Operation") != "" || h.Get("Nats-Marker-Reason") != "":
		return "purge"
	}
	return ""
}

// watchOnce binds the bucket and relays its entries, through an ordered
// consumer of its stream, until the consumer fails for good or the Fleet
// ends. A fresh watch replays the bucket whole; the list drops what the
// replay no longer holds once it is complete.
func (f *Fleet) watchOnce(updates chan<- revUpdate) (synced bool, err error) {
	js, err := jetstream.New(f.nc)
	if err != nil {
		return false, err
	}
	// Binding is retried at once when a request goes unanswered (a cluster
	// changing leaders), within busTimeout.
	ctx, cancel := context.WithTimeout(f.ctx, busTimeout)
	defer cancel()
	var stream jetstream.Stream
	err = retrying(ctx, func(ctx context.Context) error {
		if _, _, err := openBucket(ctx, js, bucketConfig(f.opts.Replicas)); err != nil {
			return err
		}
		stream, err = js.Stream(ctx, bucketStream)
		return err
	})
	if err != nil {
		return false, fmt.Errorf("revocation bucket: %w", err)
	}
	it, stop, err := orderedMessages(f.ctx, stream, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{bucketSubjects + ">"},
		// The last entry of each key: history 1 holds nothing else.
		DeliverPolicy: jetstream.DeliverLastPerSubjectPolicy,
	})
	if err != nil {
		return false, fmt.Errorf("revocation bucket: %w", err)
	}
	defer stop()
	send := func(u revUpdate) bool {
		select {
		case updates <- u:
			return true
		case <-f.ctx.Done():
			return false
		}
	}
	if !send(revUpdate{reset: true}) {
		return false, nil
	}
	if stream.CachedInfo().State.Msgs == 0 {
		synced = send(revUpdate{synced: true})
	}
	for {
		m, err := it.Next()
		if err != nil {
			return synced, fmt.Errorf("revocation watch ended: %w", err)
		}
		u := revUpdate{key: strings.TrimPrefix(m.Subject(), bucketSubjects)}
		if kvRemoval(m.Headers()) != "" {
			u.removed = true
		} else {
			u.value = m.Data()
		}
		if !send(u) {
			return synced, nil
		}
		if meta, err := m.Metadata(); !synced && err == nil && meta.NumPending == 0 {
			synced = send(revUpdate{synced: true})
			f.logger.Info("jwtguard fleet revocations loaded", slog.Int("revocations", f.list.len()))
		}
	}
}

// announcement is the message of SubjectKeys.
type announcement struct {
	Instance    string   `json:"instance"`
	Service     string   `json:"service,omitempty"`
	Issuer      string   `json:"issuer"`
	KIDs        []string `json:"kids"`
	Fingerprint string   `json:"fingerprint"`
}

// FetchDone implements [core.KeyHooks]; it counts the fetches hints caused.
func (f *Fleet) FetchDone(e core.FetchEvent) {
	if e.Trigger == "hint" {
		f.hintedFetches.Add(1)
	}
}

// KeySetChanged implements [core.KeyHooks]: the instance announces its new
// key set, unless the set is one the bus already announced (it was
// fetched because of that announcement), so a rotation costs the bus one
// announcement, not one per instance. It runs on the fetching goroutine:
// publishing only buffers.
func (f *Fleet) KeySetChanged(c core.KeySetChange) {
	if f.ctx.Err() != nil {
		return // closed: the verifier may outlive its membership
	}
	f.mu.Lock()
	f.changedAt[c.Issuer] = time.Now()
	known := f.announced[c.Issuer] == c.Fingerprint
	f.announced[c.Issuer] = c.Fingerprint
	f.mu.Unlock()
	if known {
		return
	}
	data, err := json.Marshal(announcement{Instance: f.opts.Instance, Service: f.opts.Service, Issuer: c.Issuer,
		KIDs: c.NewKIDs, Fingerprint: c.Fingerprint})
	if err != nil {
		return
	}
	if err := f.nc.Publish(SubjectKeys, data); err != nil {
		f.logger.Warn("jwtguard fleet announcement not sent", slog.String("iss", c.Issuer), slog.String("error", err.Error()))
		return
	}
	f.announcesSent.Add(1)
}

// receiveAnnouncements hints each announcement of another instance to the
// verifier. A hint can only make the verifier fetch its issuer's set
// itself, within its own limits (Verifier.Hint): a forged announcement
// costs at most one fetch per unknown_kid_interval, and admits nothing.
func (f *Fleet) receiveAnnouncements(msgs <-chan *nats.Msg) {
	for {
		select {
		case <-f.ctx.Done():
			return
		case m := <-msgs:
			var a announcement
			if json.Unmarshal(m.Data, &a) != nil || a.Instance == f.opts.Instance || a.Issuer == "" || a.Fingerprint == "" {
				continue
			}
			f.announcesRecv.Add(1)
			f.mu.Lock()
			f.announced[a.Issuer] = a.Fingerprint
			f.mu.Unlock()
			if v := f.verifier.Load(); v != nil {
				f.hints.Add(1)
				v.Hint(a.Issuer, a.Fingerprint)
			}
		}
	}
}
