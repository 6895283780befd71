package core_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"maps"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// The key lifecycle tests run a real verifier inside a synctest bubble,
// against an IdP it reaches through an in-memory RoundTripper. In the bubble,
// time.Now and the refresh loop's timers run on a fake clock that moves only
// when every goroutine of the bubble is blocked: a test lets time pass with
// time.Sleep, which costs no real time, and knows that what it set off has
// settled with synctest.Wait. The IdP is in memory because a goroutine
// waiting on a socket is not blocked in a way the bubble can see, while one
// waiting on a channel (a fetch the IdP holds) is. Nothing polls.

const (
	lcIssuer  = "https://idp.lifecycle.test"
	lcJWKSURL = lcIssuer + "/.well-known/jwks.json"
)

// The baseline's jwks defaults, which the lifecycle tests leave unset: the
// timings asserted here are those a service gets without configuring any.
const (
	lcRefreshInterval    = 10 * time.Minute
	lcUnknownKIDInterval = 5 * time.Second
	lcMaxStale           = 24 * time.Hour
)

// The outage tests shorten two settings. http_timeout: so that the "slower
// than http_timeout" outage ends well before the retry it is compared with.
// max_stale: a day of outage is some 1,400 retries, and each retry of the
// oversized outage reads 1 MiB, which alone would take minutes under the race
// detector; TestKeyLifecycleMaxStale checks the default bound.
const (
	lcShortHTTPTimeout = 500 * time.Millisecond
	lcOutageMaxStale   = 15 * time.Minute
)

var lcB64 = base64.RawURLEncoding

// lcKey is one signing key of the test IdP.
type lcKey struct {
	kid    string
	method jwt.SigningMethod
	priv   any
	jwk    map[string]any
}

// lcRSAKeys are generated once: RSA generation dominates test time otherwise.
var lcRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	out := make([]*rsa.PrivateKey, 3)
	for i := range out {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		out[i] = k
	}
	return out
})

// lcNewKey makes a key for alg: RS256 (2048 bits), ES256 (P-256) or EdDSA
// (Ed25519).
func lcNewKey(tb testing.TB, alg, kid string) *lcKey {
	tb.Helper()
	k := &lcKey{kid: kid}
	switch alg {
	case "RS256":
		h := fnv.New32a()
		h.Write([]byte(kid))
		priv := lcRSAKeys()[h.Sum32()%3]
		k.method, k.priv, k.jwk = jwt.SigningMethodRS256, priv, lcRSAJWK(&priv.PublicKey)
	case "ES256":
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		k.method, k.priv, k.jwk = jwt.SigningMethodES256, priv, lcECJWK(tb, &priv.PublicKey)
	case "EdDSA":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			tb.Fatal(err)
		}
		k.method, k.priv = jwt.SigningMethodEdDSA, priv
		k.jwk = map[string]any{"kty": "OKP", "crv": "Ed25519", "x": lcB64.EncodeToString(pub)}
	default:
		tb.Fatalf("no test key for %s", alg)
	}
	k.jwk["kid"], k.jwk["alg"], k.jwk["use"] = kid, alg, "sig"
	return k
}

func lcRSAJWK(pub *rsa.PublicKey) map[string]any {
	return map[string]any{"kty": "RSA", "n": lcB64.EncodeToString(pub.N.Bytes()),
		"e": lcB64.EncodeToString(big.NewInt(int64(pub.E)).Bytes())}
}

func lcECJWK(tb testing.TB, pub *ecdsa.PublicKey) map[string]any {
	e, err := pub.ECDH()
	if err != nil {
		tb.Fatal(err)
	}
	b := e.Bytes() // 0x04 || X || Y
	return map[string]any{"kty": "EC", "crv": "P-256", "x": lcB64.EncodeToString(b[1:33]), "y": lcB64.EncodeToString(b[33:])}
}

func lcJSON(tb testing.TB, v any) string {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return string(b)
}

// lcIdP is the identity provider: it publishes a JWKS and signs tokens. It
// is also the verifier's http.RoundTripper, so each fetch is a call into its
// handler, timed on the bubble's clock.
type lcIdP struct {
	mu           sync.Mutex
	keys         []*lcKey
	extra        []string // raw JWK objects published after the keys
	mode         string   // "ok" or one failure of lcOutages
	refused      bool     // fail every request as a refused connection
	etags        bool     // serve an ETag and honour If-None-Match
	bare304      bool     // answer 304 without repeating the ETag
	cacheControl string
	age          string
	gate         chan struct{} // while set, responses wait for it to close
	ifNoneMatch  []string
	exchanges    []lcExchange
	ended        chan struct{} // closed and replaced whenever an exchange ends
}

// lcExchange is one request the verifier sent, on the bubble's clock: the
// refresh loop arms its timer when a fetch ends, so the gap from one
// exchange's end to the next one's start is the delay it chose.
type lcExchange struct{ start, end time.Time }

func newLCIdP(keys ...*lcKey) *lcIdP {
	return &lcIdP{mode: "ok", keys: keys, ended: make(chan struct{})}
}

func (p *lcIdP) docLocked() string {
	parts := make([]string, 0, len(p.keys)+len(p.extra))
	for _, k := range p.keys {
		b, _ := json.Marshal(k.jwk)
		parts = append(parts, string(b))
	}
	parts = append(parts, p.extra...)
	return `{"keys":[` + strings.Join(parts, ",") + `]}`
}

// RoundTrip hands the request to the IdP's handler. A refused connection
// fails as net/http's transport would, without reaching the handler.
func (p *lcIdP) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	i := len(p.exchanges)
	p.exchanges = append(p.exchanges, lcExchange{start: time.Now()})
	refused := p.refused
	p.mu.Unlock()
	defer p.endExchange(i)
	if refused {
		return nil, &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	}
	w := httptest.NewRecorder()
	p.serve(w, r)
	if err := r.Context().Err(); err != nil {
		// The client gave up (http_timeout or Close): as over a real
		// connection, what the handler wrote afterwards never arrives.
		return nil, err
	}
	resp := w.Result()
	// net/http's transport sets it, and the https downgrade check reads it.
	resp.Request = r
	return resp, nil
}

func (p *lcIdP) endExchange(i int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.exchanges[i].end = time.Now()
	close(p.ended)
	p.ended = make(chan struct{})
}

func (p *lcIdP) serve(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	// The body is what the IdP published when the request arrived.
	mode, body, gate := p.mode, p.docLocked(), p.gate
	etag := ""
	if p.etags {
		sum := sha256.Sum256([]byte(body))
		etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		p.ifNoneMatch = append(p.ifNoneMatch, v)
	}
	cc, age, bare304 := p.cacheControl, p.age, p.bare304
	p.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	switch mode {
	case "503":
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
		return
	case "slow":
		<-r.Context().Done() // answers only after the client gave up
		return
	case "html":
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, "<html><body>Sign-in is under maintenance</body></html>")
		return
	case "emptykeys":
		io.WriteString(w, `{"keys":[]}`)
		return
	case "emptybody":
		w.WriteHeader(http.StatusOK)
		return
	case "oversized":
		// Valid JSON with usable keys, but past the 1 MiB cap.
		io.WriteString(w, body+strings.Repeat(" ", 1<<20))
		return
	case "unusable":
		io.WriteString(w, `{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}]}`)
		return
	}
	// RFC 9110 section 15.4.5: a 304 carries the Cache-Control and ETag a
	// 200 would, unless the test wants a bare one.
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if age != "" {
		w.Header().Set("Age", age)
	}
	if etag != "" {
		if r.Header.Get("If-None-Match") == etag {
			if !bare304 {
				w.Header().Set("ETag", etag)
			}
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", etag)
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	io.WriteString(w, body)
}

// publish sets the published keys, replacing the previous ones.
func (p *lcIdP) publish(keys ...*lcKey) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = keys
}

