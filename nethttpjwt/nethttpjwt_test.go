package nethttpjwt_test

import (
	"context"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
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
var subject = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := nethttpjwt.Claims(r)
	if !ok {
		io.WriteString(w, "no claims")
		return
	}
	io.WriteString(w, c.Subject())
})

// Policies that grant everything and nothing.
func allow(context.Context, *core.Claims) error  { return nil }
func refuse(context.Context, *core.Claims) error { return errors.New("refused") }

// teapot is an error handler that answers 418 and records each reason.
type teapot struct{ reasons []core.Reason }

func (t *teapot) handle(w http.ResponseWriter, _ *http.Request, err *core.Error) {
	t.reasons = append(t.reasons, err.Reason)
	w.WriteHeader(http.StatusTeapot)
}

// Every rejection of a Guard, by its Middleware or by its checks, in front
// of them or alone, goes to the Guard's error handler.
func TestGuardErrorHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	reader := idp.Token("alice", "read")
	for _, tc := range []struct {
		name  string
		chain func(g *nethttpjwt.Guard) http.Handler
		token string
		want  core.Reason
	}{
		{"Middleware, no token", func(g *nethttpjwt.Guard) http.Handler { return g.Middleware(subject) }, "", core.ReasonTokenMissing},
		{"Middleware, malformed token", func(g *nethttpjwt.Guard) http.Handler { return g.Middleware(subject) }, "x.y.z", core.ReasonTokenMalformed},
		{"RequireScopes behind Middleware", func(g *nethttpjwt.Guard) http.Handler {
			return g.Middleware(g.RequireScopes("admin")(subject))
		}, reader, core.ReasonInsufficientScope},
		{"RequirePolicy behind Middleware", func(g *nethttpjwt.Guard) http.Handler {
			return g.Middleware(g.RequirePolicy(refuse)(subject))
		}, reader, core.ReasonInsufficientScope},
		{"RequireScopes without Middleware", func(g *nethttpjwt.Guard) http.Handler {
			return g.RequireScopes()(subject)
		}, reader, core.ReasonTokenMissing},
		{"RequirePolicy without Middleware", func(g *nethttpjwt.Guard) http.Handler {
			return g.RequirePolicy(allow)(subject)
		}, reader, core.ReasonTokenMissing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var onError teapot
			h := tc.chain(nethttpjwt.New(v, nethttpjwt.WithErrorHandler(onError.handle)))
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
	custom := nethttpjwt.New(v, nethttpjwt.WithErrorHandler(onError.handle))
	plain := nethttpjwt.New(v)
	reader := idp.Token("alice", "read")
	rfc6750 := v.Response(&core.Error{Reason: core.ReasonInsufficientScope, Scopes: []string{"admin"}}).Status
	for _, tc := range []struct {
		name string
		h    http.Handler
		want int
	}{
		{"default scope check behind a Middleware with an error handler",
			custom.Middleware(plain.RequireScopes("admin")(subject)), rfc6750},
		{"package-level scope check behind a Middleware with an error handler",
			nethttpjwt.Middleware(v, nethttpjwt.WithErrorHandler(onError.handle))(nethttpjwt.RequireScopes(v, "admin")(subject)), rfc6750},
		{"default policy check behind a Middleware with an error handler",
			custom.Middleware(plain.RequirePolicy(refuse)(subject)), http.StatusForbidden},
		{"scope check with an error handler behind a default Middleware",
			plain.Middleware(custom.RequireScopes("admin")(subject)), http.StatusTeapot},
		{"policy check with an error handler behind a default Middleware",
			nethttpjwt.Middleware(v)(custom.RequirePolicy(refuse)(subject)), http.StatusTeapot},
	} {
		if w := get(tc.h, "/", reader); w.Code != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, w.Code, tc.want)
		}
	}
}

