package serve_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	authv3 "github.com/envoyproxy/go-control-plane/envoy/service/auth/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"

	"github.com/jwtguard/jwtguard/cmd/jwtguard/serve"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// verifier is the service's verifier; the test kit stands in for the
// identity provider.
func verifier() (*core.Verifier, *jwtguardtest.IdP) {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	v, err := core.New(idp.Config(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	return v, idp
}

// A gateway asks /auth before it forwards a request; Traefik and Caddy
// name the original request in X-Forwarded-Method and X-Forwarded-Uri.
func Example() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	policy, err := serve.ParsePolicy([]byte(`
routes:
  - prefix: /healthz
    anonymous: true
  - prefix: /admin
    scopes: [admin]
claim_headers:
  tenant: X-Tenant
`))
	if err != nil {
		log.Fatal(err)
	}
	s, err := serve.New(v, policy)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()

	token := idp.NewToken("alice").Scopes("read").Claim("tenant", "acme").Sign()
	for _, call := range []struct{ method, uri, token string }{
		{"GET", "/orders/7", token},
		{"GET", "/orders/7", ""},
		{"DELETE", "/admin/users/3", token},
		{"GET", "/healthz", ""},
	} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+serve.AuthPath, nil)
		req.Header.Set("X-Forwarded-Method", call.method)
		req.Header.Set("X-Forwarded-Uri", call.uri)
		if call.token != "" {
			req.Header.Set("Authorization", "Bearer "+call.token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %s: %d subject=%q tenant=%q %s", call.method, call.uri, resp.StatusCode,
			resp.Header.Get(serve.HeaderSubject), resp.Header.Get("X-Tenant"), resp.Header.Get("WWW-Authenticate"))))
	}
	// Output:
	// GET /orders/7: 200 subject="alice" tenant="acme"
	// GET /orders/7: 401 subject="" tenant="" Bearer realm="api"
	// DELETE /admin/users/3: 403 subject="" tenant="" Bearer realm="api", error="insufficient_scope", scope="admin"
	// GET /healthz: 200 subject="" tenant=""
}

// Envoy's ext_authz over gRPC: the verdict as a CheckResponse.
func ExampleServer_Check() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	s, err := serve.New(v, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, authorization := range []string{"Bearer " + idp.Token("alice"), "Bearer not-a-jwt"} {
		res, err := s.Check(context.Background(), &authv3.CheckRequest{Attributes: &authv3.AttributeContext{
			Request: &authv3.AttributeContext_Request{Http: &authv3.AttributeContext_HttpRequest{
				Method: "GET", Path: "/orders/7", Headers: map[string]string{"authorization": authorization}}}}})
		if err != nil {
			log.Fatal(err)
		}
		if ok := res.GetOkResponse(); ok != nil {
			fmt.Println("OK", ok.GetHeaders()[0].GetHeader().GetKey(), ok.GetHeaders()[0].GetHeader().GetValue())
			continue
		}
		d := res.GetDeniedResponse()
		fmt.Print("denied ", res.GetStatus().GetCode(), " ", int32(d.GetStatus().GetCode()), " ", d.GetBody())
	}
	// Output:
	// OK x-auth-subject alice
	// denied 16 401 {"error":"invalid_token","error_description":"the access token is invalid"}
}

// RegisterGRPC puts ext_authz and grpc.health.v1 on a gRPC server.
func ExampleServer_RegisterGRPC() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	s, err := serve.New(v, nil)
	if err != nil {
		log.Fatal(err)
	}
	ln := bufconn.Listen(1 << 20)
	g := grpc.NewServer()
	s.RegisterGRPC(g)
	go g.Serve(ln)
	defer g.Stop()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return ln.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: "envoy.service.auth.v3.Authorization"})
	fmt.Println(res.GetStatus(), err)
	// Output:
	// SERVING <nil>
}

// A policy file that is wrong names the key and its line.
func ExampleParsePolicy() {
	_, err := serve.ParsePolicy([]byte(`
routes:
  - prefix: /admin
    scope: [admin]
`))
	var problem *serve.PolicyError
	if errors.As(err, &problem) {
		fmt.Println(problem.Key, problem.Line)
	}
	fmt.Println(err)
	// Output:
	// routes[0].scope 4
	// policy: line 4: routes[0].scope: unknown key
}

func ExampleLoadPolicy() {
	file := filepath.Join(os.TempDir(), "jwtguard-example-policy.yaml")
	if err := os.WriteFile(file, []byte("routes:\n  - prefix: /docs\n    anonymous: true\n"), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(file)
	p, err := serve.LoadPolicy(file)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(p.Routes[0].Prefix, p.Routes[0].Anonymous)
	// Output:
	// /docs true
}

// WithMetrics serves a registry's handler (promhttp's, in the command) at
// /metrics, beside /healthz and /readyz.
func ExampleWithMetrics() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "jwtguard_up 1") })
	s, err := serve.New(v, nil, serve.WithMetrics(metrics))
	if err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/metrics", "/healthz", "/readyz"} {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, path, nil))
		fmt.Print(path, " ", w.Code, " ", w.Body)
	}
	// Output:
	// /metrics 200 jwtguard_up 1
	// /healthz 200 {"status":"ok"}
	// /readyz 200 {"status":"ready"}
}

// WithLogger: the server's own lines (an unreadable original URI, a claim
// withheld from a header) go where the verifier's rejections go.
func ExampleWithLogger() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	policy := &serve.Policy{Routes: []serve.Route{{Prefix: "/docs", Anonymous: true}}}
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // a stable output
			}
			return a
		}}))
	s, err := serve.New(v, policy, serve.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	w := httptest.NewRecorder()
	s.ServeHTTP(w, httptest.NewRequest(http.MethodGet, serve.AuthPath, nil)) // no original URI
	fmt.Println(w.Code)
	// Output:
	// {"level":"INFO","msg":"jwt rejected","reason":"request_invalid","detail":"the gateway sent no original URI (X-Forwarded-Uri, X-Original-URI, or a path below /auth)"}
	// 400
}

// A changed policy file goes in force without a restart (jwtguard serve
// -watch does this on SIGHUP); one that is refused leaves the policy in
// force.
func ExampleServer_SetPolicy() {
	v, idp := verifier()
	defer idp.Close()
	defer v.Close()
	s, err := serve.New(v, &serve.Policy{Routes: []serve.Route{{Prefix: "/admin", Policies: []core.Policy{core.RequireScopes("admin")}}}})
	if err != nil {
		log.Fatal(err)
	}
	token := idp.NewToken("alice").Scopes("read").Sign()
	admin := func() int {
		req := httptest.NewRequest(http.MethodGet, serve.AuthPath, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("X-Forwarded-Method", "GET")
		req.Header.Set("X-Forwarded-Uri", "/admin")
		w := httptest.NewRecorder()
		s.ServeHTTP(w, req)
		return w.Code
	}
	fmt.Println("before:", admin())

	next, err := serve.ParsePolicy([]byte("routes:\n  - prefix: /admin\n    scopes: [read]\n"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("set:", s.SetPolicy(next), admin())
	fmt.Println("refused:", s.SetPolicy(&serve.Policy{Routes: []serve.Route{{Prefix: "admin"}}}) != nil, admin())
	// Output:
	// before: 403
	// set: <nil> 200
	// refused: true 200
}
