package grpcjwt

import (
	"context"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how the interceptors meet gRPC. Verification settings
// belong to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler returns the error a rejected call fails with; nil keeps
// core's status. err carries the Reason. Never send err.Error().
type ErrorHandler func(ctx context.Context, err *core.Error) error

// WithErrorHandler replaces the status of rejections, from the interceptors
// and the RequireScopes ones behind them.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithExempt lets calls through without a token or claims. A name is a full
// method ("/grpc.health.v1.Health/Check") or a service ("grpc.health.v1.Health").
func WithExempt(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.exempt[n] = true
		}
	}
}

type config struct {
	onError ErrorHandler
	exempt  map[string]bool
}

func newConfig(opts []Option) *config {
	c := &config{exempt: map[string]bool{}}
	for _, o := range opts {
		o(c)
	}
	return c
}

// The options of an interceptor, for the RequireScopes ones behind it, and
// the mark of an exempt call.
type configKey struct{}
type exemptKey struct{}

func (c *config) authenticate(ctx context.Context, v *core.Verifier, method string) (context.Context, error) {
	service, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	if c.exempt[method] || c.exempt[service] {
		return context.WithValue(ctx, exemptKey{}, true), nil
	}
	claims, err := v.Authenticate(ctx, callRequest{ctx})
	if err != nil {
		return nil, c.fail(ctx, v, err)
	}
	if ctx = core.NewContext(ctx, claims); c.onError != nil {
		ctx = context.WithValue(ctx, configKey{}, c)
	}
	return ctx, nil
}

func authorize(ctx context.Context, v *core.Verifier, policy core.Policy) error {
	claims, ok := core.FromContext(ctx)
	if !ok && ctx.Value(exemptKey{}) != nil {
		return nil
	}
	err := v.Authorize(ctx, claims, policy)
	if c, _ := ctx.Value(configKey{}).(*config); err != nil {
		return c.fail(ctx, v, err)
	}
	return nil
}

// fail maps through core's reason table: 401 is Unauthenticated, 403
// PermissionDenied, 400 InvalidArgument, with core's generic message.
func (c *config) fail(ctx context.Context, v *core.Verifier, err error) error {
	if c != nil && c.onError != nil {
		if e := c.onError(ctx, core.AsError(err)); e != nil {
			return e
		}
	}
	r := v.Response(err)
	return status.Error(codes.Code(r.GRPCCode), r.GRPCMessage)
}

// callRequest is the core.Request of a call: metadata are its headers, read
// by key rather than copied whole; a call has no query or cookies.
type callRequest struct{ ctx context.Context }

func (r callRequest) Header(name string) []string {
	return metadata.ValueFromIncomingContext(r.ctx, name)
}
func (callRequest) Query(string) []string        { return nil }
func (callRequest) Cookie(string) (string, bool) { return "", false }
