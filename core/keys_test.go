package core_test

import (
	"bytes"
	"crypto"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// TestJWKSInlineSkipsBadKeys: one bad or unsupported key is skipped and
// logged while the rest load.
func TestJWKSInlineSkipsBadKeys(t *testing.T) {
	k := getKeys(t)
	set := jwksJSON(t,
		jwkEntry{kid: "rsa", key: &k.rsa.PublicKey, use: "sig", alg: "RS256"},
		jwkEntry{kid: "ec", key: &k.ec.PublicKey},
		jwkEntry{kid: "ed", key: k.ed.Public()},
		jwkEntry{kid: "oct", key: []byte("0123456789abcdef0123456789abcdef")},
		jwkEntry{kid: "enc", key: &k.rsa2.PublicKey, use: "enc"},
		jwkEntry{kid: "hs", key: &k.rsa2.PublicKey, alg: "HS256"},
		jwkEntry{kid: "weird", key: &k.rsa2.PublicKey, kty: "XYZ"},
	)
	set = strings.Replace(set, `"keys":[`, `"keys":[{"kty":"RSA","kid":"broken","n":"!!","e":"AQAB"},`, 1)
	var logs bytes.Buffer
	cfg := baseConfig(t)
	cfg.Issuers[0].PublicKeys = nil
	cfg.Issuers[0].JWKSInline = set
	v := newVerifier(t, cfg, core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))

	for _, kid := range []string{"rsa", "ec", "ed"} {
		alg := map[string]string{"rsa": "RS256", "ec": "ES256", "ed": "EdDSA"}[kid]
		if _, err := v.Verify(bg, sign(t, alg, kid, goodClaims())); err != nil {
			t.Errorf("%s: %v", kid, err)
		}
	}
	for _, kid := range []string{"oct", "enc", "hs", "weird", "broken"} {
		_, err := v.Verify(bg, sign(t, "RS256", kid, goodClaims()))
		assertReason(t, err, core.ReasonKeyNotFound)
	}
	// Broken keys are warnings; keys the baseline does not use (symmetric,
	// for encryption, an alg outside the allowlist) are news.
	for msg, want := range map[string]int{`"level":"WARN","msg":"jwks key skipped"`: 2, `"level":"INFO","msg":"jwks key not used"`: 3} {
		if n := strings.Count(logs.String(), msg); n != want {
			t.Errorf("%d %s lines, want %d:\n%s", n, msg, want, logs.String())
		}
	}
	st := v.Stats()
	if len(st) != 1 || st[0].Keys != 3 || !st[0].Ready || !strings.HasPrefix(st[0].Fingerprint, "sha256:") {
		t.Errorf("stats %+v", st)
	}
}

