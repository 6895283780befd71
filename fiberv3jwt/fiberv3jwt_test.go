package fiberv3jwt_test

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gofiber/fiber/v3"
	"github.com/valyala/fasthttp"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fiberv3jwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// endpoint is conformance.Endpoint for fiber: the subject of the claims in
// the request context, or 500 when there are none, but for an empty 200 at
// conformance.SkipPath.
func endpoint(c fiber.Ctx) error {
	if claims, ok := core.FromContext(c.Context()); ok {
		return c.SendString(claims.Subject())
	}
	if c.Path() == conformance.SkipPath {
		return c.SendString("") // 200, no subject
	}
	return c.Status(http.StatusInternalServerError).SendString("no claims in the request context")
}

// anonymousEndpoint is endpoint behind optional authentication: without
// claims it answers 200 with no subject, as conformance.Route.Optional
// asks.
func anonymousEndpoint(c fiber.Ctx) error {
	if claims, ok := core.FromContext(c.Context()); ok {
		return c.SendString(claims.Subject())
	}
	return c.SendString("")
}

// newApp serves the chain of handlers at / and at /healthz.
func newApp(handlers ...fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
	app.Get("/", handlers[0], anys(handlers[1:])...)
	app.Get("/healthz", handlers[0], anys(handlers[1:])...)
	return app
}

// anys converts handlers for fiber v3's routing methods, which take any
// kind of handler.
func anys(handlers []fiber.Handler) []any {
	out := make([]any, len(handlers))
	for i, h := range handlers {
		out[i] = h
	}
	return out
}

type response struct {
	status int
	header http.Header
	body   string
}

// send goes through app.Test, and so through fasthttp's own parser, with
// no timeout: a slow -race run is no failure.
func send(t *testing.T, app *fiber.App, r *http.Request) response {
	t.Helper()
	resp, err := app.Test(r, fiber.TestConfig{})
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

func get(t *testing.T, app *fiber.App, path string, authorization ...string) response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for _, a := range authorization {
		r.Header.Add("Authorization", a)
	}
	return send(t, app, r)
}

// subject answers with the subject of the claims, or "no claims".
func subject(c fiber.Ctx) error {
	if claims, ok := fiberv3jwt.Claims(c); ok {
		return c.SendString(claims.Subject())
	}
	return c.SendString("no claims")
}

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// teapot is an error handler that answers 418 and records each reason.
type teapot struct{ reasons []core.Reason }

func (t *teapot) handle(_ fiber.Ctx, err *core.Error) error {
	t.reasons = append(t.reasons, err.Reason)
	return fiber.NewError(http.StatusTeapot)
}

// Every rejection of a Guard, by its Middleware or by its checks, in front
// of them or alone, goes to the Guard's error handler.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := "Bearer " + idp.Token("alice", "read")
	for _, tc := range []struct {
		name          string
		chain         func(g *fiberv3jwt.Guard) []fiber.Handler
		authorization []string
		want          core.Reason
	}{
		{"Middleware, no token", func(g *fiberv3jwt.Guard) []fiber.Handler { return []fiber.Handler{g.Middleware} }, nil, core.ReasonTokenMissing},
		{"Middleware, malformed token", func(g *fiberv3jwt.Guard) []fiber.Handler { return []fiber.Handler{g.Middleware} }, []string{"Bearer x.y.z"}, core.ReasonTokenMalformed},
		{"RequireScopes behind Middleware", func(g *fiberv3jwt.Guard) []fiber.Handler {
			return []fiber.Handler{g.Middleware, g.RequireScopes("admin")}
		}, []string{reader}, core.ReasonInsufficientScope},
		{"RequirePolicy behind Middleware", func(g *fiberv3jwt.Guard) []fiber.Handler {
			return []fiber.Handler{g.Middleware, g.RequirePolicy(refuse)}
		}, []string{reader}, core.ReasonInsufficientScope},
		{"RequireScopes without Middleware", func(g *fiberv3jwt.Guard) []fiber.Handler {
			return []fiber.Handler{g.RequireScopes()}
		}, []string{reader}, core.ReasonTokenMissing},
		{"RequirePolicy without Middleware", func(g *fiberv3jwt.Guard) []fiber.Handler {
			return []fiber.Handler{g.RequirePolicy(allow)}
		}, []string{reader}, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError teapot
			app := newApp(append(tc.chain(fiberv3jwt.New(v, fiberv3jwt.WithErrorHandler(onError.handle))), subject)...)
			if r := get(t, app, "/", tc.authorization...); r.status != http.StatusTeapot || !slices.Equal(onError.reasons, []core.Reason{tc.want}) {
				t.Errorf("%d, error handler saw %v; want 418 and [%s]", r.status, onError.reasons, tc.want)
			}
		})
	}
}

