package conformance_test

import (
	"fmt"
	"net/http"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
)

// guard is a third-party adapter, for any router that mounts http.Handlers.
func guard(v *core.Verifier, policies ...core.Policy) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
			if err == nil {
				err = v.Authorize(r.Context(), c, policies...)
			}
			if err != nil {
				v.Response(err).WriteHTTP(w)
				return
			}
			next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
		})
	}
}

// An adapter proves itself against the whole matrix. In its own tests it
// calls conformance.Run(t, h), which runs each case as a subtest. This one
// has no way to skip a route, so it leaves Skips unset and the cases of
// skipped routes are skipped for it.
func Example() {
	h := conformance.HTTPHarness("mux", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		mux := http.NewServeMux()
		mux.Handle("GET "+conformance.Path, guard(v, route.Policies()...)(protected))
		return mux
	})
	tab, err := conformance.Check(h)
	fmt.Println("failures:", err)
	for _, name := range []string{"valid-rs256", "alg-none", "scope-administrator"} {
		v, _ := tab.Lookup(name)
		fmt.Println(name, v)
	}
	// Output:
	// failures: <nil>
	// valid-rs256 accept 200 subject="alice"
	// alg-none invalid_token alg_not_allowed 401
	// scope-administrator insufficient_scope insufficient_scope 403
}
