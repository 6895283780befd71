package parity_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	"github.com/labstack/echo/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/grpcjwt"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// TestParity runs the whole matrix through every adapter, all at once, and
// compares their verdict tables case by case: outcome, reason, status and
// the subject the protected endpoint saw. A case a transport cannot carry
// (a URL query over gRPC) is left out of the comparison.
func TestParity(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	harnesses := []conformance.Harness{
		conformance.HTTPHarness("net/http", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
			return nethttpjwt.Middleware(v)(nethttpjwt.RequireScopes(v, scopes...)(protected))
		}),
		conformance.HTTPHarness("gin", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
			r := gin.New()
			r.GET(conformance.Path, ginjwt.Middleware(v), ginjwt.RequireScopes(v, scopes...), gin.WrapH(protected))
			return r
		}),
		conformance.HTTPHarness("echo", func(v *core.Verifier, scopes []string, protected http.Handler) http.Handler {
			e := echo.New()
			e.GET(conformance.Path, echo.WrapHandler(protected), echojwt.Middleware(v), echojwt.RequireScopes(v, scopes...))
			return e
		}),
		fiberHarness(),
		grpcHarness("grpc-unary", false),
		grpcHarness("grpc-stream", true),
	}
	tables := make([]conformance.Table, len(harnesses))
	t.Run("matrix", func(t *testing.T) {
		for i, h := range harnesses {
			t.Run(h.Name, func(t *testing.T) {
				t.Parallel()
				tab, err := conformance.Check(h)
				if err != nil {
					t.Errorf("%s fails the matrix:\n%v", h.Name, err)
				}
				tables[i] = tab
			})
		}
	})
	if diff := conformance.Diff(tables...); len(diff) > 0 {
		t.Errorf("the adapters differ on %d cases:\n%s", len(diff), strings.Join(diff, "\n"))
	}
	all, httpOnly := 0, 0
	for _, row := range tables[len(tables)-1].Rows {
		if row.Skipped {
			httpOnly++
		} else {
			all++
		}
	}
	t.Logf("%d cases compared across all %d adapters, %d more across the HTTP ones", all, len(tables), httpOnly)
}

// fiberHarness sends each request through app.Test, and so through
// fasthttp's own parser, with the read buffer fiberjwt's doc asks for.
func fiberHarness() conformance.Harness {
	return conformance.Harness{Name: "fiber", Serve: func(v *core.Verifier, scopes []string) (func(conformance.Request) (conformance.Result, error), func()) {
		app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, fiberjwt.Middleware(v), fiberjwt.RequireScopes(v, scopes...), func(c *fiber.Ctx) error {
			if claims, ok := core.FromContext(c.UserContext()); ok {
				return c.SendString(claims.Subject())
			}
			return c.Status(http.StatusInternalServerError).SendString("no claims in the user context")
		})
		return func(r conformance.Request) (conformance.Result, error) {
			req, err := r.NewHTTPRequest("http://fiber.test")
			if err != nil {
				return conformance.Result{}, err
			}
			resp, err := app.Test(req, -1)
			if err != nil {
				return conformance.Result{}, err
			}
			return conformance.ReadHTTPResponse(resp)
		}, func() {}
	}}
}

// grpcHarness calls the unary method or the server stream of whoami, a
// service that answers the subject of the claims in its context.
func grpcHarness(name string, stream bool) conformance.Harness {
	return conformance.Harness{Name: name, Serve: func(v *core.Verifier, scopes []string) (func(conformance.Request) (conformance.Result, error), func()) {
		ln := bufconn.Listen(1 << 20)
		srv := grpc.NewServer(
			grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(v), grpcjwt.UnaryRequireScopes(v, scopes...)),
			grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(v), grpcjwt.StreamRequireScopes(v, scopes...)))
		srv.RegisterService(&whoami, nil)
		go srv.Serve(ln)
		conn, err := grpc.NewClient("passthrough:///bufconn",
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()))
		send := func(r conformance.Request) (conformance.Result, error) {
			if err != nil {
				return conformance.Result{}, err
			}
			if len(r.Query) > 0 {
				return conformance.Result{}, errors.ErrUnsupported // a call has no URL
			}
			subject, err := call(metadata.NewOutgoingContext(context.Background(), r.Metadata()), conn, stream)
			st := status.Convert(err)
			return conformance.Result{GRPCCode: int(st.Code()), GRPCMessage: st.Message(), Subject: subject}, nil
		}
		return send, func() {
			if conn != nil {
				conn.Close()
			}
			srv.Stop()
		}
	}}
}

const (
	unaryMethod  = "/jwtguard.test.Whoami/Unary"
	streamMethod = "/jwtguard.test.Whoami/Stream"
)

// whoami is written out by hand so that no generated code is needed; it
// fails with Internal when it finds no claims, as conformance.Endpoint
// answers 500.
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

func subjectOf(ctx context.Context) (*wrapperspb.StringValue, error) {
	claims, ok := core.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no claims in the call context")
	}
	return wrapperspb.String(claims.Subject()), nil
}

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