// A check answers with its own Guard's options, whatever Middleware runs in
// front of it: nothing but the claims travels in the request context.
func TestChecksReadNoOptionsFromTheContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var onError teapot
	custom := fiberv3jwt.New(v, fiberv3jwt.WithErrorHandler(onError.handle))
	plain := fiberv3jwt.New(v)
	reader := "Bearer " + idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain []fiber.Handler
		want  int
	}{
		{"default scope check behind a Middleware with an error handler",
			[]fiber.Handler{custom.Middleware, plain.RequireScopes("admin")}, http.StatusForbidden},
		{"package-level scope check behind a Middleware with an error handler",
			[]fiber.Handler{fiberv3jwt.Middleware(v, fiberv3jwt.WithErrorHandler(onError.handle)), fiberv3jwt.RequireScopes(v, "admin")}, http.StatusForbidden},
		{"default policy check behind a Middleware with an error handler",
			[]fiber.Handler{custom.Middleware, plain.RequirePolicy(refuse)}, http.StatusForbidden},
		{"scope check with an error handler behind a default Middleware",
			[]fiber.Handler{plain.Middleware, custom.RequireScopes("admin")}, http.StatusTeapot},
		{"policy check with an error handler behind a default Middleware",
			[]fiber.Handler{fiberv3jwt.Middleware(v), custom.RequirePolicy(refuse)}, http.StatusTeapot},
	} {
		if r := get(t, newApp(append(tc.chain, subject)...), "/", reader); r.status != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, r.status, tc.want)
		}
	}
}

// The package keeps nothing of its own in a request context or in fiber's
// locals: no context.WithValue, no c.Locals or fiber.StoreInContext, no key
// type. Claims go through core.NewContext.
func TestNoContextKeyOfItsOwn(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Name == "WithValue" || n.Sel.Name == "Locals" || n.Sel.Name == "StoreInContext" {
					t.Errorf("%s: %s, a context value of the package's own", name, n.Sel.Name)
				}
			case *ast.TypeSpec:
				if strings.HasSuffix(strings.ToLower(n.Name.Name), "key") {
					t.Errorf("%s: type %s, a context key of the package's own", name, n.Name.Name)
				}
			}
			return true
		})
	}
}

// A request the Middleware skips carries no claims, whatever token it has
// and whatever was in its request context, and a check behind refuses it as
// lacking credentials; the others are authenticated as ever.
func TestNext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := fiberv3jwt.New(v, fiberv3jwt.WithNext(func(c fiber.Ctx) bool { return c.Path() == "/healthz" }))
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the request context before the
	// Middleware.
	claimsInFront := func(c fiber.Ctx) error {
		c.SetContext(core.NewContext(c.Context(), verified))
		return c.Next()
	}
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name        string
		chain       []fiber.Handler
		path, token string
		status      int
		body        string
	}{
		{"skipped without a token", []fiber.Handler{g.Middleware}, "/healthz", "", http.StatusOK, "no claims"},
		{"skipped with a valid token", []fiber.Handler{g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped with claims in the context", []fiber.Handler{claimsInFront, g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped, behind RequireScopes", []fiber.Handler{g.Middleware, g.RequireScopes("admin")}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"skipped, behind RequirePolicy", []fiber.Handler{g.Middleware, g.RequirePolicy(allow)}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"skipped with claims in the context, behind RequireScopes", []fiber.Handler{claimsInFront, g.Middleware, g.RequireScopes("admin")}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"not skipped, without a token", []fiber.Handler{g.Middleware}, "/", "", missing.Status, string(missing.Body)},
		{"not skipped, behind RequireScopes", []fiber.Handler{g.Middleware, g.RequireScopes("admin")}, "/", admin, http.StatusOK, "alice"},
	} {
		var authorization []string
		if tc.token != "" {
			authorization = []string{"Bearer " + tc.token}
		}
		if r := get(t, newApp(append(tc.chain, subject)...), tc.path, authorization...); r.status != tc.status || r.body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.body)
		}
	}
}

