package ginjwt_test

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

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/ginjwt"
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

	gin.SetMode(gin.ReleaseMode)
	hello := func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		c.String(http.StatusOK, "hello %s\n", claims.Subject())
	}
	r := gin.New()
	api := r.Group("/", ginjwt.Middleware(v))
	api.GET("/me", hello)
	api.GET("/admin", ginjwt.RequireScopes(v, "admin"), hello)
	srv := httptest.NewServer(r)
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

	gin.SetMode(gin.ReleaseMode)
	hello := func(c *gin.Context) {
		claims, _ := ginjwt.Claims(c)
		c.String(http.StatusOK, "hello %s\n", claims.Subject())
	}
	// problem keeps the status and the challenge of v's response.
	problem := func(c *gin.Context, err *core.Error) {
		resp := v.Response(err)
		if resp.WWWAuthenticate != "" {
			c.Header("WWW-Authenticate", resp.WWWAuthenticate)
		}
		c.Data(resp.Status, "application/problem+json",
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
	g := ginjwt.New(v, ginjwt.WithErrorHandler(problem))
	r := gin.New()
	api := r.Group("/", g.Middleware)
	api.GET("/admin", g.RequireScopes("admin"), hello)
	api.GET("/reports", g.RequirePolicy(readOrAdmin), hello)
	srv := httptest.NewServer(r)
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

	gin.SetMode(gin.ReleaseMode)
	g := ginjwt.New(v)
	r := gin.New()
	r.GET("/audit", g.Middleware, g.RequireRoles("realm_access.roles", "auditor"), func(c *gin.Context) {
		c.String(http.StatusOK, "audit log")
	})
	for _, role := range []string{"auditor", "viewer"} {
		token := idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{role}}).Sign()
		req := httptest.NewRequest(http.MethodGet, "/audit", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
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

	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.GET("/catalog", ginjwt.New(v, ginjwt.WithOptional()).Middleware, func(c *gin.Context) {
		name := "guest"
		if claims, ok := ginjwt.Claims(c); ok {
			name = claims.Subject()
		}
		c.String(http.StatusOK, "catalog for "+name)
	})
	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		req := httptest.NewRequest(http.MethodGet, "/catalog", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// 200 catalog for guest
	// 200 catalog for alice
	// 401 {"error":"invalid_token","error_description":"the access token is invalid"}
}
