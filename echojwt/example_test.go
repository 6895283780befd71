package echojwt_test

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
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
		req, _ := http.NewRequest(http.MethodGet, srv.URL+call.path, nil)
		if call.token != "" {
			req.Header.Set("Authorization", "Bearer "+call.token)
		}
		resp, err := http.DefaultClient.Do(req)
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
