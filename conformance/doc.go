// Package conformance is the token matrix every jwtguard adapter must pass
// with identical verdicts.
//
// Each case sends one request through the adapter under test and names the
// rule it checks, the RFC section or CVE behind it, the outcome the client
// must see and the [core.Reason] the verifier must log. The runner builds a
// fresh [core.Verifier] per case against a [jwtguardtest.IdP] of its own, with a fixed clock; a
// [Harness] says how to start the adapter around it, behind the checks of
// the case's [Route], and send a request. The reason is read from the
// verifier's one log line per rejection, so an adapter passes only if it
// rejects through [core.Verifier.Authenticate] and [core.Verifier.Authorize]
// and answers with [core.Verifier.Response].
//
// An adapter that can skip a route skips [SkipPath] and declares
// [Harness.Skips]; the cases of skipped routes then require that a skipped
// request carries no claims and that a check behind it refuses it.
//
//	h := conformance.HTTPHarness("net/http", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
//		g := nethttpjwt.New(v, nethttpjwt.WithSkipper(func(r *http.Request) bool { return r.URL.Path == conformance.SkipPath }))
//		if route.Policy != nil {
//			protected = g.RequirePolicy(route.Policy)(protected)
//		}
//		if route.Scopes != nil {
//			protected = g.RequireScopes(route.Scopes...)(protected)
//		}
//		return g.Middleware(protected)
//	})
//	h.Skips = true
//	conformance.Run(t, h)
//
// Run returns the adapter's verdict [Table]; [Diff] lists every case on
// which two tables differ, for a parity test across adapters.
//
// MATRIX.md lists the cases; vectors.json holds them as data (keys, tokens,
// verdicts) for test suites in other languages, and MATRIX.md documents it.
// A test fails when either is stale; go generate ./conformance rewrites them.
package conformance

//go:generate go test -run TestMatrix -args -update
