package core_test

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

type verifyCase struct {
	name  string
	token func(tb testing.TB) string
	cfg   func(*core.Config)
	want  core.Reason // "" means accepted
}

// with returns goodClaims changed by edit.
func with(edit func(c map[string]any)) map[string]any {
	c := goodClaims()
	edit(c)
	return c
}

func signed(alg, kid string, edit func(c map[string]any)) func(testing.TB) string {
	return func(tb testing.TB) string { return sign(tb, alg, kid, with(edit)) }
}

func raw(header, payload string) func(testing.TB) string {
	return func(tb testing.TB) string { return rawToken(tb, header, payload) }
}

func rawWith(alg, header, payload string) func(testing.TB) string {
	return func(tb testing.TB) string { return rawTokenWith(tb, alg, header, payload) }
}

func literal(s string) func(testing.TB) string { return func(testing.TB) string { return s } }

func noEdit(map[string]any) {}

func refuseIDTokens(c *core.Config) { c.RefuseIDTokens = true }

// payloadJSON is goodClaims as JSON, with extra raw members appended.
func payloadJSON(tb testing.TB, extra string) string {
	p := mustJSON(tb, goodClaims())
	if extra == "" {
		return p
	}
	return p[:len(p)-1] + "," + extra + "}"
}

// verifyCases is the core matrix: one row per check, each with the exact
// reason it must produce.
var verifyCases = []verifyCase{
	// Accepted.
	{name: "RS256 valid", token: signed("RS256", "rsa", noEdit)},
	{name: "ES256 valid", token: signed("ES256", "ec", noEdit)},
	{name: "EdDSA valid", token: signed("EdDSA", "ed", noEdit)},
	{name: "aud as array containing ours", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = []string{"other", testAudience} })},
	{name: "exp inside leeway", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = testNow.Add(-20 * time.Second).Unix() })},
	{name: "nbf inside leeway", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = testNow.Add(20 * time.Second).Unix() })},
	{name: "iat inside leeway", token: signed("RS256", "rsa", func(c map[string]any) { c["iat"] = testNow.Add(20 * time.Second).Unix() })},
	// RFC 7519 sections 4.1.5 and 4.1.6 leave the edge to the leeway: a
	// token valid from exactly now plus leeway is accepted.
	{name: "nbf at the leeway edge", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = testNow.Add(30 * time.Second).Unix() })},
	{name: "iat at the leeway edge", token: signed("RS256", "rsa", func(c map[string]any) { c["iat"] = testNow.Add(30 * time.Second).Unix() })},
	{name: "fractional exp", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = float64(testNow.Unix()) + 0.5 })},
	// RFC 8259 section 2: whitespace may surround every token of the
	// JSON text; an IdP that pretty-prints its header and claims is valid.
	{name: "JSON whitespace everywhere", token: func(tb testing.TB) string {
		payload := fmt.Sprintf(" {\n\t\"iss\" : %q ,\r\n\t\"sub\":\"user-1\", \"aud\" : [ \"other\" ,\t%q ] ,"+
			"\n\t\"exp\" : %d , \"scp\" : [ \"read\" ] , \"extra\" : { \"a\" : [ 1 , { } ] } } ",
			testIssuer, testAudience, testNow.Add(time.Hour).Unix())
		return rawToken(tb, " {\n\t\"alg\" : \"RS256\" ,\r\n \"kid\":\"rsa\" } ", payload)
	}},
	{name: "escaped issuer", token: raw(`{"alg":"RS256","kid":"rsa"}`, strings.Replace(payloadJSON(nil, ""), `"https://idp.example.com/"`, `"https:\/\/idp.example.com\/"`, 1))},
	{name: "typ at+jwt accepted with application/ prefix", cfg: func(c *core.Config) { c.TokenTypes = []string{"at+jwt"} },
		token: raw(`{"alg":"RS256","kid":"rsa","typ":"application/AT+JWT"}`, payloadJSON(nil, ""))},
	{name: "required claim present", cfg: func(c *core.Config) { c.RequiredClaims = []string{"sub", "jti"} }, token: signed("RS256", "rsa", noEdit)},
	{name: "jku header is never used", token: raw(`{"alg":"RS256","kid":"rsa","jku":"https://attacker.example/jwks"}`, payloadJSON(nil, ""))},
	{name: "case-variant claim is another claim", token: signed("RS256", "rsa", func(c map[string]any) { c["EXP"] = "x" })},
	// RFC 7519 section 2: a NumericDate is any JSON number, and a
	// StringOrURI any string, the empty one included.
	{name: "empty jti", token: signed("RS256", "rsa", func(c map[string]any) { c["jti"] = "" })},
	{name: "iat zero", token: signed("RS256", "rsa", func(c map[string]any) { c["iat"] = 0 })},
	{name: "nbf negative", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = -5 })},
	{name: "exp starting with 9", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = int64(9000000000) })},

	// token_missing.
	{name: "empty token", token: literal(""), want: core.ReasonTokenMissing},

	// token_too_large: checked before decoding.
	{name: "oversized token", token: literal(strings.Repeat("a", 9000)), want: core.ReasonTokenTooLarge},
	{name: "oversized valid token", cfg: func(c *core.Config) { c.MaxTokenBytes = 512 },
		token: signed("RS256", "rsa", func(c map[string]any) { c["pad"] = strings.Repeat("x", 600) }), want: core.ReasonTokenTooLarge},

	// token_malformed: RFC 7515 section 7.1 compact form, strict base64url.
	{name: "two segments", token: literal("eyJhbGciOiJSUzI1NiJ9.e30"), want: core.ReasonTokenMalformed},
	{name: "four segments", token: func(tb testing.TB) string { return sign(tb, "RS256", "rsa", goodClaims()) + ".x" }, want: core.ReasonTokenMalformed},
	{name: "JWE five segments", token: literal("a.b.c.d.e"), want: core.ReasonTokenMalformed},
	{name: "many dots", token: literal(strings.Repeat(".", 200)), want: core.ReasonTokenMalformed},
	{name: "JSON serialization", token: literal(`{"payload":"e30","signatures":[]}`), want: core.ReasonTokenMalformed},
	{name: "padding", token: func(tb testing.TB) string {
		t := sign(tb, "RS256", "rsa", goodClaims())
		return strings.Replace(t, ".", "=.", 1)
	}, want: core.ReasonTokenMalformed},
	{name: "standard base64 alphabet", token: func(tb testing.TB) string {
		t := sign(tb, "RS256", "rsa", goodClaims())
		return strings.Replace(t, "e", "+", 1)
	}, want: core.ReasonTokenMalformed},
	{name: "space inside", token: func(tb testing.TB) string {
		t := sign(tb, "RS256", "rsa", goodClaims())
		return t[:10] + " " + t[10:]
	}, want: core.ReasonTokenMalformed},
	{name: "CRLF inside", token: func(tb testing.TB) string {
		t := sign(tb, "RS256", "rsa", goodClaims())
		return t[:10] + "\r\n" + t[10:]
	}, want: core.ReasonTokenMalformed},
	{name: "non-canonical trailing bits", token: func(tb testing.TB) string {
		// "e30" is "{}"; "e31" decodes to the same bytes with a non-zero
		// trailing bit, a second encoding of one token.
		return "eyJhbGciOiJSUzI1NiJ9.e31.c2ln"
	}, want: core.ReasonTokenMalformed},
	{name: "empty header", token: literal(".e30.c2ln"), want: core.ReasonTokenMalformed},
	{name: "empty payload", token: literal("eyJhbGciOiJSUzI1NiJ9..c2ln"), want: core.ReasonTokenMalformed},
	{name: "header not JSON", token: raw(`alg=RS256`, `{}`), want: core.ReasonTokenMalformed},
	{name: "header JSON array", token: raw(`["RS256"]`, `{}`), want: core.ReasonTokenMalformed},
	{name: "header invalid UTF-8", token: raw("{\"alg\":\"RS256\",\"x\":\"\xff\"}", `{}`), want: core.ReasonTokenMalformed},
	{name: "payload invalid UTF-8", token: raw(`{"alg":"RS256","kid":"rsa"}`, "{\"iss\":\"\xc3\x28\"}"), want: core.ReasonTokenMalformed},
	{name: "payload not an object", token: raw(`{"alg":"RS256","kid":"rsa"}`, `"claims"`), want: core.ReasonTokenMalformed},
	{name: "payload trailing garbage", token: raw(`{"alg":"RS256","kid":"rsa"}`, payloadJSON(nil, "")+"x"), want: core.ReasonTokenMalformed},
	{name: "deeply nested payload", token: raw(`{"alg":"RS256","kid":"rsa"}`, `{"a":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000)+`}`),
		cfg: func(c *core.Config) { c.MaxTokenBytes = 1 << 20 }, want: core.ReasonTokenMalformed},
	{name: "duplicate header alg", token: raw(`{"alg":"none","alg":"RS256","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonTokenMalformed},
	{name: "duplicate header kid via escape", token: raw(`{"alg":"RS256","kid":"rsa","\u006bid":"ec"}`, payloadJSON(nil, "")), want: core.ReasonTokenMalformed},
	{name: "header with too many members", token: func(tb testing.TB) string {
		var b strings.Builder
		b.WriteString(`{"alg":"RS256","kid":"rsa"`)
		for i := range 200 {
			fmt.Fprintf(&b, `,"m%d":0`, i)
		}
		return rawToken(tb, b.String()+"}", payloadJSON(tb, ""))
	}, want: core.ReasonTokenMalformed},
	{name: "duplicate exp", token: raw(`{"alg":"RS256","kid":"rsa"}`, payloadJSON(nil, `"exp":1`)), want: core.ReasonTokenMalformed},
	{name: "duplicate aud via escape", token: raw(`{"alg":"RS256","kid":"rsa"}`, payloadJSON(nil, `"\u0061ud":"other"`)), want: core.ReasonTokenMalformed},

	// alg_not_allowed: RFC 8725 sections 3.1, 3.2.
	{name: "alg none", token: raw(`{"alg":"none"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg NoNe", token: raw(`{"alg":"NoNe","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg none unsigned", token: func(tb testing.TB) string {
		return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(payloadJSON(tb, ""))) + "."
	}, want: core.ReasonAlgNotAllowed},
	{name: "alg case-changed rs256", token: raw(`{"alg":"rs256","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg missing", token: raw(`{"kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg outside allowlist", token: signed("RS384", "rsa", noEdit), want: core.ReasonAlgNotAllowed},
	{name: "HS256 with the RSA public key as secret", token: func(tb testing.TB) string {
		pub := getKeys(tb).rsa.PublicKey
		t := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims(goodClaims()))
		t.Header["kid"] = "rsa"
		s, err := t.SignedString(pub.N.Bytes())
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}, want: core.ReasonAlgNotAllowed},
	// The keys of baseConfig come from Go code and carry no JWK alg, so
	// only the allowlist stands between these tokens and a signature check
	// that would pass: a JWK alg would refuse them first and hide a loose
	// allowlist comparison.
	{name: "alg with a suffix, key without JWK alg", token: raw(`{"alg":"RS256x","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg cut short, key without JWK alg", token: raw(`{"alg":"RS25","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg with a space, key without JWK alg", token: raw(`{"alg":" RS256","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg case-changed Eddsa, key without JWK alg", token: rawWith("EdDSA", `{"alg":"Eddsa","kid":"ed"}`, payloadJSON(nil, "")), want: core.ReasonAlgNotAllowed},
	{name: "alg differs from the JWK alg", cfg: func(c *core.Config) {
		c.Issuers[0].PublicKeys = nil
		c.Issuers[0].JWKSInline = jwksJSON(nil, jwkEntry{kid: "rsa", alg: "RS512", key: &getKeys(nil).rsa.PublicKey})
		c.Algorithms = []string{"RS256", "RS512"}
	}, token: signed("RS256", "rsa", noEdit), want: core.ReasonAlgNotAllowed},

	// header_invalid.
	{name: "crit present", token: raw(`{"alg":"RS256","kid":"rsa","crit":["exp"],"exp":1}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "crit empty", token: raw(`{"alg":"RS256","kid":"rsa","crit":[]}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "b64 false", token: raw(`{"alg":"RS256","kid":"rsa","b64":false,"crit":["b64"]}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "b64 false without crit", token: raw(`{"alg":"RS256","kid":"rsa","b64":false}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "kid not a string", token: raw(`{"alg":"RS256","kid":7}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "alg not a string", token: raw(`{"alg":["RS256"],"kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonHeaderInvalid},
	{name: "no kid with several keys", token: signed("RS256", "", noEdit), want: core.ReasonHeaderInvalid},

	// type_invalid: RFC 8725 section 3.11.
	{name: "typ JWT when at+jwt required", cfg: func(c *core.Config) { c.TokenTypes = []string{"at+jwt"} }, token: signed("RS256", "rsa", noEdit), want: core.ReasonTypeInvalid},
	// RFC 7515 section 4.1.9: "application/" may be left out only when no
	// other "/" follows, so application/a/b is not a/b.
	{name: "typ a/b when application/a/b required", cfg: func(c *core.Config) { c.TokenTypes = []string{"application/a/b"} },
		token: raw(`{"alg":"RS256","kid":"rsa","typ":"a/b"}`, payloadJSON(nil, "")), want: core.ReasonTypeInvalid},
	{name: "typ missing when at+jwt required", cfg: func(c *core.Config) { c.TokenTypes = []string{"at+jwt"} },
		token: raw(`{"alg":"RS256","kid":"rsa"}`, payloadJSON(nil, "")), want: core.ReasonTypeInvalid},

	// key_not_found.
	{name: "unknown kid", token: signed("RS256", "nope", noEdit), want: core.ReasonKeyNotFound},
	{name: "kid path traversal", token: signed("RS256", "../../etc/passwd", noEdit), want: core.ReasonKeyNotFound},
	{name: "kid naming a key of another type", token: signed("RS256", "ec", noEdit), want: core.ReasonKeyNotFound},
	// RFC 7518 section 3.1: the key type is checked before the signature,
	// so a mismatch says key_not_found, never signature_invalid.
	{name: "EdDSA under an RSA kid", token: signed("EdDSA", "rsa", noEdit), want: core.ReasonKeyNotFound},
	{name: "ES256 under an Ed25519 kid", token: signed("ES256", "ed", noEdit), want: core.ReasonKeyNotFound},
	{name: "EdDSA under an EC kid", token: signed("EdDSA", "ec", noEdit), want: core.ReasonKeyNotFound},
	{name: "ES256 token on a P-384 key", cfg: func(c *core.Config) {
		c.Issuers[0].PublicKeys["ec"] = &getKeys(nil).ec384.PublicKey
	}, token: signed("ES256", "ec", noEdit), want: core.ReasonKeyNotFound},

	// signature_invalid.
	{name: "tampered payload", token: func(tb testing.TB) string {
		t := strings.Split(sign(tb, "RS256", "rsa", goodClaims()), ".")
		return t[0] + "." + enc.EncodeToString([]byte(payloadJSON(tb, `"admin":true`))) + "." + t[2]
	}, want: core.ReasonSignatureInvalid},
	{name: "stripped signature", token: func(tb testing.TB) string {
		t := sign(tb, "RS256", "rsa", goodClaims())
		return t[:strings.LastIndexByte(t, '.')+1]
	}, want: core.ReasonSignatureInvalid},
	{name: "truncated signature", token: func(tb testing.TB) string {
		t := sign(tb, "ES256", "ec", goodClaims())
		i := strings.LastIndexByte(t, '.')
		sig, _ := enc.DecodeString(t[i+1:])
		return t[:i+1] + enc.EncodeToString(sig[:len(sig)-10])
	}, want: core.ReasonSignatureInvalid},
	{name: "another key under a published kid", token: func(tb testing.TB) string {
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(goodClaims()))
		t.Header["kid"] = "rsa"
		s, err := t.SignedString(getKeys(tb).rsa2)
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}, want: core.ReasonSignatureInvalid},
	{name: "ECDSA r=s=0", token: func(tb testing.TB) string {
		t := sign(tb, "ES256", "ec", goodClaims())
		return t[:strings.LastIndexByte(t, '.')+1] + enc.EncodeToString(make([]byte, 64))
	}, want: core.ReasonSignatureInvalid},
	{name: "ES256 signature in ASN.1 DER form", token: func(tb testing.TB) string {
		// RFC 7518 section 3.4: R and S as two 32-byte integers; the DER
		// SEQUENCE that crypto/ecdsa produces is another encoding, refused.
		input := enc.EncodeToString([]byte(`{"alg":"ES256","kid":"ec"}`)) + "." + enc.EncodeToString([]byte(payloadJSON(tb, "")))
		digest := sha256.Sum256([]byte(input))
		der, err := ecdsa.SignASN1(rand.Reader, getKeys(tb).ec, digest[:])
		if err != nil {
			tb.Fatal(err)
		}
		return input + "." + enc.EncodeToString(der)
	}, want: core.ReasonSignatureInvalid},
	{name: "ES256 signature with a zero byte before S", token: func(tb testing.TB) string {
		// 65 bytes that a lax reader would take as R and a zero-padded S:
		// RFC 7518 section 3.4 fixes the length at 64.
		t := sign(tb, "ES256", "ec", goodClaims())
		i := strings.LastIndexByte(t, '.')
		sig, _ := enc.DecodeString(t[i+1:])
		return t[:i+1] + enc.EncodeToString(append(append(sig[:32:32], 0), sig[32:]...))
	}, want: core.ReasonSignatureInvalid},
	{name: "EdDSA signature of another message", token: func(tb testing.TB) string {
		a := sign(tb, "EdDSA", "ed", goodClaims())
		b := sign(tb, "EdDSA", "ed", with(func(c map[string]any) { c["sub"] = "user-2" }))
		return a[:strings.LastIndexByte(a, '.')] + b[strings.LastIndexByte(b, '.'):]
	}, want: core.ReasonSignatureInvalid},

	// issuer_invalid: RFC 7519 section 4.1.1, exact match.
	{name: "unknown issuer", token: signed("RS256", "rsa", func(c map[string]any) { c["iss"] = "https://evil.example.com/" }), want: core.ReasonIssuerInvalid},
	{name: "issuer without trailing slash", token: signed("RS256", "rsa", func(c map[string]any) { c["iss"] = "https://idp.example.com" }), want: core.ReasonIssuerInvalid},
	{name: "issuer missing", token: signed("RS256", "rsa", func(c map[string]any) { delete(c, "iss") }), want: core.ReasonIssuerInvalid},

	// token_expired, token_not_yet_valid, issued_in_future: RFC 7519 4.1.4-4.1.6.
	{name: "expired", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }), want: core.ReasonTokenExpired},
	{name: "expired just past leeway", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = testNow.Add(-30 * time.Second).Unix() }), want: core.ReasonTokenExpired},
	{name: "nbf past leeway", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = testNow.Add(time.Minute).Unix() }), want: core.ReasonTokenNotYetValid},
	{name: "nbf a second past the leeway edge", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = testNow.Add(31 * time.Second).Unix() }), want: core.ReasonTokenNotYetValid},
	{name: "iat a second past the leeway edge", token: signed("RS256", "rsa", func(c map[string]any) { c["iat"] = testNow.Add(31 * time.Second).Unix() }), want: core.ReasonIssuedInFuture},
	{name: "iat in the future", token: signed("RS256", "rsa", func(c map[string]any) { c["iat"] = testNow.Add(time.Minute).Unix() }), want: core.ReasonIssuedInFuture},

	// audience_invalid: RFC 7519 section 4.1.3.
	{name: "wrong audience", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = "billing-api" }), want: core.ReasonAudienceInvalid},
	{name: "audience case changed", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = "Orders-API" }), want: core.ReasonAudienceInvalid},
	{name: "audience array without ours", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = []string{"billing-api"} }), want: core.ReasonAudienceInvalid},
	{name: "audience empty array", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = []string{} }), want: core.ReasonAudienceInvalid},
	{name: "audience missing", token: signed("RS256", "rsa", func(c map[string]any) { delete(c, "aud") }), want: core.ReasonAudienceInvalid},
	{name: "audience missing but skipped", cfg: func(c *core.Config) { c.Audiences = nil; c.InsecureSkipAudience = true },
		token: signed("RS256", "rsa", func(c map[string]any) { delete(c, "aud") })},

	// claim_missing and claim_invalid.
	{name: "exp missing", token: signed("RS256", "rsa", func(c map[string]any) { delete(c, "exp") }), want: core.ReasonClaimMissing},
	{name: "required claim missing", cfg: func(c *core.Config) { c.RequiredClaims = []string{"tenant"} }, token: signed("RS256", "rsa", noEdit), want: core.ReasonClaimMissing},
	{name: "required claim null", cfg: func(c *core.Config) { c.RequiredClaims = []string{"tenant"} },
		token: signed("RS256", "rsa", func(c map[string]any) { c["tenant"] = nil }), want: core.ReasonClaimMissing},
	{name: "required claim case-variant", cfg: func(c *core.Config) { c.RequiredClaims = []string{"tenant"} },
		token: signed("RS256", "rsa", func(c map[string]any) { c["Tenant"] = "t" }), want: core.ReasonClaimMissing},
	{name: "exp as string", token: signed("RS256", "rsa", func(c map[string]any) { c["exp"] = fmt.Sprint(testNow.Add(time.Hour).Unix()) }), want: core.ReasonClaimInvalid},
	{name: "nbf as string", token: signed("RS256", "rsa", func(c map[string]any) { c["nbf"] = "0" }), want: core.ReasonClaimInvalid},
	{name: "exp huge", token: raw(`{"alg":"RS256","kid":"rsa"}`, strings.Replace(payloadJSON(nil, ""), fmt.Sprint(testNow.Add(time.Hour).Unix()), "1e999", 1)), want: core.ReasonClaimInvalid},
	{name: "iss as number", token: signed("RS256", "rsa", func(c map[string]any) { c["iss"] = 7 }), want: core.ReasonClaimInvalid},
	{name: "iss as a two-digit number", token: signed("RS256", "rsa", func(c map[string]any) { c["iss"] = 42 }), want: core.ReasonClaimInvalid},
	{name: "aud array of numbers", token: signed("RS256", "rsa", func(c map[string]any) { c["aud"] = []int{1} }), want: core.ReasonClaimInvalid},
	// refuse_id_tokens: an ID token presented as an access token.
	{name: "ID token nonce refused", cfg: refuseIDTokens, token: signed("RS256", "rsa", func(c map[string]any) { c["nonce"] = "n-0S6_WzA2Mj" }), want: core.ReasonTypeInvalid},
	{name: "ID token at_hash refused", cfg: refuseIDTokens, token: signed("RS256", "rsa", func(c map[string]any) { c["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ" }), want: core.ReasonTypeInvalid},
	{name: "ID token c_hash refused", cfg: refuseIDTokens, token: signed("RS256", "rsa", func(c map[string]any) { c["c_hash"] = "LDktKdoQak3Pk0cnXxCltA" }), want: core.ReasonTypeInvalid},
	{name: "ID token null nonce refused", cfg: refuseIDTokens, token: signed("RS256", "rsa", func(c map[string]any) { c["nonce"] = nil }), want: core.ReasonTypeInvalid},
	{name: "ID token claims pass without the setting", token: signed("RS256", "rsa", func(c map[string]any) { c["nonce"], c["at_hash"] = "n", "h" })},
	{name: "access token passes refuse_id_tokens", cfg: refuseIDTokens, token: signed("RS256", "rsa", func(c map[string]any) { c["client_id"] = "s6BhdRkqt3" })},
	{name: "client_id required (RFC 9068 section 2.2)", cfg: func(c *core.Config) { c.RequiredClaims = []string{"client_id"} }, token: signed("RS256", "rsa", noEdit), want: core.ReasonClaimMissing},
	{name: "scope array with a number", token: signed("RS256", "rsa", func(c map[string]any) { c["scope"] = []any{"a", 1} }), want: core.ReasonClaimInvalid},
}

func TestVerify(t *testing.T) {
	for _, tc := range verifyCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t)
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			tc.check(t, newVerifier(t, cfg))
		})
	}
}

// check verifies the case's token with v and requires its verdict; it
// returns the refusal, if any.
func (tc verifyCase) check(t *testing.T, v *core.Verifier) error {
	t.Helper()
	claims, err := v.Verify(bg, tc.token(t))
	if tc.want == "" {
		if err != nil {
			t.Fatalf("want accepted, got %v", err)
		}
		if claims.Subject() != "user-1" || claims.Issuer() != testIssuer {
			t.Fatalf("claims: sub=%q iss=%q", claims.Subject(), claims.Issuer())
		}
		return nil
	}
	assertReason(t, err, tc.want)
	if claims != nil {
		t.Fatalf("claims returned with a rejection")
	}
	return err
}

// assertReason checks the error's Reason, that errors.Is matches its reason
// and its class, and that no other reason matches.
func assertReason(t testing.TB, err error, want core.Reason) {
	t.Helper()
	if err == nil {
		t.Fatalf("want %s, got accepted", want)
	}
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("want *core.Error, got %T: %v", err, err)
	}
	if e.Reason != want {
		t.Fatalf("want reason %s, got %s (%v)", want, e.Reason, err)
	}
	for _, info := range core.Reasons() {
		if got := errors.Is(err, info.Reason); got != (info.Reason == want) {
			t.Errorf("errors.Is(err, %s) = %v", info.Reason, got)
		}
	}
	classes := map[error]bool{core.ErrNoCredentials: false, core.ErrInvalidRequest: false, core.ErrInvalidToken: false,
		core.ErrForbidden: false, core.ErrServerUnavailable: false}
	matched := 0
	for c := range classes {
		if errors.Is(err, c) {
			matched++
		}
	}
	if matched != 1 {
		t.Errorf("error matches %d class sentinels, want exactly 1", matched)
	}
}

func TestEveryReasonIsProduced(t *testing.T) {
	produced := map[core.Reason]bool{}
	for _, tc := range verifyCases {
		produced[tc.want] = true
	}
	for _, tc := range extractCases {
		produced[tc.want] = true
	}
	// keys_unavailable, insufficient_scope and token_revoked have their
	// own tests (TestKeysUnavailableAtStart, TestRequireScopes,
	// TestRevocations).
	produced[core.ReasonKeysUnavailable] = true
	produced[core.ReasonInsufficientScope] = true
	produced[core.ReasonTokenRevoked] = true
	for _, info := range core.Reasons() {
		if !produced[info.Reason] {
			t.Errorf("no test produces %s", info.Reason)
		}
	}
}

func TestClaimsAccessors(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	tok := sign(t, "ES256", "ec", with(func(c map[string]any) {
		c["aud"] = []string{testAudience, "b"}
		c["scp"] = []string{"admin", "read"}
		c["tenant"] = "acme"
	}))
	c, err := v.Verify(bg, tok)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Audience(); len(got) != 2 || got[0] != testAudience || got[1] != "b" {
		t.Errorf("Audience = %v", got)
	}
	if got := strings.Join(c.Scopes(), ","); got != "admin,read,write" {
		t.Errorf("Scopes = %q", got)
	}
	if !c.ExpiresAt().Equal(testNow.Add(time.Hour)) || !c.IssuedAt().Equal(testNow.Add(-time.Minute)) || !c.NotBefore().Equal(testNow.Add(-time.Minute)) {
		t.Errorf("times: exp %v iat %v nbf %v", c.ExpiresAt(), c.IssuedAt(), c.NotBefore())
	}
	if c.ID() != "id-1" || c.Algorithm() != "ES256" || c.KeyID() != "ec" {
		t.Errorf("id %q alg %q kid %q", c.ID(), c.Algorithm(), c.KeyID())
	}
	if got, ok := c.Get("tenant"); !ok || got != "acme" {
		t.Errorf("Get(tenant) = %v %v", got, ok)
	}
	if _, ok := c.Get("Tenant"); ok {
		t.Error("claim names must be case-sensitive")
	}
	b, _ := c.MarshalJSON()
	if !bytes.Contains(b, []byte(`"tenant":"acme"`)) {
		t.Errorf("MarshalJSON = %s", b)
	}
	// A NumericDate may be fractional (RFC 7519 section 2).
	frac, err := v.Verify(bg, sign(t, "EdDSA", "ed", with(func(c map[string]any) {
		c["exp"] = float64(testNow.Add(time.Hour).Unix()) + 0.25
		c["aud"] = testAudience
	})))
	if err != nil {
		t.Fatal(err)
	}
	if got := frac.ExpiresAt(); !got.Equal(testNow.Add(time.Hour + 250*time.Millisecond)) {
		t.Errorf("fractional ExpiresAt = %v", got)
	}
	if got := frac.Audience(); len(got) != 1 || got[0] != testAudience {
		t.Errorf("Audience of a string aud = %v", got)
	}
	ctx := core.NewContext(bg, c)
	if got, ok := core.FromContext(ctx); !ok || got != c {
		t.Error("FromContext lost the claims")
	}
	if _, ok := core.FromContext(bg); ok {
		t.Error("FromContext found claims in an empty context")
	}
	if _, ok := core.FromContext(core.NewContext(bg, nil)); ok {
		t.Error("FromContext found claims in a context holding a nil *Claims")
	}
}

func TestSingleKeyNeedsNoKID(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Issuers[0].PublicKeys = map[string]crypto.PublicKey{"only": &getKeys(t).rsa.PublicKey}
	v := newVerifier(t, cfg)
	if _, err := v.Verify(bg, sign(t, "RS256", "", goodClaims())); err != nil {
		t.Fatalf("token without kid against a one-key set: %v", err)
	}
}

// TestIssuerKeyBinding: a key of issuer A never validates a token that
// claims issuer B (RFC 8725 section 3.8).
func TestIssuerKeyBinding(t *testing.T) {
	k := getKeys(t)
	cfg := baseConfig(t)
	cfg.Issuers = append(cfg.Issuers, core.IssuerConfig{Issuer: "https://b.example.com/",
		PublicKeys: map[string]crypto.PublicKey{"b": &k.rsa2.PublicKey}})
	v := newVerifier(t, cfg)
	// Signed by issuer A's key with A's kid, but claiming issuer B.
	tok := sign(t, "RS256", "rsa", with(func(c map[string]any) { c["iss"] = "https://b.example.com/" }))
	_, err := v.Verify(bg, tok)
	assertReason(t, err, core.ReasonKeyNotFound)
	// And with B's kid: still A's signature, so invalid.
	tok = sign(t, "RS256", "b", with(func(c map[string]any) { c["iss"] = "https://b.example.com/" }))
	_, err = v.Verify(bg, tok)
	assertReason(t, err, core.ReasonSignatureInvalid)
}

func TestRejectionLogLine(t *testing.T) {
	var buf bytes.Buffer
	v := newVerifier(t, baseConfig(t), core.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	buf.Reset()
	tok := sign(t, "RS256", "rsa", with(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	if _, err := v.Verify(bg, tok); err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 1 {
		t.Fatalf("want one log line, got %d: %s", len(lines), buf.String())
	}
	// A bad token is the client's problem: INFO. ERROR is kept for
	// keys_unavailable (TestKeysUnavailableAtStart).
	for _, want := range []string{`"level":"INFO"`, `"reason":"token_expired"`, `"kid":"rsa"`, `"alg":"RS256"`, `"iss":"https://idp.example.com/"`} {
		if !strings.Contains(lines[0], want) {
			t.Errorf("log line lacks %s: %s", want, lines[0])
		}
	}
	sig := tok[strings.LastIndexByte(tok, '.')+1:]
	if strings.Contains(buf.String(), tok[:20]) || strings.Contains(buf.String(), sig) {
		t.Error("log line contains the token")
	}
}

func TestErrorMessagesNeverContainTheToken(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	for _, tc := range verifyCases {
		if tc.want == "" || tc.cfg != nil {
			continue
		}
		tok := tc.token(t)
		_, err := v.Verify(bg, tok)
		if err == nil {
			continue
		}
		for _, seg := range strings.Split(tok, ".") {
			if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
				t.Errorf("%s: error message contains a token segment: %v", tc.name, err)
			}
		}
	}
}

func TestFailsClosedOnPanic(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	// A Request whose methods panic must become a rejection, not a crash.
	_, err := v.Authenticate(bg, panickyRequest{})
	assertReason(t, err, core.ReasonRequestInvalid)
}

type panickyRequest struct{}

func (panickyRequest) Header(string) []string       { panic("boom") }
func (panickyRequest) Query(string) []string        { panic("boom") }
func (panickyRequest) Cookie(string) (string, bool) { panic("boom") }

func TestNewRejectsBadGoConfig(t *testing.T) {
	cfg := baseConfig(t)
	cfg.Algorithms = []string{"none"}
	if _, err := core.New(cfg); err == nil || !strings.Contains(err.Error(), "algorithms") {
		t.Fatalf("want an error naming algorithms, got %v", err)
	}
	cfg = baseConfig(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Issuers[0].PublicKeys = map[string]crypto.PublicKey{"small": &small.PublicKey}
	if _, err := core.New(cfg); err == nil || !strings.Contains(err.Error(), "2048") {
		t.Fatalf("want a 1024-bit RSA key refused, got %v", err)
	}
}

// TestConfigIsACopy: what Config returns is the caller's to change; the
// verifier keeps verifying by the baseline it was built with.
func TestConfigIsACopy(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	tok := sign(t, "RS256", "rsa", goodClaims())
	other := goodClaims()
	other["aud"] = "someone-else"
	foreign := sign(t, "RS256", "rsa", other)

	cfg := v.Config()
	cfg.Audiences[0] = "someone-else"
	cfg.Algorithms[0] = "PS256"
	cfg.Algorithms = append(cfg.Algorithms, "RS512")
	*cfg.Cache.MaxEntries = 1
	delete(cfg.Issuers[0].PublicKeys, "rsa")
	cfg.Issuers[0].Issuer = "https://attacker.example"

	if _, err := v.Verify(bg, tok); err != nil {
		t.Fatalf("editing the returned Config changed verification: %v", err)
	}
	_, err := v.Verify(bg, foreign)
	assertReason(t, err, core.ReasonAudienceInvalid)
	again := v.Config()
	if again.Audiences[0] != testAudience || again.Issuers[0].Issuer != testIssuer ||
		again.Issuers[0].PublicKeys["rsa"] == nil || *again.Cache.MaxEntries == 1 || len(again.Algorithms) != 3 {
		t.Fatalf("a second Config shows the first one's edits: %+v", again)
	}
}

// TestTokenSizeCapEdge: max_token_bytes is the largest token accepted, and
// such a token is cached like any other; one byte more is refused before
// any decoding.
func TestTokenSizeCapEdge(t *testing.T) {
	tok := sign(t, "RS256", "rsa", goodClaims())
	for _, tc := range []struct {
		name  string
		limit int
		want  core.Reason
	}{
		{"token of exactly max_token_bytes", len(tok), ""},
		{"token one byte over max_token_bytes", len(tok) - 1, core.ReasonTokenTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.MaxTokenBytes = tc.limit
			v := newVerifier(t, cfg)
			a, err := v.Verify(bg, tok)
			if tc.want != "" {
				assertReason(t, err, tc.want)
				return
			}
			if err != nil {
				t.Fatalf("want accepted, got %v", err)
			}
			if b, err := v.Verify(bg, tok); err != nil || b != a || core.CacheLen(v) != 1 {
				t.Fatalf("second verify: %v, a cache hit %v, %d entries", err, b == a, core.CacheLen(v))
			}
		})
	}
}

// TestTimeChecksReadSubseconds: the clock's fraction of a second counts
// (RFC 7519 section 2 allows fractional NumericDates): half a second past
// exp plus leeway is expired, half a second before it is not.
func TestTimeChecksReadSubseconds(t *testing.T) {
	tok := sign(t, "RS256", "rsa", with(func(c map[string]any) { c["exp"] = testNow.Add(-30 * time.Second).Unix() }))
	for _, tc := range []struct {
		name string
		at   time.Duration
		want core.Reason
	}{
		{"half a second before exp plus leeway", -500 * time.Millisecond, ""},
		{"half a second past exp plus leeway", 500 * time.Millisecond, core.ReasonTokenExpired},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, baseConfig(t), core.WithClock(func() time.Time { return testNow.Add(tc.at) }))
			_, err := v.Verify(bg, tok)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("want accepted, got %v", err)
				}
				return
			}
			assertReason(t, err, tc.want)
		})
	}
}

// TestMalformedDetail: a malformed token is token_malformed whichever rule
// it breaks, and the rejection's detail (the one log line an operator
// reads) names the rule: RFC 7515 section 7.1's three segments, checked
// before any decoding, then each segment's encoding.
func TestMalformedDetail(t *testing.T) {
	s := strings.Split(sign(t, "RS256", "rsa", goodClaims()), ".")
	h, p, sig := s[0], s[1], s[2]
	const segments = "not a compact JWS of three segments"
	for _, tc := range []struct {
		name, token, detail string
	}{
		{"no dot", h + p + sig, segments},
		{"one dot after one character", "e." + p + sig, segments},
		{"one dot", h + "." + p + sig, segments},
		{"empty header", "." + p + "." + sig, segments},
		{"four segments", h + "." + p + "." + sig + ".x", segments},
		{"empty fourth segment", h + "." + p + "." + sig + ".", segments},
		{"empty third and fourth segments", h + "." + p + "..x", segments},
		{"empty payload", h + ".." + sig, "empty payload segment"},
		{"header not base64url", h + "%." + p + "." + sig, "header is not strict base64url"},
		{"payload not base64url", h + "." + p + "%." + sig, "payload is not strict base64url"},
		{"signature not base64url", h + "." + p + "." + sig + "%", "signature is not strict base64url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newVerifier(t, baseConfig(t))
			_, err := v.Verify(bg, tc.token)
			assertReason(t, err, core.ReasonTokenMalformed)
			var e *core.Error
			if errors.As(err, &e); e.Detail != tc.detail {
				t.Fatalf("detail %q, want %q", e.Detail, tc.detail)
			}
		})
	}
}