func (p *lcIdP) setMode(mode string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode = mode
}

func (p *lcIdP) setRefused(refused bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.refused = refused
}

// hold makes responses wait until release. A held response blocks on a
// channel of the bubble, so synctest.Wait returns while it is held.
func (p *lcIdP) hold() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate = make(chan struct{})
}

func (p *lcIdP) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
}

func (p *lcIdP) log() []lcExchange {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.exchanges)
}

func (p *lcIdP) fetches() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.exchanges)
}

func (p *lcIdP) inmClone() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.ifNoneMatch)
}

// token signs a valid access token with k, issued at now.
func (p *lcIdP) token(tb testing.TB, k *lcKey, now time.Time) string {
	tb.Helper()
	t := jwt.NewWithClaims(k.method, jwt.MapClaims{
		"iss": lcIssuer, "aud": "api", "sub": "user-1",
		"iat": now.Unix(), "exp": now.Add(1000 * time.Hour).Unix(),
	})
	t.Header["kid"] = k.kid
	s, err := t.SignedString(k.priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// lcWithKID is valid with its header's kid replaced. Its signature no longer
// verifies, which does not matter: an unknown kid fails before.
func lcWithKID(valid, kid string) string {
	_, rest, _ := strings.Cut(valid, ".")
	return lcB64.EncodeToString([]byte(`{"alg":"ES256","kid":"`+kid+`","typ":"JWT"}`)) + "." + rest
}

func lcRandomKID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// lcLogs collects the verifier's JSON log lines.
type lcLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lcLogs) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lcLogs) records(tb testing.TB, msg string) []map[string]any {
	tb.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for line := range strings.SplitSeq(strings.TrimSpace(l.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			tb.Fatalf("log line %q: %v", line, err)
		}
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// lcHooks records hook calls.
type lcHooks struct {
	mu      sync.Mutex
	fetches []core.FetchEvent
	changes []core.KeySetChange
}

func (h *lcHooks) FetchDone(e core.FetchEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fetches = append(h.fetches, e)
}

func (h *lcHooks) KeySetChanged(c core.KeySetChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.changes = append(h.changes, c)
}

func (h *lcHooks) snapshot() ([]core.FetchEvent, []core.KeySetChange) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.fetches), slices.Clone(h.changes)
}

// triggers lists "trigger/result" of every fetch, in order.
func (h *lcHooks) triggers() []string {
	fetches, _ := h.snapshot()
	out := make([]string, 0, len(fetches))
	for _, f := range fetches {
		out = append(out, f.Trigger+"/"+f.Result)
	}
	return out
}

// lcEnv is a verifier wired to a test IdP, inside a bubble.
type lcEnv struct {
	idp   *lcIdP
	logs  *lcLogs
	hooks *lcHooks
	v     *core.Verifier
}

// lcConfig is the baseline of the lifecycle tests: the jwks settings and the
// token cache are the defaults unless edit changes them.
func lcConfig(edit func(*core.Config)) core.Config {
	c := core.Config{
		Issuers:    []core.IssuerConfig{{Issuer: lcIssuer, JWKSURL: lcJWKSURL}},
		Audiences:  []string{"api"},
		Algorithms: []string{"EdDSA", "ES256", "RS256"},
	}
	if edit != nil {
		edit(&c)
	}
	return c
}

// lcNoTokenCache turns the verified-token cache off, for tests that must
// prove what the key lookup does: a cache hit never reaches it.
func lcNoTokenCache(c *core.Config) {
	zero := 0
	c.Cache.MaxEntries = &zero
}

func lcShortTimeout(c *core.Config) { c.JWKS.HTTPTimeout = lcShortHTTPTimeout }

func lcOutageConfig(c *core.Config) {
	c.JWKS.HTTPTimeout, c.JWKS.MaxStale = lcShortHTTPTimeout, lcOutageMaxStale
}

// lcStart builds the verifier inside the caller's bubble, with no clock
// option: the bubble's time is the verifier's. New fetches once; lcStart
// returns when the refresh loop has armed its first timer.
func lcStart(t *testing.T, p *lcIdP, edit func(*core.Config), opts ...core.Option) *lcEnv {
	t.Helper()
	e := &lcEnv{idp: p, logs: &lcLogs{}, hooks: &lcHooks{}}
	// The test's own hooks come first, so a panicking one runs before the
	// recorder.
	all := slices.Concat(opts, []core.Option{
		core.WithHTTPClient(&http.Client{Transport: p}),
		core.WithLogger(slog.New(slog.NewJSONHandler(e.logs, nil))), core.WithHooks(e.hooks),
	})
	v, err := core.New(lcConfig(edit), all...)
	if err != nil {
		t.Fatal(err)
	}
	// Cleanups run inside the bubble, which then ends only once every
	// goroutine of the verifier has.
	t.Cleanup(v.Close)
	t.Cleanup(p.release)
	e.v = v
	synctest.Wait()
	return e
}

// tick lets fake time run until the next fetch reaches the IdP and ends,
// waits until everything that fetch woke has settled, and returns the delay
// the verifier waited before it: from the end of the previous exchange to
// the start of this one.
func (e *lcEnv) tick(tb testing.TB) time.Duration {
	tb.Helper()
	// A fetch already in flight (an unknown kid's, which the verify that
	// asked for it stopped waiting on) ends first: it is not the tick's.
	for {
		synctest.Wait()
		e.idp.mu.Lock()
		ended, inFlight := e.idp.ended, slices.ContainsFunc(e.idp.exchanges, func(x lcExchange) bool { return x.end.IsZero() })
		e.idp.mu.Unlock()
		if !inFlight {
			break
		}
		<-ended
	}
	e.idp.mu.Lock()
	ended, n := e.idp.ended, len(e.idp.exchanges)
	e.idp.mu.Unlock()
	<-ended
	synctest.Wait()
	ex := e.idp.log()
	if len(ex) != n+1 {
		tb.Fatalf("%d fetches in one tick, want 1", len(ex)-n)
	}
	return ex[n].start.Sub(ex[n-1].end)
}

func (e *lcEnv) verify(tok string) error {
	_, err := e.v.Verify(context.Background(), tok)
	return err
}

func (e *lcEnv) stats(tb testing.TB) core.IssuerStats {
	tb.Helper()
	st := e.v.Stats()
	if len(st) != 1 {
		tb.Fatalf("Stats() has %d issuers, want 1", len(st))
	}
	return st[0]
}

func (e *lcEnv) wantFetches(tb testing.TB, want int) {
	tb.Helper()
	if got := e.idp.fetches(); got != want {
		tb.Fatalf("the verifier sent %d fetches, want %d", got, want)
	}
}

// lcClass is the class each reason of the key lifecycle belongs to.
var lcClass = map[core.Reason]error{
	core.ReasonKeyNotFound:      core.ErrInvalidToken,
	core.ReasonKeysUnavailable:  core.ErrServerUnavailable,
	core.ReasonSignatureInvalid: core.ErrInvalidToken,
	core.ReasonAlgNotAllowed:    core.ErrInvalidToken,
	core.ReasonHeaderInvalid:    core.ErrInvalidToken,
}

// lcReason checks that err is a *core.Error with reason, and that
// errors.Is matches both the reason and its class.
func lcReason(err error, reason core.Reason) error {
	var ce *core.Error
	switch {
	case !errors.Is(err, reason):
		return fmt.Errorf("error %v: errors.Is(%s) is false", err, reason)
	case !errors.Is(err, lcClass[reason]):
		return fmt.Errorf("error %v: errors.Is(%v) is false", err, lcClass[reason])
	case !errors.As(err, &ce) || ce.Reason != reason:
		return fmt.Errorf("error %v: reason is not %s", err, reason)
	}
	return nil
}

