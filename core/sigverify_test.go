package core_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// TestEveryAlgorithm signs with golang-jwt, an independent implementation,
// many times per algorithm so that ECDSA signatures with and without the
// high bit set in R and S are all met.
func TestEveryAlgorithm(t *testing.T) {
	k := getKeys(t)
	p521, err := ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		alg  string
		priv any
		pub  crypto.PublicKey
	}{
		{"RS256", k.rsa, &k.rsa.PublicKey}, {"RS384", k.rsa, &k.rsa.PublicKey}, {"RS512", k.rsa, &k.rsa.PublicKey},
		{"PS256", k.rsa, &k.rsa.PublicKey}, {"PS384", k.rsa, &k.rsa.PublicKey}, {"PS512", k.rsa, &k.rsa.PublicKey},
		{"ES256", k.ec, &k.ec.PublicKey}, {"ES384", k.ec384, &k.ec384.PublicKey}, {"ES512", p521, &p521.PublicKey},
		{"EdDSA", k.ed, k.ed.Public()},
	}
	for _, tc := range cases {
		t.Run(tc.alg, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.Algorithms = []string{tc.alg}
			cfg.Issuers[0].PublicKeys = map[string]crypto.PublicKey{"k": tc.pub}
			v := newVerifier(t, cfg)
			rounds := 3
			if tc.alg[0] == 'E' {
				rounds = 40
			}
			for i := range rounds {
				tok := jwt.NewWithClaims(jwt.GetSigningMethod(tc.alg), jwt.MapClaims(with(func(c map[string]any) { c["n"] = i })))
				tok.Header["kid"] = "k"
				s, err := tok.SignedString(tc.priv)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := v.Verify(bg, s); err != nil {
					t.Fatalf("round %d: %v", i, err)
				}
				// Flip one signature bit: must fail.
				b := []byte(s)
				last := len(b) - 5
				if b[last] == 'A' {
					b[last] = 'B'
				} else {
					b[last] = 'A'
				}
				if _, err := v.Verify(bg, string(b)); err == nil {
					t.Fatalf("round %d: altered signature accepted", i)
				} else {
					assertReasonIn(t, err, core.ReasonSignatureInvalid, core.ReasonTokenMalformed)
				}
			}
		})
	}
}

func assertReasonIn(t *testing.T, err error, reasons ...core.Reason) {
	t.Helper()
	for _, r := range reasons {
		if errors.Is(err, r) {
			return
		}
	}
	t.Fatalf("%v, want one of %v", err, fmt.Sprint(reasons))
}
