package fiberjwt_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/gofiber/fiber/v2"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func Example() {
	// A test identity provider: its JWKS is served by httptest and its
	// clock is fixed.
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
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
		req := httptest.NewRequest(http.MethodGet, call.path, nil)
		if call.token != "" {
			req.Header.Set("Authorization", "Bearer "+call.token)
		}
		resp, err := app.Test(req, -1)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(call.path, resp.Status)
		if challenge := resp.Header.Get("WWW-Authenticate"); challenge != "" {
			fmt.Println("  WWW-Authenticate:", challenge)
		}
		fmt.Printf("  %s", body)
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