func lcWant(tb testing.TB, err error, reason core.Reason) {
	tb.Helper()
	if e := lcReason(err, reason); e != nil {
		tb.Fatal(e)
	}
}

func lcWantOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("want accepted, got %v", err)
	}
}

// A just-rotated kid arrives on 100 requests at once: one fetch, all 100
// wait for it, and all are accepted.
func TestKeyLifecycleUnknownKIDCoalesced(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				old := lcNewKey(t, "ES256", "old")
				e := lcStart(t, newLCIdP(old), lcNoTokenCache)
				e.wantFetches(t, 1)
				fresh := lcNewKey(t, alg, "new-"+alg)
				e.idp.publish(old, fresh)
				tok := e.idp.token(t, fresh, time.Now())

				e.idp.hold()
				var wg sync.WaitGroup
				var accepted atomic.Int64
				errs := make(chan error, 100)
				for range 100 {
					wg.Go(func() {
						if err := e.verify(tok); err != nil {
							errs <- err
							return
						}
						accepted.Add(1)
					})
				}
				synctest.Wait()
				// Every request now waits on the one fetch the first of
				// them started, which the IdP holds.
				e.wantFetches(t, 2)
				if n := accepted.Load() + int64(len(errs)); n != 0 {
					t.Fatalf("%d requests returned before the fetch for their kid", n)
				}
				e.idp.release()
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Errorf("rejected: %v", err)
				}
				if got := accepted.Load(); got != 100 {
					t.Fatalf("accepted %d of 100", got)
				}
				e.wantFetches(t, 2)
				if st := e.stats(t); st.FetchOK != 2 || st.Keys != 2 {
					t.Fatalf("stats: FetchOK %d Keys %d, want 2 and 2", st.FetchOK, st.Keys)
				}
				if got := e.hooks.triggers(); !slices.Equal(got, []string{"startup/ok", "unknown_kid/ok"}) {
					t.Fatalf("fetches %v", got)
				}
			})
		})
	}
}

// The IdP rotates 10 times while requests keep coming, each time signing
// with the new key at once: nothing is rejected, and each rotation costs
// exactly one fetch.
func TestKeyLifecycleRotation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		algs := []string{"ES256", "EdDSA", "RS256"}
		k0 := lcNewKey(t, "ES256", "rot-0")
		e := lcStart(t, newLCIdP(k0), lcNoTokenCache)

		type current struct {
			gen int
			tok string
		}
		var cur atomic.Pointer[current]
		cur.Store(&current{0, e.idp.token(t, k0, time.Now())})
		// Each worker sends a request every period of fake time, so time
		// can pass between rotations while the traffic goes on.
		const workers, period = 8, 250 * time.Millisecond
		var seen [workers]atomic.Int64 // last generation each worker verified
		var rejected atomic.Int64
		firstErr := make(chan error, 1)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				every := time.NewTicker(period)
				defer every.Stop()
				for {
					c := cur.Load()
					if err := e.verify(c.tok); err != nil {
						rejected.Add(1)
						select {
						case firstErr <- err:
						default:
						}
					}
					seen[w].Store(int64(c.gen))
					select {
					case <-stop:
						return
					case <-every.C:
					}
				}
			})
		}

		keys := []*lcKey{k0}
		for gen := 1; gen <= 10; gen++ {
			k := lcNewKey(t, algs[gen%3], fmt.Sprintf("rot-%d", gen))
			keys = append(keys, k)
			// Publish the new key and retire the one before the previous.
			e.idp.publish(keys[max(0, len(keys)-2):]...)
			before := e.idp.fetches()
			tok := e.idp.token(t, k, time.Now())
			cur.Store(&current{gen, tok})
			var direct sync.WaitGroup
			for range 20 {
				direct.Go(func() {
					if err := e.verify(tok); err != nil {
						rejected.Add(1)
					}
				})
			}
			direct.Wait()
			// Two periods on, every worker has sent a request that started
			// after the new token was out.
			time.Sleep(2 * period)
			for i := range seen {
				if g := seen[i].Load(); g < int64(gen) {
					t.Fatalf("rotation %d: worker %d last verified generation %d", gen, i, g)
				}
			}
			if n := e.idp.fetches() - before; n != 1 {
				t.Fatalf("rotation %d: %d fetches, want 1", gen, n)
			}
			// The next rotation comes after the unknown-kid cooldown.
			time.Sleep(lcUnknownKIDInterval - 2*period)
		}
		close(stop)
		wg.Wait()
		if n := rejected.Load(); n != 0 {
			t.Fatalf("%d rejections during rotation; first: %v", n, <-firstErr)
		}
		e.wantFetches(t, 11)
		if st := e.stats(t); !slices.Equal(st.KIDs, []string{"rot-10", "rot-9"}) {
			t.Fatalf("kids after rotation: %v", st.KIDs)
		}
	})
}

// A burst of 10,000 random kids: one fetch for the cooldown, every one
// key_not_found, and requests with a known kid never wait, even while that
// fetch hangs. After the cooldown a real new key is picked up. (That the
// negative kid cache stays bounded meanwhile is tested in internal/jwks.)
func TestKeyLifecycleUnknownKIDFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		known := lcNewKey(t, "ES256", "known")
		e := lcStart(t, newLCIdP(known), lcNoTokenCache)
		knownTok := e.idp.token(t, known, time.Now())

		const workers = 64
		burst := func(n int) (notFound int64, errs []error) {
			jobs := make(chan string, n)
			for range n {
				jobs <- lcWithKID(knownTok, lcRandomKID())
			}
			close(jobs)
			var mu sync.Mutex
			var count atomic.Int64
			var wg sync.WaitGroup
			for range workers {
				wg.Go(func() {
					for tok := range jobs {
						if err := lcReason(e.verify(tok), core.ReasonKeyNotFound); err != nil {
							mu.Lock()
							errs = append(errs, err)
							mu.Unlock()
							continue
						}
						count.Add(1)
					}
				})
			}
			wg.Wait()
			return count.Load(), errs
		}

		e.idp.hold()
		type result struct {
			n    int64
			errs []error
		}
		done := make(chan result, 1)
		go func() {
			n, errs := burst(10000)
			done <- result{n, errs}
		}()
		synctest.Wait()
		// The first random kid started a fetch, which hangs at the IdP; each
		// worker waits on it with the kid it took.
		e.wantFetches(t, 2)
		// Known kids must not wait on it.
		knownDone := make(chan error, 1)
		go func() {
			for range 500 {
				if err := e.verify(knownTok); err != nil {
					knownDone <- err
					return
				}
			}
			knownDone <- nil
		}()
		synctest.Wait()
		select {
		case err := <-knownDone:
			lcWantOK(t, err)
		default:
			t.Fatal("known-kid verification blocked behind the unknown-kid fetch")
		}
		e.idp.release()
		r := <-done
		for _, err := range r.errs[:min(len(r.errs), 5)] {
			t.Error(err)
		}
		if r.n != 10000 {
			t.Fatalf("%d of 10000 random kids were key_not_found", r.n)
		}
		e.wantFetches(t, 2)

		// Still within the cooldown: more random kids fail at once, no fetch.
		if n, errs := burst(1000); n != 1000 {
			t.Fatalf("second burst: %d of 1000 key_not_found; %v", n, errs[:min(len(errs), 5)])
		}
		e.wantFetches(t, 2)
		// Only the kids that waited on the fetch were not refused outright.
		if st := e.stats(t); st.RefusedUnknown != 10000-workers+1000 {
			t.Fatalf("RefusedUnknown = %d, want %d", st.RefusedUnknown, 10000-workers+1000)
		}

		// After the cooldown, a genuinely new key is fetched once and accepted.
		fresh := lcNewKey(t, "EdDSA", "fresh")
		e.idp.publish(known, fresh)
		freshTok := e.idp.token(t, fresh, time.Now())
		lcWant(t, e.verify(freshTok), core.ReasonKeyNotFound) // still cooling down
		e.wantFetches(t, 2)
		time.Sleep(lcUnknownKIDInterval)
		lcWantOK(t, e.verify(freshTok))
		e.wantFetches(t, 3)
	})
}

