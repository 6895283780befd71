package jwks

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"log/slog"
	"math/big"
	"strings"
	"testing"
)

// rocaModulus is a 2048-bit modulus from an Infineon-generated key, a
// positive test vector of the ROCA detector's authors
// (github.com/crocs-muni/roca, roca/tests/data/mod03.txt).
const rocaModulus = "9dcd7420e420c270a68060eb8b5aa7457a9f6648f86fafed2775cc1f79ae962f1e63f1b9e51c55f9ea6fdc7332e9b0058c9ff2eb1fc89855029cf6aafe21e689feb38ac9ffb12f1ce371bb5d0e9aae64161abce74b4244bf68f1edb4411f756a097c8929c14740245ea355f8332d1aa36bb50c7dcb4505da8de02e4e53d38f8df06097da7524df0df93db48eac8cc4af2d3a16257eb2b2adca6ba464e5974fa92550d31b1babf161e7692d00b86e3dd886ecab4abfbe1a8f8cc263ff4af55cdb45f4249a5193925f5e983d762f0b6800943eb0267b08f42ed311ce1f5c86eacbc8ce4d3cb7a2fee1ef5641423a1cf4114e5ecf50034a60a412523af9e6f4aa11"

// cleanModulus is a 2048-bit modulus of the same test set that does not
// carry the fingerprint (mod04.txt).
const cleanModulus = "af659676197f1db06da7ac111a0a0ec175b8b7ef07192ffcd1f6b854c327785f1a7fd3db7da45cd4a31b2b2e5ce0d823a68e28c8adf1747316becce1fe5768064039ad2062260c8d1a34e0586dce9bc13090fcc9fb8b8b2c08ed3ae8d61b29818a669689a7d9c1dab053b557fb8d3f9c44faad3e18c55e739b00d3c9126558bc8e980cd2af377126ef5b1374136774b8bd370e3c1c149db395c8f99696b628b105946fea20106fe24d103ac062661a9248e8c3f628e00b308d33953aabe555132e218e74ef4b578716b4fe7cf340e8e604a319bf6e9951e1942601d34291032db54999d09e5d036dde3544ad35256bbb97d5e3fffd38166c21eae9199548853b"

func modulus(t *testing.T, hex string) *big.Int {
	t.Helper()
	n, ok := new(big.Int).SetString(hex, 16)
	if !ok || n.BitLen() != 2048 {
		t.Fatalf("test modulus of %d bits", n.BitLen())
	}
	return n
}

// TestROCA: a key with the fingerprint is dropped at load, from Go code
// and from a JWK Set, while a normal 2048-bit key is kept.
func TestROCA(t *testing.T) {
	generated, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		n        *big.Int
		affected bool
	}{
		{"Infineon modulus", modulus(t, rocaModulus), true},
		{"modulus of the same test set without the fingerprint", modulus(t, cleanModulus), false},
		{"freshly generated key", generated.N, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := hasROCAFingerprint(tc.n); got != tc.affected {
				t.Fatalf("hasROCAFingerprint = %v, want %v", got, tc.affected)
			}
			pub := &rsa.PublicKey{N: tc.n, E: 65537}
			k, err := NewKey("k1", "RS256", pub)
			if tc.affected {
				if err == nil || !strings.Contains(err.Error(), "CVE-2017-15361") {
					t.Fatalf("NewKey admitted the key: %v %v", k, err)
				}
			} else if err != nil {
				t.Fatalf("NewKey refused a normal key: %v", err)
			}
			jwk := `{"keys":[{"kty":"RSA","kid":"k1","alg":"RS256","use":"sig","e":"AQAB","n":"` +
				base64.RawURLEncoding.EncodeToString(tc.n.Bytes()) + `"}]}`
			keys, _ := Parse([]byte(jwk), map[string]bool{"RS256": true}, slog.New(slog.DiscardHandler), "https://idp.test")
			if want := map[bool]int{true: 0, false: 1}[tc.affected]; len(keys) != want {
				t.Fatalf("Parse kept %d keys, want %d", len(keys), want)
			}
		})
	}
}

// TestInSubgroup checks the walk on small cases worked by hand: modulo 7,
// 65537 is 3, which generates the whole group; modulo 13 it is 4, whose
// powers are 1, 4, 3, 12, 9, 10.
func TestInSubgroup(t *testing.T) {
	for _, tc := range []struct {
		x, g, p int64
		want    bool
	}{
		{1, 3, 7, true}, {5, 3, 7, true}, {6, 3, 7, true}, {0, 3, 7, false},
		{10, 4, 13, true}, {12, 4, 13, true}, {2, 4, 13, false}, {5, 4, 13, false}, {0, 4, 13, false},
	} {
		if got := inSubgroup(tc.x, tc.g, tc.p); got != tc.want {
			t.Errorf("inSubgroup(%d, %d, %d) = %v, want %v", tc.x, tc.g, tc.p, got, tc.want)
		}
	}
	if 65537%7 != 3 || 65537%13 != 4 {
		t.Fatal("the hand-worked generators are wrong")
	}
}
