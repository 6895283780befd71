package core_test

import (
	"fmt"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// The convergence window of the hint tests: the default.
const lcConvergenceWindow = 500 * time.Millisecond

// lcFingerprint is the fingerprint a verifier gives the set of keys, as an
// announcement from another replica would carry it. It asks an IdP of its
// own, so the test's IdP counts no fetch for it.
func lcFingerprint(t *testing.T, keys ...*lcKey) string {
	t.Helper()
	e := lcStart(t, newLCIdP(keys...), nil)
	fp := e.stats(t).Fingerprint
	e.v.Close()
	return fp
}

// fetchesAfter is the start of every fetch after the first n, on the
// bubble's clock.
func (e *lcEnv) fetchesAfter(n int) []time.Time {
	var out []time.Time
	for _, x := range e.idp.log()[n:] {
		out = append(out, x.start)
	}
	return out
}

// A hint for a set the replica lacks fetches once, after a random delay
// within the window and not at once; further hints for that set, or for
// the set it holds, fetch nothing.
func TestKeyLifecycleHint(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k0, k1 := lcNewKey(t, "ES256", "k0"), lcNewKey(t, "ES256", "k1")
		e := lcStart(t, newLCIdP(k0), nil)
		before := e.stats(t).Fingerprint
		fp := lcFingerprint(t, k0, k1)
		e.idp.publish(k0, k1)

		e.v.Hint(lcIssuer, before) // the set it holds: nothing to do
		e.v.Hint("https://unknown.example", fp)
		synctest.Wait()
		e.wantFetches(t, 1)

		t0, n := time.Now(), e.idp.fetches()
		e.v.Hint(lcIssuer, fp)
		synctest.Wait()
		e.wantFetches(t, 1) // not at once: the window spreads the fleet
		for range 10 {
			e.v.Hint(lcIssuer, fp)
		}
		time.Sleep(lcConvergenceWindow)
		synctest.Wait()
		starts := e.fetchesAfter(n)
		if len(starts) != 1 || starts[0].Sub(t0) >= lcConvergenceWindow {
			t.Fatalf("fetches at %v after the hint, want one within %v", deltas(t0, starts), lcConvergenceWindow)
		}
		if st := e.stats(t); st.Fingerprint != fp || !slices.Equal(st.KIDs, []string{"k0", "k1"}) {
			t.Fatalf("after the hinted fetch: %s %v", st.Fingerprint, st.KIDs)
		}
		e.v.Hint(lcIssuer, fp) // the replica holds it now
		time.Sleep(2 * lcUnknownKIDInterval)
		e.wantFetches(t, 2)
		if got := e.hooks.triggers(); !slices.Equal(got, []string{"startup/ok", "hint/ok"}) {
			t.Fatalf("fetches %v", got)
		}
	})
}

// A token with the announced kid arriving while the hinted fetch waits out
// its delay fetches at once, and that fetch is the hinted one: the delay
// never makes a request wait, and the replica fetches once.
func TestKeyLifecycleHintUnknownKIDFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k0, k1 := lcNewKey(t, "ES256", "k0"), lcNewKey(t, "ES256", "k1")
		e := lcStart(t, newLCIdP(k0), lcNoTokenCache)
		fp := lcFingerprint(t, k0, k1)
		e.idp.publish(k0, k1)
		// The unknown-kid budget is spent: a request alone would be refused.
		lcWant(t, e.verify(lcWithKID(e.idp.token(t, k0, time.Now()), "probe")), core.ReasonKeyNotFound)
		e.wantFetches(t, 2)
		// The probe's fetch found k1 already: publish a set the replica
		// lacks, announced by another replica.
		k2 := lcNewKey(t, "ES256", "k2")
		e.idp.publish(k1, k2)
		fp = lcFingerprint(t, k1, k2)
		e.v.Hint(lcIssuer, fp)
		synctest.Wait()
		e.wantFetches(t, 2)
		t0 := time.Now()
		lcWantOK(t, e.verify(e.idp.token(t, k2, time.Now())))
		if d := time.Since(t0); d != 0 {
			t.Fatalf("the request waited %v for the window", d)
		}
		e.wantFetches(t, 3)
		time.Sleep(2 * lcConvergenceWindow)
		e.wantFetches(t, 3)
		if got := e.hooks.triggers(); !slices.Equal(got, []string{"startup/ok", "unknown_kid/ok", "unknown_kid/ok"}) {
			t.Fatalf("fetches %v", got)
		}
	})
}

