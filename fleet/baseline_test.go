package fleet_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/fleet/internal/natstest"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// The tests of the baseline entry: a real NATS server and a real IdP, each
// change written to the bucket as an operator would, and waits bounded by
// waitLimit on the update the entry reports.

const baselineBucket = "jwtguard_baselines"

// estate is an estate file on idp whose orders service accepts audience.
func estate(idp *jwtguardtest.IdP, audience string) []byte {
	return []byte("issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() + "\n" +
		"algorithms: [ES256]\nservices:\n  orders:\n    audiences: [" + audience + "]\n  billing:\n    audiences: [billing-api]\n")
}

// unsafe is estate with HS256 allowed: refused, on line 4, at algorithms.
func unsafe(idp *jwtguardtest.IdP) []byte {
	return bytes.Replace(estate(idp, "orders-v2"), []byte("[ES256]"), []byte("[ES256, HS256]"), 1)
}

// syncLog is a log sink the watch goroutine may write to.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// follower is one service instance on the entry: its verifier, the entry
// it follows, and what the entry reports.
type follower struct {
	v       *core.Verifier
	entry   *fleet.BaselineEntry
	updates chan fleet.BaselineUpdate
	log     *syncLog
}

// follow starts the orders service on the entry key, as a service started
// with -config-kv and -config-kv-allow-weaker does (the tests change
// audiences, which loosens), with opts for its verifier.
func follow(t *testing.T, js jetstream.JetStream, key string, opts ...core.Option) *follower {
	t.Helper()
	return followWith(t, js, key, true, opts...)
}

