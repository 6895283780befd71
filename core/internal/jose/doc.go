// Package jose holds the leaf work of reading a compact JWS: strict
// base64url segments, a JSON object walker that sees duplicate names, and
// signature checks with the standard library. It knows nothing of issuers,
// baselines or reasons; callers decide what a failure means.
package jose
