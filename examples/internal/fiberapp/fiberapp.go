// Package fiberapp is the example service on fiber, behind fiberjwt.
package fiberapp

import (
	"context"
	"net"
	"net/http"

	"github.com/gofiber/fiber/v2"
	"github.com/gofiber/fiber/v2/middleware/adaptor"
	"github.com/gofiber/fiber/v2/middleware/recover"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/health"
)

// New returns the routes: /healthz, /readyz and /metrics need no token,
// /whoami any valid token, /admin a token granting the admin scope.
func New(v *core.Verifier, metrics http.Handler) *fiber.App {
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
	app.Get("/healthz", adaptor.HTTPHandler(health.Liveness()))
	app.Get("/readyz", adaptor.HTTPHandler(health.Readiness(v)))
	app.Get("/metrics", adaptor.HTTPHandler(metrics))
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

// Serve serves the example on ln until ctx is done, with the verifier's
// metrics at /metrics: the example's main, as service.Main runs it, and
// what the conformance run drives.
func Serve(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
	app := New(v, metrics)
	return service.Until(ctx, func() error { return app.Listener(ln) }, app.ShutdownWithContext)
}