// lcOutage is one way a JWKS fetch fails. Each must leave the held key set
// serving, never count as "the IdP has no keys".
type lcOutage struct {
	name        string
	explanation string
	apply       func(*lcIdP)
}

var lcOutages = []lcOutage{
	{"503", "the IdP answers with a server error", func(p *lcIdP) { p.setMode("503") }},
	{"connection refused", "nothing listens at the IdP's address", func(p *lcIdP) { p.setRefused(true) }},
	{"slower than http_timeout", "the IdP accepts the request and never answers in time", func(p *lcIdP) { p.setMode("slow") }},
	{"HTML body", "a 200 carrying a maintenance page is not a key set", func(p *lcIdP) { p.setMode("html") }},
	{"empty key list", `a 200 of {"keys":[]} must not wipe the held keys`, func(p *lcIdP) { p.setMode("emptykeys") }},
	{"empty body", "a 200 with no body is not a key set", func(p *lcIdP) { p.setMode("emptybody") }},
	{"over 1 MiB", "a key set past the size cap is refused before parsing", func(p *lcIdP) { p.setMode("oversized") }},
	{"no usable key", "a set whose only key is symmetric leaves nothing to verify with", func(p *lcIdP) { p.setMode("unusable") }},
}

func lcRecover(p *lcIdP) {
	p.setRefused(false)
	p.setMode("ok")
}

// While fetches fail, known kids keep verifying from the last good set up to
// max_stale after the last success; a moment past it, verification fails
// closed with keys_unavailable.
func TestKeyLifecycleOutage(t *testing.T) {
	for _, o := range lcOutages {
		t.Run(o.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := lcNewKey(t, "ES256", "k1")
				e := lcStart(t, newLCIdP(k), lcOutageConfig)
				tok := e.idp.token(t, k, time.Now())
				before := e.stats(t)
				o.apply(e.idp)

				e.tick(t) // the periodic refresh fails
				st := e.stats(t)
				if st.FetchFailed != 1 || st.Fingerprint != before.Fingerprint || !st.Ready || st.LastError == "" {
					t.Fatalf("%s: after one failed fetch: FetchFailed %d, fingerprint kept %v, Ready %v, LastError %q",
						o.explanation, st.FetchFailed, st.Fingerprint == before.Fingerprint, st.Ready, st.LastError)
				}
				if err := e.verify(tok); err != nil {
					t.Fatalf("%s: known kid rejected while serving stale: %v", o.explanation, err)
				}
				recs := e.logs.records(t, "jwks fetch failed")
				if len(recs) != 1 || recs[0]["level"] != "WARN" || recs[0]["trigger"] != "periodic" || recs[0]["serving"] != "last good key set" {
					t.Fatalf("%s: fetch failure log lines: %v", o.explanation, recs)
				}
				// A new kid cannot be had while the IdP is failing: the token
				// may be fine, so the answer is keys_unavailable, not 401.
				other := lcNewKey(t, "ES256", "k2")
				lcWant(t, e.verify(e.idp.token(t, other, time.Now())), core.ReasonKeysUnavailable)

				e.tick(t) // the retry fails too
				lcWantOK(t, e.verify(tok))

				// Exactly max_stale after the last success the held set
				// still serves; a second later nothing is.
				time.Sleep(time.Until(before.LastSuccess.Add(lcOutageMaxStale)))
				lcWantOK(t, e.verify(tok))
				if !e.v.Ready() {
					t.Fatal("not ready at max_stale")
				}
				time.Sleep(time.Second)
				err := e.verify(tok)
				lcWant(t, err, core.ReasonKeysUnavailable)
				if e.v.Ready() || e.stats(t).Ready {
					t.Fatal("ready past max_stale")
				}
				e.tick(t) // a retry past max_stale
				recs = e.logs.records(t, "jwks fetch failed")
				if last := recs[len(recs)-1]; last["level"] != "ERROR" || last["serving"] != "none" {
					t.Fatalf("a failure past max_stale logs %v, want ERROR serving none", last)
				}

				lcRecover(e.idp)
				e.tick(t)
				lcWantOK(t, e.verify(tok))
				if !e.v.Ready() {
					t.Fatal("not ready after the IdP recovered")
				}
			})
		})
	}
}

// max_stale bounds how long the last good set serves through an outage, to
// the second; unset, it is a day.
func TestKeyLifecycleMaxStale(t *testing.T) {
	for _, c := range []struct {
		name string
		set  time.Duration // 0: the default
		want time.Duration
	}{
		{"default", 0, lcMaxStale},
		{"configured", 90 * time.Minute, 90 * time.Minute},
	} {
		t.Run(c.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := lcNewKey(t, "ES256", "k1")
				p := newLCIdP(k)
				e := lcStart(t, p, func(cfg *core.Config) { cfg.JWKS.MaxStale = c.set })
				tok := p.token(t, k, time.Now())
				lastGood := e.stats(t).LastSuccess
				p.setMode("503")
				time.Sleep(time.Until(lastGood.Add(c.want)))
				lcWantOK(t, e.verify(tok))
				if !e.v.Ready() {
					t.Fatalf("not ready %v after the last success", c.want)
				}
				// A fetch failing at that instant says the held set still
				// serves; a second later, that nothing does.
				lastFailure := func() map[string]any {
					if err := e.v.Refresh(context.Background()); err == nil {
						t.Fatal("Refresh succeeded against a failing IdP")
					}
					recs := e.logs.records(t, "jwks fetch failed")
					return recs[len(recs)-1]
				}
				if rec := lastFailure(); rec["level"] != "WARN" || rec["serving"] != "last good key set" {
					t.Fatalf("a failure at max_stale logs %v", rec)
				}
				time.Sleep(time.Second)
				if rec := lastFailure(); rec["level"] != "ERROR" || rec["serving"] != "none" {
					t.Fatalf("a failure past max_stale logs %v", rec)
				}
				lcWant(t, e.verify(tok), core.ReasonKeysUnavailable)
				if st := e.stats(t); e.v.Ready() || st.Ready || !st.LastSuccess.Equal(lastGood) || st.FetchFailed == 0 {
					t.Fatalf("%v past the last success: Ready %v, %+v", c.want+time.Second, e.v.Ready(), st)
				}
			})
		})
	}
}

// An IdP that is down at start does not stop the service: New returns after
// a first fetch bounded by http_timeout, the verifier reports not ready and
// answers keys_unavailable, and it becomes ready on the first retry that
// succeeds.
func TestKeyLifecycleStartupIdPDown(t *testing.T) {
	for _, o := range lcOutages {
		t.Run(o.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := lcNewKey(t, "ES256", "k1")
				p := newLCIdP(k)
				o.apply(p)
				began := time.Now()
				e := lcStart(t, p, lcShortTimeout)
				if took := time.Since(began); took > lcShortHTTPTimeout {
					t.Fatalf("New took %v with http_timeout %v", took, lcShortHTTPTimeout)
				}
				tok := p.token(t, k, time.Now())
				if e.v.Ready() {
					t.Fatalf("%s: ready without a key set", o.explanation)
				}
				lcWant(t, e.verify(tok), core.ReasonKeysUnavailable)
				st := e.stats(t)
				if st.FetchFailed != 1 || st.FetchOK != 0 || st.Keys != 0 || st.Ready || !st.LastSuccess.IsZero() {
					t.Fatalf("%s: stats at start: %+v", o.explanation, st)
				}
				recs := e.logs.records(t, "jwks fetch failed")
				if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["trigger"] != "startup" {
					t.Fatalf("%s: startup failure log lines: %v", o.explanation, recs)
				}

				if d := e.tick(t); d < 900*time.Millisecond || d > 1100*time.Millisecond {
					t.Fatalf("first retry after %v, want 1s ±10%%", d)
				}
				lcWant(t, e.verify(tok), core.ReasonKeysUnavailable)

				lcRecover(p)
				e.tick(t)
				if !e.v.Ready() {
					t.Fatal("not ready after the IdP recovered")
				}
				lcWantOK(t, e.verify(tok))
				if st := e.stats(t); st.FetchFailed != 2 || st.FetchOK != 1 || st.LastError != "" {
					t.Fatalf("stats after recovery: %+v", st)
				}
			})
		})
	}
}

