package core_test

import (
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// appClient is the service's client, as an IdP that puts it in client_id
// (and no aud) names it; otherClient is another client of the same IdP.
const (
	appClient   = "4k7h2m9p1q3r5s8t0v6w2x4y9z"
	otherClient = "7z5y3x1w9v8u6t4s2r0q1p3o5n"
)

// byClientID reads the audience from client_id, the service being
// appClient.
func byClientID(c *core.Config) {
	c.AudienceClaim = core.AudienceClaimClientID
	c.Audiences = []string{appClient}
}

// clientToken is an access token for appClient without aud, edited.
func clientToken(edit func(c map[string]any)) func(testing.TB) string {
	return signed("RS256", "rsa", func(c map[string]any) {
		delete(c, "aud")
		c["client_id"] = appClient
		edit(c)
	})
}

var audienceClaimCases = []verifyCase{
	{name: "client_id of the service", cfg: byClientID, token: clientToken(noEdit)},
	{name: "client_id of another client", cfg: byClientID, token: clientToken(func(c map[string]any) { c["client_id"] = otherClient }),
		want: core.ReasonAudienceInvalid},
	{name: "client_id case changed", cfg: byClientID, token: clientToken(func(c map[string]any) { c["client_id"] = strings.ToUpper(appClient) }),
		want: core.ReasonAudienceInvalid},
	{name: "client_id missing", cfg: byClientID, token: clientToken(func(c map[string]any) { delete(c, "client_id") }),
		want: core.ReasonAudienceInvalid},
	{name: "client_id missing, aud of the service", cfg: byClientID,
		token: clientToken(func(c map[string]any) { delete(c, "client_id"); c["aud"] = appClient }), want: core.ReasonAudienceInvalid},
	{name: "client_id a number", cfg: byClientID, token: clientToken(func(c map[string]any) { c["client_id"] = 42 }), want: core.ReasonClaimInvalid},
	{name: "client_id an array", cfg: byClientID, token: clientToken(func(c map[string]any) { c["client_id"] = []string{appClient} }),
		want: core.ReasonClaimInvalid},
	{name: "client_id null", cfg: byClientID, token: clientToken(func(c map[string]any) { c["client_id"] = nil }), want: core.ReasonClaimInvalid},
	{name: "client_id twice", cfg: byClientID,
		token: raw(`{"alg":"RS256","kid":"rsa"}`, payloadJSON(nil, `"client_id":"`+appClient+`","client_id":"`+otherClient+`"`)),
		want:  core.ReasonTokenMalformed},
	{name: "aud of the service too", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = appClient })},
	{name: "aud array holding the service", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = []string{"x", appClient} })},
	{name: "aud of another service", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = "billing-api" }),
		want: core.ReasonAudienceInvalid},
	{name: "aud empty string", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = "" }), want: core.ReasonAudienceInvalid},
	{name: "aud empty array", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = []string{} }), want: core.ReasonAudienceInvalid},
	{name: "aud of a number", cfg: byClientID, token: clientToken(func(c map[string]any) { c["aud"] = 7 }), want: core.ReasonClaimInvalid},
	// Under the default, client_id is any claim and aud is what counts.
	{name: "aud mode: client_id ignored", token: signed("RS256", "rsa", func(c map[string]any) { c["client_id"] = 42 })},
	{name: "aud mode: client_id of the service is no audience", cfg: func(c *core.Config) { c.Audiences = []string{appClient} },
		token: clientToken(noEdit), want: core.ReasonAudienceInvalid},
	{name: "aud written out", cfg: func(c *core.Config) { c.AudienceClaim = core.AudienceClaimAud }, token: signed("RS256", "rsa", noEdit)},
}

// audienceClaimDetails are what the refusals of some cases say: an
// operator reads there whether the claim is missing or another client's.
var audienceClaimDetails = map[string]string{
	"client_id missing":                     `claim "client_id" is missing (audience_claim: client_id)`,
	"client_id missing, aud of the service": `claim "client_id" is missing`,
	"client_id of another client":           "client_id is not a client this service accepts",
	"aud of another service":                "token is not for this audience",
}

// TestAudienceClaim: under audience_claim: client_id the token's client_id
// must be one of the audiences, and an aud it carries too.
func TestAudienceClaim(t *testing.T) {
	for _, tc := range audienceClaimCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			v := newVerifier(t, cfg)
			// Twice: the second may be a cache hit, judged again.
			for range 2 {
				err := tc.check(t, v)
				if want := audienceClaimDetails[tc.name]; err != nil && !strings.Contains(err.Error(), want) {
					t.Fatalf("refused with %q, want it to say %q", err, want)
				}
			}
		})
	}
}

