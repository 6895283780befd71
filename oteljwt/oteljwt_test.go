package oteljwt_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/oteljwt"
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

// script is promjwt's sequence, so that both exporters are held to the
// same counts: a valid token twice (a miss, then a hit), an expired one,
// one from an untrusted issuer, a rotation found by its unknown kid (a
// fetch), a refusal by scope, a request without a token, and an IdP
// answering 503 to a forced refresh (a failed fetch).
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

// env is a verifier on an in-memory reader and span recorder.
type env struct {
	v      *core.Verifier
	idp    *jwtguardtest.IdP
	reader *sdkmetric.ManualReader
	spans  *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
}

func newEnv(t *testing.T, opts ...core.Option) *env {
	t.Helper()
	e := &env{idp: jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm("ES256")), reader: sdkmetric.NewManualReader(),
		spans: tracetest.NewSpanRecorder()}
	t.Cleanup(e.idp.Close)
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	opts = append([]core.Option{core.WithClock(e.idp.Now), core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	v, err := oteljwt.NewVerifier(mp, e.tp, e.idp.Config(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	e.v = v
	return e
}

func (e *env) play(t *testing.T) {
	t.Helper()
	for _, s := range script {
		err := s.call(context.Background(), e.v, e.idp)
		var got *core.Error
		if errors.As(err, &got); (err == nil) != (s.want == "") || (got != nil && got.Reason != s.want) {
			t.Fatalf("%s: %v, want reason %q", s.name, err, s.want)
		}
	}
}

// points flattens what the reader collected: each data point as
// name{k=v,...} (attributes sorted), a histogram by its count.
func points(t *testing.T, r *sdkmetric.ManualReader) map[string]float64 {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	key := func(name string, set attribute.Set) string {
		var kv []string
		for _, a := range set.ToSlice() {
			kv = append(kv, string(a.Key)+"="+a.Value.Emit())
		}
		return name + "{" + strings.Join(kv, ",") + "}"
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Sum[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[int64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = float64(p.Value)
				}
			case metricdata.Gauge[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)] = p.Value
				}
			case metricdata.Histogram[float64]:
				for _, p := range d.DataPoints {
					out[key(m.Name, p.Attributes)+" count"] = float64(p.Count)
				}
			default:
				t.Errorf("%s: unexpected data %T", m.Name, m.Data)
			}
		}
	}
	return out
}