// The default response is the one nethttpjwt writes, headers included, and
// replaces a header of the same name set ahead of the Middleware.
func TestRejectionAsNetHTTP(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	ahead := func(c fiber.Ctx) error {
		c.Response().Header.Set("Cache-Control", "public")
		return c.Next()
	}
	reader := "Bearer " + idp.Token("alice", "read")
	reference := nethttpjwt.Middleware(v)(nethttpjwt.RequireScopes(v, "admin")(http.HandlerFunc(conformance.Endpoint)))
	app := newApp(ahead, fiberv3jwt.Middleware(v), fiberv3jwt.RequireScopes(v, "admin"), endpoint)
	for _, tc := range []struct{ name, authorization string }{
		{"no token", ""},
		{"malformed token", "Bearer x.y.z"},
		{"Bearer without a token", "Bearer"},
		{"insufficient scope", reader},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		if tc.authorization != "" {
			r.Header.Set("Authorization", tc.authorization)
		}
		want := httptest.NewRecorder()
		reference.ServeHTTP(want, r)
		got := send(t, app, r)
		if got.status != want.Code || got.body != want.Body.String() {
			t.Errorf("%s: %d %q, want %d %q", tc.name, got.status, got.body, want.Code, want.Body)
		}
		for name, values := range want.Header() {
			if g := got.header.Values(name); !slices.Equal(g, values) {
				t.Errorf("%s: %s: %q, want %q", tc.name, name, g, values)
			}
		}
	}
}

// The request context a handler ahead set is kept: the claims are added to
// it.
func TestClaimsJoinRequestContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	type key struct{}
	app := newApp(func(c fiber.Ctx) error {
		c.SetContext(context.WithValue(c.Context(), key{}, "kept"))
		return c.Next()
	}, fiberv3jwt.Middleware(v), func(c fiber.Ctx) error {
		claims, _ := fiberv3jwt.Claims(c)
		return c.SendString(claims.Subject() + " " + c.Context().Value(key{}).(string))
	})
	if r := get(t, app, "/", "Bearer "+idp.Token("carol")); r.status != http.StatusOK || r.body != "carol kept" {
		t.Errorf("%d %q, want 200 %q", r.status, r.body, "carol kept")
	}
}

// The claims are in c.Context(), not in c: fiber.Ctx is a context.Context
// too, but its Value reads c.Locals, so core.FromContext(c) finds nothing.
// The package doc tells handlers which one to pass on.
func TestClaimsInContextNotInCtx(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	app := newApp(fiberv3jwt.Middleware(v), func(c fiber.Ctx) error {
		_, inContext := core.FromContext(c.Context())
		_, inCtx := core.FromContext(c)
		return c.SendString(fmt.Sprint(inContext, inCtx))
	})
	if r := get(t, app, "/", "Bearer "+idp.Token("carol")); r.status != http.StatusOK || r.body != "true false" {
		t.Errorf("%d %q, want 200 %q", r.status, r.body, "true false")
	}
}

// fasthttp keeps both fields of a repeated header, as net/http does, so two
// Authorization headers are refused rather than one of them picked.
func TestTwoAuthorizationHeaders(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	token := "Bearer " + idp.Token("alice")
	r := get(t, newApp(fiberv3jwt.Middleware(v), endpoint), "/", token, token)
	if want := v.Response(&core.Error{Reason: core.ReasonRequestInvalid}); r.status != want.Status || r.body != string(want.Body) {
		t.Errorf("%d %q, want %d %q", r.status, r.body, want.Status, want.Body)
	}
}

