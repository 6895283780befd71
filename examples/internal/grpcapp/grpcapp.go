// Package grpcapp is the example service on gRPC, behind grpcjwt: the
// demo.Demo service, whose messages are the well-known Empty and Struct
// types so that no generated code is needed, and the standard health
// service, which needs no token. [Handler] serves it beside /metrics and
// the HTTP probes on one address.
package grpcapp

import (
	"context"
	"net"
	"net/http"
	"strings"

	"google.golang.org/grpc"
	grpchealth "google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/grpcjwt"
	"github.com/jwtguard/jwtguard/health"
)

// The methods of demo.Demo. Each takes google.protobuf.Empty and answers
// google.protobuf.Struct.
const (
	WhoamiMethod       = "/demo.Demo/Whoami"       // unary: the verified claims
	WhoamiStreamMethod = "/demo.Demo/WhoamiStream" // server-streaming: the verified claims
	AdminMethod        = "/demo.Demo/Admin"        // unary: needs the admin scope
)

// New returns a server with demo.Demo and the health service registered.
func New(v *core.Verifier, opts ...grpc.ServerOption) *grpc.Server {
	g := grpcjwt.New(v, grpcjwt.WithExempt(healthpb.Health_ServiceDesc.ServiceName))
	opts = append(opts,
		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor(),
			forMethod(AdminMethod, g.UnaryRequireScopes("admin"))),
		grpc.ChainStreamInterceptor(g.StreamServerInterceptor()))
	s := grpc.NewServer(opts...)
	s.RegisterService(&demoServiceDesc, demo{})
	healthpb.RegisterHealthServer(s, readiness{grpchealth.NewServer(), v})
	return s
}

// Handler serves s's calls and, beside them, GET /healthz, /readyz and
// /metrics, so that one address serves both as the HTTP examples do: a
// gRPC call is an HTTP/2 request of content type application/grpc, and
// anything else is an HTTP route. The server must speak unencrypted HTTP/2
// (service.ServeHTTP does). grpc-go's ServeHTTP lacks some of its own
// transport's tuning, none of which the example uses.
func Handler(s *grpc.Server, v *core.Verifier, metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.Liveness())
	mux.Handle("GET /readyz", health.Readiness(v))
	mux.Handle("GET /metrics", metrics)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 && strings.HasPrefix(r.Header.Get("Content-Type"), "application/grpc") {
			s.ServeHTTP(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// forMethod applies i to the calls of one method only, so that one scope
// guards one method while the rest of the service needs only a token. A
// check in front of every call would also refuse the exempt health calls,
// which carry no claims.
func forMethod(method string, i grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
		if info.FullMethod != method {
			return next(ctx, req)
		}
		return i(ctx, req, info, next)
	}
}

// readiness keeps the server's own health ("") as liveness, SERVING while
// the process runs, and answers for the service demo.Demo with readiness:
// NOT_SERVING while the verifier holds no key set, since every call would
// then fail with Unavailable. Watch streams the standard server's status.
type readiness struct {
	*grpchealth.Server
	v *core.Verifier
}

func (r readiness) Check(ctx context.Context, in *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	if in.GetService() != demoServiceDesc.ServiceName {
		return r.Server.Check(ctx, in)
	}
	status := healthpb.HealthCheckResponse_SERVING
	if !r.v.Ready() {
		status = healthpb.HealthCheckResponse_NOT_SERVING
	}
	return &healthpb.HealthCheckResponse{Status: status}, nil
}

// demoServer is the handler type of demo.Demo, as protoc would generate it.
type demoServer interface {
	Whoami(context.Context, *emptypb.Empty) (*structpb.Struct, error)
	WhoamiStream(*emptypb.Empty, grpc.ServerStream) error
	Admin(context.Context, *emptypb.Empty) (*structpb.Struct, error)
}

type demo struct{}

func (demo) Whoami(ctx context.Context, _ *emptypb.Empty) (*structpb.Struct, error) {
	claims, _ := grpcjwt.Claims(ctx)
	return structpb.NewStruct(claims.Raw())
}

func (demo) WhoamiStream(_ *emptypb.Empty, stream grpc.ServerStream) error {
	claims, _ := grpcjwt.Claims(stream.Context())
	s, err := structpb.NewStruct(claims.Raw())
	if err != nil {
		return err
	}
	return stream.SendMsg(s)
}

func (demo) Admin(ctx context.Context, _ *emptypb.Empty) (*structpb.Struct, error) {
	claims, _ := grpcjwt.Claims(ctx)
	return structpb.NewStruct(map[string]any{"admin": true, "sub": claims.Subject()})
}

// demoServiceDesc is what protoc would generate for
//
//	service Demo {
//	  rpc Whoami(google.protobuf.Empty) returns (google.protobuf.Struct);
//	  rpc WhoamiStream(google.protobuf.Empty) returns (stream google.protobuf.Struct);
//	  rpc Admin(google.protobuf.Empty) returns (google.protobuf.Struct);
//	}
var demoServiceDesc = grpc.ServiceDesc{
	ServiceName: "demo.Demo",
	HandlerType: (*demoServer)(nil),
	Methods: []grpc.MethodDesc{
		{MethodName: "Whoami", Handler: unary(WhoamiMethod, demoServer.Whoami)},
		{MethodName: "Admin", Handler: unary(AdminMethod, demoServer.Admin)},
	},
	Streams: []grpc.StreamDesc{{
		StreamName:    "WhoamiStream",
		ServerStreams: true,
		Handler: func(srv any, stream grpc.ServerStream) error {
			in := new(emptypb.Empty)
			if err := stream.RecvMsg(in); err != nil {
				return err
			}
			return srv.(demoServer).WhoamiStream(in, stream)
		},
	}},
}

// unary is the method handler protoc generates: decode the request, then
// call the method through the server's interceptors.
func unary(fullMethod string, method func(demoServer, context.Context, *emptypb.Empty) (*structpb.Struct, error)) grpc.MethodHandler {
	return func(srv any, ctx context.Context, dec func(any) error, interceptor grpc.UnaryServerInterceptor) (any, error) {
		in := new(emptypb.Empty)
		if err := dec(in); err != nil {
			return nil, err
		}
		call := func(ctx context.Context, req any) (any, error) {
			return method(srv.(demoServer), ctx, req.(*emptypb.Empty))
		}
		if interceptor == nil {
			return call(ctx, in)
		}
		return interceptor(ctx, in, &grpc.UnaryServerInfo{Server: srv, FullMethod: fullMethod}, call)
	}
}

// Serve serves the example on ln until ctx is done, with the verifier's
// metrics at /metrics: the example's main, as service.Main runs it, and
// what the conformance run drives.
func Serve(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
	s := New(v)
	// Shutdown lets calls in flight finish; Stop then ends the streams
	// that outlived its deadline.
	defer s.Stop()
	return service.ServeHTTP(ctx, ln, Handler(s, v, metrics))
}
