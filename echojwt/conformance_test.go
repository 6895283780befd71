package echojwt_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
)

// The route is mounted at conformance.Path and at conformance.SkipPath,
// which the Guard skips.
func TestConformance(t *testing.T) {
	h := conformance.HTTPHarness("echo", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []echojwt.Option{echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, echojwt.WithOptional())
		}
		g := echojwt.New(v, opts...)
		chain := []echo.MiddlewareFunc{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		e := echo.New()
		e.GET(conformance.Path, echo.WrapHandler(protected), chain...)
		e.GET(conformance.SkipPath, echo.WrapHandler(protected), chain...)
		return e
	})
	h.Skips, h.Optional = true, true
	conformance.Run(t, h)
}
