// Package health serves a [core.Verifier]'s liveness and readiness as
// net/http handlers, so that every service answers its probes alike.
//
// [Liveness] answers 200 whenever the process can answer at all: an IdP
// outage is no reason to restart a service. [Readiness] answers 200 only
// while the verifier holds keys for every issuer, none older than the
// baseline's max_stale, the condition of [core.Verifier.Ready]; otherwise
// 503, naming the issuers that lack keys, since every token would be
// answered keys_unavailable. Both answer JSON and are never cached.
//
//	mux.Handle("GET /healthz", health.Liveness())
//	mux.Handle("GET /readyz", health.Readiness(v))
//
// The package is part of the root module and needs only the standard
// library; other frameworks mount the handlers through their own wrapper
// (gin.WrapH, echo.WrapHandler, fiber's adaptor.HTTPHandler).
package health
