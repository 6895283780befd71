// Package idp is the identity provider of the examples and the demo: ES256
// keys generated at run time, a JWKS that follows key rotation, and an
// unauthenticated token endpoint. It is for loopback use only.
package idp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// JWKSPath is where the key set is served, under the issuer URL.
const JWKSPath = ".well-known/jwks.json"

// IdP signs access tokens for one audience with its current key and
// publishes that key with the keys it recently replaced.
type IdP struct {
	issuer   string // ends in "/": JWKSPath is appended to it
	audience string
	now      func() time.Time
	run      string        // a random tag in every kid, so kids never repeat across runs
	jti      atomic.Uint64 // token ids
	rogue    *ecdsa.PrivateKey

	mu      sync.Mutex
	keys    []signingKey // published, oldest first; the last one signs
	made    int          // keys made, numbering the kids
	fetches int
}

type signingKey struct {
	kid  string
	priv *ecdsa.PrivateKey
}

// New returns an IdP with one signing key. issuer must end in "/", as the
// jwks_url of a baseline is the issuer followed by JWKSPath. now is the
// clock of iat and exp.
func New(issuer, audience string, now func() time.Time) *IdP {
	if !strings.HasSuffix(issuer, "/") {
		panic("idp: issuer must end in /")
	}
	tag := make([]byte, 2)
	rand.Read(tag)
	p := &IdP{issuer: issuer, audience: audience, now: now, run: hex.EncodeToString(tag), rogue: newKey()}
	p.Rotate(0)
	return p
}

func newKey() *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return k
}

// Issuer is the iss of every token.
func (p *IdP) Issuer() string { return p.issuer }

// JWKSURL is where the key set is served.
func (p *IdP) JWKSURL() string { return p.issuer + JWKSPath }

// Audience is the aud of the tokens Claims starts from.
func (p *IdP) Audience() string { return p.audience }

// Rotate makes a new key, publishes it and signs with it from now on, as
// an IdP does when it rotates: a verifier learns the new kid from the first
// token that carries it. Of the keys it replaced, the keep most recent stay
// published, so tokens they signed keep verifying for a while; older ones
// are removed. It returns the new kid.
func (p *IdP) Rotate(keep int) string {
	k := signingKey{priv: newKey()}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.made++
	k.kid = fmt.Sprintf("key-%d-%s", p.made, p.run)
	if drop := len(p.keys) - keep; drop > 0 {
		p.keys = append(p.keys[:0:0], p.keys[drop:]...)
	}
	p.keys = append(p.keys, k)
	return k.kid
}

// KID is the kid of the signing key.
func (p *IdP) KID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[len(p.keys)-1].kid
}

// PublishedKIDs lists the kids of the key set, oldest first.
func (p *IdP) PublishedKIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	kids := make([]string, len(p.keys))
	for i, k := range p.keys {
		kids[i] = k.kid
	}
	return kids
}

// Fetches counts the key set requests served.
func (p *IdP) Fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

// Claims returns the claims of a fresh access token for subject: iss, aud,
// sub, a unique jti, iat now and exp an hour later. The scopes, if any, go
// in the space-delimited scope claim (RFC 9068 section 2.2.3).
func (p *IdP) Claims(subject string, scopes ...string) map[string]any {
	now := p.now().Unix()
	c := map[string]any{"iss": p.issuer, "aud": p.audience, "sub": subject,
		"iat": now, "exp": now + 3600, "jti": fmt.Sprintf("%s-%d", p.run, p.jti.Add(1))}
	if len(scopes) > 0 {
		c["scope"] = strings.Join(scopes, " ")
	}
	return c
}

// Token is Sign(Claims(subject, scopes...)).
func (p *IdP) Token(subject string, scopes ...string) string {
	return p.Sign(p.Claims(subject, scopes...))
}

// Sign returns claims as an ES256 access token (typ at+jwt, RFC 9068
// section 2.1) signed by the current key.
func (p *IdP) Sign(claims map[string]any) string {
	p.mu.Lock()
	k := p.keys[len(p.keys)-1]
	p.mu.Unlock()
	return sign(k.kid, k.priv, claims)
}

// Forge returns claims as an ES256 token that names kid but is signed by a
// key the IdP never publishes: what an attacker can make.
func (p *IdP) Forge(kid string, claims map[string]any) string {
	return sign(kid, p.rogue, claims)
}

// Unsigned returns claims as an unsecured JWT: alg "none" and an empty
// signature (RFC 7519 section 6), naming kid.
func Unsigned(kid string, claims map[string]any) string {
	return encode(map[string]any{"alg": "none", "kid": kid, "typ": "at+jwt"}) + "." + encode(claims) + "."
}

func sign(kid string, key *ecdsa.PrivateKey, claims map[string]any) string {
	input := encode(map[string]any{"alg": "ES256", "kid": kid, "typ": "at+jwt"}) + "." + encode(claims)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		panic(err)
	}
	// RFC 7518 section 3.4: R and S as 32-byte big-endian integers,
	// concatenated, not the ASN.1 form crypto/ecdsa produces.
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + b64(sig)
}

func encode(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of plain values are encoded
	}
	return b64(b)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// Handler serves the key set at /.well-known/jwks.json and tokens at
// /token. The token endpoint takes sub (default alice), scope (a
// space-delimited list), scp (repeated, sent as an array), aud (default the
// IdP's audience) and ttl (a Go duration, default 1h; negative for an
// expired token), and answers the bare token. It authenticates no one.
func (p *IdP) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /"+JWKSPath, p.serveJWKS)
	mux.HandleFunc("GET /token", p.serveToken)
	return mux
}

func (p *IdP) serveJWKS(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	p.fetches++
	keys := make([]map[string]any, len(p.keys))
	for i, k := range p.keys {
		keys[i] = jwk(k.kid, &k.priv.PublicKey)
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	json.NewEncoder(w).Encode(map[string]any{"keys": keys})
}

func (p *IdP) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sub := q.Get("sub")
	if sub == "" {
		sub = "alice"
	}
	c := p.Claims(sub, strings.Fields(q.Get("scope"))...)
	if scp := q["scp"]; len(scp) > 0 {
		c["scp"] = scp
	}
	if aud := q.Get("aud"); aud != "" {
		c["aud"] = aud
	}
	if ttl := q.Get("ttl"); ttl != "" {
		d, err := time.ParseDuration(ttl)
		if err != nil {
			http.Error(w, "ttl: "+err.Error(), http.StatusBadRequest)
			return
		}
		c["exp"] = p.now().Add(d).Unix()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, p.Sign(c))
}

// jwk is the RFC 7517 form of a P-256 public key (RFC 7518 section 6.2.1):
// x and y are the two 32-byte halves of the uncompressed point 0x04||X||Y.
func jwk(kid string, pub *ecdsa.PublicKey) map[string]any {
	point, err := pub.Bytes()
	if err != nil {
		panic(err) // the key was generated on P-256 here
	}
	return map[string]any{"kty": "EC", "crv": "P-256", "kid": kid, "alg": "ES256", "use": "sig",
		"x": b64(point[1:33]), "y": b64(point[33:])}
}
