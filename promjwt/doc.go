// Package promjwt exports a [core.Verifier]'s verdicts and key lifecycle
// as Prometheus metrics.
//
// [NewVerifier] is [core.New] with one more argument, the registerer: the
// verifier it returns reports every verdict and JWKS fetch to counters and
// histograms through [core.WithHooks], and each scrape reads its key sets
// ([core.Verifier.Stats]), token cache and baseline fingerprint.
//
//	reg := prometheus.NewRegistry()
//	v, err := promjwt.NewVerifier(reg, cfg, core.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	defer v.Close()
//	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Label values are bounded: reason is a [core.Reason] or "accepted",
// trigger and result are the fixed sets of [core.FetchEvent], and issuer
// is always one of the baseline's. A token whose iss the baseline does not
// trust counts under issuer="untrusted", a rejection before any iss could
// be read under issuer="none".
//
// The metrics are named jwtguard_*; the README lists them. Several
// verifiers may share a registry when each is given its own label with
// prometheus.WrapRegistererWith.
//
// The package is its own module, so that only services that export to
// Prometheus get client_golang in their go.mod.
package promjwt
