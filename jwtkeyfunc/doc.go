// Package jwtkeyfunc lends a [core.Verifier]'s keys to golang-jwt v5, for
// services that parse with jwt.Parse and keep doing so.
//
// A [Keyfunc] has the methods of keyfunc v3's Keyfunc that see a token,
// Keyfunc and KeyfuncCtx, so a service built on
// github.com/MicahParks/keyfunc changes the line that makes its value (and
// drops that line's error check); its jwt.Parse calls stay as they are:
//
//	k := jwtkeyfunc.New(v) // was: k, err := keyfunc.NewDefaultCtx(ctx, urls)
//	token, err := jwt.Parse(raw, k.Keyfunc, jwt.WithAudience("orders-api"), jwt.WithExpirationRequired())
//
// and gets the verifier's key lifecycle ([core.Verifier.Key]): the key
// comes only from the set of the issuer the token names, and a token of an
// untrusted issuer gets none (RFC 8725 section 3.8); the baseline's
// algorithm allowlist, kid rules, JWK alg and key type apply; an unknown
// kid is fetched once for all callers and no more often than
// unknown_kid_interval, and a set older than max_stale serves no key.
//
// It does not have keyfunc's Storage and VerificationKeySet: both give
// keys without a token, so they cannot know its issuer, and a key set of
// every issuer would let one issuer's key sign another's tokens.
//
// Verification stays golang-jwt's: the signature, exp and nbf when
// present, with its own leeway, and a required exp, iat, the audience and
// the issuer only as its parser options ask. The rest of the baseline runs
// only through Verify: audiences and required claims, exp required,
// token_types, leeway, max_token_bytes, strict base64url, the refusal of
// duplicate names and of crit, the token cache, and a Reason and a log
// line for every rejection. Prefer Verify, or an adapter, where code can
// change more than one line.
//
// The module requires golang-jwt v5, which the root module's users are
// not asked for.
package jwtkeyfunc
