package jwtguardtest

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// The names an IdP uses unless told otherwise. They are fixed, not taken
// from the server's URL, so that what a test prints does not change from
// run to run.
const (
	defaultIssuer   = "https://issuer.example.test"
	defaultAudience = "https://api.example.test"
)

// epoch is the instant an IdP's clock reads unless WithClock replaces it.
var epoch = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// jwksPath is where an IdP serves its key set, as OpenID providers commonly
// do.
const jwksPath = "/.well-known/jwks.json"

// discoveryPath is where an IdP whose issuer is its own URL serves its
// discovery document (OpenID Connect Discovery 1.0 section 4.1).
const discoveryPath = "/.well-known/openid-configuration"

// IdP is a test identity provider: an HTTP server on loopback that
// publishes a JWK Set, and a minter of access tokens signed by one of its
// keys, with a fixed clock. A test changes what it publishes with
// [IdP.Rotate], [IdP.Publish] and [IdP.Remove], and makes it fail with
// [IdP.Fail] and [IdP.Stall]. Its methods are safe for concurrent use.
type IdP struct {
	issuer   string
	audience string
	now      func() time.Time
	srv      *httptest.Server
	mux      *http.ServeMux

	closeOnce sync.Once
	closed    chan struct{} // closed by Close, to release stalled requests

	mu      sync.Mutex
	signing *Key
	jwks    []map[string]any // the published key set, in order
	// held is every key the IdP has published, removed ones too, by kid:
	// a token that names one is signed with it.
	held    map[string]*Key
	status  int           // the status key set requests get while failing; 0 when not
	stalled chan struct{} // non-nil while stalled; closed by Restore
	fetches int
	minted  int // numbers the jti of each token
	// discovery is the served discovery document; nil without
	// WithDiscovery.
	discovery      map[string]any
	docFetches     int
	issuerIsOwnURL bool // the issuer is the server's URL: discovery is at its well-known location
}

// Option configures an IdP.
type Option func(*options)

type options struct {
	alg       string
	key       *Key
	issuer    string
	audience  string
	now       func() time.Time
	ln        net.Listener
	discovery bool
}

// WithAlgorithm makes the IdP sign with a key for alg: RS256 (the
// default), PS256, ES256 or EdDSA, or any other algorithm [NewKey] makes.
// Every IdP of a process starts with the same key of an algorithm, made
// once: give IdPs distinct issuers, or keys of their own with
// WithSigningKey, where a test must tell their tokens apart.
func WithAlgorithm(alg string) Option { return func(o *options) { o.alg = alg } }

// WithSigningKey makes the IdP start with k as its one published key and
// its signing key. It overrides WithAlgorithm; [IdP.Rotate] makes keys for
// k's algorithm.
func WithSigningKey(k *Key) Option { return func(o *options) { o.key = k } }

// WithIssuer sets the iss of the tokens and the issuer of [IdP.Config];
// https://issuer.example.test by default.
func WithIssuer(iss string) Option { return func(o *options) { o.issuer = iss } }

// WithAudience sets the aud of the tokens and the audience of [IdP.Config];
// https://api.example.test by default.
func WithAudience(aud string) Option { return func(o *options) { o.audience = aud } }

// WithClock replaces the fixed clock: iat and exp of new tokens are set
// from now, and [IdP.Now] reads it.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

// WithDiscovery makes the IdP serve an OpenID Connect discovery document
// at /.well-known/openid-configuration, naming its issuer and its key
// set's URL, and makes [IdP.Config] a baseline that finds the key set
// through it. Unless WithIssuer says otherwise, the issuer is the
// server's own URL, so the baseline is the issuer alone with discovery:
// true. With WithIssuer, the document stays on the server and the
// baseline names it with discovery_url.
func WithDiscovery() Option { return func(o *options) { o.discovery = true } }

// WithListener makes the IdP serve on ln instead of a new loopback port:
// for an IdP at an address fixed in advance, as by a baseline file. Close
// closes ln.
func WithListener(ln net.Listener) Option { return func(o *options) { o.ln = ln } }

