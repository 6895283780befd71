package ginjwt

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how a Guard meets gin. Verification settings belong to
// the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler writes the response to a rejected request; the chain is
// aborted whatever it does. err carries the Reason; v.Response(err) is the
// RFC 6750 response. Never send err.Error().
type ErrorHandler func(c *gin.Context, err *core.Error)

// WithErrorHandler replaces the RFC 6750 response of the Guard's
// rejections: its Middleware's and its checks'.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithSkipper lets requests for which skip returns true through without a
// token and without claims (health checks, CORS preflight); a check behind
// refuses them as lacking credentials.
func WithSkipper(skip func(c *gin.Context) bool) Option { return func(c *config) { c.skip = skip } }

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
	skip     func(*gin.Context) bool
}
