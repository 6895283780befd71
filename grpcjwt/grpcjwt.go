package grpcjwt

import (
	"context"
	"errors"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's interceptors and its checks, sharing one set of
// options: a check answers with its own Guard's error handler, whatever
// runs in front of it, so nothing is passed along but the claims in the
// call context.
type Guard struct {
	v *core.Verifier
	config
}

// New returns the Guard of v. The options cover transport only.
func New(v *core.Verifier, opts ...Option) *Guard {
	g := &Guard{v: v, config: config{exempt: map[string]bool{}}}
	for _, o := range opts {
		o(&g.config)
	}
	return g
}

// UnaryServerInterceptor authenticates every unary call with v before its
// handler runs: v.Authenticate verifies the token of the authorization
// metadata, and the claims reach the handler in its context ([Claims]). A
// rejection fails the call with core's status, or [WithErrorHandler]'s. An
// exempt call goes on without claims, whatever token it carries.
func (g *Guard) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		ctx, err := g.authenticate(ctx, info.FullMethod)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamServerInterceptor is UnaryServerInterceptor for streams: the
// handler gets a ServerStream whose Context carries the claims.
func (g *Guard) StreamServerInterceptor() grpc.StreamServerInterceptor {
	return func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		ctx, err := g.authenticate(ss.Context(), info.FullMethod)
		if err != nil {
			return err
		}
		return next(srv, &serverStream{ss, ctx})
	}
}

// AuthFunc authenticates like the interceptors, with the signature of
// go-grpc-middleware v2's auth.AuthFunc; the method of an exemption is
// read with grpc.Method.
func (g *Guard) AuthFunc() func(ctx context.Context) (context.Context, error) {
	return func(ctx context.Context) (context.Context, error) {
		method, _ := grpc.Method(ctx)
		return g.authenticate(ctx, method)
	}
}

// UnaryRequireScopes lets a call through only when its claims grant every
// scope (core.RequireScopes: exact match).
func (g *Guard) UnaryRequireScopes(scopes ...string) grpc.UnaryServerInterceptor {
	return g.UnaryRequirePolicy(core.RequireScopes(scopes...))
}

// UnaryRequireRoles lets a call through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) UnaryRequireRoles(claimPath string, roles ...string) grpc.UnaryServerInterceptor {
	return g.UnaryRequirePolicy(core.RequireRoles(claimPath, roles...))
}

// StreamRequireScopes is UnaryRequireScopes for streams.
func (g *Guard) StreamRequireScopes(scopes ...string) grpc.StreamServerInterceptor {
	return g.StreamRequirePolicy(core.RequireScopes(scopes...))
}

// StreamRequireRoles is UnaryRequireRoles for streams.
func (g *Guard) StreamRequireRoles(claimPath string, roles ...string) grpc.StreamServerInterceptor {
	return g.StreamRequirePolicy(core.RequireRoles(claimPath, roles...))
}

// UnaryRequirePolicy lets a call through only when p accepts its claims
// (v.Authorize). A call without claims, because no interceptor ran or
// because it exempted the call, is refused as lacking credentials.
func (g *Guard) UnaryRequirePolicy(p core.Policy) grpc.UnaryServerInterceptor {
	if p == nil {
		panic("grpcjwt: UnaryRequirePolicy of a nil policy")
	}
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if err := g.authorize(ctx, p); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

// StreamRequirePolicy is UnaryRequirePolicy for streams.
func (g *Guard) StreamRequirePolicy(p core.Policy) grpc.StreamServerInterceptor {
	if p == nil {
		panic("grpcjwt: StreamRequirePolicy of a nil policy")
	}
	return func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
		if err := g.authorize(ss.Context(), p); err != nil {
			return err
		}
		return next(srv, ss)
	}
}

func (g *Guard) authenticate(ctx context.Context, method string) (context.Context, error) {
	var claims *core.Claims
	if !g.exempts(method) {
		var err error
		if claims, err = g.authn(ctx, callRequest{ctx}); err != nil {
			return nil, g.fail(ctx, err)
		}
	}
	return core.NewContext(ctx, claims), nil
}

