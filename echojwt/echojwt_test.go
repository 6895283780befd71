package echojwt_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func get(h http.Handler, path, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, path, nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// subject answers with the subject of the claims, or "no claims".
func subject(c echo.Context) error {
	if claims, ok := echojwt.Claims(c); ok {
		return c.String(http.StatusOK, claims.Subject())
	}
	return c.String(http.StatusOK, "no claims")
}

// server serves h behind mw at / and at /healthz.
func server(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET("/", h, mw...)
	e.GET("/healthz", h, mw...)
	return e
}

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// teapot is an error handler that answers 418 and records each reason.
type teapot struct{ reasons []core.Reason }

func (t *teapot) handle(_ echo.Context, err *core.Error) error {
	t.reasons = append(t.reasons, err.Reason)
	return echo.NewHTTPError(http.StatusTeapot)
}

// Every rejection of a Guard, by its Middleware or by its checks, in front
// of them or alone, goes to the Guard's error handler.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain func(g *echojwt.Guard) []echo.MiddlewareFunc
		token string
		want  core.Reason
	}{
		{"Middleware, no token", func(g *echojwt.Guard) []echo.MiddlewareFunc { return []echo.MiddlewareFunc{g.Middleware} }, "", core.ReasonTokenMissing},
		{"Middleware, malformed token", func(g *echojwt.Guard) []echo.MiddlewareFunc { return []echo.MiddlewareFunc{g.Middleware} }, "x.y.z", core.ReasonTokenMalformed},
		{"RequireScopes behind Middleware", func(g *echojwt.Guard) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{g.Middleware, g.RequireScopes("admin")}
		}, reader, core.ReasonInsufficientScope},
		{"RequirePolicy behind Middleware", func(g *echojwt.Guard) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{g.Middleware, g.RequirePolicy(refuse)}
		}, reader, core.ReasonInsufficientScope},
		{"RequireScopes without Middleware", func(g *echojwt.Guard) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{g.RequireScopes()}
		}, reader, core.ReasonTokenMissing},
		{"RequirePolicy without Middleware", func(g *echojwt.Guard) []echo.MiddlewareFunc {
			return []echo.MiddlewareFunc{g.RequirePolicy(allow)}
		}, reader, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError teapot
			h := server(subject, tc.chain(echojwt.New(v, echojwt.WithErrorHandler(onError.handle)))...)
			if w := get(h, "/", tc.token); w.Code != http.StatusTeapot || !slices.Equal(onError.reasons, []core.Reason{tc.want}) {
				t.Errorf("%d, error handler saw %v; want 418 and [%s]", w.Code, onError.reasons, tc.want)
			}
		})
	}
}

// A check answers with its own Guard's options, whatever Middleware runs in
// front of it: nothing but the claims travels in the request context.
func TestChecksReadNoOptionsFromTheContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var onError teapot
	custom := echojwt.New(v, echojwt.WithErrorHandler(onError.handle))
	plain := echojwt.New(v)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain []echo.MiddlewareFunc
		want  int
	}{
		{"default scope check behind a Middleware with an error handler",
			[]echo.MiddlewareFunc{custom.Middleware, plain.RequireScopes("admin")}, http.StatusForbidden},
		{"package-level scope check behind a Middleware with an error handler",
			[]echo.MiddlewareFunc{echojwt.Middleware(v, echojwt.WithErrorHandler(onError.handle)), echojwt.RequireScopes(v, "admin")}, http.StatusForbidden},
		{"default policy check behind a Middleware with an error handler",
			[]echo.MiddlewareFunc{custom.Middleware, plain.RequirePolicy(refuse)}, http.StatusForbidden},
		{"scope check with an error handler behind a default Middleware",
			[]echo.MiddlewareFunc{plain.Middleware, custom.RequireScopes("admin")}, http.StatusTeapot},
		{"policy check with an error handler behind a default Middleware",
			[]echo.MiddlewareFunc{echojwt.Middleware(v), custom.RequirePolicy(refuse)}, http.StatusTeapot},
	} {
		if w := get(server(subject, tc.chain...), "/", reader); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}