// Failed fetches are retried after 1s, 2s, 4s ... capped at 1m, each with
// ±10% jitter; the first success returns to refresh_interval.
func TestKeyLifecycleBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newLCIdP(lcNewKey(t, "ES256", "k1"))
		p.setMode("503")
		e := lcStart(t, p, nil)
		for i, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
			want *= time.Second
			if d := e.tick(t); d < want*9/10 || d > want*11/10 {
				t.Fatalf("retry %d after %v, want %v ±10%%", i+1, d, want)
			}
		}
		if st := e.stats(t); st.FetchFailed != 10 {
			t.Fatalf("FetchFailed = %d, want 10", st.FetchFailed)
		}
		lcRecover(p)
		if d := e.tick(t); d < 54*time.Second || d > 66*time.Second {
			t.Fatalf("the retry that succeeds came after %v, want 1m ±10%%", d)
		}
		if d := e.tick(t); d < lcRefreshInterval*9/10 || d > lcRefreshInterval*11/10 {
			t.Fatalf("after recovery the next refresh came after %v, want %v ±10%%", d, lcRefreshInterval)
		}
		want := []string{"startup/failed"}
		for range 9 {
			want = append(want, "retry/failed")
		}
		want = append(want, "retry/ok", "periodic/ok")
		if got := e.hooks.triggers(); !slices.Equal(got, want) {
			t.Fatalf("fetches %v, want %v", got, want)
		}
	})
}

// Periodic refreshes come every refresh_interval with about ±10% jitter.
func TestKeyLifecycleJitter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := lcStart(t, newLCIdP(lcNewKey(t, "ES256", "k1")), nil)
		distinct := map[time.Duration]bool{}
		var early, late int
		for range 20 {
			d := e.tick(t)
			if d < lcRefreshInterval*9/10 || d > lcRefreshInterval*11/10 {
				t.Fatalf("refresh after %v, want %v ±10%%", d, lcRefreshInterval)
			}
			distinct[d] = true
			if d < lcRefreshInterval {
				early++
			} else if d > lcRefreshInterval {
				late++
			}
		}
		if len(distinct) < 2 {
			t.Fatal("20 refresh delays are all equal: no jitter")
		}
		// Spread both ways, so the mean stays refresh_interval (one in
		// 2^19 runs would see all 20 on one side).
		if early == 0 || late == 0 {
			t.Fatalf("%d refreshes came early and %d late: the jitter is one-sided", early, late)
		}
		e.wantFetches(t, 21)
	})
}

// Cache-Control max-age sets the next refresh, clamped between
// unknown_kid_interval and refresh_interval.
func TestKeyLifecycleCacheControl(t *testing.T) {
	for _, c := range []struct {
		cacheControl, age string
		want              time.Duration
	}{
		{"", "", 10 * time.Minute},
		{"max-age=60", "", time.Minute},
		{"public, max-age=300, must-revalidate", "", 5 * time.Minute},
		{"max-age=120", "60", time.Minute},      // RFC 9111 section 4.2.3: less the Age
		{"max-age=60", "-30", time.Minute},      // an invalid Age is ignored, never added
		{`max-age="30"`, "", 30 * time.Second},  // the quoted form
		{"max-age=1", "", 5 * time.Second},      // clamped up to unknown_kid_interval
		{"max-age=0", "", 5 * time.Second},      // clamped up to unknown_kid_interval
		{"max-age=86400", "", 10 * time.Minute}, // clamped down to refresh_interval
		{"no-cache", "", 10 * time.Minute},      // only max-age is read
		{"max-age=soon", "", 10 * time.Minute},  // invalid: ignored
		{"max-age=90, max-age=30", "", 90 * time.Second},
	} {
		t.Run(fmt.Sprintf("cache-control %q age %q", c.cacheControl, c.age), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newLCIdP(lcNewKey(t, "ES256", "k1"))
				p.cacheControl, p.age = c.cacheControl, c.age
				e := lcStart(t, p, nil)
				for range 2 { // the first refresh follows the start, the next one a refresh
					if d := e.tick(t); d < c.want*9/10 || d > c.want*11/10 {
						t.Fatalf("next refresh in %v, want %v ±10%%", d, c.want)
					}
				}
			})
		})
	}
}

// With an ETag, refreshes are conditional; a 304 keeps the set and counts as
// a success, so it also renews the max_stale window.
func TestKeyLifecycleETag(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		p := newLCIdP(k)
		p.etags = true
		e := lcStart(t, p, nil)
		tok := p.token(t, k, time.Now())
		first := e.stats(t)

		e.tick(t)
		st := e.stats(t)
		if st.FetchOK != 1 || st.FetchNotModified != 1 || st.Fingerprint != first.Fingerprint {
			t.Fatalf("after a 304: %+v", st)
		}
		if !st.LastSuccess.Equal(time.Now()) || st.Age != 0 {
			t.Fatalf("a 304 did not renew LastSuccess: %v (now %v), age %v", st.LastSuccess, time.Now(), st.Age)
		}
		inm := p.inmClone()
		if len(inm) != 1 || !strings.HasPrefix(inm[0], `"`) {
			t.Fatalf("If-None-Match sent: %q", inm)
		}

		// 40h of refreshes answered 304 keep the set serving well past
		// max_stale after the last 200.
		time.Sleep(40 * time.Hour)
		synctest.Wait()
		lcWantOK(t, e.verify(tok))
		st = e.stats(t)
		fetches := e.idp.fetches()
		if st.FetchOK != 1 || st.FetchNotModified != uint64(fetches-1) || fetches < int(40*time.Hour/(lcRefreshInterval*11/10)) {
			t.Fatalf("after 40h of 304s: %d fetches, %+v", fetches, st)
		}
		if inm := p.inmClone(); len(inm) != fetches-1 || slices.ContainsFunc(inm, func(v string) bool { return v != inm[0] }) {
			t.Fatalf("%d fetches sent If-None-Match %d times, not always the first ETag", fetches, len(inm))
		}

		// A changed set changes the ETag: a 200 with the new keys.
		k2 := lcNewKey(t, "EdDSA", "k2")
		p.publish(k, k2)
		e.tick(t)
		if st := e.stats(t); st.FetchOK != 2 || st.Keys != 2 {
			t.Fatalf("after the set changed: %+v", st)
		}
		fetchEvents, changes := e.hooks.snapshot()
		if len(changes) != 2 {
			t.Fatalf("%d key set changes, want 2 (load, k2 added)", len(changes))
		}
		var results []string
		for _, f := range fetchEvents {
			results = append(results, f.Result)
		}
		want := []string{"ok"}
		for range fetches - 1 {
			want = append(want, "not_modified")
		}
		want = append(want, "ok")
		if !slices.Equal(results, want) {
			t.Fatalf("fetch results %v, want %v", results, want)
		}
	})
}

