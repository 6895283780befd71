package fiberv3jwt

import (
	"github.com/gofiber/fiber/v3"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how a Guard meets fiber. Verification settings belong to
// the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler answers a rejected request; the handler never runs, and the
// error returned goes to fiber's ErrorHandler. err carries the Reason;
// v.Response(err) is the RFC 6750 response. Never send err.Error().
type ErrorHandler func(c fiber.Ctx, err *core.Error) error

// WithErrorHandler replaces the RFC 6750 response of the Guard's
// rejections: its Middleware's and its checks'.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithNext lets requests for which next returns true through without a
// token and without claims, as Next does in fiber's own middleware; a check
// behind refuses them as lacking credentials.
func WithNext(next func(c fiber.Ctx) bool) Option { return func(c *config) { c.next = next } }

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
	next     func(fiber.Ctx) bool
}
