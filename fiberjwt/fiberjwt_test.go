package fiberjwt_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// endpoint is conformance.Endpoint for fiber: the subject of the claims in
// the user context, or 500 when there are none.
func endpoint(c *fiber.Ctx) error {
	if claims, ok := core.FromContext(c.UserContext()); ok {
		return c.SendString(claims.Subject())
	}
	return c.Status(http.StatusInternalServerError).SendString("no claims in the user context")
}

func newApp(handlers ...fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Get("/", handlers...)
	app.Post("/", handlers...)
	return app
}

type response struct {
	status int
	header http.Header
	body   string
}

func send(t *testing.T, app *fiber.App, r *http.Request) response {
	t.Helper()
	resp, err := app.Test(r, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{resp.StatusCode, resp.Header, string(body)}
}

func get(t *testing.T, app *fiber.App, method string, authorization ...string) response {
	t.Helper()
	r := httptest.NewRequest(method, "/", nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	return send(t, app, r)
}

func TestErrorHandlerGetsEveryRejection(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var got []core.Reason
	onError := fiberjwt.WithErrorHandler(func(c *fiber.Ctx, err *core.Error) error {
		got = append(got, err.Reason)
		return fiber.NewError(http.StatusTeapot)
	})
	app := newApp(fiberjwt.Middleware(v, onError), fiberjwt.RequireScopes(v, "admin"), endpoint)
	for _, authorization := range [][]string{nil, {"Bearer x.y.z"}, {"Bearer " + idp.Token("alice", "read")}} {
		if r := get(t, app, http.MethodGet, authorization...); r.status != http.StatusTeapot {
			t.Errorf("status %d, want the error handler's 418", r.status)
		}
	}
	want := []core.Reason{core.ReasonTokenMissing, core.ReasonTokenMalformed, core.ReasonInsufficientScope}
	if !slices.Equal(got, want) {
		t.Errorf("error handler saw %v, want %v", got, want)
	}
}

func TestNext(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	next := fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Method() == fiber.MethodGet })
	app := newApp(fiberjwt.Middleware(v, next), func(c *fiber.Ctx) error {
		_, ok := fiberjwt.Claims(c)
		return c.SendString(map[bool]string{true: "claims", false: "no claims"}[ok])
	})
	if r := get(t, app, http.MethodGet); r.status != http.StatusOK || r.body != "no claims" {
		t.Errorf("skipped request: %d %q, want 200 without claims", r.status, r.body)
	}
	if r := get(t, app, http.MethodPost); r.status != http.StatusUnauthorized {
		t.Errorf("request not skipped: %d, want 401", r.status)
	}
}

// RequireScopes alone fails closed: without Middleware there are no claims.
func TestRequireScopesWithoutMiddleware(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	r := get(t, newApp(fiberjwt.RequireScopes(v), endpoint), http.MethodGet, "Bearer "+idp.Token("alice", "admin"))
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	if r.status != want.Status || r.header.Get("WWW-Authenticate") != want.WWWAuthenticate || r.body != string(want.Body) {
		t.Errorf("%d %q %q, want %d %q %q", r.status, r.header.Get("WWW-Authenticate"), r.body, want.Status, want.WWWAuthenticate, want.Body)
	}
}

// The user context a handler ahead set is kept: the claims are added to it.
func TestClaimsJoinUserContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	type key struct{}
	app := newApp(func(c *fiber.Ctx) error {
		c.SetUserContext(context.WithValue(c.UserContext(), key{}, "kept"))
		return c.Next()
	}, fiberjwt.Middleware(v), func(c *fiber.Ctx) error {
		claims, _ := fiberjwt.Claims(c)
		return c.SendString(claims.Subject() + " " + c.UserContext().Value(key{}).(string))
	})
	if r := get(t, app, http.MethodGet, "Bearer "+idp.Token("carol")); r.status != http.StatusOK || r.body != "carol kept" {
		t.Errorf("%d %q, want 200 %q", r.status, r.body, "carol kept")
	}
}

// fasthttp keeps both fields of a repeated header, as net/http does, so two
// Authorization headers are refused rather than one of them picked.
func TestTwoAuthorizationHeaders(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	token := "Bearer " + idp.Token("alice")
	r := get(t, newApp(fiberjwt.Middleware(v), endpoint), http.MethodGet, token, token)
	if want := v.Response(&core.Error{Reason: core.ReasonRequestInvalid}); r.status != want.Status || r.body != string(want.Body) {
		t.Errorf("%d %q, want %d %q", r.status, r.body, want.Status, want.Body)
	}
}

