package jose

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"testing"
)

// The verifier's tests exercise this package through whole tokens; these
// pin what a token cannot show: the exact bytes of a thumbprint and of the
// DER a signature is rewritten into.

var b64url = base64.RawURLEncoding

func mustB64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := b64url.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestThumbprint checks RFC 7638's own example (section 3.1), RFC 8037's
// Ed25519 example (appendix A.3), and an EC key whose x needs its leading
// zero byte: coordinates are written at the curve's full size (RFC 7518
// section 6.2.1.2).
func TestThumbprint(t *testing.T) {
	rsaKey := &rsa.PublicKey{
		N: new(big.Int).SetBytes(mustB64(t, "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw")),
		E: 65537,
	}
	ed := ed25519.PublicKey(mustB64(t, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"))
	var ec *ecdsa.PublicKey
	for ec == nil {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if k.X.BitLen() <= 248 {
			ec = &k.PublicKey
		}
	}
	x, y := ec.X.FillBytes(make([]byte, 32)), ec.Y.FillBytes(make([]byte, 32))
	ecSum := sha256.Sum256([]byte(`{"crv":"P-256","kty":"EC","x":"` + b64url.EncodeToString(x) + `","y":"` + b64url.EncodeToString(y) + `"}`))

	for _, tc := range []struct {
		name string
		pub  any
		want string
	}{
		{"RFC 7638 RSA example", rsaKey, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"},
		{"RFC 8037 Ed25519 example", ed, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"},
		{"P-256 with a leading zero in x", ec, b64url.EncodeToString(ecSum[:])},
		{"not a verification key", []byte("secret"), ""},
	} {
		if got := Thumbprint(tc.pub); got != tc.want {
			t.Errorf("%s: Thumbprint = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// TestASN1Signature compares the DER written for ecdsa.VerifyASN1 with
// encoding/asn1's, at the sizes where DER changes form: a high bit that
// needs a 0x00 pad, leading zeros to trim, a zero value, and a SEQUENCE
// body of 127, 128 and 129 bytes, where the length goes from the short to
// the long form (X.690 section 8.1.3).
func TestASN1Signature(t *testing.T) {
	fill := func(n int, b byte) []byte { return bytes.Repeat([]byte{b}, n) }
	for _, tc := range []struct {
		name string
		r, s []byte
	}{
		{"small", []byte{1}, []byte{2}},
		{"high bit set", fill(32, 0x80), fill(32, 0xff)},
		{"leading zeros", append([]byte{0, 0}, fill(30, 0x11)...), append([]byte{0}, fill(31, 0x7f)...)},
		{"zero", make([]byte, 32), make([]byte, 32)},
		{"body of 127 bytes", fill(61, 0x7f), fill(62, 0x7f)},
		{"body of 128 bytes", fill(62, 0x7f), fill(62, 0x7f)},
		{"body of 129 bytes", fill(62, 0x7f), fill(63, 0x7f)},
		{"ES512 size, high bit set", fill(66, 0x81), fill(66, 0xfe)},
	} {
		want, err := asn1.Marshal(struct{ R, S *big.Int }{new(big.Int).SetBytes(tc.r), new(big.Int).SetBytes(tc.s)})
		if err != nil {
			t.Fatal(err)
		}
		if got := asn1Signature(nil, tc.r, tc.s); !bytes.Equal(got, want) {
			t.Errorf("%s:\n got %x\nwant %x", tc.name, got, want)
		}
	}
}

// TestNumber: RFC 7519 section 2, a NumericDate is a JSON number, any sign
// and any leading digit; anything else is not one.
func TestNumber(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		want float64
		ok   bool
	}{
		{"0", 0, true},
		{"9", 9, true},
		{"-5", -5, true},
		{"1700000000.5", 1700000000.5, true},
		{"1e-400", 0, true},
		{`"1700000000"`, 0, false},
		{"1e999", 0, false},
		{"true", 0, false},
		{"", 0, false},
	} {
		got, ok := Number([]byte(tc.raw))
		if ok != tc.ok || got != tc.want {
			t.Errorf("Number(%s) = %v, %v; want %v, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}

// TestString: only a JSON string is one, the empty string included, and
// escapes are decoded (RFC 7519 section 7.3).
func TestString(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		ok        bool
	}{
		{`""`, "", true},
		{`"a"`, "a", true},
		{`"\u0065xp"`, "exp", true},
		{`"a\/b"`, "a/b", true},
		{"42", "", false},
		{"7", "", false},
		{`["a"]`, "", false},
		{"null", "", false},
	} {
		got, ok := String([]byte(tc.raw))
		if ok != tc.ok || got != tc.want {
			t.Errorf("String(%s) = %q, %v; want %q, %v", tc.raw, got, ok, tc.want, tc.ok)
		}
	}
}
