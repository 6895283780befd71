// Package echoapp is the example service on echo, behind echojwt.
package echoapp

import (
	"context"
	"net"
	"net/http"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/health"
)

// New returns the routes: /healthz, /readyz and /metrics need no token,
// /whoami any valid token, /admin a token granting the admin scope.
func New(v *core.Verifier, metrics http.Handler) *echo.Echo {
	// One Guard: its Middleware and its scope check share its options.
	g := echojwt.New(v)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	e.GET("/healthz", echo.WrapHandler(health.Liveness()))
	e.GET("/readyz", echo.WrapHandler(health.Readiness(v)))
	e.GET("/metrics", echo.WrapHandler(metrics))
	// Route middleware runs first to last: authenticate, then authorize.
	e.GET("/whoami", func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		return c.JSON(http.StatusOK, claims)
	}, g.Middleware)
	e.GET("/admin", func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		return c.JSON(http.StatusOK, map[string]any{"admin": true, "sub": claims.Subject()})
	}, g.Middleware, g.RequireScopes("admin"))
	return e
}

// Serve serves the example on ln until ctx is done, with the verifier's
// metrics at /metrics: the example's main, as service.Main runs it, and
// what the conformance run drives.
func Serve(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v, metrics))
}
