package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
)

// Middleware authenticates every request with v before the rest of the
// chain: v.Authenticate extracts and verifies the token, and the claims
// reach handlers through the request context ([Claims]). A rejection aborts
// with v's RFC 6750 response, or [WithErrorHandler]'s.
func Middleware(v *core.Verifier, opts ...Option) gin.HandlerFunc {
	cfg := &config{}
	for _, o := range opts {
		o(cfg)
	}
	return func(c *gin.Context) {
		if cfg.skip != nil && cfg.skip(c) {
			c.Next()
			return
		}
		claims, err := v.Authenticate(c.Request.Context(), core.HTTPRequest(c.Request))
		if err != nil {
			cfg.fail(v, c, err)
			return
		}
		c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), claims))
		if cfg.onError != nil {
			c.Set(configKey{}, cfg) // for RequireScopes down the chain
		}
		c.Next()
	}
}

// RequireScopes lets a request through only when its verified claims grant
// every scope (core.RequireScopes: exact match). It runs behind
// [Middleware], answers with its error handler, and refuses a request
// Middleware did not verify as lacking credentials.
func RequireScopes(v *core.Verifier, scopes ...string) gin.HandlerFunc {
	policy := core.RequireScopes(scopes...)
	return func(c *gin.Context) {
		claims, _ := Claims(c)
		if err := v.Authorize(c.Request.Context(), claims, policy); err != nil {
			opts, _ := c.Get(configKey{})
			cfg, _ := opts.(*config)
			cfg.fail(v, c, err)
			return
		}
		c.Next()
	}
}

// Claims returns the claims Middleware verified for the request of c.
func Claims(c *gin.Context) (*core.Claims, bool) { return core.FromContext(c.Request.Context()) }

// configKey is the gin.Context key of the Middleware's options.
type configKey struct{}
