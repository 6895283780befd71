package grpcjwt_test

import (
	"context"
	"errors"
	"testing"

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
	return metadata.AppendToOutgoingContext(context.Background(), "authorization", "Bearer "+token)
}

// interceptors authenticate every call and require scopes of it.
func interceptors(v *core.Verifier, scopes []string, opts ...grpcjwt.Option) []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(v, opts...), grpcjwt.UnaryRequireScopes(v, scopes...)),
		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(v, opts...), grpcjwt.StreamRequireScopes(v, scopes...)),
	}
}

var admin = []string{"admin"}

// result sends r as one call of whoami and reports its status and answer.
// A URL query has no place in a call: such cases are skipped.
func result(conn *grpc.ClientConn, stream bool, r conformance.Request) (conformance.Result, error) {
	if len(r.Query) > 0 {
		return conformance.Result{}, errors.ErrUnsupported
	}
	subject, err := call(metadata.NewOutgoingContext(context.Background(), r.Metadata()), conn, stream)
	st := status.Convert(err)
	return conformance.Result{GRPCCode: int(st.Code()), GRPCMessage: st.Message(), Subject: subject}, nil
}

func TestErrorHandlerGetsEveryRejection(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var got []core.Reason
	onError := grpcjwt.WithErrorHandler(func(ctx context.Context, err *core.Error) error {
		got = append(got, err.Reason)
		return status.Error(codes.Aborted, "refused")
	})
	conn, stop := serve(interceptors(v, admin, onError)...)
	defer stop()
	for _, stream := range []bool{false, true} {
		for _, ctx := range []context.Context{context.Background(), withToken("x.y.z"), withToken(idp.Token("alice", "read"))} {
			if _, err := call(ctx, conn, stream); status.Code(err) != codes.Aborted {
				t.Errorf("stream=%v: %v, want the error handler's Aborted", stream, err)
			}
		}
	}
	want := []core.Reason{core.ReasonTokenMissing, core.ReasonTokenMalformed, core.ReasonInsufficientScope}
	if len(got) != 6 || [3]core.Reason(got[:3]) != [3]core.Reason(want) || [3]core.Reason(got[3:]) != [3]core.Reason(want) {
		t.Errorf("error handler saw %v, want %v twice", got, want)
	}
}

// An error handler that returns nil does not let the call through.
func TestErrorHandlerFailsClosed(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	conn, stop := serve(interceptors(v, admin, grpcjwt.WithErrorHandler(func(context.Context, *core.Error) error { return nil }))...)
	defer stop()
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, stream := range []bool{false, true} {
		_, err := call(context.Background(), conn, stream)
		if st := status.Convert(err); int(st.Code()) != want.GRPCCode || st.Message() != want.GRPCMessage {
			t.Errorf("stream=%v: %v, want %d %q", stream, err, want.GRPCCode, want.GRPCMessage)
		}
	}
}

// Exempt methods run without a token and without claims, past the
// RequireScopes interceptors too; the others still need both.
func TestExempt(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	for _, exempt := range []string{"grpc.health.v1.Health", "/grpc.health.v1.Health/Check"} {
		conn, stop := serve(interceptors(v, admin, grpcjwt.WithExempt(exempt))...)
		_, err := healthpb.NewHealthClient(conn).Check(context.Background(), &healthpb.HealthCheckRequest{})
		if err != nil {
			t.Errorf("WithExempt(%q): health check failed: %v", exempt, err)
		}
		if _, err := call(context.Background(), conn, false); status.Code(err) != codes.Unauthenticated {
			t.Errorf("WithExempt(%q): whoami %v, want Unauthenticated", exempt, err)
		}
		stop()
	}
}

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	conn, stop := serve(interceptors(v, admin)...)
	defer stop()
	for _, stream := range []bool{false, true} {
		if sub, err := call(withToken(idp.Token("carol", "admin")), conn, stream); err != nil || sub != "carol" {
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
			if _, err := call(ctx, conn, false); err != nil {
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
	info := &grpc.UnaryServerInfo{FullMethod: unaryMethod}
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
