package jwtguardtest

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	_ "crypto/sha512" // SHA-384 and SHA-512, for RS384, RS512, PS384 and PS512
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"slices"
	"sync"
)

// The JWS algorithms a [Key] signs with (RFC 7518 section 3.1), by key
// type.
var (
	rsaAlgorithms = []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}
	algorithms    = append(slices.Clone(rsaAlgorithms), "ES256", "EdDSA")
)

// Key is a signing key: a private key, the algorithm it signs with and its
// kid. An [IdP] publishes its public half as a JWK; a key no IdP publishes
// is what an attacker signs with.
//
// Its signatures are deterministic: it signs the same input to the same
// bytes (ES256 as RFC 6979 specifies, PS256 to PS512 with a salt derived
// from the key and the input), so that tokens built from a key of
// [KeyFrom] and a fixed clock are the same on every run.
type Key struct {
	kid  string
	alg  string
	priv crypto.Signer
}

// NewKey generates a key for alg: RSA 2048 bits for RS256, RS384, RS512,
// PS256, PS384 and PS512, P-256 for ES256, Ed25519 for EdDSA. Its kid is
// its RFC 7638 thumbprint, so kids never repeat across keys or runs. It
// panics on any other alg.
func NewKey(alg string) *Key {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		// RFC 7518 section 3.3: 2048 bits or more.
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		panic(fmt.Sprintf("jwtguardtest: no key type for algorithm %q (want one of %v)", alg, algorithms))
	}
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return KeyFrom(alg, priv)
}

// KeyFrom makes a key of priv, which signs under alg: an *rsa.PrivateKey
// for RS256 to PS512, an *ecdsa.PrivateKey on P-256 for ES256, an
// ed25519.PrivateKey for EdDSA. It is for a key a test already has, or an
// RSA key of another size. Its kid is its RFC 7638 thumbprint. It panics
// when priv cannot sign under alg.
func KeyFrom(alg string, priv crypto.Signer) *Key {
	k := &Key{alg: alg, priv: priv}
	if !k.signs(alg) {
		panic(fmt.Sprintf("jwtguardtest: a %T cannot sign %q", priv, alg))
	}
	k.kid = thumbprint(k.params())
	return k
}

// sharedKeys are the keys an IdP starts with, one per algorithm, made on
// first use and never changed: RSA generation takes tens of milliseconds,
// and a test suite starts an IdP per test.
var sharedKeys = func() map[string]func() *Key {
	m := make(map[string]func() *Key, len(algorithms))
	for _, alg := range algorithms {
		m[alg] = sync.OnceValue(func() *Key { return NewKey(alg) })
	}
	return m
}()

// KID is the key's kid: the JWS kid header of its tokens, and the JWK kid
// member of its public half (RFC 7515 section 4.1.4, RFC 7517 section 4.5).
func (k *Key) KID() string { return k.kid }

// Alg is the algorithm the key signs with.
func (k *Key) Alg() string { return k.alg }

// Public is the public key, for core.IssuerConfig.PublicKeys.
func (k *Key) Public() crypto.PublicKey { return k.priv.Public() }

// Signer is the private key, for signatures the kit does not make itself:
// a certificate, an ECDSA signature in ASN.1 form.
func (k *Key) Signer() crypto.Signer { return k.priv }

// WithKID returns the same key under another kid.
func (k *Key) WithKID(kid string) *Key {
	c := *k
	c.kid = kid
	return &c
}

// JWK returns the public half of the key as a JWK (RFC 7517 section 4)
// with kid, alg and use "sig": what an IdP publishes. The map is new on
// every call.
func (k *Key) JWK() map[string]any {
	jwk := map[string]any{"kid": k.kid, "alg": k.alg, "use": "sig"}
	for name, v := range k.params() {
		jwk[name] = v
	}
	return jwk
}

