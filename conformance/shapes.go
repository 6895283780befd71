package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/core"
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

// keySet is a key set the IdP publishes at start.
type keySet int

const (
	standardSet    keySet = iota // rsa-1 and standardKeys
	withWeakKey                  // the standard set and rsa-weak
	signingKeyOnly               // rsa-1 alone
)

// publish publishes the keys of set beside rsa-1, which the IdP publishes
// from its start.
func (set keySet) publish(p *jwtguardtest.IdP, k *keyring) {
	if set == signingKeyOnly {
		return
	}
	standardKeys(p, k)
	if set == withWeakKey {
		p.Publish(k.weak)
	}
}

// env is what a case works with: the IdP that signs its tokens, the
// matrix's keys, its clock, and the world its setup acts on.
type env struct {
	// idp signs the case's tokens; in process, it also serves the key set
	// the verifier fetches.
	idp   *jwtguardtest.IdP
	keys  *keyring
	clock *clock
	world world
	// strayBase is where the URLs a token names (jku, x5u) point: an
	// address whose every request is recorded as stray.
	strayBase string
	strays    *strays        // in process: the stray requests
	v         *core.Verifier // in process, once the verifier has started
	saved     string         // a token a case verified before its request
}

// world is what a case's setup changes beside its tokens: the key set the
// IdP serves, the verifier's clock, and what the verifier has seen. The
// matrix runs in process (inProcess: the case's own IdP and verifier), and
// against a served IdP and target (served), which only answer requests.
type world interface {
	publish(k *jwtguardtest.Key) error
	remove(kid string) error
	// failKeys makes key set requests answer 503.
	failKeys() error
	// advance moves the verifier's clock.
	advance(d time.Duration) error
	// afterUnknownKIDInterval lets the least interval between fetches for
	// unknown kids pass, so that the next unknown kid fetches the key set.
	afterUnknownKIDInterval() error
	// refreshed has the verifier fetch the key set again.
	refreshed() error
	// accepted has the verifier accept token before the case's request.
	accepted(token string) error
}

// newEnv starts a case's IdP: its own key set, so that publishing,
// removing and outages stay inside the case, on the case's clock. rsa-1
// signs; set is the key set it publishes. Beside the JWKS, the IdP serves
// a rogue key set (jku.json) and certificate (x5u.pem) at URLs a token may
// point to; any request for them is recorded as stray.
func newEnv(k *keyring, set keySet) *env {
	e := &env{keys: k, clock: &clock{t: epoch}, strays: &strays{}}
	e.idp = jwtguardtest.NewIdP(jwtguardtest.WithSigningKey(k.rsa), jwtguardtest.WithIssuer(issuer),
		jwtguardtest.WithAudience(audience), jwtguardtest.WithClock(e.clock.now))
	serveStrays(e.idp, k, e.strays)
	set.publish(e.idp, k)
	e.strayBase = e.idp.URL()
	e.world = &inProcess{e: e}
	return e
}

// serveStrays serves the rogue key set and certificate a token may name,
// recording every request for them.
func serveStrays(p *jwtguardtest.IdP, k *keyring, s *strays) {
	p.Handle("GET /jku.json", s.record(func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(js(map[string]any{"keys": []any{k.rogue.JWK()}}))
	}))
	p.Handle("GET /x5u.pem", s.record(func(w http.ResponseWriter) {
		pem.Encode(w, &pem.Block{Type: "CERTIFICATE", Bytes: k.cert})
	}))
}

// standardKeys is the key set every case starts from unless it says
// otherwise: usable keys with and without a JWK alg, and keys that a
// verifier must never use. rsa-1 is already published.
func standardKeys(p *jwtguardtest.IdP, k *keyring) {
	noUse := func(jwk map[string]any) { delete(jwk, "use") }
	noAlg := func(jwk map[string]any) { delete(jwk, "alg") }
	p.Publish(k.rsa.WithKID("rsa-noalg"), noAlg)
	p.Publish(k.ec, noUse)
	p.Publish(k.ed, noUse, noAlg)
	p.Publish(k.rsa.WithKID("enc-1"), noAlg, func(jwk map[string]any) { jwk["use"] = "enc" })
	p.PublishJWK(map[string]any{"kty": "oct", "kid": "oct-1", "k": b64(k.oct)})
}

// inProcess is the world of a case run in process: its IdP, its clock,
// its verifier. rec, when set, records what the setup did, for the
// vectors file.
type inProcess struct {
	e   *env
	rec *recording
}

func (w *inProcess) publish(k *jwtguardtest.Key) error {
	w.e.idp.Publish(k)
	return w.rec.keysChanged(w.e)
}

func (w *inProcess) remove(kid string) error {
	w.e.idp.Remove(kid)
	return w.rec.keysChanged(w.e)
}

func (w *inProcess) failKeys() error {
	w.e.idp.Fail(http.StatusServiceUnavailable)
	w.rec.failed(w.e)
	return nil
}

func (w *inProcess) advance(d time.Duration) error {
	w.e.clock.advance(d)
	w.rec.add(step{Op: "advance", Seconds: int64(d / time.Second)})
	return nil
}

func (w *inProcess) afterUnknownKIDInterval() error {
	return w.advance(2 * w.e.v.Config().JWKS.UnknownKIDInterval)
}

func (w *inProcess) refreshed() error {
	if err := w.afterUnknownKIDInterval(); err != nil {
		return err
	}
	w.rec.add(step{Op: "refresh"})
	return w.e.v.Refresh(context.Background())
}

func (w *inProcess) accepted(token string) error {
	w.rec.add(step{Op: "verify", Token: token, Expect: Accept})
	_, err := w.e.v.Verify(context.Background(), token)
	return err
}

// url is the address of a file a token names, which the verifier must
// never fetch.
func (e *env) url(file string) string { return e.strayBase + "/" + file }

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

// clock is a case's time source: fixed, moved only by the case; or, for a
// served target, which reads its own, the wall clock.
type clock struct {
	mu   sync.Mutex
	t    time.Time
	wall bool
}

func (c *clock) now() time.Time {
	if c.wall {
		return time.Now()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}
