package jwtkeyfunc_test

import (
	"context"
	"crypto/x509"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"testing"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/jwtkeyfunc"
)

// parse is what a service does with golang-jwt, at the IdP's clock.
func parse(idp *jwtguardtest.IdP, keys jwt.Keyfunc, raw string) (*jwt.Token, error) {
	return jwt.Parse(raw, keys, jwt.WithTimeFunc(idp.Now), jwt.WithAudience(idp.Audience()), jwt.WithExpirationRequired())
}

// Across a rotation, the first token with the new kid has the key set
// fetched once; after it, neither the new kid nor the old one fetches
// again, and tokens of both keys verify while both are published. The
// algorithms golang-jwt and the verifier share all work.
func TestRotation(t *testing.T) {
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			idp := jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm(alg))
			defer idp.Close()
			v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			k := jwtkeyfunc.New(v)

			before := idp.Token("alice")
			idp.Rotate()
			after := idp.Token("bob")
			fetches := idp.Fetches()
			for _, step := range []struct {
				token, subject string
				fetches        int
			}{
				{before, "alice", 0},
				{after, "bob", 1}, // the new kid, on first sight
				{after, "bob", 0},
				{idp.Token("carol"), "carol", 0},
				{before, "alice", 0},
			} {
				token, err := parse(idp, k.Keyfunc, step.token)
				if err != nil {
					t.Fatalf("%s's token: %v", step.subject, err)
				}
				if sub, _ := token.Claims.GetSubject(); sub != step.subject || !token.Valid {
					t.Errorf("token of %q, valid=%v, want %q", sub, token.Valid, step.subject)
				}
				if got := idp.Fetches() - fetches; got != step.fetches {
					t.Errorf("%s's token: %d key set fetches, want %d", step.subject, got, step.fetches)
				}
				fetches = idp.Fetches()
			}
		})
	}
}

// Every token the bridge gives no key fails jwt.Parse as unverifiable, with
// the verifier's Reason, so errors.Is works on both. The key comes only
// from the set of the issuer the token names: a valid signature of a
// trusted issuer's key does not help a token that names another.
func TestRefusals(t *testing.T) {
	other := jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm("ES256"), jwtguardtest.WithIssuer("https://other.example.test"))
	defer other.Close()
	v, idp := jwtguardtest.NewTestVerifier(t, func(c *core.Config) {
		c.Algorithms = []string{"RS256", "ES256"}
		c.Issuers = append(c.Issuers, other.Config().Issuers...)
	})
	der, err := x509.MarshalPKIXPublicKey(idp.SigningKey().Public())
	if err != nil {
		t.Fatal(err)
	}
	// hmacOverPublicKey is the algorithm confusion of RFC 8725 section
	// 2.1: HS256 keyed with the bytes of the RSA public key.
	hmacOverPublicKey := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"iss": idp.Issuer(), "aud": idp.Audience(), "sub": "mallory", "exp": idp.Now().Unix() + 3600})
	hmacOverPublicKey.Header["kid"] = idp.SigningKey().KID()
	confused, err := hmacOverPublicKey.SignedString(der)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		token  string
		reason core.Reason
	}{
		{"untrusted issuer", idp.NewToken("mallory").Claim("iss", "https://idp.attacker.example").Sign(), core.ReasonIssuerInvalid},
		{"no issuer", idp.NewToken("mallory").DeleteClaim("iss").Sign(), core.ReasonIssuerInvalid},
		{"issuer not a string", idp.NewToken("mallory").Claim("iss", 7).Sign(), core.ReasonClaimInvalid},
		{"another trusted issuer named", idp.NewToken("mallory").Claim("iss", other.Issuer()).Sign(), core.ReasonKeyNotFound},
		{"alg outside the allowlist", idp.NewToken("mallory").Alg("PS256").Sign(), core.ReasonAlgNotAllowed},
		{"HMAC over the public key", confused, core.ReasonAlgNotAllowed},
		{"alg none", idp.NewToken("mallory").Alg("none").Unsigned(), core.ReasonAlgNotAllowed},
		{"unknown kid", idp.NewToken("mallory").KID("no-such-key").Sign(), core.ReasonKeyNotFound},
		{"kid not a string", idp.NewToken("mallory").Header("kid", 7).Sign(), core.ReasonHeaderInvalid},
		{"kid null", idp.NewToken("mallory").Header("kid", nil).Sign(), core.ReasonHeaderInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(idp, jwtkeyfunc.New(v).Keyfunc, tc.token)
			if !errors.Is(err, tc.reason) || !errors.Is(err, core.ErrInvalidToken) || !errors.Is(err, jwt.ErrTokenUnverifiable) {
				t.Errorf("%v, want %s (core.ErrInvalidToken) behind jwt.ErrTokenUnverifiable", err, tc.reason)
			}
		})
	}
	// The same token, naming its own issuer, verifies: only the issuer
	// claim made the difference above.
	if _, err := parse(idp, jwtkeyfunc.New(v).Keyfunc, idp.NewToken("alice").Sign()); err != nil {
		t.Errorf("a token of the trusted issuer: %v", err)
	}
	if _, err := parse(other, jwtkeyfunc.New(v).Keyfunc, other.Token("alice")); err != nil {
		t.Errorf("a token of the other trusted issuer: %v", err)
	}
}