// TestAudienceClaimBaseline: the key parses, refuses what it cannot mean,
// and leaves the fingerprint of a baseline that does not set it as it was.
func TestAudienceClaimBaseline(t *testing.T) {
	const plain = "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\n"
	for _, tc := range []struct {
		name, extra string
		drop        string // taken out of the plain baseline
		claim       string // the parsed value, when it is accepted
		errKey      string // the key the refusal names
		errMsg      string
	}{
		{name: "unset", claim: ""},
		{name: "aud", extra: "audience_claim: aud\n", claim: "aud"},
		{name: "client_id", extra: "audience_claim: client_id\n", claim: "client_id"},
		{name: "unknown value", extra: "audience_claim: azp\n", errKey: "audience_claim", errMsg: `"azp": must be aud or client_id`},
		{name: "case matters", extra: "audience_claim: Client_ID\n", errKey: "audience_claim", errMsg: "must be aud or client_id"},
		{name: "not a string", extra: "audience_claim: [client_id]\n", errKey: "audience_claim", errMsg: "must be a string"},
		{name: "client_id without audiences", extra: "audience_claim: client_id\n", drop: "audiences: [api]\n",
			errKey: "audiences", errMsg: "the client IDs whose tokens audience_claim: client_id accepts"},
		{name: "with insecure_skip_audience", extra: "audience_claim: client_id\ninsecure_skip_audience: true\n",
			errKey: "audience_claim", errMsg: "insecure_skip_audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := core.ParseBaseline([]byte(strings.Replace(plain, tc.drop, "", 1) + tc.extra))
			if tc.errKey != "" {
				errs := core.ConfigErrors(err)
				if len(errs) != 1 || errs[0].Key != tc.errKey || !strings.Contains(errs[0].Msg, tc.errMsg) ||
					(errs[0].Line == 0) != (tc.drop != "") {
					t.Fatalf("errors %v, want one on %s saying %q, with its line where it is written", err, tc.errKey, tc.errMsg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.AudienceClaim != tc.claim {
				t.Fatalf("AudienceClaim = %q, want %q", cfg.AudienceClaim, tc.claim)
			}
			want := tc.claim
			if want == "" {
				want = core.AudienceClaimAud // the default, filled in
			}
			if got := cfg.Effective().AudienceClaim; got != want {
				t.Fatalf("effective AudienceClaim = %q, want %q", got, want)
			}
			// The fingerprint of this baseline before the key existed
			// (as in TestTenantFingerprint): unset or written out, aud
			// keeps it; client_id moves it.
			const before = "sha256:44f36485cdd7c4fc7bae492aad0959bc"
			if got := cfg.Fingerprint(); (got == before) != (tc.claim != core.AudienceClaimClientID) {
				t.Fatalf("fingerprint %s, the one before the key %s", got, before)
			}
		})
	}
	// Go code is refused alike, at New.
	cfg := baseConfig(t)
	cfg.AudienceClaim = "sub"
	if _, err := core.New(cfg); err == nil || !strings.Contains(err.Error(), "audience_claim") {
		t.Fatalf("New with audience_claim sub: %v", err)
	}
}

// TestAudienceClaimLint: reading the audience from client_id tells ID
// tokens apart, which carry none, so lint's token_types advice goes; the
// advice warns off refuse_id_tokens for an IdP whose access tokens carry
// nonce.
func TestAudienceClaimLint(t *testing.T) {
	const untyped = "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\n"
	warned := func(extra string) string {
		for _, w := range core.LintBaseline([]byte(untyped + extra)).Warnings {
			if w.Key == "token_types" {
				return w.Msg
			}
		}
		return ""
	}
	if msg := warned("audience_claim: client_id\n"); msg != "" {
		t.Errorf("token_types warned under audience_claim: client_id: %s", msg)
	}
	if msg := warned(""); !strings.Contains(msg, "nonce as Dex's do") {
		t.Errorf("the advice does not warn off refuse_id_tokens for Dex: %s", msg)
	}
}

// An estate's service may read its audiences from client_id while the
// others keep aud; its setting is its own, and a refusal names its entry.
func TestEstateAudienceClaim(t *testing.T) {
	estate := parseEstate(t, "  cognito:\n    audiences: ["+appClient+"]\n    audience_claim: client_id\n")
	orders, err := estate.ForService("orders")
	if err != nil {
		t.Fatal(err)
	}
	cognito, err := estate.ForService("cognito")
	if err != nil {
		t.Fatal(err)
	}
	if orders.AudienceClaim != "" || cognito.AudienceClaim != core.AudienceClaimClientID {
		t.Fatalf("orders %q, cognito %q", orders.AudienceClaim, cognito.AudienceClaim)
	}
	if cognito.SharedFingerprint() != orders.SharedFingerprint() {
		t.Fatal("a service's own audience_claim moved the shared fingerprint")
	}
	typed := func(edit func(c map[string]any)) string {
		return clientToken(edit)(t)
	}
	v := newVerifier(t, cognito)
	if _, err := v.Verify(bg, typed(noEdit)); err != nil {
		t.Fatalf("the service's client: %v", err)
	}
	_, err = v.Verify(bg, typed(func(c map[string]any) { c["client_id"] = otherClient }))
	assertReason(t, err, core.ReasonAudienceInvalid)

	bad := parseEstate(t, "  cognito:\n    audiences: ["+appClient+"]\n    audience_claim: azp\n")
	_, err = bad.ForService("cognito")
	errs := core.ConfigErrors(err)
	if len(errs) != 1 || errs[0].Key != "services.cognito.audience_claim" || errs[0].Line == 0 {
		t.Fatalf("errors %v, want one on services.cognito.audience_claim with its line", err)
	}
}
