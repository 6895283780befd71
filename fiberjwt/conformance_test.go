package fiberjwt_test

import (
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberjwt"
)

// app.Test feeds fasthttp's own parser, with the package doc's read buffer.
// The route is mounted at conformance.Path and at conformance.SkipPath,
// which Next skips.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{Name: "fiber", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []fiberjwt.Option{fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Path() == conformance.SkipPath })}
		answer := endpoint
		if route.Optional {
			opts, answer = append(opts, fiberjwt.WithOptional()), anonymousEndpoint
		}
		g := fiberjwt.New(v, opts...)
		chain := []fiber.Handler{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		chain = append(chain, answer)
		app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, chain...)
		app.Get(conformance.SkipPath, chain...)
		return func(r conformance.Request) (conformance.Result, error) {
			req, err := r.NewHTTPRequest("http://fiber.test")
			if err != nil {
				return conformance.Result{}, err
			}
			resp, err := app.Test(req, -1) // no timeout: a slow -race run is no failure
			if err != nil {
				return conformance.Result{}, err
			}
			return conformance.ReadHTTPResponse(resp)
		}, func() {}
	}})
}
