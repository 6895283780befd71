package jwtguardtest

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Token mints an access token for subject with the given scopes, signed
// by the signing key and valid for an hour from Now.
func (p *IdP) Token(subject string, scopes ...string) string {
	return p.NewToken(subject).Scopes(scopes...).Sign()
}

// NewToken starts a token for subject. Until changed, it is an RFC 9068
// access token: header alg and kid of the signing key and typ at+jwt;
// claims iss, aud, sub, iat from Now, exp an hour later, and a jti unique
// within the IdP.
func (p *IdP) NewToken(subject string) *TokenBuilder {
	p.mu.Lock()
	p.minted++
	jti, k := p.minted, p.signing
	p.mu.Unlock()
	now := p.now()
	return &TokenBuilder{idp: p, now: now,
		header: map[string]any{"alg": k.alg, "kid": k.kid, "typ": "at+jwt"},
		claims: map[string]any{"iss": p.issuer, "aud": p.audience, "sub": subject,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": strconv.Itoa(jti)},
	}
}

// TokenBuilder is a token being built by [IdP.NewToken]. Each method
// changes it and returns it, so that calls chain; Sign and Unsigned may be
// called any number of times. A builder is for one goroutine.
type TokenBuilder struct {
	idp    *IdP
	now    time.Time // the IdP's clock when the builder was made
	header map[string]any
	claims map[string]any
	key    *Key
}

// Scopes sets the scope claim to the scopes, space-delimited (RFC 9068
// section 2.2.3, RFC 8693 section 4.2); with none, the token has no scope
// claim.
func (b *TokenBuilder) Scopes(scopes ...string) *TokenBuilder {
	if len(scopes) == 0 {
		delete(b.claims, "scope")
		return b
	}
	b.claims["scope"] = strings.Join(scopes, " ")
	return b
}

// Audience sets aud: a string for one audience, an array for several
// (RFC 7519 section 4.1.3); with none, the token has no aud.
func (b *TokenBuilder) Audience(aud ...string) *TokenBuilder {
	switch len(aud) {
	case 0:
		delete(b.claims, "aud")
	case 1:
		b.claims["aud"] = aud[0]
	default:
		b.claims["aud"] = aud
	}
	return b
}

// ExpiresIn sets exp to d after iat; a negative d makes a token that has
// already expired.
func (b *TokenBuilder) ExpiresIn(d time.Duration) *TokenBuilder {
	b.claims["exp"] = b.now.Add(d).Unix()
	return b
}

// Claim sets a claim; value is written as JSON, so nil is null.
func (b *TokenBuilder) Claim(name string, value any) *TokenBuilder {
	b.claims[name] = value
	return b
}

// DeleteClaim removes claims.
func (b *TokenBuilder) DeleteClaim(names ...string) *TokenBuilder {
	for _, n := range names {
		delete(b.claims, n)
	}
	return b
}

// Header sets a JOSE header member; value is written as JSON.
func (b *TokenBuilder) Header(name string, value any) *TokenBuilder {
	b.header[name] = value
	return b
}

// DeleteHeader removes header members.
func (b *TokenBuilder) DeleteHeader(names ...string) *TokenBuilder {
	for _, n := range names {
		delete(b.header, n)
	}
	return b
}

// Type sets the typ header (RFC 7515 section 4.1.9).
func (b *TokenBuilder) Type(typ string) *TokenBuilder { return b.Header("typ", typ) }

// KID sets the kid header, which also chooses the signing key (see Sign).
func (b *TokenBuilder) KID(kid string) *TokenBuilder { return b.Header("kid", kid) }

// Alg sets the alg header, which also chooses the signature algorithm (see
// Sign). Any string goes: "none", or "HS256" over an RSA signature.
func (b *TokenBuilder) Alg(alg string) *TokenBuilder { return b.Header("alg", alg) }

// SignedBy makes k sign the token and sets its kid and alg headers to
// k's: a token of a key the IdP published beside its signing key, or of
// one it never published. Change kid or alg after SignedBy for a token that
// names one key and is signed by another: a forgery.
func (b *TokenBuilder) SignedBy(k *Key) *TokenBuilder {
	b.key = k
	b.header["kid"], b.header["alg"] = k.kid, k.alg
	return b
}

// Edit calls f with the header and claims as they are now, to change them
// in ways the other methods do not: a claim of another JSON type, a header
// member of another case.
func (b *TokenBuilder) Edit(f func(header, claims map[string]any)) *TokenBuilder {
	f(b.header, b.claims)
	return b
}

// Sign returns the token as a compact JWS (RFC 7515 section 7.1). It is
// signed by the key given to SignedBy; or else by the key the IdP
// publishes, or has published, under the kid header; or else by the
// signing key, so that only the kid is wrong. The
// signature is made under the alg header when that key can sign it, and
// under the key's own algorithm otherwise: a header with alg "none", or no
// alg, still gets a real signature.
func (b *TokenBuilder) Sign() string {
	k := b.key
	if k == nil {
		k = b.idp.keyFor(b.header["kid"])
	}
	alg, _ := b.header["alg"].(string)
	if !k.signs(alg) {
		alg = k.alg
	}
	input := encode(b.header) + "." + encode(b.claims)
	return input + "." + b64(k.sign(alg, []byte(input)))
}

// Unsigned returns the token with an empty signature and the header as
// built; with Alg("none") that is an unsecured JWT (RFC 7519 section 6),
// which a verifier must refuse (RFC 8725 section 3.2).
func (b *TokenBuilder) Unsigned() string {
	return encode(b.header) + "." + encode(b.claims) + "."
}

// encode is the base64url of v's JSON. encoding/json writes map members
// sorted by name, so a builder encodes the same bytes on every call.
func encode(v map[string]any) string {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("jwtguardtest: a header member or claim is not JSON: %v", err))
	}
	return b64(data)
}
