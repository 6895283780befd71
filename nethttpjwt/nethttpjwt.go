package nethttpjwt

import (
	"context"
	"errors"
	"net/http"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's middleware and its checks, sharing one set of
// options: a check answers with its own Guard's error handler, whatever
// runs in front of it, so nothing is passed along in the request context
// but the claims.
type Guard struct {
	v *core.Verifier
	config
}

// New returns the Guard of v. The options cover transport only.
func New(v *core.Verifier, opts ...Option) *Guard {
	g := &Guard{v: v}
	for _, o := range opts {
		o(&g.config)
	}
	return g
}

// Middleware authenticates every request with v.Authenticate before next
// runs; the verified claims reach next through the request context. A
// skipped request reaches next without claims, whatever token it carries.
func (g *Guard) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var claims *core.Claims
		if g.skip == nil || !g.skip(r) {
			var err error
			if claims, err = g.authn(r.Context(), core.HTTPRequest(r)); err != nil {
				g.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), claims)))
	})
}

// RequireScopes lets a request through only when its verified claims grant
// every scope, matched exactly (core.RequireScopes).
func (g *Guard) RequireScopes(scopes ...string) func(http.Handler) http.Handler {
	return g.RequirePolicy(core.RequireScopes(scopes...))
}

// RequireRoles lets a request through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) RequireRoles(claimPath string, roles ...string) func(http.Handler) http.Handler {
	return g.RequirePolicy(core.RequireRoles(claimPath, roles...))
}

// RequirePolicy lets a request through only when p accepts its verified
// claims (v.Authorize). A request without claims, because no Middleware
// ran or because it skipped the request, is refused as lacking credentials.
func (g *Guard) RequirePolicy(p core.Policy) func(http.Handler) http.Handler {
	if p == nil {
		panic("nethttpjwt: RequirePolicy of a nil policy")
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			claims, _ := core.FromContext(r.Context())
			if err := g.v.Authorize(r.Context(), claims, p); err != nil {
				g.fail(w, r, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

// authn is v.Authenticate, or v.AuthenticateOptional for a Guard
// [WithOptional]: which requests are anonymous is core's decision.
func (g *Guard) authn(ctx context.Context, r core.Request) (*core.Claims, error) {
	if g.optional {
		return g.v.AuthenticateOptional(ctx, r)
	}
	return g.v.Authenticate(ctx, r)
}

// fail answers a rejection with the error handler, or with v's RFC 6750
// response. Every rejection of core is a *core.Error; anything else gets
// the response, so a handler never sees a nil error.
func (g *Guard) fail(w http.ResponseWriter, r *http.Request, err error) {
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		g.onError(w, r, e)
		return
	}
	g.v.Response(err).WriteHTTP(w)
}

// Middleware is New(v, opts...).Middleware.
func Middleware(v *core.Verifier, opts ...Option) func(http.Handler) http.Handler {
	return New(v, opts...).Middleware
}

// Handler is New(v, opts...).Middleware(next).
func Handler(v *core.Verifier, next http.Handler, opts ...Option) http.Handler {
	return New(v, opts...).Middleware(next)
}

// RequireScopes is New(v).RequireScopes(scopes...): its rejections get v's
// RFC 6750 response.
func RequireScopes(v *core.Verifier, scopes ...string) func(http.Handler) http.Handler {
	return New(v).RequireScopes(scopes...)
}

// RequireRoles is New(v).RequireRoles(claimPath, roles...): its rejections get v's
// RFC 6750 response.
func RequireRoles(v *core.Verifier, claimPath string, roles ...string) func(http.Handler) http.Handler {
	return New(v).RequireRoles(claimPath, roles...)
}

// RequirePolicy is New(v).RequirePolicy(p): its rejections get v's RFC
// 6750 response.
func RequirePolicy(v *core.Verifier, p core.Policy) func(http.Handler) http.Handler {
	return New(v).RequirePolicy(p)
}

// Claims returns the claims Middleware verified for r.
func Claims(r *http.Request) (*core.Claims, bool) { return core.FromContext(r.Context()) }
