package core_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// verdictRecorder keeps every verdict it is given.
type verdictRecorder struct {
	mu     sync.Mutex
	events []core.VerdictEvent
	ctxs   []context.Context
}

func (r *verdictRecorder) FetchDone(core.FetchEvent)       {}
func (r *verdictRecorder) KeySetChanged(core.KeySetChange) {}
func (r *verdictRecorder) Verdict(ctx context.Context, e core.VerdictEvent) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, e)
	r.ctxs = append(r.ctxs, ctx)
}

// take returns the verdicts since the last call.
func (r *verdictRecorder) take() []core.VerdictEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.events
	r.events, r.ctxs = nil, nil
	return e
}

type ctxKey struct{}

// verdictCases is a sequence on one verifier with the cache on: each step
// is one call and the one event it must produce. Durations are checked
// apart: they are positive, and nothing more can be said.
var verdictCases = []struct {
	name string
	call func(t *testing.T, v *core.Verifier) error
	want core.VerdictEvent
}{
	{"accepted, first seen", verifyStep(func(c map[string]any) {}),
		core.VerdictEvent{Issuer: testIssuer, KID: "rsa", Alg: "RS256", Cache: "miss"}},
	{"accepted again, from the cache", verifyStep(func(c map[string]any) {}),
		core.VerdictEvent{Issuer: testIssuer, KID: "rsa", Alg: "RS256", Cache: "hit"}},
	{"expired", verifyStep(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }),
		core.VerdictEvent{Reason: core.ReasonTokenExpired, Issuer: testIssuer, KID: "rsa", Alg: "RS256", Cache: "miss"}},
	{"an untrusted iss is never reported", verifyStep(func(c map[string]any) { c["iss"] = "https://evil.example.com/" }),
		core.VerdictEvent{Reason: core.ReasonIssuerInvalid, KID: "rsa", Alg: "RS256", Cache: "miss"}},
	{"not a JWT", func(t *testing.T, v *core.Verifier) error { _, err := v.Verify(ctxWithMark(), "x.y"); return err },
		core.VerdictEvent{Reason: core.ReasonTokenMalformed, Cache: "miss"}},
	{"over max_token_bytes, the cache is not consulted",
		func(t *testing.T, v *core.Verifier) error {
			_, err := v.Verify(ctxWithMark(), strings.Repeat("a", 9000))
			return err
		},
		core.VerdictEvent{Reason: core.ReasonTokenTooLarge}},
	{"Authenticate without a token", func(t *testing.T, v *core.Verifier) error {
		_, err := v.Authenticate(ctxWithMark(), core.HTTPRequest(httptest.NewRequest(http.MethodGet, "/", nil)))
		return err
	}, core.VerdictEvent{Reason: core.ReasonTokenMissing}},
	{"Authenticate with a token", func(t *testing.T, v *core.Verifier) error {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+sign(t, "ES256", "ec", goodClaims()))
		_, err := v.Authenticate(ctxWithMark(), core.HTTPRequest(r))
		return err
	}, core.VerdictEvent{Issuer: testIssuer, KID: "ec", Alg: "ES256", Cache: "miss"}},
	{"Authorize refuses a missing scope", func(t *testing.T, v *core.Verifier) error {
		// Claims of a verifier without hooks, so that the one event is
		// Authorize's.
		c, err := newVerifier(t, baseConfig(t)).Verify(bg, sign(t, "ES256", "ec", goodClaims()))
		if err != nil {
			t.Fatal(err)
		}
		return v.Authorize(ctxWithMark(), c, core.RequireScopes("admin"))
	}, core.VerdictEvent{Reason: core.ReasonInsufficientScope, Issuer: testIssuer, KID: "ec", Alg: "ES256", Policy: true}},
	{"Authorize without claims", func(t *testing.T, v *core.Verifier) error {
		return v.Authorize(ctxWithMark(), nil, core.RequireScopes("admin"))
	}, core.VerdictEvent{Reason: core.ReasonTokenMissing, Policy: true}},
}

func ctxWithMark() context.Context {
	return context.WithValue(context.Background(), ctxKey{}, "request")
}

func verifyStep(edit func(c map[string]any)) func(t *testing.T, v *core.Verifier) error {
	return func(t *testing.T, v *core.Verifier) error {
		_, err := v.Verify(ctxWithMark(), sign(t, "RS256", "rsa", with(edit)))
		return err
	}
}

