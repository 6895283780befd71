package grpcjwt_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/grpcjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func withToken(token string) context.Context {
	if token == "" {
		return context.Background()
	}
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

// interceptors authenticate every call with g and require scopes of it.
func interceptors(g *grpcjwt.Guard, scopes []string) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor(), g.UnaryRequireScopes(scopes...)),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor(), g.StreamRequireScopes(scopes...)),
	}
}

// chain is a pair of interceptor chains, one for unary calls and one for
// streams, as the tables build them.
type chain struct {
	unary  []grpc.UnaryServerInterceptor
	stream []grpc.StreamServerInterceptor
}

func (c chain) options() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(c.unary...), grpc.ChainStreamInterceptor(c.stream...)}
}

// Chains of a Guard's parts, in order.
func authenticated(g *grpcjwt.Guard) chain {
	return chain{[]grpc.UnaryServerInterceptor{g.UnaryServerInterceptor()}, []grpc.StreamServerInterceptor{g.StreamServerInterceptor()}}
}

func (c chain) scopes(g *grpcjwt.Guard, scopes ...string) chain {
	return chain{append(slices.Clone(c.unary), g.UnaryRequireScopes(scopes...)), append(slices.Clone(c.stream), g.StreamRequireScopes(scopes...))}
}

func (c chain) roles(g *grpcjwt.Guard, path string, roles ...string) chain {
	return chain{append(slices.Clone(c.unary), g.UnaryRequireRoles(path, roles...)), append(slices.Clone(c.stream), g.StreamRequireRoles(path, roles...))}
}

func (c chain) policy(g *grpcjwt.Guard, p core.Policy) chain {
	return chain{append(slices.Clone(c.unary), g.UnaryRequirePolicy(p)), append(slices.Clone(c.stream), g.StreamRequirePolicy(p))}
}

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// aborted is an error handler that fails the call with Aborted and records
// each reason; calls run one at a time, but on the server's goroutines.
type aborted struct {
	mu      sync.Mutex
	reasons []core.Reason
}

func (a *aborted) handle(_ context.Context, err *core.Error) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reasons = append(a.reasons, err.Reason)
	return status.Error(codes.Aborted, "refused")
}

// result sends r as one call of whoami, or of skipped for a request to
// conformance.SkipPath, and reports its status and answer. A URL query has
// no place in a call: such cases are skipped.
func result(conn *grpc.ClientConn, stream, optional bool, r conformance.Request) (conformance.Result, error) {
	if len(r.Query) > 0 {
		return conformance.Result{}, errors.ErrUnsupported
	}
	service := &whoami
	switch {
	case r.Path == conformance.SkipPath:
		service = &skipped
	case optional:
		service = &open
	}
	subject, err := call(metadata.NewOutgoingContext(context.Background(), r.Metadata()), conn, service, stream)
	st := status.Convert(err)
	return conformance.Result{GRPCCode: int(st.Code()), GRPCMessage: st.Message(), Subject: subject}, nil
}

// Every rejection of a Guard, by its interceptors or by its checks, in
// front of them or alone, goes to the Guard's error handler, for unary
// calls and streams alike.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain func(g *grpcjwt.Guard) chain
		token string
		want  core.Reason
	}{
		{"interceptor, no token", authenticated, "", core.ReasonTokenMissing},
		{"interceptor, malformed token", authenticated, "x.y.z", core.ReasonTokenMalformed},
		{"RequireScopes behind the interceptor", func(g *grpcjwt.Guard) chain { return authenticated(g).scopes(g, "admin") }, reader, core.ReasonInsufficientScope},
		{"RequirePolicy behind the interceptor", func(g *grpcjwt.Guard) chain { return authenticated(g).policy(g, refuse) }, reader, core.ReasonInsufficientScope},
		{"RequireScopes without the interceptor", func(g *grpcjwt.Guard) chain { return chain{}.scopes(g) }, reader, core.ReasonTokenMissing},
		{"RequirePolicy without the interceptor", func(g *grpcjwt.Guard) chain { return chain{}.policy(g, allow) }, reader, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError aborted
			conn, stop := serve(tc.chain(grpcjwt.New(v, grpcjwt.WithErrorHandler(onError.handle))).options()...)
			defer stop()
			for _, stream := range []bool{false, true} {
				if _, err := call(withToken(tc.token), conn, &whoami, stream); status.Code(err) != codes.Aborted {
					t.Errorf("stream=%v: %v, want the error handler's Aborted", stream, err)
				}
			}
			if want := []core.Reason{tc.want, tc.want}; !slices.Equal(onError.reasons, want) {
				t.Errorf("error handler saw %v, want %v", onError.reasons, want)
			}
		})
	}
}

