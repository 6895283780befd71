package echojwt_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/labstack/echo/v4"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

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
func subject(c echo.Context) error {
	if claims, ok := echojwt.Claims(c); ok {
		return c.String(http.StatusOK, claims.Subject())
	}
	return c.String(http.StatusOK, "no claims")
}

func server(h echo.HandlerFunc, mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET("/", h, mw...)
	e.POST("/", h, mw...)
	return e
}

func TestErrorHandlerGetsEveryRejection(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var got []core.Reason
	onError := echojwt.WithErrorHandler(func(c echo.Context, err *core.Error) error {
		got = append(got, err.Reason)
		return echo.NewHTTPError(http.StatusTeapot)
	})
	h := server(subject, echojwt.Middleware(v, onError), echojwt.RequireScopes(v, "admin"))
	for _, token := range []string{"", "x.y.z", idp.Token("alice", "read")} {
		if w := get(h, http.MethodGet, token); w.Code != http.StatusTeapot {
			t.Errorf("status %d, want the error handler's 418", w.Code)
		}
	}
	want := []core.Reason{core.ReasonTokenMissing, core.ReasonTokenMalformed, core.ReasonInsufficientScope}
	if !slices.Equal(got, want) {
		t.Errorf("error handler saw %v, want %v", got, want)
	}
}

// The default response commits echo's Response and returns nil, so echo's
// HTTPErrorHandler sees no error and writes nothing more.
func TestRejectionCommitsResponse(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	e := server(subject, echojwt.Middleware(v))
	var handled []error
	e.HTTPErrorHandler = func(err error, c echo.Context) { handled = append(handled, err) }
	w := get(e, http.MethodGet, "")
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
	w := get(e, http.MethodGet, "")
	if w.Code != http.StatusAccepted || w.Body.Len() != 0 || len(handled) != 1 || !errors.Is(handled[0], core.ReasonTokenMissing) {
		t.Errorf("%d %q, errors %v; want 202, no body and token_missing handed to echo", w.Code, w.Body, handled)
	}
}

func TestSkipper(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	h := server(subject, echojwt.Middleware(v, echojwt.WithSkipper(func(c echo.Context) bool { return c.Request().Method == http.MethodGet })))
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
	w := get(server(subject, echojwt.RequireScopes(v)), http.MethodGet, idp.Token("alice", "admin"))
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	if w.Code != want.Status || w.Header().Get("WWW-Authenticate") != want.WWWAuthenticate || w.Body.String() != string(want.Body) {
		t.Errorf("%d %q %q, want %d %q %q", w.Code, w.Header().Get("WWW-Authenticate"), w.Body, want.Status, want.WWWAuthenticate, want.Body)
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
