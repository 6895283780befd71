package conformance

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// testCase is one row of the matrix: a request, the rule it breaks (or
// keeps), and the verdict every adapter must give.
type testCase struct {
	name  string
	group string
	// explanation states the rule; source is the RFC section or CVE
	// behind it.
	explanation string
	source      string

	want    Outcome
	reason  core.Reason // "" when want is Accept
	subject string      // the subject seen on acceptance; "alice" when empty

	scopes  []string    // the protected route requires these
	missing []string    // the scope attribute of insufficient_scope; scopes when nil
	policy  core.Policy // the protected route's policy check; none when nil
	skipped bool        // the request is for SkipPath, which the middleware skips
	// optional: the route's authentication is optional (Route.Optional);
	// anonymous: the request is accepted without claims.
	optional, anonymous bool

	keys    keySet               // the key set the IdP publishes at start
	config  func(c *core.Config) // changes to the baseline
	before  func(e *env) error   // before the verifier starts
	started func(e *env) error   // after it started, before the request
	token   func(e *env) string  // sent as "Authorization: Bearer <token>"
	request func(e *env) Request // instead of token

	// served says why the case cannot be sent to a served target (see
	// [Target]), beyond what its fields say (servedSkip).
	served string
}

// defaultMaxTokenBytes is the max_token_bytes a baseline that leaves it out
// runs with, as the README's baseline table documents it.
const defaultMaxTokenBytes = 8 << 10

// Groups, in the order MATRIX.md lists them.
const (
	gValid     = "Valid tokens"
	gAlg       = "Algorithms"
	gSignature = "Signatures"
	gKeys      = "Key selection"
	gClaims    = "Claims"
	gEncoding  = "Encoding"
	gTransport = "Transport"
	gAuthz     = "Authorization"
	gRotation  = "Key rotation and outages"
	gPolicy    = "Policy checks"
	gSkipped   = "Skipped routes"
	gOptional  = "Optional credentials"
)

var groups = []string{gValid, gAlg, gSignature, gKeys, gClaims, gEncoding, gTransport, gAuthz, gRotation, gPolicy, gSkipped, gOptional}

func (e *env) now() int64 { return e.clock.now().Unix() }

// edit returns a token built from the default header and claims after f
// changed them, signed by the IdP with the key of its kid (see
// jwtguardtest.TokenBuilder.Sign).
func edit(f func(e *env, h, c map[string]any)) func(*env) string {
	return func(e *env) string {
		return e.token().Edit(func(h, c map[string]any) { f(e, h, c) }).Sign()
	}
}

// good is the default token: RS256 by rsa-1, typ at+jwt, valid an hour.
func good(e *env) string { return e.token().Sign() }

// rawPayload signs the default header over payload bytes built by f from
// the default claims' JSON.
func rawPayload(f func(e *env, claims []byte) []byte) func(*env) string {
	return func(e *env) string {
		h, c := e.defaults()
		return e.keys.rsa.JWS(js(h), f(e, js(c)))
	}
}

// rawHeader signs header bytes over the default claims with rsa-1.
func rawHeader(header string) func(*env) string {
	return func(e *env) string {
		_, c := e.defaults()
		return e.keys.rsa.JWS([]byte(header), js(c))
	}
}

// appendMember adds a raw member at the end of a JSON object.
func appendMember(obj []byte, member string) []byte {
	return append(append(bytes.TrimSuffix(obj, []byte("}")), ","+member...), '}')
}

// segments splits a compact token.
func segments(tok string) []string { return strings.Split(tok, ".") }

// sized is a valid token of exactly n bytes: an unregistered claim and a
// header member carry the padding.
func sized(n int) func(*env) string {
	return edit(func(_ *env, h, c map[string]any) {
		b64len := func(m int) int { return (m*4 + 2) / 3 }
		h["x"], c["pad"] = "", ""
		sig := b64len(256) // RS256 with a 2048-bit key
		hl, cl := len(js(h)), len(js(c))
		for hp := 0; hp < 4; hp++ {
			for cp := 0; cp < n; cp++ {
				if b64len(hl+hp)+1+b64len(cl+cp)+1+sig == n {
					h["x"], c["pad"] = strings.Repeat("h", hp), strings.Repeat("p", cp)
					return
				}
			}
		}
		panic("no padding gives a token of this size")
	})
}

func withTypes(c *core.Config)    { c.TokenTypes = []string{"at+jwt"} }
func withRequired(c *core.Config) { c.RequiredClaims = []string{"tenant"} }
func withQuery(c *core.Config)    { c.TokenSources.Query = "access_token" }

func header(values ...string) func(*env) Request {
	return func(*env) Request { return Request{Header: http.Header{"Authorization": values}} }
}