// An error handler that returns nil does not let the call through.
func TestErrorHandlerFailsClosed(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	g := grpcjwt.New(v, grpcjwt.WithErrorHandler(func(context.Context, *core.Error) error { return nil }))
	conn, stop := serve(interceptors(g, []string{"admin"})...)
	defer stop()
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, stream := range []bool{false, true} {
		_, err := call(context.Background(), conn, &whoami, stream)
		if st := status.Convert(err); int(st.Code()) != want.GRPCCode || st.Message() != want.GRPCMessage {
			t.Errorf("stream=%v: %v, want %d %q", stream, err, want.GRPCCode, want.GRPCMessage)
		}
	}
}

// A check answers with its own Guard's options, whatever interceptor runs
// in front of it: nothing but the claims travels in the call context.
func TestChecksReadNoOptionsFromTheContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var onError aborted
	custom := grpcjwt.New(v, grpcjwt.WithErrorHandler(onError.handle))
	plain := grpcjwt.New(v)
	for _, tc := range []struct {
		name  string
		chain chain
		want  codes.Code
	}{
		{"default scope check behind an interceptor with an error handler",
			authenticated(custom).scopes(plain, "admin"), codes.PermissionDenied},
		{"package-level scope check behind an interceptor with an error handler", chain{
			[]grpc.UnaryServerInterceptor{grpcjwt.UnaryServerInterceptor(v, grpcjwt.WithErrorHandler(onError.handle)), grpcjwt.UnaryRequireScopes(v, "admin")},
			[]grpc.StreamServerInterceptor{grpcjwt.StreamServerInterceptor(v, grpcjwt.WithErrorHandler(onError.handle)), grpcjwt.StreamRequireScopes(v, "admin")},
		}, codes.PermissionDenied},
		{"package-level policy check behind an interceptor with an error handler", chain{
			[]grpc.UnaryServerInterceptor{custom.UnaryServerInterceptor(), grpcjwt.UnaryRequirePolicy(v, refuse)},
			[]grpc.StreamServerInterceptor{custom.StreamServerInterceptor(), grpcjwt.StreamRequirePolicy(v, refuse)},
		}, codes.PermissionDenied},
		{"scope check with an error handler behind a default interceptor",
			authenticated(plain).scopes(custom, "admin"), codes.Aborted},
		{"policy check with an error handler behind a default interceptor",
			authenticated(plain).policy(custom, refuse), codes.Aborted},
	} {
		conn, stop := serve(tc.chain.options()...)
		for _, stream := range []bool{false, true} {
			if _, err := call(withToken(idp.Token("alice", "read")), conn, &whoami, stream); status.Code(err) != tc.want {
				t.Errorf("%s, stream=%v: %v, want %v", tc.name, stream, err, tc.want)
			}
		}
		stop()
	}
}

// The package keeps nothing of its own in a call context: no
// context.WithValue, no key type. Claims go through core.NewContext.
func TestNoContextKeyOfItsOwn(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Name == "WithValue" {
					t.Errorf("%s: context.WithValue, a context value of the package's own", name)
				}
			case *ast.TypeSpec:
				if strings.HasSuffix(strings.ToLower(n.Name.Name), "key") {
					t.Errorf("%s: type %s, a context key of the package's own", name, n.Name.Name)
				}
			}
			return true
		})
	}
}

