package jwtkeyfunc_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/jwtkeyfunc"
)

// A service that parses with golang-jwt takes its keys from a verifier:
// the IdP rotates, and the first token with the new kid has the key set
// fetched again; a token naming an issuer the baseline does not trust gets
// no key, though the IdP's own key signed it.
func Example() {
	// The test kit stands in for the identity provider. The rest is what a
	// service does: parse its baseline file and build one verifier.
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	cfg, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: ` + idp.Issuer() + `
    jwks_url: ` + idp.JWKSURL() + `
audiences: [` + idp.Audience() + `]
algorithms: [RS256]
token_types: [at+jwt]
`))
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	k := jwtkeyfunc.New(v) // was: k, err := keyfunc.NewDefaultCtx(ctx, []string{jwksURL})
	parse := func(raw string) (*jwt.Token, error) {
		return jwt.Parse(raw, k.Keyfunc, jwt.WithAudience(idp.Audience()), jwt.WithExpirationRequired())
	}

	before := idp.Token("alice")
	idp.Rotate() // a new key, which signs from now on
	after := idp.Token("bob")
	untrusted := idp.NewToken("mallory").Claim("iss", "https://idp.attacker.example").Sign()
	for _, raw := range []string{before, after, untrusted} {
		token, err := parse(raw)
		var e *core.Error
		switch {
		case err == nil:
			subject, _ := token.Claims.GetSubject()
			fmt.Println(subject, "verified")
		case errors.As(err, &e):
			fmt.Println("refused:", e.Reason)
		default:
			fmt.Println("refused by golang-jwt:", err)
		}
	}
	fmt.Println(idp.Fetches(), "key set fetches")
	// Output:
	// alice verified
	// bob verified
	// refused: issuer_invalid
	// 2 key set fetches
}
