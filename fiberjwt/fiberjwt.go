package fiberjwt

import (
	"context"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's middleware and its checks, sharing one set of
// options: a check answers with its own Guard's error handler, whatever
// runs in front of it, so nothing is passed along but the claims in the
// user context.
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

// Middleware authenticates every request with v before the next handler:
// v.Authenticate extracts and verifies the token, and the claims reach
// handlers through c.UserContext() ([Claims]). A request [WithNext] skips
// goes on without claims, whatever token it carries.
func (g *Guard) Middleware(c *fiber.Ctx) error {
	ctx := c.UserContext()
	var claims *core.Claims
	if g.next == nil || !g.next(c) {
		var err error
		if claims, err = g.authn(ctx, request{c.Request()}); err != nil {
			return g.fail(c, err)
		}
	}
	c.SetUserContext(core.NewContext(ctx, claims))
	return c.Next()
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match).
func (g *Guard) RequireScopes(scopes ...string) fiber.Handler {
	return g.RequirePolicy(core.RequireScopes(scopes...))
}

// RequireRoles lets a request through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) RequireRoles(claimPath string, roles ...string) fiber.Handler {
	return g.RequirePolicy(core.RequireRoles(claimPath, roles...))
}

// RequirePolicy lets a request through only when p accepts its verified
// claims (v.Authorize). A request without claims, because no Middleware
// ran or because it skipped the request, is refused as lacking credentials.
func (g *Guard) RequirePolicy(p core.Policy) fiber.Handler {
	if p == nil {
		panic("fiberjwt: RequirePolicy of a nil policy")
	}
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		claims, _ := core.FromContext(ctx)
		if err := g.v.Authorize(ctx, claims, p); err != nil {
			return g.fail(c, err)
		}
		return c.Next()
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
// response: the headers, status and body nethttpjwt writes. Every rejection
// of core is a *core.Error; anything else gets the response.
func (g *Guard) fail(c *fiber.Ctx, err error) error {
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		return g.onError(c, e)
	}
	g.v.Response(err).WriteHTTP(&responseWriter{c: c, header: http.Header{}})
	return nil
}

// responseWriter is the http.ResponseWriter that Response.WriteHTTP writes
// a rejection to, so that fiber sends what net/http would.
type responseWriter struct {
	c           *fiber.Ctx
	header      http.Header
	wroteHeader bool
}

func (w *responseWriter) Header() http.Header { return w.header }

func (w *responseWriter) WriteHeader(status int) {
	if w.wroteHeader {
		return
	}
	w.wroteHeader = true
	h := &w.c.Response().Header
	for name, values := range w.header {
		h.Del(name) // replaced, as net/http's Header().Set does
		for _, value := range values {
			h.Add(name, value)
		}
	}
	w.c.Status(status)
}

// Write sends the headers first, with 200, as net/http does when
// WriteHeader was not called.
func (w *responseWriter) Write(b []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.c.Write(b)
}

// Middleware is New(v, opts...).Middleware.
func Middleware(v *core.Verifier, opts ...Option) fiber.Handler { return New(v, opts...).Middleware }

// RequireScopes is New(v).RequireScopes(scopes...): its rejections get v's
// RFC 6750 response.
func RequireScopes(v *core.Verifier, scopes ...string) fiber.Handler {
	return New(v).RequireScopes(scopes...)
}

// RequireRoles is New(v).RequireRoles(claimPath, roles...): its rejections get v's
// RFC 6750 response.
func RequireRoles(v *core.Verifier, claimPath string, roles ...string) fiber.Handler {
	return New(v).RequireRoles(claimPath, roles...)
}

// RequirePolicy is New(v).RequirePolicy(p): its rejections get v's RFC
// 6750 response.
func RequirePolicy(v *core.Verifier, p core.Policy) fiber.Handler { return New(v).RequirePolicy(p) }

// Claims returns the claims Middleware verified for the request of c.
func Claims(c *fiber.Ctx) (*core.Claims, bool) { return core.FromContext(c.UserContext()) }