// A call an exemption lets through carries no claims, whatever token it has
// and whatever was in its context, and a check behind refuses it as lacking
// credentials, as a skipped HTTP request is; the others are authenticated
// as ever. An exemption names a service or a full method.
func TestExempt(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the call context before the Guard runs.
	claimsInFront := chain{
		[]grpc.UnaryServerInterceptor{func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			return next(core.NewContext(ctx, verified), req)
		}},
		[]grpc.StreamServerInterceptor{func(srv any, ss grpc.ServerStream, _ *grpc.StreamServerInfo, next grpc.StreamHandler) error {
			return next(srv, &contextStream{ss, core.NewContext(ss.Context(), verified)})
		}},
	}
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, exempt := range []string{skipped.ServiceName, "/" + skipped.ServiceName + "/Unary"} {
		g := grpcjwt.New(v, grpcjwt.WithExempt(exempt))
		for _, tc := range []struct {
			name    string
			chain   chain
			service *grpc.ServiceDesc
			token   string
			code    codes.Code
			subject string
		}{
			{"exempt without a token", authenticated(g), &skipped, "", codes.OK, ""},
			{"exempt with a valid token", authenticated(g), &skipped, admin, codes.OK, ""},
			{"exempt with claims in the context", chain{append(claimsInFront.unary, g.UnaryServerInterceptor()), append(claimsInFront.stream, g.StreamServerInterceptor())}, &skipped, admin, codes.OK, ""},
			{"exempt, behind RequireScopes", authenticated(g).scopes(g, "admin"), &skipped, admin, codes.Code(missing.GRPCCode), ""},
			{"exempt, behind RequirePolicy", authenticated(g).policy(g, allow), &skipped, admin, codes.Code(missing.GRPCCode), ""},
			{"not exempt, without a token", authenticated(g), &whoami, "", codes.Code(missing.GRPCCode), ""},
			{"not exempt, behind RequireScopes", authenticated(g).scopes(g, "admin"), &whoami, admin, codes.OK, "alice"},
		} {
			conn, stop := serve(tc.chain.options()...)
			// A full method exempts the unary call only.
			streams := []bool{false, true}
			if strings.HasPrefix(exempt, "/") {
				streams = streams[:1]
			}
			for _, stream := range streams {
				subject, err := call(withToken(tc.token), conn, tc.service, stream)
				if st := status.Convert(err); st.Code() != tc.code || subject != tc.subject || (st.Code() != codes.OK && st.Message() != missing.GRPCMessage) {
					t.Errorf("WithExempt(%q), %s, stream=%v: %v %q, want %v %q", exempt, tc.name, stream, err, subject, tc.code, tc.subject)
				}
			}
			stop()
		}
	}
	// The health service, exempt, answers without a token.
	conn, stop := serve(authenticated(grpcjwt.New(v, grpcjwt.WithExempt(healthpb.Health_ServiceDesc.ServiceName))).options()...)
	defer stop()
	if _, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{}); err != nil {
		t.Errorf("exempt health check: %v", err)
	}
}

type contextStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (s *contextStream) Context() context.Context { return s.ctx }

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	conn, stop := serve(interceptors(grpcjwt.New(v), []string{"admin"})...)
	defer stop()
	for _, stream := range []bool{false, true} {
		if sub, err := call(withToken(idp.Token("carol", "admin")), conn, &whoami, stream); err != nil || sub != "carol" {
			t.Errorf("stream=%v: %q %v, want carol", stream, sub, err)
		}
	}
}

// AuthFunc is what go-grpc-middleware's auth interceptors call: the context
// it returns carries the claims, its error is the call's status.
func TestAuthFunc(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var authFunc func(context.Context) (context.Context, error) = grpcjwt.AuthFunc(v)
	incoming := func(md metadata.MD) context.Context { return metadata.NewIncomingContext(context.Background(), md) }
	ctx, err := authFunc(incoming(metadata.Pairs("authorization", "Bearer "+idp.Token("dave"))))
	if claims, ok := grpcjwt.Claims(ctx); err != nil || !ok || claims.Subject() != "dave" {
		t.Errorf("valid token: %v, claims %v", err, ok)
	}
	token := "Bearer " + idp.Token("dave")
	_, err = authFunc(incoming(metadata.Pairs("authorization", token, "authorization", token)))
	want := v.Response(&core.Error{Reason: core.ReasonRequestInvalid})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || st.Message() != want.GRPCMessage {
		t.Errorf("two authorization values: %v, want InvalidArgument %q", err, want.GRPCMessage)
	}
	if _, err := authFunc(context.Background()); status.Code(err) != codes.Unauthenticated {
		t.Errorf("no metadata: %v, want Unauthenticated", err)
	}
}

// A Guard's AuthFunc uses its options: the error handler, and the
// exemptions, by the method of the call (grpc.Method).
func TestGuardAuthFunc(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	var onError aborted
	authFunc := grpcjwt.New(v, grpcjwt.WithErrorHandler(onError.handle), grpcjwt.WithExempt(skipped.ServiceName)).AuthFunc()
	// An interceptor calling authFunc, as go-grpc-middleware's auth does.
	auth := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		ctx, err := authFunc(ctx)
		if err != nil {
			return nil, err
		}
		return next(ctx, req)
	}
	conn, stop := serve(grpc.UnaryInterceptor(auth))
	defer stop()
	if subject, err := call(context.Background(), conn, &skipped, false); err != nil || subject != "" {
		t.Errorf("exempt call: %q %v, want OK without claims", subject, err)
	}
	if _, err := call(context.Background(), conn, &whoami, false); status.Code(err) != codes.Aborted {
		t.Errorf("call without a token: %v, want the error handler's Aborted", err)
	}
}

