package bench

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"
)

// The one issuer and audience every contender is configured for.
const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "orders-api"
)

// signer is one algorithm with its key pair and the tokens signed with it.
type signer struct {
	alg    string
	kid    string
	key    crypto.Signer
	pub    crypto.PublicKey
	tokens map[string]string // by case name, see tokenCases
}

// fixture holds one signer per algorithm, in benchmark order.
type fixture struct {
	signers []*signer
}

func (f *fixture) signer(alg string) *signer {
	for _, s := range f.signers {
		if s.alg == alg {
			return s
		}
	}
	panic("no signer for " + alg)
}

// tokenCase is one token and the verdict every contender must give.
type tokenCase struct {
	name        string
	accept      bool
	explanation string
}

// tokenCases is the matrix of TestPeersAgree. Each bad token breaks exactly
// one rule of the good one.
var tokenCases = []tokenCase{
	{"good", true, "a well-formed token for this issuer and audience, signed with the allowed algorithm"},
	{"wrong-audience", false, "aud names another service (RFC 7519 section 4.1.3)"},
	{"wrong-issuer", false, "iss is not the configured issuer (RFC 7519 section 4.1.1)"},
	{"expired", false, "exp is an hour in the past (RFC 7519 section 4.1.4)"},
	{"no-exp", false, "exp is missing, and every contender is configured to require it"},
	{"alg-none", false, `alg is "none" and the signature is empty (RFC 8725 section 3.2)`},
	{"tampered", false, "the payload was changed after signing, so the signature does not match"},
}

// testFixture generates the keys and tokens once per test binary: RSA key
// generation is slow under -race, and every test and benchmark shares them.
func testFixture(tb testing.TB) *fixture {
	tb.Helper()
	f, err := sharedFixture()
	if err != nil {
		tb.Fatal(err)
	}
	return f
}

var sharedFixture = sync.OnceValues(func() (*fixture, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	f := &fixture{signers: []*signer{
		{alg: "RS256", kid: "rsa-1", key: rsaKey, pub: rsaKey.Public()},
		{alg: "ES256", kid: "ec-1", key: ecKey, pub: ecKey.Public()},
		{alg: "EdDSA", kid: "ed-1", key: edKey, pub: edKey.Public()},
	}}
	now := time.Now()
	for _, s := range f.signers {
		if s.tokens, err = s.signCases(now); err != nil {
			return nil, err
		}
	}
	return f, nil
})

// accessClaimSet is a typical access token issued now, valid for an hour.
func accessClaimSet(now time.Time) map[string]any {
	return map[string]any{
		"iss":       testIssuer,
		"sub":       "alice",
		"aud":       testAudience,
		"exp":       now.Add(time.Hour).Unix(),
		"iat":       now.Unix(),
		"jti":       "4f1c7f0e-2b8e-4c35-9d0a-6a1b1c2d3e4f",
		"client_id": "checkout-web",
		"scope":     "orders:read orders:write",
	}
}

func (s *signer) signCases(now time.Time) (map[string]string, error) {
	with := func(change func(map[string]any)) map[string]any {
		c := accessClaimSet(now)
		change(c)
		return c
	}
	tokens := map[string]string{}
	signed := map[string]map[string]any{
		"good":           accessClaimSet(now),
		"wrong-audience": with(func(c map[string]any) { c["aud"] = "billing-api" }),
		"wrong-issuer":   with(func(c map[string]any) { c["iss"] = "https://evil.example.com/" }),
		"expired": with(func(c map[string]any) {
			c["iat"] = now.Add(-2 * time.Hour).Unix()
			c["exp"] = now.Add(-time.Hour).Unix()
		}),
		"no-exp": with(func(c map[string]any) { delete(c, "exp") }),
	}
	for name, claims := range signed {
		tok, err := s.sign(map[string]any{"alg": s.alg, "kid": s.kid, "typ": "JWT"}, claims)
		if err != nil {
			return nil, err
		}
		tokens[name] = tok
	}

	none, err := encodeSegments(map[string]any{"alg": "none", "typ": "JWT"}, accessClaimSet(now))
	if err != nil {
		return nil, err
	}
	tokens["alg-none"] = none + "."

	// The good token's header and signature around a payload naming another
	// subject.
	good := strings.Split(tokens["good"], ".")
	forged, err := json.Marshal(with(func(c map[string]any) { c["sub"] = "mallory" }))
	if err != nil {
		return nil, err
	}
	tokens["tampered"] = good[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + good[2]
	return tokens, nil
}

func encodeSegments(header, claims map[string]any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	c, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c), nil
}

// sign uses the standard library alone, so that no contender signs the
// tokens it is then asked to verify.
func (s *signer) sign(header, claims map[string]any) (string, error) {
	input, err := encodeSegments(header, claims)
	if err != nil {
		return "", err
	}
	var sig []byte
	switch k := s.key.(type) {
	case *rsa.PrivateKey:
		d := sha256.Sum256([]byte(input))
		sig, err = rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, d[:])
	case *ecdsa.PrivateKey:
		// RFC 7518 section 3.4: R and S as fixed-width big-endian integers.
		d := sha256.Sum256([]byte(input))
		r, ss, signErr := ecdsa.Sign(rand.Reader, k, d[:])
		if signErr != nil {
			return "", signErr
		}
		sig = make([]byte, 64)
		r.FillBytes(sig[:32])
		ss.FillBytes(sig[32:])
	case ed25519.PrivateKey:
		sig = ed25519.Sign(k, []byte(input))
	}
	if err != nil {
		return "", err
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}
