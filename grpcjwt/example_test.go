package grpcjwt_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/grpcjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func Example() {
	// The test kit stands in for the identity provider. The rest is what a
	// service does: parse its baseline file and build one verifier.
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	cfg, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: ` + idp.Issuer() + `
    jwks_url: ` + idp.JWKSURL() + `
audiences: [` + idp.Audience() + `]
algorithms: [RS256]
token_types: [at+jwt]
`))
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	conn, stop := serve(
		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(v), grpcjwt.UnaryRequireScopes(v, "admin")),
		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(v), grpcjwt.StreamRequireScopes(v, "admin")),
	)
	defer stop()

	reader, admin := idp.Token("alice", "read"), idp.Token("bob", "read", "admin")
	for _, token := range []string{"", "not-a-jwt", reader, admin} {
		show(conn, token)
	}
	// Output:
	// unary  Unauthenticated: authentication required
	// stream Unauthenticated: authentication required
	// unary  Unauthenticated: the access token is invalid
	// stream Unauthenticated: the access token is invalid
	// unary  PermissionDenied: the access token lacks the required scope
	// stream PermissionDenied: the access token lacks the required scope
	// unary  OK: hello bob
	// stream OK: hello bob
}

// A Guard carries the options its interceptors and its checks share: here
// an error handler that words the status message its own way, used alike
// by the interceptors and the policy checks.
func Example_guard() {
	// The test kit stands in for the identity provider. The rest is what a
	// service does: parse its baseline file and build one verifier.
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	cfg, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: ` + idp.Issuer() + `
    jwks_url: ` + idp.JWKSURL() + `
audiences: [` + idp.Audience() + `]
algorithms: [RS256]
token_types: [at+jwt]
`))
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// refused keeps core's code; its message stays as generic as core's.
	refused := func(_ context.Context, err *core.Error) error {
		resp := v.Response(err)
		return status.Error(codes.Code(resp.GRPCCode), "orders-api: "+resp.GRPCMessage)
	}
	// A policy is any check of verified claims; a plain error refuses
	// with PermissionDenied.
	readOrAdmin := func(_ context.Context, c *core.Claims) error {
		if c.HasScope("read") || c.HasScope("admin") {
			return nil
		}
		return errors.New("neither read nor admin")
	}
	g := grpcjwt.New(v, grpcjwt.WithErrorHandler(refused))
	conn, stop := serve(
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor(), g.UnaryRequirePolicy(readOrAdmin)),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor(), g.StreamRequirePolicy(readOrAdmin)),
	)
	defer stop()

	reader, writer := idp.Token("alice", "read"), idp.Token("carol", "write")
	for _, token := range []string{"", reader, writer} {
		show(conn, token)
	}
	// Output:
	// unary  Unauthenticated: orders-api: authentication required
	// stream Unauthenticated: orders-api: authentication required
	// unary  OK: hello alice
	// stream OK: hello alice
	// unary  PermissionDenied: orders-api: the access token lacks the required scope
	// stream PermissionDenied: orders-api: the access token lacks the required scope
}

// show calls whoami's unary method and its stream with token and prints
// what came back.
func show(conn *grpc.ClientConn, token string) { showOn(conn, &whoami, token) }

// showOn is show for any service; an answer without a subject greets a
// guest.
func showOn(conn *grpc.ClientConn, service *grpc.ServiceDesc, token string) {
	ctx := context.Background()
	if token != "" {
		ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
	}
	for _, kind := range []string{"unary", "stream"} {
		subject, err := call(ctx, conn, service, kind == "stream")
		if err != nil {
			st := status.Convert(err)
			fmt.Printf("%-6s %s: %s\n", kind, st.Code(), st.Message())
			continue
		}
		fmt.Printf("%-6s OK: hello %s\n", kind, cmp.Or(subject, "guest"))
	}
}

