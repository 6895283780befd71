package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// lint stays offline unless -online asks: only then is the provider's
// discovery document fetched, and its trailing slash reported.
func TestLintOnline(t *testing.T) {
	var requests atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, srv.URL+"/", srv.URL+"/keys")
	}))
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	baseline := fmt.Sprintf("issuers:\n  - issuer: %s\n    jwks_url: %s/keys\naudiences: [api]\nalgorithms: [RS256]\n", srv.URL, srv.URL)
	if err := os.WriteFile(path, []byte(baseline), 0o600); err != nil {
		t.Fatal(err)
	}
	warning := fmt.Sprintf("%s:2: warning: issuers[0].issuer: %q has no trailing slash", path, srv.URL)

	r := runCLI(t, "", "lint", path)
	if r.code != 0 || strings.Contains(r.stdout, "trailing slash") || requests.Load() != 0 {
		t.Fatalf("offline lint: code %d, %d requests:\n%s", r.code, requests.Load(), r.stdout)
	}
	r = runCLI(t, "", "lint", "-online", path)
	if r.code != 0 || !strings.Contains(r.stdout, warning) || requests.Load() != 1 {
		t.Fatalf("lint -online: code %d, %d requests, want the warning %q:\n%s", r.code, requests.Load(), warning, r.stdout)
	}
}
