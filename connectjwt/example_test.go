package connectjwt_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/jwtguard/jwtguard/connectjwt"
	"github.com/jwtguard/jwtguard/core"
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

	guarded := connect.WithInterceptors(connectjwt.Interceptor(v), connectjwt.RequireScopes(v, "admin"))
	mux := http.NewServeMux()
	mux.Handle(whoamiUnary, connect.NewUnaryHandler(whoamiUnary, hello, guarded))
	mux.Handle(whoamiStream, connect.NewServerStreamHandler(whoamiStream, helloStream, guarded))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	reader, admin := idp.Token("alice", "read"), idp.Token("bob", "read", "admin")
	for _, token := range []string{"", "not-a-jwt", reader, admin} {
		show(srv, token)
	}
	// Output:
	// unary  unauthenticated: authentication required
	//   WWW-Authenticate: Bearer realm="api"
	// stream unauthenticated: authentication required
	//   WWW-Authenticate: Bearer realm="api"
	// unary  unauthenticated: the access token is invalid
	//   WWW-Authenticate: Bearer realm="api", error="invalid_token"
	// stream unauthenticated: the access token is invalid
	//   WWW-Authenticate: Bearer realm="api", error="invalid_token"
	// unary  permission_denied: the access token lacks the required scope
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="admin"
	// stream permission_denied: the access token lacks the required scope
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="admin"
	// unary  ok: hello bob
	// stream ok: hello bob
}

// A Guard carries the options its interceptor and its checks share: here
// an error handler that words the error its own way, used alike by the
// interceptor and the policy check, and an exempt procedure, which goes
// through without a token and without claims.
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
	refused := func(_ context.Context, err *core.Error) *connect.Error {
		resp := v.Response(err)
		return connect.NewError(connect.Code(resp.GRPCCode), errors.New("orders-api: "+resp.GRPCMessage))
	}
	// A policy is any check of verified claims; a plain error refuses
	// with permission_denied.
	readOrAdmin := func(_ context.Context, c *core.Claims) error {
		if c.HasScope("read") || c.HasScope("admin") {
			return nil
		}
		return errors.New("neither read nor admin")
	}
	g := connectjwt.New(v, connectjwt.WithErrorHandler(refused), connectjwt.WithExempt(pingUnary))
	mux := http.NewServeMux()
	mux.Handle(whoamiUnary, connect.NewUnaryHandler(whoamiUnary, hello,
		connect.WithInterceptors(g.Interceptor(), g.RequirePolicy(readOrAdmin))))
	mux.Handle(pingUnary, connect.NewUnaryHandler(pingUnary, hello,
		connect.WithInterceptors(g.Interceptor())))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	reader, writer := idp.Token("alice", "read"), idp.Token("carol", "write")
	for _, token := range []string{"", reader, writer} {
		showUnary(srv, whoamiUnary, token)
	}
	showUnary(srv, pingUnary, "")
	// Output:
	// /jwtguard.example.Whoami/Hello unauthenticated: orders-api: authentication required
	// /jwtguard.example.Whoami/Hello ok: hello alice
	// /jwtguard.example.Whoami/Hello permission_denied: orders-api: the access token lacks the required scope
	// /jwtguard.example.Ping/Hello ok: hello nobody
}

// A gate authenticates a call before its request message is read: an
// unauthenticated caller never has the server decode one. The checks stay
// interceptors.
func ExampleGuard_Gate() {
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

	g := connectjwt.New(v)
	mux := http.NewServeMux()
	mux.Handle(whoamiUnary, connect.NewUnaryHandler(whoamiUnary, hello,
		connect.WithRequestGate(g.Gate()), connect.WithInterceptors(g.RequireScopes("admin"))))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, token := range []string{"", idp.Token("alice", "read"), idp.Token("bob", "admin")} {
		showUnary(srv, whoamiUnary, token)
	}
	// Output:
	// /jwtguard.example.Whoami/Hello unauthenticated: authentication required
	// /jwtguard.example.Whoami/Hello permission_denied: the access token lacks the required scope
	// /jwtguard.example.Whoami/Hello ok: hello bob
}

