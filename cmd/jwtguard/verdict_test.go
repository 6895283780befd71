package main

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// jwe is a compact JWE (RFC 7516 section 7.1): a protected header and four
// opaque segments.
func jwe() string {
	b64 := base64.RawURLEncoding.EncodeToString
	return b64([]byte(`{"alg":"RSA-OAEP","enc":"A256GCM","kid":"enc-1"}`)) + "." + b64(make([]byte, 256)) + "." +
		b64(make([]byte, 12)) + "." + b64([]byte("ciphertext")) + "." + b64(make([]byte, 16))
}

// verify explains a rejection: the token's claims, labelled unverified,
// the last fetch error when keys are unavailable, and that a JWE is
// encrypted; flags may follow the token.
func TestVerifyExplainsRejection(t *testing.T) {
	path, mint := fixture(t)
	expired := goodClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	wrongAud := goodClaims()
	wrongAud["aud"] = "billing-api"

	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	unavailable := filepath.Join(t.TempDir(), "down.yaml")
	os.WriteFile(unavailable, []byte("issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: "+down.URL+"/jwks\n"+
		"audiences: [orders-api]\nalgorithms: [EdDSA]\njwks:\n  http_timeout: 2s\n"), 0o600)

	for _, tc := range []struct {
		name string
		args []string
		code int
		text []string       // in the text output
		json map[string]any // members of the -json output
	}{
		{"accepted, flags after the token", []string{"verify", mint(goodClaims()), "-config", path}, 0,
			[]string{"verdict:     accepted", `"sub": "alice"`}, map[string]any{"verdict": "accepted"}},
		{"after --, an argument is the token", []string{"verify", "-config", path, "--", mint(goodClaims())}, 0,
			[]string{"verdict:     accepted"}, map[string]any{"verdict": "accepted"}},
		{"expired: the claims, unverified", []string{"verify", mint(expired), "-config", path}, 1,
			[]string{"reason:      token_expired", "claims (unverified, of the rejected token):", `"sub": "alice"`},
			map[string]any{"reason": "token_expired", "unverified_claims.sub": "alice", "claims": nil}},
		{"another audience: the aud to compare", []string{"verify", "-config", path, mint(wrongAud)}, 1,
			[]string{"reason:      audience_invalid", `"aud": "billing-api"`},
			map[string]any{"reason": "audience_invalid", "unverified_claims.aud": "billing-api"}},
		{"keys unavailable: the last fetch error", []string{"verify", mint(goodClaims()), "-config", unavailable}, 1,
			[]string{"reason:      keys_unavailable", "last fetch:  " + down.URL + "/jwks: unexpected status 503"},
			map[string]any{"reason": "keys_unavailable", "last_fetch_error": down.URL + "/jwks: unexpected status 503"}},
		{"a JWE: encrypted", []string{"verify", jwe(), "-config", path}, 1,
			[]string{"reason:      token_malformed", "token:       encrypted (a JWE)"},
			map[string]any{"reason": "token_malformed", "encrypted": true, "unverified_claims": nil}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %+v", r.code, tc.code, r)
			}
			for _, want := range tc.text {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			// -json last, but before a "--".
			args := append([]string{}, tc.args...)
			if i := slices.Index(args, "--"); i >= 0 {
				args = slices.Insert(args, i, "-json")
			} else {
				args = append(args, "-json")
			}
			r = runCLI(t, "", args...)
			var out map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
				t.Fatalf("-json output %q: %v", r.stdout, err)
			}
			for key, want := range tc.json {
				got := out[key]
				if parent, child, nested := strings.Cut(key, "."); nested {
					m, _ := out[parent].(map[string]any)
					got = m[child]
				}
				if got != want {
					t.Errorf("%s = %v, want %v", key, got, want)
				}
			}
		})
	}
}

// inspect shows the protected header of a JWE and says it is encrypted,
// and still refuses what is neither a JWS nor a JWE.
func TestInspectJWE(t *testing.T) {
	for _, tc := range []struct {
		name, token string
		code        int
		want        []string
	}{
		{"JWE", jwe(), 0, []string{"ENCRYPTED: a JWE (5 segments)", "protected header (unverified):", `"enc": "A256GCM"`,
			"encrypted key: 256 bytes", "initialization vector: 12 bytes", "authentication tag: 16 bytes"}},
		{"four segments", "e30.e30.e30.e30", 1, nil},
		{"JWE header not base64url", "!!!.a.b.c.d", 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", "inspect", tc.token)
			if r.code != tc.code {
				t.Fatalf("code %d, want %d: %+v", r.code, tc.code, r)
			}
			for _, want := range tc.want {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("output lacks %q:\n%s", want, r.stdout)
				}
			}
			if tc.code != 0 && !strings.Contains(r.stderr, "jwtguard inspect:") {
				t.Errorf("stderr %q", r.stderr)
			}
		})
	}
}
