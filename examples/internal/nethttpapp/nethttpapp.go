// Package nethttpapp is the example service on net/http, behind nethttpjwt.
package nethttpapp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// Serve serves the routes for v on ln until ctx is done: the example's
// main, as service.Main runs it.
func Serve(ctx context.Context, v *core.Verifier, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v))
}

// New returns the routes: /healthz and /readyz need no token, /whoami any
// valid token, /admin a token granting the admin scope.
func New(v *core.Verifier) http.Handler {
	// One Guard: its Middleware and its scope check share its options.
	g := nethttpjwt.New(v)
	mux := http.NewServeMux()
	// Liveness: the process answers, whatever the IdP is doing.
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	// Readiness: not ready while no key set could be fetched, since every
	// token would then be answered 503 keys_unavailable.
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if !v.Ready() {
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "no keys yet"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
	})
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
