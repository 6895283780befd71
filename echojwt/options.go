package echojwt

import (
	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how a Guard meets echo. Verification settings belong to
// the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler answers a rejected request; the handler never runs, and the
// error returned goes to echo's HTTPErrorHandler. err carries the Reason;
// v.Response(err) is the RFC 6750 response. Never send err.Error().
type ErrorHandler func(c echo.Context, err *core.Error) error

// WithErrorHandler replaces the RFC 6750 response of the Guard's
// rejections: its Middleware's and its checks'.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithSkipper lets requests for which skip returns true through without a
// token and without claims; a check behind refuses them as lacking
// credentials. It takes a middleware.Skipper.
func WithSkipper(skip func(c echo.Context) bool) Option { return func(c *config) { c.skip = skip } }

// WithOptional makes the Guard's authentication optional: a request that
// presents no credentials at all goes on without claims, while one that
// presents any is verified as without the option, so an expired, forged,
// malformed or misplaced token is still refused
// (core.Verifier.AuthenticateOptional). A check behind refuses an
// anonymous request as lacking credentials. For routes whose handlers serve
// everyone and show more to a signed-in caller.
func WithOptional() Option { return func(c *config) { c.optional = true } }

type config struct {
	optional bool
	onError  ErrorHandler
	skip     func(echo.Context) bool
}
