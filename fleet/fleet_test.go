package fleet_test

import (
	"fmt"

	"github.com/nats-io/nats.go"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/fleet/internal/natstest"
)

// Ten instances converge on a rotated key set within a second of the first
// one seeing the new kid, each with one fetch; a removed key stops
// validating on all of them within a second of the first one's refresh.
func TestConvergence(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	cfg := idp.Config()
	// Hinted fetches start at most once per unknown_kid_interval: a
	// shorter one than the default lets the removal follow the rotation
	// sooner.
	cfg.JWKS.UnknownKIDInterval = time.Second
	members := make([]*member, 10)
	for i := range members {
		members[i] = join(t, srv.ClientURL(), fmt.Sprintf("i%d", i), cfg)
	}
	oldTok := idp.Token("alice")
	oldKID := kidOf(t, idp)
	fetched := make([]int, len(members))
	for i, m := range members {
		if _, err := m.v.Verify(bg, oldTok); err != nil {
			t.Fatal(err)
		}
		fetched[i] = m.keys.fetchCount()
	}

	idp.Rotate()
	newTok := idp.Token("alice")
	seen := time.Now()
	if _, err := members[0].v.Verify(bg, newTok); err != nil {
		t.Fatal(err)
	}
	fp := members[0].fingerprint()
	var report []string
	for i, m := range members {
		m.waitKeys(t, func() bool { _, ok := m.keys.changedTo(fp); return ok })
		at, _ := m.keys.changedTo(fp)
		took := at.Sub(seen)
		fetches := m.keys.fetchesAfter(fetched[i])
		report = append(report, fmt.Sprintf("%s %v %v", m.name, took.Round(time.Millisecond), fetches))
		if took > busBound || len(fetches) != 1 {
			t.Errorf("%s: on the new set %v after the first instance saw its kid, with fetches %v", m.name, took, fetches)
		}
		fetched[i] = m.keys.fetchCount()
	}
	t.Logf("rotation: %s", strings.Join(report, "; "))
	for _, m := range members {
		if _, err := m.v.Verify(bg, newTok); err != nil {
			t.Errorf("%s: %v", m.name, err)
		}
	}

	// The removal comes one unknown_kid_interval after the rotation, as
	// removals follow rotations in practice: the interval is the scenario,
	// not a wait for an event.
	time.Sleep(cfg.JWKS.UnknownKIDInterval)
	idp.Remove(oldKID)
	refreshed := time.Now()
	if err := members[0].v.Refresh(bg); err != nil {
		t.Fatal(err)
	}
	fp = members[0].fingerprint()
	report = report[:0]
	for i, m := range members {
		m.waitKeys(t, func() bool { _, ok := m.keys.changedTo(fp); return ok })
		at, _ := m.keys.changedTo(fp)
		report = append(report, fmt.Sprintf("%s %v", m.name, at.Sub(refreshed).Round(time.Millisecond)))
		if took := at.Sub(refreshed); took > busBound {
			t.Errorf("%s: dropped the removed key %v after the first refresh", m.name, took)
		}
		if fetches := m.keys.fetchesAfter(fetched[i]); i > 0 && len(fetches) != 1 {
			t.Errorf("%s: fetches %v for the removal", m.name, fetches)
		}
		if _, err := m.v.Verify(bg, oldTok); err == nil {
			t.Errorf("%s: a token of the removed key still passes", m.name)
		}
	}
	t.Logf("removal: %s", strings.Join(report, "; "))
	if st := members[1].f.Stats(); st.AnnouncementsSeen == 0 || st.HintedFetches != 2 {
		t.Errorf("bus stats %+v", st)
	}
}

