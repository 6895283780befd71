package core

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard/core/internal/jose"
	"github.com/jwtguard/jwtguard/core/internal/jwks"
)

// Verifier checks access tokens against one baseline. It is safe for
// concurrent use; Reload switches it to another baseline atomically, and
// Close stops its background work.
type Verifier struct {
	cur  atomic.Pointer[engine]
	opts options

	mu     sync.Mutex // serializes Reload and Close
	closed bool
}

// engine is the verifier of one baseline: everything a request reads, never
// written after it is built. A reload swaps in a new engine, so a request in
// flight finishes on the settings it started with.
type engine struct {
	cfg         Config // normalized
	fingerprint string
	issuers     map[string]jwks.Source // by the iss they verify
	// tenants is the tenant each iss of a template issuer names; nil
	// without template issuers.
	tenants map[string]string
	// sources are the key sources by name (an issuer, or a template whose
	// tenants share one), each with the settings it was built from.
	sources   map[string]keySourceEntry
	methods   map[string]*jose.Alg // the allowlist, by exact alg
	audiences []string
	// byClientID: the audience is read from client_id (audience_claim).
	byClientID bool
	required   []string
	types      []string // normalized typ values
	leeway     float64  // seconds
	maxBytes   int
	cache      *tokenCache       // nil when cache.max_entries is 0
	sampler    *rejectionSampler // nil when log.rejections_per_second is 0
	opts       *options          // the Verifier's, shared by its engines
}

// keySourceEntry is one running key source and the settings it was built
// from, for a reload to tell whether it can be kept.
type keySourceEntry struct {
	src jwks.Source
	cfg IssuerConfig
}

// Option tunes a Verifier beyond the baseline: process concerns (clock,
// logger, HTTP client), never verification rules.
type Option func(*options)

type options struct {
	now        func() time.Time
	logger     *slog.Logger
	httpClient *http.Client
	realm      string
	// hooks subscribe to key lifecycle events (WithHooks).
	hooks []jwks.Hooks
	// verdicts are the hooks that also take verdicts; empty means no
	// verdict is timed or built.
	verdicts []VerdictHooks
	// runtimeClock is set when now is time.Now, whose readings carry the
	// monotonic clock: a verdict's duration then starts from the reading
	// the time checks take anyway, and costs one clock read, not two.
	runtimeClock bool
	// revocations, when set, refuses listed tokens (WithRevocations).
	revocations Revocations
}

// WithClock sets the time source of every time check and of the key
// lifecycle. A verifier judges tokens at the instant its clock gives: a
// captured token replayed as of a past instant, or a conformance run whose
// tokens were minted at a fixed one. The lifecycle's timers still run on
// the runtime's clock, which testing/synctest fakes in tests.
func WithClock(now func() time.Time) Option {
	return func(o *options) { o.now, o.runtimeClock = now, false }
}

// WithLogger sets where rejections and key set events are logged.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// WithHTTPClient sets the client used to fetch JWKS.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithRealm sets the realm of the WWW-Authenticate challenge
// (RFC 6750 section 3). The default is "api".
func WithRealm(realm string) Option { return func(o *options) { o.realm = realm } }

// New validates cfg and builds a Verifier. An unsafe baseline is refused
// here, with every problem named, rather than discovered in production.
func New(cfg Config, opts ...Option) (*Verifier, error) {
	v := &Verifier{opts: options{now: time.Now, logger: slog.Default(), realm: "api", runtimeClock: true}}
	for _, o := range opts {
		o(&v.opts)
	}
	if v.opts.logger == nil {
		v.opts.logger = slog.New(slog.DiscardHandler)
	}
	if v.opts.httpClient == nil {
		v.opts.httpClient = &http.Client{}
	}
	e, err := v.build(cfg, nil)
	if err != nil {
		return nil, err
	}
	v.cur.Store(e)
	attrs := append(e.describe(), slog.Int("issuers", len(e.issuers)), slog.Any("algorithms", e.cfg.Algorithms),
		slog.Any("audiences", e.cfg.Audiences))
	v.opts.logger.LogAttrs(context.Background(), slog.LevelInfo, "jwtguard verifier started", attrs...)
	e.logDeviations()
	return v, nil
}

