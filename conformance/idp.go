package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// The names the matrix is written against. They are fixed, not taken from
// the httptest URL, so that MATRIX.md does not change from run to run.
const (
	issuer   = "https://issuer.example.test"
	audience = "https://api.example.test"
	realm    = "conformance"
)

// epoch is the fixed instant every clock starts at.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// IdP is a test identity provider. Its keys (RSA 2048, P-256 and Ed25519)
// are generated when it is made; their JWKS is served by an httptest server
// that can publish, remove and withhold keys; it mints access tokens and its
// clock is fixed. The conformance runner makes its own; adapters use one in
// their examples and benchmarks.
type IdP struct {
	*keyring
	srv *httptest.Server

	mu   sync.Mutex
	sets []*keySet
}

// keyring is the IdP's key material, never written after generation.
type keyring struct {
	rsa   *rsa.PrivateKey   // rsa-1 (JWK alg RS256) and rsa-noalg
	weak  *rsa.PrivateKey   // 1024 bits, published by one case as rsa-weak
	ec    *ecdsa.PrivateKey // ec-1 (ES256)
	ec2   *ecdsa.PrivateKey // ec-2, published only by rotation cases
	ed    ed25519.PrivateKey
	rogue *ecdsa.PrivateKey // never published: the attacker's key
	oct   []byte            // oct-1, a symmetric key wrongly published
	cert  []byte            // a self-signed certificate of the rogue key
}

// NewIdP starts a JWKS server for the process's test keys. Close stops it.
func NewIdP() *IdP {
	p := &IdP{keyring: testKeys()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /sets/{id}/{file}", p.serve)
	p.srv = httptest.NewServer(mux)
	p.newSet(p.standardKeys()...) // set 0, behind Config
	return p
}

// testKeys generates the keys once per process: RSA key generation costs
// more than a whole run of the matrix, and a parity test runs it once per
// adapter.
var testKeys = sync.OnceValue(func() *keyring {
	p := &keyring{oct: make([]byte, 32)}
	var err error
	if p.rsa, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
		panic(err)
	}
	if p.weak, err = rsa.GenerateKey(rand.Reader, 1024); err != nil {
		panic(err)
	}
	for _, k := range []**ecdsa.PrivateKey{&p.ec, &p.ec2, &p.rogue} {
		if *k, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			panic(err)
		}
	}
	if _, p.ed, err = ed25519.GenerateKey(rand.Reader); err != nil {
		panic(err)
	}
	rand.Read(p.oct)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rogue"},
		NotBefore: epoch.Add(-time.Hour), NotAfter: epoch.Add(24 * time.Hour)}
	if p.cert, err = x509.CreateCertificate(rand.Reader, tmpl, tmpl, &p.rogue.PublicKey, p.rogue); err != nil {
		panic(err)
	}
	return p
})

// Close stops the JWKS server.
func (p *IdP) Close() { p.srv.Close() }

// Now is the IdP's fixed clock; give it to the verifier with core.WithClock.
func (p *IdP) Now() time.Time { return epoch }

// Config is a baseline that trusts this IdP: its issuer and JWKS URL, the
// audience https://api.example.test, RS256, PS256, ES256 and EdDSA, and 60s
// of leeway.
func (p *IdP) Config() core.Config { return baseline(p.set(0).url()) }

// Token mints an RS256 access token for subject with the given scopes,
// valid for an hour from Now.
func (p *IdP) Token(subject string, scopes ...string) string {
	c := defaultClaims(epoch)
	c["sub"] = subject
	delete(c, "scope")
	if len(scopes) > 0 {
		c["scope"] = strings.Join(scopes, " ")
	}
	return p.sign(defaultHeader(), c)
}

func baseline(jwksURL string) core.Config {
	return core.Config{
		Issuers:    []core.IssuerConfig{{Issuer: issuer, JWKSURL: jwksURL}},
		Audiences:  []string{audience},
		Algorithms: []string{"ES256", "EdDSA", "PS256", "RS256"},
		Leeway:     60 * time.Second,
	}
}