// The package keeps nothing of its own in a request context or in echo's:
// no context.WithValue, no c.Set, no key type. Claims go through
// core.NewContext.
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
				if n.Sel.Name == "WithValue" || n.Sel.Name == "Set" {
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
// and whatever was in its context, and a check behind refuses it as lacking
// credentials; the others are authenticated as ever.
func TestSkip(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := echojwt.New(v, echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == "/healthz" }))
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the context before the Middleware runs.
	claimsInFront := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.SetRequest(c.Request().WithContext(core.NewContext(c.Request().Context(), verified)))
			return next(c)
		}
	}
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name        string
		chain       []echo.MiddlewareFunc
		path, token string
		status      int
		body        string
	}{
		{"skipped without a token", []echo.MiddlewareFunc{g.Middleware}, "/healthz", "", http.StatusOK, "no claims"},
		{"skipped with a valid token", []echo.MiddlewareFunc{g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped with claims in the context", []echo.MiddlewareFunc{claimsInFront, g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped, behind RequireScopes", []echo.MiddlewareFunc{g.Middleware, g.RequireScopes("admin")}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"skipped, behind RequirePolicy", []echo.MiddlewareFunc{g.Middleware, g.RequirePolicy(allow)}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"not skipped, without a token", []echo.MiddlewareFunc{g.Middleware}, "/", "", missing.Status, string(missing.Body)},
		{"not skipped, behind RequireScopes", []echo.MiddlewareFunc{g.Middleware, g.RequireScopes("admin")}, "/", admin, http.StatusOK, "alice"},
	} {
		if w := get(server(subject, tc.chain...), tc.path, tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

// The default response commits echo's Response and returns nil, so echo's
// HTTPErrorHandler sees no error and writes nothing more.
func TestRejectionCommitsResponse(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	e := server(subject, echojwt.Middleware(v))
	var handled []error
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled = append(handled, err) }
	w := get(e, "/", "")
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	if w.Code != want.Status || w.Body.String() != string(want.Body) || len(handled) != 0 {
		t.Errorf("%d %q, errors %v; want %d %q and no error", w.Code, w.Body, handled, want.Status, want.Body)
	}
}

// When a middleware ahead already committed the response, the rejection
// cannot be written; it goes to echo's error handler and the handler never
// runs.
func TestRejectionAfterCommit(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	early := func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error { c.Response().WriteHeader(http.StatusAccepted); return next(c) }
	}
	e := server(subject, early, echojwt.Middleware(v))
	var handled []error
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled = append(handled, err) }
	w := get(e, "/", "")
	var rejection *core.Error
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 || len(handled) != 1 ||
		!errors.As(handled[0], &rejection) || rejection.Reason != core.ReasonTokenMissing {
		t.Errorf("%d %q, errors %v; want 202, no body and token_missing handed to echo", w.Code, w.Body, handled)
	}
}

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	h := server(func(c echo.Context) error {
		claims, ok := core.FromContext(c.Request().Context())
		if !ok {
			return c.String(http.StatusInternalServerError, "no claims in the request context")
		}
		return c.String(http.StatusOK, claims.Subject())
	}, echojwt.Middleware(v))
	if w := get(h, "/", idp.Token("carol")); w.Code != http.StatusOK || w.Body.String() != "carol" {
		t.Errorf("%d %q, want 200 carol", w.Code, w.Body)
	}
}

// discard is a ResponseWriter that costs nothing, so the benchmarks
// measure the middleware rather than the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func noContent(c echo.Context) error { return c.NoContent(http.StatusNoContent) }

// The cost the middleware adds is with minus without minus verify.
func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token := idp.Token("alice", "admin")
	run := func(b *testing.B, h http.Handler) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := &discard{h: http.Header{}}
		b.ReportAllocs()
		for b.Loop() {
			h.ServeHTTP(w, r)
		}
	}
	b.Run("with", func(b *testing.B) { run(b, server(noContent, echojwt.Middleware(v))) })
	b.Run("without", func(b *testing.B) { run(b, server(noContent)) })
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
	g := echojwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	forbidden := v.Response(&core.Error{Reason: core.ReasonInsufficientScope})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		chain  []echo.MiddlewareFunc
		token  string
		status int
		body   string
	}{
		{"Guard, role held", []echo.MiddlewareFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read", "Orders.Admin"), http.StatusOK, "alice"},
		{"Guard, role missing", []echo.MiddlewareFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read"), forbidden.Status, string(forbidden.Body)},
		{"Guard, roles not strings", []echo.MiddlewareFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Admin", 1), forbidden.Status, string(forbidden.Body)},
		{"package-level, role held", []echo.MiddlewareFunc{echojwt.Middleware(v), echojwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), http.StatusOK, "alice"},
		{"package-level, role missing", []echo.MiddlewareFunc{echojwt.Middleware(v), echojwt.RequireRoles(v, "roles", "Orders.Admin")}, entra(), forbidden.Status, string(forbidden.Body)},
		{"no Middleware in front", []echo.MiddlewareFunc{echojwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), missing.Status, string(missing.Body)},
	} {
		w := get(server(subject, tc.chain...), "/", tc.token)
		if w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
		if challenge := w.Header().Get("WWW-Authenticate"); strings.Contains(challenge, "scope=") {
			t.Errorf("%s: a role refusal names a scope: %s", tc.name, challenge)
		}
	}
}

// WithOptional lets a request without credentials through without claims;
// any token is judged as without the option, and a check behind still
// refuses an anonymous request.
func TestOptional(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := echojwt.New(v, echojwt.WithOptional())
	invalid := v.Response(&core.Error{Reason: core.ReasonTokenExpired})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		chain  []echo.MiddlewareFunc
		token  string
		status int
		body   string
	}{
		{"no token", []echo.MiddlewareFunc{g.Middleware}, "", http.StatusOK, "no claims"},
		{"valid token", []echo.MiddlewareFunc{g.Middleware}, idp.Token("alice"), http.StatusOK, "alice"},
		{"expired token", []echo.MiddlewareFunc{g.Middleware}, idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), invalid.Status, string(invalid.Body)},
		{"malformed token", []echo.MiddlewareFunc{g.Middleware}, "not-a-jwt", invalid.Status, string(invalid.Body)},
		{"no token, behind RequireScopes", []echo.MiddlewareFunc{g.Middleware, g.RequireScopes("read")}, "", missing.Status, string(missing.Body)},
		{"without the option, no token", []echo.MiddlewareFunc{echojwt.Middleware(v)}, "", missing.Status, string(missing.Body)},
	} {
		if w := get(server(subject, tc.chain...), "/", tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}