// A revocation by kid, jti or sub reaches every instance within a second
// and refuses the token although it is in each verified-token cache; a kid
// is refused while the IdP still publishes it. Deleting the entry lifts it.
func TestRevocation(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	members := make([]*member, 3)
	for i := range members {
		members[i] = join(t, srv.ClientURL(), fmt.Sprintf("i%d", i), idp.Config())
		members[i].waitSynced(t)
	}
	js := operator(t, srv.ClientURL())
	for _, tc := range []struct{ kind, subject string }{
		{fleet.KindJTI, "bob"}, {fleet.KindSub, "carol"}, {fleet.KindKID, "dave"},
	} {
		t.Run(tc.kind, func(t *testing.T) {
			tok := idp.NewToken(tc.subject).Sign()
			other := idp.Token("erin")
			claims, err := members[0].v.Verify(bg, tok)
			if err != nil {
				t.Fatal(err)
			}
			// Verified once, the token is in each instance's cache (on by
			// default).
			for _, m := range members {
				if _, err := m.v.Verify(bg, tok); err != nil {
					t.Fatal(err)
				}
			}
			value := map[string]string{fleet.KindJTI: claims.ID(), fleet.KindSub: claims.Subject(), fleet.KindKID: kidOf(t, idp)}[tc.kind]
			r := revoke(t, js, tc.kind, value, time.Hour)
			revoked := time.Now()
			var took []time.Duration
			for _, m := range members {
				m.waitRevocations(t, func() bool { _, err := m.v.Verify(bg, tok); return err != nil })
				took = append(took, time.Since(revoked).Round(time.Millisecond))
				if took[len(took)-1] > busBound {
					t.Errorf("%s: refused %v after the revocation", m.name, took[len(took)-1])
				}
				_, err := m.v.Verify(bg, tok)
				wantReason(t, err, core.ReasonTokenRevoked)
				_, err = m.v.Verify(bg, other)
				if (err != nil) != (tc.kind == fleet.KindKID) {
					t.Fatalf("%s: another token of the same key: %v", m.name, err)
				}
			}
			t.Logf("%s revoked: refused by every instance after %v", tc.kind, took)
			if ok, err := fleet.Unrevoke(bg, js, r); !ok || err != nil {
				t.Fatalf("unrevoke: %v %v", ok, err)
			}
			for _, m := range members {
				m.waitRevocations(t, func() bool { _, err := m.v.Verify(bg, tok); return err == nil })
			}
		})
	}
}

// An instance that starts after the revocation loads it; an entry expires
// at its TTL everywhere, removed by the bucket and by each instance's
// timer.
func TestRevocationLateJoinerAndTTL(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	tok := idp.NewToken("frank").Sign()
	early := join(t, srv.ClientURL(), "early", idp.Config())
	early.waitSynced(t)
	revoke(t, js, fleet.KindSub, "frank", 2*time.Second)
	late := join(t, srv.ClientURL(), "late", idp.Config())
	late.waitSynced(t)
	for _, m := range []*member{early, late} {
		m.waitRevocations(t, func() bool { return m.f.Stats().Revocations == 1 })
		_, err := m.v.Verify(bg, tok)
		wantReason(t, err, core.ReasonTokenRevoked)
	}
	for _, m := range []*member{early, late} {
		m.waitRevocations(t, func() bool { return m.f.Stats().Revocations == 0 })
		if _, err := m.v.Verify(bg, tok); err != nil {
			t.Fatalf("%s: refused after the TTL: %v", m.name, err)
		}
	}
	list, err := fleet.Revocations(bg, js)
	if err != nil || len(list) != 0 {
		t.Fatalf("list after the TTL: %v %v", list, err)
	}
}

// The list is bounded: Revoke refuses an entry past its limit with
// ErrRevocationsFull, and an instance holding fewer than the bucket
// refuses the rest, counting them.
func TestRevocationBound(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	m := join(t, srv.ClientURL(), "small", idp.Config(), func(o *fleet.Options) { o.MaxRevocations = 2 })
	m.waitSynced(t)
	for i := range 3 {
		r := fleet.Revocation{Kind: fleet.KindJTI, Value: fmt.Sprint("j", i), Expires: time.Now().Add(time.Hour)}
		if err := fleet.Revoke(bg, js, r, 3); err != nil {
			t.Fatal(err)
		}
	}
	r := fleet.Revocation{Kind: fleet.KindJTI, Value: "j3", Expires: time.Now().Add(time.Hour)}
	if err := fleet.Revoke(bg, js, r, 3); err == nil || !strings.Contains(err.Error(), "full") {
		t.Fatalf("a fourth entry past a limit of 3: %v", err)
	}
	m.waitRevocations(t, func() bool { st := m.f.Stats(); return st.Revocations == 2 && st.RevocationsRefused == 1 })
}