// A noisy or hostile publisher announcing a new fingerprint every 10ms for
// a minute makes the replica fetch at most once per unknown_kid_interval.
func TestKeyLifecycleHintFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k0 := lcNewKey(t, "ES256", "k0")
		e := lcStart(t, newLCIdP(k0), nil)
		t0, n := time.Now(), e.idp.fetches()
		const flood = time.Minute
		for i := 0; time.Since(t0) < flood; i++ {
			e.v.Hint(lcIssuer, fmt.Sprintf("sha256:%032x", i))
			time.Sleep(10 * time.Millisecond)
		}
		starts := e.fetchesAfter(n)
		if max := int(flood/lcUnknownKIDInterval) + 1; len(starts) > max {
			t.Fatalf("%d fetches in %v of announcements, want at most %d", len(starts), flood, max)
		}
		for i := 1; i < len(starts); i++ {
			if gap := starts[i].Sub(starts[i-1]); gap < lcUnknownKIDInterval {
				t.Fatalf("hinted fetches %v apart", gap)
			}
		}
		lcWantOK(t, e.verify(e.idp.token(t, k0, time.Now())))
	})
}

// An IdP answering 503 to a converging fleet is retried with a capped
// exponential backoff and jitter, never in a tight loop, and a bounded
// number of times; when it recovers the replica converges.
func TestKeyLifecycleHintBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k0, k1 := lcNewKey(t, "ES256", "k0"), lcNewKey(t, "ES256", "k1")
		e := lcStart(t, newLCIdP(k0), lcShortTimeout)
		fp := lcFingerprint(t, k0, k1)
		e.idp.publish(k0, k1)
		e.idp.setMode("503")
		n := e.idp.fetches()
		e.v.Hint(lcIssuer, fp)
		time.Sleep(3 * time.Minute) // well within refresh_interval: only hints fetch
		starts := e.fetchesAfter(n)
		if len(starts) != 6 {
			t.Fatalf("%d fetches for one hint against a failing IdP, want 1 and 5 retries", len(starts))
		}
		for i := 1; i < len(starts); i++ {
			gap := starts[i].Sub(starts[i-1])
			// Retry i waits 2^(i-1)s with ±10% jitter, and never less than
			// unknown_kid_interval since the last hinted fetch.
			floor := max(time.Duration(float64(time.Second<<(i-1))*0.9), lcUnknownKIDInterval)
			if gap < floor || gap > time.Duration(float64(time.Second<<(i-1))*1.1)+lcUnknownKIDInterval+lcConvergenceWindow {
				t.Fatalf("retry %d came %v after the previous fetch", i, gap)
			}
		}
		e.idp.setMode("ok")
		e.v.Hint(lcIssuer, fp)
		time.Sleep(lcUnknownKIDInterval + lcConvergenceWindow)
		if st := e.stats(t); st.Fingerprint != fp {
			t.Fatalf("not converged after the IdP recovered: %v", st.KIDs)
		}
	})
}

// Close with a hinted fetch pending cancels it: nothing fetches later, and
// no goroutine or timer of the verifier outlives the bubble.
func TestKeyLifecycleHintClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k0, k1 := lcNewKey(t, "ES256", "k0"), lcNewKey(t, "ES256", "k1")
		e := lcStart(t, newLCIdP(k0), nil)
		fp := lcFingerprint(t, k0, k1)
		e.idp.publish(k0, k1)
		e.v.Hint(lcIssuer, fp)
		e.v.Close()
		time.Sleep(time.Minute)
		e.wantFetches(t, 1)
		e.v.Hint(lcIssuer, fp)
		time.Sleep(time.Minute)
		e.wantFetches(t, 1)
	})
}

func deltas(t0 time.Time, ts []time.Time) []time.Duration {
	out := make([]time.Duration, len(ts))
	for i, t := range ts {
		out[i] = t.Sub(t0)
	}
	return out
}
