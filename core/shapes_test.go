package core_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// shapeCases are the claim shapes real IdPs send, which verify, and the
// shapes that are refused because reading them would mean guessing.
var shapeCases = []struct {
	name   string
	edit   func(c map[string]any)
	want   core.Reason // "" means accepted
	scopes string      // Scopes(), comma-joined, on acceptance
}{
	{name: "scope string (Keycloak, Auth0, RFC 9068)", edit: set("scope", "read write"), scopes: "read,write"},
	{name: "scope string with runs of spaces", edit: set("scope", " read   write "), scopes: "read,write"},
	{name: "scope string with a trailing space", edit: set("scope", "read "), scopes: "read"},
	{name: "scope empty string grants nothing", edit: set("scope", ""), scopes: ""},
	{name: "scope array (Spring Authorization Server)", edit: set("scope", []any{"message.read", "openid"}), scopes: "message.read,openid"},
	{name: "scope empty array grants nothing", edit: set("scope", []any{}), scopes: ""},
	{name: "scp string (Entra ID)", edit: func(c map[string]any) { delete(c, "scope"); c["scp"] = "User.Read Mail.Send" }, scopes: "Mail.Send,User.Read"},
	{name: "scp array (Okta)", edit: func(c map[string]any) { delete(c, "scope"); c["scp"] = []any{"openid", "orders:read"} }, scopes: "openid,orders:read"},
	{name: "scope and scp together", edit: set("scp", []any{"admin", "read"}), scopes: "admin,read,write"},
	{name: "scope array with a number", edit: set("scope", []any{"read", 1}), want: core.ReasonClaimInvalid},
	{name: "scope array with null", edit: set("scope", []any{"read", nil}), want: core.ReasonClaimInvalid},
	{name: "scope array with an empty string", edit: set("scope", []any{"read", ""}), want: core.ReasonClaimInvalid},
	{name: "scope array element holding two scopes", edit: set("scope", []any{"read admin"}), want: core.ReasonClaimInvalid},
	{name: "scope array element with a control character", edit: set("scope", []any{"read\nadmin"}), want: core.ReasonClaimInvalid},
	{name: "scope array element with a quote", edit: set("scope", []any{`ad"min`}), want: core.ReasonClaimInvalid},
	{name: "scope nested array", edit: set("scope", []any{[]any{"admin"}}), want: core.ReasonClaimInvalid},
	{name: "scope object", edit: set("scope", map[string]any{"admin": true}), want: core.ReasonClaimInvalid},
	{name: "scope number", edit: set("scope", 1), want: core.ReasonClaimInvalid},
	{name: "scp array element holding two scopes", edit: set("scp", []any{"read admin"}), want: core.ReasonClaimInvalid},
	{name: "scp boolean", edit: set("scp", true), want: core.ReasonClaimInvalid},
	{name: "aud string", edit: set("aud", testAudience), scopes: "read,write"},
	{name: "aud array", edit: set("aud", []any{"other", testAudience}), scopes: "read,write"},
	{name: "aud array with a number", edit: set("aud", []any{testAudience, 1}), want: core.ReasonClaimInvalid},
	{name: "aud empty array", edit: set("aud", []any{}), want: core.ReasonAudienceInvalid},
	{name: "numeric dates with fractions", edit: func(c map[string]any) {
		c["exp"], c["iat"], c["nbf"] = float64(testNow.Unix())+3600.25, float64(testNow.Unix())-60.5, float64(testNow.Unix())-0.75
	}, scopes: "read,write"},
	{name: "exp a fraction of a second past, leeway aside", edit: set("exp", float64(testNow.Unix())-30.5), want: core.ReasonTokenExpired},
	{name: "exp in exponent notation", edit: set("exp", json1e("1.7e9")), want: core.ReasonTokenExpired},
}

// json1e is a number as JSON writes it, exponent and all.
type json1e string

func (n json1e) MarshalJSON() ([]byte, error) { return []byte(n), nil }

func set(name string, value any) func(map[string]any) {
	return func(c map[string]any) { c[name] = value }
}

func TestTokenShapes(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	for _, tc := range shapeCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(bg, sign(t, "RS256", "rsa", with(tc.edit)))
			if tc.want != "" {
				assertReason(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if got := strings.Join(c.Scopes(), ","); got != tc.scopes {
				t.Fatalf("Scopes() = %q, want %q", got, tc.scopes)
			}
			for _, s := range c.Scopes() {
				if !c.HasScope(s) {
					t.Errorf("HasScope(%q) is false though Scopes() lists it", s)
				}
			}
			if c.HasScope("") || c.HasScope("read write") {
				t.Error("HasScope grants an empty or two-scope name")
			}
		})
	}
}

// TestFractionalDates checks that fractions of a second are kept, not
// truncated, by the accessors and the expiry check.
func TestFractionalDates(t *testing.T) {
	exp := float64(testNow.Unix()) + 0.5
	for _, tc := range []struct {
		at   time.Time
		want core.Reason
	}{
		{at: testNow.Add(400 * time.Millisecond)},
		{at: testNow.Add(500 * time.Millisecond), want: core.ReasonTokenExpired},
	} {
		t.Run(fmt.Sprint(tc.at.Sub(testNow)), func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.Leeway = 0
			v := newVerifier(t, cfg, core.WithClock(func() time.Time { return tc.at }))
			c, err := v.Verify(bg, sign(t, "RS256", "rsa", with(set("exp", exp))))
			if tc.want != "" {
				assertReason(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := testNow.Add(500 * time.Millisecond); !c.ExpiresAt().Equal(want) {
				t.Fatalf("ExpiresAt %v, want %v", c.ExpiresAt(), want)
			}
		})
	}
}
