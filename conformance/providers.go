package conformance

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"strings"

	"github.com/jwtguard/jwtguard/core"
)

// gProviders is the group of the provider-shape matrix: tokens shaped as
// each IdP issues them, through the baseline a service behind it writes.
const gProviders = "Provider shapes"

// provider is one IdP of the provider-shape matrix: the baseline a service
// behind it writes, the route check that fits its tokens, and its access
// and ID tokens, header and claims, as its public documentation shows
// them. The README's "Configure for your IdP" table is made from these.
type provider struct {
	name string // as the README names it
	slug string // the prefix of its cases' names

	issuer   string   // the issuer as the baseline writes it: iss, or a template of it
	tenants  []string // the tenants of a template issuer
	audience string   // the service's audience
	// audienceClaim is the baseline's audience_claim: client_id where
	// the access token has no aud (Cognito); "" for aud.
	audienceClaim string
	tokenTypes    []string // the baseline's token_types; nil: typ unchecked
	required      []string // the baseline's required_claims
	// idShaped: the IdP's access tokens carry ID token claims (Dex: a
	// nonce), so its baseline cannot say refuse_id_tokens.
	idShaped bool

	// The README's columns: the typ header of the access token, where
	// scopes and roles are, and what the baseline must say beyond
	// issuer, audience and algorithms.
	typ, scopesAt, rolesAt, setup string

	// The route's check: the scopes, or the roles, the protected route
	// requires, and what the refused token lacks.
	scopes []string
	roles  []roleCheck

	subject string // sub of the access token

	// access and idToken are the two tokens, as a header and claims at
	// now; source and idSource name the documents they follow. lacking
	// edits the access token's claims so that it lacks what the route
	// requires.
	access, idToken  func(now int64) (header, claims map[string]any)
	source, idSource string
	lacking          func(claims map[string]any)
	lacks            string // what lacking takes away
	missing          string // the same, in the refused case's name
	// bearer and idBearer name the two tokens, when "an access token"
	// and "an ID token" would not.
	bearer, idBearer string
	idNote           string // why the ID token's aud passes, when it would not
	note             string // what the access token case must also say
	// idReason is why the baseline refuses the ID token: type_invalid
	// (refuse_id_tokens) unless said otherwise.
	idReason core.Reason
	// idAudience is the ID token's aud when the baseline does not list
	// it: the ID-token case's baseline adds it, so that the token is
	// refused for being an ID token, not for its audience.
	idAudience string
}

// roleCheck is one core.RequireRoles of a route: the claim at Claim must
// hold every one of Roles.
type roleCheck struct {
	Claim string   `json:"claim"`
	Roles []string `json:"roles"`
}

// requireRoles is the route policy of checks, in order.
func requireRoles(checks []roleCheck) core.Policy {
	policies := make([]core.Policy, len(checks))
	for i, rc := range checks {
		policies[i] = core.RequireRoles(rc.Claim, rc.Roles...)
	}
	return func(ctx context.Context, c *core.Claims) error {
		for _, p := range policies {
			if err := p(ctx, c); err != nil {
				return err
			}
		}
		return nil
	}
}

// baseline applies the provider's baseline to c. It leaves the JWKS URL:
// the case's IdP serves the keys, under the provider's issuer.
func (p *provider) baseline(c *core.Config) {
	if len(c.Issuers) == 1 {
		c.Issuers[0].Issuer, c.Issuers[0].Tenants = p.issuer, p.tenants
	}
	c.Algorithms = []string{"RS256"}
	c.Audiences, c.AudienceClaim = []string{p.audience}, p.audienceClaim
	c.TokenTypes, c.RequiredClaims = p.tokenTypes, p.required
	c.RefuseIDTokens = p.refusesByClaims()
}

// refusesByClaims reports whether the provider's baseline says
// refuse_id_tokens: not where its access tokens carry ID token claims, nor
// where they are typed, since token_types then refuses ID tokens already.
func (p *provider) refusesByClaims() bool { return !p.idShaped && len(p.tokenTypes) == 0 }

// shaped signs a token with the matrix's rsa-1, whose kid the shapes
// carry: the shapes are about header and claims, not key selection.
func shaped(f func(now int64) (header, claims map[string]any), edit func(claims map[string]any)) func(*env) string {
	return func(e *env) string {
		h, c := f(e.now())
		if edit != nil {
			edit(c)
		}
		return e.token().Edit(func(header, claims map[string]any) {
			clear(header)
			clear(claims)
			maps.Copy(header, h)
			maps.Copy(claims, c)
		}).Sign()
	}
}

