package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// docServer serves, under /{name}/.well-known/openid-configuration, the
// document docs[name] with "URL" replaced by the server's URL; other
// names are 404.
func docServer(t *testing.T, docs map[string]map[string]string) *httptest.Server {
	t.Helper()
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/.well-known/openid-configuration")
		doc, found := docs[strings.TrimSuffix(name, "/")]
		if !ok || !found {
			http.NotFound(w, r)
			return
		}
		out := map[string]string{}
		for k, v := range doc {
			out[k] = strings.ReplaceAll(v, "URL", srv.URL)
		}
		json.NewEncoder(w).Encode(out)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestLintOnline: each issuer's document is compared with the baseline;
// a trailing slash either way is named, and an issuer without discovery
// whose provider has no document is left alone.
func TestLintOnline(t *testing.T) {
	srv := docServer(t, map[string]map[string]string{
		"slash":    {"issuer": "URL/slash/", "jwks_uri": "URL/keys"},
		"noslash":  {"issuer": "URL/noslash", "jwks_uri": "URL/keys"},
		"same":     {"issuer": "URL/same", "jwks_uri": "URL/keys"},
		"other":    {"issuer": "URL/someone-else", "jwks_uri": "URL/keys"},
		"nokeys":   {"issuer": "URL/nokeys"},
		"httpkeys": {"issuer": "URL/httpkeys", "jwks_uri": "http://keys.example.com/jwks"},
		"t1/v2":    {"issuer": "URL/t1/v2", "jwks_uri": "URL/keys"},
		"t2/v2":    {"issuer": "URL/t2/v2/", "jwks_uri": "URL/keys"},
	})
	for _, tc := range []struct {
		name, entry string // entry: the issuer's lines; URL is the server's
		want        string // "" for no warning
	}{
		{"configured without the slash", "issuer: URL/slash\n    jwks_url: URL/keys", `"URL/slash" has no trailing slash, but its discovery document at URL/slash/.well-known/openid-configuration names "URL/slash/"`},
		{"configured with the slash", "issuer: URL/noslash/\n    discovery: true", `"URL/noslash/" has a trailing slash, but its discovery document at URL/noslash/.well-known/openid-configuration names "URL/noslash"`},
		{"agreeing", "issuer: URL/same\n    discovery: true", ""},
		{"agreeing, without discovery", "issuer: URL/same\n    jwks_url: URL/keys", ""},
		{"no document, without discovery", "issuer: URL/none\n    jwks_url: URL/keys", ""},
		{"no document, with discovery", "issuer: URL/none\n    discovery: true", "could not be used: unexpected status 404"},
		{"another issuer", "issuer: URL/other\n    discovery: true", `names issuer "URL/someone-else", not "URL/other"`},
		{"no jwks_uri", "issuer: URL/nokeys\n    discovery: true", "has no jwks_uri"},
		{"http jwks_uri", "issuer: URL/httpkeys\n    discovery: true", `names jwks_uri "http://keys.example.com/jwks" is not https`},
		{"a tenant's document", "issuer: URL/{tenant}/v2\n    tenants: [t1, t2]\n    discovery: true", `"URL/t2/v2" has no trailing slash`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			baseline := strings.ReplaceAll("issuers:\n  - "+tc.entry+"\naudiences: [api]\nalgorithms: [RS256]\n", "URL", srv.URL)
			got := core.LintOnline(context.Background(), []byte(baseline), srv.Client())
			switch {
			case tc.want == "" && len(got) != 0:
				t.Fatalf("warnings %v, want none", got)
			case tc.want == "":
			case len(got) != 1 || got[0].Key != "issuers[0].issuer" || got[0].Line != 2 ||
				!strings.Contains(got[0].Msg, strings.ReplaceAll(tc.want, "URL", srv.URL)):
				t.Fatalf("warnings %v, want one on issuers[0].issuer, line 2, saying %q", got, tc.want)
			}
		})
	}
	if got := core.LintOnline(context.Background(), []byte("issuers: ["), srv.Client()); got != nil {
		t.Fatalf("a file that does not parse: %v", got)
	}
}

// lint -online finds what no offline check can: the provider's tokens
// carry an issuer with a trailing slash the baseline lacks.
func ExampleLintOnline() {
	provider := httptest.NewServer(nil)
	defer provider.Close()
	provider.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, provider.URL+"/", provider.URL+"/keys")
	})
	baseline := fmt.Sprintf("issuers:\n  - issuer: %s\n    jwks_url: %s/keys\naudiences: [api]\nalgorithms: [RS256]\n",
		provider.URL, provider.URL)

	for _, w := range core.LintOnline(context.Background(), []byte(baseline), provider.Client()) {
		fmt.Println(strings.ReplaceAll(w.String(), provider.URL, "http://IDP"))
	}
	// Output:
	// line 2: issuers[0].issuer: "http://IDP" has no trailing slash, but its discovery document at http://IDP/.well-known/openid-configuration names "http://IDP/": tokens carry the provider's spelling and iss is compared exactly
}