// The query and the cookies are read as net/http reads them, malformed
// ones included, so fiber and nethttpjwt give the same answer.
func TestRequestReadAsNetHTTP(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t, func(c *core.Config) { c.TokenSources.Query, c.TokenSources.Cookie = "access_token", "at" })
	token := idp.Token("alice")
	app := newApp(fiberjwt.Middleware(v), endpoint)
	reference := nethttpjwt.Middleware(v)(http.HandlerFunc(conformance.Endpoint))
	for _, tc := range []struct{ name, query, cookie string }{
		{name: "query", query: "access_token=" + token},
		{name: "query with a bad escape, dropped by net/http", query: "access_token=" + token + "%zz"},
		{name: "query with a semicolon, dropped by net/http", query: "access_token=" + token + ";x=1"},
		{name: "two query tokens", query: "access_token=" + token + "&access_token=" + token},
		{name: "cookie", cookie: "at=" + token},
		{name: "quoted cookie", cookie: `at="` + token + `"`},
		{name: "cookie with a backslash, dropped by net/http", cookie: "at=" + token + `\x`},
		{name: "empty cookie, then the token", cookie: "at=; at=" + token},
		{name: "query and cookie", query: "access_token=" + token, cookie: "at=" + token},
	} {
		r := httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil)
		if tc.cookie != "" {
			r.Header.Set("Cookie", tc.cookie)
		}
		want := httptest.NewRecorder()
		reference.ServeHTTP(want, r)
		if got := send(t, app, r); got.status != want.Code || got.body != want.Body.String() {
			t.Errorf("%s: fiber %d %q, net/http %d %q", tc.name, got.status, got.body, want.Code, want.Body)
		}
	}
}

// Header names match whatever their case, as in net/http, even when fiber
// keeps them as sent.
func TestHeaderNamesAsSent(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	token := "Bearer " + idp.Token("alice")
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10, DisableHeaderNormalizing: true})
	app.Get("/", fiberjwt.Middleware(v), endpoint)
	for _, header := range []http.Header{
		{"authorization": {token}},
		{"AUTHORIZATION": {token}},
		{"authorization": {token}, "Authorization": {token}},
	} {
		// net/http's server canonicalizes the names as it parses them.
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for name, values := range header {
			for _, value := range values {
				r.Header.Add(name, value)
			}
		}
		want := httptest.NewRecorder()
		nethttpjwt.Middleware(v)(http.HandlerFunc(conformance.Endpoint)).ServeHTTP(want, r)
		r.Header = header // sent as is
		if got := send(t, app, r); got.status != want.Code || got.body != want.Body.String() {
			t.Errorf("%d header fields: fiber %d %q, net/http %d %q", len(header), got.status, got.body, want.Code, want.Body)
		}
	}
}

// Why the package doc asks for ReadBufferSize: with fasthttp's default
// buffer a 6 KiB token never reaches the middleware. app.Test reports the
// read error rather than the response, so this goes over loopback.
func TestDefaultReadBufferRefusesLargeTokens(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get("/", fiberjwt.Middleware(v), endpoint)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln) }()
	defer func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-served
	}()
	r, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	r.Header.Set("Authorization", "Bearer "+idp.Token("alice", strings.Repeat("s", 6<<10)))
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("status %d, want fasthttp's own 431", resp.StatusCode)
	}
}

func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token := idp.Token("alice", "admin")
	noContent := func(c *fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }
	// The handler is driven directly, without a connection, and the
	// context is reset as fasthttp's server resets it between requests.
	run := func(b *testing.B, app *fiber.App) {
		h := app.Handler()
		var ctx fasthttp.RequestCtx
		ctx.Request.SetRequestURI("/")
		ctx.Request.Header.Set("Authorization", "Bearer "+token)
		b.ReportAllocs()
		for b.Loop() {
			h(&ctx)
			if ctx.Response.StatusCode() != http.StatusNoContent {
				b.Fatalf("status %d", ctx.Response.StatusCode())
			}
			ctx.Response.Reset()
			ctx.ResetUserValues()
		}
	}
	b.Run("with", func(b *testing.B) { run(b, newApp(fiberjwt.Middleware(v), noContent)) })
	b.Run("without", func(b *testing.B) { run(b, newApp(noContent)) })
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