// The query and the cookies are read as net/http reads them, malformed
// ones included, so fiber and nethttpjwt give the same answer.
func TestRequestReadAsNetHTTP(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t, func(c *core.Config) { c.TokenSources.Query, c.TokenSources.Cookie = "access_token", "at" })
	token := idp.Token("alice")
	app := newApp(fiberv3jwt.Middleware(v), endpoint)
	reference := nethttpjwt.Middleware(v)(http.HandlerFunc(conformance.Endpoint))
	for _, tc := range []struct {
		name, query string
		cookies     []string
	}{
		{name: "query", query: "access_token=" + token},
		{name: "query with a bad escape, dropped by net/http", query: "access_token=" + token + "%zz"},
		{name: "query with a semicolon, dropped by net/http", query: "access_token=" + token + ";x=1"},
		{name: "two query tokens", query: "access_token=" + token + "&access_token=" + token},
		{name: "cookie", cookies: []string{"at=" + token}},
		{name: "quoted cookie", cookies: []string{`at="` + token + `"`}},
		{name: "cookie with a backslash, dropped by net/http", cookies: []string{"at=" + token + `\x`}},
		{name: "empty cookie, then the token", cookies: []string{"at=; at=" + token}},
		{name: "two Cookie fields", cookies: []string{"a=1", "at=" + token}},
		{name: "query and cookie", query: "access_token=" + token, cookies: []string{"at=" + token}},
	} {
		r := httptest.NewRequest(http.MethodGet, "/?"+tc.query, nil)
		for _, c := range tc.cookies {
			r.Header.Add("Cookie", c)
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
	app.Get("/", fiberv3jwt.Middleware(v), endpoint)
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
// buffer a 6 KiB token never reaches the verifier, and fiber's
// ErrorHandler answers 431. Mounted with app.Use, the Middleware still runs
// for that request, as fiber v3 runs its Use handlers on a request fasthttp
// refused: it finds no token, so the 431 carries its challenge, and an
// error handler sees token_missing. app.Test reports the read error rather
// than the response, so this goes over loopback.
func TestDefaultReadBufferRefusesLargeTokens(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	large := "Bearer " + idp.Token("alice", strings.Repeat("s", 6<<10))
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name         string
		use          bool
		errorHandler bool
		challenge    string
		reasons      []core.Reason
	}{
		{name: "on the route"},
		{name: "on the route, with an error handler", errorHandler: true},
		{name: "with app.Use", use: true, challenge: missing.WWWAuthenticate},
		{name: "with app.Use, with an error handler", use: true, errorHandler: true, reasons: []core.Reason{core.ReasonTokenMissing}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError teapot
			var opts []fiberv3jwt.Option
			if tc.errorHandler {
				opts = append(opts, fiberv3jwt.WithErrorHandler(onError.handle))
			}
			app := fiber.New()
			if tc.use {
				app.Use(fiberv3jwt.Middleware(v, opts...))
				app.Get("/", endpoint)
			} else {
				app.Get("/", fiberv3jwt.Middleware(v, opts...), endpoint)
			}
			resp := overLoopback(t, app, large)
			if resp.status != http.StatusRequestHeaderFieldsTooLarge || resp.body != tooLarge {
				t.Errorf("%d %q, want fiber's own 431", resp.status, resp.body)
			}
			if got := resp.header.Get("WWW-Authenticate"); got != tc.challenge {
				t.Errorf("WWW-Authenticate %q, want %q", got, tc.challenge)
			}
			if !slices.Equal(onError.reasons, tc.reasons) {
				t.Errorf("error handler saw %v, want %v", onError.reasons, tc.reasons)
			}
		})
	}
}

// tooLarge is what fiber's default ErrorHandler answers a 431 with.
const tooLarge = "Request Header Fields Too Large"