// build validates cfg and makes its engine. The key sources of old whose
// issuer keeps the same key settings are taken over as they are, so a
// reload does not refetch them; the others start here, together, so build
// takes one http_timeout at worst, not one per issuer.
func (v *Verifier) build(cfg Config, old *engine) (*engine, error) {
	if cfg.estate != nil {
		// An estate's shared part has no audience: each service has its
		// own, and a verifier runs for one of them.
		if _, err := cfg.ForService(""); err != nil {
			return nil, err
		}
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	n := cfg.normalize()
	e := &engine{
		cfg:         n,
		fingerprint: cfg.Fingerprint(),
		issuers:     make(map[string]jwks.Source, len(n.Issuers)),
		sources:     make(map[string]keySourceEntry, len(n.Issuers)),
		methods:     make(map[string]*jose.Alg, len(n.Algorithms)),
		audiences:   n.Audiences,
		byClientID:  n.AudienceClaim == AudienceClaimClientID,
		required:    n.RequiredClaims,
		leeway:      n.Leeway.Seconds(),
		maxBytes:    n.MaxTokenBytes,
		cache:       newTokenCache(n.Cache),
		opts:        &v.opts,
	}
	units := n.keySources()
	var names []string
	for _, u := range units {
		names = append(names, sortedKeys(u.issuers)...)
	}
	e.sampler = newRejectionSampler(*n.Log.RejectionsPerSecond, names, &v.opts)
	algs := make(map[string]bool, len(n.Algorithms))
	for _, alg := range n.Algorithms {
		e.methods[alg] = jose.Lookup(alg) // validate admitted only known names
		algs[alg] = true
	}
	for _, t := range n.TokenTypes {
		e.types = append(e.types, normalizeType(t))
	}
	srcs := make([]jwks.Source, len(units))
	errs := make([]error, len(units))
	var wg sync.WaitGroup
	for i, u := range units {
		if o, ok := old.source(u.cfg.Issuer); ok && sameKeySource(old.cfg, n, o.cfg, u.cfg) {
			srcs[i] = o.src
			continue
		}
		wg.Go(func() { srcs[i], errs[i] = newSource(u.cfg, n.JWKS, n.InsecureHTTPJWKS, algs, &v.opts) })
	}
	wg.Wait()
	for i, u := range units {
		if srcs[i] == nil {
			continue
		}
		e.sources[u.cfg.Issuer] = keySourceEntry{src: srcs[i], cfg: u.cfg}
		for iss, tenant := range u.issuers {
			e.issuers[iss] = srcs[i]
			if tenant != "" {
				if e.tenants == nil {
					e.tenants = map[string]string{}
				}
				e.tenants[iss] = tenant
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		for _, s := range e.sources {
			if !old.holds(s.src) {
				s.src.Close()
			}
		}
		return nil, err
	}
	return e, nil
}

// source is e's key source named name; e may be nil.
func (e *engine) source(name string) (keySourceEntry, bool) {
	if e == nil {
		return keySourceEntry{}, false
	}
	s, ok := e.sources[name]
	return s, ok
}

// holds reports whether src is one of e's key sources; e may be nil.
func (e *engine) holds(src jwks.Source) bool {
	if e == nil {
		return false
	}
	for _, s := range e.sources {
		if s.src == src {
			return true
		}
	}
	return false
}

// logBaselineFingerprint is the log key of a baseline's fingerprint, apart
// from a key set's (jwks_fingerprint), so a search for one never finds the
// other.
const logBaselineFingerprint = "baseline_fingerprint"

// describe is what a log line says of e's baseline.
func (e *engine) describe() []slog.Attr {
	attrs := []slog.Attr{slog.String(logBaselineFingerprint, e.fingerprint), slog.String("shared_fingerprint", e.cfg.SharedFingerprint())}
	if e.cfg.Service != "" {
		attrs = append(attrs, slog.String("baseline_service", e.cfg.Service))
	}
	return attrs
}

// logDeviations says every managed deviation at each start and reload:
// they are exceptions a review approved, and none should go unnoticed.
func (e *engine) logDeviations() {
	for _, d := range e.cfg.Deviations {
		e.opts.logger.LogAttrs(context.Background(), slog.LevelWarn, "jwtguard baseline deviation",
			slog.String("baseline_service", e.cfg.Service), slog.String("key", d.Key), slog.String("value", d.Value),
			slog.String("reason", d.Reason), slog.String("expires", d.Expires.Add(-time.Hour).Format(time.DateOnly)))
	}
}

// Reload switches v to cfg, validated in full first: an invalid baseline
// changes nothing and is returned, every problem named. On success, new
// requests verify by cfg while requests in flight finish on the old
// settings; key sets of issuers whose key settings did not change are kept
// without a refetch, removed issuers' goroutines stop, new issuers fetch,
// and the verified-token cache starts empty. The switch is logged with both
// fingerprints and what changed, at warn level when a change lets more
// tokens through.
func (v *Verifier) Reload(cfg Config) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.closed {
		return errors.New("jwtguard: reload of a closed verifier")
	}
	old := v.cur.Load()
	e, err := v.build(cfg, old)
	if err != nil {
		v.opts.logger.LogAttrs(context.Background(), slog.LevelError, "jwtguard baseline reload refused",
			slog.String(logBaselineFingerprint, old.fingerprint), slog.String("error", err.Error()))
		return err
	}
	v.cur.Store(e)
	for _, s := range old.sources {
		if !e.holds(s.src) {
			s.src.Close()
		}
	}
	old.sampler.stop()
	changes := diffBaselines(old.cfg, e.cfg)
	level := slog.LevelInfo
	var all, weaker []string
	for _, c := range changes {
		all = append(all, c.text)
		if c.weakens {
			weaker = append(weaker, c.text)
			level = slog.LevelWarn
		}
	}
	attrs := append([]slog.Attr{slog.String("old_"+logBaselineFingerprint, old.fingerprint)}, e.describe()...)
	attrs = append(attrs, slog.Any("changes", nonNil(all)))
	if len(weaker) > 0 {
		attrs = append(attrs, slog.Any("weakens", weaker))
	}
	msg := "jwtguard baseline reloaded"
	if len(weaker) > 0 {
		msg = "jwtguard baseline reloaded: verification is weaker"
	}
	v.opts.logger.LogAttrs(context.Background(), level, msg, attrs...)
	e.logDeviations()
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Verify checks token and returns its claims. Any failure is a *Error with a
// stable Reason, and is logged as one line.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	return v.cur.Load().Verify(ctx, token)
}

// Authenticate extracts the token of r and verifies it: the whole job of an
// adapter's middleware, logged as one line on rejection.
func (v *Verifier) Authenticate(ctx context.Context, r Request) (*Claims, error) {
	return v.cur.Load().Authenticate(ctx, r)
}

// AuthenticateOptional is Authenticate for a route open to anonymous
// requests: a request that presents no credentials at all (no
// Authorization header, no token in the query or a cookie) gets nil claims
// and a nil error, and is neither logged nor a verdict for [VerdictHooks]:
// nothing was verified. A request that presents any is judged exactly as
// Authenticate judges it: an expired, forged or malformed token, another
// Authorization scheme, or a token in a place the baseline does not allow
// (RFC 6750 section 2.3's access_token query parameter) is refused with the
// same reason, never taken as anonymous.
func (v *Verifier) AuthenticateOptional(ctx context.Context, r Request) (*Claims, error) {
	return v.cur.Load().AuthenticateOptional(ctx, r)
}

// Authorize runs policies on verified claims, in order. A policy error that
// is not a *Error becomes insufficient_scope, so every refusal has a reason
// and a 403. A rejection is logged as one line.
func (v *Verifier) Authorize(ctx context.Context, c *Claims, policies ...Policy) error {
	return v.cur.Load().Authorize(ctx, c, policies...)
}

// Response is the RFC 6750 response for err under this verifier's realm;
// adapters send it as is.
func (v *Verifier) Response(err error) Response { return responseFor(err, v.opts.realm) }

// Config returns a copy of the normalized baseline the verifier runs on:
// changing it changes nothing the verifier accepts.
func (v *Verifier) Config() Config { return v.cur.Load().cfg.clone() }

// Close stops every background goroutine. A closed verifier still answers
// from the keys it holds, and refuses to reload.
func (v *Verifier) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.closed = true
	e := v.cur.Load()
	for _, s := range e.sources {
		s.src.Close()
	}
	e.sampler.stop()
}

// Ready reports whether every issuer has a key set to verify with.
func (v *Verifier) Ready() bool { return v.cur.Load().Ready() }

// Refresh fetches every remote key set now, for emergency revocation: keys
// the IdP removed stop validating when it returns.
func (v *Verifier) Refresh(ctx context.Context) error { return v.cur.Load().Refresh(ctx) }

// Stats reports each issuer's key set, sorted by issuer.
func (v *Verifier) Stats() []IssuerStats { return v.cur.Load().Stats() }

// CacheLen is the number of tokens in the verified-token cache (0 when
// cache.max_entries is 0), for metrics.
func (v *Verifier) CacheLen() int { return v.cur.Load().CacheLen() }

// Ready is [Verifier.Ready] on this engine's key sources.
func (v *engine) Ready() bool {
	now := v.opts.now()
	for _, s := range v.sources {
		if _, err := s.src.Current(now); err != nil {
			return false
		}
	}
	return true
}

// Refresh is [Verifier.Refresh] on this engine's key sources.
func (v *engine) Refresh(ctx context.Context) error {
	var errs []error
	for _, name := range sortedKeys(v.sources) {
		if err := v.sources[name].src.Refresh(ctx); err != nil {
			errs = append(errs, fmt.Errorf("issuer %q: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Stats is [Verifier.Stats] on this engine's key sources.
func (v *engine) Stats() []IssuerStats {
	out := make([]IssuerStats, 0, len(v.sources))
	now := v.opts.now()
	for _, name := range sortedKeys(v.sources) {
		out = append(out, stats(v.sources[name].src, now))
	}
	return out
}

// CacheLen is [Verifier.CacheLen] on this engine's cache.
func (v *engine) CacheLen() int {
	if v.cache == nil {
		return 0
	}
	return v.cache.len()
}

// Verify is [Verifier.Verify] on this engine.
func (v *engine) Verify(ctx context.Context, token string) (*Claims, error) {
	if len(v.opts.verdicts) > 0 {
		now := v.opts.now()
		return v.verifyReported(ctx, token, now, v.verdictStart(now), nil)
	}
	c, _, err := v.verify(ctx, token, v.opts.now())
	if err != nil {
		v.logRejection(ctx, err)
		return nil, err
	}
	return c, nil
}

// verifyReported is Verify for a verifier with VerdictHooks, judging at
// now a call that began at start. It is apart so that a verifier without
// hooks runs the code it ran before hooks existed, and the event of a
// cache hit is built in place and copied once: both are measurable parts
// of a cache hit (BenchmarkVerifyCached). r is the request of an
// Authenticate call, nil for Verify.
func (v *engine) verifyReported(ctx context.Context, token string, now, start time.Time, r Request) (*Claims, error) {
	c, cache, err := v.verify(ctx, token, now)
	if err != nil {
		v.notify(ctx, v.rejectionEvent(err, cache, start))
		v.logRequestRejection(ctx, err, r)
		return nil, err
	}
	// A verified token's kid named a key of its issuer and its alg is in
	// the allowlist: neither needs clipping.
	e := VerdictEvent{Issuer: c.issuer, KID: c.kid, Alg: c.alg, Cache: cache, Duration: time.Since(start)}
	for _, h := range v.opts.verdicts {
		h.Verdict(ctx, e)
	}
	return c, nil
}

// verdictStart is when a verdict's duration starts, given the verifier's
// clock reading now: nothing without VerdictHooks; now itself when it comes
// from the runtime clock, whose readings carry the monotonic clock; else
// a reading of the runtime clock, since a test clock says nothing of
// elapsed time.
func (v *engine) verdictStart(now time.Time) time.Time {
	switch {
	case len(v.opts.verdicts) == 0:
		return time.Time{}
	case v.opts.runtimeClock:
		return now
	}
	return time.Now()
}

// verify is verifyToken with the revocation list as the last check of
// every verdict, cached or not: an entry added after a token was cached
// refuses it on its next use.
func (v *engine) verify(ctx context.Context, token string, now time.Time) (*Claims, string, error) {
	c, cache, err := v.verifyToken(ctx, token, now)
	c, err = v.checkRevoked(c, err)
	return c, cache, err
}

// verifyToken is Verify without the log line and the revocation list. It fails closed on a panic. cache
// says whether the token cache answered (VerdictEvent.Cache).
func (v *engine) verifyToken(ctx context.Context, token string, now time.Time) (c *Claims, cache string, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, cache, err = nil, cacheNotConsulted, newError(ReasonTokenMalformed, "internal failure during verification")
		}
	}()
	if v.cache == nil || token == "" || len(token) > v.maxBytes {
		c, err = v.checkStamped(ctx, token, now)
		return c, cacheNotConsulted, err
	}
	if c := v.cache.get(token, now); c != nil {
		// The signature and the static claims were checked when the entry
		// was made; the key must still be served and the time checks depend
		// on now, so both are run again.
		if !v.stillServed(c, now) {
			v.cache.remove(token)
		} else if err := v.checkTimes(c, now); err != nil {
			return nil, cacheHit, err.stampClaims(c)
		} else {
			return c, cacheHit, nil
		}
	}
	c, err = v.checkStamped(ctx, token, now)
	if err == nil {
		v.cache.add(token, c, now)
	}
	return c, cacheMiss, err
}

// stillServed reports whether the issuer of c still serves, at now, the key
// that verified it under the token's kid. A removed or replaced key, or a
// set past max_stale, sends the token through a full verification, which
// gives the verdict an uncached verifier would.
func (v *engine) stillServed(c *Claims, now time.Time) bool {
	set, err := v.issuers[c.issuer].Current(now)
	return err == nil && set.Serves(c.kid, c.keyThumbprint, c.keyAlg)
}

// maxHeaderMembers bounds the JOSE header; see parseHeader.
const maxHeaderMembers = 64

// tokenHeader holds the JOSE header members that verification reads.
type tokenHeader struct {
	alg, kid, typ string
	hasTyp        bool
}

// readSoFar is what check has read from a token when it fails: the
// header members, the iss claim and the decoded payload. None of it is
// trusted; it is for the log line.
type readSoFar struct {
	h       tokenHeader
	iss     string
	payload []byte
}

// checkStamped is check with what could be read from the token stamped
// onto its error, in this one place.
func (v *engine) checkStamped(ctx context.Context, token string, now time.Time) (*Claims, error) {
	var read readSoFar
	c, err := v.check(ctx, token, now, &read)
	if err != nil {
		err.typ, err.hasTyp, err.payload = read.h.typ, read.h.hasTyp, read.payload
		return nil, err.stamp(read.h.kid, read.h.alg, read.iss)
	}
	return c, nil
}

// check is the pipeline: size, split, decode, header, claims, issuer, key,
// signature, times and audience. It fills read as it goes.
func (v *engine) check(ctx context.Context, token string, now time.Time, read *readSoFar) (*Claims, *Error) {
	h := &read.h
	if token == "" {
		return nil, newError(ReasonTokenMissing, "no token")
	}
	// The size cap comes before any decoding, so an oversized input costs
	// nothing and cannot exhaust memory.
	if len(token) > v.maxBytes {
		return nil, newError(ReasonTokenTooLarge, fmt.Sprintf("token of %d bytes exceeds %d", len(token), v.maxBytes))
	}
	// RFC 7515 section 7.1: the compact serialization is exactly three
	// base64url segments. A JWE (five) or the JSON serialization is refused.
	d1 := strings.IndexByte(token, '.')
	d2 := -1
	if d1 >= 0 {
		if i := strings.IndexByte(token[d1+1:], '.'); i >= 0 {
			d2 = d1 + 1 + i
		}
	}
	if d1 <= 0 || d2 < 0 || strings.IndexByte(token[d2+1:], '.') >= 0 {
		return nil, newError(ReasonTokenMalformed, "not a compact JWS of three segments")
	}
	hSeg, pSeg, sSeg := token[:d1], token[d1+1:d2], token[d2+1:]
	if len(pSeg) == 0 {
		return nil, newError(ReasonTokenMalformed, "empty payload segment")
	}
	// One buffer for all three segments: one allocation per token.
	buf := make([]byte, jose.DecodedLen(len(hSeg))+jose.DecodedLen(len(pSeg))+jose.DecodedLen(len(sSeg)))
	header, rest, ok := jose.DecodeSegment(buf, hSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "header is not strict base64url")
	}
	payload, rest, ok := jose.DecodeSegment(rest, pSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "payload is not strict base64url")
	}
	sig, _, ok := jose.DecodeSegment(rest, sSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "signature is not strict base64url")
	}
	read.payload = payload

	if err := parseHeader(header, h); err != nil {
		return nil, err
	}
	method, err := v.checkHeader(h)
	if err != nil {
		return nil, err
	}
	c := &Claims{alg: h.alg, kid: h.kid, payload: payload}
	err = v.parseClaims(c, payload)
	read.iss = c.issuer
	if err != nil {
		return nil, err
	}

	// RFC 8725 section 3.8: the issuer selects the only keys that may sign
	// its tokens. An unknown issuer is refused before any key lookup, so it
	// can never trigger a fetch.
	src := v.issuers[c.issuer]
	if src == nil {
		return nil, newError(ReasonIssuerInvalid, "issuer is not trusted")
	}
	key, err := v.findKey(ctx, src, h, method, now)
	if err != nil {
		return nil, err
	}
	// RFC 7515 section 5.2: the signature covers the ASCII of
	// header "." payload, exactly as received.
	if method.Verify(token[:d2], sig, key.Pub) != nil {
		return nil, newError(ReasonSignatureInvalid, "signature does not verify")
	}
	if tenant, ok := v.tenants[c.issuer]; ok {
		if err := checkTenant(c, tenant); err != nil {
			return nil, err
		}
	}
	c.keyThumbprint, c.keyAlg, c.keyKID = key.Thumbprint, key.Alg, key.KID
	if err := v.checkTimes(c, now); err != nil {
		return nil, err
	}
	return c, nil
}

// parseHeader reads the JOSE header into h. crit may only name extensions
// the verifier understands (RFC 7515 section 4.1.11), and it understands
// none.
func parseHeader(data []byte, h *tokenHeader) *Error {
	// RFC 7515 section 4: the header is a UTF-8 JSON object.
	if !utf8.Valid(data) {
		return newError(ReasonTokenMalformed, "header is not UTF-8")
	}
	it, ok := jose.NewObjectIter(data)
	if !ok {
		return newError(ReasonTokenMalformed, "header is not a JSON object")
	}
	var names [16]string
	seen := names[:0]
	hasAlg := false
	for {
		k, val, more := it.Next()
		if !more {
			break
		}
		name, ok := jose.String(k)
		if !ok {
			return newError(ReasonTokenMalformed, "header member name is not a string")
		}
		// Real headers have a handful of members; the cap keeps the
		// duplicate scan below from costing more than a signature check.
		if len(seen) == maxHeaderMembers {
			return newError(ReasonTokenMalformed, "header has too many members")
		}
		// RFC 7515 section 4: duplicate header names must be rejected.
		for _, s := range seen {
			if s == name {
				return newError(ReasonTokenMalformed, "duplicate header member "+quoteName(name))
			}
		}
		seen = append(seen, name)
		switch name {
		case "alg":
			// RFC 7515 section 4.1.1: a case-sensitive string.
			if h.alg, ok = jose.String(val); !ok {
				return newError(ReasonHeaderInvalid, "alg is not a string")
			}
			hasAlg = true
		case "kid":
			if h.kid, ok = jose.String(val); !ok {
				return newError(ReasonHeaderInvalid, "kid is not a string")
			}
		case "typ":
			if h.typ, ok = jose.String(val); !ok {
				return newError(ReasonHeaderInvalid, "typ is not a string")
			}
			h.hasTyp = true
		case "crit":
			// RFC 7515 section 4.1.11: a recipient that does not understand
			// an extension listed in crit must reject. No extension is
			// understood here, and an empty list is itself invalid.
			return newError(ReasonHeaderInvalid, "crit names an unsupported extension")
		case "b64":
			// RFC 7797 section 3: an unencoded payload changes what is
			// signed; it is not supported.
			if string(val) != "true" {
				return newError(ReasonHeaderInvalid, "b64 other than true is not supported")
			}
		}
		// jwk, jku, x5u and x5c are read by no code here: keys come only
		// from the issuer's configured set (RFC 8725 section 3.10).
	}
	if !hasAlg {
		return newError(ReasonAlgNotAllowed, "alg is missing")
	}
	return nil
}
func quoteName(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return fmt.Sprintf("%q", s)
}

// checkHeader applies the allowlist and typ rules.
func (v *engine) checkHeader(h *tokenHeader) (*jose.Alg, *Error) {
	// RFC 8725 sections 3.1 and 3.2: the algorithm must be one the verifier
	// pinned, compared exactly; "none" in any casing is never among them.
	m := v.methods[h.alg]
	if m == nil {
		return nil, newError(ReasonAlgNotAllowed, "alg is not in the allowlist")
	}
	if len(v.types) > 0 {
		// RFC 7515 section 4.1.9 and RFC 8725 section 3.11: explicit typing
		// keeps other JWTs (ID tokens) from passing as access tokens.
		t := normalizeType(h.typ)
		ok := false
		for _, want := range v.types {
			if h.hasTyp && t == want {
				ok = true
				break
			}
		}
		if !ok {
			return nil, newError(ReasonTypeInvalid, "typ is not an accepted token type")
		}
	}
	return m, nil
}

// normalizeType follows RFC 7515 section 4.1.9: media types compare
// case-insensitively and "application/" may be omitted.
func normalizeType(t string) string {
	t = strings.ToLower(t)
	if rest, ok := strings.CutPrefix(t, "application/"); ok && !strings.Contains(rest, "/") {
		return rest
	}
	return t
}

// Registered claims whose duplicates are refused; each has a bit.
const (
	bitIss = 1 << iota
	bitSub
	bitAud
	bitExp
	bitNbf
	bitIat
	bitJti
	bitScope
	bitScp
	bitClientID
)

// parseClaims reads the registered claims. RFC 7519 section 7.2 step 10:
// the payload is a UTF-8 JSON object.
func (v *engine) parseClaims(c *Claims, data []byte) *Error {
	if !utf8.Valid(data) {
		return newError(ReasonTokenMalformed, "payload is not UTF-8")
	}
	it, ok := jose.NewObjectIter(data)
	if !ok {
		return newError(ReasonTokenMalformed, "payload is not a JSON object")
	}
	var seen uint
	var present uint64 // bit i: required claim i present
	idClaim := ""      // a claim only ID tokens carry, when they are refused
	for {
		k, val, more := it.Next()
		if !more {
			break
		}
		name, ok := jose.String(k)
		if !ok {
			return newError(ReasonTokenMalformed, "claim name is not a string")
		}
		var bit uint
		var bad bool
		switch name {
		case "iss":
			bit = bitIss
			c.issuer, ok = jose.String(val)
			bad = !ok
		case "sub":
			bit = bitSub
			c.subject, ok = jose.String(val)
			bad = !ok
		case "jti":
			bit = bitJti
			c.id, ok = jose.String(val)
			bad = !ok
		case "aud":
			// RFC 7519 section 4.1.3: a string or an array of strings.
			bit = bitAud
			var isArray bool
			c.aud1, c.audN, isArray, ok = jose.StringOrArray(val)
			bad, c.hasAud = !ok, ok
			if ok && isArray && c.audN == nil {
				c.audN = []string{}
			}
		case "exp":
			bit = bitExp
			c.exp, ok = jose.Number(val)
			bad = !ok
		case "nbf":
			bit = bitNbf
			c.nbf, ok = jose.Number(val)
			bad, c.hasNbf = !ok, ok
		case "iat":
			bit = bitIat
			c.iat, ok = jose.Number(val)
			bad, c.hasIat = !ok, ok
		case "scope":
			// RFC 9068 section 2.2.3: space-delimited; Spring
			// Authorization Server sends an array.
			bit = bitScope
			bad = !c.readScopes(&c.scope, val)
		case "client_id":
			// Read only where it names the audience (checkAudience): a
			// string (RFC 8693 section 4.3), given once.
			if v.byClientID {
				bit = bitClientID
				c.clientID, ok = jose.String(val)
				bad, c.hasClientID = !ok, ok
			}
		case "nonce", "at_hash", "c_hash":
			if v.cfg.RefuseIDTokens {
				idClaim = name
			}
		case "tid":
			// Judged only for a template issuer, by checkTenant.
			switch {
			case c.tidState != tidAbsent:
				c.tidState = tidDuplicate
			default:
				c.tidState = tidWrongType
				if c.tid, ok = jose.String(val); ok {
					c.tidState = tidString
				}
			}
		case "scp":
			// Not registered: IdPs send a string (Entra ID) or an array
			// (Okta).
			bit = bitScp
			bad = !c.readScopes(&c.scp, val)
		}
		if bit != 0 {
			// RFC 7519 section 4: duplicate claim names must be rejected
			// (or the last taken; rejecting leaves no ambiguity to exploit).
			if seen&bit != 0 {
				return newError(ReasonTokenMalformed, "duplicate claim "+quoteName(name))
			}
			seen |= bit
			if bad {
				return newError(ReasonClaimInvalid, "claim "+quoteName(name)+" has the wrong type")
			}
		}
		if len(v.required) > 0 && string(val) != "null" {
			for i, r := range v.required {
				if r == name {
					present |= 1 << i
				}
			}
		}
	}
	if idClaim != "" {
		// OpenID Connect Core 1.0 sections 2, 3.1.3.6, 3.3.2.11: nonce,
		// at_hash and c_hash bind an ID token to a client's login; an
		// access token has no use for them. The token is of the wrong
		// type, as a wrong typ is (RFC 8725 section 3.11).
		return newError(ReasonTypeInvalid, "claim "+quoteName(idClaim)+" marks an ID token ("+keyRefuseIDTokens+")")
	}
	if seen&bitExp == 0 {
		// RFC 9068 section 2.2: exp is required in an access token.
		return newError(ReasonClaimMissing, `claim "exp" is missing`)
	}
	if c.issuer == "" {
		return newError(ReasonIssuerInvalid, `claim "iss" is missing`)
	}
	for i, r := range v.required {
		if present&(1<<i) == 0 {
			return newError(ReasonClaimMissing, "claim "+quoteName(r)+" is missing")
		}
	}
	return nil
}

// readScopes reads one scope claim: a space-delimited string into list,
// or an array of scope-tokens (RFC 6749 section 3.3) into c.scopeList.
// Any other shape is false.
func (c *Claims) readScopes(list *string, val []byte) bool {
	one, many, isArray, ok := jose.StringOrArray(val)
	switch {
	case !ok:
		return false
	case !isArray:
		*list = one
		return true
	}
	for _, s := range many {
		if !scopeToken(s) {
			return false
		}
	}
	c.scopeList = append(c.scopeList, many...)
	return true
}

// findKey selects the verification key, only from the issuer's own set.
func (v *engine) findKey(ctx context.Context, src jwks.Source, h *tokenHeader, method *jose.Alg, now time.Time) (*jwks.Key, *Error) {
	set, err := src.Current(now)
	if err != nil {
		return nil, keyError(err)
	}
	k, kerr := pick(set, h)
	if kerr == nil {
		return usable(k, h, method)
	}
	if h.kid == "" {
		return nil, kerr
	}
	// Unknown kid: the IdP may have rotated. The source decides whether a
	// fetch is allowed now.
	if set, err = src.UnknownKID(ctx, h.kid); err != nil {
		return nil, keyError(err)
	}
	if k, kerr = pick(set, h); kerr != nil {
		return nil, kerr
	}
	return usable(k, h, method)
}

func pick(set *jwks.Set, h *tokenHeader) (*jwks.Key, *Error) {
	if h.kid != "" {
		if k := set.ByKID(h.kid); k != nil {
			return k, nil
		}
		return nil, newError(ReasonKeyNotFound, "no key with this kid")
	}
	// RFC 7515 section 4.1.4: kid is optional, but with several keys a
	// token without one cannot select its key unambiguously.
	switch keys := set.Keys(); len(keys) {
	case 1:
		return keys[0], nil
	case 0:
		return nil, newError(ReasonKeysUnavailable, "the key set is empty")
	}
	return nil, newError(ReasonHeaderInvalid, "kid is required when the issuer publishes several keys")
}

// usable applies RFC 7517 section 4.4 (a JWK's alg restricts it) and
// RFC 7518 section 3.1 (the key type must fit the algorithm).
func usable(k *jwks.Key, h *tokenHeader, method *jose.Alg) (*jwks.Key, *Error) {
	if k.Alg != "" && k.Alg != h.alg {
		return nil, newError(ReasonAlgNotAllowed, "the key's alg differs from the token's")
	}
	if !method.Fits(k.Pub) {
		return nil, newError(ReasonKeyNotFound, "the key's type does not fit the alg")
	}
	return k, nil
}

// checkTimes is also run on every cache hit, against the current clock.
func (v *engine) checkTimes(c *Claims, now time.Time) *Error {
	t := float64(now.Unix()) + float64(now.Nanosecond())/1e9
	// RFC 7519 section 4.1.4: the current time must be before exp; leeway
	// absorbs clock skew (section 4.1.4 "MAY provide for some small leeway").
	if t >= c.exp+v.leeway {
		return newError(ReasonTokenExpired, "token has expired")
	}
	// RFC 7519 section 4.1.5.
	if c.hasNbf && t+v.leeway < c.nbf {
		return newError(ReasonTokenNotYetValid, "token is not valid yet")
	}
	// RFC 7519 section 4.1.6 gives iat no rule; a token issued in the future
	// means a wrong clock or a forged token (RFC 9068 section 4).
	if c.hasIat && c.iat > t+v.leeway {
		return newError(ReasonIssuedInFuture, "token was issued in the future")
	}
	return v.checkAudience(c)
}

// checkAudience: RFC 7519 section 4.1.3 and RFC 9068 section 4, the service
// must find itself among the token's audiences, compared exactly.
func (v *engine) checkAudience(c *Claims) *Error {
	if v.cfg.InsecureSkipAudience {
		return nil
	}
	if v.byClientID {
		// audience_claim: client_id. RFC 9068 section 2.2 and RFC 8693
		// section 4.3: client_id is the client the token was issued to,
		// and where the IdP puts no aud in access tokens it is all that
		// tells a token of another client apart, so it is required. A
		// missing one is the audience that is wrong, not a claim the
		// baseline listed: audience_invalid either way.
		if !c.hasClientID {
			return newError(ReasonAudienceInvalid, `claim "client_id" is missing (`+keyAudienceClaim+`: `+AudienceClaimClientID+`)`)
		}
		if !slices.Contains(v.audiences, c.clientID) {
			return newError(ReasonAudienceInvalid, "client_id is not a client this service accepts")
		}
		// An aud the token carries as well is still an audience
		// (RFC 7519 section 4.1.3): it must name this service too.
		if !c.hasAud {
			return nil
		}
	}
	for _, want := range v.audiences {
		if c.audN == nil && c.aud1 == want {
			return nil
		}
		for _, a := range c.audN {
			if a == want {
				return nil
			}
		}
	}
	return newError(ReasonAudienceInvalid, "token is not for this audience")
}

// logRejection writes the one line per rejection of a call without a
// request (Verify, Authorize).
func (v *engine) logRejection(ctx context.Context, err error) { v.logRequestRejection(ctx, err, nil) }

// logRequestRejection writes the one line per rejection, with what could
// be read from the token and, when r names them ([RequestTarget]), the
// request's method and path. It never logs the token, its signature or
// any raw segment of it; see rejectionAttrs.
func (v *engine) logRequestRejection(ctx context.Context, err error, r Request) {
	e := asError(err)
	level := slog.LevelInfo
	if e.Reason == ReasonKeysUnavailable {
		level = slog.LevelError
	}
	if !v.opts.logger.Enabled(ctx, level) || !v.sampler.allow(e) {
		return
	}
	// Built in a buffer of the caller's frame: a line costs no allocation
	// for its attribute list.
	var buf [8]slog.Attr
	v.opts.logger.LogAttrs(ctx, level, "jwt rejected", v.rejectionAttrs(buf[:0], e, r)...)
}

// clip bounds values read from an unverified token before they go into a
// verdict event.
func clip(s string) string { return clipAt(s, 128) }