// TestScriptedSequence asserts every instrument after the script, exactly
// (histograms by their counts), and the spans it made.
func TestScriptedSequence(t *testing.T) {
	e := newEnv(t)
	e.play(t)
	iss := e.idp.Issuer()
	want := map[string]float64{
		"jwtguard.verdicts{issuer=" + iss + ",reason=accepted}":           4,
		"jwtguard.verdicts{issuer=" + iss + ",reason=insufficient_scope}": 1,
		"jwtguard.verdicts{issuer=" + iss + ",reason=token_expired}":      1,
		"jwtguard.verdicts{issuer=none,reason=token_missing}":             1,
		"jwtguard.verdicts{issuer=untrusted,reason=issuer_invalid}":       1,

		"jwtguard.jwks.fetches{issuer=" + iss + ",result=failed,trigger=forced}":  1,
		"jwtguard.jwks.fetches{issuer=" + iss + ",result=ok,trigger=startup}":     1,
		"jwtguard.jwks.fetches{issuer=" + iss + ",result=ok,trigger=unknown_kid}": 1,
		"jwtguard.jwks.key_set_changes{issuer=" + iss + "}":                       2,

		"jwtguard.token_cache.hits{}":    1,
		"jwtguard.token_cache.misses{}":  5,
		"jwtguard.token_cache.entries{}": 3,

		"jwtguard.jwks.keys{issuer=" + iss + "}":                                 2,
		"jwtguard.jwks.ready{issuer=" + iss + "}":                                1,
		"jwtguard.jwks.age{issuer=" + iss + "}":                                  0,
		"jwtguard.jwks.last_success{issuer=" + iss + "}":                         float64(e.idp.Now().Unix()),
		"jwtguard.jwks.max_stale{}":                                              86400,
		"jwtguard.baseline.info{fingerprint=" + e.v.Config().Fingerprint() + "}": 1,

		"jwtguard.verification.duration{cache=hit} count":                      1,
		"jwtguard.verification.duration{cache=miss} count":                     5,
		"jwtguard.verification.duration{cache=none} count":                     1,
		"jwtguard.jwks.fetch.duration{issuer=" + iss + ",result=ok} count":     2,
		"jwtguard.jwks.fetch.duration{issuer=" + iss + ",result=failed} count": 1,
	}
	got := points(t, e.reader)
	for _, k := range slices.Sorted(maps.Keys(want)) {
		if g, ok := got[k]; !ok || g != want[k] {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, want[k])
		}
	}
	for _, k := range slices.Sorted(maps.Keys(got)) {
		if _, ok := want[k]; !ok {
			t.Errorf("unexpected data point %s = %v", k, got[k])
		}
	}

	// Spans: one per uncached verification (5 misses, 1 without a token)
	// and one per fetch; none for the cache hit or the policy's refusal.
	byName := map[string][]sdktrace.ReadOnlySpan{}
	for _, s := range e.spans.Ended() {
		byName[s.Name()] = append(byName[s.Name()], s)
	}
	if n, m := len(byName["jwtguard.verify"]), len(byName["jwtguard.jwks.fetch"]); n != 6 || m != 3 || len(byName) != 2 {
		t.Errorf("spans %v: %d verify and %d fetch, want 6 and 3", slices.Collect(maps.Keys(byName)), n, m)
	}
	verifies := map[string]map[attribute.Key]string{}
	for _, s := range byName["jwtguard.verify"] {
		attrs := attrMap(s.Attributes())
		verifies[attrs["jwtguard.reason"]+"/"+attrs["jwtguard.issuer"]] = attrs
		if d := s.EndTime().Sub(s.StartTime()); d <= 0 || d > time.Minute {
			t.Errorf("verify span of %v lasts %v", attrs, d)
		}
	}
	expired := verifies["token_expired/"+iss]
	if expired == nil || expired["jwtguard.kid"] != e.idp.KIDs()[0] || expired["jwtguard.alg"] != "ES256" ||
		expired["jwtguard.cache"] != "miss" {
		t.Errorf("span of the expired token: %v", expired)
	}
	if verifies["issuer_invalid/untrusted"] == nil {
		t.Errorf("no span of the untrusted token under issuer untrusted: %v", verifies)
	}
	results := map[string]int{}
	for _, s := range byName["jwtguard.jwks.fetch"] {
		a := attrMap(s.Attributes())
		results[a["jwtguard.trigger"]+"/"+a["jwtguard.result"]]++
		if a["jwtguard.issuer"] != iss || s.Parent().IsValid() {
			t.Errorf("fetch span %v, parent %v: want the issuer, no parent", a, s.Parent())
		}
		if failed := a["jwtguard.result"] == "failed"; failed != (s.Status().Code.String() == "Error") {
			t.Errorf("fetch span %v has status %v", a, s.Status())
		}
	}
	if want := map[string]int{"startup/ok": 1, "unknown_kid/ok": 1, "forced/failed": 1}; !maps.Equal(results, want) {
		t.Errorf("fetch spans %v, want %v", results, want)
	}
}

func attrMap(kvs []attribute.KeyValue) map[attribute.Key]string {
	m := map[attribute.Key]string{}
	for _, kv := range kvs {
		m[kv.Key] = kv.Value.Emit()
	}
	return m
}

// TestRejectionLogCarriesTheTrace: the request's span is the parent of the
// verification span, and its trace id is on the rejection's log line; a
// request without a span logs none.
func TestRejectionLogCarriesTheTrace(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, core.WithLogger(slog.New(oteljwt.LogHandler(slog.NewJSONHandler(&logs, nil)))))
	tests := []struct {
		name     string
		withSpan bool
	}{
		{"request with a span", true},
		{"request without one", false},
	}
	for _, tt := range tests {
		logs.Reset()
		ctx := context.Background()
		var traceID, spanID string
		if tt.withSpan {
			c, s := e.tp.Tracer("test").Start(ctx, "GET /whoami")
			ctx = c
			traceID, spanID = s.SpanContext().TraceID().String(), s.SpanContext().SpanID().String()
			defer s.End()
		}
		if _, err := e.v.Verify(ctx, "not-a-jwt"); err == nil {
			t.Fatal("accepted")
		}
		var line map[string]any
		if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
			t.Fatalf("%s: %v: %q", tt.name, err, logs.String())
		}
		if line["reason"] != "token_malformed" || line["trace_id"] != nilIfEmpty(traceID) || line["span_id"] != nilIfEmpty(spanID) {
			t.Errorf("%s: log line %v, want trace_id %q span_id %q", tt.name, line, traceID, spanID)
		}
		if !tt.withSpan {
			continue
		}
		ended := e.spans.Ended()
		last := ended[len(ended)-1]
		if last.Name() != "jwtguard.verify" || last.Parent().SpanID().String() != spanID || last.Parent().TraceID().String() != traceID {
			t.Errorf("verify span %s has parent %v, want the request's span %s", last.Name(), last.Parent(), spanID)
		}
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}
