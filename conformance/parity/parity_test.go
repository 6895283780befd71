package parity_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"connectrpc.com/connect"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"github.com/gin-gonic/gin"
	"github.com/gofiber/fiber/v2"
	fiberv3 "github.com/gofiber/fiber/v3"
	"github.com/labstack/echo/v4"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jwtguard/jwtguard/cmd/jwtguard/serve"
	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/connectjwt"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/fiberv3jwt"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/grpcjwt"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// TestParity runs the whole matrix through every adapter, all at once, and
// compares their verdict tables case by case: outcome, reason, status and
// the subject the protected endpoint saw. A case a transport cannot carry
// (a URL query over gRPC or Connect) is left out of the comparison. Every
// adapter skips conformance.SkipPath (a skipper, fiber's Next, a gRPC or
// Connect exemption, an anonymous route of jwtguard serve), so the cases of
// skipped routes are compared across all eleven.
func TestParity(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	harnesses := []conformance.Harness{
		netHTTPHarness(),
		ginHarness(),
		echoHarness(),
		fiberHarness(),
		fiberV3Harness(),
		grpcHarness("grpc-unary", false),
		grpcHarness("grpc-stream", true),
		connectHarness("connect-unary", false),
		connectHarness("connect-stream", true),
		serveForwardAuthHarness(),
		serveExtAuthzHarness(),
	}
	for _, h := range harnesses {
		if !h.Skips {
			t.Errorf("%s: the harness declares no skipped route, so the cases of skipped routes would go uncompared", h.Name)
		}
		if !h.Optional {
			t.Errorf("%s: the harness declares no optional authentication, so the cases of optional credentials would go uncompared", h.Name)
		}
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
	all, some := 0, 0
	for i := range tables[0].Rows {
		skipped := false
		for _, tab := range tables {
			skipped = skipped || (i < len(tab.Rows) && tab.Rows[i].Skipped)
		}
		if skipped {
			some++
		} else {
			all++
		}
	}
	t.Logf("%d cases compared across all %d adapters, %d more across those that carry a URL query", all, len(tables), some)
}

// skipsHTTP is the skipper of the net/http harness.
func skipsHTTP(r *http.Request) bool { return r.URL.Path == conformance.SkipPath }

func netHTTPHarness() conformance.Harness {
	h := conformance.HTTPHarness("net/http", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []nethttpjwt.Option{nethttpjwt.WithSkipper(skipsHTTP)}
		if route.Optional {
			opts = append(opts, nethttpjwt.WithOptional())
		}
		g := nethttpjwt.New(v, opts...)
		if route.Policy != nil {
			protected = g.RequirePolicy(route.Policy)(protected)
		}
		if route.Scopes != nil {
			protected = g.RequireScopes(route.Scopes...)(protected)
		}
		return g.Middleware(protected)
	})
	h.Skips, h.Optional = true, true
	return h
}

// ginHarness, echoHarness and fiberHarness mount the route at
// conformance.Path and at conformance.SkipPath, which the Guard skips.
func ginHarness() conformance.Harness {
	h := conformance.HTTPHarness("gin", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []ginjwt.Option{ginjwt.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, ginjwt.WithOptional())
		}
		g := ginjwt.New(v, opts...)
		chain := []gin.HandlerFunc{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		chain = append(chain, gin.WrapH(protected))
		r := gin.New()
		r.GET(conformance.Path, chain...)
		r.GET(conformance.SkipPath, chain...)
		return r
	})
	h.Skips, h.Optional = true, true
	return h
}

func echoHarness() conformance.Harness {
	h := conformance.HTTPHarness("echo", func(v *core.Verifier, route conformance.Route, protected http.Handler) http.Handler {
		opts := []echojwt.Option{echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, echojwt.WithOptional())
		}
		g := echojwt.New(v, opts...)
		chain := []echo.MiddlewareFunc{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		e := echo.New()
		e.GET(conformance.Path, echo.WrapHandler(protected), chain...)
		e.GET(conformance.SkipPath, echo.WrapHandler(protected), chain...)
		return e
	})
	h.Skips, h.Optional = true, true
	return h
}

