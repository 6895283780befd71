package core_test

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// tenantBase is a baseline whose one issuer is a template with two tenants.
const tenantBase = `issuers:
  - issuer: https://login.example.com/{tenant}/v2.0
    tenants: [tenant-a, 4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39]
    jwks_url: https://login.example.com/common/discovery/v2.0/keys
audiences: [api]
algorithms: [RS256]
`

// TestDiscoveryAndTenantBaseline: the new keys parse into IssuerConfig,
// and every misuse is refused at load naming its key and line.
func TestDiscoveryAndTenantBaseline(t *testing.T) {
	issuer := func(lines string) string {
		return "issuers:\n  - issuer: https://idp.example.com/\n" + lines + "audiences: [api]\nalgorithms: [RS256]\n"
	}
	for _, tc := range []struct {
		name, yaml string
		want       core.IssuerConfig
	}{
		{"discovery: true", issuer("    discovery: true\n"),
			core.IssuerConfig{Issuer: "https://idp.example.com/", Discovery: core.DiscoveryOpenID}},
		{"oauth-authorization-server", issuer("    discovery: oauth-authorization-server\n"),
			core.IssuerConfig{Issuer: "https://idp.example.com/", Discovery: core.DiscoveryOAuth}},
		{"discovery_url alone", issuer("    discovery_url: https://idp.example.com/meta.json\n"),
			core.IssuerConfig{Issuer: "https://idp.example.com/", DiscoveryURL: "https://idp.example.com/meta.json"}},
		{"template", tenantBase, core.IssuerConfig{Issuer: "https://login.example.com/{tenant}/v2.0",
			Tenants: []string{"tenant-a", "4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39"}, JWKSURL: "https://login.example.com/common/discovery/v2.0/keys"}},
		{"http discovery, allowed", strings.Replace(issuer("    discovery: true\n"), "https://idp", "http://idp", 1) + "insecure_http_jwks: true\n",
			core.IssuerConfig{Issuer: "http://idp.example.com/", Discovery: core.DiscoveryOpenID}},
		{"loopback http discovery", strings.Replace(issuer("    discovery: true\n"), "https://idp.example.com/", "http://127.0.0.1:8080/realm", 1),
			core.IssuerConfig{Issuer: "http://127.0.0.1:8080/realm", Discovery: core.DiscoveryOpenID}},
	} {
		cfg, err := core.ParseBaseline([]byte(tc.yaml))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		got := cfg.Issuers[0]
		if got.Issuer != tc.want.Issuer || got.Discovery != tc.want.Discovery || got.DiscoveryURL != tc.want.DiscoveryURL ||
			got.JWKSURL != tc.want.JWKSURL || !slices.Equal(got.Tenants, tc.want.Tenants) {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}

	for _, tc := range []struct {
		name, yaml string
		key        string
		line       int
		msg        string
	}{
		{"jwks_url and discovery", issuer("    jwks_url: https://idp.example.com/jwks\n    discovery: true\n"), "issuers[0]", 2,
			"jwks_url and discovery together"},
		{"unknown document", issuer("    discovery: webfinger\n"), "issuers[0].discovery", 3, "must be true, false"},
		{"discovery not a scalar", issuer("    discovery: [true]\n"), "issuers[0].discovery", 3, "must be true, false"},
		{"discovery: false is no key source", issuer("    discovery: false\n"), "issuers[0]", 2, "exactly one"},
		{"http discovery", strings.Replace(issuer("    discovery: true\n"), "https://idp", "http://idp", 1), "issuers[0].discovery", 3,
			`"http://idp.example.com/.well-known/openid-configuration" is not https`},
		{"http discovery_url", issuer("    discovery_url: http://idp.example.com/meta\n"), "issuers[0].discovery_url", 3, "is not https"},
		{"issuer with a query", strings.Replace(issuer("    discovery: true\n"), "example.com/", "example.com/?x=1", 1), "issuers[0].issuer", 2,
			"query or fragment"},
		{"issuer not a URL", strings.Replace(issuer("    discovery: true\n"), "https://idp.example.com/", "idp", 1), "issuers[0].issuer", 2,
			"not an absolute URL"},
		{"empty tenants", strings.Replace(tenantBase, "[tenant-a, 4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39]", "[]", 1), "issuers[0].tenants", 3,
			"no wildcard tenant"},
		{"no tenants", strings.Replace(tenantBase, "    tenants: [tenant-a, 4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39]\n", "", 1), "issuers[0].tenants", 0,
			"no wildcard tenant"},
		{"tenants without template", strings.Replace(tenantBase, "{tenant}", "tenant-a", 1), "issuers[0].tenants", 3, "holds no {tenant}"},
		{"wildcard tenant", strings.Replace(tenantBase, "tenant-a,", "'*',", 1), "issuers[0].tenants", 3, "only letters"},
		{"alias tenant", strings.Replace(tenantBase, "tenant-a,", "common,", 1), "issuers[0].tenants", 3, "alias for any tenant"},
		{"dot tenant", strings.Replace(tenantBase, "tenant-a,", "'..',", 1), "issuers[0].tenants", 3, "dot segment"},
		{"slash in tenant", strings.Replace(tenantBase, "tenant-a,", "a/b,", 1), "issuers[0].tenants", 3, "only letters"},
		{"empty tenant", strings.Replace(tenantBase, "tenant-a,", "'',", 1), "issuers[0].tenants", 3, "empty tenant"},
		{"placeholder in the host", strings.Replace(tenantBase, "login.example.com/{tenant}", "{tenant}.example.com", 1), "issuers[0].issuer", 2,
			"not an absolute URL before"},
		{"placeholder in part of a segment", strings.Replace(tenantBase, "/{tenant}/", "/t-{tenant}/", 1), "issuers[0].issuer", 2,
			"whole segment"},
		{"placeholder before a suffix", strings.Replace(tenantBase, "/{tenant}/", "/{tenant}x/", 1), "issuers[0].issuer", 2, "whole segment"},
		{"placeholder twice", strings.Replace(tenantBase, "/v2.0", "/{tenant}", 1), "issuers[0].issuer", 2, "exactly once"},
		{"placeholder in jwks_url only", strings.Replace(strings.Replace(strings.Replace(tenantBase, "{tenant}", "tenant-a", 1), "/common/", "/{tenant}/", 1),
			"    tenants: [tenant-a, 4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39]\n", "", 1), "issuers[0].jwks_url", 3, "is no template"},
		{"template discovery_url without placeholder", strings.Replace(tenantBase,
			"    jwks_url: https://login.example.com/common/discovery/v2.0/keys\n", "    discovery_url: https://login.example.com/common/meta\n", 1),
			"issuers[0].discovery_url", 4, "must hold {tenant}"},
		{"a template listed twice", strings.Replace(tenantBase, "audiences", "  - issuer: https://login.example.com/{tenant}/v2.0\n    tenants: [tenant-c]\n    jwks_url: https://login.example.com/jwks\naudiences", 1),
			"issuers[1].issuer", 5, "listed twice"},
		{"a tenant's issuer listed again", strings.Replace(tenantBase, "audiences", "  - issuer: https://login.example.com/tenant-a/v2.0\n    jwks_url: https://login.example.com/jwks\naudiences", 1),
			"issuers[1].issuer", 5, "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ParseBaseline([]byte(tc.yaml))
			var found *core.ConfigError
			for _, e := range unwrapAll(err) {
				if ce, ok := e.(*core.ConfigError); ok && ce.Key == tc.key && strings.Contains(ce.Msg, tc.msg) {
					found = ce
				}
			}
			if found == nil {
				t.Fatalf("no error on %s saying %q: %v", tc.key, tc.msg, err)
			}
			if tc.line != 0 && found.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", found.Line, tc.line, found)
			}
		})
	}
}

