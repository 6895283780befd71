package nethttpjwt_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

func get(h http.Handler, token string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if token != "" {
		r.Header.Set("Authorization", "Bearer "+token)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var subject = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	c, ok := nethttpjwt.Claims(r)
	if !ok {
		io.WriteString(w, "no claims")
		return
	}
	io.WriteString(w, c.Subject())
})

func TestErrorHandlerGetsEveryRejection(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	var got []core.Reason
	onError := nethttpjwt.WithErrorHandler(func(w http.ResponseWriter, r *http.Request, err *core.Error) {
		got = append(got, err.Reason)
		w.WriteHeader(http.StatusTeapot)
	})
	h := nethttpjwt.Middleware(v, onError)(nethttpjwt.RequireScopes(v, "admin")(subject))
	for _, token := range []string{"", "x.y.z", idp.Token("alice", "read")} {
		if w := get(h, token); w.Code != http.StatusTeapot {
			t.Errorf("status %d, want the error handler's 418", w.Code)
		}
	}
	want := []core.Reason{core.ReasonTokenMissing, core.ReasonTokenMalformed, core.ReasonInsufficientScope}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("error handler saw %v, want %v", got, want)
	}
}

func TestSkipper(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	h := nethttpjwt.Handler(v, subject, nethttpjwt.WithSkipper(func(r *http.Request) bool { return r.Method == http.MethodGet }))
	if w := get(h, ""); w.Code != http.StatusOK || w.Body.String() != "no claims" {
		t.Errorf("skipped request: %d %q, want 200 without claims", w.Code, w.Body)
	}
	r := httptest.NewRequest(http.MethodPost, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusUnauthorized {
		t.Errorf("request not skipped: %d, want 401", w.Code)
	}
}

// RequireScopes alone fails closed: without Middleware there are no claims.
func TestRequireScopesWithoutMiddleware(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	w := get(nethttpjwt.RequireScopes(v)(subject), idp.Token("alice", "admin"))
	want := v.Response(&core.Error{Reason: core.ReasonTokenMissing})
	if w.Code != want.Status || w.Header().Get("WWW-Authenticate") != want.WWWAuthenticate {
		t.Errorf("%d %q, want %d %q", w.Code, w.Header().Get("WWW-Authenticate"), want.Status, want.WWWAuthenticate)
	}
}

func TestClaimsReachHandler(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	if w := get(nethttpjwt.Handler(v, subject), idp.Token("carol")); w.Code != http.StatusOK || w.Body.String() != "carol" {
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
	benchmarkHandler(b, nethttpjwt.Middleware(v)(nethttpjwt.RequireScopes(v, "admin")(ok)), idp.Token("alice", "admin"))
}