// A key the IdP stops publishing stops validating after the next refresh,
// and the change is logged as old kids -> new kids.
func TestKeyLifecycleRemoval(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b := lcNewKey(t, "ES256", "a"), lcNewKey(t, "RS256", "b")
		e := lcStart(t, newLCIdP(a, b), nil)
		tokA, tokB := e.idp.token(t, a, time.Now()), e.idp.token(t, b, time.Now())
		lcWantOK(t, e.verify(tokA))
		lcWantOK(t, e.verify(tokB))

		e.idp.publish(b)
		lcWantOK(t, e.verify(tokA)) // known until the next refresh; no fetch for a known kid
		e.wantFetches(t, 1)
		e.tick(t)
		lcWant(t, e.verify(tokA), core.ReasonKeyNotFound)
		lcWantOK(t, e.verify(tokB))
		// The removed kid is now unknown: it cost one fetch, then the negative
		// cache answers.
		e.wantFetches(t, 3)
		lcWant(t, e.verify(tokA), core.ReasonKeyNotFound)
		e.wantFetches(t, 3)

		recs := e.logs.records(t, "jwks key set changed")
		if len(recs) != 2 {
			t.Fatalf("%d key set change lines, want 2: %v", len(recs), recs)
		}
		if got := fmt.Sprint(recs[1]["old_kids"], " -> ", recs[1]["new_kids"]); got != "[a b] -> [b]" {
			t.Fatalf("change logged as %s", got)
		}
		if got := fmt.Sprint(recs[0]["old_kids"], " -> ", recs[0]["new_kids"]); got != "[] -> [a b]" {
			t.Fatalf("first load logged as %s", got)
		}
		_, changes := e.hooks.snapshot()
		if len(changes) != 2 || !slices.Equal(changes[1].OldKIDs, []string{"a", "b"}) || !slices.Equal(changes[1].NewKIDs, []string{"b"}) {
			t.Fatalf("hook changes: %+v", changes)
		}
	})
}

// Verifier.Refresh fetches now: a revoked key stops validating when it
// returns, even if a fetch that started before the revocation is running.
func TestKeyLifecycleForcedRefresh(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a, b, c := lcNewKey(t, "ES256", "a"), lcNewKey(t, "EdDSA", "b"), lcNewKey(t, "ES256", "c")
		e := lcStart(t, newLCIdP(a, b), nil)
		ctx := context.Background()
		tokA, tokB := e.idp.token(t, a, time.Now()), e.idp.token(t, b, time.Now())

		e.idp.publish(b)
		lcWantOK(t, e.verify(tokA))
		if err := e.v.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		e.wantFetches(t, 2)
		lcWant(t, e.verify(tokA), core.ReasonKeyNotFound)
		lcWantOK(t, e.verify(tokB))
		e.wantFetches(t, 3) // the revoked kid is unknown now: one fetch to confirm
		time.Sleep(lcUnknownKIDInterval)

		// A fetch is under way with the old set {b} when b is revoked.
		e.idp.hold()
		unknown := make(chan error, 1)
		go func() { unknown <- e.verify(lcWithKID(tokB, "not-yet")) }()
		synctest.Wait()
		e.wantFetches(t, 4)
		e.idp.publish(c)
		refreshed := make(chan error, 1)
		go func() { refreshed <- e.v.Refresh(ctx) }()
		synctest.Wait()
		// Refresh neither returned with the running fetch's set nor started
		// a fetch beside it: it waits that fetch out.
		if len(refreshed) != 0 {
			t.Fatalf("Refresh returned %v while a fetch that predates it was running", <-refreshed)
		}
		e.wantFetches(t, 4)
		e.idp.release()
		if err := <-refreshed; err != nil {
			t.Fatal(err)
		}
		lcWant(t, <-unknown, core.ReasonKeyNotFound)
		lcWant(t, e.verify(tokB), core.ReasonKeyNotFound)
		lcWantOK(t, e.verify(e.idp.token(t, c, time.Now())))
		e.wantFetches(t, 5)
		_, changes := e.hooks.snapshot()
		if last := changes[len(changes)-1]; !slices.Equal(last.NewKIDs, []string{"c"}) {
			t.Fatalf("last change %+v, want new kids [c]", last)
		}
		want := []string{"startup/ok", "forced/ok", "unknown_kid/ok", "unknown_kid/ok", "forced/ok"}
		if got := e.hooks.triggers(); !slices.Equal(got, want) {
			t.Fatalf("fetches %v, want %v", got, want)
		}
	})
}

// One bad or unsupported key is skipped and logged; the others load.
func TestKeyLifecycleBadKeySkipped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		good, goodRSA := lcNewKey(t, "ES256", "good-ec"), lcNewKey(t, "RS256", "good-rsa")
		p := newLCIdP(good, goodRSA)
		small, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		smallJWK := lcRSAJWK(&small.PublicKey)
		smallJWK["kid"], smallJWK["alg"] = "rsa-1024", "RS256"
		enc := lcNewKey(t, "ES256", "enc")
		enc.jwk["use"] = "enc"
		hs := lcRSAJWK(&lcRSAKeys()[0].PublicKey)
		hs["kid"], hs["alg"] = "hs256", "HS256"
		p.extra = []string{
			`{"kty":"oct","kid":"oct","k":"c2VjcmV0LXNlY3JldC1zZWNyZXQ"}`, // RFC 8725 section 3.1
			lcJSON(t, enc.jwk), // RFC 7517 section 4.2: not for signatures
			lcJSON(t, hs),      // alg outside the allowlist
			lcJSON(t, smallJWK),
			`{"kty":"EC","kid":"broken","crv":"P-256","x":"AAAA","y":"AAAA"}`,
		}
		e := lcStart(t, p, nil)
		st := e.stats(t)
		if st.Keys != 2 || !slices.Equal(st.KIDs, []string{"good-ec", "good-rsa"}) || !st.Ready {
			t.Fatalf("loaded %d keys %v, want good-ec and good-rsa", st.Keys, st.KIDs)
		}
		// The small and the broken key are warnings; the others are keys
		// the baseline does not use.
		if n, m := len(e.logs.records(t, "jwks key skipped")), len(e.logs.records(t, "jwks key not used")); n != 2 || m != 3 {
			t.Fatalf("%d skipped and %d unused key lines, want 2 and 3", n, m)
		}
		lcWantOK(t, e.verify(p.token(t, good, time.Now())))
		lcWantOK(t, e.verify(p.token(t, goodRSA, time.Now())))
		smallKey := &lcKey{kid: "rsa-1024", method: jwt.SigningMethodRS256, priv: small}
		lcWant(t, e.verify(p.token(t, smallKey, time.Now())), core.ReasonKeyNotFound)
	})
}

// Stats and hooks report every fetch and change; a panicking hook is
// recovered and does not stop the others.
func TestKeyLifecycleStatsAndHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		p := newLCIdP(k)
		e := lcStart(t, p, nil, core.WithHooks(lcPanicHooks{}))
		start := time.Now()
		st := e.stats(t)
		if st.Issuer != lcIssuer || st.Source != lcJWKSURL || st.FetchOK != 1 || st.FetchFailed != 0 || st.Keys != 1 ||
			!slices.Equal(st.KIDs, []string{"k1"}) || !strings.HasPrefix(st.Fingerprint, "sha256:") ||
			!st.LastSuccess.Equal(start) || st.Age != 0 || !st.Ready {
			t.Fatalf("stats at start: %+v", st)
		}
		time.Sleep(3 * time.Minute)
		if st := e.stats(t); st.Age != 3*time.Minute {
			t.Fatalf("Age = %v, want 3m", st.Age)
		}

		p.setMode("503")
		e.tick(t)
		st2 := e.stats(t)
		if st2.FetchFailed != 1 || st2.LastError != "unexpected status 503" || !st2.LastSuccess.Equal(start) {
			t.Fatalf("stats after a failure: %+v", st2)
		}
		lcRecover(p)
		k2 := lcNewKey(t, "EdDSA", "k2")
		p.publish(k2)
		e.tick(t)
		st3 := e.stats(t)
		if st3.Fingerprint == st.Fingerprint || !slices.Equal(st3.KIDs, []string{"k2"}) || st3.LastError != "" {
			t.Fatalf("stats after a change: %+v", st3)
		}

		fetches, changes := e.hooks.snapshot()
		type row struct {
			trigger, result string
			failed          bool
		}
		var got []row
		for _, f := range fetches {
			// Keys is the size of the set served after the fetch, the held
			// one after a failure.
			if f.Issuer != lcIssuer || f.URL != lcJWKSURL || f.Keys != 1 {
				t.Fatalf("event %+v", f)
			}
			got = append(got, row{f.Trigger, f.Result, f.Err != nil})
		}
		want := []row{
			{"startup", "ok", false},
			{"periodic", "failed", true},
			{"retry", "ok", false},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("fetch events %v, want %v", got, want)
		}
		if len(changes) != 2 || len(changes[0].OldKIDs) != 0 || !slices.Equal(changes[1].OldKIDs, []string{"k1"}) ||
			!slices.Equal(changes[1].NewKIDs, []string{"k2"}) || changes[1].Fingerprint != st3.Fingerprint {
			t.Fatalf("changes %+v", changes)
		}
		panics := e.logs.records(t, "jwtguard key hook panicked")
		if len(panics) != 5 {
			t.Fatalf("%d hook panics logged, want 5 (3 fetches, 2 changes)", len(panics))
		}
		for _, rec := range panics {
			if rec["panic"] != "metrics exporter bug" {
				t.Fatalf("a hook panic logged as %v: only the panicking hook's calls are, with what it panicked with", rec)
			}
		}
	})
}

