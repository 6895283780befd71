package grpcjwt

import (
	"context"

	"google.golang.org/grpc"

	"github.com/jwtguard/jwtguard/core"
)

// UnaryServerInterceptor authenticates every unary call with v before its
// handler runs: v.Authenticate verifies the token of the authorization
// metadata, and the claims reach the handler in its context ([Claims]). A
// rejection fails the call with core's status, or [WithErrorHandler]'s.
func UnaryServerInterceptor(v *core.Verifier, opts ...Option) grpc.UnaryServerInterceptor {
	c := newConfig(opts)
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		ctx, err := c.authenticate(ctx, v, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: the
// handler gets a ServerStream whose Context carries the claims.
func StreamServerInterceptor(v *core.Verifier, opts ...Option) grpc.StreamServerInterceptor {
	c := newConfig(opts)
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		ctx, err := c.authenticate(ss.Context(), v, info.FullMethod)
		if err != nil {
			return err
		}
		return next(srv, &serverStream{ss, ctx})
	}
}

// AuthFunc authenticates like the interceptors, with the signature of
// go-grpc-middleware v2's auth.AuthFunc.
func AuthFunc(v *core.Verifier) func(ctx context.Context) (context.Context, error) {
	c := newConfig(nil)
	return func(ctx context.Context) (context.Context, error) { return c.authenticate(ctx, v, "") }
}

// UnaryRequireScopes lets a call through only when its claims grant every
// scope (core.RequireScopes: exact match). It runs behind
// UnaryServerInterceptor, passes the methods that one exempts, and refuses
// other calls without claims as lacking credentials.
func UnaryRequireScopes(v *core.Verifier, scopes ...string) grpc.UnaryServerInterceptor {
	policy := core.RequireScopes(scopes...)
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := authorize(ctx, v, policy); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamRequireScopes is UnaryRequireScopes for streams.
func StreamRequireScopes(v *core.Verifier, scopes ...string) grpc.StreamServerInterceptor {
	policy := core.RequireScopes(scopes...)
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if err := authorize(ss.Context(), v, policy); err != nil {
			return err
		}
		return next(srv, ss)
	}
}

// Claims returns the claims an interceptor verified for the call of ctx.
func Claims(ctx context.Context) (*core.Claims, bool) { return core.FromContext(ctx) }

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
