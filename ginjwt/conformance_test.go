package ginjwt_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/ginjwt"
)

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.HTTPHarness("gin", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
		r := gin.New()
		r.GET(conformance.Path, ginjwt.Middleware(v), ginjwt.RequireScopes(v, scopes...), gin.WrapH(protected))
		return r
	}))
}
