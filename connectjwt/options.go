package connectjwt

import (
	"context"

	"connectrpc.com/connect"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how a Guard meets Connect. Verification settings belong
// to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler returns the error a rejected call fails with; nil keeps
// core's. err carries the Reason. Never send err.Error().
type ErrorHandler func(ctx context.Context, err *core.Error) *connect.Error

// WithErrorHandler replaces the error of the Guard's rejections: its
// interceptor's and its checks'.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithExempt lets calls through without a token and without claims; a
// check behind refuses them as lacking credentials. A name is a procedure
// ("/grpc.health.v1.Health/Check") or a service ("grpc.health.v1.Health").
func WithExempt(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.exempt[n] = true
		}
	}
}

// WithOptional makes the Guard's authentication optional: a call that
// presents no credentials at all goes on without claims, while one that
// presents any is verified as without the option, so an expired, forged,
// malformed or misplaced token is still refused
// (core.Verifier.AuthenticateOptional). A check behind refuses an
// anonymous call as lacking credentials. For routes whose handlers serve
// everyone and show more to a signed-in caller.
func WithOptional() Option { return func(c *config) { c.optional = true } }

type config struct {
	optional bool
	onError  ErrorHandler
	exempt   map[string]bool
}
