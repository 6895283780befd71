package core_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// BenchmarkExtract is the per-request cost of reading the bearer token,
// which every adapter pays on top of Verify.
func BenchmarkExtract(b *testing.B) {
	v := newVerifier(b, baseConfig(b))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(b, "RS256", "rsa", goodClaims()))
	req := core.HTTPRequest(r)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.ExtractForTest(req); err != nil {
			b.Fatal(err)
		}
	}
}
