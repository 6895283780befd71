package core

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/MicahParks/jwkset"
)

// minRSABits follows RFC 7518 section 3.3: keys of 2048 bits or larger MUST
// be used with RS* and PS*.
const minRSABits = 2048

// maxJWKSBytes caps a key set document, local or fetched.
const maxJWKSBytes = 1 << 20

// verifyKey is one usable public key of an issuer.
type verifyKey struct {
	kid   string
	alg   string // the JWK's alg (RFC 7517 section 4.4); "" when unset
	kty   string // "RSA", "EC" or "OKP"
	pub   crypto.PublicKey
	thumb string // RFC 7638 thumbprint
}

// keySet is an immutable snapshot of an issuer's keys; a refresh swaps in a
// new one, so readers never lock.
type keySet struct {
	byKID       map[string]*verifyKey
	all         []*verifyKey
	fingerprint string
}

func newKeySet(keys []*verifyKey) *keySet {
	s := &keySet{byKID: make(map[string]*verifyKey, len(keys)), all: keys}
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		if k.kid != "" {
			s.byKID[k.kid] = k
		}
		parts = append(parts, k.kid+"="+k.thumb)
	}
	slices.Sort(parts)
	sum := sha256.Sum256([]byte(strings.Join(parts, ",")))
	s.fingerprint = "sha256:" + fmt.Sprintf("%x", sum[:16])
	return s
}

// serves reports whether a token with header kid would still select key k
// here. Keys compare by thumbprint and alg, since every fetch builds new
// key values for the same keys.
func (s *keySet) serves(kid string, k *verifyKey) bool {
	var cur *verifyKey
	switch {
	case kid != "":
		cur = s.byKID[kid]
	case len(s.all) == 1:
		cur = s.all[0]
	}
	return cur != nil && cur.thumb == k.thumb && cur.alg == k.alg
}

// kids lists the key ids, sorted, for logs.
func (s *keySet) kids() []string {
	out := make([]string, 0, len(s.all))
	for _, k := range s.all {
		out = append(out, k.kid)
	}
	slices.Sort(out)
	return out
}

// keySource is where an issuer's keys come from: a static set, or a remote
// JWKS with its refresh lifecycle. The checks in Verify only see this.
type keySource interface {
	// current returns the key set to use at now, without waiting on the
	// network. It fails with keys_unavailable when no set may be served.
	// The caller passes the clock reading it already holds, so the hot
	// path reads the clock once.
	current(now time.Time) (*keySet, error)
	// unknownKID is asked when kid is missing from the current set. A remote
	// source may fetch (coalesced and rate limited); it returns the set to
	// retry with.
	unknownKID(ctx context.Context, kid string) (*keySet, error)
	// refresh fetches now, for emergency revocation.
	refresh(ctx context.Context) error
	ready() bool
	stats() IssuerStats
	close()
}

// IssuerStats describes one issuer's key set, for health pages and metrics.
type IssuerStats struct {
	Issuer           string
	Source           string // "static" or the JWKS URL
	FetchOK          uint64
	FetchFailed      uint64
	FetchNotModified uint64
	LastSuccess      time.Time // zero for a static set or before the first fetch
	Keys             int
	KIDs             []string
	Fingerprint      string // sorted kids and thumbprints of the current set
	Age              time.Duration
	Ready            bool
	LastError        string // why the last fetch failed; "" after a success
	RefusedUnknown   uint64 // unknown kids refused without a fetch (cooldown or negative cache)
}

// staticSource serves a key set fixed at start.
type staticSource struct {
	issuer string
	set    *keySet
}

func (s *staticSource) current(time.Time) (*keySet, error) { return s.set, nil }
func (s *staticSource) unknownKID(context.Context, string) (*keySet, error) {
	return s.set, nil
}
func (s *staticSource) refresh(context.Context) error { return nil }
func (s *staticSource) ready() bool                   { return true }
func (s *staticSource) close()                        {}
func (s *staticSource) stats() IssuerStats {
	return IssuerStats{Issuer: s.issuer, Source: "static", Keys: len(s.set.all), KIDs: s.set.kids(),
		Fingerprint: s.set.fingerprint, Ready: true}
}

