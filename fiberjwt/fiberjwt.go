package fiberjwt

import (
	"context"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/core"
)

// Middleware authenticates every request with v before the next handler:
// v.Authenticate extracts and verifies the token, and the claims reach
// handlers through c.UserContext() ([Claims]). A rejection is answered with
// v's RFC 6750 response, or by [WithErrorHandler]'s handler.
func Middleware(v *core.Verifier, opts ...Option) fiber.Handler {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	return func(c *fiber.Ctx) error {
		if cfg.next != nil && cfg.next(c) {
			return c.Next()
		}
		ctx := c.UserContext()
		claims, err := v.Authenticate(ctx, request{c.Request()})
		if err != nil {
			return cfg.fail(v, c, err)
		}
		ctx = core.NewContext(ctx, claims)
		if cfg.onError != nil {
			ctx = context.WithValue(ctx, configKey{}, cfg) // for RequireScopes behind
		}
		c.SetUserContext(ctx)
		return c.Next()
	}
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match). It runs behind
// [Middleware], answers with its error handler, and refuses a request
// Middleware did not verify as lacking credentials.
func RequireScopes(v *core.Verifier, scopes ...string) fiber.Handler {
	policy := core.RequireScopes(scopes...)
	return func(c *fiber.Ctx) error {
		ctx := c.UserContext()
		claims, _ := core.FromContext(ctx)
		if err := v.Authorize(ctx, claims, policy); err != nil {
			cfg, _ := ctx.Value(configKey{}).(*config)
			return cfg.fail(v, c, err)
		}
		return c.Next()
	}
}

// Claims returns the claims Middleware verified for the request of c.
func Claims(c *fiber.Ctx) (*core.Claims, bool) { return core.FromContext(c.UserContext()) }

type configKey struct{}
