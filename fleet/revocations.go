package fleet

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// RevocationBucket is the JetStream key-value bucket that holds the
// revocations. Instances that start or reconnect later read it whole, and
// each entry expires at its TTL (the bucket's per-key TTL, and each
// instance's own timer).
const RevocationBucket = "jwtguard_revocations"

// The bucket's stream and the prefix of its subjects, as JetStream names
// them for a key-value bucket.
const (
	bucketStream   = "KV_" + RevocationBucket
	bucketSubjects = "$KV." + RevocationBucket + "."
)

// DefaultMaxRevocations bounds the revocation list: entries beyond it are
// refused, by Revoke with ErrRevocationsFull and by an instance with an
// error log line and a count in Stats.
const DefaultMaxRevocations = 100_000

// markerTTL is how long the bucket keeps the marker of a key its TTL
// removed, so that a watcher reconnecting within it learns of the expiry.
// Instances expire entries on their own clock too, so a later reconnect
// loses nothing.
const markerTTL = time.Hour

// What a revocation names.
const (
	KindKID = "kid"
	KindJTI = "jti"
	KindSub = "sub"
)

// Revocation is one entry of the list: every token whose kid, jti or sub
// (Kind) equals Value is refused with token_revoked until Expires, for one
// issuer or, with Issuer "", for all.
type Revocation struct {
	Kind    string    `json:"kind"`
	Value   string    `json:"value"`
	Issuer  string    `json:"issuer,omitempty"`
	Expires time.Time `json:"expires"`
	Note    string    `json:"note,omitempty"`
	Created time.Time `json:"created"`
	By      string    `json:"by,omitempty"` // the host that revoked
}

// ErrRevocationsFull is returned by Revoke when the list holds its maximum
// number of entries.
var ErrRevocationsFull = errors.New("revocation list full")

// key is the bucket key of r: its kind and a hash of issuer and value, so
// that any kid, jti or sub fits the key alphabet and revoking the same
// thing twice names the same entry.
func (r Revocation) key() string {
	sum := sha256.Sum256([]byte(r.Issuer + "\n" + r.Value))
	return r.Kind + "." + hex.EncodeToString(sum[:16])
}

func (r Revocation) check() error {
	switch {
	case r.Kind != KindKID && r.Kind != KindJTI && r.Kind != KindSub:
		return fmt.Errorf("revocation kind %q is not kid, jti or sub", r.Kind)
	case r.Value == "":
		return fmt.Errorf("revocation of an empty %s", r.Kind)
	}
	return nil
}

func (r Revocation) String() string {
	s := r.Kind + " " + r.Value
	if r.Issuer != "" {
		s += " of " + r.Issuer
	}
	return s
}

// bucketConfig is the one configuration of the bucket, whoever creates it.
func bucketConfig(replicas int) jetstream.KeyValueConfig {
	return jetstream.KeyValueConfig{
		Bucket:         RevocationBucket,
		Description:    "jwtguard revocations: kids, jtis and subs refused until their TTL",
		History:        1,
		Storage:        jetstream.FileStorage,
		Replicas:       max(replicas, 1),
		LimitMarkerTTL: markerTTL,
	}
}

// openBucket binds the bucket cfg names, creating it with cfg if it does
// not exist yet; created says this call made it.
func openBucket(ctx context.Context, js jetstream.JetStream, cfg jetstream.KeyValueConfig) (kv jetstream.KeyValue, created bool, err error) {
	kv, err = js.KeyValue(ctx, cfg.Bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		kv, err = js.CreateKeyValue(ctx, cfg)
		created = err == nil
		if errors.Is(err, jetstream.ErrBucketExists) {
			kv, err = js.KeyValue(ctx, cfg.Bucket)
		}
	}
	return kv, created, err
}

// revSnapshot is what the verify path reads: immutable, swapped whole. Each
// map holds, per revoked value, the issuers it is revoked for ("" for all).
type revSnapshot struct {
	kid, jti, sub map[string][]string
}

func revokedIn(m map[string][]string, value, issuer string) bool {
	if len(m) == 0 || value == "" {
		return false
	}
	for _, iss := range m[value] {
		if iss == "" || iss == issuer {
			return true
		}
	}
	return false
}

// revUpdate is one change from the bucket: a put, or a removal of key.
type revUpdate struct {
	key     string
	value   []byte // nil for a removal
	removed bool
	reset   bool // a new watch replays the bucket whole from here
	synced  bool // the bucket's content so far has been delivered
}

// revocationList is the instance's copy of the bucket. One goroutine (run)
// owns entries; the verify path reads only the snapshot.
type revocationList struct {
	max    int
	logger *slog.Logger

	snap    atomic.Pointer[revSnapshot] // nil while the list is empty
	count   atomic.Int64
	refused atomic.Uint64
	synced  atomic.Bool

	mu      sync.Mutex
	changed chan struct{} // closed and replaced at every new snapshot

	entries map[string]Revocation // by bucket key; run's alone
	// unconfirmed holds, during a replay, the keys the replay has not
	// named yet: those left when it completes were removed meanwhile.
	unconfirmed map[string]bool
}