func TestJWKSFile(t *testing.T) {
	k := getKeys(t)
	path := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(path, []byte(jwksJSON(t, jwkEntry{kid: "ed", key: k.ed.Public()})), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := baseConfig(t)
	cfg.Issuers[0].PublicKeys = nil
	cfg.Issuers[0].JWKSFile = path
	v := newVerifier(t, cfg)
	if _, err := v.Verify(bg, sign(t, "EdDSA", "ed", goodClaims())); err != nil {
		t.Fatal(err)
	}
	cfg.Issuers[0].JWKSFile = filepath.Join(t.TempDir(), "missing.json")
	if _, err := core.New(cfg, core.WithLogger(discard())); err == nil {
		t.Fatal("a missing jwks_file must fail at start")
	}
	cfg.Issuers[0].JWKSFile = ""
	cfg.Issuers[0].JWKSInline = jwksJSON(t, jwkEntry{kid: "oct", key: []byte("secret-secret-secret-secret-1234")})
	if _, err := core.New(cfg, core.WithLogger(discard())); err == nil || !strings.Contains(err.Error(), "no usable key") {
		t.Fatalf("a set of only unusable keys must fail at start, got %v", err)
	}
}

// TestKeysUnavailableAtStart: an IdP that is down at start does not crash
// the service; it answers keys_unavailable and is not ready.
func TestKeysUnavailableAtStart(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer idp.Close()
	cfg := baseConfig(t)
	cfg.Issuers[0].PublicKeys = nil
	cfg.Issuers[0].JWKSURL = idp.URL + "/jwks"
	cfg.JWKS.HTTPTimeout = time.Second
	var logs bytes.Buffer
	v := newVerifier(t, cfg, core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	if v.Ready() {
		t.Fatal("ready without keys")
	}
	logs.Reset()
	_, err := v.Verify(bg, sign(t, "RS256", "rsa", goodClaims()))
	assertReason(t, err, core.ReasonKeysUnavailable)
	// The service, not the client, must act: the rejection is an ERROR.
	if !strings.Contains(logs.String(), `"level":"ERROR","msg":"jwt rejected"`) {
		t.Errorf("keys_unavailable rejection logged as %s", logs.String())
	}
	if r := v.Response(err); r.Status != http.StatusServiceUnavailable || r.GRPCCode != 14 /* codes.Unavailable */ {
		t.Fatalf("response %d / %d", r.Status, r.GRPCCode)
	}
}

func TestThumbprintStableAcrossSources(t *testing.T) {
	k := getKeys(t)
	a := baseConfig(t)
	a.Issuers[0].PublicKeys = map[string]crypto.PublicKey{"ed": k.ed.Public()}
	b := baseConfig(t)
	b.Issuers[0].PublicKeys = nil
	b.Issuers[0].JWKSInline = jwksJSON(t, jwkEntry{kid: "ed", key: k.ed.Public()})
	fa, fb := newVerifier(t, a).Stats()[0].Fingerprint, newVerifier(t, b).Stats()[0].Fingerprint
	if fa != fb {
		t.Fatalf("the same key set has two fingerprints: %s %s", fa, fb)
	}
}

// TestKey: the key a bridge gets is the one Verify would pick, by the same
// rules, from the token's issuer's own set only; Key logs nothing, since it
// verifies nothing.
func TestKey(t *testing.T) {
	k := getKeys(t)
	const other = "https://b.example.com/"
	cfg := baseConfig(t)
	cfg.Algorithms = append(cfg.Algorithms, "PS256")
	cfg.Issuers = append(cfg.Issuers, core.IssuerConfig{Issuer: other,
		JWKSInline: jwksJSON(t, jwkEntry{kid: "pinned", key: &k.rsa2.PublicKey, alg: "RS256"})})
	var logs bytes.Buffer
	v := newVerifier(t, cfg, core.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	logs.Reset() // the start line
	for _, tc := range []struct {
		name             string
		issuer, kid, alg string
		want             crypto.PublicKey
		reason           core.Reason
	}{
		{"RSA key by kid", testIssuer, "rsa", "RS256", &k.rsa.PublicKey, ""},
		{"an RSA key serves PS256 too", testIssuer, "rsa", "PS256", &k.rsa.PublicKey, ""},
		{"EC key by kid", testIssuer, "ec", "ES256", &k.ec.PublicKey, ""},
		{"Ed25519 key by kid", testIssuer, "ed", "EdDSA", k.ed.Public(), ""},
		{"the other issuer's key", other, "pinned", "RS256", &k.rsa2.PublicKey, ""},
		{"one key needs no kid", other, "", "RS256", &k.rsa2.PublicKey, ""},
		{"alg outside the allowlist", testIssuer, "rsa", "RS384", nil, core.ReasonAlgNotAllowed},
		{"HMAC is never allowed", testIssuer, "rsa", "HS256", nil, core.ReasonAlgNotAllowed},
		{"none is never allowed", testIssuer, "rsa", "none", nil, core.ReasonAlgNotAllowed},
		{"untrusted issuer", "https://evil.example.com/", "rsa", "RS256", nil, core.ReasonIssuerInvalid},
		{"no issuer", "", "rsa", "RS256", nil, core.ReasonIssuerInvalid},
		{"a kid of another issuer", other, "rsa", "RS256", nil, core.ReasonKeyNotFound},
		{"unknown kid", testIssuer, "nope", "RS256", nil, core.ReasonKeyNotFound},
		{"no kid among several keys", testIssuer, "", "RS256", nil, core.ReasonHeaderInvalid},
		{"key type does not fit the alg", testIssuer, "rsa", "ES256", nil, core.ReasonKeyNotFound},
		{"the JWK's alg differs", other, "pinned", "PS256", nil, core.ReasonAlgNotAllowed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.Key(bg, tc.issuer, tc.kid, tc.alg)
			if tc.reason != "" {
				assertReason(t, err, tc.reason)
				var e *core.Error
				if errors.As(err, &e); e.Issuer != tc.issuer || e.KID != tc.kid || e.Alg != tc.alg {
					t.Errorf("error stamped iss=%q kid=%q alg=%q, want the arguments", e.Issuer, e.KID, e.Alg)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if eq, ok := got.(interface{ Equal(crypto.PublicKey) bool }); !ok || !eq.Equal(tc.want) {
				t.Errorf("got key %T, want %T", got, tc.want)
			}
		})
	}
	if logs.Len() > 0 {
		t.Errorf("Key logged:\n%s", logs.String())
	}
	// The key Key gives is the one that verifies the token.
	claims, err := v.Verify(bg, sign(t, "ES256", "ec", goodClaims()))
	if err != nil {
		t.Fatal(err)
	}
	if pub, err := v.Key(bg, claims.Issuer(), claims.KeyID(), claims.Algorithm()); err != nil || !k.ec.PublicKey.Equal(pub) {
		t.Errorf("Key of a verified token: %v", err)
	}
}
