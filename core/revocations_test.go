package core_test

import (
	"crypto"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// listed is a test revocation list: one entry, swapped atomically.
type listed struct{ entry atomic.Pointer[[4]string] } // issuer, kid, jti, sub; "" matches any

func (l *listed) Revoked(issuer, kid, jti, sub string) bool {
	e := l.entry.Load()
	if e == nil {
		return false
	}
	match := func(want, got string) bool { return want == "" || want == got }
	return match(e[0], issuer) && match(e[1], kid) && match(e[2], jti) && match(e[3], sub)
}

func (l *listed) set(issuer, kid, jti, sub string) { l.entry.Store(&[4]string{issuer, kid, jti, sub}) }

// A revocation refuses a token by kid, jti or sub, also when the token is
// in the verified-token cache, and lifting it lets the token pass again:
// the list is consulted on every verdict, never baked into the cache.
func TestRevocations(t *testing.T) {
	for _, tc := range []struct {
		name                  string
		issuer, kid, jti, sub string
		revoked               bool
	}{
		{"by kid", "", "rsa", "", "", true},
		{"by jti", "", "", "id-1", "", true},
		{"by sub", "", "", "", "user-1", true},
		{"by kid of its issuer", testIssuer, "rsa", "", "", true},
		{"by kid of another issuer", "https://other.example.com/", "rsa", "", "", false},
		{"another kid", "", "ec", "", "", false},
		{"another jti", "", "", "id-2", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list := &listed{}
			v := newVerifier(t, baseConfig(t), core.WithRevocations(list))
			tok := sign(t, "RS256", "rsa", goodClaims())
			if _, err := v.Verify(bg, tok); err != nil {
				t.Fatal(err)
			}
			if core.CacheLen(v) != 1 {
				t.Fatal("the token was not cached")
			}
			list.set(tc.issuer, tc.kid, tc.jti, tc.sub)
			_, err := v.Verify(bg, tok)
			if !tc.revoked {
				if err != nil {
					t.Fatalf("refused by an entry that does not match it: %v", err)
				}
				return
			}
			assertReason(t, err, core.ReasonTokenRevoked)
			resp := v.Response(err)
			if resp.Status != http.StatusUnauthorized || resp.WWWAuthenticate != `Bearer realm="api", error="invalid_token"` {
				t.Fatalf("response %d %q", resp.Status, resp.WWWAuthenticate)
			}
			list.entry.Store(nil)
			if _, err := v.Verify(bg, tok); err != nil {
				t.Fatalf("refused after the revocation was lifted: %v", err)
			}
		})
	}
}

// A token without a kid header, verified by an issuer's only key, is
// refused by a revocation of that key's kid.
func TestRevocationsKIDOfTheKey(t *testing.T) {
	list := &listed{}
	cfg := baseConfig(t)
	k := getKeys(t)
	cfg.Issuers[0].PublicKeys = map[string]crypto.PublicKey{"only": &k.rsa.PublicKey}
	v := newVerifier(t, cfg, core.WithRevocations(list))
	tok := sign(t, "RS256", "", goodClaims())
	if _, err := v.Verify(bg, tok); err != nil {
		t.Fatal(err)
	}
	list.set("", "only", "", "")
	_, err := v.Verify(bg, tok)
	assertReason(t, err, core.ReasonTokenRevoked)
}

// Without a cache the list is consulted too, and an invalid token keeps
// its own reason: revocation is the last check, never a shortcut.
func TestRevocationsUncachedAndOrder(t *testing.T) {
	list := &listed{}
	list.set("", "rsa", "", "")
	cfg := baseConfig(t)
	zero := 0
	cfg.Cache.MaxEntries = &zero
	v := newVerifier(t, cfg, core.WithRevocations(list))
	_, err := v.Verify(bg, sign(t, "RS256", "rsa", goodClaims()))
	assertReason(t, err, core.ReasonTokenRevoked)
	_, err = v.Verify(bg, sign(t, "RS256", "rsa", with(func(c map[string]any) { c["aud"] = "elsewhere" })))
	assertReason(t, err, core.ReasonAudienceInvalid)
}
