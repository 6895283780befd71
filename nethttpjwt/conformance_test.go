package nethttpjwt_test

import (
	"net/http"
	"testing"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.HTTPHarness("net/http", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
		return nethttpjwt.Middleware(v)(nethttpjwt.RequireScopes(v, scopes...)(protected))
	}))
}
