package core

import (
	"slices"
	"testing"
)

// TestDiffTenantsAndDiscovery: a reload names a changed tenant allowlist
// and discovery setting; a tenant added or discovery turned on lets other
// tokens through.
func TestDiffTenantsAndDiscovery(t *testing.T) {
	base := func() Config {
		return Config{
			Issuers: []IssuerConfig{{Issuer: "https://login/{tenant}/v2.0", Tenants: []string{"a"},
				JWKSURL: "https://login/common/keys"}},
			Audiences: []string{"orders"}, Algorithms: []string{"RS256"},
		}
	}
	const prefix = "issuers[https://login/{tenant}/v2.0]."
	for _, tc := range []struct {
		edit    func(*IssuerConfig)
		text    string
		weakens bool
	}{
		{func(is *IssuerConfig) { is.Tenants = []string{"a", "b"} }, prefix + "tenants +b", true},
		{func(is *IssuerConfig) { is.Tenants = []string{"c"} }, prefix + "tenants -a", false},
		{func(is *IssuerConfig) { is.JWKSURL, is.Discovery = "", DiscoveryOpenID }, prefix + `discovery "" -> "openid-configuration"`, true},
		{func(is *IssuerConfig) { is.JWKSURL, is.DiscoveryURL = "", "https://login/{tenant}/meta" },
			prefix + `discovery_url "" -> "https://login/{tenant}/meta"`, true},
	} {
		next := base()
		tc.edit(&next.Issuers[0])
		got := diffBaselines(base().normalize(), next.normalize())
		i := slices.IndexFunc(got, func(c baselineChange) bool { return c.text == tc.text })
		if i < 0 || got[i].weakens != tc.weakens {
			t.Errorf("changes %v: want %q weakening %v", got, tc.text, tc.weakens)
		}
	}
}