// lcPanicHooks panics on every call; it is registered before the recorder.
type lcPanicHooks struct{}

func (lcPanicHooks) FetchDone(core.FetchEvent)       { panic("metrics exporter bug") }
func (lcPanicHooks) KeySetChanged(core.KeySetChange) { panic("metrics exporter bug") }

// Close stops the refresh loop and cancels a fetch under way without waiting
// for it to time out; afterwards the verifier never fetches again and no
// goroutine it started is left. A closed verifier still answers from the
// keys it holds.
func TestKeyLifecycleCloseLeavesNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		p := newLCIdP(k)
		e := lcStart(t, p, nil)
		tok := p.token(t, k, time.Now())
		e.tick(t)
		lcWantOK(t, e.verify(tok))

		p.hold()
		waiting := make(chan error, 1)
		go func() { waiting <- e.verify(lcWithKID(tok, "new")) }()
		synctest.Wait()
		e.wantFetches(t, 3) // startup, periodic, and the held unknown-kid fetch
		closing := time.Now()
		closed := make(chan struct{})
		go func() {
			e.v.Close()
			close(closed)
		}()
		synctest.Wait()
		// No fake time passed: Close cancelled the held fetch rather than
		// waiting out http_timeout.
		select {
		case <-closed:
		default:
			t.Fatal("Close is still waiting on the held fetch")
		}
		if d := time.Since(closing); d != 0 {
			t.Fatalf("Close took %v of fake time", d)
		}
		lcWant(t, <-waiting, core.ReasonKeysUnavailable)
		e.v.Close() // idempotent

		lcWantOK(t, e.verify(tok))
		fetches := e.idp.fetches()
		lcWant(t, e.verify(lcWithKID(tok, "after-close")), core.ReasonKeyNotFound)
		if err := e.v.Refresh(context.Background()); err == nil {
			t.Fatal("Refresh after Close succeeded")
		}
		// Two refresh intervals later the refresh loop would have fetched
		// twice; it is gone.
		time.Sleep(2 * lcRefreshInterval)
		e.wantFetches(t, fetches)
		lcWantOK(t, e.verify(tok))

		p.release()
		synctest.Wait()
		// The bubble ends here: synctest.Test fails the test if a goroutine
		// of the verifier is left, since with the root goroutine gone its
		// clock stops and anything still waiting would wait forever.
	})
}

// BenchmarkKeyLookup is the key lookup of every verification with a known
// kid: one atomic load, no lock. Run with -cpu 1,2: the time per lookup
// must not grow with cores.
func BenchmarkKeyLookup(b *testing.B) {
	p := newLCIdP(lcNewKey(b, "ES256", "ec"), lcNewKey(b, "EdDSA", "ed"), lcNewKey(b, "RS256", "rsa"))
	v, err := core.New(lcConfig(nil), core.WithHTTPClient(&http.Client{Transport: p}),
		core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		b.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	if err := v.LookupKeyForTest(ctx, lcIssuer, "ed", "EdDSA"); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := v.LookupKeyForTest(ctx, lcIssuer, "ed", "EdDSA"); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// An https jwks_url that redirects to plain http is a failed fetch: keys
// must come over TLS (RFC 7517 section 9.1), whatever a proxy says. The
// client refuses to follow the redirect, so the plain IdP is never asked;
// a transport that follows redirects by itself is caught by the scheme of
// the final request.
func TestKeyLifecycleRedirectToHTTPRefused(t *testing.T) {
	plainURL := "http://idp.lifecycle.test/.well-known/jwks.json"
	for _, tc := range []struct {
		name       string
		transport  func(plain *lcIdP, redirects *atomic.Int64) http.RoundTripper
		wantPlain  int
		wantDetail string
	}{
		{"the client follows", func(plain *lcIdP, redirects *atomic.Int64) http.RoundTripper {
			return lcRoundTripFunc(func(r *http.Request) (*http.Response, error) {
				if r.URL.Scheme == "https" {
					redirects.Add(1)
					w := httptest.NewRecorder()
					http.Redirect(w, r, plainURL, http.StatusFound)
					resp := w.Result()
					resp.Request = r
					return resp, nil
				}
				return plain.RoundTrip(r)
			})
		}, 0, "redirected from https to http"},
		{"the transport follows", func(plain *lcIdP, redirects *atomic.Int64) http.RoundTripper {
			return lcRoundTripFunc(func(r *http.Request) (*http.Response, error) {
				redirects.Add(1)
				hop, err := http.NewRequestWithContext(r.Context(), http.MethodGet, plainURL, nil)
				if err != nil {
					return nil, err
				}
				return plain.RoundTrip(hop)
			})
		}, 1, "redirected from https to http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k := lcNewKey(t, "ES256", "k1")
				plain := newLCIdP(k)
				var redirects atomic.Int64
				logs := &lcLogs{}
				v, err := core.New(lcConfig(nil), core.WithHTTPClient(&http.Client{Transport: tc.transport(plain, &redirects)}),
					core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(v.Close)
				if redirects.Load() != 1 || plain.fetches() != tc.wantPlain {
					t.Fatalf("%d redirects and %d plain requests, want 1 and %d", redirects.Load(), plain.fetches(), tc.wantPlain)
				}
				st := v.Stats()[0]
				if st.Ready || st.FetchFailed != 1 || !strings.Contains(st.LastError, tc.wantDetail) {
					t.Fatalf("after a redirect to http: %+v", st)
				}
				_, err = v.Verify(context.Background(), plain.token(t, k, time.Now()))
				lcWant(t, err, core.ReasonKeysUnavailable)
			})
		})
	}
}

type lcRoundTripFunc func(*http.Request) (*http.Response, error)