func newRevocationList(max int, logger *slog.Logger) *revocationList {
	return &revocationList{max: max, logger: logger, changed: make(chan struct{}), entries: map[string]Revocation{}}
}

// Revoked is the check of every verdict: one atomic load, and with entries
// one map lookup per kind; no lock, no allocation.
func (l *revocationList) Revoked(issuer, kid, jti, sub string) bool {
	s := l.snap.Load()
	if s == nil {
		return false
	}
	return revokedIn(s.kid, kid, issuer) || revokedIn(s.jti, jti, issuer) || revokedIn(s.sub, sub, issuer)
}

// Changed returns a channel closed when the next snapshot is in force, so
// a caller can wait for a change without polling.
func (l *revocationList) Changed() <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.changed
}

// run applies updates until stop is closed or updates ends. Updates that
// arrive together are applied together, so a burst (the whole bucket at
// start) builds one snapshot, not one per entry. Entries leave at their
// expiry on the instance's own clock, whether or not the bucket's marker
// arrives.
func (l *revocationList) run(updates <-chan revUpdate, stop <-chan struct{}) {
	expiry := time.NewTimer(time.Hour)
	expiry.Stop()
	defer expiry.Stop()
	for {
		select {
		case <-stop:
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			l.apply(u)
		drain:
			for {
				select {
				case u, ok := <-updates:
					if !ok {
						break drain
					}
					l.apply(u)
				default:
					break drain
				}
			}
		case <-expiry.C:
		}
		next := l.expire(time.Now())
		l.publish()
		if !next.IsZero() {
			expiry.Reset(time.Until(next))
		}
	}
}

func (l *revocationList) apply(u revUpdate) {
	switch {
	case u.reset:
		// Until the replay completes every entry stays in force: the list
		// errs on the side of refusing.
		l.synced.Store(false)
		l.unconfirmed = make(map[string]bool, len(l.entries))
		for k := range l.entries {
			l.unconfirmed[k] = true
		}
		return
	case u.synced:
		for k := range l.unconfirmed {
			delete(l.entries, k)
		}
		l.unconfirmed = nil
		l.synced.Store(true)
		return
	}
	delete(l.unconfirmed, u.key)
	if u.removed {
		delete(l.entries, u.key)
		return
	}
	var r Revocation
	if err := json.Unmarshal(u.value, &r); err != nil || r.check() != nil || r.key() != u.key {
		// Whatever is not a well-formed entry under its own key is left
		// out: an entry can only add a refusal, so dropping one never
		// admits a token that a correct list refuses.
		l.logger.Error("jwtguard fleet revocation ignored", slog.String("key", u.key), slog.String("error", "not a revocation entry"))
		return
	}
	if _, ok := l.entries[u.key]; !ok && len(l.entries) >= l.max {
		l.refused.Add(1)
		l.logger.Error("jwtguard fleet revocation refused: the list is full", slog.String("revocation", r.String()),
			slog.Int("max_revocations", l.max))
		return
	}
	l.entries[u.key] = r
}

// expire drops entries past their expiry and returns the next expiry.
func (l *revocationList) expire(now time.Time) time.Time {
	var next time.Time
	for k, r := range l.entries {
		if !r.Expires.After(now) {
			delete(l.entries, k)
			continue
		}
		if next.IsZero() || r.Expires.Before(next) {
			next = r.Expires
		}
	}
	return next
}

// publish builds the snapshot the verify path reads.
func (l *revocationList) publish() {
	var s *revSnapshot
	if len(l.entries) > 0 {
		s = &revSnapshot{kid: map[string][]string{}, jti: map[string][]string{}, sub: map[string][]string{}}
		for _, r := range l.entries {
			m := s.sub
			switch r.Kind {
			case KindKID:
				m = s.kid
			case KindJTI:
				m = s.jti
			}
			m[r.Value] = append(m[r.Value], r.Issuer)
		}
	}
	l.snap.Store(s)
	l.count.Store(int64(len(l.entries)))
	l.mu.Lock()
	close(l.changed)
	l.changed = make(chan struct{})
	l.mu.Unlock()
}

// attemptTimeout bounds one try of an operator's request. While a cluster
// replaces a stopped leader, a JetStream request can go unanswered for as
// long as the caller waits, and the same request sent again reaches the new
// leader at once.
const attemptTimeout = 2 * time.Second

