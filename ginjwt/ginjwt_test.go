package ginjwt_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

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
func subject(c *gin.Context) {
	if claims, ok := ginjwt.Claims(c); ok {
		c.String(http.StatusOK, claims.Subject())
		return
	}
	c.String(http.StatusOK, "no claims")
}

// router serves the chain of handlers at / and at /healthz.
func router(handlers ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.GET("/", handlers...)
	r.GET("/healthz", handlers...)
	return r
}

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// teapot is an error handler that answers 418 and records each reason.
type teapot struct{ reasons []core.Reason }

func (t *teapot) handle(c *gin.Context, err *core.Error) {
	t.reasons = append(t.reasons, err.Reason)
	c.Status(http.StatusTeapot) // no Abort: the Guard aborts anyway
}

// Every rejection of a Guard, by its Middleware or by its checks, in front
// of them or alone, goes to the Guard's error handler, and the chain stops.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain func(g *ginjwt.Guard) []gin.HandlerFunc
		token string
		want  core.Reason
	}{
		{"Middleware, no token", func(g *ginjwt.Guard) []gin.HandlerFunc { return []gin.HandlerFunc{g.Middleware} }, "", core.ReasonTokenMissing},
		{"Middleware, malformed token", func(g *ginjwt.Guard) []gin.HandlerFunc { return []gin.HandlerFunc{g.Middleware} }, "x.y.z", core.ReasonTokenMalformed},
		{"RequireScopes behind Middleware", func(g *ginjwt.Guard) []gin.HandlerFunc {
			return []gin.HandlerFunc{g.Middleware, g.RequireScopes("admin")}
		}, reader, core.ReasonInsufficientScope},
		{"RequirePolicy behind Middleware", func(g *ginjwt.Guard) []gin.HandlerFunc {
			return []gin.HandlerFunc{g.Middleware, g.RequirePolicy(refuse)}
		}, reader, core.ReasonInsufficientScope},
		{"RequireScopes without Middleware", func(g *ginjwt.Guard) []gin.HandlerFunc {
			return []gin.HandlerFunc{g.RequireScopes()}
		}, reader, core.ReasonTokenMissing},
		{"RequirePolicy without Middleware", func(g *ginjwt.Guard) []gin.HandlerFunc {
			return []gin.HandlerFunc{g.RequirePolicy(allow)}
		}, reader, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError teapot
			h := router(append(tc.chain(ginjwt.New(v, ginjwt.WithErrorHandler(onError.handle))), subject)...)
			w := get(h, "/", tc.token)
			if w.Code != http.StatusTeapot || w.Body.Len() != 0 || !slices.Equal(onError.reasons, []core.Reason{tc.want}) {
				t.Errorf("%d %q, error handler saw %v; want 418, the chain aborted and [%s]", w.Code, w.Body, onError.reasons, tc.want)
			}
		})
	}
}

// A check answers with its own Guard's options, whatever Middleware runs in
// front of it: nothing but the claims travels along the chain.
func TestChecksReadNoOptionsFromTheContext(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var onError teapot
	custom := ginjwt.New(v, ginjwt.WithErrorHandler(onError.handle))
	plain := ginjwt.New(v)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain []gin.HandlerFunc
		want  int
	}{
		{"default scope check behind a Middleware with an error handler",
			[]gin.HandlerFunc{custom.Middleware, plain.RequireScopes("admin")}, http.StatusForbidden},
		{"package-level scope check behind a Middleware with an error handler",
			[]gin.HandlerFunc{ginjwt.Middleware(v, ginjwt.WithErrorHandler(onError.handle)), ginjwt.RequireScopes(v, "admin")}, http.StatusForbidden},
		{"default policy check behind a Middleware with an error handler",
			[]gin.HandlerFunc{custom.Middleware, plain.RequirePolicy(refuse)}, http.StatusForbidden},
		{"scope check with an error handler behind a default Middleware",
			[]gin.HandlerFunc{plain.Middleware, custom.RequireScopes("admin")}, http.StatusTeapot},
		{"policy check with an error handler behind a default Middleware",
			[]gin.HandlerFunc{ginjwt.Middleware(v), custom.RequirePolicy(refuse)}, http.StatusTeapot},
	} {
		if w := get(router(append(tc.chain, subject)...), "/", reader); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}