func unwrapAll(err error) []error {
	if all, ok := err.(interface{ Unwrap() []error }); ok {
		return all.Unwrap()
	}
	return nil
}

// The fingerprint covers the new keys, and a baseline without them keeps
// the fingerprint it had before they existed.
func TestFingerprintDiscoveryAndTenants(t *testing.T) {
	base, err := core.ParseBaseline([]byte(tenantBase))
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range [][2]string{
		{"[tenant-a, ", "[tenant-b, "},
		{"[tenant-a, ", "[tenant-a, tenant-b, "},
		{"    jwks_url: https://login.example.com/common/discovery/v2.0/keys\n", "    discovery: true\n"},
		{"    jwks_url: https://login.example.com/common/discovery/v2.0/keys\n", "    discovery: oauth-authorization-server\n"},
		{"    jwks_url: https://login.example.com/common/discovery/v2.0/keys\n", "    discovery_url: https://login.example.com/{tenant}/meta\n"},
	} {
		c, err := core.ParseBaseline([]byte(strings.Replace(tenantBase, change[0], change[1], 1)))
		if err != nil {
			t.Fatal(err)
		}
		if c.Fingerprint() == base.Fingerprint() {
			t.Errorf("%q -> %q left the fingerprint unchanged", change[0], change[1])
		}
	}
	// Tenant order is not a setting.
	c, _ := core.ParseBaseline([]byte(strings.Replace(tenantBase, "[tenant-a, 4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39]",
		"[4f2c1d7e-0b8a-4e8f-9a51-8d7e6c5b4a39, tenant-a]", 1)))
	if c.Fingerprint() != base.Fingerprint() {
		t.Error("tenant order changed the fingerprint")
	}
	// This is the fingerprint of this baseline before discovery and
	// tenants were keys: services that use neither keep theirs.
	plain, err := core.ParseBaseline([]byte("issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := plain.Fingerprint(), "sha256:44f36485cdd7c4fc7bae492aad0959bc"; got != want {
		t.Errorf("fingerprint %s, want %s", got, want)
	}
}

// tenantTemplate is a template issuer whose tenants share the test keys.
func tenantTemplate(tb testing.TB) core.Config {
	cfg := baseConfig(tb)
	k := getKeys(tb)
	cfg.Issuers = append(cfg.Issuers, core.IssuerConfig{
		Issuer:     "https://login.example.com/{tenant}/v2.0",
		Tenants:    []string{"tenant-a", "tenant-b"},
		PublicKeys: map[string]crypto.PublicKey{"rsa": &k.rsa.PublicKey},
	})
	return cfg
}

// A token of a template issuer passes only as the allowlisted tenant its
// iss names, with a tid (when present) that agrees; Tenant says which.
// Tokens of a plain issuer are judged as before, whatever their tid.
func TestTenantTemplate(t *testing.T) {
	v := newVerifier(t, tenantTemplate(t))
	claims := func(iss string, tid any) map[string]any {
		c := goodClaims()
		c["iss"] = iss
		if tid != nil {
			c["tid"] = tid
		}
		return c
	}
	const a, b = "https://login.example.com/tenant-a/v2.0", "https://login.example.com/tenant-b/v2.0"
	for _, tc := range []struct {
		name   string
		token  string
		reason core.Reason // "" accepted
		tenant string
	}{
		{"tenant A with its tid", sign(t, "RS256", "rsa", claims(a, "tenant-a")), "", "tenant-a"},
		{"tenant B without tid", sign(t, "RS256", "rsa", claims(b, nil)), "", "tenant-b"},
		{"a tenant outside the allowlist", sign(t, "RS256", "rsa", claims("https://login.example.com/tenant-c/v2.0", "tenant-c")), core.ReasonIssuerInvalid, ""},
		{"tenant A with tid B", sign(t, "RS256", "rsa", claims(a, "tenant-b")), core.ReasonIssuerInvalid, ""},
		{"tenant A with tid of another case", sign(t, "RS256", "rsa", claims(a, "TENANT-A")), core.ReasonIssuerInvalid, ""},
		{"tid not a string", sign(t, "RS256", "rsa", claims(a, 7)), core.ReasonClaimInvalid, ""},
		{"tid twice", rawTokenWith(t, "RS256", `{"alg":"RS256","kid":"rsa"}`,
			strings.Replace(mustJSON(t, claims(a, "tenant-a")), `"tid":"tenant-a"`, `"tid":"tenant-b","tid":"tenant-a"`, 1)), core.ReasonTokenMalformed, ""},
		{"the template itself as iss", sign(t, "RS256", "rsa", claims("https://login.example.com/{tenant}/v2.0", nil)), core.ReasonIssuerInvalid, ""},
		{"the alias common", sign(t, "RS256", "rsa", claims("https://login.example.com/common/v2.0", "tenant-a")), core.ReasonIssuerInvalid, ""},
		{"a plain issuer with any tid", sign(t, "RS256", "rsa", claims(testIssuer, 7)), "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(context.Background(), tc.token)
			if tc.reason != "" {
				if !errors.Is(err, tc.reason) {
					t.Fatalf("err %v, want %s", err, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Tenant() != tc.tenant {
				t.Fatalf("Tenant() = %q, want %q", c.Tenant(), tc.tenant)
			}
			// A cache hit carries the tenant too.
			if c, err := v.Verify(context.Background(), tc.token); err != nil || c.Tenant() != tc.tenant {
				t.Fatalf("again: tenant %q, %v", c.Tenant(), err)
			}
		})
	}
	// The tenants share one key source, reported once under the template.
	var names []string
	for _, st := range v.Stats() {
		names = append(names, st.Issuer)
	}
	if !slices.Equal(names, []string{testIssuer, "https://login.example.com/{tenant}/v2.0"}) {
		t.Fatalf("Stats issuers %q", names)
	}
}

// fakeProvider is a provider in memory: body answers each request, and
// every URL asked for is recorded.
type fakeProvider struct {
	body func(r *http.Request) string

	mu    sync.Mutex
	asked []string
}

func (p *fakeProvider) client() *http.Client { return &http.Client{Transport: p} }

func (p *fakeProvider) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.asked = append(p.asked, r.URL.String())
	p.mu.Unlock()
	w := httptest.NewRecorder()
	io.WriteString(w, p.body(r))
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

// take returns the URLs asked for since the last call, sorted.
func (p *fakeProvider) take() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := slices.Sorted(slices.Values(p.asked))
	p.asked = nil
	return out
}

// tenantDocuments serves, for each tenant, a discovery document naming
// that tenant's issuer and jwks_uri, and keys at any other URL.
func tenantDocuments(keys string) func(r *http.Request) string {
	return func(r *http.Request) string {
		tenant, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
		if rest != "v2.0/.well-known/openid-configuration" {
			return keys
		}
		b, _ := json.Marshal(map[string]string{
			"issuer": "https://login.example.com/" + tenant + "/v2.0", "jwks_uri": "https://login.example.com/" + tenant + "/keys"})
		return string(b)
	}
}

// With discovery, each tenant of a template has its own document and key
// source, fetched from its own issuer's well-known URL; a token of one
// tenant still never passes as another's.
func TestTenantTemplateWithDiscovery(t *testing.T) {
	idp := &fakeProvider{body: tenantDocuments(jwksJSON(t, jwkEntry{kid: "rsa", key: &getKeys(t).rsa.PublicKey}))}
	cfg := baseConfig(t)
	cfg.Issuers = []core.IssuerConfig{{Issuer: "https://login.example.com/{tenant}/v2.0", Tenants: []string{"tenant-b", "tenant-a"},
		Discovery: core.DiscoveryOpenID}}
	v := newVerifier(t, cfg, core.WithHTTPClient(idp.client()))
	const login = "https://login.example.com"
	if paths, want := idp.take(), []string{login + "/tenant-a/keys", login + "/tenant-a/v2.0/.well-known/openid-configuration",
		login + "/tenant-b/keys", login + "/tenant-b/v2.0/.well-known/openid-configuration"}; !slices.Equal(paths, want) {
		t.Fatalf("fetched %q, want %q", paths, want)
	}
	var sources []string
	for _, st := range v.Stats() {
		sources = append(sources, st.Issuer+" "+st.Source+" "+st.Discovery)
	}
	if want := []string{
		"https://login.example.com/tenant-a/v2.0 https://login.example.com/tenant-a/keys https://login.example.com/tenant-a/v2.0/.well-known/openid-configuration",
		"https://login.example.com/tenant-b/v2.0 https://login.example.com/tenant-b/keys https://login.example.com/tenant-b/v2.0/.well-known/openid-configuration",
	}; !slices.Equal(sources, want) {
		t.Fatalf("stats %q, want %q", sources, want)
	}
	c := goodClaims()
	c["iss"], c["tid"] = "https://login.example.com/tenant-a/v2.0", "tenant-a"
	got, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", c))
	if err != nil || got.Tenant() != "tenant-a" {
		t.Fatalf("tenant A: %v", err)
	}
	c["tid"] = "tenant-b"
	if _, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", c)); !errors.Is(err, core.ReasonIssuerInvalid) {
		t.Fatalf("tenant A with tid B: %v", err)
	}
}

// A discovery document naming another issuer is refused with both values
// named: the verifier starts not ready and says why.
func TestDiscoveryIssuerMismatch(t *testing.T) {
	idp := &fakeProvider{body: func(*http.Request) string {
		return `{"issuer":"https://idp.example.com","jwks_uri":"https://idp.example.com/keys"}`
	}}
	cfg := baseConfig(t)
	cfg.Issuers = []core.IssuerConfig{{Issuer: "https://idp.example.com/", Discovery: core.DiscoveryOpenID}}
	hooks := &lcHooks{}
	v := newVerifier(t, cfg, core.WithHTTPClient(idp.client()), core.WithHooks(hooks))
	// The hooks say which document was fetched; no key set was.
	if fetches, _ := hooks.snapshot(); len(fetches) != 1 || fetches[0].Document != "discovery" || fetches[0].Result != "failed" ||
		fetches[0].URL != "https://idp.example.com/.well-known/openid-configuration" || fetches[0].Trigger != "startup" {
		t.Fatalf("fetch events %+v", fetches)
	}
	st := v.Stats()[0]
	if v.Ready() || st.DiscoveryFetchFailed != 1 || st.FetchOK+st.FetchFailed != 0 ||
		!strings.Contains(st.LastError, `"https://idp.example.com", the baseline "https://idp.example.com/"`) ||
		!strings.Contains(st.LastError, "trailing slash") {
		t.Fatalf("stats %+v", st)
	}
	if _, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", goodClaims())); !errors.Is(err, core.ReasonKeysUnavailable) {
		t.Fatalf("verify: %v", err)
	}
}