// overLoopback serves app on a loopback listener for one GET / with the
// Authorization header given.
func overLoopback(t *testing.T, app *fiber.App, authorization string) response {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- app.Listener(ln, fiber.ListenConfig{DisableStartupMessage: true}) }()
	defer func() {
		if err := app.Shutdown(); err != nil {
			t.Error(err)
		}
		<-served
	}()
	r, _ := http.NewRequest(http.MethodGet, "http://"+ln.Addr().String()+"/", nil)
	r.Header.Set("Authorization", authorization)
	resp, err := http.DefaultClient.Do(r)
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

func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token := idp.Token("alice", "admin")
	noContent := func(c fiber.Ctx) error { return c.SendStatus(http.StatusNoContent) }
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
	b.Run("with", func(b *testing.B) { run(b, newApp(fiberv3jwt.Middleware(v), noContent)) })
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

// RequireRoles, on a Guard and on its own, grants a request whose claims
// hold the roles and refuses others with 403 and no scope in the
// challenge: roles are not OAuth scopes.
func TestRequireRoles(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := fiberv3jwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	forbidden := v.Response(&core.Error{Reason: core.ReasonInsufficientScope})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		chain  []fiber.Handler
		token  string
		status int
		body   string
	}{
		{"Guard, role held", []fiber.Handler{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read", "Orders.Admin"), http.StatusOK, "alice"},
		{"Guard, role missing", []fiber.Handler{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read"), forbidden.Status, string(forbidden.Body)},
		{"Guard, roles not strings", []fiber.Handler{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Admin", 1), forbidden.Status, string(forbidden.Body)},
		{"package-level, role held", []fiber.Handler{fiberv3jwt.Middleware(v), fiberv3jwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), http.StatusOK, "alice"},
		{"package-level, role missing", []fiber.Handler{fiberv3jwt.Middleware(v), fiberv3jwt.RequireRoles(v, "roles", "Orders.Admin")}, entra(), forbidden.Status, string(forbidden.Body)},
		{"no Middleware in front", []fiber.Handler{fiberv3jwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), missing.Status, string(missing.Body)},
	} {
		r := get(t, newApp(append(tc.chain, subject)...), "/", "Bearer "+tc.token)
		if r.status != tc.status || r.body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.body)
		}
		if challenge := r.header.Get("WWW-Authenticate"); strings.Contains(challenge, "scope=") {
			t.Errorf("%s: a role refusal names a scope: %s", tc.name, challenge)
		}
	}
}

// WithOptional lets a request without credentials through without claims;
// any token is judged as without the option, and a check behind still
// refuses an anonymous request.
func TestOptional(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := fiberv3jwt.New(v, fiberv3jwt.WithOptional())
	invalid := v.Response(&core.Error{Reason: core.ReasonTokenExpired})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name          string
		chain         []fiber.Handler
		authorization []string
		status        int
		body          string
	}{
		{"no token", []fiber.Handler{g.Middleware}, nil, http.StatusOK, "no claims"},
		{"valid token", []fiber.Handler{g.Middleware}, []string{"Bearer " + idp.Token("alice")}, http.StatusOK, "alice"},
		{"expired token", []fiber.Handler{g.Middleware}, []string{"Bearer " + idp.NewToken("alice").ExpiresIn(-time.Hour).Sign()}, invalid.Status, string(invalid.Body)},
		{"malformed token", []fiber.Handler{g.Middleware}, []string{"Bearer not-a-jwt"}, invalid.Status, string(invalid.Body)},
		{"no token, behind RequireScopes", []fiber.Handler{g.Middleware, g.RequireScopes("read")}, nil, missing.Status, string(missing.Body)},
		{"without the option, no token", []fiber.Handler{fiberv3jwt.Middleware(v)}, nil, missing.Status, string(missing.Body)},
	} {
		if r := get(t, newApp(append(tc.chain, subject)...), "/", tc.authorization...); r.status != tc.status || r.body != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, r.status, r.body, tc.status, tc.body)
		}
	}
}
