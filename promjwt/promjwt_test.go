package promjwt_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/promjwt"
)

// step is one call of the scripted sequence and the reason it must give
// ("" when accepted).
type step struct {
	name string
	call func(ctx context.Context, v *core.Verifier, idp *jwtguardtest.IdP) error
	want core.Reason
}

func verify(token func(idp *jwtguardtest.IdP) string) func(context.Context, *core.Verifier, *jwtguardtest.IdP) error {
	return func(ctx context.Context, v *core.Verifier, idp *jwtguardtest.IdP) error {
		_, err := v.Verify(ctx, token(idp))
		return err
	}
}

// script is the sequence the exported values are checked against: a valid
// token twice (a miss, then a hit), an expired one, one from an untrusted
// issuer, a rotation found by its unknown kid (a fetch), a refusal by
// scope, a request without a token, and an IdP answering 503 to a forced
// refresh (a failed fetch).
var script = []step{
	{"valid, then again from the cache", func(ctx context.Context, v *core.Verifier, idp *jwtguardtest.IdP) error {
		tok := idp.Token("alice")
		if _, err := v.Verify(ctx, tok); err != nil {
			return err
		}
		_, err := v.Verify(ctx, tok)
		return err
	}, ""},
	{"expired", verify(func(idp *jwtguardtest.IdP) string { return idp.NewToken("alice").ExpiresIn(-time.Hour).Sign() }),
		core.ReasonTokenExpired},
	{"untrusted issuer", verify(func(idp *jwtguardtest.IdP) string {
		return idp.NewToken("alice").Claim("iss", "https://attacker.example").Sign()
	}), core.ReasonIssuerInvalid},
	{"unknown kid after a rotation", verify(func(idp *jwtguardtest.IdP) string {
		idp.Rotate()
		return idp.Token("bob")
	}), ""},
	{"scope refused", func(ctx context.Context, v *core.Verifier, idp *jwtguardtest.IdP) error {
		c, err := v.Verify(ctx, idp.Token("carol", "read"))
		if err != nil {
			return err
		}
		return v.Authorize(ctx, c, core.RequireScopes("admin"))
	}, core.ReasonInsufficientScope},
	{"no token", func(ctx context.Context, v *core.Verifier, _ *jwtguardtest.IdP) error {
		_, err := v.Authenticate(ctx, core.HTTPRequest(httptest.NewRequest(http.MethodGet, "/", nil)))
		return err
	}, core.ReasonTokenMissing},
	{"IdP answers 503 to a refresh", func(ctx context.Context, v *core.Verifier, idp *jwtguardtest.IdP) error {
		idp.Fail(http.StatusServiceUnavailable)
		if err := v.Refresh(ctx); err == nil {
			return fmt.Errorf("refresh against a failing IdP succeeded")
		}
		return nil
	}, ""},
}

// run builds a verifier on reg and plays the script.
func run(t *testing.T, reg prometheus.Registerer) (*core.Verifier, *jwtguardtest.IdP) {
	t.Helper()
	idp := jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm("ES256"))
	t.Cleanup(idp.Close)
	v, err := promjwt.NewVerifier(reg, idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	for _, s := range script {
		err := s.call(context.Background(), v, idp)
		var got *core.Error
		if errors.As(err, &got); (err == nil) != (s.want == "") || (got != nil && got.Reason != s.want) {
			t.Fatalf("%s: %v, want reason %q", s.name, err, s.want)
		}
	}
	return v, idp
}

