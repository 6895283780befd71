package ginjwt_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/ginjwt"
)

// The route is mounted at conformance.Path and at conformance.SkipPath,
// which the Guard skips.
func TestConformance(t *testing.T) {
	h := conformance.HTTPHarness("gin", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []ginjwt.Option{ginjwt.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, ginjwt.WithOptional())
		}
		g := ginjwt.New(v, opts...)
		chain := []gin.HandlerFunc{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		chain = append(chain, gin.WrapH(protected))
		r := gin.New()
		r.GET(conformance.Path, chain...)
		r.GET(conformance.SkipPath, chain...)
		return r
	})
	h.Skips, h.Optional = true, true
	conformance.Run(t, h)
}
