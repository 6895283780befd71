package nethttpjwt

import (
	"context"
	"net/http"

	"github.com/jwtguard/jwtguard/core"
)

// Middleware authenticates every request with v.Authenticate before next
// runs; the verified claims reach next through the request context.
func Middleware(v *core.Verifier, opts ...Option) func(http.Handler) http.Handler {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if cfg.skip != nil && cfg.skip(r) {
				next.ServeHTTP(w, r)
				return
			}
			c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
			if err != nil {
				cfg.fail(v, w, r, err)
				return
			}
			ctx := core.NewContext(r.Context(), c)
			if cfg.onError != nil {
				// RequireScopes behind this middleware answers alike.
				ctx = context.WithValue(ctx, configKey{}, cfg)
			}
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// Handler is Middleware for a single handler.
func Handler(v *core.Verifier, next http.Handler, opts ...Option) http.Handler {
	return Middleware(v, opts...)(next)
}

// RequireScopes lets a request through only when its verified claims grant
// every scope, matched exactly (core.RequireScopes). It runs behind
// Middleware and uses its error handler; a request Middleware did not
// verify is refused as lacking credentials.
func RequireScopes(v *core.Verifier, scopes ...string) func(http.Handler) http.Handler {
	policy := core.RequireScopes(scopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, _ := core.FromContext(r.Context())
			if err := v.Authorize(r.Context(), c, policy); err != nil {
				cfg, _ := r.Context().Value(configKey{}).(*config)
				cfg.fail(v, w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// Claims returns the claims Middleware verified for r.
func Claims(r *http.Request) (*core.Claims, bool) { return core.FromContext(r.Context()) }

type configKey struct{}