// The bus going away mid-test causes no verification failure: requests go
// on throughout, revocations loaded before stay in force, the client
// reconnects when the server is back, and a revocation made then arrives.
func TestBusGoesAway(t *testing.T) {
	opts := natstest.Options(t)
	srv := natstest.Start(t, opts)
	idp := newIdP(t)
	js := operator(t, srv.ClientURL())
	members := []*member{join(t, srv.ClientURL(), "a", idp.Config()), join(t, srv.ClientURL(), "b", idp.Config())}
	for _, m := range members {
		m.waitSynced(t)
	}
	revoked := idp.NewToken("mallory").Sign()
	revoke(t, js, fleet.KindSub, "mallory", time.Hour)
	for _, m := range members {
		m.waitRevocations(t, func() bool { return m.f.Stats().Revocations == 1 })
	}

	// Requests go on in the background through the whole outage.
	var failures, verified atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	check := func(m *member, good string) {
		if _, err := m.v.Verify(bg, good); err != nil {
			failures.Add(1)
		}
		if _, err := m.v.Verify(bg, revoked); err == nil {
			failures.Add(1)
		}
		verified.Add(2)
	}
	for _, m := range members {
		for range 2 {
			wg.Go(func() {
				good := idp.Token("alice")
				for {
					select {
					case <-stop:
						return
					default:
						check(m, good)
					}
				}
			})
		}
	}
	natstest.Stop(srv)
	// And in the foreground, with the server gone.
	for _, m := range members {
		good := idp.Token("alice")
		for range 500 {
			check(m, good)
		}
	}
	srv = natstest.Start(t, opts)
	js = operator(t, srv.ClientURL())
	late := idp.NewToken("zoe").Sign()
	revoke(t, js, fleet.KindSub, "zoe", time.Hour)
	for _, m := range members {
		m.waitRevocations(t, func() bool { return m.f.Stats().Revocations == 2 })
		_, err := m.v.Verify(bg, late)
		wantReason(t, err, core.ReasonTokenRevoked)
		if st := m.f.Stats(); st.Disconnects == 0 || st.Reconnects == 0 || !st.Connected {
			t.Errorf("%s: bus stats after the outage %+v", m.name, st)
		}
	}
	close(stop)
	wg.Wait()
	t.Logf("%d verifications across the outage", verified.Load())
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d verifications failed because of the bus", n)
	}
}

// In a three-node cluster with the bucket replicated on all three, one
// node stopping does not keep a revocation from any instance, wherever it
// was connected.
func TestClusterNodeDown(t *testing.T) {
	nodes := natstest.Cluster(t, 3)
	idp := newIdP(t)
	all := nodes[0].ClientURL() + "," + nodes[1].ClientURL() + "," + nodes[2].ClientURL()
	var members []*member
	for i, n := range nodes {
		url := n.ClientURL() + "," + all
		members = append(members, join(t, url, fmt.Sprintf("on-n%d", i), idp.Config(), func(o *fleet.Options) {
			o.Replicas = 3
			o.NATS = append(o.NATS, nats.DontRandomize())
		}))
	}
	for _, m := range members {
		m.waitSynced(t)
		// Delivery after a node's loss waits for the cluster's failover and
		// the consumer's recreation (two missed 1s heartbeats), slower
		// still on a loaded machine: the 1s goal does not apply.
		m.limit = 30 * time.Second
	}
	natstest.Stop(nodes[1])
	stopped := time.Now()
	js := operator(t, nodes[0].ClientURL())
	tok := idp.NewToken("oscar").Sign()
	revoke(t, js, fleet.KindSub, "oscar", time.Hour)
	written := time.Now()
	var took []time.Duration
	for _, m := range members {
		m.waitRevocations(t, func() bool { _, err := m.v.Verify(bg, tok); return err != nil })
		took = append(took, time.Since(written).Round(time.Millisecond))
		_, err := m.v.Verify(bg, tok)
		wantReason(t, err, core.ReasonTokenRevoked)
	}
	t.Logf("node stopped; the revocation written %v later; refused by the instances %v after", written.Sub(stopped).Round(time.Millisecond), took)
}

// Close stops every goroutine of the Fleet before it returns.
func TestCloseStopsGoroutines(t *testing.T) {
	srv := natstest.Server(t)
	idp := newIdP(t)
	m := join(t, srv.ClientURL(), "closing", idp.Config())
	m.waitSynced(t)
	m.f.Close()
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if strings.Contains(stacks, "jwtguard/fleet.") {
		t.Fatalf("a goroutine of the Fleet outlived Close:\n%s", stacks)
	}
	if _, err := m.v.Verify(bg, idp.Token("alice")); err != nil {
		t.Fatalf("the verifier after the Fleet closed: %v", err)
	}
}