// retrying runs do, with attemptTimeout per try, until it succeeds, fails
// for a reason a retry cannot change, or ctx ends.
func retrying(ctx context.Context, do func(context.Context) error) error {
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		err := do(actx)
		cancel()
		if err == nil || !transient(err) || ctx.Err() != nil {
			return err
		}
		t := time.NewTimer(250 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// transient tells the failures of a bus that is changing leaders from
// those of a request.
func transient(err error) bool {
	var api *jetstream.APIError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) || errors.Is(err, nats.ErrNoResponders) ||
		errors.Is(err, jetstream.ErrNoStreamResponse) || (errors.As(err, &api) && api.Code == 503)
}

// Revoke adds r to the bucket (the jwtguard revoke command). Expires
// must be in the future; the entry's TTL is the time until it. Revoking
// what is already revoked until later keeps the later expiry. maxEntries
// bounds the list (DefaultMaxRevocations when 0). A request lost while a
// cluster changes leaders is sent again until ctx ends; revoking twice is
// harmless.
func Revoke(ctx context.Context, js jetstream.JetStream, r Revocation, maxEntries int) error {
	if err := r.check(); err != nil {
		return err
	}
	return retrying(ctx, func(ctx context.Context) error { return revoke(ctx, js, r, maxEntries) })
}

func revoke(ctx context.Context, js jetstream.JetStream, r Revocation, maxEntries int) error {
	if err := r.check(); err != nil {
		return err
	}
	ttl := time.Until(r.Expires)
	if ttl < time.Second {
		return fmt.Errorf("the TTL must be at least 1s, got %v", ttl.Round(time.Millisecond))
	}
	// The bucket's TTLs count whole seconds: round up, so that the bucket
	// never drops an entry before its expiry.
	ttl = (ttl + time.Second - 1).Truncate(time.Second)
	if maxEntries <= 0 {
		maxEntries = DefaultMaxRevocations
	}
	kv, _, err := openBucket(ctx, js, bucketConfig(1))
	if err != nil {
		return err
	}
	if cur, err := kv.Get(ctx, r.key()); err == nil {
		var old Revocation
		if json.Unmarshal(cur.Value(), &old) == nil && !old.Expires.Before(r.Expires) {
			return nil // already revoked for at least as long
		}
	} else {
		n, err := countKeys(ctx, kv)
		if err != nil {
			return err
		}
		if n >= maxEntries {
			return fmt.Errorf("%w: %d entries, the limit; delete some or wait for them to expire", ErrRevocationsFull, n)
		}
	}
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = kv.Create(ctx, r.key(), data, jetstream.KeyTTL(ttl))
	if errors.Is(err, jetstream.ErrKeyExists) {
		// A per-key TTL is set at creation only: an entry extended is made
		// anew. Instances apply the removal and the new entry in order.
		if err = kv.Delete(ctx, r.key()); err == nil {
			_, err = kv.Create(ctx, r.key(), data, jetstream.KeyTTL(ttl))
		}
	}
	return err
}

func countKeys(ctx context.Context, kv jetstream.KeyValue) (int, error) {
	lister, err := kv.ListKeys(ctx)
	if err != nil {
		return 0, err
	}
	defer lister.Stop()
	n := 0
	for {
		select {
		case _, ok := <-lister.Keys():
			if !ok {
				return n, nil
			}
			n++
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// Revocations lists the bucket's entries still in force, by kind, issuer
// and value.
func Revocations(ctx context.Context, js jetstream.JetStream) ([]Revocation, error) {
	var out []Revocation
	err := retrying(ctx, func(ctx context.Context) error {
		var err error
		out, err = revocations(ctx, js)
		return err
	})
	return out, err
}

func revocations(ctx context.Context, js jetstream.JetStream) ([]Revocation, error) {
	kv, _, err := openBucket(ctx, js, bucketConfig(1))
	if err != nil {
		return nil, err
	}
	w, err := kv.WatchAll(ctx, jetstream.IgnoreDeletes())
	if err != nil {
		return nil, err
	}
	defer w.Stop()
	var out []Revocation
	now := time.Now()
	for {
		var e jetstream.KeyValueEntry
		select {
		case e = <-w.Updates():
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if e == nil {
			break
		}
		var r Revocation
		if json.Unmarshal(e.Value(), &r) == nil && r.Expires.After(now) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b Revocation) int {
		return strings.Compare(a.Kind+"\n"+a.Issuer+"\n"+a.Value, b.Kind+"\n"+b.Issuer+"\n"+b.Value)
	})
	return out, nil
}

// Unrevoke deletes the entry that revokes r's kind and value for r's
// issuer. It reports whether there was one.
func Unrevoke(ctx context.Context, js jetstream.JetStream, r Revocation) (bool, error) {
	if err := r.check(); err != nil {
		return false, err
	}
	found := false // a try that found the entry may be followed by one that finds it deleted
	err := retrying(ctx, func(ctx context.Context) error {
		kv, _, err := openBucket(ctx, js, bucketConfig(1))
		if err != nil {
			return err
		}
		if _, err := kv.Get(ctx, r.key()); errors.Is(err, jetstream.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		found = true
		return kv.Delete(ctx, r.key())
	})
	return found, err
}

// len is the number of entries in force.
func (l *revocationList) len() int { return int(l.count.Load()) }
