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
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// The key lifecycle tests run a real verifier against an httptest IdP. Time
// is a fake clock: the refresh loop's timers fire only when a test advances
// it, and a test knows a refresh is done when the loop has armed its next
// timer. No test sleeps to let something happen.

const lcIssuer = "https://idp.lifecycle.test"

var lcB64 = base64.RawURLEncoding

// lcClock is the injected clock and the timers of the refresh loop.
type lcClock struct {
	mu      sync.Mutex
	now     time.Time
	timers  []*lcTimer
	changed chan struct{} // closed and replaced whenever timers change
}

type lcTimer struct {
	at time.Time
	d  time.Duration
	c  chan time.Time
}

func newLCClock() *lcClock {
	return &lcClock{now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), changed: make(chan struct{})}
}

func (c *lcClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *lcClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &lcTimer{at: c.now.Add(d), d: d, c: make(chan time.Time, 1)}
	c.timers = append(c.timers, t)
	c.signalLocked()
	return t.c, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		i := slices.Index(c.timers, t)
		if i < 0 {
			return false
		}
		c.timers = slices.Delete(c.timers, i, i+1)
		c.signalLocked()
		return true
	}
}

func (c *lcClock) signalLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}

// Advance moves the clock and fires every timer that falls due.
func (c *lcClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var kept []*lcTimer
	for _, t := range c.timers {
		if t.at.After(c.now) {
			kept = append(kept, t)
			continue
		}
		t.c <- c.now
	}
	c.timers = kept
	c.signalLocked()
}

// waitTimers waits until exactly n timers are pending and returns the
// durations they were armed with.
func (c *lcClock) waitTimers(tb testing.TB, n int) []time.Duration {
	tb.Helper()
	deadline := time.After(10 * time.Second)
	for {
		c.mu.Lock()
		if len(c.timers) == n {
			ds := make([]time.Duration, n)
			for i, t := range c.timers {
				ds[i] = t.d
			}
			c.mu.Unlock()
			return ds
		}
		have, ch := len(c.timers), c.changed
		c.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			tb.Fatalf("waited 10s for %d pending timers; %d pending", n, have)
		}
	}
}

// tick fires the refresh loop's timer and waits until the refresh it starts
// is done (the loop has armed its next timer). It returns the delay the
// fired timer was armed with.
func (c *lcClock) tick(tb testing.TB) time.Duration {
	tb.Helper()
	d := c.waitTimers(tb, 1)[0]
	c.mu.Lock()
	until := c.timers[0].at.Sub(c.now)
	c.mu.Unlock()
	c.Advance(until)
	c.waitTimers(tb, 1)
	return d
}

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

// lcIdP is the identity provider: it publishes a JWKS and signs tokens.
type lcIdP struct {
	srv      *httptest.Server
	client   *http.Client
	refused  atomic.Bool // dial a closed port: a real connection refused
	deadAddr string
	fetches  atomic.Int64

	mu           sync.Mutex
	keys         []*lcKey
	extra        []string // raw JWK objects published after the keys
	mode         string   // "ok" or one failure of lcOutages
	etags        bool     // serve an ETag and honour If-None-Match
	cacheControl string
	age          string
	gate         chan struct{} // while set, responses wait for it to close
	entered      chan struct{} // one value per response held at the gate
	ifNoneMatch  []string
}

func newLCIdP(tb testing.TB, keys ...*lcKey) *lcIdP {
	p := &lcIdP{mode: "ok", keys: keys}
	p.srv = httptest.NewServer(http.HandlerFunc(p.serve))
	tb.Cleanup(p.srv.Close)
	tb.Cleanup(p.release)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.deadAddr = ln.Addr().String()
	ln.Close()
	var d net.Dialer
	p.client = &http.Client{Transport: &http.Transport{
		DisableKeepAlives: true, // every fetch dials, so refusal applies at once
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if p.refused.Load() {
				addr = p.deadAddr
			}
			return d.DialContext(ctx, network, addr)
		},
	}}
	tb.Cleanup(p.client.CloseIdleConnections)
	return p
}

func (p *lcIdP) url() string { return p.srv.URL + "/.well-known/jwks.json" }

func (p *lcIdP) docLocked() string {
	parts := make([]string, 0, len(p.keys)+len(p.extra))
	for _, k := range p.keys {
		b, _ := json.Marshal(k.jwk)
		parts = append(parts, string(b))
	}
	parts = append(parts, p.extra...)
	return `{"keys":[` + strings.Join(parts, ",") + `]}`
}

