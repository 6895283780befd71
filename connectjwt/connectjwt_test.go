package connectjwt_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"log"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/connectjwt"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// whoami and skipped are the services of these tests, each a unary
// procedure and a server stream, served without generated code: they
// answer the subject of the claims in their context. whoami fails with
// internal when it finds none (as conformance.Endpoint answers 500);
// skipped, the service the tests exempt, answers an empty subject, as
// conformance.Endpoint does at conformance.SkipPath; open answers as
// skipped does, for calls behind optional authentication.
const (
	whoami  = "jwtguard.test.Whoami"
	skipped = "jwtguard.test.Skipped"
	open    = "jwtguard.test.Open"
)

func procedure(service string, stream bool) string {
	if stream {
		return "/" + service + "/Stream"
	}
	return "/" + service + "/Unary"
}

// serve starts whoami and skipped, every handler with opts, on a server
// that speaks HTTP/2 without TLS (h2c), as the gRPC protocol requires
// HTTP/2; its Client speaks it too.
func serve(opts ...connect.HandlerOption) *httptest.Server { return serveLogging(nil, opts...) }

// serveLogging is serve with the server's error log, nil for the standard
// logger.
func serveLogging(errorLog *log.Logger, opts ...connect.HandlerOption) *httptest.Server {
	mux := http.NewServeMux()
	for _, service := range []string{whoami, skipped, open} {
		answer := func(ctx context.Context) (*wrapperspb.StringValue, error) {
			claims, ok := connectjwt.Claims(ctx)
			switch {
			case ok:
				return wrapperspb.String(claims.Subject()), nil
			case service == whoami:
				return nil, connect.NewError(connect.CodeInternal, errors.New("no claims in the call context"))
			}
			return wrapperspb.String(""), nil
		}
		unary := procedure(service, false)
		mux.Handle(unary, connect.NewUnaryHandler(unary, func(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
			out, err := answer(ctx)
			if err != nil {
				return nil, err
			}
			return connect.NewResponse(out), nil
		}, opts...))
		stream := procedure(service, true)
		mux.Handle(stream, connect.NewServerStreamHandler(stream, func(ctx context.Context, _ *connect.Request[emptypb.Empty], s *connect.ServerStream[wrapperspb.StringValue]) error {
			out, err := answer(ctx)
			if err != nil {
				return err
			}
			return s.Send(out)
		}, opts...))
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.ErrorLog = errorLog
	srv.Config.Protocols = &h2c
	srv.Start()
	srv.Client().Transport.(*http.Transport).Protocols = &h2c
	return srv
}

// protocols are the wire protocols a Connect handler serves, by the
// client options that choose them.
var protocols = map[string][]connect.ClientOption{
	"connect": nil,
	"grpc":    {connect.WithGRPC()},
	"grpcweb": {connect.WithGRPCWeb()},
}

// call calls the unary procedure of service, or its stream, with header,
// and returns the subject it answered.
func call(srv *httptest.Server, service string, stream bool, header http.Header, opts ...connect.ClientOption) (string, error) {
	ctx := context.Background()
	client := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+procedure(service, stream), opts...)
	req := connect.NewRequest(&emptypb.Empty{})
	for name, values := range header {
		req.Header()[name] = values
	}
	if !stream {
		res, err := client.CallUnary(ctx, req)
		if err != nil {
			return "", err
		}
		return res.Msg.GetValue(), nil
	}
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

func bearer(token string) http.Header {
	if token == "" {
		return nil
	}
	return http.Header{"Authorization": {"Bearer " + token}}
}

// guarded is the interceptors of a route: the Guard's, then its scope
// check, then its policy check. gate moves authentication to the Guard's
// request gate.
func guarded(g *connectjwt.Guard, route conformance.Route, gate bool) []connect.HandlerOption {
	var opts []connect.HandlerOption
	var chain []connect.Interceptor
	if gate {
		opts = append(opts, connect.WithRequestGate(g.Gate()))
	} else {
		chain = append(chain, g.Interceptor())
	}
	if route.Scopes != nil {
		chain = append(chain, g.RequireScopes(route.Scopes...))
	}
	if route.Policy != nil {
		chain = append(chain, g.RequirePolicy(route.Policy))
	}
	return append(opts, connect.WithInterceptors(chain...))
}

// result sends r as one call of whoami, of skipped for a request to
// conformance.SkipPath, or of open on an optional route, and reports its code, message and answer. A URL
// query has no place in a call: such cases are skipped.
func result(srv *httptest.Server, stream bool, protocol string, optional bool, r conformance.Request) (conformance.Result, error) {
	if len(r.Query) > 0 {
		return conformance.Result{}, errors.ErrUnsupported
	}
	service := whoami
	switch {
	case r.Path == conformance.SkipPath:
		service = skipped
	case optional:
		service = open
	}
	subject, err := call(srv, service, stream, r.Header, protocols[protocol]...)
	if err == nil {
		return conformance.Result{Subject: subject}, nil
	}
	var ce *connect.Error
	if !errors.As(err, &ce) || !connect.IsWireError(err) {
		return conformance.Result{}, err // the server did not answer
	}
	return conformance.Result{GRPCCode: int(ce.Code()), GRPCMessage: ce.Message()}, nil
}

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// A rejection is core's response in Connect's terms, in every protocol and
// for unary calls and streams alike: the code of the same number as core's
// gRPC code, core's message, and the Bearer challenge in the error's
// metadata (none for unavailable, and none over gRPC, whose error metadata
// travels in HTTP trailers, where RFC 9110 section 6.5.1 forbids it).
func TestRejections(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	// down is a verifier whose IdP never answered: it holds no keys.
	downIdP := jwtguardtest.NewIdP()
	t.Cleanup(downIdP.Close)
	downIdP.Fail(http.StatusServiceUnavailable)
	down, err := core.New(downIdP.Config(), core.WithClock(downIdP.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(down.Close)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name   string
		v      *core.Verifier
		header http.Header
		code   connect.Code
		reason core.Reason
	}{
		{"no token", v, nil, connect.CodeUnauthenticated, core.ReasonTokenMissing},
		{"another scheme", v, http.Header{"Authorization": {"Basic YWxpY2U6cHc="}}, connect.CodeUnauthenticated, core.ReasonTokenMissing},
		{"malformed token", v, bearer("x.y.z"), connect.CodeUnauthenticated, core.ReasonTokenMalformed},
		{"two Authorization headers", v, http.Header{"Authorization": {"Bearer " + reader, "Bearer " + reader}}, connect.CodeInvalidArgument, core.ReasonRequestInvalid},
		{"missing scope", v, bearer(reader), connect.CodePermissionDenied, core.ReasonInsufficientScope},
		{"keys unavailable", down, bearer(downIdP.Token("alice", "admin")), connect.CodeUnavailable, core.ReasonKeysUnavailable},
	} {
		want := tc.v.Response(&core.Error{Reason: tc.reason, Scopes: []string{"admin"}})
		if int(tc.code) != want.GRPCCode {
			t.Fatalf("%s: core's code is %d, the table says %d", tc.name, want.GRPCCode, tc.code)
		}
		g := connectjwt.New(tc.v)
		var errorLog strings.Builder
		srv := serveLogging(log.New(&errorLog, "", 0), connect.WithInterceptors(g.Interceptor(), g.RequireScopes("admin")))
		for protocol, opts := range protocols {
			for _, stream := range []bool{false, true} {
				_, err := call(srv, whoami, stream, tc.header, opts...)
				var ce *connect.Error
				if !errors.As(err, &ce) {
					t.Errorf("%s, %s, stream=%v: %v, want a *connect.Error", tc.name, protocol, stream, err)
					continue
				}
				challenge := nonEmpty(want.WWWAuthenticate)
				if protocol == "grpc" {
					challenge = nil
				}
				if ce.Code() != tc.code || ce.Message() != want.GRPCMessage || !slices.Equal(ce.Meta().Values("WWW-Authenticate"), challenge) {
					t.Errorf("%s, %s, stream=%v: %v with WWW-Authenticate %q, want %v %q with %q",
						tc.name, protocol, stream, ce, ce.Meta().Values("WWW-Authenticate"), tc.code, want.GRPCMessage, want.WWWAuthenticate)
				}
			}
		}
		srv.Close() // waits for the calls, and so for their log lines
		if errorLog.Len() > 0 {
			t.Errorf("%s: the server logged:\n%s", tc.name, errorLog.String())
		}
	}
}

func nonEmpty(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// A unary call of the Connect protocol is plain HTTP: a rejection is the
// HTTP status of core's reason table with its WWW-Authenticate header
// (RFC 6750 section 3), which any HTTP client or proxy understands.
func TestConnectProtocolHTTPStatus(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := connectjwt.New(v)
	srv := serve(connect.WithInterceptors(g.Interceptor(), g.RequireScopes("admin")))
	defer srv.Close()
	for _, tc := range []struct {
		token  string
		reason core.Reason
	}{
		{"", core.ReasonTokenMissing},
		{"x.y.z", core.ReasonTokenMalformed},
		{idp.Token("alice", "read"), core.ReasonInsufficientScope},
	} {
		want := v.Response(&core.Error{Reason: tc.reason, Scopes: []string{"admin"}})
		req, err := http.NewRequest(http.MethodPost, srv.URL+procedure(whoami, false), strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		if tc.token != "" {
			req.Header.Set("Authorization", "Bearer "+tc.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want.Status || resp.Header.Get("WWW-Authenticate") != want.WWWAuthenticate {
			t.Errorf("%s: %d with WWW-Authenticate %q, want %d with %q", tc.reason, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), want.Status, want.WWWAuthenticate)
		}
	}
}

// aborted is an error handler that fails the call with aborted and records
// each reason; calls run one at a time, but on the server's goroutines.
type aborted struct {
	mu      sync.Mutex
	reasons []core.Reason
}

func (a *aborted) handle(_ context.Context, err *core.Error) *connect.Error {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.reasons = append(a.reasons, err.Reason)
	return connect.NewError(connect.CodeAborted, errors.New("refused"))
}

// Every rejection of a Guard, by its interceptor, its gate or its checks,
// in front of them or alone, goes to the Guard's error handler, for unary
// calls and streams alike.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		opts  func(g *connectjwt.Guard) []connect.HandlerOption
		token string
		want  core.Reason
	}{
		{"interceptor, no token", func(g *connectjwt.Guard) []connect.HandlerOption { return guarded(g, conformance.Route{}, false) }, "", core.ReasonTokenMissing},
		{"interceptor, malformed token", func(g *connectjwt.Guard) []connect.HandlerOption { return guarded(g, conformance.Route{}, false) }, "x.y.z", core.ReasonTokenMalformed},
		{"gate, no token", func(g *connectjwt.Guard) []connect.HandlerOption { return guarded(g, conformance.Route{}, true) }, "", core.ReasonTokenMissing},
		{"RequireScopes behind the interceptor", func(g *connectjwt.Guard) []connect.HandlerOption {
			return guarded(g, conformance.Route{Scopes: []string{"admin"}}, false)
		}, reader, core.ReasonInsufficientScope},
		{"RequirePolicy behind the gate", func(g *connectjwt.Guard) []connect.HandlerOption {
			return guarded(g, conformance.Route{Policy: refuse}, true)
		}, reader, core.ReasonInsufficientScope},
		{"RequireScopes alone", func(g *connectjwt.Guard) []connect.HandlerOption {
			return []connect.HandlerOption{connect.WithInterceptors(g.RequireScopes())}
		}, reader, core.ReasonTokenMissing},
		{"RequirePolicy alone", func(g *connectjwt.Guard) []connect.HandlerOption {
			return []connect.HandlerOption{connect.WithInterceptors(g.RequirePolicy(allow))}
		}, reader, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError aborted
			srv := serve(tc.opts(connectjwt.New(v, connectjwt.WithErrorHandler(onError.handle)))...)
			defer srv.Close()
			for _, stream := range []bool{false, true} {
				if _, err := call(srv, whoami, stream, bearer(tc.token)); connect.CodeOf(err) != connect.CodeAborted {
					t.Errorf("stream=%v: %v, want the error handler's aborted", stream, err)
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
	g := connectjwt.New(v, connectjwt.WithErrorHandler(func(context.Context, *core.Error) *connect.Error { return nil }))
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, gate := range []bool{false, true} {
		srv := serve(guarded(g, conformance.Route{Scopes: []string{"admin"}}, gate)...)
		for _, stream := range []bool{false, true} {
			_, err := call(srv, whoami, stream, nil)
			var ce *connect.Error
			if !errors.As(err, &ce) || int(ce.Code()) != want.GRPCCode || ce.Message() != want.GRPCMessage {
				t.Errorf("gate=%v, stream=%v: %v, want %d %q", gate, stream, err, want.GRPCCode, want.GRPCMessage)
			}
		}
		srv.Close()
	}
}

// A check answers with its own Guard's options, whatever interceptor runs
// in front of it: nothing but the claims travels in the call context.
func TestChecksReadNoOptionsFromTheContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var onError aborted
	custom := connectjwt.New(v, connectjwt.WithErrorHandler(onError.handle))
	plain := connectjwt.New(v)
	for _, tc := range []struct {
		name  string
		chain []connect.Interceptor
		want  connect.Code
	}{
		{"default scope check behind an interceptor with an error handler",
			[]connect.Interceptor{custom.Interceptor(), plain.RequireScopes("admin")}, connect.CodePermissionDenied},
		{"package-level scope check behind an interceptor with an error handler",
			[]connect.Interceptor{connectjwt.Interceptor(v, connectjwt.WithErrorHandler(onError.handle)), connectjwt.RequireScopes(v, "admin")}, connect.CodePermissionDenied},
		{"package-level policy check behind an interceptor with an error handler",
			[]connect.Interceptor{custom.Interceptor(), connectjwt.RequirePolicy(v, refuse)}, connect.CodePermissionDenied},
		{"scope check with an error handler behind a default interceptor",
			[]connect.Interceptor{plain.Interceptor(), custom.RequireScopes("admin")}, connect.CodeAborted},
		{"policy check with an error handler behind a default interceptor",
			[]connect.Interceptor{plain.Interceptor(), custom.RequirePolicy(refuse)}, connect.CodeAborted},
	} {
		srv := serve(connect.WithInterceptors(tc.chain...))
		for _, stream := range []bool{false, true} {
			if _, err := call(srv, whoami, stream, bearer(idp.Token("alice", "read"))); connect.CodeOf(err) != tc.want {
				t.Errorf("%s, stream=%v: %v, want %v", tc.name, stream, err, tc.want)
			}
		}
		srv.Close()
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
// as ever. An exemption names a service or a procedure, and the gate
// honours it as the interceptor does.
func TestExempt(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the call context before the Guard runs.
	claimsInFront := connect.WithRequestGate(func(ctx context.Context, _ connect.Spec, _ connect.Peer, _ http.Header) (context.Context, error) {
		return core.NewContext(ctx, verified), nil
	})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, exempt := range []string{skipped, procedure(skipped, false)} {
		g := connectjwt.New(v, connectjwt.WithExempt(exempt))
		for _, tc := range []struct {
			name    string
			opts    []connect.HandlerOption
			service string
			token   string
			code    connect.Code
			subject string
		}{
			{"exempt without a token", guarded(g, conformance.Route{}, false), skipped, "", 0, ""},
			{"exempt with a valid token", guarded(g, conformance.Route{}, false), skipped, admin, 0, ""},
			{"exempt with claims in the context", append([]connect.HandlerOption{claimsInFront}, guarded(g, conformance.Route{}, false)...), skipped, admin, 0, ""},
			{"exempt with claims in the context, by the gate", append([]connect.HandlerOption{claimsInFront}, guarded(g, conformance.Route{}, true)...), skipped, admin, 0, ""},
			{"exempt, behind RequireScopes", guarded(g, conformance.Route{Scopes: []string{"admin"}}, false), skipped, admin, connect.Code(missing.GRPCCode), ""},
			{"exempt by the gate, behind RequirePolicy", guarded(g, conformance.Route{Policy: allow}, true), skipped, admin, connect.Code(missing.GRPCCode), ""},
			{"not exempt, without a token", guarded(g, conformance.Route{}, false), whoami, "", connect.Code(missing.GRPCCode), ""},
			{"not exempt, behind RequireScopes", guarded(g, conformance.Route{Scopes: []string{"admin"}}, false), whoami, admin, 0, "alice"},
		} {
			srv := serve(tc.opts...)
			// A procedure exempts the unary call only.
			streams := []bool{false, true}
			if strings.HasPrefix(exempt, "/") {
				streams = streams[:1]
			}
			for _, stream := range streams {
				subject, err := call(srv, tc.service, stream, bearer(tc.token))
				code, message := connect.Code(0), ""
				var ce *connect.Error
				if errors.As(err, &ce) {
					code, message = ce.Code(), ce.Message()
				}
				if code != tc.code || subject != tc.subject || (code != 0 && message != missing.GRPCMessage) {
					t.Errorf("WithExempt(%q), %s, stream=%v: %v %q, want %v %q", exempt, tc.name, stream, err, subject, tc.code, tc.subject)
				}
			}
			srv.Close()
		}
	}
}

// The claims reach the handler through the interceptor and through the
// gate, by a token in the Authorization header, or in a cookie when the
// baseline turns cookie tokens on (a browser client sends its cookies
// with a call).
func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t, func(c *core.Config) { c.TokenSources.Cookie = "access_token" })
	g := connectjwt.New(v)
	carol := idp.Token("carol", "admin")
	for _, header := range []http.Header{bearer(carol), {"Cookie": {"theme=dark; access_token=" + carol}}} {
		for _, gate := range []bool{false, true} {
			srv := serve(guarded(g, conformance.Route{Scopes: []string{"admin"}}, gate)...)
			for protocol, opts := range protocols {
				for _, stream := range []bool{false, true} {
					if sub, err := call(srv, whoami, stream, header, opts...); err != nil || sub != "carol" {
						t.Errorf("%v, gate=%v, %s, stream=%v: %q %v, want carol", slices.Collect(maps.Keys(header)), gate, protocol, stream, sub, err)
					}
				}
			}
			srv.Close()
		}
	}
}

// In a client, the Guard's interceptors do nothing: a client's call is
// neither authenticated nor checked on its way out.
func TestClientPassesThrough(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	srv := serve()
	defer srv.Close()
	g := connectjwt.New(v)
	interceptors := connect.WithInterceptors(g.Interceptor(), g.RequireScopes("admin"))
	for _, stream := range []bool{false, true} {
		if _, err := call(srv, skipped, stream, nil, interceptors); err != nil {
			t.Errorf("stream=%v: a client with the Guard's interceptors: %v", stream, err)
		}
	}
}

// The cost the interceptor adds to a call is with minus without minus
// verify; the calls cross a loopback h2c connection in the Connect
// protocol.
func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token := idp.Token("alice", "admin")
	run := func(b *testing.B, opts ...connect.HandlerOption) {
		srv := serve(opts...)
		defer srv.Close()
		header := bearer(token)
		b.ReportAllocs()
		for b.Loop() {
			if _, err := call(srv, whoami, false, header); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("with", func(b *testing.B) { run(b, connect.WithInterceptors(connectjwt.Interceptor(v))) })
	// whoami needs claims: without the interceptor, the same claims are
	// put in the context as they are.
	claims, err := v.Verify(context.Background(), token)
	if err != nil {
		b.Fatal(err)
	}
	given := connect.UnaryInterceptorFunc(func(next connect.UnaryFunc) connect.UnaryFunc {
		return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
			return next(core.NewContext(ctx, claims), req)
		}
	})
	b.Run("without", func(b *testing.B) { run(b, connect.WithInterceptors(given)) })
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

// BenchmarkInterceptor measures a call through the interceptor against the
// bare handler, without the transport's noise: a request as a Connect
// handler gets it, and an empty handler.
func BenchmarkInterceptor(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	req := connect.NewRequest(&emptypb.Empty{})
	req.Header().Set("Authorization", "Bearer "+idp.Token("alice", "admin"))
	ctx := context.Background()
	handler := connect.UnaryFunc(func(context.Context, connect.AnyRequest) (connect.AnyResponse, error) {
		return connect.NewResponse(&wrapperspb.StringValue{}), nil
	})
	run := func(b *testing.B, h connect.UnaryFunc) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := h(ctx, req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("with", func(b *testing.B) { run(b, connectjwt.Interceptor(v).WrapUnary(handler)) })
	b.Run("without", func(b *testing.B) { run(b, handler) })
}

// RequireRoles, on a Guard and on its own, grants a call whose claims hold
// the roles and refuses others with permission_denied, for unary calls and
// streams alike; without the interceptor in front, a call has no claims.
func TestRequireRoles(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := connectjwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	guard := connect.WithInterceptors(g.Interceptor(), g.RequireRoles("roles", "Orders.Admin"))
	packageLevel := connect.WithInterceptors(connectjwt.Interceptor(v), connectjwt.RequireRoles(v, "roles", "Orders.Admin"))
	alone := connect.WithInterceptors(connectjwt.RequireRoles(v, "roles", "Orders.Admin"))
	for _, tc := range []struct {
		name  string
		opts  connect.HandlerOption
		token string
		want  connect.Code // 0: ok
	}{
		{"Guard, role held", guard, entra("Orders.Read", "Orders.Admin"), 0},
		{"Guard, role missing", guard, entra("Orders.Read"), connect.CodePermissionDenied},
		{"Guard, roles not strings", guard, entra("Orders.Admin", 1), connect.CodePermissionDenied},
		{"package-level, role held", packageLevel, entra("Orders.Admin"), 0},
		{"package-level, role missing", packageLevel, entra(), connect.CodePermissionDenied},
		{"no interceptor in front", alone, entra("Orders.Admin"), connect.CodeUnauthenticated},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(tc.opts)
			defer srv.Close()
			for _, stream := range []bool{false, true} {
				subject, err := call(srv, whoami, stream, bearer(tc.token))
				if got := connect.CodeOf(err); (err == nil) != (tc.want == 0) || (err != nil && got != tc.want) || (err == nil && subject != "alice") {
					t.Errorf("stream %v: %v %q, want %v", stream, err, subject, tc.want)
				}
				var ce *connect.Error
				if errors.As(err, &ce) && strings.Contains(ce.Meta().Get("WWW-Authenticate"), "scope=") {
					t.Errorf("stream %v: a role refusal names a scope: %s", stream, ce.Meta().Get("WWW-Authenticate"))
				}
			}
		})
	}
}

// WithOptional lets a call without credentials through without claims;
// any token is judged as without the option, and a check behind still
// refuses an anonymous call. The gate decides as the interceptor does.
func TestOptional(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := connectjwt.New(v, connectjwt.WithOptional())
	for _, tc := range []struct {
		name    string
		opts    []connect.HandlerOption
		token   string
		want    connect.Code // 0: ok
		subject string
	}{
		{"no token", guarded(g, conformance.Route{}, false), "", 0, ""},
		{"no token, by the gate", guarded(g, conformance.Route{}, true), "", 0, ""},
		{"valid token", guarded(g, conformance.Route{}, false), idp.Token("alice"), 0, "alice"},
		{"expired token", guarded(g, conformance.Route{}, false), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), connect.CodeUnauthenticated, ""},
		{"expired token, by the gate", guarded(g, conformance.Route{}, true), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), connect.CodeUnauthenticated, ""},
		{"malformed token", guarded(g, conformance.Route{}, false), "not-a-jwt", connect.CodeUnauthenticated, ""},
		{"no token, behind RequireScopes", guarded(g, conformance.Route{Scopes: []string{"read"}}, false), "", connect.CodeUnauthenticated, ""},
		{"without the option, no token", guarded(connectjwt.New(v), conformance.Route{}, false), "", connect.CodeUnauthenticated, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := serve(tc.opts...)
			defer srv.Close()
			for _, stream := range []bool{false, true} {
				subject, err := call(srv, open, stream, bearer(tc.token))
				if (err == nil) != (tc.want == 0) || (err != nil && connect.CodeOf(err) != tc.want) || subject != tc.subject {
					t.Errorf("stream %v: %v %q, want %v %q", stream, err, subject, tc.want, tc.subject)
				}
			}
		})
	}
}