// The package keeps nothing of its own in a request context or in gin's:
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
	g := ginjwt.New(v, ginjwt.WithSkipper(func(c *gin.Context) bool { return c.FullPath() == "/healthz" }))
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the context before the Middleware runs.
	claimsInFront := func(c *gin.Context) {
		c.Request = c.Request.WithContext(core.NewContext(c.Request.Context(), verified))
	}
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name        string
		chain       []gin.HandlerFunc
		path, token string
		status      int
		body        string
	}{
		{"skipped without a token", []gin.HandlerFunc{g.Middleware}, "/healthz", "", http.StatusOK, "no claims"},
		{"skipped with a valid token", []gin.HandlerFunc{g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped with claims in the context", []gin.HandlerFunc{claimsInFront, g.Middleware}, "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped, behind RequireScopes", []gin.HandlerFunc{g.Middleware, g.RequireScopes("admin")}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"skipped, behind RequirePolicy", []gin.HandlerFunc{g.Middleware, g.RequirePolicy(allow)}, "/healthz", admin, missing.Status, string(missing.Body)},
		{"not skipped, without a token", []gin.HandlerFunc{g.Middleware}, "/", "", missing.Status, string(missing.Body)},
		{"not skipped, behind RequireScopes", []gin.HandlerFunc{g.Middleware, g.RequireScopes("admin")}, "/", admin, http.StatusOK, "alice"},
	} {
		if w := get(router(append(tc.chain, subject)...), tc.path, tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	h := router(ginjwt.Middleware(v), func(c *gin.Context) {
		claims, ok := core.FromContext(c.Request.Context())
		if !ok {
			c.String(http.StatusInternalServerError, "no claims in the request context")
			return
		}
		c.String(http.StatusOK, claims.Subject())
	})
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

func noContent(c *gin.Context) { c.Status(http.StatusNoContent) }

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
	b.Run("with", func(b *testing.B) { run(b, router(ginjwt.Middleware(v), noContent)) })
	b.Run("without", func(b *testing.B) { run(b, router(noContent)) })
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
	g := ginjwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	forbidden := v.Response(&core.Error{Reason: core.ReasonInsufficientScope})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		chain  []gin.HandlerFunc
		token  string
		status int
		body   string
	}{
		{"Guard, role held", []gin.HandlerFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read", "Orders.Admin"), http.StatusOK, "alice"},
		{"Guard, role missing", []gin.HandlerFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Read"), forbidden.Status, string(forbidden.Body)},
		{"Guard, roles not strings", []gin.HandlerFunc{g.Middleware, g.RequireRoles("roles", "Orders.Admin")}, entra("Orders.Admin", 1), forbidden.Status, string(forbidden.Body)},
		{"package-level, role held", []gin.HandlerFunc{ginjwt.Middleware(v), ginjwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), http.StatusOK, "alice"},
		{"package-level, role missing", []gin.HandlerFunc{ginjwt.Middleware(v), ginjwt.RequireRoles(v, "roles", "Orders.Admin")}, entra(), forbidden.Status, string(forbidden.Body)},
		{"no Middleware in front", []gin.HandlerFunc{ginjwt.RequireRoles(v, "roles", "Orders.Admin")}, entra("Orders.Admin"), missing.Status, string(missing.Body)},
	} {
		w := get(router(append(tc.chain, subject)...), "/", tc.token)
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
	g := ginjwt.New(v, ginjwt.WithOptional())
	invalid := v.Response(&core.Error{Reason: core.ReasonTokenExpired})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		chain  []gin.HandlerFunc
		token  string
		status int
		body   string
	}{
		{"no token", []gin.HandlerFunc{g.Middleware}, "", http.StatusOK, "no claims"},
		{"valid token", []gin.HandlerFunc{g.Middleware}, idp.Token("alice"), http.StatusOK, "alice"},
		{"expired token", []gin.HandlerFunc{g.Middleware}, idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), invalid.Status, string(invalid.Body)},
		{"malformed token", []gin.HandlerFunc{g.Middleware}, "not-a-jwt", invalid.Status, string(invalid.Body)},
		{"no token, behind RequireScopes", []gin.HandlerFunc{g.Middleware, g.RequireScopes("read")}, "", missing.Status, string(missing.Body)},
		{"without the option, no token", []gin.HandlerFunc{ginjwt.Middleware(v)}, "", missing.Status, string(missing.Body)},
	} {
		if w := get(router(append(tc.chain, subject)...), "/", tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}
