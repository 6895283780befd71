package promjwt

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtguard/jwtguard/core"
)

// Label values that never come from a token.
const (
	// accepted is the reason label of an accepted token.
	accepted = "accepted"
	// untrusted is the issuer label of a token whose iss the baseline does
	// not trust (or that has none): a token never chooses its own label.
	untrusted = "untrusted"
	// noIssuer is the issuer label of a rejection that came before the
	// token's iss could be read (no token, a malformed one, a refused alg).
	noIssuer = "none"
)

// durationBuckets resolve a cached verification (hundreds of ns) and an
// uncached one or a fetch for an unknown kid (up to 100 ms), 1-2.5-5 per
// decade.
var durationBuckets = []float64{
	100e-9, 250e-9, 500e-9,
	1e-6, 2.5e-6, 5e-6,
	10e-6, 25e-6, 50e-6,
	100e-6, 250e-6, 500e-6,
	1e-3, 2.5e-3, 5e-3,
	10e-3, 25e-3, 50e-3,
	100e-3,
}

// NewVerifier builds a verifier as [core.New] does, with its metrics
// registered on reg: verdicts and key lifecycle events come through
// [core.WithHooks], and the gauges read [core.Verifier.Stats] at each
// scrape. If registration fails, the verifier is closed and the error
// returned; reg keeps the metrics of a verifier closed later, as the last
// state it knew.
func NewVerifier(reg prometheus.Registerer, cfg core.Config, opts ...core.Option) (*core.Verifier, error) {
	m := newMetrics()
	v, err := core.New(cfg, append(opts[:len(opts):len(opts)], core.WithHooks(m))...)
	if err != nil {
		return nil, err
	}
	m.v = v
	if err := reg.Register(m); err != nil {
		v.Close()
		return nil, fmt.Errorf("promjwt: %w", err)
	}
	return v, nil
}

// metrics is one verifier's collector. The counters and histograms are
// fed by the hooks; the gauges are read from the verifier when scraped,
// so they cost nothing between scrapes.
type metrics struct {
	v *core.Verifier // set before registration; only Collect reads it

	verdicts      *prometheus.CounterVec
	duration      *prometheus.HistogramVec
	cacheHits     prometheus.Counter
	cacheMisses   prometheus.Counter
	fetches       *prometheus.CounterVec
	fetchDuration *prometheus.HistogramVec
	changes       *prometheus.CounterVec

	keys, age, lastSuccess, ready, cacheEntries, maxStale, baseline *prometheus.Desc
}

func newMetrics() *metrics {
	return &metrics{
		verdicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jwtguard_verdicts_total",
			Help: "Verdicts of Verify and Authenticate, and refusals of Authorize, by reason (accepted for an accepted token) and trusted issuer.",
		}, []string{"reason", "issuer"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jwtguard_verification_duration_seconds",
			Help:    "Time of Verify and Authenticate, by the token cache's part: hit, miss, or none when it was not consulted.",
			Buckets: durationBuckets,
		}, []string{"cache"}),
		cacheHits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jwtguard_token_cache_hits_total",
			Help: "Verifications the verified-token cache answered.",
		}),
		cacheMisses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "jwtguard_token_cache_misses_total",
			Help: "Verifications that consulted the verified-token cache and went on to a full check.",
		}),
		fetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jwtguard_jwks_fetches_total",
			Help: "JWKS fetches by issuer, trigger (startup, periodic, retry, unknown_kid, forced) and result (ok, not_modified, failed).",
		}, []string{"issuer", "trigger", "result"}),
		fetchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "jwtguard_jwks_fetch_duration_seconds",
			Help:    "Time of JWKS fetches by issuer and result.",
			Buckets: prometheus.DefBuckets,
		}, []string{"issuer", "result"}),
		changes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jwtguard_jwks_key_set_changes_total",
			Help: "Fetches that changed an issuer's key set, the first set included.",
		}, []string{"issuer"}),
		keys: prometheus.NewDesc("jwtguard_jwks_keys",
			"Keys in the set each issuer serves.", []string{"issuer"}, nil),
		age: prometheus.NewDesc("jwtguard_jwks_age_seconds",
			"Age of each remote issuer's key set: seconds since its last successful fetch (a 304 counts), the age max_stale bounds.",
			[]string{"issuer"}, nil),
		lastSuccess: prometheus.NewDesc("jwtguard_jwks_last_success_timestamp_seconds",
			"When each remote issuer's key set was last fetched successfully, in Unix seconds of the verifier's clock.",
			[]string{"issuer"}, nil),
		ready: prometheus.NewDesc("jwtguard_jwks_ready",
			"1 while the issuer has a key set that may be served, 0 when it has none or it is past max_stale.",
			[]string{"issuer"}, nil),
		maxStale: prometheus.NewDesc("jwtguard_jwks_max_stale_seconds",
			"The baseline's jwks.max_stale: past this age a key set stops serving.", nil, nil),
		cacheEntries: prometheus.NewDesc("jwtguard_token_cache_entries",
			"Tokens in the verified-token cache.", nil, nil),
		baseline: prometheus.NewDesc("jwtguard_baseline_info",
			"Always 1; fingerprint is the hash of the effective baseline, equal across services that verify alike; shared_fingerprint is the estate's shared policy, equal across the services of one baseline file.",
			[]string{"fingerprint", "shared_fingerprint"}, nil),
	}
}