// NewIdP starts an IdP and its HTTP server. Unless options say otherwise,
// it signs RS256, its issuer is https://issuer.example.test, its audience
// https://api.example.test, and its clock reads 2030-01-02T03:04:05Z.
// Close stops it.
func NewIdP(opts ...Option) *IdP {
	o := options{alg: "RS256", audience: defaultAudience, now: func() time.Time { return epoch }}
	for _, opt := range opts {
		opt(&o)
	}
	ownURL := o.discovery && o.issuer == ""
	if o.issuer == "" {
		o.issuer = defaultIssuer
	}
	k := o.key
	if k == nil {
		shared, ok := sharedKeys[o.alg]
		if !ok {
			panic("jwtguardtest: no key type for algorithm " + o.alg)
		}
		k = shared()
	}
	p := &IdP{issuer: o.issuer, audience: o.audience, now: o.now, mux: http.NewServeMux(),
		closed: make(chan struct{}), held: map[string]*Key{}}
	p.publishLocked(k, k.JWK())
	p.signing = k
	p.mux.HandleFunc("GET "+jwksPath, p.serveJWKS)
	if o.discovery {
		p.mux.HandleFunc("GET "+discoveryPath, p.serveDiscovery)
	}
	if o.ln == nil {
		p.srv = httptest.NewServer(p.mux)
	} else {
		// An address given in advance may be reached by other processes
		// than the test's; a header read bound keeps one from holding a
		// connection open forever.
		p.srv = &httptest.Server{Listener: o.ln, Config: &http.Server{Handler: p.mux, ReadHeaderTimeout: 10 * time.Second}}
		p.srv.Start()
	}
	if o.discovery {
		// Set before NewIdP returns, so never read concurrently with this.
		if ownURL {
			p.issuer, p.issuerIsOwnURL = p.srv.URL, true
		}
		p.discovery = map[string]any{"issuer": p.issuer, "jwks_uri": p.JWKSURL()}
	}
	return p
}

// Close stops the server. Requests held by Stall are let go unanswered.
func (p *IdP) Close() {
	p.closeOnce.Do(func() { close(p.closed) })
	p.srv.Close()
}

// URL is the base URL of the IdP's server, for the paths of [IdP.Handle].
func (p *IdP) URL() string { return p.srv.URL }

// JWKSURL is where the key set is served: /.well-known/jwks.json under URL.
func (p *IdP) JWKSURL() string { return p.srv.URL + jwksPath }

// Issuer is the iss of the IdP's tokens.
func (p *IdP) Issuer() string { return p.issuer }

// Audience is the aud of the IdP's tokens.
func (p *IdP) Audience() string { return p.audience }

// Now is the IdP's clock: fixed unless WithClock replaced it. Give it to
// the verifier with core.WithClock, so that tokens stay valid however long
// a test runs.
func (p *IdP) Now() time.Time { return p.now() }

// Config is a baseline that trusts this IdP: its issuer bound to its JWKS
// URL (or, WithDiscovery, to its discovery document), its audience, the algorithms ES256, EdDSA, PS256 and RS256 (and the
// IdP's own, if another), and 60s of leeway.
func (p *IdP) Config() core.Config {
	algs := []string{"ES256", "EdDSA", "PS256", "RS256"}
	if alg := p.SigningKey().alg; !slices.Contains(algs, alg) {
		algs = append(algs, alg)
	}
	is := core.IssuerConfig{Issuer: p.issuer, JWKSURL: p.JWKSURL()}
	switch {
	case p.issuerIsOwnURL:
		is = core.IssuerConfig{Issuer: p.issuer, Discovery: core.DiscoveryOpenID}
	case p.discovery != nil:
		is = core.IssuerConfig{Issuer: p.issuer, DiscoveryURL: p.DiscoveryURL()}
	}
	return core.Config{
		Issuers:    []core.IssuerConfig{is},
		Audiences:  []string{p.audience},
		Algorithms: algs,
		Leeway:     60 * time.Second,
	}
}

// DiscoveryURL is where the discovery document is served (WithDiscovery):
// /.well-known/openid-configuration under URL.
func (p *IdP) DiscoveryURL() string { return p.srv.URL + discoveryPath }

// EditDiscovery changes the discovery document the IdP serves from now on
// (WithDiscovery): to name another issuer or move jwks_uri, say. A member
// set to nil is left out. It panics if the document cannot be written as
// JSON.
func (p *IdP) EditDiscovery(edit func(doc map[string]any)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	doc := maps.Clone(p.discovery)
	edit(doc)
	if _, err := json.Marshal(doc); err != nil {
		panic("jwtguardtest: the discovery document is not JSON: " + err.Error())
	}
	p.discovery = doc
}

// DiscoveryFetches counts the discovery document requests the IdP has
// received.
func (p *IdP) DiscoveryFetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.docFetches
}

func (p *IdP) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.docFetches++
	doc := maps.Clone(p.discovery)
	p.mu.Unlock()
	maps.DeleteFunc(doc, func(_ string, v any) bool { return v == nil })
	data, err := json.Marshal(doc)
	if err != nil {
		panic(err) // EditDiscovery checked it
	}
	// OpenID Connect Discovery 1.0 section 4.2.
	w.Header().Set("Content-Type", "application/json")
	w.Write(data)
}