// params are the members of the public JWK that RFC 7638 section 3.2
// hashes: the key type and its public parameters.
func (k *Key) params() map[string]string {
	switch pub := k.priv.Public().(type) {
	case *rsa.PublicKey:
		// RFC 7518 section 6.3.1: n and e as unsigned big-endian integers.
		return map[string]string{"kty": "RSA", "n": b64(pub.N.Bytes()), "e": b64(big.NewInt(int64(pub.E)).Bytes())}
	case *ecdsa.PublicKey:
		// RFC 7518 section 6.2.1: x and y are the two 32-byte halves of the
		// uncompressed point 0x04||X||Y.
		point, err := pub.Bytes()
		if err != nil {
			panic(err) // signs() admitted P-256 keys only
		}
		return map[string]string{"kty": "EC", "crv": "P-256", "x": b64(point[1:33]), "y": b64(point[33:])}
	case ed25519.PublicKey:
		// RFC 8037 section 2.
		return map[string]string{"kty": "OKP", "crv": "Ed25519", "x": b64(pub)}
	}
	panic(fmt.Sprintf("jwtguardtest: unsupported key %T", k.priv))
}

// thumbprint is the RFC 7638 thumbprint of a key's required members:
// SHA-256 over their JSON with the names sorted and no whitespace, which is
// how encoding/json writes a map.
func thumbprint(params map[string]string) string {
	data, err := json.Marshal(params)
	if err != nil {
		panic(err)
	}
	sum := sha256.Sum256(data)
	return b64(sum[:])
}

// JWS returns the compact JWS (RFC 7515 section 7.1) of exactly these
// header and payload bytes, signed by k under its algorithm. It signs
// whatever it is given, JSON or not: it is for tokens the [TokenBuilder]
// cannot make.
func (k *Key) JWS(header, payload []byte) string {
	input := b64(header) + "." + b64(payload)
	return input + "." + b64(k.sign(k.alg, []byte(input)))
}

// signs reports whether k can sign under alg.
func (k *Key) signs(alg string) bool {
	switch priv := k.priv.(type) {
	case *rsa.PrivateKey:
		return slices.Contains(rsaAlgorithms, alg)
	case *ecdsa.PrivateKey:
		return alg == "ES256" && priv.Curve == elliptic.P256()
	case ed25519.PrivateKey:
		return alg == "EdDSA"
	}
	return false
}

// sign signs input under alg, which k signs.
func (k *Key) sign(alg string, input []byte) []byte {
	if alg == "EdDSA" {
		return ed25519.Sign(k.priv.(ed25519.PrivateKey), input)
	}
	h := crypto.SHA256
	switch alg[2:] {
	case "384":
		h = crypto.SHA384
	case "512":
		h = crypto.SHA512
	}
	hash := h.New()
	hash.Write(input)
	digest := hash.Sum(nil)
	var sig []byte
	var err error
	switch alg[:2] {
	case "RS":
		sig, err = rsa.SignPKCS1v15(nil, k.priv.(*rsa.PrivateKey), h, digest)
	case "PS":
		// RFC 7518 section 3.5: the salt is as long as the hash. It is
		// derived from the key and the digest rather than drawn at random,
		// so that a key signs a token to the same bytes on every run.
		sig, err = rsa.SignPSS(saltFor(k, digest), k.priv.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case "ES":
		// A nil source makes the signature deterministic (RFC 6979).
		var der []byte
		if der, err = k.priv.Sign(nil, digest, h); err == nil {
			sig, err = ecdsaRS(der)
		}
	}
	if err != nil {
		panic(err) // only a key of an unsupported size fails here
	}
	return sig
}

// saltFor is the PSS salt source of a signature: SHA-256 over the public
// key and the digest, in counter mode.
func saltFor(k *Key, digest []byte) io.Reader {
	var out []byte
	for i := byte(0); len(out) < 64; i++ {
		h := sha256.New()
		h.Write([]byte(k.params()["n"]))
		h.Write(digest)
		h.Write([]byte{i})
		out = h.Sum(out)
	}
	return bytes.NewReader(out)
}

// ecdsaRS converts an ASN.1 ECDSA signature to the form RFC 7518 section
// 3.4 requires: R and S as 32-byte big-endian integers, concatenated.
func ecdsaRS(der []byte) ([]byte, error) {
	var rs struct{ R, S *big.Int }
	if rest, err := asn1.Unmarshal(der, &rs); err != nil || len(rest) > 0 {
		return nil, fmt.Errorf("jwtguardtest: an ECDSA signature that is not ASN.1: %v", err)
	}
	sig := make([]byte, 64)
	rs.R.FillBytes(sig[:32])
	rs.S.FillBytes(sig[32:])
	return sig, nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
