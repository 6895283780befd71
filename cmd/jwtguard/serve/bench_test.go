package serve

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// benchPolicy guards /admin with a scope and leaves /open anonymous: the
// floor is the same request on the anonymous route, so that it measures
// reading the gateway's request, routing and answering, without a token.
const benchPolicy = `
routes:
  - prefix: /open
    anonymous: true
  - prefix: /admin
    scopes: [admin]
claim_headers:
  tenant: X-Tenant
`

// benchCases are the three measurements of each transport: a token the
// cache holds, a token verified in full each time (cache off), and the
// anonymous floor.
var benchCases = []struct {
	name  string
	path  string
	cache bool
}{
	{"cached", "/admin/users", true},
	{"uncached", "/admin/users", false},
	{"floor", "/open/docs", true},
}

func benchFixture(b *testing.B, cache bool) fixture {
	return newFixture(b, benchPolicy, func(c *core.Config) {
		if !cache {
			off := 0
			c.Cache.MaxEntries = &off
		}
	})
}

// headerWriter is a ResponseWriter that keeps only the headers, so that
// the benchmark measures the decision, not a recorder.
type headerWriter struct {
	h    http.Header
	code int
}

func (w *headerWriter) Header() http.Header         { return w.h }
func (w *headerWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *headerWriter) WriteHeader(code int)        { w.code = code }

// BenchmarkServeAuth is one forward-auth decision in process, as Traefik
// asks it: X-Forwarded-Method and X-Forwarded-Uri, a bearer token with
// the route's scope, the identity headers written back.
func BenchmarkServeAuth(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			f := benchFixture(b, bc.cache)
			token := f.idp.NewToken("alice").Scopes("admin").Claim("tenant", "acme").Sign()
			req := httptest.NewRequest(http.MethodGet, "http://serve.test/auth", nil)
			req.Header = bearer(token, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", bc.path+"?page=2")
			w := &headerWriter{h: http.Header{}}
			f.s.ServeHTTP(w, req)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				f.s.ServeHTTP(w, req)
			}
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

// BenchmarkServeCheck is one ext_authz Check decision in process, with
// the headers map Envoy sends by default.
func BenchmarkServeCheck(b *testing.B) {
	for _, bc := range benchCases {
		b.Run(bc.name, func(b *testing.B) {
			f := benchFixture(b, bc.cache)
			token := f.idp.NewToken("alice").Scopes("admin").Claim("tenant", "acme").Sign()
			req := checkRequest("GET", bc.path+"?page=2", map[string]string{
				"authorization": "Bearer " + token, "user-agent": "bench", "accept": "*/*"})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				res, err := f.s.Check(ctx, req)
				if err != nil || res.GetStatus().GetCode() != 0 {
					b.Fatalf("%v %v", res, err)
				}
			}
		})
	}
}