func defaultHeader() map[string]any {
	return map[string]any{"alg": "RS256", "kid": "rsa-1", "typ": "at+jwt"}
}

func defaultClaims(now time.Time) map[string]any {
	t := now.Unix()
	return map[string]any{"iss": issuer, "aud": audience, "sub": "alice", "scope": "read",
		"iat": t, "exp": t + 3600, "jti": "id-1"}
}

// standardKeys is the key set every case starts from unless it says
// otherwise: usable keys with and without a JWK alg, and keys that a
// verifier must never use.
func (p *IdP) standardKeys() []map[string]any {
	return []map[string]any{
		rsaJWK("rsa-1", "RS256", &p.rsa.PublicKey),
		rsaJWK("rsa-noalg", "", &p.rsa.PublicKey),
		ecJWK("ec-1", "ES256", &p.ec.PublicKey),
		okpJWK("ed-1", p.ed.Public().(ed25519.PublicKey)),
		withMember(rsaJWK("enc-1", "", &p.rsa.PublicKey), "use", "enc"),
		{"kty": "oct", "kid": "oct-1", "k": b64(p.oct)},
	}
}

// privateKey returns the signing key behind a kid. For a kid the IdP never
// publishes, it is the IdP's own key of the algorithm's type (the rogue key
// for ES256), so that only the kid is wrong.
func (p *IdP) privateKey(kid, alg string) any {
	switch kid {
	case "rsa-1", "rsa-noalg", "enc-1":
		return p.rsa
	case "ec-1":
		return p.ec
	case "ec-2":
		return p.ec2
	case "ed-1":
		return p.ed
	case "oct-1":
		return p.oct
	case "rsa-weak":
		return p.weak
	}
	switch alg[:2] {
	case "RS", "PS":
		return p.rsa
	case "Ed":
		return p.ed
	case "HS":
		return p.oct
	}
	return p.rogue
}

// sign signs header and claims with the key of the header's kid, under the
// header's alg when that names a real algorithm.
func (p *IdP) sign(h, c map[string]any) string {
	alg, _ := h["alg"].(string)
	if _, ok := hashes[alg]; !ok {
		alg = "RS256"
	}
	kid, _ := h["kid"].(string)
	return forge(js(h), js(c), alg, p.privateKey(kid, alg))
}

