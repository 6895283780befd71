package fiberjwt_test

import (
	"testing"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberjwt"
)

// app.Test feeds fasthttp's own parser, with the package doc's read buffer.
func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Harness{Name: "fiber", Serve: func(v *core.Verifier, scopes []string) (func(conformance.Request) (conformance.Result, error), func()) {
		app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, fiberjwt.Middleware(v), fiberjwt.RequireScopes(v, scopes...), endpoint)
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