// KeyfuncCtx's context ends the wait for a key set fetch, as a request's
// does in Verify: the token is refused as unverifiable now, not invalid.
func TestKeyfuncCtxEndsTheWait(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	idp.Rotate()
	idp.Stall()
	defer idp.Restore()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := parse(idp, jwtkeyfunc.New(v).KeyfuncCtx(ctx), idp.Token("alice"))
	if !errors.Is(err, core.ReasonKeysUnavailable) || !errors.Is(err, context.Canceled) {
		t.Errorf("%v, want keys_unavailable, caused by the context", err)
	}
}

// A Keyfunc has every method of keyfunc v3's Keyfunc interface that is
// given a token, with the same signature, so that code calling them
// changes only the line that builds the value; it lacks the two that give
// keys for no token, which cannot know the token's issuer.
func TestKeyfuncV3Methods(t *testing.T) {
	want := reflect.TypeFor[keyfunc.Keyfunc]()
	got := reflect.TypeFor[*jwtkeyfunc.Keyfunc]()
	var lacking []string
	for i := range want.NumMethod() {
		m := want.Method(i)
		ours, ok := got.MethodByName(m.Name)
		if !ok {
			lacking = append(lacking, m.Name)
			continue
		}
		// The receiver is the first parameter of a method of a concrete
		// type, and no parameter of an interface method.
		in := make([]reflect.Type, 0, ours.Type.NumIn()-1)
		for j := 1; j < ours.Type.NumIn(); j++ {
			in = append(in, ours.Type.In(j))
		}
		if sig := reflect.FuncOf(in, outs(ours.Type), false); sig != m.Type {
			t.Errorf("%s is %v, keyfunc's is %v", m.Name, sig, m.Type)
		}
	}
	if want := []string{"Storage", "VerificationKeySet"}; !slices.Equal(lacking, want) {
		t.Errorf("lacks %v of keyfunc.Keyfunc, want %v", lacking, want)
	}
	if extra := got.NumMethod() - (want.NumMethod() - len(lacking)); extra != 0 {
		t.Errorf("%d methods beyond keyfunc's", extra)
	}
}

func outs(f reflect.Type) []reflect.Type {
	out := make([]reflect.Type, f.NumOut())
	for i := range out {
		out[i] = f.Out(i)
	}
	return out
}

// BenchmarkKeyfunc measures the bridge on a token whose kid the verifier
// holds: what it adds to jwt.Parse, which golang-jwt has already parsed.
func BenchmarkKeyfunc(b *testing.B) {
	v, idp := jwtguardtest.NewTestVerifier(b)
	token, _, err := jwt.NewParser().ParseUnverified(idp.Token("alice"), jwt.MapClaims{})
	if err != nil {
		b.Fatal(err)
	}
	k := jwtkeyfunc.New(v)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := k.Keyfunc(token); err != nil {
			b.Fatal(err)
		}
	}
}
