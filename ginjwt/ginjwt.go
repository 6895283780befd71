package ginjwt

import (
	"context"
	"errors"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's middleware and its checks, sharing one set of
// options: a check answers with its own Guard's error handler, whatever
// runs in front of it, so nothing is passed along the chain but the claims
// in the request context.
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

// Middleware authenticates every request with v before the rest of the
// chain: v.Authenticate extracts and verifies the token, and the claims
// reach handlers through the request context ([Claims]). A rejection aborts
// the chain. A skipped request goes on without claims, whatever token it
// carries.
func (g *Guard) Middleware(c *gin.Context) {
	var claims *core.Claims
	if g.skip == nil || !g.skip(c) {
		var err error
		if claims, err = g.authn(c.Request.Context(), core.HTTPRequest(c.Request)); err != nil {
			g.fail(c, err)
			return
		}
	}
	c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
	c.Next()
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match).
func (g *Guard) RequireScopes(scopes ...string) gin.HandlerFunc {
	return g.RequirePolicy(core.RequireScopes(scopes...))
}

// RequireRoles lets a request through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) RequireRoles(claimPath string, roles ...string) gin.HandlerFunc {
	return g.RequirePolicy(core.RequireRoles(claimPath, roles...))
}

// RequirePolicy lets a request through only when p accepts its verified
// claims (v.Authorize). A request without claims, because no Middleware
// ran or because it skipped the request, is refused as lacking credentials.
func (g *Guard) RequirePolicy(p core.Policy) gin.HandlerFunc {
	if p == nil {
		panic("ginjwt: RequirePolicy of a nil policy")
	}
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		if err := g.v.Authorize(c.Request.Context(), claims, p); err != nil {
			g.fail(c, err)
			return
		}
		c.Next()
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

// fail answers a rejection through gin's writer, so gin records the
// status, and aborts the chain. Every rejection of core is a *core.Error;
// anything else gets v's response, so a handler never sees a nil error.
func (g *Guard) fail(c *gin.Context, err error) {
	defer c.Abort()
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		g.onError(c, e)
		return
	}
	g.v.Response(err).WriteHTTP(c.Writer)
}

// Middleware is New(v, opts...).Middleware.
func Middleware(v *core.Verifier, opts ...Option) gin.HandlerFunc { return New(v, opts...).Middleware }

// RequireScopes is New(v).RequireScopes(scopes...): its rejections get v's
// RFC 6750 response.
func RequireScopes(v *core.Verifier, scopes ...string) gin.HandlerFunc {
	return New(v).RequireScopes(scopes...)
}

// RequireRoles is New(v).RequireRoles(claimPath, roles...): its rejections get v's
// RFC 6750 response.
func RequireRoles(v *core.Verifier, claimPath string, roles ...string) gin.HandlerFunc {
	return New(v).RequireRoles(claimPath, roles...)
}

// RequirePolicy is New(v).RequirePolicy(p): its rejections get v's RFC
// 6750 response.
func RequirePolicy(v *core.Verifier, p core.Policy) gin.HandlerFunc { return New(v).RequirePolicy(p) }

// Claims returns the claims Middleware verified for the request of c.
func Claims(c *gin.Context) (*core.Claims, bool) { return core.FromContext(c.Request.Context()) }
