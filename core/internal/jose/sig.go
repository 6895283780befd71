package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"math/bits"
)

// Signature checks call the standard library directly rather than through
// golang-jwt's SigningMethod: that costs a copy of the signing input, a
// heap-allocated hasher and, for ECDSA, two big.Int per token, all on the
// hot path (BenchmarkVerify counts the allocations).

var errBadSignature = errors.New("signature does not verify")

// Alg is one JWS algorithm (RFC 7518 section 3.1, RFC 8037).
type Alg struct {
	name string
	hash crypto.Hash
	kind byte // 'R' RSASSA-PKCS1-v1_5, 'P' RSASSA-PSS, 'E' ECDSA, 'O' EdDSA
	size int  // ECDSA: bytes of r and of s (RFC 7518 section 3.4)
}

// algs are the supported algorithms: asymmetric only. HMAC is absent on
// purpose (RFC 8725 section 3.1: with public key sets it invites key
// confusion), and so is "none" (section 3.2).
var algs = map[string]*Alg{
	"RS256": {"RS256", crypto.SHA256, 'R', 0}, "RS384": {"RS384", crypto.SHA384, 'R', 0}, "RS512": {"RS512", crypto.SHA512, 'R', 0},
	"PS256": {"PS256", crypto.SHA256, 'P', 0}, "PS384": {"PS384", crypto.SHA384, 'P', 0}, "PS512": {"PS512", crypto.SHA512, 'P', 0},
	"ES256": {"ES256", crypto.SHA256, 'E', 32}, "ES384": {"ES384", crypto.SHA384, 'E', 48}, "ES512": {"ES512", crypto.SHA512, 'E', 66},
	"EdDSA": {"EdDSA", 0, 'O', 0},
}

// digest hashes the signing input into a stack buffer.
func (a *Alg) digest(input []byte, out *[64]byte) []byte {
	switch a.hash {
	case crypto.SHA256:
		*(*[32]byte)(out[:32]) = sha256.Sum256(input)
		return out[:32]
	case crypto.SHA384:
		*(*[48]byte)(out[:48]) = sha512.Sum384(input)
		return out[:48]
	default:
		*out = sha512.Sum512(input)
		return out[:64]
	}
}

// Lookup returns the algorithm named exactly alg (RFC 7515 section 4.1.1:
// a case-sensitive string), or nil when it is not supported.
func Lookup(alg string) *Alg { return algs[alg] }

// Name is the JWS "alg" value.
func (a *Alg) Name() string { return a.name }

// Verify checks sig over input with pub. A key of the wrong type fails as
// a bad signature; callers check Fits first to say why.
func (a *Alg) Verify(input string, sig []byte, pub crypto.PublicKey) error {
	msg := UnsafeBytes(input)
	switch a.kind {
	case 'O':
		k, ok := pub.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(k, msg, sig) {
			return errBadSignature
		}
		return nil
	case 'R', 'P':
		k, ok := pub.(*rsa.PublicKey)
		if !ok {
			return errBadSignature
		}
		var buf [64]byte
		d := a.digest(msg, &buf)
		if a.kind == 'R' {
			return rsa.VerifyPKCS1v15(k, a.hash, d, sig)
		}
		// RFC 7518 section 3.5: the salt is as long as the hash output.
		return rsa.VerifyPSS(k, a.hash, d, sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case 'E':
		k, ok := pub.(*ecdsa.PublicKey)
		// RFC 7518 section 3.4: the signature is R || S, each exactly the
		// curve's size; any other length is invalid.
		if !ok || len(sig) != 2*a.size {
			return errBadSignature
		}
		var buf [64]byte
		d := a.digest(msg, &buf)
		var der [2*67 + 8]byte
		if !ecdsa.VerifyASN1(k, d, asn1Signature(der[:0], sig[:a.size], sig[a.size:])) {
			return errBadSignature
		}
		return nil
	}
	return errBadSignature
}

// asn1Signature writes the DER SEQUENCE { INTEGER r, INTEGER s } that the
// standard library verifies, from JWS's fixed-size R || S.
func asn1Signature(dst, r, s []byte) []byte {
	r, s = asn1Int(r), asn1Int(s)
	body := 2 + intLen(r) + 2 + intLen(s)
	dst = append(dst, 0x30)
	if body >= 0x80 {
		dst = append(dst, 0x81)
	}
	dst = append(dst, byte(body))
	dst = appendInt(dst, r)
	return appendInt(dst, s)
}

// asn1Int trims leading zeros; a zero value stays one zero byte, which
// verification then rejects (r and s must be in [1, n-1]).
func asn1Int(b []byte) []byte {
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	return b
}

// intLen is the DER content length of the unsigned integer v: a leading
// 0x00 keeps a value with its high bit set positive.
func intLen(v []byte) int {
	if bits.LeadingZeros8(v[0]) == 0 {
		return len(v) + 1
	}
	return len(v)
}

func appendInt(dst, v []byte) []byte {
	dst = append(dst, 0x02, byte(intLen(v)))
	if intLen(v) > len(v) {
		dst = append(dst, 0)
	}
	return append(dst, v...)
}