// cases are the provider's cases: its access token accepted, one lacking
// what the route requires refused 403, and its ID token refused.
func (p *provider) cases() []testCase {
	served := "needs the target configured with the " + p.name + " baseline, under its issuer"
	var route []string
	for _, sc := range p.scopes {
		route = append(route, "the scope "+sc)
	}
	for _, rc := range p.roles {
		route = append(route, strings.Join(rc.Roles, ", ")+" in "+rc.Claim)
	}
	requiring := "a route requiring " + strings.Join(route, " and ")
	var policy core.Policy
	if p.roles != nil {
		policy = requireRoles(p.roles)
	}
	bearer, idBearer := cmp.Or(p.bearer, "an access token"), cmp.Or(p.idBearer, "an ID token")
	ok := testCase{
		name: p.slug + "-access-token", group: gProviders, want: Accept, subject: p.subject,
		scopes: p.scopes, roles: p.roles, policy: policy, config: p.baseline, served: served,
		token:       shaped(p.access, nil),
		explanation: fmt.Sprintf("%s as %s issues it, under the baseline for %s, is accepted on %s", bearer, p.name, p.name, requiring) + p.note,
		source:      p.source,
	}
	refused := ok
	refused.name = p.slug + "-missing-" + p.missing
	refused.want, refused.reason, refused.subject = InsufficientScope, core.ReasonInsufficientScope, ""
	refused.token = shaped(p.access, p.lacking)
	refused.explanation = fmt.Sprintf("%s as %s issues it, without %s, is valid but forbidden on %s", bearer, p.name, p.lacks, requiring)

	id := ok
	id.name = p.slug + "-id-token"
	id.want, id.reason, id.subject = InvalidToken, cmp.Or(p.idReason, core.ReasonTypeInvalid), ""
	id.token = shaped(p.idToken, nil)
	id.source = p.idSource
	id.config = func(c *core.Config) {
		p.baseline(c)
		c.RefuseIDTokens = len(p.tokenTypes) == 0
		if p.idAudience != "" {
			c.Audiences = append(c.Audiences, p.idAudience)
		}
	}
	by := "under refuse_id_tokens"
	switch {
	case p.idReason == core.ReasonAudienceInvalid:
		by = "under audience_claim: " + p.audienceClaim + ", for carrying no " + p.audienceClaim
	case len(p.tokenTypes) > 0:
		by = "by token_types, its typ being JWT"
	}
	id.explanation = fmt.Sprintf("%s as %s issues it is refused %s", idBearer, p.name, by)
	if p.idNote != "" {
		id.explanation += ", " + p.idNote
	}
	out := []testCase{ok, refused, id}
	if p.audienceClaim == core.AudienceClaimClientID {
		// client_id is the audience its access tokens do not carry in aud.
		other := ok
		other.name = p.slug + "-other-app-client"
		other.want, other.reason, other.subject = InvalidToken, core.ReasonAudienceInvalid, ""
		other.token = shaped(p.access, func(c map[string]any) { c["client_id"] = "7z5y3x1w9v8u6t4s2r0q1p3o5n" })
		other.explanation = fmt.Sprintf("%s as %s issues it for another app client of the pool is refused under audience_claim: client_id, "+
			"its client_id standing for the aud its access tokens do not carry", bearer, p.name)
		out = append(out, other)
	}
	if p.tenants != nil {
		other := ok
		other.name = p.slug + "-other-tenant"
		other.want, other.reason, other.subject = InvalidToken, core.ReasonIssuerInvalid, ""
		other.token = shaped(p.access, func(c map[string]any) {
			c["iss"] = strings.Replace(p.issuer, core.TenantPlaceholder, otherTenant, 1)
			c["tid"] = otherTenant
		})
		other.explanation = fmt.Sprintf("%s as %s issues it in a tenant the issuer's template does not list is refused", bearer, p.name)
		out = append(out, other)
	}
	if !p.idShaped {
		return out
	}
	// Why the baseline leaves refuse_id_tokens out.
	shapedAsID := ok
	shapedAsID.name = p.slug + "-access-token-refuse-id-tokens"
	shapedAsID.want, shapedAsID.reason, shapedAsID.subject = InvalidToken, core.ReasonTypeInvalid, ""
	shapedAsID.config = id.config
	shapedAsID.explanation = fmt.Sprintf("%s as %s issues it carries an ID token's claims (a nonce), so refuse_id_tokens refuses it too: "+
		"the baseline for %s leaves the setting out", bearer, p.name, p.name)
	return append(out, shapedAsID)
}

