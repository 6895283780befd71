package nethttpjwt_test

import (
	"net/http"
	"testing"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// The Guard skips conformance.SkipPath, and is optional on an optional
// route; the route's checks are the Guard's own, so they answer with its
// options.
func TestConformance(t *testing.T) {
	h := conformance.HTTPHarness("net/http", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []nethttpjwt.Option{nethttpjwt.WithSkipper(func(r *http.Request) bool { return r.URL.Path == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, nethttpjwt.WithOptional())
		}
		g := nethttpjwt.New(v, opts...)
		if route.Policy != nil {
			protected = g.RequirePolicy(route.Policy)(protected)
		}
		if route.Scopes != nil {
			protected = g.RequireScopes(route.Scopes...)(protected)
		}
		return g.Middleware(protected)
	})
	h.Skips, h.Optional = true, true
	conformance.Run(t, h)
}
