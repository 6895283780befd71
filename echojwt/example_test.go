package echojwt_test

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

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
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

	hello := func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		return c.String(http.StatusOK, "hello "+claims.Subject()+"\n")
	}
	e := echo.New()
	e.Use(echojwt.Middleware(v))
	e.GET("/me", hello)
	e.GET("/admin", hello, echojwt.RequireScopes(v, "admin"))
	srv := httptest.NewServer(e)
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

	hello := func(c echo.Context) error {
		claims, _ := echojwt.Claims(c)
		return c.String(http.StatusOK, "hello "+claims.Subject()+"\n")
	}
	// problem keeps the status and the challenge of v's response.
	problem := func(c echo.Context, err *core.Error) error {
		resp := v.Response(err)
		if resp.WWWAuthenticate != "" {
			c.Response().Header().Set("WWW-Authenticate", resp.WWWAuthenticate)
		}
		return c.Blob(resp.Status, "application/problem+json",
			fmt.Appendf(nil, "{\"status\":%d,\"title\":%q}\n", resp.Status, http.StatusText(resp.Status)))
	}
	// A policy is any check of verified claims; a plain error refuses
	// with 403.
	readOrAdmin := func(_ context.Context, c *core.Claims) error {
		if c.HasScope("read") || c.HasScope("admin") {
			return nil
		}
		return errors.New("neither read nor admin")
	}
	g := echojwt.New(v, echojwt.WithErrorHandler(problem))
	e := echo.New()
	e.Use(g.Middleware)
	e.GET("/admin", hello, g.RequireScopes("admin"))
	e.GET("/reports", hello, g.RequirePolicy(readOrAdmin))
	srv := httptest.NewServer(e)
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

	g := echojwt.New(v)
	e := echo.New()
	e.GET("/audit", func(c echo.Context) error {
		return c.String(http.StatusOK, "audit log")
	}, g.Middleware, g.RequireRoles("realm_access.roles", "auditor"))
	for _, role := range []string{"auditor", "viewer"} {
		token := idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{role}}).Sign()
		req := httptest.NewRequest(http.MethodGet, "/audit", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(role, w.Code, strings.TrimSpace(w.Body.String()))
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

	e := echo.New()
	e.GET("/catalog", func(c echo.Context) error {
		name := "guest"
		if claims, ok := echojwt.Claims(c); ok {
			name = claims.Subject()
		}
		return c.String(http.StatusOK, "catalog for "+name)
	}, echojwt.New(v, echojwt.WithOptional()).Middleware)
	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		req := httptest.NewRequest(http.MethodGet, "/catalog", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		e.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 catalog for guest
	// 200 catalog for alice
	// 401 {"error":"invalid_token","error_description":"the access token is invalid"}
}