// TestScriptedSequence asserts every counter and gauge after the script,
// exactly.
func TestScriptedSequence(t *testing.T) {
	reg := prometheus.NewPedanticRegistry()
	v, idp := run(t, reg)
	iss := idp.Issuer()
	want := strings.NewReplacer("ISS", iss, "SFP", v.Config().SharedFingerprint(), "FP", v.Config().Fingerprint(),
		"LAST", fmt.Sprintf("%g", float64(idp.Now().Unix()))).Replace(`
# HELP jwtguard_verdicts_total Verdicts of Verify and Authenticate, and refusals of Authorize, by reason (accepted for an accepted token) and trusted issuer.
# TYPE jwtguard_verdicts_total counter
jwtguard_verdicts_total{issuer="ISS",reason="accepted"} 4
jwtguard_verdicts_total{issuer="ISS",reason="insufficient_scope"} 1
jwtguard_verdicts_total{issuer="ISS",reason="token_expired"} 1
jwtguard_verdicts_total{issuer="none",reason="token_missing"} 1
jwtguard_verdicts_total{issuer="untrusted",reason="issuer_invalid"} 1
# HELP jwtguard_jwks_fetches_total JWKS fetches by issuer, trigger (startup, periodic, retry, unknown_kid, forced) and result (ok, not_modified, failed).
# TYPE jwtguard_jwks_fetches_total counter
jwtguard_jwks_fetches_total{issuer="ISS",result="failed",trigger="forced"} 1
jwtguard_jwks_fetches_total{issuer="ISS",result="ok",trigger="startup"} 1
jwtguard_jwks_fetches_total{issuer="ISS",result="ok",trigger="unknown_kid"} 1
# HELP jwtguard_jwks_key_set_changes_total Fetches that changed an issuer's key set, the first set included.
# TYPE jwtguard_jwks_key_set_changes_total counter
jwtguard_jwks_key_set_changes_total{issuer="ISS"} 2
# HELP jwtguard_token_cache_hits_total Verifications the verified-token cache answered.
# TYPE jwtguard_token_cache_hits_total counter
jwtguard_token_cache_hits_total 1
# HELP jwtguard_token_cache_misses_total Verifications that consulted the verified-token cache and went on to a full check.
# TYPE jwtguard_token_cache_misses_total counter
jwtguard_token_cache_misses_total 5
# HELP jwtguard_token_cache_entries Tokens in the verified-token cache.
# TYPE jwtguard_token_cache_entries gauge
jwtguard_token_cache_entries 3
# HELP jwtguard_jwks_keys Keys in the set each issuer serves.
# TYPE jwtguard_jwks_keys gauge
jwtguard_jwks_keys{issuer="ISS"} 2
# HELP jwtguard_jwks_ready 1 while the issuer has a key set that may be served, 0 when it has none or it is past max_stale.
# TYPE jwtguard_jwks_ready gauge
jwtguard_jwks_ready{issuer="ISS"} 1
# HELP jwtguard_jwks_age_seconds Age of each remote issuer's key set: seconds since its last successful fetch (a 304 counts), the age max_stale bounds.
# TYPE jwtguard_jwks_age_seconds gauge
jwtguard_jwks_age_seconds{issuer="ISS"} 0
# HELP jwtguard_jwks_last_success_timestamp_seconds When each remote issuer's key set was last fetched successfully, in Unix seconds of the verifier's clock.
# TYPE jwtguard_jwks_last_success_timestamp_seconds gauge
jwtguard_jwks_last_success_timestamp_seconds{issuer="ISS"} LAST
# HELP jwtguard_jwks_max_stale_seconds The baseline's jwks.max_stale: past this age a key set stops serving.
# TYPE jwtguard_jwks_max_stale_seconds gauge
jwtguard_jwks_max_stale_seconds 86400
# HELP jwtguard_baseline_info Always 1; fingerprint is the hash of the effective baseline, equal across services that verify alike; shared_fingerprint is the estate's shared policy, equal across the services of one baseline file.
# TYPE jwtguard_baseline_info gauge
jwtguard_baseline_info{fingerprint="FP",shared_fingerprint="SFP"} 1
`)
	names := []string{"jwtguard_verdicts_total", "jwtguard_jwks_fetches_total", "jwtguard_jwks_key_set_changes_total",
		"jwtguard_token_cache_hits_total", "jwtguard_token_cache_misses_total", "jwtguard_token_cache_entries",
		"jwtguard_jwks_keys", "jwtguard_jwks_ready", "jwtguard_jwks_age_seconds",
		"jwtguard_jwks_last_success_timestamp_seconds", "jwtguard_jwks_max_stale_seconds", "jwtguard_baseline_info"}
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}

	// Histograms: the count of each series is exact; times are not.
	counts := map[string]uint64{}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		for _, m := range f.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				key := f.GetName()
				for _, l := range m.GetLabel() {
					key += "," + l.GetName() + "=" + l.GetValue()
				}
				counts[key] = h.GetSampleCount()
			}
		}
	}
	wantCounts := map[string]uint64{
		"jwtguard_verification_duration_seconds,cache=hit":                      1,
		"jwtguard_verification_duration_seconds,cache=miss":                     5,
		"jwtguard_verification_duration_seconds,cache=none":                     1,
		"jwtguard_jwks_fetch_duration_seconds,issuer=" + iss + ",result=ok":     2,
		"jwtguard_jwks_fetch_duration_seconds,issuer=" + iss + ",result=failed": 1,
	}
	if len(counts) != len(wantCounts) {
		t.Errorf("histogram series %v, want %v", counts, wantCounts)
	}
	for k, n := range wantCounts {
		if counts[k] != n {
			t.Errorf("%s: %d observations, want %d", k, counts[k], n)
		}
	}
}