// followWith is follow, with or without AllowWeaker.
func followWith(t *testing.T, js jetstream.JetStream, key string, allowWeaker bool, opts ...core.Option) *follower {
	t.Helper()
	fl := &follower{updates: make(chan fleet.BaselineUpdate, 64), log: &syncLog{}}
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	entry, err := fleet.OpenBaseline(ctx, js, fleet.BaselineOptions{Bucket: baselineBucket, Key: key, Service: "orders",
		AllowWeaker: allowWeaker,
		Logger:      slog.New(slog.NewJSONHandler(fl.log, nil)),
		OnUpdate:    func(u fleet.BaselineUpdate) { fl.updates <- u }})
	if err != nil {
		t.Fatal(err)
	}
	fl.entry = entry
	fl.v, err = core.New(entry.Config(), append([]core.Option{core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	if err := entry.Follow(fl.v); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		entry.Close()
		fl.v.Close()
	})
	return fl
}

// await returns the next update, within waitLimit.
func (fl *follower) await(t *testing.T) fleet.BaselineUpdate {
	t.Helper()
	select {
	case u := <-fl.updates:
		return u
	case <-time.After(waitLimit):
		t.Fatalf("no update of the entry within %v", waitLimit)
		return fleet.BaselineUpdate{}
	}
}

func publish(t *testing.T, js jetstream.JetStream, key string, data []byte) fleet.Published {
	t.Helper()
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	p, err := fleet.PublishBaseline(ctx, js, baselineBucket, key, data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func bucket(t *testing.T, js jetstream.JetStream) jetstream.KeyValue {
	t.Helper()
	kv, err := js.KeyValue(bg, baselineBucket)
	if err != nil {
		t.Fatal(err)
	}
	return kv
}

// Each change of the entry, as the instances following it see it: a valid
// baseline switches the verifier (a token only the new one accepts passes
// after, not before); an invalid one, a delete and a purge leave the old
// one serving, and say so in the log.
func TestBaselineFollowsTheEntry(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	for _, tc := range []struct {
		name    string
		change  func(t *testing.T, kv jetstream.KeyValue, key string)
		op      string
		changed bool
		logs    []string // in the log, in this order
	}{
		{"a new baseline", func(t *testing.T, kv jetstream.KeyValue, key string) {
			publish(t, js, key, estate(idp, "orders-v2"))
		}, "put", true, nil},
		{"the same baseline with a comment", func(t *testing.T, kv jetstream.KeyValue, key string) {
			publish(t, js, key, append(estate(idp, "orders-api"), "# reviewed\n"...))
		}, "put", false, nil},
		// Written past publish's lint, as anyone with write access could.
		{"an invalid baseline", func(t *testing.T, kv jetstream.KeyValue, key string) {
			if _, err := kv.Put(bg, key, unsafe(idp)); err != nil {
				t.Fatal(err)
			}
		}, "put", false, []string{`"msg":"jwtguard baseline update refused","bucket":"jwtguard_baselines","kv_key":"`,
			`"key":"algorithms","line":4,"problem":"\"HS256\" (HMAC) cannot be used with a public key set"`}},
		{"not YAML", func(t *testing.T, kv jetstream.KeyValue, key string) {
			if _, err := kv.Put(bg, key, []byte("issuers: [\n")); err != nil {
				t.Fatal(err)
			}
		}, "put", false, []string{`"key":"(file)"`, "not valid YAML"}},
		{"a delete", func(t *testing.T, kv jetstream.KeyValue, key string) {
			if err := kv.Delete(bg, key); err != nil {
				t.Fatal(err)
			}
		}, "delete", false, []string{`"msg":"jwtguard baseline entry removed; the baseline in force stays"`, `"op":"delete"`}},
		{"a purge", func(t *testing.T, kv jetstream.KeyValue, key string) {
			if err := kv.Purge(bg, key); err != nil {
				t.Fatal(err)
			}
		}, "purge", false, []string{`"op":"purge"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := strings.NewReplacer(" ", "-").Replace(tc.name)
			first := publish(t, js, key, estate(idp, "orders-api"))
			fl := follow(t, js, key)
			before := fl.v.Config().Fingerprint()
			if before != first.Services[0].Fingerprint {
				t.Fatalf("started on %s, published %+v", before, first)
			}
			v2 := idp.NewToken("alice").Audience("orders-v2").Sign()
			if _, err := fl.v.Verify(bg, v2); !errors.Is(err, core.ReasonAudienceInvalid) {
				t.Fatalf("before the change, orders-v2: %v", err)
			}
			tc.change(t, bucket(t, js), key)
			u := fl.await(t)
			if u.Op != tc.op || u.Changed != tc.changed || u.Revision <= first.Revision {
				t.Fatalf("update %+v, want op %s changed %t after revision %d", u, tc.op, tc.changed, first.Revision)
			}
			if (u.Err != nil) != (tc.logs != nil && tc.op == "put") {
				t.Errorf("update error %v", u.Err)
			}
			_, err := fl.v.Verify(bg, v2)
			if tc.changed {
				if err != nil || u.Fingerprint == before || u.Fingerprint != fl.v.Config().Fingerprint() {
					t.Fatalf("after the switch: orders-v2 %v, update %+v", err, u)
				}
				return
			}
			if !errors.Is(err, core.ReasonAudienceInvalid) || u.Fingerprint != before || fl.v.Config().Fingerprint() != before {
				t.Fatalf("the old baseline stopped serving: orders-v2 %v, update %+v", err, u)
			}
			if _, err := fl.v.Verify(bg, idp.NewToken("alice").Audience("orders-api").Sign()); err != nil {
				t.Fatalf("the old baseline stopped serving: %v", err)
			}
			log := fl.log.String()
			at := 0
			for _, want := range tc.logs {
				i := strings.Index(log[at:], want)
				if i < 0 {
					t.Fatalf("the log does not say %s:\n%s", want, log)
				}
				at += i
			}
			// A valid baseline published next is followed as ever.
			publish(t, js, key, estate(idp, "orders-v2"))
			if u := fl.await(t); !u.Changed {
				t.Fatalf("after the refusal, a valid baseline: %+v", u)
			}
			if _, err := fl.v.Verify(bg, v2); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// Without AllowWeaker, the bus can only tighten: an update that loosens
// verification (an audience or algorithm added, more leeway) is refused,
// logged with what it loosens, and the baseline in force keeps serving; a
// stricter one is followed. (A reload counts a dropped audience as a
// loosening too, so the stricter case here is less leeway.)
func TestBaselineFromTheBusOnlyTightens(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	withLeeway := func(b []byte, leeway string) []byte {
		return append(append([]byte{}, b...), "leeway: "+leeway+"\n"...)
	}
	base := withLeeway(estate(idp, "orders-api, orders-v2"), "30s")
	for _, tc := range []struct {
		name    string
		next    []byte
		changed bool
		weakens string // in the refusal's log line
	}{
		{"an audience added", withLeeway(estate(idp, "orders-api, orders-v2, orders-v3"), "30s"), false, `"weakens":["audiences +orders-v3"]`},
		{"more leeway", withLeeway(estate(idp, "orders-api, orders-v2"), "1m"), false, `"weakens":["leeway 30s -> 1m0s"]`},
		{"an algorithm added", withLeeway(bytes.Replace(estate(idp, "orders-api, orders-v2"), []byte("[ES256]"), []byte("[ES256, RS256]"), 1), "30s"), false, `"weakens":["algorithms +RS256"]`},
		{"less leeway", withLeeway(estate(idp, "orders-api, orders-v2"), "10s"), true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key := strings.NewReplacer(" ", "-").Replace(tc.name)
			publish(t, js, key, base)
			fl := followWith(t, js, key, false)
			before := fl.v.Config().Fingerprint()
			next := publish(t, js, key, tc.next)
			u := fl.await(t)
			if u.Changed != tc.changed {
				t.Fatalf("update %+v, want changed %t", u, tc.changed)
			}
			if tc.changed {
				if u.Err != nil || fl.v.Config().Fingerprint() != next.Services[0].Fingerprint {
					t.Fatalf("a stricter baseline was not followed: %+v", u)
				}
				if got := fl.v.Config().Leeway; got != 10*time.Second {
					t.Fatalf("leeway %v after the switch", got)
				}
				return
			}
			if u.Err == nil || !strings.Contains(u.Err.Error(), "loosens verification") || fl.v.Config().Fingerprint() != before {
				t.Fatalf("a looser baseline was followed: %+v", u)
			}
			if log := fl.log.String(); !strings.Contains(log, "jwtguard baseline update refused: it loosens verification") || !strings.Contains(log, tc.weakens) {
				t.Fatalf("the log does not say %s:\n%s", tc.weakens, log)
			}
			if _, err := fl.v.Verify(bg, idp.NewToken("alice").Audience("orders-v3").Sign()); !errors.Is(err, core.ReasonAudienceInvalid) {
				t.Fatalf("orders-v3 after the refusal: %v", err)
			}
		})
	}
}

// A service does not start on an entry it cannot read: the error names the
// bucket and the key, and for a baseline each problem's key and line.
func TestOpenBaselineRefuses(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(bg, waitLimit)
	defer cancel()
	open := func(bucket, key, service string) error {
		e, err := fleet.OpenBaseline(ctx, js, fleet.BaselineOptions{Bucket: bucket, Key: key, Service: service,
			Logger: slog.New(slog.DiscardHandler)})
		if err == nil {
			e.Close()
		}
		return err
	}
	if err := open(baselineBucket, "orders", "orders"); err == nil ||
		err.Error() != `fleet: baseline in bucket "jwtguard_baselines" key "orders": no such bucket (jwtguard publish creates it)` {
		t.Fatalf("before any bucket: %v", err)
	}
	publish(t, js, "estate", estate(idp, "orders-api"))
	publish(t, js, "deleted", estate(idp, "orders-api"))
	kv := bucket(t, js)
	if err := kv.Delete(bg, "deleted"); err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Put(bg, "unsafe", unsafe(idp)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, key, service string
		says               []string
	}{
		{"a missing entry", "missing", "orders", []string{`bucket "jwtguard_baselines" key "missing": no such entry`}},
		{"a deleted entry", "deleted", "orders", []string{`key "deleted": the entry was removed at revision 3`}},
		{"an invalid baseline", "unsafe", "orders", []string{`key "unsafe" (revision 4):`,
			`baseline: line 4: algorithms: "HS256" (HMAC) cannot be used with a public key set`}},
		{"an estate without the service", "estate", "shipping", []string{`key "estate" (revision 1):`,
			`no service "shipping": the baseline lists orders, billing`}},
		{"no key", "", "orders", []string{"needs a bucket and a key"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := open(baselineBucket, tc.key, tc.service)
			if err == nil {
				t.Fatal("opened")
			}
			for _, want := range tc.says {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("%q does not say %q", err, want)
				}
			}
		})
	}
	// The problems are there for a service to log one line each.
	err := open(baselineBucket, "unsafe", "orders")
	if p := core.ConfigErrors(err); len(p) != 1 || p[0].Key != "algorithms" || p[0].Line != 4 {
		t.Fatalf("problems %+v of %v", p, err)
	}
}

// publish lints first and writes nothing for a baseline with errors: not
// even the bucket on a bus that has none, and no new revision on one that
// has. A valid baseline creates the bucket once and says so.
func TestPublishBaseline(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	refuse := func(data []byte, want ...string) {
		t.Helper()
		_, err := fleet.PublishBaseline(bg, js, baselineBucket, "orders", data)
		var lint *fleet.LintError
		if !errors.As(err, &lint) {
			t.Fatalf("published: %v", err)
		}
		for _, w := range want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q does not say %q", err, w)
			}
		}
	}
	refuse(unsafe(idp), `baseline: line 4: algorithms: "HS256" (HMAC) cannot be used with a public key set`)
	if _, err := js.KeyValue(bg, baselineBucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("a refused publish made the bucket: %v", err)
	}

	p := publish(t, js, "orders", estate(idp, "orders-api"))
	want, _ := core.ParseBaseline(estate(idp, "orders-api"))
	orders, _ := want.ForService("orders")
	billing, _ := want.ForService("billing")
	if !p.Created || p.Revision != 1 || p.Fingerprint != "" || p.SharedFingerprint != orders.SharedFingerprint() ||
		fmt.Sprint(p.Services) != fmt.Sprint([]fleet.ServiceFingerprint{{"orders", orders.Fingerprint()}, {"billing", billing.Fingerprint()}}) {
		t.Fatalf("published %+v", p)
	}
	single := []byte("issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() + "\naudiences: [a]\nalgorithms: [ES256]\n")
	cfg, _ := core.ParseBaseline(single)
	if p := publish(t, js, "single", single); p.Created || p.Revision != 2 || p.Fingerprint != cfg.Fingerprint() || p.Services != nil {
		t.Fatalf("published %+v", p)
	}

	kv := bucket(t, js)
	for name, data := range map[string][]byte{
		"lint errors": unsafe(idp),
		"too large":   bytes.Repeat([]byte("#"), 1<<20+1),
		"empty":       nil,
	} {
		t.Run(name, func(t *testing.T) {
			refuse(data)
			if st, err := kv.Status(bg); err != nil || st.Values() != 2 {
				t.Fatalf("a refused publish wrote: %v values, %v", st.Values(), err)
			}
			if e, err := kv.Get(bg, "orders"); err != nil || e.Revision() != 1 {
				t.Fatalf("the entry moved: %v", err)
			}
		})
	}
}

// Published once, every instance following the entry switches, and the
// fleet report shows each on the new fingerprint: the heartbeat reads the
// baseline the verifier runs on now.
func TestPublishReachesTheFleet(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	first := publish(t, js, "orders", estate(idp, "orders-api"))
	var followers []*follower
	for i := range 3 {
		f, err := fleet.New(fleet.Options{URL: srv.ClientURL(), Service: "orders", Instance: fmt.Sprintf("o%d", i),
			Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(f.Close)
		fl := follow(t, js, "orders", core.WithRevocations(f), core.WithHooks(f))
		f.Attach(fl.v)
		followers = append(followers, fl)
	}
	report := func() []fleet.Heartbeat {
		t.Helper()
		hbs, err := fleet.Observe(bg, operatorConn(t, srv.ClientURL()), 500*time.Millisecond)
		if err != nil || len(hbs) != len(followers) {
			t.Fatalf("%d heartbeats: %v", len(hbs), err)
		}
		return hbs
	}
	for _, hb := range report() {
		if hb.Fingerprint != first.Services[0].Fingerprint {
			t.Fatalf("%s on %s before the publish, want %s", hb.Instance, hb.Fingerprint, first.Services[0].Fingerprint)
		}
	}
	start := time.Now()
	next := publish(t, js, "orders", estate(idp, "orders-v2"))
	for _, fl := range followers {
		if u := fl.await(t); !u.Changed || u.Fingerprint != next.Services[0].Fingerprint {
			t.Fatalf("update %+v, want a switch to %s", u, next.Services[0].Fingerprint)
		}
	}
	t.Logf("every instance switched %v after the publish", time.Since(start).Round(time.Millisecond))
	hbs := report()
	for _, hb := range hbs {
		if hb.Fingerprint != next.Services[0].Fingerprint || hb.Baseline["audiences"] != "[orders-v2]" {
			t.Errorf("%s reports %s %s, want %s", hb.Instance, hb.Fingerprint, hb.Baseline["audiences"], next.Services[0].Fingerprint)
		}
	}
	ref, _ := core.ParseBaseline(estate(idp, "orders-v2"))
	if d := fleet.FindDrift(hbs, &ref, 5*time.Second); len(d) > 0 {
		t.Errorf("drift after the publish: %+v", d)
	}
}

// Close stops the goroutine and waits for it: an update written after
// Close, which a second watch of the entry does see, reaches neither the
// verifier nor OnUpdate.
func TestBaselineClose(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	publish(t, js, "orders", estate(idp, "orders-api"))
	closed := follow(t, js, "orders")
	before := closed.v.Config().Fingerprint()
	closed.entry.Close()
	closed.entry.Close() // twice is harmless
	if err := closed.entry.Follow(closed.v); err == nil {
		t.Fatal("a closed entry followed")
	}
	witness := follow(t, js, "orders")
	publish(t, js, "orders", estate(idp, "orders-v2"))
	if u := witness.await(t); !u.Changed {
		t.Fatalf("the witness saw %+v", u)
	}
	select {
	case u := <-closed.updates:
		t.Fatalf("an update after Close: %+v", u)
	default:
	}
	if closed.v.Config().Fingerprint() != before {
		t.Fatal("the verifier switched after Close")
	}
	if err := witness.entry.Follow(witness.v); err == nil {
		t.Fatal("an entry followed twice")
	}
}

// operatorConn is a plain connection to the bus, as jwtguard fleet opens.
func operatorConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// The bus going away changes nothing in force, and the entry is followed
// again once it is back: the watch is an ordered consumer that nats.go
// recreates after a reconnect, where it left off.
func TestBaselineAcrossARestartOfTheBus(t *testing.T) {
	opts := natstest.Options(t)
	srv := natstest.Start(t, opts)
	idp := newIdP(t)
	nc, err := nats.Connect(srv.ClientURL(), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	publish(t, js, "orders", estate(idp, "orders-api"))
	fl := follow(t, js, "orders")
	reconnected := make(chan struct{}, 1)
	nc.SetReconnectHandler(func(*nats.Conn) { reconnected <- struct{}{} })

	natstest.Stop(srv)
	if _, err := fl.v.Verify(bg, idp.NewToken("alice").Audience("orders-api").Sign()); err != nil {
		t.Fatalf("without the bus: %v", err)
	}
	restarted := time.Now()
	srv = natstest.Start(t, opts)
	select {
	case <-reconnected:
	case <-time.After(waitLimit):
		t.Fatal("no reconnect")
	}
	publish(t, js, "orders", estate(idp, "orders-v2"))
	if u := fl.await(t); !u.Changed || u.Revision != 2 {
		t.Fatalf("after the restart: %+v", u)
	}
	t.Logf("the put made after the restart applied %v after the server started again", time.Since(restarted).Round(time.Millisecond))
	if _, err := fl.v.Verify(bg, idp.NewToken("alice").Audience("orders-v2").Sign()); err != nil {
		t.Fatalf("after the restart: %v", err)
	}
}
