package fiberv3jwt_test

import (
	"testing"

	"github.com/gofiber/fiber/v3"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberv3jwt"
)

// app.Test feeds fasthttp's own parser, with the package doc's read buffer.
// The route is mounted at conformance.Path and at conformance.SkipPath,
// which Next skips.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{Name: "fiber v3", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []fiberv3jwt.Option{fiberv3jwt.WithNext(func(c fiber.Ctx) bool { return c.Path() == conformance.SkipPath })}
		answer := endpoint
		if route.Optional {
			opts, answer = append(opts, fiberv3jwt.WithOptional()), anonymousEndpoint
		}
		g := fiberv3jwt.New(v, opts...)
		var behind []any // the checks, then the endpoint; fiber v3 routes take handlers as any
		if route.Scopes != nil {
			behind = append(behind, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			behind = append(behind, g.RequirePolicy(route.Policy))
		}
		behind = append(behind, answer)
		app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, g.Middleware, behind...)
		app.Get(conformance.SkipPath, g.Middleware, behind...)
		return func(r conformance.Request) (conformance.Result, error) {
			req, err := r.NewHTTPRequest("http://fiber.test")
			if err != nil {
				return conformance.Result{}, err
			}
			resp, err := app.Test(req, fiber.TestConfig{}) // no timeout: a slow -race run is no failure
			if err != nil {
				return conformance.Result{}, err
			}
			return conformance.ReadHTTPResponse(resp)
		}, func() {}
	}})
}
