package core

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/jwtguard/jwtguard/core/internal/jwks"
)

// newSource builds the key source of one issuer: remote for a jwks_url or
// discovery, static for a jwks_file, jwks_inline or keys given from Go code.
func newSource(is IssuerConfig, p JWKSConfig, insecureHTTP bool, algs map[string]bool, o *options) (jwks.Source, error) {
	policy := jwks.Policy{RefreshInterval: p.RefreshInterval, UnknownKIDInterval: p.UnknownKIDInterval,
		MaxStale: p.MaxStale, HTTPTimeout: p.HTTPTimeout, ConvergenceWindow: p.ConvergenceWindow}
	env := jwks.Env{Client: o.httpClient, Logger: o.logger, Now: o.now, Hooks: o.hooks}
	if is.JWKSURL != "" {
		return jwks.NewRemote(is.Issuer, is.JWKSURL, policy, algs, env), nil
	}
	if is.discovers() {
		u, err := is.discoveryURL()
		if err != nil {
			return nil, fmt.Errorf("issuer %q: %w", is.Issuer, err)
		}
		d := jwks.Discovery{URL: u, CheckJWKSURI: jwksURIRule(insecureHTTP)}
		return jwks.NewDiscovered(is.Issuer, d, policy, algs, env), nil
	}
	var keys []*jwks.Key
	var err error
	switch {
	case is.JWKSFile != "":
		var data []byte
		if data, err = os.ReadFile(is.JWKSFile); err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_file: %w", is.Issuer, err)
		}
		var skipped []jwks.Skipped
		keys, skipped, err = jwks.Parse(data, algs)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_file %s: %w", is.Issuer, is.JWKSFile, err)
		}
		jwks.LogSkipped(o.logger, is.Issuer, skipped)
	case is.JWKSInline != "":
		var skipped []jwks.Skipped
		if keys, skipped, err = jwks.Parse([]byte(is.JWKSInline), algs); err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_inline: %w", is.Issuer, err)
		}
		jwks.LogSkipped(o.logger, is.Issuer, skipped)
	default:
		for _, kid := range sortedKeys(is.PublicKeys) {
			k, err := jwks.NewKey(kid, "", is.PublicKeys[kid])
			if err != nil {
				return nil, fmt.Errorf("issuer %q: key %q: %w", is.Issuer, kid, err)
			}
			keys = append(keys, k)
		}
	}
	s, err := jwks.NewStatic(is.Issuer, keys)
	if err != nil {
		return nil, fmt.Errorf("issuer %q: %w", is.Issuer, err)
	}
	return s, nil
}

// Key returns the public key that verifies a token of issuer whose JWS
// header names kid and alg, chosen as Verify chooses it: alg must be in
// the allowlist, the key comes only from issuer's own set (RFC 8725
// section 3.8), and the kid rules, the JWK's alg and the key type apply; a
// kid the set lacks is fetched as Verify would fetch it (coalesced, rate
// limited, within max_stale). A failure is a *Error with a Reason.
//
// Key is for bridges that lend the key lifecycle to another JWT library
// (jwtkeyfunc). It is not verification: no signature, claim, typ, size or
// encoding check runs (nor the tid check of a template issuer's tenants),
// and nothing is logged. Only Verify applies the baseline.
func (v *Verifier) Key(ctx context.Context, issuer, kid, alg string) (crypto.PublicKey, error) {
	// The order of Verify: the allowlist before the issuer, the issuer
	// before any key lookup, so an untrusted issuer never causes a fetch.
	e := v.cur.Load()
	method := e.methods[alg]
	if method == nil {
		return nil, newError(ReasonAlgNotAllowed, "alg is not in the allowlist").stamp(kid, alg, issuer)
	}
	src := e.issuers[issuer]
	if src == nil {
		return nil, newError(ReasonIssuerInvalid, "issuer is not trusted").stamp(kid, alg, issuer)
	}
	k, err := e.findKey(ctx, src, &tokenHeader{alg: alg, kid: kid}, method, e.opts.now())
	if err != nil {
		return nil, err.stamp(kid, alg, issuer)
	}
	return k.Pub, nil
}

// Hint tells the verifier that another replica of its fleet holds
// issuer's key set with fingerprint ([KeySetChange.Fingerprint]). If its
// own set differs, it fetches the set itself from the issuer's jwks_url,
// after a random delay within jwks.convergence_window (a token with a kid
// it lacks fetches at once), and at most once per unknown_kid_interval
// however many hints arrive. A hint never adds or removes a key by itself,
// so whoever sends one can make the verifier fetch, never accept. Hints
// for unknown issuers and static key sets are ignored.
func (v *Verifier) Hint(issuer, fingerprint string) {
	if s, ok := v.cur.Load().sources[issuer]; ok {
		s.src.Hint(fingerprint)
	}
}

// keyError is the one place where the key lifecycle's failures become
// reasons.
func keyError(err error) *Error {
	r := ReasonKeyNotFound
	if errors.Is(err, jwks.ErrUnavailable) {
		// The token may be fine; the keys to check it cannot be had now.
		r = ReasonKeysUnavailable
	}
	return &Error{Reason: r, Detail: err.Error(), cause: err}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// stats converts the lifecycle's report; the types have the same fields.
func stats(s jwks.Source, now time.Time) IssuerStats { return IssuerStats(s.Stats(now)) }