// newStaticSource builds the set of a jwks_file, jwks_inline or Go keys.
func newStaticSource(is IssuerConfig, algs map[string]bool, o *options) (*staticSource, error) {
	var keys []*verifyKey
	switch {
	case is.JWKSFile != "":
		data, err := os.ReadFile(is.JWKSFile)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_file: %w", is.Issuer, err)
		}
		keys, err = parseJWKS(data, algs, o, is.Issuer)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_file %s: %w", is.Issuer, is.JWKSFile, err)
		}
	case is.JWKSInline != "":
		var err error
		keys, err = parseJWKS([]byte(is.JWKSInline), algs, o, is.Issuer)
		if err != nil {
			return nil, fmt.Errorf("issuer %q: jwks_inline: %w", is.Issuer, err)
		}
	default:
		for _, kid := range sortedKeys(is.PublicKeys) {
			k, err := keyFromPublic(kid, "", is.PublicKeys[kid])
			if err != nil {
				return nil, fmt.Errorf("issuer %q: key %q: %w", is.Issuer, kid, err)
			}
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("issuer %q: no usable key", is.Issuer)
	}
	return &staticSource{issuer: is.Issuer, set: newKeySet(keys)}, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// errNoUsableKey marks a key set document that parsed but left nothing to
// verify with; a remote source treats it as a failed fetch.
var errNoUsableKey = errors.New("no usable key in the key set")

// parseJWKS reads a JWK Set (RFC 7517 section 5) one key at a time: a bad or
// unsupported key is skipped and logged while the rest load.
func parseJWKS(data []byte, algs map[string]bool, o *options, issuer string) ([]*verifyKey, error) {
	if len(data) > maxJWKSBytes {
		return nil, fmt.Errorf("key set larger than %d bytes", maxJWKSBytes)
	}
	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("key set is not a JSON JWK Set: %w", err)
	}
	var keys []*verifyKey
	seen := map[string]bool{}
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw, algs)
		if err != nil {
			o.logger.Warn("jwks key skipped", slog.String("iss", issuer), slog.Int("index", i), slog.String("error", err.Error()))
			continue
		}
		if k.kid != "" && seen[k.kid] {
			// RFC 7517 section 4.5: kids within a set should be distinct; a
			// second key under a kid would make the lookup ambiguous.
			o.logger.Warn("jwks key skipped", slog.String("iss", issuer), slog.Int("index", i), slog.String("kid", k.kid),
				slog.String("error", "duplicate kid"))
			continue
		}
		seen[k.kid] = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errNoUsableKey
	}
	return keys, nil
}

// parseJWK admits only keys that may verify an allowed algorithm.
func parseJWK(raw json.RawMessage, algs map[string]bool) (*verifyKey, error) {
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
	return keyFromPublic(head.Kid, head.Alg, jwk.Key())
}

func keyFromPublic(kid, alg string, pub crypto.PublicKey) (*verifyKey, error) {
	k := &verifyKey{kid: kid, alg: alg, pub: pub}
	switch p := pub.(type) {
	case *rsa.PublicKey:
		if p.N.BitLen() < minRSABits {
			return nil, fmt.Errorf("RSA key of %d bits is under %d", p.N.BitLen(), minRSABits)
		}
		k.kty = "RSA"
	case *ecdsa.PublicKey:
		k.kty = "EC"
	case ed25519.PublicKey:
		k.kty = "OKP"
	default:
		return nil, fmt.Errorf("unsupported key type %T", pub)
	}
	k.thumb = thumbprintOf(pub)
	return k, nil
}

// thumbprintOf is the RFC 7638 JWK thumbprint: SHA-256 over the required
// members in lexicographic order.
func thumbprintOf(pub crypto.PublicKey) string {
	b64 := base64.RawURLEncoding.EncodeToString
	var canon string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		e := big64(int64(p.E))
		canon = `{"e":"` + b64(e) + `","kty":"RSA","n":"` + b64(p.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		x, y := make([]byte, size), make([]byte, size)
		p.X.FillBytes(x)
		p.Y.FillBytes(y)
		canon = `{"crv":"` + p.Curve.Params().Name + `","kty":"EC","x":"` + b64(x) + `","y":"` + b64(y) + `"}`
	case ed25519.PublicKey:
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + b64(p) + `"}`
	default:
		return ""
	}
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

func big64(v int64) []byte {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
	}
	return b
}

// fits reports whether key k may verify alg: RFC 7518 section 3.1 ties each
// algorithm to one key type (and for ES*, one curve).
func (k *verifyKey) fits(alg string) bool {
	switch alg[:2] {
	case "RS", "PS":
		return k.kty == "RSA"
	case "ES":
		p, ok := k.pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		switch alg {
		case "ES256":
			return p.Curve == elliptic.P256()
		case "ES384":
			return p.Curve == elliptic.P384()
		case "ES512":
			return p.Curve == elliptic.P521()
		}
		return false
	case "Ed":
		return k.kty == "OKP"
	}
	return false
}