// fiberHarness sends each request through app.Test, and so through
// fasthttp's own parser, with the read buffer fiberjwt's doc asks for. Its
// endpoint answers as conformance.Endpoint does.
func fiberHarness() conformance.Harness {
	return conformance.Harness{Name: "fiber", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []fiberjwt.Option{fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Path() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, fiberjwt.WithOptional())
		}
		g := fiberjwt.New(v, opts...)
		chain := []fiber.Handler{g.Middleware}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		chain = append(chain, func(c *fiber.Ctx) error {
			if claims, ok := core.FromContext(c.UserContext()); ok {
				return c.SendString(claims.Subject())
			}
			if c.Path() == conformance.SkipPath || route.Optional {
				return c.SendString("") // 200, no subject
			}
			return c.Status(http.StatusInternalServerError).SendString("no claims in the user context")
		})
		app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, chain...)
		app.Get(conformance.SkipPath, chain...)
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

// fiberV3Harness is fiberHarness for fiber v3, whose routes take the
// handlers behind the first as any.
func fiberV3Harness() conformance.Harness {
	return conformance.Harness{Name: "fiber v3", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []fiberv3jwt.Option{fiberv3jwt.WithNext(func(c fiberv3.Ctx) bool { return c.Path() == conformance.SkipPath })}
		if route.Optional {
			opts = append(opts, fiberv3jwt.WithOptional())
		}
		g := fiberv3jwt.New(v, opts...)
		var behind []any
		if route.Scopes != nil {
			behind = append(behind, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			behind = append(behind, g.RequirePolicy(route.Policy))
		}
		behind = append(behind, func(c fiberv3.Ctx) error {
			if claims, ok := core.FromContext(c.Context()); ok {
				return c.SendString(claims.Subject())
			}
			if c.Path() == conformance.SkipPath || route.Optional {
				return c.SendString("") // 200, no subject
			}
			return c.Status(http.StatusInternalServerError).SendString("no claims in the request context")
		})
		app := fiberv3.New(fiberv3.Config{ReadBufferSize: 16 << 10})
		app.Get(conformance.Path, g.Middleware, behind...)
		app.Get(conformance.SkipPath, g.Middleware, behind...)
		return func(r conformance.Request) (conformance.Result, error) {
			req, err := r.NewHTTPRequest("http://fiber.test")
			if err != nil {
				return conformance.Result{}, err
			}
			resp, err := app.Test(req, fiberv3.TestConfig{}) // no timeout
			if err != nil {
				return conformance.Result{}, err
			}
			return conformance.ReadHTTPResponse(resp)
		}, func() {}
	}}
}