// The package keeps nothing of its own in a request context: no
// context.WithValue, no key type. Claims go through core.NewContext.
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
				if n.Sel.Name == "WithValue" {
					t.Errorf("%s: context.WithValue, a context value of the package's own", name)
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
	g := nethttpjwt.New(v, nethttpjwt.WithSkipper(func(r *http.Request) bool { return r.URL.Path == "/healthz" }))
	admin := idp.Token("alice", "admin")
	verified, err := v.Verify(context.Background(), admin)
	if err != nil {
		t.Fatal(err)
	}
	// claimsInFront puts claims in the context before the Middleware runs.
	claimsInFront := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), verified)))
		})
	}
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name        string
		h           http.Handler
		path, token string
		status      int
		body        string
	}{
		{"skipped without a token", g.Middleware(subject), "/healthz", "", http.StatusOK, "no claims"},
		{"skipped with a valid token", g.Middleware(subject), "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped with claims in the context", claimsInFront(g.Middleware(subject)), "/healthz", admin, http.StatusOK, "no claims"},
		{"skipped, behind RequireScopes", g.Middleware(g.RequireScopes("admin")(subject)), "/healthz", admin, missing.Status, string(missing.Body)},
		{"skipped, behind RequirePolicy", g.Middleware(g.RequirePolicy(allow)(subject)), "/healthz", admin, missing.Status, string(missing.Body)},
		{"not skipped, without a token", g.Middleware(subject), "/", "", missing.Status, string(missing.Body)},
		{"not skipped, behind RequireScopes", g.Middleware(g.RequireScopes("admin")(subject)), "/", admin, http.StatusOK, "alice"},
	} {
		if w := get(tc.h, tc.path, tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	if w := get(nethttpjwt.Handler(v, subject), "/", idp.Token("carol")); w.Code != http.StatusOK || w.Body.String() != "carol" {
		t.Errorf("%d %q, want 200 carol", w.Code, w.Body)
	}
}

// discard is a ResponseWriter that costs nothing, so the benchmarks
// measure the middleware rather than the recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

func benchmarkHandler(b *testing.B, h http.Handler, token string) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	w := &discard{h: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		h.ServeHTTP(w, r)
	}
}

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })

// The cost the middleware adds is BenchmarkMiddleware minus
// BenchmarkWithout minus BenchmarkVerify.
func BenchmarkWithout(b *testing.B) {
	_, idp := jwtguardtest.NewTestVerifier(b)
	benchmarkHandler(b, ok, idp.Token("alice", "admin"))
}

func BenchmarkVerify(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token, ctx := idp.Token("alice", "admin"), context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(ctx, token); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkMiddleware(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	benchmarkHandler(b, nethttpjwt.Middleware(v)(ok), idp.Token("alice", "admin"))
}

func BenchmarkMiddlewareRequireScopes(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	g := nethttpjwt.New(v)
	benchmarkHandler(b, g.Middleware(g.RequireScopes("admin")(ok)), idp.Token("alice", "admin"))
}

// RequireRoles, on a Guard and on its own, grants a request whose claims
// hold the roles and refuses others with 403 and no scope in the
// challenge: roles are not OAuth scopes.
func TestRequireRoles(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	g := nethttpjwt.New(v)
	entra := func(roles ...any) string { return idp.NewToken("alice").Claim("roles", roles).Sign() }
	forbidden := v.Response(&core.Error{Reason: core.ReasonInsufficientScope})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		h      http.Handler
		token  string
		status int
		body   string
	}{
		{"Guard, role held", g.Middleware(g.RequireRoles("roles", "Orders.Admin")(subject)), entra("Orders.Read", "Orders.Admin"), http.StatusOK, "alice"},
		{"Guard, role missing", g.Middleware(g.RequireRoles("roles", "Orders.Admin")(subject)), entra("Orders.Read"), forbidden.Status, string(forbidden.Body)},
		{"Guard, roles not strings", g.Middleware(g.RequireRoles("roles", "Orders.Admin")(subject)), entra("Orders.Admin", 1), forbidden.Status, string(forbidden.Body)},
		{"package-level, role held", nethttpjwt.Middleware(v)(nethttpjwt.RequireRoles(v, "roles", "Orders.Admin")(subject)), entra("Orders.Admin"), http.StatusOK, "alice"},
		{"package-level, role missing", nethttpjwt.Middleware(v)(nethttpjwt.RequireRoles(v, "roles", "Orders.Admin")(subject)), entra(), forbidden.Status, string(forbidden.Body)},
		{"no Middleware in front", nethttpjwt.RequireRoles(v, "roles", "Orders.Admin")(subject), entra("Orders.Admin"), missing.Status, string(missing.Body)},
	} {
		w := get(tc.h, "/", tc.token)
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
	g := nethttpjwt.New(v, nethttpjwt.WithOptional())
	invalid := v.Response(&core.Error{Reason: core.ReasonTokenExpired})
	missing := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	for _, tc := range []struct {
		name   string
		h      http.Handler
		token  string
		status int
		body   string
	}{
		{"no token", g.Middleware(subject), "", http.StatusOK, "no claims"},
		{"valid token", g.Middleware(subject), idp.Token("alice"), http.StatusOK, "alice"},
		{"expired token", g.Middleware(subject), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign(), invalid.Status, string(invalid.Body)},
		{"malformed token", g.Middleware(subject), "not-a-jwt", invalid.Status, string(invalid.Body)},
		{"no token, behind RequireScopes", g.Middleware(g.RequireScopes("read")(subject)), "", missing.Status, string(missing.Body)},
		{"without the option, no token", nethttpjwt.Middleware(v)(subject), "", missing.Status, string(missing.Body)},
	} {
		if w := get(tc.h, "/", tc.token); w.Code != tc.status || w.Body.String() != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.name, w.Code, w.Body, tc.status, tc.body)
		}
	}
}
