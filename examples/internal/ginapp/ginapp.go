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
)

// Serve serves the routes for v on ln until ctx is done: the example's
// main, as service.Main runs it.
func Serve(ctx context.Context, v *core.Verifier, ln net.Listener) error {
	return service.ServeHTTP(ctx, ln, New(v))
}

// New returns the routes: /healthz and /readyz need no token, /whoami any
// valid token, /admin a token granting the admin scope.
func New(v *core.Verifier) *gin.Engine {
	// One Guard: its Middleware and its scope check share its options.
	g := ginjwt.New(v)
	r := gin.New()
	r.Use(gin.Recovery())
	// Liveness: the process answers, whatever the IdP is doing.
	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	// Readiness: not ready while no key set could be fetched, since every
	// token would then be answered 503 keys_unavailable.
	r.GET("/readyz", func(c *gin.Context) {
		if !v.Ready() {
			c.JSON(http.StatusServiceUnavailable, gin.H{"status": "no keys yet"})
			return
		}
		c.JSON(http.StatusOK, gin.H{"status": "ready"})
	})
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