// providerCases are the cases of every provider, in the README's order.
func providerCases() []testCase {
	var out []testCase
	for i := range providers {
		out = append(out, providers[i].cases()...)
	}
	return out
}

// The providers' names for things, made up in the shape each IdP gives
// them (tenant GUIDs, pool IDs, client IDs).
const (
	auth0Client    = "Xq8mZ2rT5vB7nK1pL4wC9dF3gH6jS0aE"
	entraTenant    = "4a2c7e1f-9b3d-4f60-8e15-c0d9a7b6e321"
	otherTenant    = "0e9d8c7b-6a5f-4e3d-9c2b-1a0f9e8d7c6b" // a tenant the baseline does not list
	entraAPIClient = "8d3f6a21-5c47-4e9b-b0a2-7f1e9c3d5b84" // the API's app registration
	entraWebClient = "c1b27e94-0d3a-4f68-9e5c-2a7b4d1f0e63" // the web app calling it
	entraUserOID   = "3f9a1c6e-7b2d-4e85-a0c4-9d1e5f7b2a68"
	entraDaemonOID = "b6e0d2f9-4a17-4c3e-8f5b-1d7a9c2e0b45" // the daemon's service principal
	cognitoPool    = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ab12Cd34E"
	cognitoClient  = "4k7h2m9p1q3r5s8t0v6w2x4y9z"
	cognitoSub     = "94e8e4a8-5061-70b4-ad36-1b9f5c3e7d20"
	keycloakSub    = "f1b6d8c2-3a4e-4b9f-8c7d-5e2a1f0b6c93"
	zitadelProject = "259254020743151618"
	zitadelClient  = "259254409320644610"
	zitadelUser    = "259242039378444290"
	zitadelOrg     = "259242039378378754"
	dexSub         = "CgVhbGljZRIEbGRhcA" // base64 of the user ID and connector, as Dex makes it
	googleService  = "https://orders-7hq2xk4vba-uc.a.run.app"
	googleInvoker  = "invoker@acme-orders.iam.gserviceaccount.com"
)

// hdr is the header of a shaped token: alg RS256, the kid of rsa-1, and
// the rest as given.
func hdr(kv ...any) map[string]any {
	h := map[string]any{"alg": "RS256", "kid": "rsa-1"}
	for i := 0; i+1 < len(kv); i += 2 {
		h[kv[i].(string)] = kv[i+1]
	}
	return h
}

// auth0IDToken is an Auth0 ID token, whichever profile the API's access
// tokens have.
func auth0IDToken(now int64) (map[string]any, map[string]any) {
	return hdr("typ", "JWT"), map[string]any{
		"iss": "https://acme.us.auth0.com/", "sub": "auth0|64f1c2a9e8b7d6c5b4a39281",
		"aud": auth0Client, "iat": now, "exp": now + 36000,
		"nonce": "n-0S6_WzA2Mj", "sid": "Kp7zQ2vX9mB4nR1tY6wL3cF8", "name": "Alice", "email": "alice@acme.example",
		"email_verified": true, "nickname": "alice", "updated_at": "2030-01-01T09:00:00.000Z",
	}
}