// The README's discovery and Entra examples are baselines that load.
func TestReadmeDiscoveryExamples(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(data)
	i := strings.Index(section, "\n### Discovery and multi-tenant issuers\n")
	if i < 0 {
		t.Fatal("the README has no discovery section")
	}
	section = section[i:]
	blocks := strings.Split(section[:strings.Index(section, "\n### One file for the estate")], "```yaml\n")[1:]
	if len(blocks) != 2 {
		t.Fatalf("%d YAML blocks in the section, want 2", len(blocks))
	}
	for _, b := range blocks {
		yaml := b[:strings.Index(b, "```")] + "audiences: [api]\nalgorithms: [RS256]\n"
		if _, err := core.ParseBaseline([]byte(yaml)); err != nil {
			t.Errorf("%v:\n%s", err, yaml)
		}
	}
}

// Lint warns of a discovery document fetched over plain http, as of a
// plain-http jwks_url.
func TestLintPlainHTTPDiscovery(t *testing.T) {
	l := core.LintBaseline([]byte("issuers:\n  - issuer: http://127.0.0.1:8080/realm\n    discovery: true\naudiences: [api]\nalgorithms: [RS256]\n"))
	if len(l.Errors) != 0 {
		t.Fatal(l.Errors)
	}
	for _, w := range l.Warnings {
		if w.Key == "issuers[0].discovery" && w.Line == 3 && strings.Contains(w.Msg, "plain http: http://127.0.0.1:8080/realm/.well-known/openid-configuration") {
			return
		}
	}
	t.Fatalf("no plain http warning on issuers[0].discovery: %v", l.Warnings)
}