// The cost the interceptor adds is with minus without minus verify; the
// calls cross bufconn, a real HTTP/2 transport.
func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token := idp.Token("alice", "admin")
	run := func(b *testing.B, opts ...grpc.ServerOption) {
		conn, stop := serve(opts...)
		defer stop()
		ctx := withToken(token)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(ctx, conn, &whoami, false); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("with", func(b *testing.B) { run(b, grpc.UnaryInterceptor(grpcjwt.UnaryServerInterceptor(v))) })
	// whoami needs claims: without the interceptor, the same claims are
	// put in the context as they are.
	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		b.Fatal(err)
	}
	given := func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		return h(core.NewContext(ctx, claims), req)
	}
	b.Run("without", func(b *testing.B) { run(b, grpc.UnaryInterceptor(given)) })
	b.Run("verify", func(b *testing.B) {
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := v.Verify(ctx, token); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkInterceptor measures the interceptor alone, without the
// transport's noise: a call context as grpc-go builds it, and an empty
// handler.
func BenchmarkInterceptor(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer "+idp.Token("alice", "admin")))
	info := &grpc.UnaryServerInfo{FullMethod: "/" + whoami.ServiceName + "/Unary"}
	handler := func(ctx context.Context, req any) (any, error) { return req, nil }
	run := func(b *testing.B, h grpc.UnaryHandler) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h(ctx, nil); err != nil {
				b.Fatal(err)
			}
		}
	}
	interceptor := grpcjwt.UnaryServerInterceptor(v)
	b.Run("with", func(b *testing.B) {
		run(b, func(ctx context.Context, req any) (any, error) { return interceptor(ctx, req, info, handler) })
	})
	b.Run("without", func(b *testing.B) { run(b, handler) })
}

// RequireRoles, on a Guard and on its own, grants a call whose claims hold
// the roles and refuses others with PermissionDenied, for unary calls and
// streams alike; without an interceptor in front, a call has no claims.
func TestRequireRoles(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := grpcjwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	packageLevel := chain{
		[]grpc.UnaryServerInterceptor{grpcjwt.UnaryServerInterceptor(v), grpcjwt.UnaryRequireRoles(v, "roles", "Orders.Admin")},
		[]grpc.StreamServerInterceptor{grpcjwt.StreamServerInterceptor(v), grpcjwt.StreamRequireRoles(v, "roles", "Orders.Admin")},
	}
	alone := chain{
		[]grpc.UnaryServerInterceptor{grpcjwt.UnaryRequireRoles(v, "roles", "Orders.Admin")},
		[]grpc.StreamServerInterceptor{grpcjwt.StreamRequireRoles(v, "roles", "Orders.Admin")},
	}
	for _, tc := range []struct {
		name  string
		chain chain
		token string
		want  codes.Code
	}{
		{"Guard, role held", authenticated(g).roles(g, "roles", "Orders.Admin"), entra("Orders.Read", "Orders.Admin"), codes.OK},
		{"Guard, role missing", authenticated(g).roles(g, "roles", "Orders.Admin"), entra("Orders.Read"), codes.PermissionDenied},
		{"Guard, roles not strings", authenticated(g).roles(g, "roles", "Orders.Admin"), entra("Orders.Admin", 1), codes.PermissionDenied},
		{"package-level, role held", packageLevel, entra("Orders.Admin"), codes.OK},
		{"package-level, role missing", packageLevel, entra(), codes.PermissionDenied},
		{"no interceptor in front", alone, entra("Orders.Admin"), codes.Unauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, stop := serve(tc.chain.options()...)
			defer stop()
			ctx := metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+tc.token)
			for _, stream := range []bool{false, true} {
				subject, err := call(ctx, conn, &whoami, stream)
				if got := status.Code(err); got != tc.want || (got == codes.OK && subject != "alice") {
					t.Errorf("stream %v: %v %q, want %v", stream, err, subject, tc.want)
				}
			}
		})
	}
}

// WithOptional lets a call without credentials through without claims;
// any token is judged as without the option, and a check behind still
// refuses an anonymous call.
func TestOptional(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := grpcjwt.New(v, grpcjwt.WithOptional())
	for _, tc := range []struct {
		name    string
		chain   chain
		token   string
		want    codes.Code
		subject string
	}{
		{"no token", authenticated(g), "", codes.OK, ""},
		{"valid token", authenticated(g), idp.Token("alice"), codes.OK, "alice"},
		{"expired token", authenticated(g), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), codes.Unauthenticated, ""},
		{"malformed token", authenticated(g), "not-a-jwt", codes.Unauthenticated, ""},
		{"no token, behind RequireScopes", authenticated(g).scopes(g, "read"), "", codes.Unauthenticated, ""},
		{"without the option, no token", authenticated(grpcjwt.New(v)), "", codes.Unauthenticated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, stop := serve(tc.chain.options()...)
			defer stop()
			ctx := context.Background()
			if tc.token != "" {
				ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+tc.token)
			}
			for _, stream := range []bool{false, true} {
				subject, err := call(ctx, conn, &open, stream)
				if got := status.Code(err); got != tc.want || subject != tc.subject {
					t.Errorf("stream %v: %v %q, want %v %q", stream, err, subject, tc.want, tc.subject)
				}
			}
		})
	}
}