// providers are the IdPs of the provider-shape matrix, in the README's
// order.
var providers = []provider{
	{
		name: "Auth0", slug: "auth0",
		issuer: "https://acme.us.auth0.com/", audience: "https://api.acme.example/orders",
		typ: "`JWT`", scopesAt: "`scope` (string); `permissions` (array) with RBAC", rolesAt: "a namespaced custom claim, by an Action",
		setup:  "the API's token profile is Auth0's, the default",
		scopes: []string{"read:orders"}, lacks: "the scope read:orders", missing: "scope",
		subject: "auth0|64f1c2a9e8b7d6c5b4a39281",
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT"), map[string]any{
				"iss": "https://acme.us.auth0.com/", "sub": "auth0|64f1c2a9e8b7d6c5b4a39281",
				"aud": []string{"https://api.acme.example/orders", "https://acme.us.auth0.com/userinfo"},
				"azp": auth0Client, "iat": now, "exp": now + 86400,
				"scope": "openid profile read:orders write:orders", "permissions": []string{"read:orders", "write:orders"},
			}
		},
		lacking: func(c map[string]any) {
			c["scope"] = "openid profile write:orders"
			c["permissions"] = []string{"write:orders"}
		},
		source:  "https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (Auth0 token profile)",
		idToken: auth0IDToken, idSource: "https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure",
		idAudience: auth0Client, idNote: "even by a service that lists its client ID among its audiences",
	},
	{
		name: "Auth0 (RFC 9068 profile)", slug: "auth0-rfc9068",
		issuer: "https://acme.us.auth0.com/", audience: "https://api.acme.example/orders", tokenTypes: []string{"at+jwt"},
		typ: "`at+jwt`", scopesAt: "`scope` (string); `permissions` (array) with RBAC", rolesAt: "a namespaced custom claim, by an Action",
		setup:  "the API's token profile is RFC 9068; typed access tokens make `refuse_id_tokens` unneeded",
		scopes: []string{"read:orders"}, lacks: "the scope read:orders", missing: "scope",
		subject: "auth0|64f1c2a9e8b7d6c5b4a39281",
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "at+jwt"), map[string]any{
				"iss": "https://acme.us.auth0.com/", "sub": "auth0|64f1c2a9e8b7d6c5b4a39281",
				"aud":       []string{"https://api.acme.example/orders", "https://acme.us.auth0.com/userinfo"},
				"client_id": auth0Client, "iat": now, "exp": now + 86400,
				"jti": "73WakrfVbNJBaAmhQtEeDv", "scope": "openid profile read:orders write:orders",
			}
		},
		lacking: func(c map[string]any) { c["scope"] = "openid profile write:orders" },
		source:  "https://auth0.com/docs/secure/tokens/access-tokens/access-token-profiles (RFC 9068 token profile)",
		idToken: auth0IDToken, idSource: "https://auth0.com/docs/secure/tokens/id-tokens/id-token-structure",
		idAudience: auth0Client, idNote: "even by a service that lists its client ID among its audiences",
	},
	{
		name: "Okta", slug: "okta",
		issuer: "https://acme.okta.com/oauth2/default", audience: "api://default",
		typ: "none", scopesAt: "`scp` (array)", rolesAt: "a custom `groups` claim",
		setup:  "a custom authorization server (`/oauth2/<id>`): the org server's access tokens are for Okta's own APIs",
		scopes: []string{"orders:read"}, lacks: "the scope orders:read", missing: "scope",
		subject: "alice@acme.example",
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"ver": 1, "jti": "AT.t9Lr8hJ0kVwQ2aZ5xN7cB3mP1sD4fG6yU8iO0eR2", "iss": "https://acme.okta.com/oauth2/default",
				"aud": "api://default", "sub": "alice@acme.example", "iat": now, "exp": now + 3600,
				"cid": "0oa8k2j4h6g9f1d3s5a7", "uid": "00u2m4n6b8v0c1x3z5l7", "scp": []string{"openid", "orders:read"},
				"auth_time": now - 60,
			}
		},
		lacking: func(c map[string]any) { c["scp"] = []string{"openid", "orders:write"} },
		source:  "https://developer.okta.com/docs/guides/validate-access-tokens/ and https://developer.okta.com/docs/reference/api/oidc/#access-token",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"ver": 1, "jti": "ID.q3Wv6yB9nM2kL5jH8gF1dS4aZ7xC0vB3nM6", "iss": "https://acme.okta.com/oauth2/default",
				"aud": "0oa8k2j4h6g9f1d3s5a7", "sub": "00u2m4n6b8v0c1x3z5l7", "iat": now, "exp": now + 3600,
				"idp": "00o1a2b3c4d5e6f7g8h9", "nonce": "n-0S6_WzA2Mj", "amr": []string{"pwd"}, "auth_time": now - 60,
				"at_hash": "preqCmi9Oq2Wn3cs6yF7Ng", "name": "Alice", "email": "alice@acme.example",
				"preferred_username": "alice@acme.example",
			}
		},
		idSource:   "https://developer.okta.com/docs/reference/api/oidc/#id-token",
		idAudience: "0oa8k2j4h6g9f1d3s5a7",
		idNote:     "even by a service that lists its client ID among its audiences",
	},
	{
		name: "Microsoft Entra ID (v1.0 tokens)", slug: "entra-v1",
		issuer: "https://sts.windows.net/{tenant}/", tenants: []string{entraTenant}, audience: "api://orders",
		typ: "`JWT`", scopesAt: "`scp` (space-delimited string)", rolesAt: "`roles` (array)",
		setup:  "the API's manifest at `accessTokenAcceptedVersion: null` or `1`; a tenant's `tid` must match its issuer",
		scopes: []string{"Orders.Read"}, lacks: "the scope Orders.Read", missing: "scope",
		subject: "eTf4vXwB7kZ9mN2qR5sL8jH1gD3fA6cV0bY4uI7oP2w",
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT", "x5t", "rsa-1"), map[string]any{
				"aud": "api://orders", "iss": "https://sts.windows.net/" + entraTenant + "/",
				"iat": now, "nbf": now, "exp": now + 4500, "acr": "1", "aio": "E2ZgYJjV8fVx+5PvH7mQ==",
				"amr": []string{"pwd", "mfa"}, "appid": entraWebClient, "appidacr": "1",
				"family_name": "Liddell", "given_name": "Alice", "ipaddr": "203.0.113.7", "name": "Alice Liddell",
				"oid": entraUserOID, "rh": "0.AXEA9m1Kf3w2b0qX.", "scp": "Orders.Read Orders.Write",
				"sub": "eTf4vXwB7kZ9mN2qR5sL8jH1gD3fA6cV0bY4uI7oP2w", "tid": entraTenant,
				"unique_name": "alice@acme.example", "upn": "alice@acme.example", "uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "1.0",
			}
		},
		lacking: func(c map[string]any) { c["scp"] = "Orders.Write" },
		source:  "https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference (v1.0)",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT", "x5t", "rsa-1"), map[string]any{
				"aud": entraWebClient, "iss": "https://sts.windows.net/" + entraTenant + "/",
				"iat": now, "nbf": now, "exp": now + 3600, "amr": []string{"pwd"}, "family_name": "Liddell",
				"given_name": "Alice", "ipaddr": "203.0.113.7", "name": "Alice Liddell", "nonce": "n-0S6_WzA2Mj",
				"oid": entraUserOID, "rh": "0.AXEA9m1Kf3w2b0qX.", "sub": "Qm8xR3vT6yB1nK4jH7gF0dS2aZ5xC8vB1nM4lP7oI0u",
				"tid": entraTenant, "unique_name": "alice@acme.example", "upn": "alice@acme.example",
				"uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "1.0",
			}
		},
		idSource:   "https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (v1.0)",
		idAudience: entraWebClient,
		idNote:     "even by a service that lists the web app's client ID among its audiences",
	},
	{
		name: "Microsoft Entra ID (v2.0 tokens)", slug: "entra-v2",
		issuer: "https://login.microsoftonline.com/{tenant}/v2.0", tenants: []string{entraTenant}, audience: entraAPIClient,
		typ: "`JWT`", scopesAt: "`scp` (space-delimited string), delegated tokens only", rolesAt: "`roles` (array); app-only tokens carry only these",
		setup: "`accessTokenAcceptedVersion: 2` in the API's manifest; the audience is the API's client ID, a GUID",
		roles: []roleCheck{{"roles", []string{"Orders.ReadWrite.All"}}}, lacks: "the role Orders.ReadWrite.All", missing: "role",
		subject: entraDaemonOID,
		access: func(now int64) (map[string]any, map[string]any) {
			// An app-only token (client credentials): the daemon's
			// application roles, no scp.
			return hdr("typ", "JWT"), map[string]any{
				"aud": entraAPIClient, "iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
				"iat": now, "nbf": now, "exp": now + 3599, "aio": "k2BgYPg8cf3+xV7ZqW==", "azp": entraWebClient,
				"azpacr": "1", "idtyp": "app", "oid": entraDaemonOID, "rh": "0.AXEA9m1Kf3w2b0qX.",
				"roles": []string{"Orders.Read.All", "Orders.ReadWrite.All"}, "sub": entraDaemonOID, "tid": entraTenant,
				"uti": "Xk3vT8mQ2EeYw5Zr1nB0AA", "ver": "2.0",
			}
		},
		lacking: func(c map[string]any) { c["roles"] = []string{"Orders.Read.All"} },
		source:  "https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference (v2.0, app-only)",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT"), map[string]any{
				"aud": entraAPIClient, "iss": "https://login.microsoftonline.com/" + entraTenant + "/v2.0",
				"iat": now, "nbf": now, "exp": now + 3600, "aio": "AUQAu/8NAAAA7dR5", "name": "Alice Liddell",
				"nonce": "n-0S6_WzA2Mj", "oid": entraUserOID, "preferred_username": "alice@acme.example",
				"rh": "0.AXEA9m1Kf3w2b0qX.", "sub": "Qm8xR3vT6yB1nK4jH7gF0dS2aZ5xC8vB1nM4lP7oI0u", "tid": entraTenant,
				"uti": "fqiBqXLPj0eQa82S-IYFAA", "ver": "2.0",
			}
		},
		idSource: "https://learn.microsoft.com/entra/identity-platform/id-token-claims-reference (v2.0)",
		idNote:   "though its aud is the API's client ID, as when one app registration serves a web app and its API",
	},
	{
		name: "Keycloak", slug: "keycloak",
		issuer: "https://sso.acme.example/realms/acme", audience: "orders-api",
		typ: "`JWT` (and a `typ` claim: `Bearer`, `ID`)", scopesAt: "`scope` (string)", rolesAt: "`realm_access.roles`, `resource_access.<client>.roles` (arrays)",
		setup: "an audience mapper that puts the API's client in `aud` (by default it holds `account` only)",
		roles: []roleCheck{{"realm_access.roles", []string{"admin"}}}, lacks: "the realm role admin (it holds a client role admin)", missing: "role",
		subject: keycloakSub,
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT"), map[string]any{
				"exp": now + 300, "iat": now, "auth_time": now - 60, "jti": "6c1e8f0a-2d4b-4e7c-9a3f-5b8d2e1c7f40",
				"iss": "https://sso.acme.example/realms/acme", "aud": []string{"orders-api", "account"}, "sub": keycloakSub,
				"typ": "Bearer", "azp": "orders-web", "sid": "0b7e4f1a-9c2d-4a6e-8f3b-1d5c7e9a2b40", "acr": "1",
				"allowed-origins": []string{"https://orders.acme.example"},
				"realm_access":    map[string]any{"roles": []string{"offline_access", "uma_authorization", "admin", "default-roles-acme"}},
				"resource_access": map[string]any{"account": map[string]any{"roles": []string{"manage-account", "view-profile"}}},
				"scope":           "openid email profile", "email_verified": true, "name": "Alice Liddell",
				"preferred_username": "alice", "given_name": "Alice", "family_name": "Liddell", "email": "alice@acme.example",
			}
		},
		lacking: func(c map[string]any) {
			c["realm_access"] = map[string]any{"roles": []string{"offline_access", "uma_authorization", "default-roles-acme"}}
			// The role under another path does not count.
			c["resource_access"] = map[string]any{"orders-api": map[string]any{"roles": []string{"admin"}}}
		},
		source: "https://www.keycloak.org/docs/latest/server_admin/#_client_scopes (the roles scope) and https://www.keycloak.org/docs/latest/server_admin/#audience-support",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr("typ", "JWT"), map[string]any{
				"exp": now + 300, "iat": now, "auth_time": now - 60, "jti": "2a9d6c3e-8f1b-4e5a-b7c0-4d2e9f6a1c38",
				"iss": "https://sso.acme.example/realms/acme", "aud": "orders-web", "sub": keycloakSub, "typ": "ID",
				"azp": "orders-web", "nonce": "n-0S6_WzA2Mj", "sid": "0b7e4f1a-9c2d-4a6e-8f3b-1d5c7e9a2b40",
				"at_hash": "x7kQ2vB9nM4jH1gF6dS3aZ", "acr": "1", "email_verified": true, "name": "Alice Liddell",
				"preferred_username": "alice", "email": "alice@acme.example",
			}
		},
		idSource:   "https://www.keycloak.org/docs/latest/securing_apps/#_oidc (ID token, typ ID)",
		idAudience: "orders-web",
		idNote:     "even by a service that lists the web client among its audiences",
	},
	{
		name: "Amazon Cognito", slug: "cognito",
		issuer: cognitoPool, audience: cognitoClient, audienceClaim: core.AudienceClaimClientID, idReason: core.ReasonAudienceInvalid,
		typ: "none", scopesAt: "`scope` (string)", rolesAt: "`cognito:groups` (array)",
		setup: "access tokens have no `aud`: `client_id` names the app client instead, and the audience is read from it " +
			"(an ID token has none and is refused; one of another app client too)",
		roles: []roleCheck{{"cognito:groups", []string{"admin"}}}, lacks: "the group admin", missing: "group",
		subject: cognitoSub,
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"sub": cognitoSub, "cognito:groups": []string{"admin", "staff"}, "iss": cognitoPool, "version": 2,
				"client_id": cognitoClient, "origin_jti": "a3f1c9e2-7b4d-4e8a-9c6f-2d1b5e8a7c30",
				"event_id": "d4b8e2f6-1a3c-4b7e-8d9f-6c2a4e1b8d57", "token_use": "access",
				"scope": "aws.cognito.signin.user.admin openid profile", "auth_time": now - 60, "exp": now + 3600,
				"iat": now, "jti": "7e2c9a4f-5b1d-4c8e-a3f6-9d0b2e7c1a84", "username": "alice",
			}
		},
		lacking: func(c map[string]any) { c["cognito:groups"] = []string{"staff"} },
		source:  "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"sub": cognitoSub, "cognito:groups": []string{"admin", "staff"}, "email_verified": true, "iss": cognitoPool,
				"cognito:username": "alice", "origin_jti": "a3f1c9e2-7b4d-4e8a-9c6f-2d1b5e8a7c30", "aud": cognitoClient,
				"event_id": "d4b8e2f6-1a3c-4b7e-8d9f-6c2a4e1b8d57", "token_use": "id", "auth_time": now - 60,
				"exp": now + 3600, "iat": now, "jti": "1c6e3a9d-4f2b-4e7a-8b5c-0d9f2a6e3c71", "email": "alice@acme.example",
			}
		},
		idSource: "https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-id-token.html",
		idNote: "though, signed in through the SDK (InitiateAuth), it carries neither nonce nor at_hash for refuse_id_tokens to see, " +
			"and names the app client in aud, where this baseline does not read the audience",
	},
	{
		name: "Google", slug: "google",
		issuer: "https://accounts.google.com", audience: googleService,
		typ: "`JWT`", scopesAt: "none: Google's access tokens are opaque, its JWTs are ID tokens", rolesAt: "none; the caller is `email`",
		setup: "the audience is the service's URL; the caller's token is an ID token without `nonce` or `at_hash`, " +
			"so `refuse_id_tokens` lets it through and refuses sign-in ID tokens; a route check on `email`",
		roles: []roleCheck{{"email", []string{googleInvoker}}}, note: ": Google's access tokens are opaque, and what a caller sends a service is the ID token the metadata server " +
			"mints for its service account, aud the service's URL, without nonce or at_hash",
		lacks: "the invoker's email", missing: "invoker", bearer: "a service-to-service ID token", idBearer: "a Sign in with Google ID token",
		subject: "104523908576314268795",
		access: func(now int64) (map[string]any, map[string]any) {
			// What the metadata server mints for the calling service's
			// account (identity?audience=<service URL>&format=full).
			return hdr("typ", "JWT"), map[string]any{
				"aud": googleService, "azp": "104523908576314268795", "email": googleInvoker, "email_verified": true,
				"exp": now + 3600, "iat": now, "iss": "https://accounts.google.com", "sub": "104523908576314268795",
			}
		},
		lacking: func(c map[string]any) { c["email"] = "batch@acme-orders.iam.gserviceaccount.com" },
		source:  "https://cloud.google.com/run/docs/authenticating/service-to-service and https://cloud.google.com/compute/docs/instances/verifying-instance-identity",
		idToken: func(now int64) (map[string]any, map[string]any) {
			// A Sign in with Google ID token, for a web client.
			return hdr("typ", "JWT"), map[string]any{
				"iss": "https://accounts.google.com", "azp": "618054227462-4pq1v3k8m2n5b7c9x0z.apps.googleusercontent.com",
				"aud": "618054227462-4pq1v3k8m2n5b7c9x0z.apps.googleusercontent.com", "sub": "110169484474386276334",
				"hd": "acme.example", "email": "alice@acme.example", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
				"nonce": "n-0S6_WzA2Mj", "name": "Alice Liddell", "given_name": "Alice", "family_name": "Liddell",
				"iat": now, "exp": now + 3600,
			}
		},
		idSource:   "https://developers.google.com/identity/openid-connect/openid-connect#an-id-tokens-payload",
		idAudience: "618054227462-4pq1v3k8m2n5b7c9x0z.apps.googleusercontent.com",
		idNote:     "even by a service that lists the web client among its audiences",
	},
	{
		name: "Spring Authorization Server", slug: "spring",
		issuer: "https://auth.acme.example", audience: "orders-client",
		typ: "none", scopesAt: "`scope` (array)", rolesAt: "a custom claim, by an `OAuth2TokenCustomizer`",
		setup:  "the audience is the client ID, which `JwtGenerator` puts in `aud` of access and ID tokens alike",
		scopes: []string{"orders.write"}, lacks: "the scope orders.write", missing: "scope",
		subject: "alice",
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://auth.acme.example", "sub": "alice", "aud": []string{"orders-client"},
				"nbf": now, "scope": []string{"orders.read", "orders.write"}, "exp": now + 300, "iat": now,
				"jti": "5f3c8e1a-9b2d-4a7e-b6c0-3d1f8e2a9c47",
			}
		},
		lacking: func(c map[string]any) { c["scope"] = []string{"orders.read"} },
		source:  "https://github.com/spring-projects/spring-authorization-server/blob/main/oauth2-authorization-server/src/main/java/org/springframework/security/oauth2/server/authorization/token/JwtGenerator.java",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://auth.acme.example", "sub": "alice", "aud": []string{"orders-client"},
				"azp": "orders-client", "auth_time": now - 60, "nonce": "n-0S6_WzA2Mj",
				"sid": "Ck1m7Qx2vB9nR4tY6wL3", "exp": now + 1800, "iat": now, "jti": "e8a2c6f0-3d9b-4e1a-a7c5-2b4f9d1e6a83",
			}
		},
		idSource: "https://docs.spring.io/spring-authorization-server/reference/core-model-components.html#oauth2-token-generator",
		idNote:   "though its aud is the client ID the service accepts access tokens for",
	},
	{
		name: "ZITADEL", slug: "zitadel",
		issuer: "https://acme-x7k2qp.zitadel.cloud", audience: zitadelProject,
		typ: "none", scopesAt: "`scope` (string)", rolesAt: "`urn:zitadel:iam:org:project:roles` (object keyed by role)",
		setup: "JWT access tokens (the application's token type); the audience is the project ID",
		roles: []roleCheck{{"urn:zitadel:iam:org:project:roles", []string{"admin"}}}, lacks: "the role admin", missing: "role",
		subject: zitadelUser,
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://acme-x7k2qp.zitadel.cloud", "sub": zitadelUser,
				"aud": []string{zitadelClient, zitadelProject}, "exp": now + 43200, "iat": now, "nbf": now,
				"jti": "V2_259254617463046146-at_259254617463111682", "client_id": zitadelClient,
				"scope": "openid profile urn:zitadel:iam:org:project:id:" + zitadelProject + ":aud",
				"urn:zitadel:iam:org:project:roles": map[string]any{
					"admin":  map[string]any{zitadelOrg: "acme.zitadel.cloud"},
					"viewer": map[string]any{zitadelOrg: "acme.zitadel.cloud"},
				},
			}
		},
		lacking: func(c map[string]any) {
			c["urn:zitadel:iam:org:project:roles"] = map[string]any{"viewer": map[string]any{zitadelOrg: "acme.zitadel.cloud"}}
		},
		source: "https://zitadel.com/docs/apis/openidoauth/claims",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://acme-x7k2qp.zitadel.cloud", "sub": zitadelUser, "aud": []string{zitadelClient, zitadelProject},
				"exp": now + 43200, "iat": now, "auth_time": now - 60, "amr": []string{"password", "pwd"},
				"azp": zitadelClient, "at_hash": "Jq7kV2xB9nM4hG1fD6sA3w",
				"nonce": "n-0S6_WzA2Mj", "sid": "V1_259254617161056258", "name": "Alice Liddell",
				"preferred_username": "alice@acme.zitadel.cloud", "email": "alice@acme.example", "email_verified": true,
			}
		},
		idSource: "https://zitadel.com/docs/apis/openidoauth/claims",
		idNote:   "though its aud holds the project ID the service accepts",
	},
	{
		name: "Dex", slug: "dex",
		issuer: "https://dex.acme.example", audience: "orders-app", idShaped: true,
		typ: "none", scopesAt: "none", rolesAt: "`groups` (array), with the `groups` scope",
		setup: "the audience is the client ID; no `refuse_id_tokens`: Dex signs its access tokens with the ID token's claims, " +
			"the client's `nonce` too, and only `at_hash` tells them apart",
		roles: []roleCheck{{"groups", []string{"orders-admins"}}}, lacks: "the group orders-admins", missing: "group",
		note:    ": Dex signs its access token with its ID token's claims, the client's nonce too, without at_hash",
		subject: dexSub,
		access: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://dex.acme.example", "sub": dexSub, "aud": "orders-app", "exp": now + 86400, "iat": now,
				"nonce": "n-0S6_WzA2Mj", "email": "alice@acme.example", "email_verified": true,
				"groups": []string{"orders-admins", "staff"}, "name": "alice",
			}
		},
		lacking: func(c map[string]any) { c["groups"] = []string{"staff"} },
		source:  "https://github.com/dexidp/dex/blob/master/server/oauth2.go (newAccessToken signs newIDToken's claims)",
		idToken: func(now int64) (map[string]any, map[string]any) {
			return hdr(), map[string]any{
				"iss": "https://dex.acme.example", "sub": dexSub, "aud": "orders-app", "exp": now + 86400, "iat": now,
				"nonce": "n-0S6_WzA2Mj", "at_hash": "Wq3xZ8vB1nM5kH2jG7fD4s", "email": "alice@acme.example",
				"email_verified": true, "groups": []string{"orders-admins", "staff"}, "name": "alice",
			}
		},
		idSource: "https://dexidp.io/docs/configuration/custom-scopes-claims-clients/ and https://github.com/dexidp/dex/blob/master/server/oauth2.go",
		idNote:   "though its aud is the client the service accepts",
	},
}
