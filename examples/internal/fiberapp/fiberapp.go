// Package fiberapp is the example service on fiber, behind fiberjwt.
package fiberapp

import (
	"context"
	"net"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/fiberjwt"
)

// Serve serves the routes for v on ln until ctx is done: the example's
// main, as service.Main runs it.
func Serve(ctx context.Context, v *core.Verifier, ln net.Listener) error {
	app := New(v)
	return service.Until(ctx, func() error { return app.Listener(ln) }, app.ShutdownWithContext)
}

// New returns the routes: /healthz and /readyz need no token, /whoami any
// valid token, /admin a token granting the admin scope.
func New(v *core.Verifier) *fiber.App {
	// One Guard: its Middleware and its scope check share its options.
	g := fiberjwt.New(v)
	app := fiber.New(fiber.Config{
		// fasthttp refuses request headers beyond its read buffer (4 KiB by
		// default) with 431 before any handler runs; 16 KiB lets tokens of
		// max_token_bytes (8 KiB) through to the verifier.
		ReadBufferSize:        16 << 10,
		DisableStartupMessage: true, // the logs are JSON lines
	})
	app.Use(recover.New())
	// Liveness: the process answers, whatever the IdP is doing.
	app.Get("/healthz", func(c *fiber.Ctx) error { return c.JSON(fiber.Map{"status": "ok"}) })
	// Readiness: not ready while no key set could be fetched, since every
	// token would then be answered 503 keys_unavailable.
	app.Get("/readyz", func(c *fiber.Ctx) error {
		if !v.Ready() {
			return c.Status(fiber.StatusServiceUnavailable).JSON(fiber.Map{"status": "no keys yet"})
		}
		return c.JSON(fiber.Map{"status": "ready"})
	})
	app.Get("/whoami", g.Middleware, func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.JSON(claims)
	})
	app.Get("/admin", g.Middleware, g.RequireScopes("admin"), func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.JSON(fiber.Map{"admin": true, "sub": claims.Subject()})
	})
	return app
}
