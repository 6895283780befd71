package echojwt

import (
	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how the middleware meets echo. Verification settings
// belong to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler answers a rejected request; the handler never runs, and the
// error returned goes to echo's HTTPErrorHandler. err carries the Reason;
// v.Response(err) is the RFC 6750 response. Never send err.Error().
type ErrorHandler func(c echo.Context, err *core.Error) error

// WithErrorHandler replaces the RFC 6750 response of rejections, from
// Middleware and from RequireScopes behind it.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithSkipper lets requests for which skip returns true through without a
// token and without claims. It takes a middleware.Skipper.
func WithSkipper(skip func(c echo.Context) bool) Option { return func(c *config) { c.skip = skip } }

type config struct {
	onError ErrorHandler
	skip    func(echo.Context) bool
}

// fail answers a rejection; a nil config sends v's RFC 6750 response, on
// echo's Response (which marks it committed) and not returned as an error.
func (c *config) fail(v *core.Verifier, ec echo.Context, err error) error {
	if c != nil && c.onError != nil {
		return c.onError(ec, core.AsError(err))
	}
	if ec.Response().Committed {
		return err // a status was already sent: echo's error handler logs
	}
	v.Response(err).WriteHTTP(ec.Response())
	return nil
}
