package fiberjwt_test

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

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberjwt"
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

	hello := func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.SendString("hello " + claims.Subject() + "\n")
	}
	// fasthttp refuses request headers beyond its read buffer (4 KiB by
	// default) with 431 before any handler runs; 16 KiB lets tokens of
	// max_token_bytes (8 KiB) through.
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Use(fiberjwt.Middleware(v))
	app.Get("/me", hello)
	app.Get("/admin", fiberjwt.RequireScopes(v, "admin"), hello)

	reader, admin := idp.Token("alice", "read"), idp.Token("bob", "read", "admin")
	for _, call := range []struct{ path, token string }{
		{"/me", ""}, {"/me", "not-a-jwt"}, {"/me", reader}, {"/admin", reader}, {"/admin", admin},
	} {
		show(app, call.path, call.token)
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

	hello := func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.SendString("hello " + claims.Subject() + "\n")
	}
	// problem keeps the status and the challenge of v's response.
	problem := func(c *fiber.Ctx, err *core.Error) error {
		resp := v.Response(err)
		if resp.WWWAuthenticate != "" {
			c.Set(fiber.HeaderWWWAuthenticate, resp.WWWAuthenticate)
		}
		c.Set(fiber.HeaderContentType, "application/problem+json")
		return c.Status(resp.Status).SendString(fmt.Sprintf("{\"status\":%d,\"title\":%q}\n", resp.Status, http.StatusText(resp.Status)))
	}
	// A policy is any check of verified claims; a plain error refuses
	// with 403.
	readOrAdmin := func(_ context.Context, c *core.Claims) error {
		if c.HasScope("read") || c.HasScope("admin") {
			return nil
		}
		return errors.New("neither read nor admin")
	}
	g := fiberjwt.New(v, fiberjwt.WithErrorHandler(problem))
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Use(g.Middleware)
	app.Get("/admin", g.RequireScopes("admin"), hello)
	app.Get("/reports", g.RequirePolicy(readOrAdmin), hello)

	reader, writer := idp.Token("alice", "read"), idp.Token("carol", "write")
	for _, call := range []struct{ path, token string }{
		{"/reports", ""}, {"/admin", reader}, {"/reports", reader}, {"/reports", writer},
	} {
		show(app, call.path, call.token)
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

// show sends GET path with token through app.Test and prints what came
// back.
func show(app *fiber.App, path, token string) {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := app.Test(req, -1)
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

	g := fiberjwt.New(v)
	app := fiber.New()
	app.Get("/audit", g.Middleware, g.RequireRoles("realm_access.roles", "auditor"), func(c *fiber.Ctx) error {
		return c.SendString("audit log")
	})
	for _, role := range []string{"auditor", "viewer"} {
		token := idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{role}}).Sign()
		req := httptest.NewRequest(http.MethodGet, "/audit", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := app.Test(req, -1)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(role, resp.StatusCode, strings.TrimSpace(string(body)))
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

	app := fiber.New()
	app.Get("/catalog", fiberjwt.New(v, fiberjwt.WithOptional()).Middleware, func(c *fiber.Ctx) error {
		name := "guest"
		if claims, ok := fiberjwt.Claims(c); ok {
			name = claims.Subject()
		}
		return c.SendString("catalog for " + name)
	})
	for _, token := range []string{"", idp.Token("alice"), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()} {
		req := httptest.NewRequest(http.MethodGet, "/catalog", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 catalog for guest
	// 200 catalog for alice
	// 401 {"error":"invalid_token","error_description":"the access token is invalid"}
}