// grpcHarness calls the unary method or the server stream of whoami, a
// service that answers the subject of the claims in its context, or of
// skipped, the same service under a name the Guard exempts, for a request
// to conformance.SkipPath.
func grpcHarness(name string, stream bool) conformance.Harness {
	return conformance.Harness{Name: name, Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []grpcjwt.Option{grpcjwt.WithExempt(skipped.ServiceName)}
		if route.Optional {
			opts = append(opts, grpcjwt.WithOptional())
		}
		g := grpcjwt.New(v, opts...)
		unary := []grpc.UnaryServerInterceptor{g.UnaryServerInterceptor()}
		streams := []grpc.StreamServerInterceptor{g.StreamServerInterceptor()}
		if route.Scopes != nil {
			unary, streams = append(unary, g.UnaryRequireScopes(route.Scopes...)), append(streams, g.StreamRequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			unary, streams = append(unary, g.UnaryRequirePolicy(route.Policy)), append(streams, g.StreamRequirePolicy(route.Policy))
		}
		ln := bufconn.Listen(1 << 20)
		srv := grpc.NewServer(grpc.ChainUnaryInterceptor(unary...), grpc.ChainStreamInterceptor(streams...))
		srv.RegisterService(&whoami, nil)
		srv.RegisterService(&skipped, nil)
		srv.RegisterService(&open, nil)
		go srv.Serve(ln)
		conn, err := dialBufconn(ln)
		send := func(r conformance.Request) (conformance.Result, error) {
			if err != nil {
				return conformance.Result{}, err
			}
			if len(r.Query) > 0 {
				return conformance.Result{}, errors.ErrUnsupported // a call has no URL
			}
			service := &whoami
			switch {
			case r.Path == conformance.SkipPath:
				service = &skipped
			case route.Optional:
				service = &open
			}
			subject, err := call(metadata.NewOutgoingContext(context.Background(), r.Metadata()), conn, service, stream)
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

// whoami is written out by hand so that no generated code is needed; it
// fails with Internal when it finds no claims, as conformance.Endpoint
// answers 500. skipped is the same service under another name: without
// claims it answers an empty subject, as conformance.Endpoint does at
// conformance.SkipPath; open is that service again, for calls behind
// optional authentication.
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

// connectHarness calls the unary procedure or the server stream of whoami
// in the Connect protocol, or of skipped, which the Guard exempts, for a
// request to conformance.SkipPath. The handlers answer as the gRPC
// services do, with Connect's internal for a call without claims.
func connectHarness(name string, stream bool) conformance.Harness {
	return conformance.Harness{Name: name, Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		opts := []connectjwt.Option{connectjwt.WithExempt(skipped.ServiceName)}
		if route.Optional {
			opts = append(opts, connectjwt.WithOptional())
		}
		g := connectjwt.New(v, opts...)
		chain := []connect.Interceptor{g.Interceptor()}
		if route.Scopes != nil {
			chain = append(chain, g.RequireScopes(route.Scopes...))
		}
		if route.Policy != nil {
			chain = append(chain, g.RequirePolicy(route.Policy))
		}
		mux := http.NewServeMux()
		for _, service := range []string{whoami.ServiceName, skipped.ServiceName, open.ServiceName} {
			answer := func(ctx context.Context) (*wrapperspb.StringValue, error) {
				claims, ok := core.FromContext(ctx)
				switch {
				case ok:
					return wrapperspb.String(claims.Subject()), nil
				case service == whoami.ServiceName:
					return nil, connect.NewError(connect.CodeInternal, errors.New("no claims in the call context"))
				}
				return wrapperspb.String(""), nil
			}
			unary, streaming := "/"+service+"/Unary", "/"+service+"/Stream"
			mux.Handle(unary, connect.NewUnaryHandler(unary, func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
				out, err := answer(ctx)
				if err != nil {
					return nil, err
				}
				return connect.NewResponse(out), nil
			}, connect.WithInterceptors(chain...)))
			mux.Handle(streaming, connect.NewServerStreamHandler(streaming, func(ctx context.Context, _ *connect.Request[emptypb.Empty], s *connect.ServerStream[wrapperspb.StringValue]) error {
				out, err := answer(ctx)
				if err != nil {
					return err
				}
				return s.Send(out)
			}, connect.WithInterceptors(chain...)))
		}
		srv := httptest.NewServer(mux)
		send := func(r conformance.Request) (conformance.Result, error) {
			if len(r.Query) > 0 {
				return conformance.Result{}, errors.ErrUnsupported // a call's URL is its procedure
			}
			service := whoami.ServiceName
			switch {
			case r.Path == conformance.SkipPath:
				service = skipped.ServiceName
			case route.Optional:
				service = open.ServiceName
			}
			subject, err := callConnect(srv, service, stream, r.Header)
			var ce *connect.Error
			switch {
			case err == nil:
				return conformance.Result{Subject: subject}, nil
			case errors.As(err, &ce) && connect.IsWireError(err):
				return conformance.Result{GRPCCode: int(ce.Code()), GRPCMessage: ce.Message()}, nil
			}
			return conformance.Result{}, err // the server did not answer
		}
		return send, srv.Close
	}}
}

func callConnect(srv *httptest.Server, service string, stream bool, header http.Header) (string, error) {
	ctx := context.Background()
	req := connect.NewRequest(&emptypb.Empty{})
	for name, values := range header {
		req.Header()[name] = values
	}
	if !stream {
		client := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+"/"+service+"/Unary")
		res, err := client.CallUnary(ctx, req)
		if err != nil {
			return "", err
		}
		return res.Msg.GetValue(), nil
	}
	client := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+"/"+service+"/Stream")
	s, err := client.CallServerStream(ctx, req)
	if err != nil {
		return "", err
	}
	defer s.Close()
	var subject string
	for s.Receive() {
		subject = s.Msg().GetValue()
	}
	return subject, s.Err()
}

// servePolicy is the route of a case as jwtguard serve's policy: the
// route's checks on every path, optional when the case asks for optional
// authentication, and conformance.SkipPath anonymous with the same checks,
// which then refuse as lacking credentials, as a check behind any
// adapter's skipper does.
func servePolicy(route conformance.Route) *serve.Policy {
	return &serve.Policy{Routes: []serve.Route{
		{Prefix: "/", Optional: route.Optional, Policies: route.Policies()},
		{Prefix: conformance.SkipPath, Anonymous: true, Policies: route.Policies()},
	}}
}