func js(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

var hashes = map[string]crypto.Hash{
	"RS256": crypto.SHA256, "RS384": crypto.SHA384, "RS512": crypto.SHA512,
	"PS256": crypto.SHA256, "ES256": crypto.SHA256, "HS256": crypto.SHA256, "EdDSA": 0,
}

// forge builds a compact JWS of exactly these header and payload bytes,
// signed under alg with key. It signs whatever it is given: hostile tokens
// are built with it on purpose.
func forge(header, payload []byte, alg string, key any) string {
	input := b64(header) + "." + b64(payload)
	return input + "." + b64(signature(alg, key, []byte(input)))
}

func signature(alg string, key any, input []byte) []byte {
	h := hashes[alg]
	var digest []byte
	switch h {
	case crypto.SHA256:
		s := sha256.Sum256(input)
		digest = s[:]
	case crypto.SHA384:
		s := sha512.Sum384(input)
		digest = s[:]
	case crypto.SHA512:
		s := sha512.Sum512(input)
		digest = s[:]
	}
	var sig []byte
	var err error
	switch {
	case alg == "HS256":
		m := hmac.New(sha256.New, key.([]byte))
		m.Write(input)
		sig = m.Sum(nil)
	case alg == "EdDSA":
		sig = ed25519.Sign(key.(ed25519.PrivateKey), input)
	case strings.HasPrefix(alg, "RS"):
		sig, err = rsa.SignPKCS1v15(rand.Reader, key.(*rsa.PrivateKey), h, digest)
	case strings.HasPrefix(alg, "PS"):
		sig, err = rsa.SignPSS(rand.Reader, key.(*rsa.PrivateKey), h, digest, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	case strings.HasPrefix(alg, "ES"):
		// RFC 7518 section 3.4: R and S as fixed-size big-endian integers,
		// concatenated; not the ASN.1 form crypto/ecdsa produces.
		var r, s *big.Int
		r, s, err = ecdsa.Sign(rand.Reader, key.(*ecdsa.PrivateKey), digest)
		if err == nil {
			sig = make([]byte, 64)
			r.FillBytes(sig[:32])
			s.FillBytes(sig[32:])
		}
	default:
		err = fmt.Errorf("no signer for %q", alg)
	}
	if err != nil {
		panic(err)
	}
	return sig
}

func rsaJWK(kid, alg string, pub *rsa.PublicKey) map[string]any {
	k := map[string]any{"kty": "RSA", "kid": kid, "use": "sig", "n": b64(pub.N.Bytes()),
		"e": b64(big.NewInt(int64(pub.E)).Bytes())}
	if alg != "" {
		k["alg"] = alg
	}
	return k
}

func ecJWK(kid, alg string, pub *ecdsa.PublicKey) map[string]any {
	x, y := make([]byte, 32), make([]byte, 32)
	pub.X.FillBytes(x)
	pub.Y.FillBytes(y)
	k := map[string]any{"kty": "EC", "kid": kid, "crv": "P-256", "x": b64(x), "y": b64(y)}
	if alg != "" {
		k["alg"] = alg
	}
	return k
}

func okpJWK(kid string, pub ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": b64(pub)}
}

func withMember(k map[string]any, name string, v any) map[string]any {
	k[name] = v
	return k
}

// keySet is one JWKS endpoint of the IdP. Each case gets its own, so that
// publishing, removing and outages stay inside the case. Next to the JWKS,
// the set serves a rogue key set (jku.json) and certificate (x5u.pem) at
// URLs a token may point to; any request for them is recorded as stray.
type keySet struct {
	id   int
	base string // the URL of the set's directory, ending in "/"

	mu      sync.Mutex
	keys    []map[string]any
	down    bool
	fetches int
	strays  []string
}

func (p *IdP) newSet(keys ...map[string]any) *keySet {
	p.mu.Lock()
	defer p.mu.Unlock()
	id := len(p.sets)
	s := &keySet{id: id, base: p.srv.URL + "/sets/" + strconv.Itoa(id) + "/", keys: keys}
	p.sets = append(p.sets, s)
	return s
}

func (p *IdP) set(id int) *keySet {
	p.mu.Lock()
	defer p.mu.Unlock()
	if id < 0 || id >= len(p.sets) {
		return nil
	}
	return p.sets[id]
}

func (s *keySet) url() string { return s.base + "jwks.json" }

func (s *keySet) publish(k map[string]any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keys = append(s.keys, k)
}

func (s *keySet) remove(kid string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.keys[:0]
	for _, k := range s.keys {
		if k["kid"] != kid {
			kept = append(kept, k)
		}
	}
	s.keys = kept
}

func (s *keySet) setDown(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

func (s *keySet) strayRequests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.strays...)
}

func (p *IdP) serve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	s := p.set(id)
	if err != nil || s == nil {
		http.NotFound(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch file := r.PathValue("file"); file {
	case "jwks.json":
		s.fetches++
		if s.down {
			http.Error(w, "identity provider down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(js(map[string]any{"keys": s.keys}))
	case "jku.json":
		s.strays = append(s.strays, r.URL.Path)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(js(map[string]any{"keys": []any{ecJWK("rogue", "ES256", &p.rogue.PublicKey)}}))
	default:
		s.strays = append(s.strays, r.URL.Path)
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: p.cert})
	}
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

// NewTestVerifier starts a test IdP and a verifier on its baseline (changed
// by edit) and fixed clock, logging nowhere; both close when tb ends. It is
// for an adapter's own tests beyond the matrix.
func NewTestVerifier(tb testing.TB, edit ...func(*core.Config)) (*core.Verifier, *IdP) {
	tb.Helper()
	idp := NewIdP()
	tb.Cleanup(idp.Close)
	cfg := idp.Config()
	for _, e := range edit {
		e(&cfg)
	}
	v, err := core.New(cfg, core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return v, idp
}
