// Package ginapp is the example service on gin, behind ginjwt.
package ginapp

import (
	"context"
	"net"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/health"
)

// New returns the routes: /healthz, /readyz and /metrics need no token,
// /whoami any valid token, /admin a token granting the admin scope.
func New(v *core.Verifier, metrics http.Handler) *gin.Engine {
	// One Guard: its Middleware and its scope check share its options.
	g := ginjwt.New(v)
	r := gin.New()
	r.Use(gin.Recovery())
	r.GET("/healthz", gin.WrapH(health.Liveness()))
	r.GET("/readyz", gin.WrapH(health.Readiness(v)))
	r.GET("/metrics", gin.WrapH(metrics))
	r.GET("/whoami", g.Middleware, func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		c.JSON(http.StatusOK, claims)
	})
	r.GET("/admin", g.Middleware, g.RequireScopes("admin"), func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		c.JSON(http.StatusOK, gin.H{"admin": true, "sub": claims.Subject()})
	})
	return r
}

// Serve serves the example on ln until ctx is done, with the verifier's
// metrics at /metrics: the example's main, as service.Main runs it, and
// what the conformance run drives.
func Serve(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v, metrics))
}
