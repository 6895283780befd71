package ginjwt_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

func get(h http.Handler, method, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, "/", nil)
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

func router(handlers ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.Handle(http.MethodGet, "/", handlers...)
	r.Handle(http.MethodPost, "/", handlers...)
	return r
}

func TestErrorHandlerGetsEveryRejection(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var got []core.Reason
	onError := ginjwt.WithErrorHandler(func(c *gin.Context, err *core.Error) {
		got = append(got, err.Reason)
		c.Status(http.StatusTeapot) // no Abort: the middleware aborts anyway
	})
	h := router(ginjwt.Middleware(v, onError), ginjwt.RequireScopes(v, "admin"), subject)
	for _, token := range []string{"", "x.y.z", idp.Token("alice", "read")} {
		if w := get(h, http.MethodGet, token); w.Code != http.StatusTeapot || w.Body.Len() != 0 {
			t.Errorf("%d %q, want the error handler's 418 and the chain aborted", w.Code, w.Body)
		}
	}
	want := []core.Reason{core.ReasonTokenMissing, core.ReasonTokenMalformed, core.ReasonInsufficientScope}
	if !slices.Equal(got, want) {
		t.Errorf("error handler saw %v, want %v", got, want)
	}
}

func TestSkipper(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	h := router(ginjwt.Middleware(v, ginjwt.WithSkipper(func(c *gin.Context) bool { return c.Request.Method == http.MethodGet })), subject)
	if w := get(h, http.MethodGet, ""); w.Code != http.StatusOK || w.Body.String() != "no claims" {
		t.Errorf("skipped request: %d %q, want 200 without claims", w.Code, w.Body)
	}
	if w := get(h, http.MethodPost, ""); w.Code != http.StatusUnauthorized {
		t.Errorf("request not skipped: %d, want 401", w.Code)
	}
}

// RequireScopes alone fails closed: without Middleware there are no claims.
func TestRequireScopesWithoutMiddleware(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	w := get(router(ginjwt.RequireScopes(v), subject), http.MethodGet, idp.Token("alice", "admin"))
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	if w.Code != want.Status || w.Header().Get("WWW-Authenticate") != want.WWWAuthenticate || w.Body.String() != string(want.Body) {
		t.Errorf("%d %q %q, want %d %q %q", w.Code, w.Header().Get("WWW-Authenticate"), w.Body, want.Status, want.WWWAuthenticate, want.Body)
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
	if w := get(h, http.MethodGet, idp.Token("carol")); w.Code != http.StatusOK || w.Body.String() != "carol" {
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
