package echojwt

import (
	"context"
	"errors"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's middleware and its checks, sharing one set of
// options: a check answers with its own Guard's error handler, whatever
// runs in front of it, so nothing is passed along but the claims in the
// request context.
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

// Middleware authenticates every request with v before next runs:
// v.Authenticate extracts and verifies the token, and the claims reach next
// through the request context ([Claims]). A skipped request goes on without
// claims, whatever token it carries.
func (g *Guard) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		var claims *core.Claims
		if g.skip == nil || !g.skip(c) {
			var err error
			if claims, err = g.authn(r.Context(), core.HTTPRequest(r)); err != nil {
				return g.fail(c, err)
			}
		}
		c.SetRequest(r.WithContext(core.NewContext(r.Context(), claims)))
		return next(c)
	}
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match).
func (g *Guard) RequireScopes(scopes ...string) echo.MiddlewareFunc {
	return g.RequirePolicy(core.RequireScopes(scopes...))
}

// RequireRoles lets a request through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) RequireRoles(claimPath string, roles ...string) echo.MiddlewareFunc {
	return g.RequirePolicy(core.RequireRoles(claimPath, roles...))
}

// RequirePolicy lets a request through only when p accepts its verified
// claims (v.Authorize). A request without claims, because no Middleware
// ran or because it skipped the request, is refused as lacking credentials.
func (g *Guard) RequirePolicy(p core.Policy) echo.MiddlewareFunc {
	if p == nil {
		panic("echojwt: RequirePolicy of a nil policy")
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			claims, _ := core.FromContext(ctx)
			if err := g.v.Authorize(ctx, claims, p); err != nil {
				return g.fail(c, err)
			}
			return next(c)
		}
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
// response on echo's Response (which marks it committed), returning no
// error for echo's HTTPErrorHandler to write over it. Every rejection of
// core is a *core.Error; anything else gets the response.
func (g *Guard) fail(c echo.Context, err error) error {
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		return g.onError(c, e)
	}
	if c.Response().Committed {
		return err // a status was already sent: echo's error handler logs
	}
	g.v.Response(err).WriteHTTP(c.Response())
	return nil
}

// Middleware is New(v, opts...).Middleware.
func Middleware(v *core.Verifier, opts ...Option) echo.MiddlewareFunc {
	return New(v, opts...).Middleware
}

// RequireScopes is New(v).RequireScopes(scopes...): its rejections get v's
// RFC 6750 response.
func RequireScopes(v *core.Verifier, scopes ...string) echo.MiddlewareFunc {
	return New(v).RequireScopes(scopes...)
}

// RequireRoles is New(v).RequireRoles(claimPath, roles...): its rejections get v's
// RFC 6750 response.
func RequireRoles(v *core.Verifier, claimPath string, roles ...string) echo.MiddlewareFunc {
	return New(v).RequireRoles(claimPath, roles...)
}

// RequirePolicy is New(v).RequirePolicy(p): its rejections get v's RFC
// 6750 response.
func RequirePolicy(v *core.Verifier, p core.Policy) echo.MiddlewareFunc {
	return New(v).RequirePolicy(p)
}

// Claims returns the claims Middleware verified for the request of c.
func Claims(c echo.Context) (*core.Claims, bool) { return core.FromContext(c.Request().Context()) }