// The procedures of the Examples, served without generated code: hello
// answers the subject of the claims in its context, or "nobody".
const (
	whoamiUnary  = "/jwtguard.example.Whoami/Hello"
	whoamiStream = "/jwtguard.example.Whoami/HelloStream"
	pingUnary    = "/jwtguard.example.Ping/Hello"
)

func hello(ctx context.Context, _ *connect.Request[emptypb.Empty]) (*connect.Response[wrapperspb.StringValue], error) {
	subject := "nobody"
	if claims, ok := connectjwt.Claims(ctx); ok {
		subject = claims.Subject()
	}
	return connect.NewResponse(wrapperspb.String("hello " + subject)), nil
}

func helloStream(ctx context.Context, req *connect.Request[emptypb.Empty], stream *connect.ServerStream[wrapperspb.StringValue]) error {
	res, err := hello(ctx, req)
	if err != nil {
		return err
	}
	return stream.Send(res.Msg)
}

// show calls whoami's unary procedure and its stream with token and prints
// what came back, with the challenge of a rejection.
func show(srv *httptest.Server, token string) {
	ctx := context.Background()
	for _, kind := range []string{"unary", "stream"} {
		req := connect.NewRequest(&emptypb.Empty{})
		if token != "" {
			req.Header().Set("Authorization", "Bearer "+token)
		}
		var answer string
		var err error
		if kind == "unary" {
			var res *connect.Response[wrapperspb.StringValue]
			if res, err = connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+whoamiUnary).CallUnary(ctx, req); err == nil {
				answer = res.Msg.GetValue()
			}
		} else {
			var s *connect.ServerStreamForClient[wrapperspb.StringValue]
			if s, err = connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+whoamiStream).CallServerStream(ctx, req); err == nil {
				for s.Receive() {
					answer = s.Msg().GetValue()
				}
				err = s.Err()
				s.Close()
			}
		}
		var ce *connect.Error
		if errors.As(err, &ce) {
			fmt.Printf("%-6s %s: %s\n  WWW-Authenticate: %s\n", kind, ce.Code(), ce.Message(), ce.Meta().Get("WWW-Authenticate"))
			continue
		}
		fmt.Printf("%-6s ok: %s\n", kind, answer)
	}
}

// showUnary calls procedure with token and prints what came back.
func showUnary(srv *httptest.Server, procedure, token string) {
	req := connect.NewRequest(&emptypb.Empty{})
	if token != "" {
		req.Header().Set("Authorization", "Bearer "+token)
	}
	res, err := connect.NewClient[emptypb.Empty, wrapperspb.StringValue](srv.Client(), srv.URL+procedure).CallUnary(context.Background(), req)
	var ce *connect.Error
	if errors.As(err, &ce) {
		fmt.Printf("%s %s: %s\n", procedure, ce.Code(), ce.Message())
		return
	}
	fmt.Printf("%s ok: %s\n", procedure, res.Msg.GetValue())
}

// RequireRoles reads the roles where the IdP puts them: here Keycloak's
// realm roles.
func ExampleGuard_RequireRoles() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	v, err := core.New(idp.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	g := connectjwt.New(v)
	guarded := connect.WithInterceptors(g.Interceptor(), g.RequireRoles("realm_access.roles", "auditor"))
	mux := http.NewServeMux()
	mux.Handle(whoamiUnary, connect.NewUnaryHandler(whoamiUnary, hello, guarded))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, role := range []string{"auditor", "viewer"} {
		showUnary(srv, whoamiUnary, idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{role}}).Sign())
	}
	// Output:
	// /jwtguard.example.Whoami/Hello ok: hello alice
	// /jwtguard.example.Whoami/Hello permission_denied: the access token lacks the required scope
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

	guarded := connect.WithInterceptors(connectjwt.New(v, connectjwt.WithOptional()).Interceptor())
	mux := http.NewServeMux()
	mux.Handle(whoamiUnary, connect.NewUnaryHandler(whoamiUnary, hello, guarded))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		showUnary(srv, whoamiUnary, token)
	}
	// Output:
	// /jwtguard.example.Whoami/Hello ok: hello nobody
	// /jwtguard.example.Whoami/Hello ok: hello alice
	// /jwtguard.example.Whoami/Hello unauthenticated: the access token is invalid
}