func (p *lcIdP) serve(w http.ResponseWriter, r *http.Request) {
	p.fetches.Add(1)
	p.mu.Lock()
	// The body is what the IdP published when the request arrived.
	mode, body, gate, entered := p.mode, p.docLocked(), p.gate, p.entered
	etag := ""
	if p.etags {
		sum := sha256.Sum256([]byte(body))
		etag = `"` + hex.EncodeToString(sum[:8]) + `"`
	}
	if v := r.Header.Get("If-None-Match"); v != "" {
		p.ifNoneMatch = append(p.ifNoneMatch, v)
	}
	cc, age := p.cacheControl, p.age
	p.mu.Unlock()
	if gate != nil {
		select {
		case entered <- struct{}{}:
		default:
		}
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
	if etag != "" {
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if cc != "" {
		w.Header().Set("Cache-Control", cc)
	}
	if age != "" {
		w.Header().Set("Age", age)
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

// hold makes responses wait until release; entered receives a value per
// response held.
func (p *lcIdP) hold() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.gate, p.entered = make(chan struct{}), make(chan struct{}, 64)
	return p.entered
}

func (p *lcIdP) release() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.gate != nil {
		close(p.gate)
		p.gate = nil
	}
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

// lcEnv is a verifier wired to a test IdP and a fake clock.
type lcEnv struct {
	clock *lcClock
	idp   *lcIdP
	logs  *lcLogs
	hooks *lcHooks
	v     *core.Verifier
}

// lcConfig is the baseline of the lifecycle tests: the jwks settings and the
// token cache are the defaults unless edit changes them.
func lcConfig(p *lcIdP, edit func(*core.Config)) core.Config {
	c := core.Config{
		Issuers:    []core.IssuerConfig{{Issuer: lcIssuer, JWKSURL: p.url()}},
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

// lcShortTimeout keeps the "slower than http_timeout" outage fast.
func lcShortTimeout(c *core.Config) { c.JWKS.HTTPTimeout = 500 * time.Millisecond }

// lcStart builds the verifier, which fetches once at start, and waits until
// its refresh loop has armed its first timer.
func lcStart(tb testing.TB, p *lcIdP, edit func(*core.Config), opts ...core.Option) *lcEnv {
	tb.Helper()
	e := &lcEnv{clock: newLCClock(), idp: p, logs: &lcLogs{}, hooks: &lcHooks{}}
	// The test's own hooks come first, so a panicking one runs before the
	// recorder.
	all := slices.Concat(opts, []core.Option{
		core.WithClock(e.clock.Now), core.WithTimers(e.clock.NewTimer), core.WithHTTPClient(p.client),
		core.WithLogger(slog.New(slog.NewJSONHandler(e.logs, nil))), core.WithHooks(e.hooks),
	})
	v, err := core.New(lcConfig(p, edit), all...)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	e.v = v
	e.clock.waitTimers(tb, 1)
	return e
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

func (e *lcEnv) wantFetches(tb testing.TB, want int64) {
	tb.Helper()
	if got := e.idp.fetches.Load(); got != want {
		tb.Fatalf("IdP served %d fetches, want %d", got, want)
	}
}

// lcReason checks err against a reason sentinel with errors.Is, and its
// *core.Error reason.
func lcReason(err error, sentinel error, reason core.Reason) error {
	if !errors.Is(err, sentinel) {
		return fmt.Errorf("error %v: errors.Is(%v) is false", err, sentinel)
	}
	var ce *core.Error
	if !errors.As(err, &ce) || ce.Reason != reason {
		return fmt.Errorf("error %v: reason is not %s", err, reason)
	}
	return nil
}

func lcWant(tb testing.TB, err error, sentinel error, reason core.Reason) {
	tb.Helper()
	if e := lcReason(err, sentinel, reason); e != nil {
		tb.Fatal(e)
	}
}

func lcWantOK(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatalf("want accepted, got %v", err)
	}
}

// lcEventually waits, up to 10s, for cond. It only waits for progress that
// is already certain; no test outcome depends on how long it takes.
func lcEventually(tb testing.TB, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("waited 10s for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func lcRecv(tb testing.TB, c <-chan struct{}, what string) {
	tb.Helper()
	select {
	case <-c:
	case <-time.After(10 * time.Second):
		tb.Fatalf("waited 10s for %s", what)
	}
}

// A just-rotated kid arrives on 100 requests at once: one fetch, and all
// 100 wait for it and are accepted.
func TestKeyLifecycleUnknownKIDCoalesced(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			e := lcStart(t, newLCIdP(t, lcNewKey(t, "ES256", "old")), lcNoTokenCache)
			e.wantFetches(t, 1)
			fresh := lcNewKey(t, alg, "new-"+alg)
			e.idp.publish(e.idp.keys[0], fresh)
			tok := e.idp.token(t, fresh, e.clock.Now())

			entered := e.idp.hold()
			start := make(chan struct{})
			var wg sync.WaitGroup
			var accepted atomic.Int64
			errs := make(chan error, 100)
			for range 100 {
				wg.Go(func() {
					<-start
					if err := e.verify(tok); err != nil {
						errs <- err
						return
					}
					accepted.Add(1)
				})
			}
			close(start)
			lcRecv(t, entered, "the fetch for the new kid")
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
		})
	}
}

// The IdP rotates 10 times while requests keep coming, each time signing
// with the new key at once: nothing is rejected, and each rotation costs
// exactly one fetch.
func TestKeyLifecycleRotation(t *testing.T) {
	algs := []string{"ES256", "EdDSA", "RS256"}
	k0 := lcNewKey(t, "ES256", "rot-0")
	e := lcStart(t, newLCIdP(t, k0), lcNoTokenCache)

	type current struct {
		gen int
		tok string
	}
	var cur atomic.Pointer[current]
	cur.Store(&current{0, e.idp.token(t, k0, e.clock.Now())})
	const workers = 8
	var seen [workers]atomic.Int64 // last generation each worker verified
	var rejected atomic.Int64
	firstErr := make(chan error, 1)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				c := cur.Load()
				if err := e.verify(c.tok); err != nil {
					rejected.Add(1)
					select {
					case firstErr <- err:
					default:
					}
				}
				seen[w].Store(int64(c.gen))
			}
		})
	}

	keys := []*lcKey{k0}
	for gen := 1; gen <= 10; gen++ {
		k := lcNewKey(t, algs[gen%3], fmt.Sprintf("rot-%d", gen))
		keys = append(keys, k)
		// Publish the new key and retire the one before the previous.
		e.idp.publish(keys[max(0, len(keys)-2):]...)
		before := e.idp.fetches.Load()
		tok := e.idp.token(t, k, e.clock.Now())
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
		lcEventually(t, "every worker to verify the new token", func() bool {
			for i := range seen {
				if seen[i].Load() < int64(gen) {
					return false
				}
			}
			return true
		})
		if n := e.idp.fetches.Load() - before; n != 1 {
			t.Fatalf("rotation %d: %d fetches, want 1", gen, n)
		}
		// The next rotation comes after the unknown-kid cooldown.
		e.clock.Advance(core.DefaultUnknownKIDInterval)
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
}

