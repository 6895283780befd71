package echojwt

import (
	"context"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
)

// Middleware authenticates every request with v before next runs:
// v.Authenticate extracts and verifies the token, and the claims reach next
// through the request context ([Claims]). A rejection is answered with v's
// RFC 6750 response, or by [WithErrorHandler]'s handler.
func Middleware(v *core.Verifier, opts ...Option) echo.MiddlewareFunc {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if cfg.skip != nil && cfg.skip(c) {
				return next(c)
			}
			r := c.Request()
			claims, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
			if err != nil {
				return cfg.fail(v, c, err)
			}
			ctx := core.NewContext(r.Context(), claims)
			if cfg.onError != nil {
				ctx = context.WithValue(ctx, configKey{}, cfg) // for RequireScopes behind
			}
			c.SetRequest(r.WithContext(ctx))
			return next(c)
		}
	}
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match). It runs behind
// [Middleware], answers with its error handler, and refuses a request
// Middleware did not verify as lacking credentials.
func RequireScopes(v *core.Verifier, scopes ...string) echo.MiddlewareFunc {
	policy := core.RequireScopes(scopes...)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			ctx := c.Request().Context()
			claims, _ := core.FromContext(ctx)
			if err := v.Authorize(ctx, claims, policy); err != nil {
				cfg, _ := ctx.Value(configKey{}).(*config)
				return cfg.fail(v, c, err)
			}
			return next(c)
		}
	}
}

// Claims returns the claims Middleware verified for the request of c.
func Claims(c echo.Context) (*core.Claims, bool) { return core.FromContext(c.Request().Context()) }

type configKey struct{}
