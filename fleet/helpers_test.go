package fleet_test

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// The tests run real NATS servers in the process and real verifiers that
// fetch from a jwtguardtest IdP over loopback HTTP. Delivery over the bus
// takes real time, so a test waits on an event (a key set change, a new
// revocation snapshot) with a bounded timeout, never a sleep.

const (
	// busBound is the delivery bound the issue sets for revocations and
	// convergence.
	busBound = time.Second
	// waitLimit bounds every wait of a test; past it the test fails.
	waitLimit = 10 * time.Second
)

var bg = context.Background()

// member is one instance: a verifier, its Fleet, and a record of its key
// events.
type member struct {
	name  string
	limit time.Duration // of every wait; waitLimit unless a test sets it
	v     *core.Verifier
	f     *fleet.Fleet
	keys  *keyEvents
}

// keyEvents records a verifier's key lifecycle events, and signals each.
type keyEvents struct {
	mu      sync.Mutex
	fetches []core.FetchEvent
	changes []timedChange
	signal  chan struct{} // closed and replaced at every event
}

type timedChange struct {
	at time.Time
	c  core.KeySetChange
}

func newKeyEvents() *keyEvents { return &keyEvents{signal: make(chan struct{})} }

func (k *keyEvents) FetchDone(e core.FetchEvent) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.fetches = append(k.fetches, e)
	close(k.signal)
	k.signal = make(chan struct{})
}

func (k *keyEvents) KeySetChanged(c core.KeySetChange) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.changes = append(k.changes, timedChange{time.Now(), c})
	close(k.signal)
	k.signal = make(chan struct{})
}

func (k *keyEvents) next() <-chan struct{} {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.signal
}

// fetchesSince counts the fetches after the first n, with their triggers.
func (k *keyEvents) fetchesAfter(n int) []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, f := range k.fetches[n:] {
		out = append(out, f.Trigger+"/"+f.Result)
	}
	return out
}

func (k *keyEvents) fetchCount() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.fetches)
}

// changedTo returns when the set with fingerprint fp was loaded.
func (k *keyEvents) changedTo(fp string) (time.Time, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, c := range k.changes {
		if c.c.Fingerprint == fp {
			return c.at, true
		}
	}
	return time.Time{}, false
}

// newIdP is an IdP on the real clock: the verifiers' unknown-kid cooldown
// and convergence timers run on it.
func newIdP(t *testing.T) *jwtguardtest.IdP {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now), jwtguardtest.WithAlgorithm("ES256"))
	t.Cleanup(idp.Close)
	return idp
}

// join starts an instance against the IdP on the bus at url.
func join(t *testing.T, url, name string, cfg core.Config, edit ...func(*fleet.Options)) *member {
	t.Helper()
	opts := fleet.Options{URL: url, Service: "orders", Instance: name, Logger: slog.New(slog.DiscardHandler),
		NATS: []nats.Option{nats.ReconnectWait(50 * time.Millisecond)}}
	for _, e := range edit {
		e(&opts)
	}
	f, err := fleet.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	keys := newKeyEvents()
	v, err := core.New(cfg, core.WithRevocations(f), core.WithHooks(f), core.WithHooks(keys),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	f.Attach(v)
	t.Cleanup(func() {
		f.Close()
		v.Close()
	})
	return &member{name: name, v: v, f: f, keys: keys}
}

// waitSynced waits until m has read the revocation bucket whole.
func (m *member) waitSynced(t *testing.T) {
	t.Helper()
	m.waitRevocations(t, func() bool { return m.f.Stats().RevocationsSynced })
}

// waitRevocations waits, change by change, until cond holds.
func (m *member) waitRevocations(t *testing.T, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	limit := time.NewTimer(cmp.Or(m.limit, waitLimit))
	defer limit.Stop()
	for {
		changed := m.f.RevocationsChanged()
		if cond() {
			return time.Since(start)
		}
		select {
		case <-changed:
		case <-limit.C:
			t.Fatalf("%s: condition not met within %v; bus %+v", m.name, cmp.Or(m.limit, waitLimit), m.f.Stats())
		}
	}
}

// waitKeys waits, event by event, until cond holds.
func (m *member) waitKeys(t *testing.T, cond func() bool) {
	t.Helper()
	limit := time.NewTimer(waitLimit)
	defer limit.Stop()
	for {
		next := m.keys.next()
		if cond() {
			return
		}
		select {
		case <-next:
		case <-limit.C:
			t.Fatalf("%s: key condition not met within %v; stats %+v", m.name, waitLimit, m.v.Stats())
		}
	}
}

func (m *member) fingerprint() string { return m.v.Stats()[0].Fingerprint }

// operator is the revoke command's side: a plain connection to the bus.
func operator(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

func revoke(t *testing.T, js jetstream.JetStream, kind, value string, ttl time.Duration) fleet.Revocation {
	t.Helper()
	r := fleet.Revocation{Kind: kind, Value: value, Expires: time.Now().Add(ttl), Created: time.Now(), Note: "test"}
	// As the revoke command does, give the write time to ride out a
	// stream leader election (a cluster node just stopped): JetStream
	// requests without a deadline give up after 5s.
	ctx, cancel := context.WithTimeout(bg, 30*time.Second)
	defer cancel()
	if err := fleet.Revoke(ctx, js, r, 0); err != nil {
		t.Fatal(err)
	}
	return r
}

func wantReason(t *testing.T, err error, want core.Reason) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) || e.Reason != want {
		t.Fatalf("want %s, got %v", want, err)
	}
}

func kidOf(t *testing.T, idp *jwtguardtest.IdP) string {
	kids := idp.KIDs()
	if len(kids) == 0 {
		t.Fatal("the IdP publishes no key")
	}
	return kids[len(kids)-1]
}
