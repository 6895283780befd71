package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how the middleware meets gin. Verification settings
// belong to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler writes the response to a rejected request; the chain is
// aborted whatever it does. err carries the Reason; v.Response(err) is the
// RFC 6750 response. Never send err.Error().
type ErrorHandler func(c *gin.Context, err *core.Error)

// WithErrorHandler replaces the RFC 6750 response of rejections, from
// Middleware and from RequireScopes behind it.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithSkipper lets requests for which skip returns true through without a
// token and without claims (health checks, CORS preflight).
func WithSkipper(skip func(c *gin.Context) bool) Option { return func(c *config) { c.skip = skip } }

type config struct {
	onError ErrorHandler
	skip    func(*gin.Context) bool
}

// fail answers a rejection through gin's writer, so gin records the status,
// and aborts the chain; a nil config sends v's RFC 6750 response.
func (c *config) fail(v *core.Verifier, gc *gin.Context, err error) {
	defer gc.Abort()
	if c != nil && c.onError != nil {
		c.onError(gc, core.AsError(err))
		return
	}
	v.Response(err).WriteHTTP(gc.Writer)
}
