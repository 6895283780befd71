package grpcjwt_test

import (
	"context"
	"fmt"
	"log"
	"net"

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
	// A test identity provider: its JWKS is served by httptest and its
	// clock is fixed.
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
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
		ctx := context.Background()
		if token != "" {
			ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token)
		}
		for _, kind := range []string{"unary", "stream"} {
			subject, err := call(ctx, conn, kind == "stream")
			if err != nil {
				st := status.Convert(err)
				fmt.Printf("%-6s %s: %s\n", kind, st.Code(), st.Message())
				continue
			}
			fmt.Printf("%-6s OK: hello %s\n", kind, subject)
		}
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

// whoami is the protected service of these tests, written out by hand so
// that no generated code is needed: its unary method and its server stream
// answer the subject of the claims in their context, and fail with Internal
// when there are none (as conformance.Endpoint answers 500).
var whoami = grpc.ServiceDesc{
	ServiceName: "jwtguard.test.Whoami",
	HandlerType: (*any)(nil),
	Methods: []grpc.MethodDesc{{MethodName: "Unary", Handler: func(srv any, ctx context.Context, dec func(any) error, intercept grpc.UnaryServerInterceptor) (any, error) {
		req := new(emptypb.Empty)
		if err := dec(req); err != nil {
			return nil, err
		}
		handler := func(ctx context.Context, _ any) (any, error) { return subjectOf(ctx) }
		if intercept == nil {
			return handler(ctx, req)
		}
		return intercept(ctx, req, &grpc.UnaryServerInfo{Server: srv, FullMethod: unaryMethod}, handler)
	}}},
	Streams: []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, Handler: func(_ any, ss grpc.ServerStream) error {
		if err := ss.RecvMsg(new(emptypb.Empty)); err != nil {
			return err
		}
		out, err := subjectOf(ss.Context())
		if err != nil {
			return err
		}
		return ss.SendMsg(out)
	}}},
}

const (
	unaryMethod  = "/jwtguard.test.Whoami/Unary"
	streamMethod = "/jwtguard.test.Whoami/Stream"
)

func subjectOf(ctx context.Context) (*wrapperspb.StringValue, error) {
	claims, ok := core.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no claims in the call context")
	}
	return wrapperspb.String(claims.Subject()), nil
}

// serve starts a server with whoami and the health service over bufconn
// and returns a client connection to it, and how to stop both.
func serve(opts ...grpc.ServerOption) (*grpc.ClientConn, func()) {
	ln := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(opts...)
	srv.RegisterService(&whoami, nil)
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

// call calls whoami's unary method, or its stream, and returns the subject
// it answered.
func call(ctx context.Context, conn *grpc.ClientConn, stream bool) (string, error) {
	out := new(wrapperspb.StringValue)
	if !stream {
		err := conn.Invoke(ctx, unaryMethod, &emptypb.Empty{}, out)
		return out.GetValue(), err
	}
	s, err := conn.NewStream(ctx, &whoami.Streams[0], streamMethod)
	if err != nil {
		return "", err
	}
	// A send error means the stream ended; RecvMsg reports its status.
	_ = s.SendMsg(&emptypb.Empty{})
	_ = s.CloseSend()
	err = s.RecvMsg(out)
	return out.GetValue(), err
}
