// Package conformance is the token matrix every jwtguard adapter must pass
// with identical verdicts, and that a service in any language can be run
// against from outside.
//
// Each case sends one request and names the rule it checks, the RFC section
// or CVE behind it, the outcome the client must see and the [core.Reason]
// the verifier must log. In process, the runner builds a [core.Verifier]
// per case against a [jwtguardtest.IdP] of its own, with a fixed clock; a
// [Harness] starts the adapter around it, behind the checks of the case's
// [Route]. An adapter passes only if it rejects through
// [core.Verifier.Authenticate] and [core.Verifier.Authorize] and answers
// with [core.Verifier.Response]. One that skips [SkipPath] declares
// [Harness.Skips]; one that honours [Route.Optional] (optional
// credentials) declares [Harness.Optional]:
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
// Run returns the adapter's verdict [Table]; [Diff] lists the cases on
// which tables differ. From outside, [ServeIdP] serves the matrix's IdP on
// loopback, and [Target.Run] sends every case a request can carry to a
// running service configured with the IdP's [Baseline], over HTTP or gRPC,
// and returns a [Report]; jwtguard conformance is the CLI of both.
//
// MATRIX.md lists the cases; vectors.json holds them as data, keys, tokens
// and verdicts, for test suites in other languages (MATRIX.md documents
// it). A test fails when either is stale; go generate ./conformance
// rewrites them.
package conformance

//go:generate go test -run TestMatrix -args -update
