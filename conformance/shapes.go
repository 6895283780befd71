package conformance

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// The names the matrix is written against. They are fixed, not taken from
// the httptest URL, so that MATRIX.md does not change from run to run.
const (
	issuer   = "https://issuer.example.test"
	audience = "https://api.example.test"
	realm    = "conformance"
)

// epoch is the fixed instant every case's clock starts at.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// keyring is the matrix's key material, under the kids MATRIX.md names;
// never written after generation.
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

// matrixKeys generates the keys once per process: RSA key generation costs
// more than a whole run of the matrix, and a parity test runs it once per
// adapter.
var matrixKeys = sync.OnceValue(func() *keyring {
	weak, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		panic(err)
	}
	k := &keyring{
		rsa:   jwtguardtest.NewKey("RS256").WithKID("rsa-1"),
		weak:  jwtguardtest.KeyFrom("RS256", weak).WithKID("rsa-weak"),
		ec:    jwtguardtest.NewKey("ES256").WithKID("ec-1"),
		ec2:   jwtguardtest.NewKey("ES256").WithKID("ec-2"),
		ed:    jwtguardtest.NewKey("EdDSA").WithKID("ed-1"),
		rogue: jwtguardtest.NewKey("ES256").WithKID("rogue"),
		oct:   make([]byte, 32),
	}
	rand.Read(k.oct)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue"},
		NotBefore: epoch.Add(-time.Hour), NotAfter: epoch.Add(24 * time.Hour)}
	if k.cert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, k.rogue.Public(), k.rogue.Signer()); err != nil {
		panic(err)
	}
	return k
})

// newEnv starts a case's IdP: its own key set, so that publishing,
// removing and outages stay inside the case, on the case's clock. rsa-1
// signs; keys publishes the rest of the key set, the standard keys when
// nil. Beside the JWKS, the IdP serves a rogue key set (jku.json) and
// certificate (x5u.pem) at URLs a token may point to; any request for them
// is recorded as stray.
func newEnv(k *keyring, keys func(e *env)) *env {
	e := &env{keys: k, clock: &clock{t: epoch}, strays: &strays{}}
	e.idp = jwtguardtest.NewIdP(jwtguardtest.WithSigningKey(k.rsa), jwtguardtest.WithIssuer(issuer),
		jwtguardtest.WithAudience(audience), jwtguardtest.WithClock(e.clock.now))
	e.idp.Handle("GET /jku.json", e.strays.record(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(js(map[string]any{"keys": []any{k.rogue.JWK()}}))
	}))
	e.idp.Handle("GET /x5u.pem", e.strays.record(func(w http.ResponseWriter) {
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: k.cert})
	}))
	if keys == nil {
		keys = standardKeys
	}
	keys(e)
	return e
}

// standardKeys is the key set every case starts from unless it says
// otherwise: usable keys with and without a JWK alg, and keys that a
// verifier must never use. rsa-1 is already published.
func standardKeys(e *env) {
	noUse := func(jwk map[string]any) { delete(jwk, "use") }
	noAlg := func(jwk map[string]any) { delete(jwk, "alg") }
	e.idp.Publish(e.keys.rsa.WithKID("rsa-noalg"), noAlg)
	e.idp.Publish(e.keys.ec, noUse)
	e.idp.Publish(e.keys.ed, noUse, noAlg)
	e.idp.Publish(e.keys.rsa.WithKID("enc-1"), noAlg, func(jwk map[string]any) { jwk["use"] = "enc" })
	e.idp.PublishJWK(map[string]any{"kty": "oct", "kid": "oct-1", "k": b64(e.keys.oct)})
}

// url is the address of a file the IdP serves beside its JWKS.
func (e *env) url(file string) string { return e.idp.URL() + "/" + file }

// token starts the default token: RS256 by rsa-1, typ at+jwt, for alice
// with scope read, valid an hour from the case's clock.
func (e *env) token() *jwtguardtest.TokenBuilder { return e.idp.NewToken("alice").Scopes("read") }

// defaults returns the header and claims of the default token, for shapes
// built byte by byte.
func (e *env) defaults() (header, claims map[string]any) {
	e.token().Edit(func(h, c map[string]any) { header, claims = h, c })
	return header, claims
}

// hmacToken signs an unsigned token with HS256 under secret: the kit
// signs with public-key algorithms only, and these tokens are forgeries
// that a verifier of public-key tokens must refuse.
func hmacToken(unsigned string, secret []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(strings.TrimSuffix(unsigned, ".")))
	return unsigned + b64(m.Sum(nil))
}

func js(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// strays records requests for URLs a token named, which a verifier must
// never fetch.
type strays struct {
	mu   sync.Mutex
	list []string
}

func (s *strays) record(answer func(w http.ResponseWriter)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.list = append(s.list, r.URL.Path)
		s.mu.Unlock()
		answer(w)
	})
}

func (s *strays) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.list...)
}

// clock is a case's time source: fixed, moved only by the case.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
