// Package jwks holds the key lifecycle of each issuer: static sets, and
// remote JWKS, at a configured URL or at the jwks_uri of the issuer's
// discovery document, with coalesced, rate-limited fetches on unknown kids,
// periodic refresh with jitter and backoff, conditional requests, a
// negative kid cache and a bounded stale-if-error. The verifier sees it
// through [Source] only; failures wrap [ErrUnavailable] or [ErrNotFound],
// which the verifier maps to its reasons in one place.
package jwks