// exempts reports whether method ("/service/Method") or its service is
// exempt.
func (g *Guard) exempts(method string) bool {
	service, _, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return g.exempt[method] || g.exempt[service]
}

func (g *Guard) authorize(ctx context.Context, p core.Policy) error {
	claims, _ := core.FromContext(ctx)
	if err := g.v.Authorize(ctx, claims, p); err != nil {
		return g.fail(ctx, err)
	}
	return nil
}

// authn is v.Authenticate, or v.AuthenticateOptional for a Guard
// [WithOptional]: which requests are anonymous is core's decision.
func (g *Guard) authn(ctx context.Context, r core.Request) (*core.Claims, error) {
	if g.optional {
		return g.v.AuthenticateOptional(ctx, r)
	}
	return g.v.Authenticate(ctx, r)
}

// fail maps through core's reason table: 401 is Unauthenticated, 403
// PermissionDenied, 400 InvalidArgument, 503 Unavailable, with core's
// generic message. An error handler that returns nil keeps that status, so
// a rejection never lets the call through.
func (g *Guard) fail(ctx context.Context, err error) error {
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		if handled := g.onError(ctx, e); handled != nil {
			return handled
		}
	}
	r := g.v.Response(err)
	return status.Error(codes.Code(r.GRPCCode), r.GRPCMessage)
}

// UnaryServerInterceptor is New(v, opts...).UnaryServerInterceptor().
func UnaryServerInterceptor(v *core.Verifier, opts ...Option) grpc.UnaryServerInterceptor {
	return New(v, opts...).UnaryServerInterceptor()
}

// StreamServerInterceptor is New(v, opts...).StreamServerInterceptor().
func StreamServerInterceptor(v *core.Verifier, opts ...Option) grpc.StreamServerInterceptor {
	return New(v, opts...).StreamServerInterceptor()
}

// AuthFunc is New(v, opts...).AuthFunc().
func AuthFunc(v *core.Verifier, opts ...Option) func(ctx context.Context) (context.Context, error) {
	return New(v, opts...).AuthFunc()
}

// UnaryRequireScopes is New(v).UnaryRequireScopes(scopes...): its
// rejections get core's status.
func UnaryRequireScopes(v *core.Verifier, scopes ...string) grpc.UnaryServerInterceptor {
	return New(v).UnaryRequireScopes(scopes...)
}

// UnaryRequireRoles is New(v).UnaryRequireRoles(claimPath, roles...): its
// rejections get core's status.
func UnaryRequireRoles(v *core.Verifier, claimPath string, roles ...string) grpc.UnaryServerInterceptor {
	return New(v).UnaryRequireRoles(claimPath, roles...)
}

// StreamRequireScopes is New(v).StreamRequireScopes(scopes...).
func StreamRequireScopes(v *core.Verifier, scopes ...string) grpc.StreamServerInterceptor {
	return New(v).StreamRequireScopes(scopes...)
}

// StreamRequireRoles is New(v).StreamRequireRoles(claimPath, roles...).
func StreamRequireRoles(v *core.Verifier, claimPath string, roles ...string) grpc.StreamServerInterceptor {
	return New(v).StreamRequireRoles(claimPath, roles...)
}

// UnaryRequirePolicy is New(v).UnaryRequirePolicy(p): its rejections get
// core's status.
func UnaryRequirePolicy(v *core.Verifier, p core.Policy) grpc.UnaryServerInterceptor {
	return New(v).UnaryRequirePolicy(p)
}

// StreamRequirePolicy is New(v).StreamRequirePolicy(p).
func StreamRequirePolicy(v *core.Verifier, p core.Policy) grpc.StreamServerInterceptor {
	return New(v).StreamRequirePolicy(p)
}

// Claims returns the claims an interceptor verified for the call of ctx.
func Claims(ctx context.Context) (*core.Claims, bool) { return core.FromContext(ctx) }

type serverStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *serverStream) Context() context.Context { return s.ctx }