// TestLint holds the metrics to Prometheus' naming conventions (units in
// the name, _total on counters) with its own linter.
func TestLint(t *testing.T) {
	reg := prometheus.NewRegistry()
	run(t, reg)
	problems, err := testutil.GatherAndLint(reg)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

// TestRegisterTwice: a second verifier on the same registry is refused,
// and closed rather than left running; wrapping each registerer with its
// own label lets several verifiers share one registry.
func TestRegisterTwice(t *testing.T) {
	idp := jwtguardtest.NewIdP()
	t.Cleanup(idp.Close)
	opts := []core.Option{core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler))}
	labelled := func(name string) func(prometheus.Registerer) prometheus.Registerer {
		return func(r prometheus.Registerer) prometheus.Registerer {
			return prometheus.WrapRegistererWith(prometheus.Labels{"verifier": name}, r)
		}
	}
	same := func(r prometheus.Registerer) prometheus.Registerer { return r }
	tests := []struct {
		name          string
		first, second func(prometheus.Registerer) prometheus.Registerer
		wantErr       bool
	}{
		{"same registry", same, same, true},
		{"each with its own label", labelled("a"), labelled("b"), false},
	}
	for _, tt := range tests {
		reg := prometheus.NewRegistry()
		v, err := promjwt.NewVerifier(tt.first(reg), idp.Config(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		v2, err := promjwt.NewVerifier(tt.second(reg), idp.Config(), opts...)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: error %v, want error %v", tt.name, err, tt.wantErr)
		}
		if v2 != nil {
			v2.Close()
		}
		v.Close()
	}
}

// The rejection log is sampled under a flood; the verdict counter is not:
// dashboards lose nothing that the log leaves out.
func TestVerdictsCountWhatTheLogSamples(t *testing.T) {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	reg := prometheus.NewPedanticRegistry()
	var logs strings.Builder
	v, err := promjwt.NewVerifier(reg, idp.Config(), core.WithClock(idp.Now),
		core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	for range 1_000 {
		if _, err := v.Verify(context.Background(), "not-a-token"); err == nil {
			t.Fatal("accepted")
		}
	}
	v.Close() // writes the summary of the second
	lines := strings.Count(logs.String(), `"msg":"jwt rejected"`)
	if lines != 10 || !strings.Contains(logs.String(), `"msg":"jwt rejections not logged"`) {
		t.Fatalf("%d rejection lines, want the budget's 10 and a summary", lines)
	}
	got := testutil.ToFloat64(mustCounter(t, reg, "jwtguard_verdicts_total", "token_malformed"))
	if got != 1_000 {
		t.Fatalf("jwtguard_verdicts_total{reason=token_malformed} = %v, want every one of 1000", got)
	}
}

// mustCounter finds the verdict counter of reason in reg.
func mustCounter(t *testing.T, reg *prometheus.Registry, name, reason string) prometheus.Collector {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "reason" && l.GetValue() == reason {
					return prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "x"}, func() float64 { return m.GetCounter().GetValue() })
				}
			}
		}
	}
	t.Fatalf("no %s{reason=%q}", name, reason)
	return nil
}
