package connectjwt

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"connectrpc.com/connect"

	"github.com/jwtguard/jwtguard/core"
)

// Guard is a verifier's interceptor and its checks, sharing one set of
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

// Interceptor authenticates every call of the handlers it is given to
// (connect.WithInterceptors), unary and streaming, before the handler
// runs: v.Authenticate verifies the token of the Authorization header, and
// the claims reach the handler in its context ([Claims]). A rejection fails
// the call with core's code and message and its RFC 6750 challenge in the
// error's metadata (not over the gRPC protocol, whose error metadata are
// HTTP trailers, where RFC 9110 section 6.5.1 forbids it), or with
// [WithErrorHandler]'s error. An exempt call goes on without claims,
// whatever token it carries. In a client it does nothing.
func (g *Guard) Interceptor() connect.Interceptor { return authenticator{g} }

// Gate authenticates as Interceptor does, as a handler's request gate
// (connect.WithRequestGate): before the request message is read, so an
// unauthenticated caller never has the server decode one.
func (g *Guard) Gate() connect.RequestGateFunc {
	return func(ctx context.Context, spec connect.Spec, peer connect.Peer, header http.Header) (context.Context, error) {
		return g.authenticate(ctx, spec.Procedure, peer.Protocol, header)
	}
}

// RequireScopes lets a call through only when its claims grant every
// scope (core.RequireScopes: exact match).
func (g *Guard) RequireScopes(scopes ...string) connect.Interceptor {
	return g.RequirePolicy(core.RequireScopes(scopes...))
}

// RequireRoles lets a call through only when its claims hold every role
// at claimPath (core.RequireRoles: "roles" for Entra ID,
// "realm_access.roles" for Keycloak, exact match).
func (g *Guard) RequireRoles(claimPath string, roles ...string) connect.Interceptor {
	return g.RequirePolicy(core.RequireRoles(claimPath, roles...))
}

// RequirePolicy lets a call through only when p accepts its claims
// (v.Authorize). A call without claims, because no interceptor ran or
// because it exempted the call, is refused as lacking credentials.
func (g *Guard) RequirePolicy(p core.Policy) connect.Interceptor {
	if p == nil {
		panic("connectjwt: RequirePolicy of a nil policy")
	}
	return check{g, p}
}

func (g *Guard) authenticate(ctx context.Context, procedure, protocol string, header http.Header) (context.Context, error) {
	var claims *core.Claims
	if !g.exempts(procedure) {
		var err error
		if claims, err = g.authn(ctx, headerRequest{header}); err != nil {
			return nil, g.fail(ctx, protocol, err)
		}
	}
	return core.NewContext(ctx, claims), nil
}

// exempts reports whether procedure ("/service/Method") or its service is
// exempt.
func (g *Guard) exempts(procedure string) bool {
	service, _, _ := strings.Cut(strings.TrimPrefix(procedure, "/"), "/")
	return g.exempt[procedure] || g.exempt[service]
}

func (g *Guard) authorize(ctx context.Context, protocol string, p core.Policy) error {
	claims, _ := core.FromContext(ctx)
	if err := g.v.Authorize(ctx, claims, p); err != nil {
		return g.fail(ctx, protocol, err)
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

// fail maps through core's reason table. Connect's codes are gRPC's, by
// name and number: 401 is unauthenticated, 403 permission_denied, 400
// invalid_argument, 503 unavailable, with core's generic message. The
// Bearer challenge (RFC 6750 section 3) goes into the error's metadata,
// which the Connect protocol sends as the WWW-Authenticate header of a
// unary call's 401, 403 or 400, and gRPC-Web as a header or in the body.
// gRPC sends error metadata as HTTP trailers, where RFC 9110 section
// 6.5.1 forbids authentication fields (net/http drops them and logs each),
// so over gRPC the code alone answers, as grpcjwt's does. An error handler
// that returns nil keeps core's error, so a rejection never lets the call
// through.
func (g *Guard) fail(ctx context.Context, protocol string, err error) error {
	var e *core.Error
	if g.onError != nil && errors.As(err, &e) {
		if handled := g.onError(ctx, e); handled != nil {
			return handled
		}
	}
	r := g.v.Response(err)
	ce := connect.NewError(connect.Code(r.GRPCCode), errors.New(r.GRPCMessage))
	if r.WWWAuthenticate != "" && protocol != connect.ProtocolGRPC {
		ce.Meta().Set("WWW-Authenticate", r.WWWAuthenticate)
	}
	return ce
}

// authenticator is the Guard's interceptor.
type authenticator struct{ g *Guard }

func (a authenticator) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		ctx, err := a.g.authenticate(ctx, req.Spec().Procedure, req.Peer().Protocol, req.Header())
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (a authenticator) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		ctx, err := a.g.authenticate(ctx, conn.Spec().Procedure, conn.Peer().Protocol, conn.RequestHeader())
		if err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

func (authenticator) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// check is a Guard's policy check.
type check struct {
	g *Guard
	p core.Policy
}

func (c check) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if req.Spec().IsClient {
			return next(ctx, req)
		}
		if err := c.g.authorize(ctx, req.Peer().Protocol, c.p); err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
}

func (c check) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return func(ctx context.Context, conn connect.StreamingHandlerConn) error {
		if err := c.g.authorize(ctx, conn.Peer().Protocol, c.p); err != nil {
			return err
		}
		return next(ctx, conn)
	}
}

func (check) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return next
}

// Interceptor is New(v, opts...).Interceptor().
func Interceptor(v *core.Verifier, opts ...Option) connect.Interceptor {
	return New(v, opts...).Interceptor()
}

// Gate is New(v, opts...).Gate().
func Gate(v *core.Verifier, opts ...Option) connect.RequestGateFunc { return New(v, opts...).Gate() }

// RequireScopes is New(v).RequireScopes(scopes...): its rejections get
// core's error.
func RequireScopes(v *core.Verifier, scopes ...string) connect.Interceptor {
	return New(v).RequireScopes(scopes...)
}

// RequireRoles is New(v).RequireRoles(claimPath, roles...): its rejections get
// core's error.
func RequireRoles(v *core.Verifier, claimPath string, roles ...string) connect.Interceptor {
	return New(v).RequireRoles(claimPath, roles...)
}

// RequirePolicy is New(v).RequirePolicy(p): its rejections get core's
// error.
func RequirePolicy(v *core.Verifier, p core.Policy) connect.Interceptor {
	return New(v).RequirePolicy(p)
}

// Claims returns the claims the interceptor verified for the call of ctx.
func Claims(ctx context.Context) (*core.Claims, bool) { return core.FromContext(ctx) }
