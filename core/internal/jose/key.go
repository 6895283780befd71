package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
)

// Thumbprint is the RFC 7638 JWK thumbprint of pub: SHA-256 over the
// required members in lexicographic order, base64url. It is "" for a key
// type JWS verification here does not use.
func Thumbprint(pub crypto.PublicKey) string {
	enc := base64.RawURLEncoding.EncodeToString
	var canon string
	switch p := pub.(type) {
	case *rsa.PublicKey:
		canon = `{"e":"` + enc(bigEndian(int64(p.E))) + `","kty":"RSA","n":"` + enc(p.N.Bytes()) + `"}`
	case *ecdsa.PublicKey:
		size := (p.Curve.Params().BitSize + 7) / 8
		x, y := make([]byte, size), make([]byte, size)
		p.X.FillBytes(x)
		p.Y.FillBytes(y)
		canon = `{"crv":"` + p.Curve.Params().Name + `","kty":"EC","x":"` + enc(x) + `","y":"` + enc(y) + `"}`
	case ed25519.PublicKey:
		canon = `{"crv":"Ed25519","kty":"OKP","x":"` + enc(p) + `"}`
	default:
		return ""
	}
	sum := sha256.Sum256([]byte(canon))
	return enc(sum[:])
}

func bigEndian(v int64) []byte {
	var b []byte
	for v > 0 {
		b = append([]byte{byte(v)}, b...)
		v >>= 8
	}
	return b
}

// Fits reports whether pub may verify a: RFC 7518 section 3.1 ties each
// algorithm to one key type, and each ES* algorithm to one curve
// (section 3.4).
func (a *Alg) Fits(pub crypto.PublicKey) bool {
	switch a.kind {
	case 'R', 'P':
		_, ok := pub.(*rsa.PublicKey)
		return ok
	case 'E':
		p, ok := pub.(*ecdsa.PublicKey)
		if !ok {
			return false
		}
		switch a.size {
		case 32:
			return p.Curve == elliptic.P256()
		case 48:
			return p.Curve == elliptic.P384()
		case 66:
			return p.Curve == elliptic.P521()
		}
		return false
	case 'O':
		_, ok := pub.(ed25519.PublicKey)
		return ok
	}
	return false
}
