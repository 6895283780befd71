package nethttpjwt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
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

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		fmt.Fprintf(w, "hello %s\n", claims.Subject())
	})
	mux := http.NewServeMux()
	mux.Handle("GET /me", hello)
	mux.Handle("GET /admin", nethttpjwt.RequireScopes(v, "admin")(hello))
	srv := httptest.NewServer(nethttpjwt.Middleware(v)(mux))
	defer srv.Close()

	reader, admin := idp.Token("alice", "read"), idp.Token("bob", "read", "admin")
	for _, call := range []struct{ path, token string }{
		{"/me", ""}, {"/me", "not-a-jwt"}, {"/me", reader}, {"/admin", reader}, {"/admin", admin},
	} {
		show(srv.URL, call.path, call.token)
	}
	// Output:
	// /me 401 Unauthorized
	//   WWW-Authenticate: Bearer realm="api"
	//   {"error":"unauthorized","error_description":"authentication required"}
	// /me 401 Unauthorized
	//   WWW-Authenticate: Bearer realm="api", error="invalid_token"
	//   {"error":"invalid_token","error_description":"the access token is invalid"}
	// /me 200 OK
	//   hello alice
	// /admin 403 Forbidden
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="admin"
	//   {"error":"insufficient_scope","error_description":"the access token lacks the required scope"}
	// /admin 200 OK
	//   hello bob
}

// A Guard carries the options its Middleware and its checks share: here an
// error handler that answers RFC 9457 problem details, used alike by the
// Middleware, RequireScopes and RequirePolicy.
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

	hello := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		fmt.Fprintf(w, "hello %s\n", claims.Subject())
	})
	// problem keeps the status and the challenge of v's response.
	problem := func(w http.ResponseWriter, r *http.Request, err *core.Error) {
		resp := v.Response(err)
		if resp.WWWAuthenticate != "" {
			w.Header().Set("WWW-Authenticate", resp.WWWAuthenticate)
		}
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(resp.Status)
		fmt.Fprintf(w, "{\"status\":%d,\"title\":%q}\n", resp.Status, http.StatusText(resp.Status))
	}
	// A policy is any check of verified claims; a plain error refuses
	// with 403.
	readOrAdmin := func(_ context.Context, c *core.Claims) error {
		if c.HasScope("read") || c.HasScope("admin") {
			return nil
		}
		return errors.New("neither read nor admin")
	}
	g := nethttpjwt.New(v, nethttpjwt.WithErrorHandler(problem))
	mux := http.NewServeMux()
	mux.Handle("GET /admin", g.RequireScopes("admin")(hello))
	mux.Handle("GET /reports", g.RequirePolicy(readOrAdmin)(hello))
	srv := httptest.NewServer(g.Middleware(mux))
	defer srv.Close()

	reader, writer := idp.Token("alice", "read"), idp.Token("carol", "write")
	for _, call := range []struct{ path, token string }{
		{"/reports", ""}, {"/admin", reader}, {"/reports", reader}, {"/reports", writer},
	} {
		show(srv.URL, call.path, call.token)
	}
	// Output:
	// /reports 401 Unauthorized
	//   WWW-Authenticate: Bearer realm="api"
	//   {"status":401,"title":"Unauthorized"}
	// /admin 403 Forbidden
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope", scope="admin"
	//   {"status":403,"title":"Forbidden"}
	// /reports 200 OK
	//   hello alice
	// /reports 403 Forbidden
	//   WWW-Authenticate: Bearer realm="api", error="insufficient_scope"
	//   {"status":403,"title":"Forbidden"}
}

// show sends GET base+path with token and prints what came back.
func show(base, path, token string) {
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(path, resp.Status)
	if challenge := resp.Header.Get("WWW-Authenticate"); challenge != "" {
		fmt.Println("  WWW-Authenticate:", challenge)
	}
	fmt.Printf("  %s", body)
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

	g := nethttpjwt.New(v)
	audit := g.Middleware(g.RequireRoles("realm_access.roles", "auditor")(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "audit log\n")
	})))
	for _, roles := range []string{"auditor", "viewer"} {
		token := idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{roles}}).Sign()
		r := httptest.NewRequest(http.MethodGet, "/audit", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		audit.ServeHTTP(w, r)
		fmt.Println(roles, w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// auditor 200 audit log
	// viewer 403 {"error":"insufficient_scope","error_description":"the access token lacks the required scope"}
}

// WithOptional serves everyone, and more to a caller whose token verifies;
// a token that does not verify is refused, never taken as no token.
func ExampleWithOptional() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	v, err := core.New(idp.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	catalog := nethttpjwt.New(v, nethttpjwt.WithOptional()).Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := "guest"
		if claims, ok := nethttpjwt.Claims(r); ok {
			name = claims.Subject()
		}
		fmt.Fprintf(w, "catalog for %s", name)
	}))
	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		r := httptest.NewRequest(http.MethodGet, "/catalog", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		catalog.ServeHTTP(w, r)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 catalog for guest
	// 200 catalog for alice
	// 401 {"error":"invalid_token","error_description":"the access token is invalid"}
}
