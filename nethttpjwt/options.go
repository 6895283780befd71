package nethttpjwt

import (
	"net/http"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how the middleware meets HTTP. Verification settings
// belong to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler writes the response to a rejected request. err carries the
// Reason; v.Response(err) is the RFC 6750 response. Never send err.Error().
type ErrorHandler func(w http.ResponseWriter, r *http.Request, err *core.Error)

// WithErrorHandler replaces the RFC 6750 response of rejections, from
// Middleware and from RequireScopes behind it.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithSkipper lets requests for which skip returns true through without a
// token and without claims (health checks, CORS preflight).
func WithSkipper(skip func(r *http.Request) bool) Option { return func(c *config) { c.skip = skip } }

type config struct {
	onError ErrorHandler
	skip    func(*http.Request) bool
}

// fail answers a rejection; a nil config sends v's RFC 6750 response.
func (c *config) fail(v *core.Verifier, w http.ResponseWriter, r *http.Request, err error) {
	if c != nil && c.onError != nil {
		c.onError(w, r, core.AsError(err))
		return
	}
	v.Response(err).WriteHTTP(w)
}
