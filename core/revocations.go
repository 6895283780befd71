package core

// Revocations is a list of revoked tokens that a verifier consults after a
// token has passed every other check, on a cache hit too: a token whose
// key, id or subject is on it is refused with token_revoked. The list can
// only make verification stricter; nothing on it makes a token pass.
//
// Revoked is called on every accepted token, so it must be safe for
// concurrent use, return at once and not allocate: read an immutable
// snapshot through an atomic pointer, never a lock or the network. Each
// value is as the token carries it ("" when absent); issuer is the
// token's verified iss, for entries that name one; kid is the kid of the
// key that verified the token, also when its header names none.
type Revocations interface {
	Revoked(issuer, kid, jti, sub string) bool
}

// WithRevocations makes the verifier refuse the tokens r lists (the fleet
// module's list, kept in a JetStream key-value bucket, is one).
func WithRevocations(r Revocations) Option { return func(o *options) { o.revocations = r } }

// checkRevoked is the last check of every verdict, cached or not, so an
// entry added after a token was cached refuses it on its next use. The kid
// it passes is that of the key that verified the token, which is the
// header's kid when the token has one (RFC 7515 section 4.1.4).
func (v *engine) checkRevoked(c *Claims, err error) (*Claims, error) {
	if err != nil || v.opts.revocations == nil || !v.opts.revocations.Revoked(c.issuer, c.keyKID, c.id, c.subject) {
		return c, err
	}
	return nil, newError(ReasonTokenRevoked, "the token's kid, jti or sub is revoked").stampClaims(c)
}