// Handle serves handler for pattern (an http.ServeMux pattern) on the
// IdP's server, beside the key set: a discovery document, a token
// endpoint, or a URL a verifier must never fetch.
func (p *IdP) Handle(pattern string, handler http.Handler) { p.mux.Handle(pattern, handler) }

// SigningKey is the key that signs new tokens.
func (p *IdP) SigningKey() *Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.signing
}

// KIDs lists the kids of the published key set, in order.
func (p *IdP) KIDs() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var kids []string
	for _, jwk := range p.jwks {
		if kid, ok := jwk["kid"].(string); ok {
			kids = append(kids, kid)
		}
	}
	return kids
}

// Rotate makes a new key of the signing key's algorithm, publishes it and
// signs with it from now on, as an IdP does when it rotates: a verifier
// learns the new kid from the key set, fetched again when a token names a
// kid it does not hold (OpenID Connect Core 1.0 section 10.1.1). The keys
// it replaced stay published until Remove. It returns the new key.
func (p *IdP) Rotate() *Key {
	k := NewKey(p.SigningKey().alg) // outside the lock: RSA takes a while
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publishLocked(k, k.JWK())
	p.signing = k
	return k
}

// Publish adds k's JWK to the key set, without signing with it: the next
// key, announced before a rotation. Each edit changes the JWK first, to
// publish a key without its alg member, say. Tokens that name k's kid are
// signed with k.
func (p *IdP) Publish(k *Key, edit ...func(jwk map[string]any)) {
	jwk := k.JWK()
	for _, e := range edit {
		e(jwk)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.publishLocked(k, jwk)
}

func (p *IdP) publishLocked(k *Key, jwk map[string]any) {
	p.held[k.kid] = k
	p.jwks = append(p.jwks, jwk)
}

// PublishJWK adds jwk to the key set as it is: a key the IdP cannot sign
// with, such as a symmetric key published by mistake, or a malformed one.
// It panics if jwk cannot be written as JSON.
func (p *IdP) PublishJWK(jwk map[string]any) {
	if _, err := json.Marshal(jwk); err != nil {
		panic("jwtguardtest: the JWK is not JSON: " + err.Error())
	}
	jwk = maps.Clone(jwk)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwks = append(p.jwks, jwk)
}

// Remove takes every key with this kid out of the key set; verifiers drop
// it at their next fetch. The IdP can still sign with it: removing the
// signing key leaves its tokens to be refused, as when an IdP revokes a
// compromised key.
func (p *IdP) Remove(kid string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	kept := p.jwks[:0:0]
	for _, jwk := range p.jwks {
		if jwk["kid"] != kid {
			kept = append(kept, jwk)
		}
	}
	p.jwks = kept
}

// Fail makes key set requests answer status (503, say) until Restore.
func (p *IdP) Fail(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

// Stall makes key set requests go unanswered until Restore, which answers
// them, or until the client gives up: a verifier sees its http_timeout
// pass.
func (p *IdP) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stalled == nil {
		p.stalled = make(chan struct{})
	}
}

// Restore ends Fail and Stall: key set requests are answered again,
// stalled ones included.
func (p *IdP) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = 0
	if p.stalled != nil {
		close(p.stalled)
		p.stalled = nil
	}
}

// Fetches counts the key set requests the IdP has received, failed and
// stalled ones included.
func (p *IdP) Fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

func (p *IdP) serveJWKS(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.fetches++
	stalled := p.stalled
	p.mu.Unlock()
	if stalled != nil {
		select {
		case <-stalled:
		case <-r.Context().Done():
			return
		case <-p.closed:
			// Returning would send an empty 200; a stalled IdP that shuts
			// down sends nothing.
			panic(http.ErrAbortHandler)
		}
	}
	p.mu.Lock()
	status := p.status
	keys := p.jwks
	p.mu.Unlock()
	if status != 0 {
		http.Error(w, "identity provider failing", status)
		return
	}
	// The published maps are never changed, and Remove builds a new slice,
	// so the snapshot is encoded outside the lock. Every JWK was written as
	// JSON when it was published.
	data, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		panic(err)
	}
	// RFC 7517 section 8.5.1.
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(data)
}

// keyFor returns the key that signs a token naming kid: the held key of
// that kid, or else the signing key, so that only the kid is wrong.
func (p *IdP) keyFor(kid any) *Key {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := kid.(string); ok {
		if k, ok := p.held[s]; ok {
			return k
		}
	}
	return p.signing
}
