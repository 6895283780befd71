package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"io"
	"math/big"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// matrixSeed is what every key of the matrix is derived from. Fixed keys
// make the vectors file the same on every run, and let the runner and a
// served IdP, separate processes, hold the same keys without passing any.
// They are public: whoever reads this line can sign as the matrix's IdP,
// so they are for tests only.
const matrixSeed = "jwtguard conformance matrix keys v1"

// keyStream returns the bytes the key of label is derived from:
// SHA-256(seed, 0, label, counter) blocks, in order.
func keyStream(label string) func(n int) []byte {
	var counter uint64
	return func(n int) []byte {
		var out []byte
		for len(out) < n {
			h := sha256.New()
			h.Write([]byte(matrixSeed))
			h.Write([]byte{0})
			h.Write([]byte(label))
			binary.Write(h, binary.BigEndian, counter)
			counter++
			out = h.Sum(out)
		}
		return out[:n]
	}
}

// The primes of the RSA keys, derived from the seed (the first prime at or
// above each candidate the key's stream gives, see TestKeysDerived). They
// are written out because searching for them takes a second, in every
// process that runs the matrix.
var (
	rsa1Primes = [2]string{
		"cedfd01b052a14f29e5fcc9b1bbb72e23158e289f1e22e270c3038ca36ea6ca9552b556ace1b04e19844ce967de20e7bb126e2dc263dce10900f0a8de6a30cbaf715d66d5f3bb0d0ce9a1687507bc4a83c4a9b0091df70fe02ebc8696917a61eafeeccfb10bbb7c65e61c4daf674d15ba9459b1479cd779dfa74f7c92c7eaa87",
		"e325ed31562656de7596e787dc517e261cdc258b9c1528199088eb80d4e1ad60605c70830c6169a5723899016b722988c921d6591b2872a63fdeb3912d887a803d839fcb2a3807e91ad354672d71286b34e5563e8088d0817e6b07ee402c1c6c827a1ada0895fafdc479c51472b355e039e6dbf1c2e15f562c38985f16369d63",
	}
	rsaWeakPrimes = [2]string{
		"ca825523e67874c1116a0371a9f48a6b75d3de24290f425631c5636e25f4b3bdf4164d13a82f9c10d5be44d8b9cdbeb84bf3a361dd78ef14b3f2c23f6a378e6d",
		"ffc9cf74987cc48c7074d05a9d37cec539d3956ea7f764bff2cf8fc8d97ff09d45323a3ba703e8917c99afbe8ec3e72081c603ac0c615b23c6d331e9116d0deb",
	}
)

// rsaKey builds the RSA key of two primes, with e = 65537.
func rsaKey(primes [2]string) *rsa.PrivateKey {
	p, _ := new(big.Int).SetString(primes[0], 16)
	q, _ := new(big.Int).SetString(primes[1], 16)
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	k := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         new(big.Int).ModInverse(big.NewInt(65537), phi),
		Primes:    []*big.Int{p, q},
	}
	k.Precompute()
	if err := k.Validate(); err != nil {
		panic(err)
	}
	return k
}

// p256Key derives a P-256 key: the first scalar of the stream that is a
// valid private key (below the group order, not zero).
func p256Key(label string) *ecdsa.PrivateKey {
	next := keyStream(label)
	for {
		if k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), next(32)); err == nil {
			return k
		}
	}
}

func ed25519Key(label string) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(keyStream(label)(ed25519.SeedSize))
}

// keyring is the matrix's key material, under the kids MATRIX.md names;
// never written after it is made.
type keyring struct {
	rsa   *jwtguardtest.Key // rsa-1 (JWK alg RS256); rsa-noalg and enc-1 publish it too
	weak  *jwtguardtest.Key // rsa-weak, 1024 bits, published by one case
	ec    *jwtguardtest.Key // ec-1 (ES256)
	ec2   *jwtguardtest.Key // ec-2, published only by rotation cases
	ed    *jwtguardtest.Key // ed-1
	rogue *jwtguardtest.Key // never published: the attacker's key
	oct   []byte            // oct-1, a symmetric key wrongly published
	cert  []byte            // a self-signed certificate of the rogue key
}

// matrixKeys makes the keys once per process.
var matrixKeys = sync.OnceValue(func() *keyring {
	k := &keyring{
		rsa:   jwtguardtest.KeyFrom("RS256", rsaKey(rsa1Primes)).WithKID("rsa-1"),
		weak:  jwtguardtest.KeyFrom("RS256", rsaKey(rsaWeakPrimes)).WithKID("rsa-weak"),
		ec:    jwtguardtest.KeyFrom("ES256", p256Key("ec-1")).WithKID("ec-1"),
		ec2:   jwtguardtest.KeyFrom("ES256", p256Key("ec-2")).WithKID("ec-2"),
		ed:    jwtguardtest.KeyFrom("EdDSA", ed25519Key("ed-1")).WithKID("ed-1"),
		rogue: jwtguardtest.KeyFrom("ES256", p256Key("rogue")).WithKID("rogue"),
		oct:   keyStream("oct-1")(32),
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue"},
		NotBefore: epoch.Add(-time.Hour), NotAfter: epoch.Add(24 * time.Hour)}
	var err error
	if k.cert, err = x509.CreateCertificate(nil, tmpl, tmpl, k.rogue.Public(), rfc6979{k.rogue.Signer()}); err != nil {
		panic(err)
	}
	return k
})

// rfc6979 signs with a nil random source, which crypto/ecdsa answers with
// a deterministic signature (RFC 6979): the certificate is the same bytes
// on every run.
type rfc6979 struct{ crypto.Signer }

func (s rfc6979) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.Signer.Sign(nil, digest, opts)
}