// cases is the matrix. MATRIX.md is generated from it.
var cases = []testCase{
	// Valid tokens: the baseline every rejection is measured against.
	{
		name: "valid-rs256", group: gValid, want: Accept, token: good,
		explanation: "an RS256 access token from the trusted issuer, for this audience, within its lifetime, is accepted",
		source:      "RFC 7519 section 7.2, RFC 9068 section 4",
	},
	{
		name: "valid-ps256", group: gValid, want: Accept,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "PS256", "rsa-noalg" }),
		explanation: "PS256 verifies with an RSA key whose JWK names no alg",
		source:      "RFC 7518 section 3.5, RFC 7517 section 4.4",
	},
	{
		name: "valid-es256", group: gValid, want: Accept,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "ES256", "ec-1" }),
		explanation: "ES256 with R and S as two 32-byte integers verifies with a P-256 key",
		source:      "RFC 7518 section 3.4",
	},
	{
		name: "valid-eddsa", group: gValid, want: Accept,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "EdDSA", "ed-1" }),
		explanation: "EdDSA verifies with an Ed25519 OKP key",
		source:      "RFC 8037 section 3.1",
	},
	{
		name: "valid-6kib", group: gValid, want: Accept, token: sized(6 << 10),
		explanation: "a 6 KiB token reaches the verifier and is accepted: the framework's header limits must not refuse it first",
		source:      "RFC 9110 section 5.4, max_token_bytes",
	},
	{
		name: "valid-max-token-bytes", group: gValid, want: Accept, token: sized(defaultMaxTokenBytes),
		explanation: "a token of exactly max_token_bytes (8 KiB by default) is accepted",
		source:      "max_token_bytes",
	},

	// Algorithms.
	{
		name: "alg-none", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       noneToken("none"),
		explanation: `alg "none" is an unsecured JWS and is never accepted`,
		source:      "RFC 8725 section 3.2, RFC 7518 section 3.6",
	},
	{
		name: "alg-none-capitalized", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       noneToken("None"),
		explanation: `alg "None": alg is compared exactly, so no casing of none slips past a case-insensitive check`,
		source:      "RFC 7515 section 4.1.1, RFC 8725 section 3.2",
	},
	{
		name: "alg-none-uppercase", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       noneToken("NONE"),
		explanation: `alg "NONE" is refused like "none"`,
		source:      "RFC 7515 section 4.1.1, RFC 8725 section 3.2",
	},
	{
		name: "alg-none-mixed-case", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       noneToken("nOnE"),
		explanation: `alg "nOnE" is refused like "none"`,
		source:      "RFC 7515 section 4.1.1, RFC 8725 section 3.2",
	},
	{
		name: "alg-none-with-signature", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		// The kit signs under rsa-1's own RS256 when the header's alg is
		// not one it signs.
		token:       func(e *env) string { return e.token().Alg("none").Sign() },
		explanation: `alg "none" is refused even when a real signature is attached`,
		source:      "RFC 8725 section 3.2",
	},
	{
		name: "alg-hs256-public-key-as-secret", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token: func(e *env) string {
			der, err := x509.MarshalPKIXPublicKey(e.keys.rsa.Public())
			if err != nil {
				panic(err)
			}
			secret := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return hmacToken(e.token().Alg("HS256").Unsigned(), secret)
		},
		explanation: "HS256 keyed with the issuer's RSA public key (key confusion) is refused: HMAC is outside the allowlist",
		source:      "RFC 8725 section 3.1, CVE-2015-9235, CVE-2016-10555",
	},
	{
		name: "alg-outside-allowlist", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "RS384", "rsa-noalg" }),
		explanation: "RS384, correctly signed by a published key, is refused because the baseline does not list it",
		source:      "RFC 8725 section 3.1",
	},
	{
		name: "alg-differs-from-jwk-alg", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"] = "PS256" }),
		explanation: "PS256 under kid rsa-1, whose JWK says RS256, is refused: a key's alg restricts what it verifies",
		source:      "RFC 7517 section 4.4, RFC 8725 section 3.1",
	},
	{
		name: "alg-missing", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { delete(h, "alg") }),
		explanation: "a header without alg is refused; the algorithm is never guessed from the key",
		source:      "RFC 7515 section 4.1.1",
	},
	{
		name: "alg-lowercase", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"] = "rs256" }),
		explanation: `alg "rs256" is not RS256: alg values are case-sensitive`,
		source:      "RFC 7515 section 4.1.1",
	},
	// The JWK of rsa-1 names RS256, which alone refuses every other alg
	// under that kid; rsa-noalg and ed-1 name none, so under them only the
	// allowlist's exact comparison refuses these.
	{
		name: "alg-suffix-key-without-alg", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "RS256x", "rsa-noalg" }),
		explanation: `alg "RS256x", RS256-signed under a key whose JWK names no alg, is refused: an alg that merely starts with an allowed one is another alg`,
		source:      "RFC 7515 section 4.1.1, RFC 8725 section 3.1",
	},
	{
		name: "alg-lowercase-key-without-alg", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "rs256", "rsa-noalg" }),
		explanation: `alg "rs256", RS256-signed under a key whose JWK names no alg, is refused: alg values are case-sensitive`,
		source:      "RFC 7515 section 4.1.1",
	},
	{
		name: "alg-eddsa-case-changed", group: gAlg, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "Eddsa", "ed-1" }),
		explanation: `alg "Eddsa", EdDSA-signed under ed-1, whose JWK names no alg, is refused: alg values are case-sensitive`,
		source:      "RFC 7515 section 4.1.1, RFC 8037 section 3.1",
	},
	{
		name: "alg-not-a-string", group: gAlg, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"] = []string{"RS256"} }),
		explanation: "an alg that is not a JSON string is refused",
		source:      "RFC 7515 section 4.1.1",
	},

	// Signatures.
	{
		name: "sig-tampered-payload", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			b := e.token()
			s := segments(b.Sign())
			return s[0] + "." + segments(b.Claim("sub", "mallory").Unsigned())[1] + "." + s[2]
		},
		explanation: "a payload changed after signing is refused: the signature covers header and payload as received",
		source:      "RFC 7515 section 5.2",
	},
	{
		name: "sig-stripped", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			s := segments(good(e))
			return s[0] + "." + s[1] + "."
		},
		explanation: "an RS256 token with an empty signature segment is refused",
		source:      "RFC 7515 section 5.2",
	},
	{
		name: "sig-truncated", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			s := segments(good(e))
			sig, _ := base64.RawURLEncoding.DecodeString(s[2])
			return s[0] + "." + s[1] + "." + b64(sig[:len(sig)-3])
		},
		explanation: "a signature cut short is refused",
		source:      "RFC 7515 section 5.2, RFC 8017 section 8.2.2",
	},
	{
		name: "sig-other-key-under-published-kid", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token:       func(e *env) string { return e.token().SignedBy(e.keys.rogue).KID("ec-1").Sign() },
		explanation: "a token signed by an unpublished key under a published kid is refused: the kid selects a key, it proves nothing",
		source:      "RFC 7515 section 4.1.4, RFC 8725 section 3.10",
	},
	{
		name: "sig-ecdsa-zero", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			return e.token().Alg("ES256").KID("ec-1").Unsigned() + b64(make([]byte, 64))
		},
		explanation: "an ES256 signature with r = s = 0 is refused (psychic signatures)",
		source:      "CVE-2022-21449, SEC 1 v2 section 4.1.4",
	},
	{
		name: "sig-ecdsa-asn1", group: gSignature, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			input := strings.TrimSuffix(e.token().Alg("ES256").KID("ec-1").Unsigned(), ".")
			digest := sha256.Sum256([]byte(input))
			// A nil random source: deterministic (RFC 6979), like every
			// signature of the matrix.
			der, err := e.keys.ec.Signer().Sign(nil, digest[:], crypto.SHA256)
			if err != nil {
				panic(err)
			}
			return input + "." + b64(der)
		},
		explanation: "an ES256 signature in ASN.1 DER form is refused: JWS carries R and S as fixed-size integers",
		source:      "RFC 7518 section 3.4",
	},

	// Key selection.
	{
		name: "kid-unknown", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "rsa-9" }),
		explanation: "a kid the issuer does not publish selects no key",
		source:      "RFC 7515 section 4.1.4",
	},
	{
		name: "kid-case-changed", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "RSA-1" }),
		explanation: "kid values are case-sensitive: RSA-1 is not rsa-1",
		source:      "RFC 7515 section 4.1.4",
	},
	{
		name: "kid-embedded-jwk", group: gKeys, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			jwk := e.keys.rogue.WithKID("ec-1").JWK()
			return e.token().SignedBy(e.keys.rogue).KID("ec-1").Header("jwk", jwk).Sign()
		},
		explanation: "a public key embedded in the header (jwk) is never used to verify the token that carries it",
		source:      "RFC 8725 section 3.10, CVE-2018-0114",
	},
	{
		name: "kid-jku-never-fetched", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token: func(e *env) string {
			return e.token().SignedBy(e.keys.rogue).Header("jku", e.url("jku.json")).Sign()
		},
		explanation: "a jku URL in the header is never fetched (the test's server proves it): keys come only from the issuer's configured set",
		source:      "RFC 8725 section 3.10, RFC 7515 section 4.1.2",
	},
	{
		name: "kid-x5u-never-fetched", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token: func(e *env) string {
			return e.token().SignedBy(e.keys.rogue).Header("x5u", e.url("x5u.pem")).Sign()
		},
		explanation: "an x5u URL in the header is never fetched (the test's server proves it)",
		source:      "RFC 8725 section 3.10, RFC 7515 section 4.1.5",
	},
	{
		name: "kid-x5c-ignored", group: gKeys, want: InvalidToken, reason: core.ReasonSignatureInvalid,
		token: func(e *env) string {
			x5c := []string{base64.StdEncoding.EncodeToString(e.keys.cert)}
			return e.token().SignedBy(e.keys.rogue).KID("ec-1").Header("x5c", x5c).Sign()
		},
		explanation: "a certificate chain in the header (x5c) is never trusted to verify the token",
		source:      "RFC 8725 section 3.10, RFC 7515 section 4.1.6",
	},
	{
		name: "kid-path-traversal", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "../../../../../../dev/null" }),
		explanation: "a kid is an opaque lookup key, never a path",
		source:      "RFC 7515 section 4.1.4, RFC 8725 section 3.10",
	},
	{
		name: "kid-sql-injection", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "x' UNION SELECT 'secret" }),
		explanation: "a kid is an opaque lookup key, never a query",
		source:      "RFC 7515 section 4.1.4, RFC 8725 section 3.10",
	},
	{
		name: "kid-command-injection", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "rsa-1|/usr/bin/id;" }),
		explanation: "a kid is an opaque lookup key, never a command",
		source:      "RFC 7515 section 4.1.4, RFC 8725 section 3.10",
	},
	{
		name: "kid-not-a-string", group: gKeys, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = 1 }),
		explanation: "a kid that is not a JSON string is refused",
		source:      "RFC 7515 section 4.1.4",
	},
	{
		name: "kid-key-of-another-type", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       func(e *env) string { return e.token().SignedBy(e.keys.ec).KID("ed-1").Sign() },
		explanation: "ES256 under a kid naming an Ed25519 key is refused: each algorithm takes one key type",
		source:      "RFC 7518 section 3.1, RFC 8725 section 3.1",
	},
	{
		name: "kid-eddsa-under-rsa-key", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       func(e *env) string { return e.token().SignedBy(e.keys.ed).KID("rsa-noalg").Sign() },
		explanation: "EdDSA under a kid naming an RSA key whose JWK names no alg is refused as finding no key, before any signature check",
		source:      "RFC 7518 section 3.1, RFC 8037 section 3.1",
	},
	{
		name: "kid-use-enc", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "enc-1" }),
		explanation: `a key published with use "enc" never verifies a signature`,
		source:      "RFC 7517 section 4.2",
	},
	{
		name: "kid-oct-key-published", group: gKeys, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token: func(e *env) string {
			return hmacToken(e.token().Alg("HS256").KID("oct-1").Unsigned(), e.keys.oct)
		},
		explanation: "HS256 with a symmetric key the IdP wrongly published in its JWKS is refused",
		source:      "RFC 8725 section 3.1",
	},
	{
		name: "kid-rsa-key-too-short", group: gKeys, want: InvalidToken, reason: core.ReasonKeyNotFound,
		keys:        withWeakKey,
		token:       edit(func(_ *env, h, _ map[string]any) { h["kid"] = "rsa-weak" }),
		explanation: "a published RSA key of 1024 bits is never used: RS256 needs 2048 bits or more",
		source:      "RFC 7518 section 3.3",
	},
	{
		name: "kid-missing-several-keys", group: gKeys, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { delete(h, "kid") }),
		explanation: "without a kid, a token cannot select one of several keys; trying each would let any key verify anything",
		source:      "RFC 7515 section 4.1.4, RFC 7517 section 4.5",
	},
	{
		name: "kid-missing-single-key", group: gKeys, want: Accept,
		keys:        signingKeyOnly,
		served:      "needs an issuer that publishes one key",
		token:       edit(func(_ *env, h, _ map[string]any) { delete(h, "kid") }),
		explanation: "without a kid, the issuer's only key is used",
		source:      "RFC 7515 section 4.1.4",
	},

	// Claims.
	{
		name: "exp-within-leeway", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() - 30 }),
		explanation: "a token expired 30s ago passes under 60s of leeway",
		source:      "RFC 7519 section 4.1.4",
	},
	{
		name: "exp-past-leeway", group: gClaims, want: InvalidToken, reason: core.ReasonTokenExpired,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() - 90 }),
		explanation: "a token expired 90s ago is refused under 60s of leeway",
		source:      "RFC 7519 section 4.1.4",
	},
	{
		name: "exp-at-leeway-edge", group: gClaims, want: InvalidToken, reason: core.ReasonTokenExpired,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() - 60 }),
		explanation: "a token is refused from exp plus leeway on: the current time must be before the expiry",
		source:      "RFC 7519 section 4.1.4",
	},
	{
		name: "exp-missing", group: gClaims, want: InvalidToken, reason: core.ReasonClaimMissing,
		token:       edit(func(_ *env, _, c map[string]any) { delete(c, "exp") }),
		explanation: "an access token without exp is refused",
		source:      "RFC 9068 section 2.2",
	},
	{
		name: "exp-string", group: gClaims, want: InvalidToken, reason: core.ReasonClaimInvalid,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = "4102444800" }),
		explanation: "an exp written as a string is refused: a NumericDate is a JSON number",
		source:      "RFC 7519 sections 2 and 4.1.4",
	},
	{
		name: "exp-passed-after-acceptance", group: gClaims, want: InvalidToken, reason: core.ReasonTokenExpired,
		started: func(e *env) error {
			e.saved = edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() + 120 })(e)
			if err := e.world.accepted(e.saved); err != nil {
				return err
			}
			return e.world.advance(200 * time.Second)
		},
		served:      "needs the target's clock moved 200s after an acceptance",
		token:       saved,
		explanation: "a token accepted once is refused once it expires: an earlier acceptance (or a cache of it) never outlives exp plus leeway",
		source:      "RFC 7519 section 4.1.4",
	},
	{
		name: "nbf-within-leeway", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["nbf"] = e.now() + 30 }),
		explanation: "a token valid from 30s on passes under 60s of leeway",
		source:      "RFC 7519 section 4.1.5",
	},
	{
		name: "nbf-past-leeway", group: gClaims, want: InvalidToken, reason: core.ReasonTokenNotYetValid,
		token:       edit(func(e *env, _, c map[string]any) { c["nbf"] = e.now() + 90 }),
		explanation: "a token valid only from 90s on is refused under 60s of leeway",
		source:      "RFC 7519 section 4.1.5",
	},
	{
		name: "nbf-at-leeway-edge", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["nbf"] = e.now() + 60 }),
		explanation: "a token valid from exactly 60s on passes under 60s of leeway: it is refused only when nbf is past now plus leeway",
		source:      "RFC 7519 section 4.1.5",
	},
	{
		name: "nbf-after-clock-stepped-back", group: gClaims, want: InvalidToken, reason: core.ReasonTokenNotYetValid,
		started: func(e *env) error {
			e.saved = edit(func(e *env, _, c map[string]any) { c["nbf"] = e.now() })(e)
			if err := e.world.accepted(e.saved); err != nil {
				return err
			}
			return e.world.advance(-90 * time.Second)
		},
		token:       saved,
		explanation: "a token accepted once is refused when the clock steps back 90s before its nbf: an earlier acceptance (or a cache of it) is judged again at the current time",
		served:      "needs the target's clock stepped back after an acceptance",
		source:      "RFC 7519 section 4.1.5",
	},
	{
		name: "iat-within-leeway", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["iat"] = e.now() + 30 }),
		explanation: "a token issued 30s in the future passes under 60s of leeway (clock skew)",
		source:      "RFC 7519 section 4.1.6",
	},
	{
		name: "iat-in-future", group: gClaims, want: InvalidToken, reason: core.ReasonIssuedInFuture,
		token:       edit(func(e *env, _, c map[string]any) { c["iat"] = e.now() + 90 }),
		explanation: "a token issued 90s in the future is refused: a wrong clock or a forgery",
		source:      "RFC 7519 section 4.1.6, RFC 9068 section 4",
	},
	{
		name: "iat-at-leeway-edge", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["iat"] = e.now() + 60 }),
		explanation: "a token issued exactly 60s in the future passes under 60s of leeway",
		source:      "RFC 7519 section 4.1.6",
	},
	{
		name: "iat-after-clock-stepped-back", group: gClaims, want: InvalidToken, reason: core.ReasonIssuedInFuture,
		started: func(e *env) error {
			e.saved = edit(func(e *env, _, c map[string]any) { c["iat"] = e.now() })(e)
			if err := e.world.accepted(e.saved); err != nil {
				return err
			}
			return e.world.advance(-90 * time.Second)
		},
		token:       saved,
		explanation: "a token accepted once is refused when the clock steps back 90s before its iat: it is now issued in the future",
		served:      "needs the target's clock stepped back after an acceptance",
		source:      "RFC 7519 section 4.1.6, RFC 9068 section 4",
	},
	{
		name: "aud-array", group: gClaims, want: Accept,
		token:       edit(func(e *env, _, c map[string]any) { c["aud"] = []string{"https://other.example.test", e.idp.Audience()} }),
		explanation: "an aud array that contains this service's audience passes",
		source:      "RFC 7519 section 4.1.3",
	},
	{
		name: "aud-array-without-ours", group: gClaims, want: InvalidToken, reason: core.ReasonAudienceInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { c["aud"] = []string{"https://other.example.test"} }),
		explanation: "an aud array that names only other services is refused: the service must find itself among the audiences",
		source:      "RFC 7519 section 4.1.3, RFC 9068 section 4",
	},
	{
		name: "aud-empty-array", group: gClaims, want: InvalidToken, reason: core.ReasonAudienceInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { c["aud"] = []string{} }),
		explanation: "an empty aud array names no audience and is refused",
		source:      "RFC 7519 section 4.1.3, RFC 9068 section 4",
	},
	{
		name: "aud-missing", group: gClaims, want: InvalidToken, reason: core.ReasonAudienceInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { delete(c, "aud") }),
		explanation: "a token without aud is refused by a service that has an audience",
		source:      "RFC 7519 section 4.1.3, RFC 9068 section 4",
	},
	{
		name: "aud-other-service", group: gClaims, want: InvalidToken, reason: core.ReasonAudienceInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { c["aud"] = "https://other.example.test" }),
		explanation: "a token minted for another service is refused",
		source:      "RFC 7519 section 4.1.3, RFC 8725 section 3.9",
	},
	{
		name: "aud-case-changed", group: gClaims, want: InvalidToken, reason: core.ReasonAudienceInvalid,
		token:       edit(func(e *env, _, c map[string]any) { c["aud"] = strings.ToUpper(e.idp.Audience()) }),
		explanation: "audiences compare exactly: case-changed is another audience",
		source:      "RFC 7519 sections 2 (StringOrURI) and 4.1.3",
	},
	{
		name: "aud-not-a-string", group: gClaims, want: InvalidToken, reason: core.ReasonClaimInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { c["aud"] = 42 }),
		explanation: "an aud that is neither a string nor an array of strings is refused",
		source:      "RFC 7519 section 4.1.3",
	},
	{
		name: "iss-trailing-slash", group: gClaims, want: InvalidToken, reason: core.ReasonIssuerInvalid,
		token:       edit(func(e *env, _, c map[string]any) { c["iss"] = e.idp.Issuer() + "/" }),
		explanation: "the issuer compares exactly: a trailing slash makes another issuer",
		source:      "RFC 7519 section 4.1.1, RFC 8414 section 3.3",
	},
	{
		name: "iss-untrusted", group: gClaims, want: InvalidToken, reason: core.ReasonIssuerInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { c["iss"] = "https://attacker.example.test" }),
		explanation: "a token from an issuer the baseline does not trust is refused before any key lookup",
		source:      "RFC 8725 section 3.8",
	},
	{
		name: "iss-missing", group: gClaims, want: InvalidToken, reason: core.ReasonIssuerInvalid,
		token:       edit(func(_ *env, _, c map[string]any) { delete(c, "iss") }),
		explanation: "a token without iss cannot be bound to an issuer's keys",
		source:      "RFC 9068 section 2.2, RFC 8725 section 3.8",
	},
	{
		name: "required-claim-present", group: gClaims, want: Accept, config: withRequired,
		token:       edit(func(_ *env, _, c map[string]any) { c["tenant"] = "acme" }),
		explanation: "with required_claims [tenant], a token carrying tenant passes",
		source:      "RFC 7519 section 4 (required claims are the application's to set)",
	},
	{
		name: "required-claim-missing", group: gClaims, want: InvalidToken, reason: core.ReasonClaimMissing,
		config: withRequired, token: good,
		explanation: "with required_claims [tenant], a token without tenant is refused",
		source:      "RFC 7519 section 4",
	},
	{
		name: "required-claim-null", group: gClaims, want: InvalidToken, reason: core.ReasonClaimMissing,
		config:      withRequired,
		token:       edit(func(_ *env, _, c map[string]any) { c["tenant"] = nil }),
		explanation: "with required_claims [tenant], tenant: null counts as missing",
		source:      "RFC 7519 section 4",
	},
	{
		name: "typ-at-jwt", group: gClaims, want: Accept, config: withTypes, token: good,
		explanation: `with token_types [at+jwt], typ "at+jwt" passes`,
		source:      "RFC 9068 section 2.1",
	},
	{
		name: "typ-application-prefix", group: gClaims, want: Accept, config: withTypes,
		token:       edit(func(_ *env, h, _ map[string]any) { h["typ"] = "application/AT+JWT" }),
		explanation: `typ "application/AT+JWT" is at+jwt: media types compare case-insensitively and "application/" may be left out`,
		source:      "RFC 7515 section 4.1.9",
	},
	{
		name: "typ-jwt-refused", group: gClaims, want: InvalidToken, reason: core.ReasonTypeInvalid, config: withTypes,
		token:       edit(func(_ *env, h, _ map[string]any) { h["typ"] = "JWT" }),
		explanation: `with token_types [at+jwt], typ "JWT" (an ID token, say) is refused`,
		source:      "RFC 8725 section 3.11, RFC 9068 section 4",
	},
	{
		name: "typ-missing-refused", group: gClaims, want: InvalidToken, reason: core.ReasonTypeInvalid, config: withTypes,
		token:       edit(func(_ *env, h, _ map[string]any) { delete(h, "typ") }),
		explanation: "with token_types set, a header without typ is refused",
		source:      "RFC 8725 section 3.11, RFC 9068 section 4",
	},
	{
		name: "crit-unknown-extension", group: gClaims, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { h["crit"], h["exp"] = []string{"exp"}, 1 }),
		explanation: "a crit header naming an extension the verifier does not understand is refused",
		source:      "RFC 7515 section 4.1.11",
	},
	{
		name: "b64-false", group: gClaims, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { h["b64"], h["crit"] = false, []string{"b64"} }),
		explanation: "b64: false (an unencoded payload) changes what is signed and is refused",
		source:      "RFC 7797 section 3",
	},
	{
		name: "b64-false-without-crit", group: gClaims, want: InvalidToken, reason: core.ReasonHeaderInvalid,
		token:       edit(func(_ *env, h, _ map[string]any) { h["b64"] = false }),
		explanation: "b64: false is refused without crit too, so the refusal does not rest on the crit check",
		source:      "RFC 7797 section 3",
	},
	{
		name: "claim-name-case-variant", group: gClaims, want: InvalidToken, reason: core.ReasonClaimMissing,
		token: edit(func(_ *env, _, c map[string]any) {
			c["EXP"] = c["exp"]
			delete(c, "exp")
		}),
		explanation: "claim names are case-sensitive: EXP is not exp, so exp is missing",
		source:      "RFC 7519 section 7.3",
	},
	{
		name: "header-name-case-variant", group: gClaims, want: InvalidToken, reason: core.ReasonAlgNotAllowed,
		token: edit(func(_ *env, h, _ map[string]any) {
			h["ALG"] = h["alg"]
			delete(h, "alg")
		}),
		explanation: "header names are case-sensitive: ALG is not alg, so alg is missing",
		source:      "RFC 7515 section 5.3",
	},
	{
		name: "claim-name-escaped", group: gClaims, want: Accept,
		token: rawPayload(func(_ *env, c []byte) []byte {
			return bytes.Replace(c, []byte(`"exp":`), []byte(`"\u0065xp":`), 1)
		}),
		explanation: `a claim name written with a JSON escape ("\u0065xp") is that claim: names compare after unescaping`,
		source:      "RFC 7519 section 7.3",
	},

	// Encoding.
	{
		name: "segments-two", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: func(e *env) string {
			s := segments(good(e))
			return s[0] + "." + s[1]
		},
		explanation: "a compact JWS has exactly three segments",
		source:      "RFC 7515 section 7.1",
	},
	{
		name: "segments-four", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       func(e *env) string { return good(e) + ".e30" },
		explanation: "a fourth segment is refused, not ignored",
		source:      "RFC 7515 section 7.1",
	},
	{
		name: "segments-five-jwe", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: func(e *env) string {
			return b64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM"}`)) + ".a2V5.aXY.Y2lwaGVy.dGFn"
		},
		explanation: "a JWE (five segments) is not a signed access token",
		source:      "RFC 7516 section 7.1, RFC 7519 section 7.2",
	},
	{
		name: "segments-many-dots", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       func(*env) string { return strings.Repeat("e30.", 1500) + "e30" },
		explanation: "a token of 1500 segments is refused as malformed",
		source:      "RFC 7515 section 7.1",
	},
	{
		name: "segment-empty-header", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: func(e *env) string {
			s := segments(good(e))
			return "." + s[1] + "." + s[2]
		},
		explanation: "an empty header segment is refused",
		source:      "RFC 7515 section 7.1",
	},
	{
		name: "base64-padding", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       func(e *env) string { return good(e) + "==" },
		explanation: "base64url segments carry no = padding",
		source:      "RFC 7515 section 2 and appendix C",
	},
	{
		name: "base64-standard-alphabet", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: func(e *env) string {
			// Signatures are deterministic under RS256: vary jti until the
			// standard alphabet differs from the URL-safe one.
			for i := 0; ; i++ {
				jti := "id-" + string(rune('a'+i%26)) + strings.Repeat("x", i/26)
				s := segments(e.token().Claim("jti", jti).Sign())
				sig, _ := base64.RawURLEncoding.DecodeString(s[2])
				if std := base64.RawStdEncoding.EncodeToString(sig); std != s[2] {
					return s[0] + "." + s[1] + "." + std
				}
			}
		},
		explanation: "a segment in the standard base64 alphabet (+ and /) is refused: one token has one encoding",
		source:      "RFC 7515 section 2 and appendix C",
	},
	{
		name: "base64-non-canonical", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: func(e *env) string {
			tok := good(e)
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			last := strings.IndexByte(alphabet, tok[len(tok)-1])
			// 256 bytes leave 4 unused low bits in the last character;
			// setting one decodes to the same signature under a lax decoder.
			return tok[:len(tok)-1] + string(alphabet[last|1])
		},
		explanation: "a segment whose unused trailing bits are not zero is refused, so a signature cannot be re-encoded into a second valid token",
		source:      "RFC 7515 appendix C, RFC 4648 section 3.5",
	},
	{
		name: "space-inside-token", group: gEncoding, want: InvalidRequest, reason: core.ReasonRequestInvalid,
		request: func(e *env) Request {
			tok := good(e)
			return bearer(tok[:40] + " " + tok[40:])
		},
		explanation: "a space inside the credentials makes them more than one b64token: the request is malformed",
		source:      "RFC 6750 section 2.1",
	},
	{
		name: "crlf-inside-token", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed, config: withQuery,
		request: func(e *env) Request {
			tok := good(e)
			return Request{Query: url.Values{"access_token": {tok[:40] + "\r\n" + tok[40:]}}}
		},
		explanation: "CR/LF inside a token (here in a query token, the one place it can travel) is refused, not skipped by the decoder",
		source:      "RFC 7515 section 2, RFC 4648 section 3.3",
	},
	{
		name: "utf8-invalid-payload", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: rawPayload(func(_ *env, c []byte) []byte {
			return bytes.Replace(c, []byte(`"alice"`), []byte("\"al\xffice\""), 1)
		}),
		explanation: "a payload that is not UTF-8 is refused, though signed",
		source:      "RFC 7519 section 7.2 step 10, RFC 8259 section 8.1",
	},
	{
		name: "utf8-invalid-header", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       rawHeader("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"x\":\"\xc3\x28\"}"),
		explanation: "a header that is not UTF-8 is refused, though signed",
		source:      "RFC 7515 section 4, RFC 8259 section 8.1",
	},
	{
		name: "header-not-json", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       rawHeader(`{"alg":"RS256","kid":"rsa-1"`),
		explanation: "a header that is not a JSON object is refused",
		source:      "RFC 7515 section 4",
	},
	{
		name: "payload-not-object", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: rawPayload(func(_ *env, c []byte) []byte {
			return append(append([]byte("["), c...), ']')
		}),
		explanation: "a claims set that is not a JSON object is refused",
		source:      "RFC 7519 section 7.2 step 10",
	},
	{
		name: "jws-json-serialization", group: gEncoding, want: InvalidRequest, reason: core.ReasonRequestInvalid,
		token: func(e *env) string {
			s := segments(good(e))
			return string(js(map[string]string{"protected": s[0], "payload": s[1], "signature": s[2]}))
		},
		explanation: "the JWS JSON serialization is not a bearer token: it is not a b64token, and its commas make the header a list",
		source:      "RFC 7519 section 7.2, RFC 6750 section 2.1",
	},
	{
		name: "token-too-large", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenTooLarge,
		token:       sized(defaultMaxTokenBytes + 1),
		explanation: "a token over max_token_bytes is refused before any decoding, however valid",
		source:      "RFC 9110 section 5.4 (servers bound field sizes), max_token_bytes",
	},
	{
		name: "json-deeply-nested", group: gEncoding, want: Accept,
		token: rawPayload(func(_ *env, c []byte) []byte {
			return appendMember(c, `"nest":`+strings.Repeat("[", 2000)+strings.Repeat("]", 2000))
		}),
		explanation: "2000 levels of nesting in an unregistered claim neither crash nor stall the verifier; the token is accepted",
		source:      "RFC 8259 section 9 (parsers may limit nesting)",
	},
	{
		name: "duplicate-header-member", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token:       rawHeader(`{"alg":"RS256","kid":"rsa-1","alg":"none"}`),
		explanation: "a header with alg twice is refused: two parsers would read two algorithms",
		source:      "RFC 7515 section 4",
	},
	{
		name: "duplicate-claim", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: rawPayload(func(e *env, c []byte) []byte {
			return appendMember(c, `"exp":`+itoa(e.now()+999999))
		}),
		explanation: "a claims set with exp twice is refused: two parsers would read two expiries",
		source:      "RFC 7519 section 4",
	},
	{
		name: "duplicate-claim-escaped", group: gEncoding, want: InvalidToken, reason: core.ReasonTokenMalformed,
		token: rawPayload(func(e *env, c []byte) []byte {
			return appendMember(c, `"\u0065xp":`+itoa(e.now()+999999))
		}),
		explanation: `exp and "\u0065xp" are the same name, so the claim is duplicated and refused`,
		source:      "RFC 7519 sections 4 and 7.3",
	},

	// Transport.
	{
		name: "no-authorization-header", group: gTransport, want: NoCredentials, reason: core.ReasonTokenMissing,
		request:     func(*env) Request { return Request{} },
		explanation: "a request without credentials gets a challenge with no error code",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "empty-authorization-header", group: gTransport, want: NoCredentials, reason: core.ReasonTokenMissing,
		request:     header(""),
		explanation: "an empty Authorization header carries no credentials",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "basic-scheme", group: gTransport, want: NoCredentials, reason: core.ReasonTokenMissing,
		request:     header("Basic " + base64.StdEncoding.EncodeToString([]byte("alice:secret"))),
		explanation: "credentials of another scheme are no bearer credentials",
		source:      "RFC 6750 sections 2.1 and 3.1",
	},
	{
		name: "bearer-lowercase", group: gTransport, want: Accept,
		request:     func(e *env) Request { return header("bearer " + good(e))(e) },
		explanation: "the auth scheme is case-insensitive: bearer is Bearer",
		source:      "RFC 9110 section 11.1",
	},
	{
		name: "bearer-two-spaces", group: gTransport, want: Accept,
		request:     func(e *env) Request { return header("Bearer  " + good(e))(e) },
		explanation: "Bearer is followed by one or more spaces",
		source:      "RFC 6750 section 2.1",
	},
	{
		name: "bearer-without-token", group: gTransport, want: InvalidRequest, reason: core.ReasonRequestInvalid,
		request:     header("Bearer"),
		explanation: "Bearer with no token is a malformed request",
		source:      "RFC 6750 sections 2.1 and 3.1",
	},
	{
		name: "two-authorization-headers", group: gTransport, want: InvalidRequest, reason: core.ReasonRequestInvalid,
		request:     func(e *env) Request { tok := good(e); return header("Bearer "+tok, "Bearer "+tok)(e) },
		explanation: "two Authorization headers are refused: a request carries one set of credentials",
		source:      "RFC 9110 section 5.3, RFC 6750 section 3.1",
	},
	{
		name: "query-token-disabled", group: gTransport, want: NoCredentials, reason: core.ReasonTokenMissing,
		request:     func(e *env) Request { return Request{Query: url.Values{"access_token": {good(e)}}} },
		explanation: "a query token is ignored while query tokens are off (the default): URLs leak into logs",
		source:      "RFC 6750 sections 2.3 and 5.3",
	},
	{
		name: "query-token-enabled", group: gTransport, want: Accept, config: withQuery,
		request:     func(e *env) Request { return Request{Query: url.Values{"access_token": {good(e)}}} },
		explanation: "a query token is accepted when the baseline turns query tokens on",
		source:      "RFC 6750 section 2.3",
	},
	{
		name: "header-and-query-token", group: gTransport, want: InvalidRequest, reason: core.ReasonRequestInvalid, config: withQuery,
		request: func(e *env) Request {
			r := bearer(good(e))
			r.Query = url.Values{"access_token": {good(e)}}
			return r
		},
		explanation: "a token sent by two methods at once is refused",
		source:      "RFC 6750 section 2",
	},

	// Authorization: the route requires the admin scope.
	{
		name: "scope-granted", group: gAuthz, want: Accept, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = "read admin" }),
		explanation: "a space-delimited scope claim that lists admin grants it",
		source:      "RFC 9068 section 2.2.3, RFC 8693 section 4.2",
	},
	{
		name: "scp-array-granted", group: gAuthz, want: Accept, scopes: []string{"admin"},
		token: edit(func(_ *env, _, c map[string]any) {
			delete(c, "scope")
			c["scp"] = []string{"read", "admin"}
		}),
		explanation: "an scp array that lists admin grants it",
		source:      "RFC 9068 section 2.2.3 (scp as several IdPs send it)",
	},
	{
		name: "scp-string-granted", group: gAuthz, want: Accept, scopes: []string{"admin"},
		token: edit(func(_ *env, _, c map[string]any) {
			delete(c, "scope")
			c["scp"] = "admin"
		}),
		explanation: "an scp string admin grants it",
		source:      "RFC 9068 section 2.2.3",
	},
	{
		name: "scope-administrator", group: gAuthz, want: InsufficientScope, reason: core.ReasonInsufficientScope, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = "administrator" }),
		explanation: "administrator does not grant admin: scopes match whole, never by prefix",
		source:      "RFC 6749 section 3.3, RFC 6750 section 3.1",
	},
	{
		name: "scope-case-changed", group: gAuthz, want: InsufficientScope, reason: core.ReasonInsufficientScope, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = "read Admin" }),
		explanation: "Admin does not grant admin: scopes are case-sensitive",
		source:      "RFC 6749 section 3.3",
	},
	{
		name: "scope-missing", group: gAuthz, want: InsufficientScope, reason: core.ReasonInsufficientScope, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { delete(c, "scope") }),
		explanation: "a valid token without any scope is forbidden, with the missing scope named in the challenge",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "scope-one-of-two-missing", group: gAuthz, want: InsufficientScope, reason: core.ReasonInsufficientScope,
		scopes: []string{"admin", "write"}, missing: []string{"write"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = "admin" }),
		explanation: "every required scope must be granted; the challenge names only the missing one",
		source:      "RFC 6750 section 3",
	},
	{
		name: "scope-array-granted", group: gAuthz, want: Accept, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = []string{"read", "admin"} }),
		explanation: "a scope claim sent as an array of scope-tokens, as Spring Authorization Server sends it, grants each",
		source:      "RFC 6749 section 3.3, Spring Authorization Server",
	},
	{
		name: "scope-array-not-strings", group: gAuthz, want: InvalidToken, reason: core.ReasonClaimInvalid, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = []any{"admin", 1} }),
		explanation: "a scope array holding anything but scope-tokens is a malformed token, not a grant",
		source:      "RFC 6749 section 3.3",
	},
	{
		name: "scope-array-element-with-space", group: gAuthz, want: InvalidToken, reason: core.ReasonClaimInvalid, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = []string{"read admin"} }),
		explanation: "a scope array element holding a space is refused: whether it names one scope or two is a guess",
		source:      "RFC 6749 section 3.3",
	},
	{
		name: "scope-not-a-string", group: gAuthz, want: InvalidToken, reason: core.ReasonClaimInvalid, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = map[string]any{"admin": true} }),
		explanation: "a scope claim that is neither a space-delimited string nor an array of scope-tokens is a malformed token, not a grant",
		source:      "RFC 8693 section 4.2, RFC 9068 section 2.2.3",
	},
	{
		name: "scope-route-invalid-token", group: gAuthz, want: InvalidToken, reason: core.ReasonTokenExpired, scopes: []string{"admin"},
		token:       edit(func(e *env, _, c map[string]any) { c["exp"], c["scope"] = e.now()-3600, "admin" }),
		explanation: "on a scoped route, an invalid token is invalid_token, not insufficient_scope: authentication comes first",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "scope-route-no-token", group: gAuthz, want: NoCredentials, reason: core.ReasonTokenMissing, scopes: []string{"admin"},
		request:     func(*env) Request { return Request{} },
		explanation: "on a scoped route, a request without credentials still gets the bare challenge",
		source:      "RFC 6750 section 3.1",
	},

	// Key rotation and outages.
	{
		name: "rotation-key-published-after-start", group: gRotation, want: Accept,
		started: func(e *env) error {
			if err := e.world.publish(e.keys.ec2); err != nil {
				return err
			}
			return e.world.afterUnknownKIDInterval()
		},
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "ES256", "ec-2" }),
		explanation: "a key the IdP publishes after the verifier started verifies: an unknown kid fetches the JWKS again",
		source:      "OpenID Connect Core 1.0 section 10.1.1, RFC 7517 section 5",
	},
	{
		name: "rotation-key-removed", group: gRotation, want: InvalidToken, reason: core.ReasonKeyNotFound,
		started: func(e *env) error {
			if err := e.world.remove("ec-1"); err != nil {
				return err
			}
			return e.world.refreshed()
		},
		token:       edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "ES256", "ec-1" }),
		explanation: "a key the IdP removed stops verifying once the key set is refreshed",
		source:      "OpenID Connect Core 1.0 section 10.1.1",
	},
	{
		name: "rotation-removed-key-after-acceptance", group: gRotation, want: InvalidToken, reason: core.ReasonKeyNotFound,
		// ed-1 rather than the signing key, so that a served IdP keeps
		// signing the tokens of the cases after this one.
		started: func(e *env) error {
			e.saved = edit(func(_ *env, h, _ map[string]any) { h["alg"], h["kid"] = "EdDSA", "ed-1" })(e)
			if err := e.world.accepted(e.saved); err != nil {
				return err
			}
			if err := e.world.remove("ed-1"); err != nil {
				return err
			}
			return e.world.refreshed()
		},
		token:       saved,
		explanation: "a token accepted before its key was removed is refused once the key set is refreshed: revocation reaches tokens already seen",
		source:      "OpenID Connect Core 1.0 section 10.1.1",
	},
	{
		name: "outage-keys-cached", group: gRotation, want: Accept,
		// Against a served target the clock stays put: the case then
		// shows that an outage right after a fetch changes nothing.
		started: func(e *env) error {
			if err := e.world.failKeys(); err != nil {
				return err
			}
			return e.world.advance(30 * time.Minute)
		},
		token:       good,
		explanation: "while the IdP is down, the last key set fetched keeps verifying (within jwks.max_stale)",
		source:      "RFC 7517 section 5, jwks.max_stale",
	},
	{
		name: "outage-past-max-stale", group: gRotation, want: Unavailable, reason: core.ReasonKeysUnavailable,
		started: func(e *env) error {
			if err := e.world.failKeys(); err != nil {
				return err
			}
			return e.world.advance(e.v.Config().JWKS.MaxStale + time.Minute)
		},
		served:      "needs the target's clock moved past jwks.max_stale",
		token:       good,
		explanation: "once the last good key set is older than jwks.max_stale, verification fails closed: removed keys must not verify forever",
		source:      "RFC 5861 section 4, jwks.max_stale",
	},
	{
		name: "outage-from-start", group: gRotation, want: Unavailable, reason: core.ReasonKeysUnavailable,
		before:      func(e *env) error { return e.world.failKeys() },
		served:      "needs the target started while the IdP is down",
		token:       good,
		explanation: "with no key set ever fetched, the service answers 503: it cannot judge the token, and the client should keep it",
		source:      "RFC 9110 section 15.6.4",
	},

	// Policy checks: the route's policy accepts the tenant acme only.
	{
		name: "policy-granted", group: gPolicy, want: Accept, policy: tenantAcme,
		token:       edit(func(_ *env, _, c map[string]any) { c["tenant"] = "acme" }),
		explanation: "a policy check (here: the tenant claim is acme) lets through a request whose verified claims it accepts, and the claims reach the endpoint",
		source:      "RFC 9068 section 2.2.3.1",
	},
	{
		name: "policy-refused", group: gPolicy, want: InsufficientScope, reason: core.ReasonInsufficientScope, policy: tenantAcme,
		token:       edit(func(_ *env, _, c map[string]any) { c["tenant"] = "globex" }),
		explanation: "a policy that refuses the claims of a valid token gets 403 insufficient_scope naming no scope; the policy's own error never reaches the client",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "policy-route-no-token", group: gPolicy, want: NoCredentials, reason: core.ReasonTokenMissing, policy: tenantAcme,
		request:     func(*env) Request { return Request{} },
		explanation: "on a route with a policy check, a request without credentials gets the bare challenge: authentication comes first",
		source:      "RFC 6750 section 3.1",
	},

	// Skipped routes: the request goes to SkipPath, which the adapter's
	// middleware skips (skipper, Next, gRPC exemption).
	{
		name: "skipped-no-token", group: gSkipped, want: Accept, skipped: true,
		request:     func(*env) Request { return Request{} },
		explanation: "a request for a route the middleware skips reaches the endpoint without a token, and without claims",
		source:      "WithSkipper, WithNext, WithExempt",
	},
	{
		name: "skipped-valid-token", group: gSkipped, want: Accept, skipped: true, token: good,
		explanation: "a skipped route carries no claims even with a valid token: claims exist only where the middleware verified them",
		source:      "WithSkipper, WithNext, WithExempt",
	},
	{
		name: "skipped-expired-token", group: gSkipped, want: Accept, skipped: true,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() - 3600 }),
		explanation: "a skipped route verifies nothing: an expired token is neither refused nor logged",
		source:      "WithSkipper, WithNext, WithExempt",
	},
	{
		name: "skipped-scope-check", group: gSkipped, want: NoCredentials, reason: core.ReasonTokenMissing, skipped: true, scopes: []string{"admin"},
		token:       edit(func(_ *env, _, c map[string]any) { c["scope"] = "admin" }),
		explanation: "a scope check behind a skipped route refuses the request as lacking credentials, though its token grants the scope: skipping never authorizes",
		source:      "RFC 6750 section 3.1",
	},
	{
		name: "skipped-policy-check", group: gSkipped, want: NoCredentials, reason: core.ReasonTokenMissing, skipped: true, policy: tenantAcme,
		token:       edit(func(_ *env, _, c map[string]any) { c["tenant"] = "acme" }),
		explanation: "a policy check behind a skipped route refuses the request as lacking credentials, though the policy would accept its token's claims",
		source:      "RFC 6750 section 3.1",
	},

	// Optional credentials: the route's authentication is optional
	// (WithOptional). Only a request without credentials is anonymous;
	// every token is judged as on a route that requires one.
	{
		name: "optional-no-token", group: gOptional, want: Accept, optional: true, anonymous: true,
		request:     func(*env) Request { return Request{} },
		explanation: "on a route with optional credentials, a request without any reaches the endpoint, without claims",
		source:      "WithOptional, RFC 6750 section 3",
	},
	{
		name: "optional-valid-token", group: gOptional, want: Accept, optional: true, token: good,
		explanation: "on a route with optional credentials, a valid token is verified and its claims reach the endpoint",
		source:      "WithOptional",
	},
	{
		name: "optional-expired-token", group: gOptional, want: InvalidToken, reason: core.ReasonTokenExpired, optional: true,
		token:       edit(func(e *env, _, c map[string]any) { c["exp"] = e.now() - 3600 }),
		explanation: "an expired token is refused, not taken as no credentials: an invalid token is never silently ignored",
		source:      "RFC 6750 section 3.1, RFC 7519 section 4.1.4",
	},
	{
		name: "optional-forged-token", group: gOptional, want: InvalidToken, reason: core.ReasonSignatureInvalid, optional: true,
		token: func(e *env) string {
			b := e.token()
			s := segments(b.Sign())
			return s[0] + "." + segments(b.Claim("sub", "mallory").Unsigned())[1] + "." + s[2]
		},
		explanation: "a token whose payload was changed after signing is refused, as on a route that requires a token",
		source:      "RFC 7515 section 5.2",
	},
	{
		name: "optional-malformed-token", group: gOptional, want: InvalidToken, reason: core.ReasonTokenMalformed, optional: true,
		token:       func(*env) string { return "not-a-jwt" },
		explanation: "a bearer credential that is not a JWS is refused, as on a route that requires a token",
		source:      "RFC 7515 section 7.1",
	},
	{
		name: "optional-bearer-without-token", group: gOptional, want: InvalidRequest, reason: core.ReasonRequestInvalid, optional: true,
		request:     header("Bearer"),
		explanation: "an Authorization header of Bearer without a token is a malformed request, not an anonymous one",
		source:      "RFC 6750 sections 2.1 and 3.1",
	},
	{
		name: "optional-other-scheme", group: gOptional, want: NoCredentials, reason: core.ReasonTokenMissing, optional: true,
		request:     header("Basic YWxpY2U6c2VjcmV0"),
		explanation: "credentials of another scheme are refused with the bare challenge: a request that presents credentials is never anonymous",
		source:      "RFC 6750 section 3",
	},
	{
		name: "optional-query-token-disabled", group: gOptional, want: NoCredentials, reason: core.ReasonTokenMissing, optional: true,
		request:     func(e *env) Request { return Request{Query: url.Values{"access_token": {good(e)}}} },
		explanation: "a token in the query while query tokens are off is refused as on a required route, not ignored",
		source:      "RFC 6750 sections 2.3 and 5.3",
	},
	{
		name: "optional-scope-check-no-token", group: gOptional, want: NoCredentials, reason: core.ReasonTokenMissing, optional: true,
		scopes: []string{"admin"}, request: func(*env) Request { return Request{} },
		explanation: "a scope check behind optional credentials refuses an anonymous request as lacking credentials",
		source:      "RFC 6750 section 3.1",
	},
}

// tenantAcme is the policy of the policy cases: the tenant claim must be
// acme. Its error is plain, so core makes it insufficient_scope.
func tenantAcme(_ context.Context, c *core.Claims) error {
	if tenant, _ := c.Get("tenant"); tenant != "acme" {
		return errors.New("tenant is not acme")
	}
	return nil
}

// saved sends the token the case verified while setting up.
func saved(e *env) string { return e.saved }

func noneToken(alg string) func(*env) string {
	return func(e *env) string { return e.token().Alg(alg).DeleteHeader("kid").Unsigned() }
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
