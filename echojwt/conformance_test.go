package echojwt_test

import (
	"net/http"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.HTTPHarness("echo", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
		e := echo.New()
		e.GET(conformance.Path, echo.WrapHandler(protected), echojwt.Middleware(v), echojwt.RequireScopes(v, scopes...))
		return e
	}))
}