// serveForwardAuthHarness asks jwtguard serve's /auth as Traefik and Caddy
// do: the client's headers as sent, the original method and URI (its query
// too) in X-Forwarded-Method and X-Forwarded-Uri. The gateway passes a
// rejection on as it came; an acceptance reaches the upstream with the
// server's X-Auth-Subject, which is the subject the upstream sees.
func serveForwardAuthHarness() conformance.Harness {
	return conformance.Harness{Name: "serve-forward-auth", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		s, err := serve.New(v, servePolicy(route))
		if err != nil {
			return func(conformance.Request) (conformance.Result, error) { return conformance.Result{}, err }, func() {}
		}
		srv := httptest.NewServer(s)
		send := func(r conformance.Request) (conformance.Result, error) {
			original, err := r.NewHTTPRequest("")
			if err != nil {
				return conformance.Result{}, err
			}
			req, err := http.NewRequest(http.MethodGet, srv.URL+serve.AuthPath, nil)
			if err != nil {
				return conformance.Result{}, err
			}
			req.Header = original.Header
			req.Header.Set("X-Forwarded-Method", original.Method)
			req.Header.Set("X-Forwarded-Uri", original.URL.RequestURI())
			resp, err := srv.Client().Do(req)
			if err != nil {
				return conformance.Result{}, err
			}
			res, err := conformance.ReadHTTPResponse(resp)
			if res.Status == http.StatusOK {
				res.Subject = resp.Header.Get(serve.HeaderSubject)
			}
			return res, err
		}
		return send, srv.Close
	}}
}

// serveExtAuthzHarness asks jwtguard serve's Check over gRPC as Envoy does
// with encode_raw_headers: every header field its own entry, the path with
// its query. A denial becomes the HTTP response Envoy sends the client
// (status, headers, body); an OK becomes a 200 whose subject is the
// x-auth-subject header set on the upstream request.
func serveExtAuthzHarness() conformance.Harness {
	return conformance.Harness{Name: "serve-ext_authz", Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
		s, err := serve.New(v, servePolicy(route))
		if err != nil {
			return func(conformance.Request) (conformance.Result, error) { return conformance.Result{}, err }, func() {}
		}
		ln := bufconn.Listen(1 << 20)
		srv := grpc.NewServer()
		s.RegisterGRPC(srv)
		go srv.Serve(ln)
		conn, err := dialBufconn(ln)
		send := func(r conformance.Request) (conformance.Result, error) {
			if err != nil {
				return conformance.Result{}, err
			}
			original, err := r.NewHTTPRequest("")
			if err != nil {
				return conformance.Result{}, err
			}
			headers := &corev3.HeaderMap{}
			for name, values := range r.Metadata() {
				for _, value := range values {
					headers.Headers = append(headers.Headers, &corev3.HeaderValue{Key: name, RawValue: []byte(value)})
				}
			}
			res, err := authv3.NewAuthorizationClient(conn).Check(context.Background(), &authv3.CheckRequest{
				Attributes: &authv3.AttributeContext{Request: &authv3.AttributeContext_Request{
					Http: &authv3.AttributeContext_HttpRequest{Method: original.Method, Path: original.URL.RequestURI(), HeaderMap: headers}}}})
			if err != nil {
				return conformance.Result{}, err
			}
			return extAuthzResult(res)
		}
		return send, func() {
			if conn != nil {
				conn.Close()
			}
			srv.Stop()
		}
	}}
}

// extAuthzResult is the response Envoy sends for a CheckResponse.
func extAuthzResult(res *authv3.CheckResponse) (conformance.Result, error) {
	if res.GetStatus().GetCode() == int32(codes.OK) {
		ok := res.GetOkResponse()
		if ok == nil {
			return conformance.Result{}, errors.New("an OK status without an ok_response")
		}
		out := conformance.Result{Status: http.StatusOK}
		for _, h := range ok.GetHeaders() {
			if strings.EqualFold(h.GetHeader().GetKey(), serve.HeaderSubject) {
				out.Subject = h.GetHeader().GetValue()
			}
		}
		return out, nil
	}
	denied := res.GetDeniedResponse()
	if denied == nil {
		return conformance.Result{}, fmt.Errorf("status %d without a denied_response", res.GetStatus().GetCode())
	}
	out := conformance.Result{Status: int(denied.GetStatus().GetCode()), Header: http.Header{}, Body: []byte(denied.GetBody()),
		GRPCCode: int(res.GetStatus().GetCode()), GRPCMessage: res.GetStatus().GetMessage()}
	for _, h := range denied.GetHeaders() {
		out.Header.Add(h.GetHeader().GetKey(), h.GetHeader().GetValue())
	}
	return out, nil
}

// dialBufconn is a client of the gRPC server listening on ln.
func dialBufconn(ln *bufconn.Listener) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
}