// UnaryRequireRoles and StreamRequireRoles read the roles where the IdP
// puts them: here Keycloak's realm roles.
func ExampleGuard_UnaryRequireRoles() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	v, err := core.New(idp.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	g := grpcjwt.New(v)
	conn, stop := serve(
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor(), g.UnaryRequireRoles("realm_access.roles", "auditor")),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor(), g.StreamRequireRoles("realm_access.roles", "auditor")),
	)
	defer stop()

	for _, role := range []string{"auditor", "viewer"} {
		show(conn, idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{role}}).Sign())
	}
	// Output:
	// unary  OK: hello alice
	// stream OK: hello alice
	// unary  PermissionDenied: the access token lacks the required scope
	// stream PermissionDenied: the access token lacks the required scope
}

// WithOptional serves every caller, and more to one whose token verifies;
// a token that does not verify is refused, never taken as no token.
func ExampleWithOptional() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	v, err := core.New(idp.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	g := grpcjwt.New(v, grpcjwt.WithOptional())
	conn, stop := serve(grpc.UnaryInterceptor(g.UnaryServerInterceptor()), grpc.StreamInterceptor(g.StreamServerInterceptor()))
	defer stop()

	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		showOn(conn, &open, token)
	}
	// Output:
	// unary  OK: hello guest
	// stream OK: hello guest
	// unary  OK: hello alice
	// stream OK: hello alice
	// unary  Unauthenticated: the access token is invalid
	// stream Unauthenticated: the access token is invalid
}

// whoami is the protected service of these tests, written out by hand so
// that no generated code is needed: its unary method and its server stream
// answer the subject of the claims in their context, and fail with Internal
// when there are none (as conformance.Endpoint answers 500). skipped is the
// same service under another name for the tests to exempt: without claims
// it answers an empty subject, as conformance.Endpoint does at
// conformance.SkipPath. open is that service again, for calls behind
// optional authentication, where a call without claims is expected.
var (
	whoami  = service("jwtguard.test.Whoami", true)
	skipped = service("jwtguard.test.Skipped", false)
	open    = service("jwtguard.test.Open", false)
)

func service(name string, claimsRequired bool) grpc.ServiceDesc {
	answer := func(ctx context.Context) (*wrapperspb.StringValue, error) {
		claims, ok := core.FromContext(ctx)
		switch {
		case ok:
			return wrapperspb.String(claims.Subject()), nil
		case claimsRequired:
			return nil, status.Error(codes.Internal, "no claims in the call context")
		}
		return wrapperspb.String(""), nil
	}
	return grpc.ServiceDesc{
		ServiceName: name,
		HandlerType: (*any)(nil),
		Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
			req := new(emptypb.Empty)
			if err := dec(req); err != nil {
				return nil, err
			}
			handler := func(ctx context.Context, _ any) (any, error) { return answer(ctx) }
			if intercept == nil {
				return handler(ctx, req)
			}
			return intercept(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: "/" + name + "/Unary"}, handler)
		}}},
		Streams: []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
			if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
				return err
			}
			out, err := answer(ss.Context())
			if err != nil {
				return err
			}
			return ss.SendMsg(out)
		}}},
	}
}

// serve starts a server with whoami, skipped and the health service over
// bufconn and returns a client connection to it, and how to stop both.
func serve(opts ...grpc.ServerOption) (*grpc.ClientConn, func()) {
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&whoami, nil)
	srv.RegisterService(&skipped, nil)
	srv.RegisterService(&open, nil)
	healthpb.RegisterHealthServer(srv, health.NewServer())
	go srv.Serve(ln)
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		panic(err) // only a malformed target or option fails here
	}
	return conn, func() { conn.Close(); srv.Stop() }
}

// call calls the unary method of service, or its stream, and returns the
// subject it answered.
func call(ctx context.Context, conn *grpc.ClientConn, service *grpc.ServiceDesc, stream bool) (string, error) {
	out := new(wrapperspb.StringValue)
	if !stream {
		err := conn.Invoke(ctx, "/"+service.ServiceName+"/Unary", &emptypb.Empty{}, out)
		return out.GetValue(), err
	}
	s, err := conn.NewStream(ctx, &service.Streams[0], "/"+service.ServiceName+"/Stream")
	if err != nil {
		return "", err
	}
	// A send error means the stream ended; RecvMsg reports its status.
	_ = s.SendMsg(&emptypb.Empty{})
	_ = s.CloseSend()
	err = s.RecvMsg(out)
	return out.GetValue(), err
}
