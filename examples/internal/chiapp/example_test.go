package chiapp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// A Guard's Middleware and checks are net/http middleware, which chi takes
// as they are: the Middleware for the group of protected routes, a check
// per route with r.With. /healthz, outside the group, needs no token.
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

	hello := func(w http.ResponseWriter, r *http.Request) {
		claims, _ := nethttpjwt.Claims(r)
		fmt.Fprintf(w, "hello %s\n", claims.Subject())
	}
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
	r := chi.NewRouter()
	r.Get("/healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok\n") })
	r.Group(func(r chi.Router) {
		r.Use(g.Middleware)
		r.With(g.RequireScopes("admin")).Get("/admin", hello)
		r.With(g.RequirePolicy(readOrAdmin)).Get("/reports", hello)
	})
	srv := httptest.NewServer(r)
	defer srv.Close()

	reader, writer := idp.Token("alice", "read"), idp.Token("carol", "write")
	for _, call := range []struct{ path, token string }{
		{"/healthz", ""}, {"/reports", ""}, {"/admin", reader}, {"/reports", reader}, {"/reports", writer},
	} {
		show(srv.URL, call.path, call.token)
	}
	// Output:
	// /healthz 200 OK
	//   ok
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
