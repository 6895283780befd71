package jwks

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"

	"github.com/jwtguard/jwtguard/core/internal/jose"
)

// minRSABits follows RFC 7518 section 3.3: keys of 2048 bits or larger MUST
// be used with RS* and PS*.
const minRSABits = 2048

// maxJWKSBytes caps a key set document, local or fetched.
const maxJWKSBytes = 1 << 20

// Key is one usable public key of an issuer.
type Key struct {
	KID string
	// Alg is the JWK's alg (RFC 7517 section 4.4), "" when unset; a key
	// that names one verifies only that algorithm.
	Alg        string
	Pub        crypto.PublicKey
	Thumbprint string // RFC 7638
}

// Set is an immutable snapshot of an issuer's keys; a refresh swaps in a
// new one, so readers never lock.
type Set struct {
	byKID       map[string]*Key
	all         []*Key
	fingerprint string
}

// NewSet indexes keys by kid and fingerprints them.
func NewSet(keys []*Key) *Set {
	s := &Set{byKID: make(map[string]*Key, len(keys)), all: keys}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if k.KID != "" {
			s.byKID[k.KID] = k
		}
		// The alg is part of what a key is: a refresh that only changes a
		// JWK's alg (RFC 7517 section 4.4) must replace the held set, or
		// the key would go on verifying an algorithm the IdP withdrew.
		parts = append(parts, k.KID+"="+k.Thumbprint+"/"+k.Alg)
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	s.fingerprint = "sha256:" + fmt.Sprintf("%x", sum[:16])
	return s
}

// ByKID returns the key published under kid, or nil.
func (s *Set) ByKID(kid string) *Key { return s.byKID[kid] }

// Keys is every key of the set. The slice is shared: do not modify it.
func (s *Set) Keys() []*Key { return s.all }

// Fingerprint identifies the set by its sorted kids, thumbprints and algs, so
// replicas can tell whether they hold the same keys.
func (s *Set) Fingerprint() string { return s.fingerprint }

// Serves reports whether a token with header kid would still select the
// key with this thumbprint and alg here. Keys compare by value, since
// every fetch builds new Key values for the same keys.
func (s *Set) Serves(kid, thumbprint, alg string) bool {
	var cur *Key
	switch {
	case kid != "":
		cur = s.byKID[kid]
	case len(s.all) == 1:
		cur = s.all[0]
	}
	return cur != nil && cur.Thumbprint == thumbprint && cur.Alg == alg
}

// KIDs lists the key ids, sorted, for logs.
func (s *Set) KIDs() []string {
	out := make([]string, 0, len(s.all))
	for _, k := range s.all {
		out = append(out, k.KID)
	}
	slices.Sort(out)
	return out
}

// Static serves a key set fixed at start: a jwks_file, jwks_inline or keys
// given from Go code.
type Static struct {
	issuer string
	set    *Set
}

// NewStatic serves keys for issuer; it refuses an empty set.
func NewStatic(issuer string, keys []*Key) (*Static, error) {
	if len(keys) == 0 {
		return nil, errors.New("no usable key")
	}
	return &Static{issuer: issuer, set: NewSet(keys)}, nil
}

func (s *Static) Current(time.Time) (*Set, error)                  { return s.set, nil }
func (s *Static) UnknownKID(context.Context, string) (*Set, error) { return s.set, nil }
func (s *Static) Refresh(context.Context) error                    { return nil }
func (s *Static) Hint(string)                                      {}
func (s *Static) Close()                                           {}
func (s *Static) Stats(time.Time) Stats {
	return Stats{Issuer: s.issuer, Source: "static", Keys: len(s.set.all), KIDs: s.set.KIDs(),
		Fingerprint: s.set.fingerprint, Ready: true}
}

// errNoUsableKey marks a key set document that parsed but left nothing to
// verify with; a remote source treats it as a failed fetch.
var errNoUsableKey = errors.New("no usable key in the key set")

// Parse reads a JWK Set (RFC 7517 section 5) one key at a time: a bad or
// unsupported key is skipped and logged while the rest load. algs is the
// allowlist: a key whose alg is outside it is never usable.
func Parse(data []byte, algs map[string]bool, logger *slog.Logger, issuer string) ([]*Key, error) {
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("key set larger than %d bytes", maxJWKSBytes)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("key set is not a JSON JWK Set: %w", err)
	}
	var keys []*Key
	seen := map[string]bool{}
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw, algs)
		if err != nil {
			logger.Warn("jwks key skipped", slog.String("iss", issuer), slog.Int("index", i), slog.String("error", err.Error()))
			continue
		}
		if k.KID != "" && seen[k.KID] {
			// RFC 7517 section 4.5: kids within a set should be distinct; a
			// second key under a kid would make the lookup ambiguous.
			logger.Warn("jwks key skipped", slog.String("iss", issuer), slog.Int("index", i), slog.String("kid", k.KID),
				slog.String("error", "duplicate kid"))
			continue
		}
		seen[k.KID] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errNoUsableKey
	}
	return keys, nil
}

// parseJWK admits only keys that may verify an allowed algorithm.
func parseJWK(raw json.RawMessage, algs map[string]bool) (*Key, error) {
	var head struct {
		Kty    string   `json:"kty"`
		Use    string   `json:"use"`
		Alg    string   `json:"alg"`
		Kid    string   `json:"kid"`
		KeyOps []string `json:"key_ops"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("not a JSON object: %w", err)
	}
	switch {
	case head.Kty == "oct":
		// RFC 8725 section 3.1: a symmetric key published with public keys
		// is never used; it would let HMAC tokens be forged.
		return nil, fmt.Errorf("kid %q: symmetric (oct) keys are never used", head.Kid)
	case head.Use != "" && head.Use != "sig":
		// RFC 7517 section 4.2.
		return nil, fmt.Errorf("kid %q: use %q is not sig", head.Kid, head.Use)
	case head.KeyOps != nil && !slices.Contains(head.KeyOps, "verify"):
		// RFC 7517 section 4.3.
		return nil, fmt.Errorf("kid %q: key_ops lacks verify", head.Kid)
	case head.Alg != "" && !algs[head.Alg]:
		return nil, fmt.Errorf("kid %q: alg %q is not allowed", head.Kid, head.Alg)
	}
	jwk, err := jwkset.NewJWKFromRawJSON(raw, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
	if err != nil {
		return nil, fmt.Errorf("kid %q: %w", head.Kid, err)
	}
	return NewKey(head.Kid, head.Alg, jwk.Key())
}

// NewKey admits pub as a verification key: RSA of at least 2048 bits
// without the ROCA fingerprint, ECDSA or Ed25519.
func NewKey(kid, alg string, pub crypto.PublicKey) (*Key, error) {
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is under %d", p.N.BitLen(), minRSABits)
		}
		// CVE-2017-15361: a modulus from Infineon's flawed generator can be
		// factored, so its key is dropped as a short one is.
		if hasROCAFingerprint(p.N) {
			return nil, errors.New("RSA key has the ROCA fingerprint (CVE-2017-15361): its modulus can be factored")
		}
	case *ecdsa.PublicKey, ed25519.PublicKey:
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	return &Key{KID: kid, Alg: alg, Pub: pub, Thumbprint: jose.Thumbprint(pub)}, nil
}