// discovery: oauth-authorization-server looks the metadata up where RFC
// 8414 section 3.1 puts it, between the host and the issuer's path.
func TestDiscoveryOAuthLocation(t *testing.T) {
	keys := jwksJSON(t, jwkEntry{kid: "rsa", key: &getKeys(t).rsa.PublicKey})
	idp := &fakeProvider{body: func(r *http.Request) string {
		if r.URL.Path == "/.well-known/oauth-authorization-server/t1" {
			return `{"issuer":"https://idp.example.com/t1","jwks_uri":"https://idp.example.com/t1/keys"}`
		}
		return keys
	}}
	cfg := baseConfig(t)
	cfg.Issuers = []core.IssuerConfig{{Issuer: "https://idp.example.com/t1", Discovery: core.DiscoveryOAuth}}
	v := newVerifier(t, cfg, core.WithHTTPClient(idp.client()))
	c := goodClaims()
	c["iss"] = "https://idp.example.com/t1"
	if _, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", c)); err != nil {
		t.Fatal(err)
	}
	if asked, want := idp.take(), []string{"https://idp.example.com/.well-known/oauth-authorization-server/t1", "https://idp.example.com/t1/keys"}; !slices.Equal(asked, want) {
		t.Fatalf("asked for %q, want %q", asked, want)
	}
}

