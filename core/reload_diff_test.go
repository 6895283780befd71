package core

import (
	"slices"
	"testing"
	"time"
)

// TestDiffBaselines: every change is named, and those that let more tokens
// through are marked as weakening.
func TestDiffBaselines(t *testing.T) {
	base := func() Config {
		return Config{
			Issuers:        []IssuerConfig{{Issuer: "https://a", JWKSURL: "https://a/jwks"}},
			Audiences:      []string{"orders"},
			Algorithms:     []string{"RS256"},
			Leeway:         30 * time.Second,
			RequiredClaims: []string{"sub"},
			TokenTypes:     []string{"at+jwt"},
		}
	}
	for _, tc := range []struct {
		edit    func(*Config)
		text    string
		weakens bool
	}{
		{func(c *Config) { c.Algorithms = append(c.Algorithms, "PS256") }, "algorithms +PS256", true},
		{func(c *Config) { c.Algorithms = []string{"ES256"} }, "algorithms -RS256", false},
		{func(c *Config) { c.Audiences = append(c.Audiences, "billing") }, "audiences +billing", true},
		{func(c *Config) { c.Audiences = []string{"x"} }, "audiences -orders", true},
		{func(c *Config) { c.Leeway = time.Minute }, "leeway 30s -> 1m0s", true},
		{func(c *Config) { c.Leeway = time.Second }, "leeway 30s -> 1s", false},
		{func(c *Config) { c.InsecureSkipAudience = true }, "insecure_skip_audience false -> true", true},
		{func(c *Config) { c.InsecureHTTPJWKS = true }, "insecure_http_jwks false -> true", true},
		{func(c *Config) { c.TokenTypes = nil }, "token_types no longer checked", true},
		{func(c *Config) { c.TokenTypes = []string{"jwt"} }, "token_types -at+jwt", true},
		{func(c *Config) { c.RequiredClaims = nil }, "required_claims -sub", true},
		{func(c *Config) { c.RequiredClaims = append(c.RequiredClaims, "tenant") }, "required_claims +tenant", false},
		{func(c *Config) {
			c.Issuers = append(c.Issuers, IssuerConfig{Issuer: "https://b", JWKSURL: "https://b/jwks"})
		}, "issuers +https://b", true},
		{func(c *Config) { c.Issuers[0].JWKSURL = "https://evil/jwks" }, `issuers[https://a].jwks_url "https://a/jwks" -> "https://evil/jwks"`, true},
		{func(c *Config) { c.MaxTokenBytes = 16384 }, "max_token_bytes 8192 -> 16384", true},
		{func(c *Config) { c.JWKS.MaxStale = 48 * time.Hour }, "jwks.max_stale 24h0m0s -> 48h0m0s", true},
		{func(c *Config) { c.JWKS.UnknownKIDInterval = time.Second }, "jwks.unknown_kid_interval 5s -> 1s", false},
		{func(c *Config) { c.TokenSources.Query = "access_token" }, `token_sources.query "" -> "access_token"`, true},
		{func(c *Config) { n := 0; c.Cache.MaxEntries = &n }, "cache.max_entries 10000 -> 0", false},
		{func(c *Config) { c.RefuseIDTokens = true }, "refuse_id_tokens false -> true", false},
		{func(c *Config) { c.AudienceClaim = AudienceClaimClientID }, "audience_claim aud -> client_id", true},
	} {
		t.Run(tc.text, func(t *testing.T) {
			next := base()
			next.Issuers = slices.Clone(next.Issuers)
			tc.edit(&next)
			got := diffBaselines(base().normalize(), next.normalize())
			i := slices.IndexFunc(got, func(c baselineChange) bool { return c.text == tc.text })
			if i < 0 {
				t.Fatalf("changes %v lack %q", got, tc.text)
			}
			if got[i].weakens != tc.weakens {
				t.Fatalf("%q weakens = %v, want %v", tc.text, got[i].weakens, tc.weakens)
			}
		})
	}
	refusing := base()
	refusing.RefuseIDTokens = true
	if got := diffBaselines(refusing.normalize(), base().normalize()); len(got) != 1 || !got[0].weakens {
		t.Fatalf("turning refuse_id_tokens off: %v, want one weakening change", got)
	}
	byClientID := base()
	byClientID.AudienceClaim = AudienceClaimClientID
	if got := diffBaselines(byClientID.normalize(), base().normalize()); len(got) != 1 || !got[0].weakens || got[0].text != "audience_claim client_id -> aud" {
		t.Fatalf("back from client_id to aud: %v, want one weakening change", got)
	}
	written := base()
	written.AudienceClaim = AudienceClaimAud
	if got := diffBaselines(base().normalize(), written.normalize()); len(got) != 0 {
		t.Fatalf("audience_claim: aud written out differs from unset: %v", got)
	}
	if got := diffBaselines(base().normalize(), base().normalize()); len(got) != 0 {
		t.Fatalf("an unchanged baseline differs: %v", got)
	}
}