// Verdict counts one verdict; its duration too, unless it is a policy's.
func (m *metrics) Verdict(_ context.Context, e core.VerdictEvent) {
	reason := string(e.Reason)
	if reason == "" {
		reason = accepted
	}
	m.verdicts.WithLabelValues(reason, issuerLabel(e)).Inc()
	if e.Policy {
		return
	}
	cache := e.Cache
	switch cache {
	case "hit":
		m.cacheHits.Inc()
	case "miss":
		m.cacheMisses.Inc()
	default:
		cache = "none"
	}
	m.duration.WithLabelValues(cache).Observe(e.Duration.Seconds())
}

// FetchDone counts one JWKS fetch.
func (m *metrics) FetchDone(e core.FetchEvent) {
	m.fetches.WithLabelValues(e.Issuer, e.Trigger, e.Result).Inc()
	m.fetchDuration.WithLabelValues(e.Issuer, e.Result).Observe(e.Duration.Seconds())
}

// KeySetChanged counts one change of an issuer's keys.
func (m *metrics) KeySetChanged(c core.KeySetChange) { m.changes.WithLabelValues(c.Issuer).Inc() }

// issuerLabel is the issuer label of a verdict: the trusted issuer it
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

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.verdicts, m.duration, m.cacheHits, m.cacheMisses, m.fetches, m.fetchDuration, m.changes}
}

// Describe implements prometheus.Collector.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.collectors() {
		c.Describe(ch)
	}
	for _, d := range []*prometheus.Desc{m.keys, m.age, m.lastSuccess, m.ready, m.maxStale, m.cacheEntries, m.baseline} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	for _, c := range m.collectors() {
		c.Collect(ch)
	}
	gauge := func(d *prometheus.Desc, value float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, value, labels...)
	}
	for _, s := range m.v.Stats() {
		gauge(m.keys, float64(s.Keys), s.Issuer)
		gauge(m.ready, boolValue(s.Ready), s.Issuer)
		// A static set is never fetched: it has no age to report.
		if !s.LastSuccess.IsZero() {
			gauge(m.age, s.Age.Seconds(), s.Issuer)
			gauge(m.lastSuccess, float64(s.LastSuccess.UnixNano())/float64(time.Second), s.Issuer)
		}
	}
	gauge(m.maxStale, m.v.Config().JWKS.MaxStale.Seconds())
	gauge(m.cacheEntries, float64(m.v.CacheLen()))
	// Read at each scrape: a reload may have changed it.
	cfg := m.v.Config()
	gauge(m.baseline, 1, cfg.Fingerprint(), cfg.SharedFingerprint())
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