// A template's tenants share one remote key set unless its jwks_url holds
// the placeholder: then each has its own.
func TestTenantKeySources(t *testing.T) {
	keys := jwksJSON(t, jwkEntry{kid: "rsa", key: &getKeys(t).rsa.PublicKey})
	for _, tc := range []struct {
		name, jwksURL string
		fetched       []string // sorted
		stats         []string // "issuer source"
		reloaded      []string // fetched by a reload that adds tenant-c
	}{
		{"shared", "https://login.example.com/common/keys", []string{"https://login.example.com/common/keys"},
			[]string{"https://login.example.com/{tenant}/v2.0 https://login.example.com/common/keys"}, nil},
		{"per tenant", "https://login.example.com/{tenant}/keys",
			[]string{"https://login.example.com/tenant-a/keys", "https://login.example.com/tenant-b/keys"},
			[]string{"https://login.example.com/tenant-a/v2.0 https://login.example.com/tenant-a/keys",
				"https://login.example.com/tenant-b/v2.0 https://login.example.com/tenant-b/keys"},
			[]string{"https://login.example.com/tenant-c/keys"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := &fakeProvider{body: func(*http.Request) string { return keys }}
			cfg := baseConfig(t)
			cfg.Issuers = []core.IssuerConfig{{Issuer: "https://login.example.com/{tenant}/v2.0", Tenants: []string{"tenant-a", "tenant-b"},
				JWKSURL: tc.jwksURL}}
			v := newVerifier(t, cfg, core.WithHTTPClient(idp.client()))
			for _, tenant := range []string{"tenant-a", "tenant-b"} {
				c := goodClaims()
				c["iss"], c["tid"] = "https://login.example.com/"+tenant+"/v2.0", tenant
				if got, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", c)); err != nil || got.Tenant() != tenant {
					t.Fatalf("%s: %v", tenant, err)
				}
			}
			if fetched := idp.take(); !slices.Equal(fetched, tc.fetched) {
				t.Fatalf("fetched %q, want %q", fetched, tc.fetched)
			}
			var stats []string
			for _, st := range v.Stats() {
				stats = append(stats, st.Issuer+" "+st.Source)
			}
			if !slices.Equal(stats, tc.stats) {
				t.Fatalf("stats %q, want %q", stats, tc.stats)
			}

			// A tenant added by a reload keeps the key sources there were.
			cfg.Issuers[0].Tenants = append(cfg.Issuers[0].Tenants, "tenant-c")
			if err := v.Reload(cfg); err != nil {
				t.Fatal(err)
			}
			c := goodClaims()
			c["iss"] = "https://login.example.com/tenant-c/v2.0"
			if got, err := v.Verify(context.Background(), sign(t, "RS256", "rsa", c)); err != nil || got.Tenant() != "tenant-c" {
				t.Fatalf("tenant-c after the reload: %v", err)
			}
			if fetched := idp.take(); !slices.Equal(fetched, tc.reloaded) {
				t.Fatalf("the reload fetched %q, want %q", fetched, tc.reloaded)
			}
		})
	}
}
