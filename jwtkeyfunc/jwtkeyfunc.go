package jwtkeyfunc

import (
	"context"

	"github.com/golang-jwt/jwt/v5"

	"github.com/jwtguard/jwtguard/core"
)

// Keyfunc gives golang-jwt the keys of a verifier. It is safe for
// concurrent use, and holds nothing of its own: the verifier's Close stops
// the key lifecycle.
type Keyfunc struct{ v *core.Verifier }

// New returns the Keyfunc of v: the keys of v's issuers, by v's baseline.
func New(v *core.Verifier) *Keyfunc { return &Keyfunc{v: v} }

// Keyfunc is a jwt.Keyfunc: it returns the key of the token's issuer
// (claim iss) that its header's kid and alg select, by v.Key. A kid the
// issuer's set lacks is fetched as Verify fetches it; a fetch is bounded
// by the baseline's http_timeout. A failure is a *core.Error, which
// golang-jwt wraps, so errors.Is works on its Reason.
func (k *Keyfunc) Keyfunc(t *jwt.Token) (any, error) {
	return k.KeyfuncCtx(context.Background())(t)
}

// KeyfuncCtx is Keyfunc for a request: ctx also ends the wait for a
// fetch.
func (k *Keyfunc) KeyfuncCtx(ctx context.Context) jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		// golang-jwt admits a token only with a string alg of a method
		// it knows; v.Key applies the allowlist.
		alg, _ := t.Header["alg"].(string)
		// RFC 7515 section 4.1.4: kid is a string; one of another type
		// (null included) is refused, as Verify refuses it.
		var kid string
		if raw, ok := t.Header["kid"]; ok {
			if kid, ok = raw.(string); !ok {
				return nil, &core.Error{Reason: core.ReasonHeaderInvalid, Detail: "kid is not a string", Alg: alg}
			}
		}
		// RFC 8725 section 3.8: the issuer the token names selects the
		// only keys that may have signed it; v.Key refuses an untrusted
		// or missing one before any lookup.
		iss, err := t.Claims.GetIssuer()
		if err != nil {
			return nil, &core.Error{Reason: core.ReasonClaimInvalid, Detail: `claim "iss" is not a string`, KID: kid, Alg: alg}
		}
		return k.v.Key(ctx, iss, kid, alg)
	}
}