// A burst of 10,000 random kids: one fetch for the cooldown, every one
// key_not_found, and requests with a known kid never wait, even while that
// fetch hangs. After the cooldown a real new key is picked up.
func TestKeyLifecycleUnknownKIDFlood(t *testing.T) {
	known := lcNewKey(t, "ES256", "known")
	e := lcStart(t, newLCIdP(t, known), lcNoTokenCache)
	knownTok := e.idp.token(t, known, e.clock.Now())

	burst := func(n int) (notFound int64, errs []error) {
		jobs := make(chan string, n)
		for range n {
			jobs <- lcWithKID(knownTok, lcRandomKID())
		}
		close(jobs)
		var mu sync.Mutex
		var count atomic.Int64
		var wg sync.WaitGroup
		for range 64 {
			wg.Go(func() {
				for tok := range jobs {
					if err := lcReason(e.verify(tok), core.ErrKeyNotFound, core.ReasonKeyNotFound); err != nil {
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

	entered := e.idp.hold()
	type result struct {
		n    int64
		errs []error
	}
	done := make(chan result, 1)
	go func() {
		n, errs := burst(10000)
		done <- result{n, errs}
	}()
	lcRecv(t, entered, "the fetch the flood triggers")
	// That fetch now hangs at the IdP. Known kids must not wait on it.
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
	select {
	case err := <-knownDone:
		lcWantOK(t, err)
	case <-time.After(10 * time.Second):
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
	if n := e.v.NegativeKIDsForTest(lcIssuer); n > core.MaxNegativeKIDs {
		t.Fatalf("negative cache holds %d kids, bound is %d", n, core.MaxNegativeKIDs)
	}

	// Still within the cooldown: more random kids fail at once, no fetch.
	if n, errs := burst(1000); n != 1000 {
		t.Fatalf("second burst: %d of 1000 key_not_found; %v", n, errs[:min(len(errs), 5)])
	}
	e.wantFetches(t, 2)
	if st := e.stats(t); st.RefusedUnknown < 1000 {
		t.Fatalf("RefusedUnknown = %d, want at least 1000", st.RefusedUnknown)
	}

	// After the cooldown, a genuinely new key is fetched once and accepted.
	fresh := lcNewKey(t, "EdDSA", "fresh")
	e.idp.publish(known, fresh)
	freshTok := e.idp.token(t, fresh, e.clock.Now())
	lcWant(t, e.verify(freshTok), core.ErrKeyNotFound, core.ReasonKeyNotFound) // still cooling down
	e.wantFetches(t, 2)
	e.clock.Advance(core.DefaultUnknownKIDInterval)
	lcWantOK(t, e.verify(freshTok))
	e.wantFetches(t, 3)
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
	{"connection refused", "nothing listens at the IdP's address", func(p *lcIdP) { p.refused.Store(true) }},
	{"slower than http_timeout", "the IdP accepts the request and never answers in time", func(p *lcIdP) { p.setMode("slow") }},
	{"HTML body", "a 200 carrying a maintenance page is not a key set", func(p *lcIdP) { p.setMode("html") }},
	{"empty key list", `a 200 of {"keys":[]} must not wipe the held keys`, func(p *lcIdP) { p.setMode("emptykeys") }},
	{"empty body", "a 200 with no body is not a key set", func(p *lcIdP) { p.setMode("emptybody") }},
	{"over 1 MiB", "a key set past the size cap is refused before parsing", func(p *lcIdP) { p.setMode("oversized") }},
	{"no usable key", "a set whose only key is symmetric leaves nothing to verify with", func(p *lcIdP) { p.setMode("unusable") }},
}

func lcRecover(p *lcIdP) {
	p.refused.Store(false)
	p.setMode("ok")
}

// While fetches fail, known kids keep verifying from the last good set until
// max_stale; past it, verification fails closed with keys_unavailable.
func TestKeyLifecycleOutage(t *testing.T) {
	for _, o := range lcOutages {
		t.Run(o.name, func(t *testing.T) {
			k := lcNewKey(t, "ES256", "k1")
			e := lcStart(t, newLCIdP(t, k), lcShortTimeout)
			tok := e.idp.token(t, k, e.clock.Now())
			before := e.stats(t)
			o.apply(e.idp)

			e.clock.tick(t) // the periodic refresh fails
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
			lcWant(t, e.verify(e.idp.token(t, other, e.clock.Now())), core.ErrKeysUnavailable, core.ReasonKeysUnavailable)

			e.clock.tick(t) // the retry fails too
			lcWantOK(t, e.verify(tok))

			// Past max_stale after the last success, nothing is served.
			e.clock.Advance(core.DefaultMaxStale)
			e.clock.waitTimers(t, 1)
			err := e.verify(tok)
			lcWant(t, err, core.ErrKeysUnavailable, core.ReasonKeysUnavailable)
			if !errors.Is(err, core.ErrServerUnavailable) {
				t.Fatalf("keys_unavailable is not in the ErrServerUnavailable class: %v", err)
			}
			if e.v.Ready() || e.stats(t).Ready {
				t.Fatal("ready past max_stale")
			}
			recs = e.logs.records(t, "jwks fetch failed")
			if last := recs[len(recs)-1]; last["level"] != "ERROR" || last["serving"] != "none" {
				t.Fatalf("a failure past max_stale logs %v, want ERROR serving none", last)
			}

			lcRecover(e.idp)
			e.clock.tick(t)
			lcWantOK(t, e.verify(tok))
			if !e.v.Ready() {
				t.Fatal("not ready after the IdP recovered")
			}
		})
	}
}

// An IdP that is down at start does not stop the service: New returns after
// a bounded first fetch, the verifier reports not ready and answers
// keys_unavailable, and it becomes ready on the first retry that succeeds.
func TestKeyLifecycleStartupIdPDown(t *testing.T) {
	for _, o := range lcOutages {
		t.Run(o.name, func(t *testing.T) {
			k := lcNewKey(t, "ES256", "k1")
			p := newLCIdP(t, k)
			o.apply(p)
			began := time.Now()
			e := lcStart(t, p, lcShortTimeout)
			if took := time.Since(began); took > 500*time.Millisecond+5*time.Second {
				t.Fatalf("New took %v with http_timeout 500ms", took)
			}
			tok := p.token(t, k, e.clock.Now())
			if e.v.Ready() {
				t.Fatalf("%s: ready without a key set", o.explanation)
			}
			lcWant(t, e.verify(tok), core.ErrKeysUnavailable, core.ReasonKeysUnavailable)
			st := e.stats(t)
			if st.FetchFailed != 1 || st.FetchOK != 0 || st.Keys != 0 || st.Ready || !st.LastSuccess.IsZero() {
				t.Fatalf("%s: stats at start: %+v", o.explanation, st)
			}
			recs := e.logs.records(t, "jwks fetch failed")
			if len(recs) != 1 || recs[0]["level"] != "ERROR" || recs[0]["trigger"] != "startup" {
				t.Fatalf("%s: startup failure log lines: %v", o.explanation, recs)
			}

			if d := e.clock.tick(t); d < 900*time.Millisecond || d > 1100*time.Millisecond {
				t.Fatalf("first retry after %v, want 1s ±10%%", d)
			}
			lcWant(t, e.verify(tok), core.ErrKeysUnavailable, core.ReasonKeysUnavailable)

			lcRecover(p)
			e.clock.tick(t)
			if !e.v.Ready() {
				t.Fatal("not ready after the IdP recovered")
			}
			lcWantOK(t, e.verify(tok))
			if st := e.stats(t); st.FetchFailed != 2 || st.FetchOK != 1 || st.LastError != "" {
				t.Fatalf("stats after recovery: %+v", st)
			}
		})
	}
}

// Failed fetches are retried after 1s, 2s, 4s ... capped at 1m, each with
// ±10% jitter; the first success returns to refresh_interval.
func TestKeyLifecycleBackoff(t *testing.T) {
	p := newLCIdP(t, lcNewKey(t, "ES256", "k1"))
	p.setMode("503")
	e := lcStart(t, p, nil)
	for i, want := range []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60} {
		want *= time.Second
		if d := e.clock.tick(t); d < want*9/10 || d > want*11/10 {
			t.Fatalf("retry %d after %v, want %v ±10%%", i+1, d, want)
		}
	}
	if st := e.stats(t); st.FetchFailed != 10 {
		t.Fatalf("FetchFailed = %d, want 10", st.FetchFailed)
	}
	lcRecover(p)
	e.clock.tick(t)
	if d := e.clock.waitTimers(t, 1)[0]; d < 9*time.Minute || d > 11*time.Minute {
		t.Fatalf("after recovery the next refresh is in %v, want 10m ±10%%", d)
	}
}

// Periodic refreshes come every refresh_interval with about ±10% jitter.
func TestKeyLifecycleJitter(t *testing.T) {
	e := lcStart(t, newLCIdP(t, lcNewKey(t, "ES256", "k1")), nil)
	distinct := map[time.Duration]bool{}
	for range 20 {
		d := e.clock.tick(t)
		if d < 9*time.Minute || d > 11*time.Minute {
			t.Fatalf("refresh after %v, want 10m ±10%%", d)
		}
		distinct[d] = true
	}
	if len(distinct) < 2 {
		t.Fatal("20 refresh delays are all equal: no jitter")
	}
	e.wantFetches(t, 21)
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
		{`max-age="30"`, "", 30 * time.Second},  // the quoted form
		{"max-age=1", "", 5 * time.Second},      // clamped up to unknown_kid_interval
		{"max-age=0", "", 5 * time.Second},      // clamped up to unknown_kid_interval
		{"max-age=86400", "", 10 * time.Minute}, // clamped down to refresh_interval
		{"no-cache", "", 10 * time.Minute},      // only max-age is read
		{"max-age=soon", "", 10 * time.Minute},  // invalid: ignored
		{"max-age=90, max-age=30", "", 90 * time.Second},
	} {
		t.Run(fmt.Sprintf("cache-control %q age %q", c.cacheControl, c.age), func(t *testing.T) {
			p := newLCIdP(t, lcNewKey(t, "ES256", "k1"))
			p.cacheControl, p.age = c.cacheControl, c.age
			e := lcStart(t, p, nil)
			for range 2 { // the first refresh follows the start, the next one a refresh
				if d := e.clock.tick(t); d < c.want*9/10 || d > c.want*11/10 {
					t.Fatalf("next refresh in %v, want %v ±10%%", d, c.want)
				}
			}
		})
	}
}

// With an ETag, refreshes are conditional; a 304 keeps the set and counts as
// a success, so it also renews the max_stale window.
func TestKeyLifecycleETag(t *testing.T) {
	k := lcNewKey(t, "ES256", "k1")
	p := newLCIdP(t, k)
	p.etags = true
	e := lcStart(t, p, nil)
	tok := p.token(t, k, e.clock.Now())
	first := e.stats(t)

	e.clock.tick(t)
	st := e.stats(t)
	if st.FetchOK != 1 || st.FetchNotModified != 1 || st.Fingerprint != first.Fingerprint {
		t.Fatalf("after a 304: %+v", st)
	}
	if !st.LastSuccess.Equal(e.clock.Now()) || st.Age != 0 {
		t.Fatalf("a 304 did not renew LastSuccess: %v (now %v), age %v", st.LastSuccess, e.clock.Now(), st.Age)
	}
	p.mu.Lock()
	inm := slices.Clone(p.ifNoneMatch)
	p.mu.Unlock()
	if len(inm) != 1 || !strings.HasPrefix(inm[0], `"`) {
		t.Fatalf("If-None-Match sent: %q", inm)
	}

	// 304s every 20h keep the set serving 40h after the last 200.
	e.clock.Advance(20 * time.Hour)
	e.clock.waitTimers(t, 1)
	e.clock.Advance(20 * time.Hour)
	e.clock.waitTimers(t, 1)
	lcWantOK(t, e.verify(tok))
	if st := e.stats(t); st.FetchNotModified != 3 || st.FetchOK != 1 {
		t.Fatalf("after 40h of 304s: %+v", st)
	}

	// A changed set changes the ETag: a 200 with the new keys.
	k2 := lcNewKey(t, "EdDSA", "k2")
	p.publish(k, k2)
	e.clock.tick(t)
	if st := e.stats(t); st.FetchOK != 2 || st.Keys != 2 {
		t.Fatalf("after the set changed: %+v", st)
	}
	fetches, changes := e.hooks.snapshot()
	if len(changes) != 2 {
		t.Fatalf("%d key set changes, want 2 (load, k2 added)", len(changes))
	}
	var results []core.FetchResult
	for _, f := range fetches {
		results = append(results, f.Result)
	}
	want := []core.FetchResult{core.FetchResultOK, core.FetchResultNotModified, core.FetchResultNotModified,
		core.FetchResultNotModified, core.FetchResultOK}
	if !slices.Equal(results, want) {
		t.Fatalf("fetch results %v, want %v", results, want)
	}
}

// A key the IdP stops publishing stops validating after the next refresh,
// and the change is logged as old kids -> new kids.
func TestKeyLifecycleRemoval(t *testing.T) {
	a, b := lcNewKey(t, "ES256", "a"), lcNewKey(t, "RS256", "b")
	e := lcStart(t, newLCIdP(t, a, b), nil)
	tokA, tokB := e.idp.token(t, a, e.clock.Now()), e.idp.token(t, b, e.clock.Now())
	lcWantOK(t, e.verify(tokA))
	lcWantOK(t, e.verify(tokB))

	e.idp.publish(b)
	lcWantOK(t, e.verify(tokA)) // known until the next refresh; no fetch for a known kid
	e.wantFetches(t, 1)
	e.clock.tick(t)
	lcWant(t, e.verify(tokA), core.ErrKeyNotFound, core.ReasonKeyNotFound)
	lcWantOK(t, e.verify(tokB))
	// The removed kid is now unknown: it cost one fetch, then the negative
	// cache answers.
	e.wantFetches(t, 3)
	lcWant(t, e.verify(tokA), core.ErrKeyNotFound, core.ReasonKeyNotFound)
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
}

// Verifier.Refresh fetches now: a revoked key stops validating when it
// returns, even if a fetch that started before the revocation is running.
func TestKeyLifecycleForcedRefresh(t *testing.T) {
	a, b, c := lcNewKey(t, "ES256", "a"), lcNewKey(t, "EdDSA", "b"), lcNewKey(t, "ES256", "c")
	e := lcStart(t, newLCIdP(t, a, b), nil)
	ctx := context.Background()
	tokA, tokB := e.idp.token(t, a, e.clock.Now()), e.idp.token(t, b, e.clock.Now())

	e.idp.publish(b)
	lcWantOK(t, e.verify(tokA))
	if err := e.v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	e.wantFetches(t, 2)
	lcWant(t, e.verify(tokA), core.ErrKeyNotFound, core.ReasonKeyNotFound)
	lcWantOK(t, e.verify(tokB))
	e.wantFetches(t, 3) // the revoked kid is unknown now: one fetch to confirm
	e.clock.Advance(core.DefaultUnknownKIDInterval)

	// A fetch is under way with the old set {b} when b is revoked.
	entered := e.idp.hold()
	unknown := make(chan error, 1)
	go func() { unknown <- e.verify(lcWithKID(tokB, "not-yet")) }()
	lcRecv(t, entered, "the unknown-kid fetch")
	e.idp.publish(c)
	refreshed := make(chan error, 1)
	go func() { refreshed <- e.v.Refresh(ctx) }()
	lcEventually(t, "Refresh to wait on the running fetch", func() bool {
		return lcGoroutineWaitingIn("(*remoteSource).refresh")
	})
	e.idp.release()
	if err := <-refreshed; err != nil {
		t.Fatal(err)
	}
	lcWant(t, <-unknown, core.ErrKeyNotFound, core.ReasonKeyNotFound)
	lcWant(t, e.verify(tokB), core.ErrKeyNotFound, core.ReasonKeyNotFound)
	lcWantOK(t, e.verify(e.idp.token(t, c, e.clock.Now())))
	e.wantFetches(t, 5)
	_, changes := e.hooks.snapshot()
	if last := changes[len(changes)-1]; !slices.Equal(last.NewKIDs, []string{"c"}) {
		t.Fatalf("last change %+v, want new kids [c]", last)
	}
}

// lcGoroutineWaitingIn reports whether some goroutine is blocked in a
// select inside fn.
func lcGoroutineWaitingIn(fn string) bool {
	for _, g := range lcStacks() {
		if strings.Contains(g, "[select") && strings.Contains(g, fn) {
			return true
		}
	}
	return false
}

func lcStacks() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		id, _, _ := strings.Cut(strings.TrimPrefix(g, "goroutine "), " ")
		out[id] = g
	}
	return out
}

// One bad or unsupported key is skipped and logged; the others load.
func TestKeyLifecycleBadKeySkipped(t *testing.T) {
	good, goodRSA := lcNewKey(t, "ES256", "good-ec"), lcNewKey(t, "RS256", "good-rsa")
	p := newLCIdP(t, good, goodRSA)
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
	if n := len(e.logs.records(t, "jwks key skipped")); n != 5 {
		t.Fatalf("%d skipped-key log lines, want 5", n)
	}
	lcWantOK(t, e.verify(p.token(t, good, e.clock.Now())))
	lcWantOK(t, e.verify(p.token(t, goodRSA, e.clock.Now())))
	smallKey := &lcKey{kid: "rsa-1024", method: jwt.SigningMethodRS256, priv: small}
	lcWant(t, e.verify(p.token(t, smallKey, e.clock.Now())), core.ErrKeyNotFound, core.ReasonKeyNotFound)
}

// Stats and hooks report every fetch and change; a panicking hook is
// recovered and does not stop the others.
func TestKeyLifecycleStatsAndHooks(t *testing.T) {
	k := lcNewKey(t, "ES256", "k1")
	p := newLCIdP(t, k)
	e := lcStart(t, p, nil, core.WithHooks(lcPanicHooks{}))
	start := e.clock.Now()
	st := e.stats(t)
	if st.Issuer != lcIssuer || st.Source != p.url() || st.FetchOK != 1 || st.FetchFailed != 0 || st.Keys != 1 ||
		!slices.Equal(st.KIDs, []string{"k1"}) || !strings.HasPrefix(st.Fingerprint, "sha256:") ||
		!st.LastSuccess.Equal(start) || st.Age != 0 || !st.Ready {
		t.Fatalf("stats at start: %+v", st)
	}
	e.clock.Advance(3 * time.Minute)
	if st := e.stats(t); st.Age != 3*time.Minute {
		t.Fatalf("Age = %v, want 3m", st.Age)
	}

	p.setMode("503")
	e.clock.tick(t)
	st2 := e.stats(t)
	if st2.FetchFailed != 1 || st2.LastError != "unexpected status 503" || !st2.LastSuccess.Equal(start) {
		t.Fatalf("stats after a failure: %+v", st2)
	}
	lcRecover(p)
	k2 := lcNewKey(t, "EdDSA", "k2")
	p.publish(k2)
	e.clock.tick(t)
	st3 := e.stats(t)
	if st3.Fingerprint == st.Fingerprint || !slices.Equal(st3.KIDs, []string{"k2"}) || st3.LastError != "" {
		t.Fatalf("stats after a change: %+v", st3)
	}

	fetches, changes := e.hooks.snapshot()
	type row struct {
		trigger core.FetchTrigger
		result  core.FetchResult
		failed  bool
	}
	var got []row
	for _, f := range fetches {
		if f.Issuer != lcIssuer || f.URL != p.url() {
			t.Fatalf("event %+v", f)
		}
		got = append(got, row{f.Trigger, f.Result, f.Err != nil})
	}
	want := []row{
		{core.TriggerStartup, core.FetchResultOK, false},
		{core.TriggerPeriodic, core.FetchResultFailed, true},
		{core.TriggerRetry, core.FetchResultOK, false},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("fetch events %v, want %v", got, want)
	}
	if len(changes) != 2 || len(changes[0].OldKIDs) != 0 || !slices.Equal(changes[1].OldKIDs, []string{"k1"}) ||
		!slices.Equal(changes[1].NewKIDs, []string{"k2"}) || changes[1].Fingerprint != st3.Fingerprint {
		t.Fatalf("changes %+v", changes)
	}
	if n := len(e.logs.records(t, "jwtguard key hook panicked")); n != 5 {
		t.Fatalf("%d hook panics logged, want 5 (3 fetches, 2 changes)", n)
	}
}

// lcPanicHooks panics on every call; it is registered before the recorder.
type lcPanicHooks struct{}

func (lcPanicHooks) FetchDone(core.FetchEvent)       { panic("metrics exporter bug") }
func (lcPanicHooks) KeySetChanged(core.KeySetChange) { panic("metrics exporter bug") }

// Close stops the refresh loop and cancels a fetch under way; afterwards no
// goroutine started by the verifier is left. A closed verifier still
// answers from the keys it holds.
func TestKeyLifecycleCloseLeavesNoGoroutine(t *testing.T) {
	before := lcStacks()
	k := lcNewKey(t, "ES256", "k1")
	p := newLCIdP(t, k)
	e := lcStart(t, p, nil)
	tok := p.token(t, k, e.clock.Now())
	e.clock.tick(t)
	lcWantOK(t, e.verify(tok))

	entered := p.hold()
	waiting := make(chan error, 1)
	go func() { waiting <- e.verify(lcWithKID(tok, "new")) }()
	lcRecv(t, entered, "the unknown-kid fetch")
	closed := make(chan struct{})
	go func() {
		e.v.Close()
		close(closed)
	}()
	lcRecv(t, closed, "Close with a fetch under way")
	lcWant(t, <-waiting, core.ErrKeysUnavailable, core.ReasonKeysUnavailable)
	e.clock.waitTimers(t, 0) // the refresh loop stopped its timer
	e.v.Close()              // idempotent

	lcWantOK(t, e.verify(tok))
	fetches := p.fetches.Load()
	lcWant(t, e.verify(lcWithKID(tok, "after-close")), core.ErrKeyNotFound, core.ReasonKeyNotFound)
	if err := e.v.Refresh(context.Background()); err == nil {
		t.Fatal("Refresh after Close succeeded")
	}
	e.wantFetches(t, fetches)

	p.release()
	p.srv.Close()
	p.client.CloseIdleConnections()
	// Other goroutines of the test (the IdP's connections) end on their own
	// schedule; poll, bounded, until none started since the test began is left.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var left []string
		for id, g := range lcStacks() {
			if _, ok := before[id]; !ok {
				left = append(left, g)
			}
		}
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close:\n%s", len(left), strings.Join(left, "\n\n"))
		}
		time.Sleep(time.Millisecond)
	}
	for _, g := range lcStacks() {
		if strings.Contains(g, "jwtguard/core.") && strings.Contains(g, "remoteSource") {
			t.Fatalf("a key source goroutine is left:\n%s", g)
		}
	}
}

// BenchmarkKeyLookup is the key lookup of every verification with a known
// kid: one atomic load, no lock. Run with -cpu 1,2: the time per lookup
// must not grow with cores.
func BenchmarkKeyLookup(b *testing.B) {
	p := newLCIdP(b, lcNewKey(b, "ES256", "ec"), lcNewKey(b, "EdDSA", "ed"), lcNewKey(b, "RS256", "rsa"))
	v, err := core.New(lcConfig(p, nil), core.WithHTTPClient(p.client),
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
// must come over TLS (RFC 7517 section 9.1), whatever a proxy says.
func TestKeyLifecycleRedirectToHTTPRefused(t *testing.T) {
	k := lcNewKey(t, "ES256", "k1")
	plain := newLCIdP(t, k)
	tlsSrv := httptest.NewTLSServer(http.RedirectHandler(plain.url(), http.StatusFound))
	t.Cleanup(tlsSrv.Close)
	clock, logs := newLCClock(), &lcLogs{}
	cfg := lcConfig(plain, func(c *core.Config) { c.Issuers[0].JWKSURL = tlsSrv.URL + "/jwks" })
	v, err := core.New(cfg, core.WithClock(clock.Now), core.WithTimers(clock.NewTimer),
		core.WithHTTPClient(tlsSrv.Client()), core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	st := v.Stats()[0]
	if st.Ready || st.FetchFailed != 1 || st.LastError != "redirected from https to http" {
		t.Fatalf("after a redirect to http: %+v", st)
	}
	_, err = v.Verify(context.Background(), plain.token(t, k, clock.Now()))
	lcWant(t, err, core.ErrKeysUnavailable, core.ReasonKeysUnavailable)
}
