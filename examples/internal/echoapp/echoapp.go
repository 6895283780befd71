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
)

// Serve serves the routes for v on ln until ctx is done: the example's
// main, as service.Main runs it.
func Serve(ctx context.Context, v *core.Verifier, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v))
}

// New returns the routes: /healthz and /readyz need no token, /whoami any
// valid token, /admin a token granting the admin scope.
func New(v *core.Verifier) *echo.Echo {
	// One Guard: its Middleware and its scope check share its options.
	g := echojwt.New(v)
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.Use(middleware.Recover())
	// Liveness: the process answers, whatever the IdP is doing.
	e.GET("/healthz", func(c echo.Context) error {
		return c.JSON(http.StatusOK, map[string]string{"status": "ok"})
	})
	// Readiness: not ready while no key set could be fetched, since every
	// token would then be answered 503 keys_unavailable.
	e.GET("/readyz", func(c echo.Context) error {
		if !v.Ready() {
			return c.JSON(http.StatusServiceUnavailable, map[string]string{"status": "no keys yet"})
		}
		return c.JSON(http.StatusOK, map[string]string{"status": "ready"})
	})
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
