// Package nethttpapp is the example service on net/http, behind nethttpjwt.
package nethttpapp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/health"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// New returns the routes: /healthz, /readyz and /metrics need no token,
// /whoami any valid token, /admin a token granting the admin scope.
func New(v *core.Verifier, metrics http.Handler) http.Handler {
	// One Guard: its Middleware and its scope check share its options.
	g := nethttpjwt.New(v)
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.Liveness())
	mux.Handle("GET /readyz", health.Readiness(v))
	mux.Handle("GET /metrics", metrics)
	mux.Handle("GET /whoami", g.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		writeJSON(w, http.StatusOK, claims)
	})))
	mux.Handle("GET /admin", g.Middleware(g.RequireScopes("admin")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		writeJSON(w, http.StatusOK, map[string]any{"admin": true, "sub": claims.Subject()})
	}))))
	return mux
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// Serve serves the example on ln until ctx is done, with the verifier's
// metrics at /metrics: the example's main, as service.Main runs it, and
// what the conformance run drives.
func Serve(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v, metrics))
}