func (f lcRoundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// lcRekeyed is k's kid and alg on another RSA key.
func lcRekeyed(tb testing.TB, k *lcKey) *lcKey {
	tb.Helper()
	for _, priv := range lcRSAKeys() {
		if priv != k.priv {
			jwk := lcRSAJWK(&priv.PublicKey)
			jwk["kid"], jwk["alg"], jwk["use"] = k.kid, k.jwk["alg"], "sig"
			return &lcKey{kid: k.kid, method: k.method, priv: priv, jwk: jwk}
		}
	}
	tb.Fatal("no other RSA key")
	return nil
}

// lcTokenWithoutKID is p.token without a kid header, for a one-key set.
func lcTokenWithoutKID(tb testing.TB, k *lcKey, now time.Time) string {
	tb.Helper()
	t := jwt.NewWithClaims(k.method, jwt.MapClaims{
		"iss": lcIssuer, "aud": "api", "sub": "user-1",
		"iat": now.Unix(), "exp": now.Add(1000 * time.Hour).Unix(),
	})
	s, err := t.SignedString(k.priv)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// A cache hit is served only while the issuer still serves, under the
// token's kid, the key that verified it (Verifier.stillServed): key set
// changes prune nothing, so this is the only guard between a cached token
// and a key the IdP revoked. Each change below is made after the token was
// cached, and the hit must give the verdict a fresh verification gives.
//
// A refresh that swaps the set after a verification read its key and
// before it inserts its entry leaves the cache in the same state as a swap
// right after the insert, which these rows build; the order cannot be
// forced from outside, since nothing of the verifier waits between the
// two, and the guard does not depend on it: it runs on every hit.
func TestKeyLifecycleCacheHitNeedsItsKey(t *testing.T) {
	for _, tc := range []struct {
		name string
		// change alters what the IdP serves, then lets fake time pass.
		change func(e *lcEnv, k, other *lcKey)
		noKID  bool
		want   core.Reason // "" for accepted, and still from the cache
	}{
		{name: "same keys fetched again", change: func(e *lcEnv, _, _ *lcKey) { e.tick(t) }},
		{name: "key removed", want: core.ReasonKeyNotFound, change: func(e *lcEnv, _, other *lcKey) {
			e.idp.publish(other)
			e.tick(t)
		}},
		{name: "another key under its kid", want: core.ReasonSignatureInvalid, change: func(e *lcEnv, k, other *lcKey) {
			e.idp.publish(lcRekeyed(t, k), other)
			e.tick(t)
		}},
		// RFC 7517 section 4.4: the same key now verifies only PS256. (A
		// set whose keys differ only in alg must count as changed, or the
		// held set would be kept, cached or not.)
		{name: "its JWK alg changed", want: core.ReasonAlgNotAllowed, change: func(e *lcEnv, k, other *lcKey) {
			moved := *k
			moved.jwk = maps.Clone(k.jwk)
			moved.jwk["alg"] = "PS256"
			e.idp.publish(&moved, other)
			e.tick(t)
		}},
		// RFC 7515 section 4.1.4: without a kid, a second key makes the
		// choice ambiguous.
		{name: "a second key beside the only one", noKID: true, want: core.ReasonHeaderInvalid, change: func(e *lcEnv, k, other *lcKey) {
			e.idp.publish(k, other)
			e.tick(t)
		}},
		{name: "the set older than max_stale", want: core.ReasonKeysUnavailable, change: func(e *lcEnv, _, _ *lcKey) {
			e.idp.setMode("503")
			time.Sleep(lcOutageMaxStale + time.Second)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				k, other := lcNewKey(t, "RS256", "k1"), lcNewKey(t, "EdDSA", "k2")
				p := newLCIdP(k, other)
				tok := p.token(t, k, time.Now())
				if tc.noKID {
					p.publish(k)
					tok = lcTokenWithoutKID(t, k, time.Now())
				}
				e := lcStart(t, p, func(c *core.Config) {
					c.Algorithms = append(c.Algorithms, "PS256")
					// Entries outlive max_stale, so the staleness is the
					// only reason for the last row's refusal.
					c.JWKS.MaxStale, c.Cache.MaxTTL = lcOutageMaxStale, 2*lcOutageMaxStale
				})
				first, err := e.v.Verify(context.Background(), tok)
				lcWantOK(t, err)
				if again, err := e.v.Verify(context.Background(), tok); err != nil || again != first {
					t.Fatalf("second verify: %v, a cache hit %v", err, again == first)
				}
				tc.change(e, k, other)
				got, err := e.v.Verify(context.Background(), tok)
				if tc.want == "" {
					if err != nil || got != first {
						t.Fatalf("after the change: %v, a cache hit %v", err, got == first)
					}
					return
				}
				lcWant(t, err, tc.want)
			})
		})
	}
}

// A kid found absent is refused without a fetch for unknown_kid_interval,
// and not a moment longer: a key the IdP publishes just after a client
// asked for it is accepted once the interval is over, without waiting for
// the periodic refresh.
func TestKeyLifecycleNegativeKIDExpires(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k, late := lcNewKey(t, "ES256", "k1"), lcNewKey(t, "EdDSA", "late")
		e := lcStart(t, newLCIdP(k), nil)
		tok := e.idp.token(t, late, time.Now())
		lcWant(t, e.verify(tok), core.ReasonKeyNotFound)
		e.wantFetches(t, 2)

		e.idp.publish(k, late)
		time.Sleep(lcUnknownKIDInterval - time.Millisecond)
		lcWant(t, e.verify(tok), core.ReasonKeyNotFound)
		e.wantFetches(t, 2)
		if st := e.stats(t); st.RefusedUnknown != 1 {
			t.Fatalf("RefusedUnknown = %d, want 1 (the negative cache)", st.RefusedUnknown)
		}
		time.Sleep(time.Millisecond)
		lcWantOK(t, e.verify(tok))
		e.wantFetches(t, 3)
	})
}

// The refresh schedule follows the latest response's max-age (RFC 9111
// section 5.2.2.1): a 200 without one returns to refresh_interval, a 304
// without Cache-Control keeps the stored one (section 4.3.4), a 304 with a
// new one replaces it. A 304 without an ETag keeps the held one, so the
// next refresh is still conditional.
func TestKeyLifecycleFreshnessUpdates(t *testing.T) {
	for _, tc := range []struct {
		name    string
		etags   bool
		then    string // Cache-Control of every response after the first
		bare304 bool
		want    time.Duration // the delay after the second response
	}{
		{name: "200 without max-age", then: "", want: lcRefreshInterval},
		{name: "200 with another max-age", then: "max-age=120", want: 2 * time.Minute},
		{name: "304 without Cache-Control", etags: true, then: "", want: time.Minute},
		{name: "304 with another max-age", etags: true, then: "max-age=120", want: 2 * time.Minute},
		{name: "304 without ETag", etags: true, then: "max-age=60", bare304: true, want: time.Minute},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newLCIdP(lcNewKey(t, "ES256", "k1"))
				p.etags, p.cacheControl = tc.etags, "max-age=60"
				e := lcStart(t, p, nil)
				p.mu.Lock()
				p.cacheControl, p.bare304 = tc.then, tc.bare304
				p.mu.Unlock()
				if d := e.tick(t); d < time.Minute*9/10 || d > time.Minute*11/10 {
					t.Fatalf("first refresh after %v, want 1m ±10%%", d)
				}
				if d := e.tick(t); d < tc.want*9/10 || d > tc.want*11/10 {
					t.Fatalf("second refresh after %v, want %v ±10%%", d, tc.want)
				}
				if tc.etags {
					if st := e.stats(t); st.FetchOK != 1 || st.FetchNotModified != 2 {
						t.Fatalf("FetchOK %d, FetchNotModified %d; want 1 and 2: every refresh revalidated", st.FetchOK, st.FetchNotModified)
					}
				}
			})
		})
	}
}

// A max-age longer than fifteen hours is honoured when refresh_interval is
// longer still: the cap that keeps the conversion from overflowing is a
// year, far above any refresh_interval.
func TestKeyLifecycleLongMaxAge(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newLCIdP(lcNewKey(t, "ES256", "k1"))
		p.cacheControl = "max-age=129600" // 36h
		e := lcStart(t, p, func(c *core.Config) { c.JWKS.RefreshInterval = 48 * time.Hour })
		const want = 36 * time.Hour
		if d := e.tick(t); d < want*9/10 || d > want*11/10 {
			t.Fatalf("next refresh in %v, want %v ±10%%", d, want)
		}
	})
}
