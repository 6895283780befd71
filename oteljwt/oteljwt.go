package oteljwt

import (
	"context"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/jwtguard/jwtguard/core"
)

// scope names the instrumentation library in every meter and tracer.
const scope = "github.com/jwtguard/jwtguard/oteljwt"

// Label values that never come from a token; the same as promjwt's.
const (
	accepted  = "accepted"
	untrusted = "untrusted"
	noIssuer  = "none"
)

// durationBuckets resolve a cached verification (hundreds of ns) and an
// uncached one or a fetch for an unknown kid (up to 100 ms), 1-2.5-5 per
// decade; the same as promjwt's.
var durationBuckets = []float64{
	100e-9, 250e-9, 500e-9,
	1e-6, 2.5e-6, 5e-6,
	10e-6, 25e-6, 50e-6,
	100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3,
	10e-3, 25e-3, 50e-3,
	100e-3,
}

// NewVerifier builds a verifier as [core.New] does, reporting its verdicts
// and key lifecycle to mp's instruments and tp's spans. A nil provider is
// the global one (otel.GetMeterProvider, otel.GetTracerProvider).
//
// Spans are made when the verdict or the fetch is known, with the start
// time it had: a fetch for an unknown kid is shared by every request that
// waits on it, so it is a span of its own rather than the child of one
// verification. A verification span's parent is the span in the ctx given
// to Verify or Authenticate.
func NewVerifier(mp metric.MeterProvider, tp trace.TracerProvider, cfg core.Config, opts ...core.Option) (*core.Verifier, error) {
	if mp == nil {
		mp = otel.GetMeterProvider()
	}
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	h, err := newHooks(mp.Meter(scope), tp.Tracer(scope))
	if err != nil {
		return nil, err
	}
	v, err := core.New(cfg, append(opts[:len(opts):len(opts)], core.WithHooks(h))...)
	if err != nil {
		return nil, err
	}
	if err := h.observe(v); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// hooks turns the verifier's events into measurements and spans.
type hooks struct {
	meter  metric.Meter
	tracer trace.Tracer

	verdicts      metric.Int64Counter
	duration      metric.Float64Histogram
	cacheHits     metric.Int64Counter
	cacheMisses   metric.Int64Counter
	fetches       metric.Int64Counter
	fetchDuration metric.Float64Histogram
	changes       metric.Int64Counter
}

func newHooks(m metric.Meter, t trace.Tracer) (*hooks, error) {
	h := &hooks{meter: m, tracer: t}
	var errs [7]error
	h.verdicts, errs[0] = m.Int64Counter("jwtguard.verdicts",
		metric.WithDescription("Verdicts of Verify and Authenticate, and refusals of Authorize, by reason (accepted for an accepted token) and trusted issuer."))
	h.duration, errs[1] = m.Float64Histogram("jwtguard.verification.duration", metric.WithUnit("s"),
		metric.WithDescription("Time of Verify and Authenticate, by the token cache's part: hit, miss, or none when it was not consulted."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	h.cacheHits, errs[2] = m.Int64Counter("jwtguard.token_cache.hits",
		metric.WithDescription("Verifications the verified-token cache answered."))
	h.cacheMisses, errs[3] = m.Int64Counter("jwtguard.token_cache.misses",
		metric.WithDescription("Verifications that consulted the verified-token cache and went on to a full check."))
	h.fetches, errs[4] = m.Int64Counter("jwtguard.jwks.fetches",
		metric.WithDescription("JWKS fetches by issuer, trigger (startup, periodic, retry, unknown_kid, forced) and result (ok, not_modified, failed)."))
	h.fetchDuration, errs[5] = m.Float64Histogram("jwtguard.jwks.fetch.duration", metric.WithUnit("s"),
		metric.WithDescription("Time of JWKS fetches by issuer and result."))
	h.changes, errs[6] = m.Int64Counter("jwtguard.jwks.key_set_changes",
		metric.WithDescription("Fetches that changed an issuer's key set, the first set included."))
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return h, nil
}

// observe registers the gauges, read from v at each collection.
func (h *hooks) observe(v *core.Verifier) error {
	m := h.meter
	keys, err1 := m.Int64ObservableGauge("jwtguard.jwks.keys",
		metric.WithDescription("Keys in the set each issuer serves."))
	ready, err2 := m.Int64ObservableGauge("jwtguard.jwks.ready",
		metric.WithDescription("1 while the issuer has a key set that may be served, 0 when it has none or it is past max_stale."))
	age, err3 := m.Float64ObservableGauge("jwtguard.jwks.age", metric.WithUnit("s"),
		metric.WithDescription("Age of each remote issuer's key set: seconds since its last successful fetch (a 304 counts), the age max_stale bounds."))
	last, err4 := m.Float64ObservableGauge("jwtguard.jwks.last_success", metric.WithUnit("s"),
		metric.WithDescription("When each remote issuer's key set was last fetched successfully, in Unix seconds of the verifier's clock."))
	maxStale, err5 := m.Float64ObservableGauge("jwtguard.jwks.max_stale", metric.WithUnit("s"),
		metric.WithDescription("The baseline's jwks.max_stale: past this age a key set stops serving."))
	entries, err6 := m.Int64ObservableGauge("jwtguard.token_cache.entries",
		metric.WithDescription("Tokens in the verified-token cache."))
	info, err7 := m.Int64ObservableGauge("jwtguard.baseline.info",
		metric.WithDescription("Always 1; fingerprint is the hash of the effective baseline, equal across services that verify alike."))
	for _, err := range []error{err1, err2, err3, err4, err5, err6, err7} {
		if err != nil {
			return err
		}
	}
	staleSeconds := v.Config().JWKS.MaxStale.Seconds()
	_, err := m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		for _, s := range v.Stats() {
			iss := metric.WithAttributes(attribute.String("issuer", s.Issuer))
			o.ObserveInt64(keys, int64(s.Keys), iss)
			o.ObserveInt64(ready, boolValue(s.Ready), iss)
			// A static set is never fetched: it has no age to report.
			if !s.LastSuccess.IsZero() {
				o.ObserveFloat64(age, s.Age.Seconds(), iss)
				o.ObserveFloat64(last, float64(s.LastSuccess.UnixNano())/float64(time.Second), iss)
			}
		}
		o.ObserveFloat64(maxStale, staleSeconds)
		o.ObserveInt64(entries, int64(v.CacheLen()))
		// Read at each collection: a reload may have changed it.
		o.ObserveInt64(info, 1, metric.WithAttributes(attribute.String("fingerprint", v.Config().Fingerprint())))
		return nil
	}, keys, ready, age, last, maxStale, entries, info)
	return err
}

// Verdict counts one verdict and, unless the cache answered it or it is a
// policy's, records its span.
func (h *hooks) Verdict(ctx context.Context, e core.VerdictEvent) {
	reason := string(e.Reason)
	if reason == "" {
		reason = accepted
	}
	issuer := issuerLabel(e)
	h.verdicts.Add(ctx, 1, metric.WithAttributes(attribute.String("reason", reason), attribute.String("issuer", issuer)))
	if e.Policy {
		return
	}
	cache := e.Cache
	switch cache {
	case "hit":
		h.cacheHits.Add(ctx, 1)
	case "miss":
		h.cacheMisses.Add(ctx, 1)
	default:
		cache = "none"
	}
	h.duration.Record(ctx, e.Duration.Seconds(), metric.WithAttributes(attribute.String("cache", cache)))
	if e.Cache == "hit" {
		return
	}
	end := time.Now()
	_, span := h.tracer.Start(ctx, "jwtguard.verify", trace.WithTimestamp(end.Add(-e.Duration)),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(
			attribute.String("jwtguard.reason", reason),
			attribute.String("jwtguard.issuer", issuer),
			attribute.String("jwtguard.kid", e.KID),
			attribute.String("jwtguard.alg", e.Alg),
			attribute.String("jwtguard.cache", cache)))
	if e.Reason == core.ReasonKeysUnavailable {
		// The token was not judged: the service could not check it.
		span.SetStatus(codes.Error, reason)
	}
	span.End(trace.WithTimestamp(end))
}

// FetchDone counts one JWKS fetch and records its span, a root span: the
// fetch runs for the key set, not for one request.
func (h *hooks) FetchDone(e core.FetchEvent) {
	ctx := context.Background()
	attrs := metric.WithAttributes(attribute.String("issuer", e.Issuer), attribute.String("result", e.Result))
	h.fetches.Add(ctx, 1, metric.WithAttributes(attribute.String("issuer", e.Issuer),
		attribute.String("trigger", e.Trigger), attribute.String("result", e.Result)))
	h.fetchDuration.Record(ctx, e.Duration.Seconds(), attrs)

	end := time.Now()
	_, span := h.tracer.Start(ctx, "jwtguard.jwks.fetch", trace.WithTimestamp(end.Add(-e.Duration)),
		trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(
			attribute.String("jwtguard.issuer", e.Issuer),
			attribute.String("jwtguard.trigger", e.Trigger),
			attribute.String("jwtguard.result", e.Result),
			attribute.String("url.full", e.URL),
			attribute.Int("jwtguard.keys", e.Keys)))
	if e.Err != nil {
		span.SetStatus(codes.Error, e.Err.Error())
	}
	span.End(trace.WithTimestamp(end))
}

// KeySetChanged counts one change of an issuer's keys.
func (h *hooks) KeySetChanged(c core.KeySetChange) {
	h.changes.Add(context.Background(), 1, metric.WithAttributes(attribute.String("issuer", c.Issuer)))
}

// issuerLabel is the issuer attribute of a verdict: the trusted issuer it
// names, else untrusted for an issuer_invalid rejection and none for any
// other.
func issuerLabel(e core.VerdictEvent) string {
	switch {
	case e.Issuer != "":
		return e.Issuer
	case e.Reason == core.ReasonIssuerInvalid:
		return untrusted
	}
	return noIssuer
}

func boolValue(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
