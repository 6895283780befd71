package core_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// testNow is the fixed instant every test verifies at.
var testNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

const (
	testIssuer   = "https://idp.example.com/"
	testAudience = "orders-api"
)

type testKeys struct {
	rsa, rsa2 *rsa.PrivateKey
	ec        *ecdsa.PrivateKey
	ec384     *ecdsa.PrivateKey
	ed        ed25519.PrivateKey
}

var (
	keysOnce sync.Once
	keys     testKeys
)

// getKeys generates the test keys once per run; tb may be nil.
func getKeys(tb testing.TB) testKeys {
	keysOnce.Do(func() {
		must := func(err error) {
			if err != nil {
				panic(err)
			}
		}
		var err error
		keys.rsa, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keys.rsa2, err = rsa.GenerateKey(rand.Reader, 2048)
		must(err)
		keys.ec, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		must(err)
		keys.ec384, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		must(err)
		_, keys.ed, err = ed25519.GenerateKey(rand.Reader)
		must(err)
	})
	return keys
}

// baseConfig trusts one issuer with three keys: "rsa", "ec" and "ed".
func baseConfig(tb testing.TB) core.Config {
	k := getKeys(tb)
	return core.Config{
		Issuers: []core.IssuerConfig{{
			Issuer: testIssuer,
			PublicKeys: map[string]crypto.PublicKey{
				"rsa": &k.rsa.PublicKey, "ec": &k.ec.PublicKey, "ed": k.ed.Public(),
			},
		}},
		Audiences:  []string{testAudience},
		Algorithms: []string{"RS256", "ES256", "EdDSA"},
		Leeway:     30 * time.Second,
	}
}

func newVerifier(tb testing.TB, cfg core.Config, opts ...core.Option) *core.Verifier {
	tb.Helper()
	opts = append([]core.Option{core.WithClock(func() time.Time { return testNow }), core.WithLogger(discard())}, opts...)
	v, err := core.New(cfg, opts...)
	if err != nil {
		tb.Fatalf("core.New: %v", err)
	}
	tb.Cleanup(v.Close)
	return v
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// goodClaims is a valid RFC 9068 access token's claims at testNow.
func goodClaims() map[string]any {
	return map[string]any{
		"iss":   testIssuer,
		"sub":   "user-1",
		"aud":   testAudience,
		"exp":   testNow.Add(time.Hour).Unix(),
		"iat":   testNow.Add(-time.Minute).Unix(),
		"nbf":   testNow.Add(-time.Minute).Unix(),
		"jti":   "id-1",
		"scope": "read write",
	}
}

// sign signs claims with golang-jwt, the way an IdP would.
func sign(tb testing.TB, alg, kid string, claims map[string]any) string {
	tb.Helper()
	k := getKeys(tb)
	m := jwt.GetSigningMethod(alg)
	t := jwt.NewWithClaims(m, jwt.MapClaims(claims))
	if kid != "" {
		t.Header["kid"] = kid
	}
	var key any
	switch alg[:2] {
	case "RS", "PS":
		key = k.rsa
	case "ES":
		key = k.ec
	case "Ed":
		key = k.ed
	}
	s, err := t.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	return s
}

var enc = base64.RawURLEncoding

// rawToken signs arbitrary header and payload bytes with the RSA key, for
// hostile tokens golang-jwt would refuse to build.
func rawToken(tb testing.TB, header, payload string) string {
	tb.Helper()
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := jwt.SigningMethodRS256.Sign(input, getKeys(tb).rsa)
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

// rawTokenWith signs arbitrary header and payload bytes under alg with the
// test key of that algorithm, for headers whose alg golang-jwt would not
// write (a casing the verifier must refuse).
func rawTokenWith(tb testing.TB, alg, header, payload string) string {
	tb.Helper()
	k := getKeys(tb)
	keys := map[string]any{"RS256": k.rsa, "ES256": k.ec, "EdDSA": k.ed}
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString([]byte(payload))
	sig, err := jwt.GetSigningMethod(alg).Sign(input, keys[alg])
	if err != nil {
		tb.Fatal(err)
	}
	return input + "." + enc.EncodeToString(sig)
}

func mustJSON(_ testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

var bg = context.Background()

type jwkEntry struct {
	kid, alg, use, kty string
	key                crypto.PublicKey
}

// jwksJSON writes a JWK Set (RFC 7517 section 5) by hand, so tests control
// every member, including ones a well-behaved IdP would never publish.
func jwksJSON(tb testing.TB, entries ...jwkEntry) string {
	var keys []map[string]any
	for _, e := range entries {
		m := map[string]any{}
		switch k := e.key.(type) {
		case *rsa.PublicKey:
			m["kty"] = "RSA"
			m["n"] = enc.EncodeToString(k.N.Bytes())
			m["e"] = enc.EncodeToString(big.NewInt(int64(k.E)).Bytes())
		case *ecdsa.PublicKey:
			size := (k.Curve.Params().BitSize + 7) / 8
			m["kty"], m["crv"] = "EC", k.Curve.Params().Name
			m["x"] = enc.EncodeToString(k.X.FillBytes(make([]byte, size)))
			m["y"] = enc.EncodeToString(k.Y.FillBytes(make([]byte, size)))
		case ed25519.PublicKey:
			m["kty"], m["crv"], m["x"] = "OKP", "Ed25519", enc.EncodeToString(k)
		case []byte:
			m["kty"], m["k"] = "oct", enc.EncodeToString(k)
		}
		if e.kty != "" {
			m["kty"] = e.kty
		}
		for name, val := range map[string]string{"kid": e.kid, "alg": e.alg, "use": e.use} {
			if val != "" {
				m[name] = val
			}
		}
		keys = append(keys, m)
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	return string(b)
}