// TestVerdictHooks: one event per call, with the reason, the trusted
// issuer only, the cache's part and the caller's ctx.
func TestVerdictHooks(t *testing.T) {
	rec := &verdictRecorder{}
	v := newVerifier(t, baseConfig(t), core.WithHooks(rec))
	for _, c := range verdictCases {
		err := c.call(t, v)
		rec.mu.Lock()
		ctxs := rec.ctxs
		rec.mu.Unlock()
		got := rec.take()
		if len(got) != 1 {
			t.Fatalf("%s: %d events, want 1: %+v", c.name, len(got), got)
		}
		if (err == nil) != (c.want.Reason == "") {
			t.Errorf("%s: error %v, want reason %q", c.name, err, c.want.Reason)
		}
		if ctxs[0].Value(ctxKey{}) != "request" {
			t.Errorf("%s: the hook did not get the caller's ctx", c.name)
		}
		// The verifier judges on a test clock; durations come from the
		// runtime's monotonic clock all the same.
		if got[0].Duration <= 0 || got[0].Duration > time.Minute {
			t.Errorf("%s: duration %v", c.name, got[0].Duration)
		}
		got[0].Duration = 0
		if got[0] != c.want {
			t.Errorf("%s: event\n %+v, want\n %+v", c.name, got[0], c.want)
		}
	}
}

// TestVerdictOnTheRuntimeClock: without WithClock the duration starts from
// the reading the time checks take, which must still be a real duration.
func TestVerdictOnTheRuntimeClock(t *testing.T) {
	rec := &verdictRecorder{}
	v, err := core.New(baseConfig(t), core.WithHooks(rec), core.WithLogger(discard()))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	tok := sign(t, "RS256", "rsa", with(func(c map[string]any) {
		c["exp"], c["iat"], c["nbf"] = time.Now().Add(time.Hour).Unix(), time.Now().Unix()-60, time.Now().Unix()-60
	}))
	for _, want := range []string{"miss", "hit"} {
		if _, err := v.Verify(bg, tok); err != nil {
			t.Fatal(err)
		}
		got := rec.take()
		if len(got) != 1 || got[0].Cache != want || got[0].Duration <= 0 || got[0].Duration > time.Minute {
			t.Fatalf("events %+v, want one %s with a real duration", got, want)
		}
	}
}

// panicVerdicts is an exporter with a bug.
type panicVerdicts struct{ noopVerdicts }

func (panicVerdicts) Verdict(context.Context, core.VerdictEvent) { panic("exporter bug") }

// TestVerdictHookPanicReachesTheCaller: a hook runs as part of the call
// it reports, so its panic is the caller's, as a panic of the request's
// own code would be; the token is never accepted for it.
func TestVerdictHookPanicReachesTheCaller(t *testing.T) {
	v := newVerifier(t, baseConfig(t), core.WithHooks(panicVerdicts{}))
	good := sign(t, "RS256", "rsa", goodClaims())
	claims, err := newVerifier(t, baseConfig(t)).Verify(bg, good)
	if err != nil {
		t.Fatal(err)
	}
	withToken := httptest.NewRequest(http.MethodGet, "/", nil)
	withToken.Header.Set("Authorization", "Bearer "+good)
	tests := []struct {
		name string
		call func() (*core.Claims, error)
	}{
		{"Verify, accepted", func() (*core.Claims, error) { return v.Verify(bg, good) }},
		{"Verify, rejected", func() (*core.Claims, error) { return v.Verify(bg, "x.y") }},
		{"Authenticate without a token", func() (*core.Claims, error) {
			return v.Authenticate(bg, core.HTTPRequest(httptest.NewRequest(http.MethodGet, "/", nil)))
		}},
		{"Authenticate, accepted", func() (*core.Claims, error) { return v.Authenticate(bg, core.HTTPRequest(withToken)) }},
		{"Authorize, refused", func() (*core.Claims, error) {
			return nil, v.Authorize(bg, claims, core.RequireScopes("admin"))
		}},
	}
	for _, tt := range tests {
		var c *core.Claims
		panicked := func() (p any) {
			defer func() { p = recover() }()
			c, _ = tt.call()
			return nil
		}()
		if panicked != "exporter bug" || c != nil {
			t.Errorf("%s: panic %v and claims %v, want the hook's panic and no claims", tt.name, panicked, c)
		}
	}
}

// TestCacheLen counts the entries of the token cache, and is 0 with the
// cache off.
func TestCacheLen(t *testing.T) {
	off := baseConfig(t)
	zero := 0
	off.Cache.MaxEntries = &zero
	tests := []struct {
		name   string
		cfg    core.Config
		tokens int
		want   int
	}{
		{"cache on", baseConfig(t), 3, 3},
		{"cache off", off, 3, 0},
	}
	for _, tt := range tests {
		v := newVerifier(t, tt.cfg)
		for i := range tt.tokens {
			tok := sign(t, "RS256", "rsa", with(func(c map[string]any) { c["jti"] = string(rune('a' + i)) }))
			if _, err := v.Verify(bg, tok); err != nil {
				t.Fatal(err)
			}
		}
		if got := v.CacheLen(); got != tt.want {
			t.Errorf("%s: CacheLen %d, want %d", tt.name, got, tt.want)
		}
	}
}
