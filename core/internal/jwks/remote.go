package jwks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Lifecycle constants that are not baseline settings.
const (
	// retryBase and retryMaxDelay shape the backoff after failed fetches:
	// 1s, 2s, 4s ... capped at a minute (and at refresh_interval), so a
	// service that started during an IdP outage becomes ready within about
	// a minute of the IdP's return, without hammering it meanwhile.
	retryBase     = time.Second
	retryMaxDelay = time.Minute
	// jitterFraction spreads refreshes by about ±10% so that instances
	// started together do not fetch in lockstep.
	jitterFraction = 0.1
	// maxNegativeKIDs bounds the memory a flood of random kids can take.
	maxNegativeKIDs = 4096
	// maxHintRetries bounds the retries of a hinted fetch that failed (a
	// 429 or 503 while a fleet converges): each waits a capped exponential
	// backoff with jitter, and after the last the refresh loop alone goes
	// on, so an announcement can never start an endless retry loop.
	maxHintRetries = 5
)

var errClosed = errors.New("key source closed")

// servedSet is what the hot path reads: one atomic load, no lock.
type servedSet struct {
	set  *Set
	okAt time.Time // last successful fetch (200 or 304)
}

// flight is one fetch in progress. Every caller that needs a fresh set while
// it runs waits on done instead of fetching again.
type flight struct {
	trigger string
	done    chan struct{}
	err     error // set before done is closed
}

// fetchResult is what one HTTP exchange produced.
type fetchResult struct {
	set         *Set // nil on 304
	skipped     []Skipped
	notModified bool
	etag        string
	maxAge      time.Duration
	hasMaxAge   bool
}

// Policy is the lifecycle of a remote set, from the baseline's jwks keys.
type Policy struct {
	RefreshInterval    time.Duration
	UnknownKIDInterval time.Duration
	MaxStale           time.Duration
	HTTPTimeout        time.Duration
	ConvergenceWindow  time.Duration
}

// Env is what a remote set needs from its process: none of it changes a
// verdict.
type Env struct {
	Client *http.Client
	Logger *slog.Logger
	Now    func() time.Time
	Hooks  []Hooks
}

// Remote serves an issuer's JWKS fetched from jwks_url and runs its
// lifecycle: coalesced and rate-limited fetches on unknown kids, periodic
// refresh with jitter and backoff, bounded stale-if-error.
type Remote struct {
	issuer string
	disc   *Discovery // nil when the key set's URL is configured
	policy Policy
	algs   map[string]bool
	env    Env

	served atomic.Pointer[servedSet]

	ctx       context.Context // parent of every fetch; cancelled by close
	cancel    context.CancelFunc
	stop      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup // the refresh loop and any fetch

	mu               sync.Mutex
	closed           bool
	url              string // the key set's URL; with discovery, the held document's jwks_uri ("" before one)
	inflight         *flight
	lastUnknownFetch time.Time            // start of the last fetch an unknown kid triggered
	negative         map[string]time.Time // kids found absent, until when
	etag             string
	maxAge           time.Duration
	hasMaxAge        bool
	failures         int // consecutive failed fetches
	fetchOK          uint64
	fetchFailed      uint64
	fetchNotModified uint64
	refusedUnknown   uint64
	lastErr          string
	lastSkipped      string    // skippedSignature of the last set fetched
	hint             *hintArm  // the pending hinted fetch; nil when none
	lastHintFetch    time.Time // start of the last fetch a hint triggered
	docOK            time.Time // last good discovery document
	docFetchOK       uint64
	docFetchFailed   uint64
}

// hintArm is one pending hinted fetch: its timer, and the fingerprint the
// latest announcement named. A timer's callback acts only while its arm is
// still s.hint, so a cancelled arm that fires late does nothing.
type hintArm struct {
	timer       *time.Timer
	fingerprint string
	retries     int
}

// NewRemote starts the source and waits for its first fetch, which
// http_timeout bounds. If that fetch fails the source still starts, not
// ready, and its refresh loop retries with backoff: an IdP outage never
// stops a service from starting.
func NewRemote(issuer, url string, policy Policy, algs map[string]bool, env Env) *Remote {
	return start(&Remote{issuer: issuer, url: url, policy: policy, algs: algs, env: env})
}

// start runs s's first fetch and its refresh loop, and returns once the
// first fetch ended.
func start(s *Remote) *Remote {
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.env.Client = noDowngrade(s.env.Client)
	s.stop, s.negative = make(chan struct{}), make(map[string]time.Time)
	first := s.startFetch(TriggerStartup)
	s.wg.Add(1)
	go s.refreshLoop(first)
	<-first.done
	return s
}

// Errors of the hot path, made once: a refusal costs no allocation.
var (
	errNeverFetched  = fail(ErrUnavailable, "no key set fetched yet", nil)
	errTooStale      = fail(ErrUnavailable, "the last good key set is older than max_stale", nil)
	errAbsent        = fail(ErrNotFound, "kid was absent from a key set fetched moments ago", nil)
	errCooldown      = fail(ErrNotFound, "kid is not in the key set, which was fetched for an unknown kid less than unknown_kid_interval ago", nil)
	errClosedUnknown = fail(ErrNotFound, "kid is not in the key set, and the source is closed: it fetches no more", nil)
)

// Current is the hot path of every verification: one atomic load and a
// clock read, never a lock or the network.
func (s *Remote) Current(now time.Time) (*Set, error) {
	sv := s.served.Load()
	if sv == nil {
		return nil, errNeverFetched
	}
	// Stale-if-error (RFC 5861 section 4) is bounded: past max_stale the
	// keys may have been revoked long ago, so verification fails closed.
	if now.Sub(sv.okAt) > s.policy.MaxStale {
		return nil, errTooStale
	}
	return sv.set, nil
}

// UnknownKID handles a kid missing from the current set: the IdP may have
// rotated. Concurrent callers share one fetch; fetches for unknown kids
// start at most once per unknown_kid_interval, and outside that budget a
// caller fails at once instead of queueing on a limiter.
func (s *Remote) UnknownKID(ctx context.Context, kid string) (*Set, error) {
	now := s.env.Now()
	s.mu.Lock()
	if sv := s.served.Load(); sv != nil && sv.set.byKID[kid] != nil {
		// The key arrived between the caller's lookup and now.
		s.mu.Unlock()
		return s.Current(now)
	}
	if until, ok := s.negative[kid]; ok {
		if now.Before(until) {
			s.refusedUnknown++
			s.mu.Unlock()
			return nil, errAbsent
		}
		delete(s.negative, kid)
	}
	if s.closed {
		s.mu.Unlock()
		return nil, errClosedUnknown
	}
	f := s.inflight
	if f == nil {
		cooling := !s.lastUnknownFetch.IsZero() && now.Sub(s.lastUnknownFetch) < s.policy.UnknownKIDInterval
		switch {
		case s.hint != nil:
			// The fleet announced a set this replica lacks, and a token
			// naming a kid it lacks shows the set is needed now: the
			// delayed fetch runs at once, and counts as the hinted one.
			s.cancelHintLocked()
			s.lastHintFetch = now
			if !cooling {
				s.lastUnknownFetch = now
			}
		case cooling:
			s.refusedUnknown++
			s.mu.Unlock()
			return nil, errCooldown
		default:
			s.lastUnknownFetch = now
		}
		f = s.startFetchLocked(TriggerUnknownKID)
	}
	s.mu.Unlock()

	select {
	case <-f.done:
	case <-ctx.Done():
		return nil, fail(ErrUnavailable, "gave up waiting for the key set fetch", ctx.Err())
	}
	if f.err != nil {
		// The token may be fine; the keys to check it could not be had.
		return nil, fail(ErrUnavailable, "the key set fetch for an unknown kid failed", f.err)
	}
	set, err := s.Current(s.env.Now())
	if err != nil {
		return nil, err
	}
	if set.byKID[kid] == nil {
		s.rememberAbsent(kid)
	}
	return set, nil
}

// rememberAbsent puts kid in the negative cache for one cooldown. When the
// cache is full an arbitrary entry makes room: the cooldown alone still
// bounds the fetches, the cache only spares the lock on repeats.
func (s *Remote) rememberAbsent(kid string) {
	until := s.env.Now().Add(s.policy.UnknownKIDInterval)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.negative[kid]; !ok && len(s.negative) >= maxNegativeKIDs {
		for k := range s.negative {
			delete(s.negative, k)
			break
		}
	}
	s.negative[kid] = until
}

// Refresh fetches now, for emergency revocation. A fetch already running may
// have started before the IdP removed the key, so it is waited out and a new
// one started.
func (s *Remote) Refresh(ctx context.Context) error {
	s.mu.Lock()
	f := s.inflight
	s.mu.Unlock()
	if f != nil {
		select {
		case <-f.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	f = s.startFetch(TriggerForced)
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Hint is a fleet announcement: another replica holds this issuer's set
// with fingerprint. A replica that holds it too does nothing. Otherwise it
// fetches the set itself, from its own jwks_url, after a random delay
// within convergence_window, so a fleet told at one instant does not reach
// the IdP at one instant. Announcements arriving meanwhile share that one
// pending fetch, and hinted fetches start at most once per
// unknown_kid_interval, so however many announcements arrive, and whoever
// sends them, they cost the IdP at most one fetch per replica per
// interval. A hint carries no key: what is served still comes only from
// the issuer.
func (s *Remote) Hint(fingerprint string) {
	now := s.env.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.holds(fingerprint) {
		return
	}
	if s.hint != nil {
		s.hint.fingerprint = fingerprint
		return
	}
	s.armHintLocked(&hintArm{fingerprint: fingerprint}, now, 0)
}

// holds reports whether the served set has fingerprint.
func (s *Remote) holds(fingerprint string) bool {
	sv := s.served.Load()
	return sv != nil && sv.set.fingerprint == fingerprint
}

// armHintLocked schedules h after backoff (0 for a fresh hint) plus a
// random delay within the window, and never before unknown_kid_interval
// has passed since the last hinted fetch.
func (s *Remote) armHintLocked(h *hintArm, now time.Time, backoff time.Duration) {
	delay := backoff
	if !s.lastHintFetch.IsZero() {
		delay = max(delay, s.lastHintFetch.Add(s.policy.UnknownKIDInterval).Sub(now))
	}
	if w := s.policy.ConvergenceWindow; w > 0 {
		delay += rand.N(w)
	}
	s.hint = h
	s.wg.Add(1) // done by the callback, or by whoever stops the timer first
	h.timer = time.AfterFunc(delay, func() { s.hintDue(h) })
}

// cancelHintLocked drops the pending hinted fetch: the set it announced
// arrived, or a fetch is starting anyway.
func (s *Remote) cancelHintLocked() {
	if s.hint != nil && s.hint.timer.Stop() {
		s.wg.Done()
	}
	s.hint = nil
}

// hintDue runs a hinted fetch when its delay is over, unless the announced
// set arrived meanwhile. A failed fetch (the IdP answering 429 or 503 to a
// converging fleet) is retried after a capped exponential backoff with
// jitter, at most maxHintRetries times.
func (s *Remote) hintDue(h *hintArm) {
	defer s.wg.Done()
	s.mu.Lock()
	if s.hint != h || s.closed {
		s.mu.Unlock()
		return
	}
	s.hint = nil
	if s.holds(h.fingerprint) {
		s.mu.Unlock()
		return
	}
	s.lastHintFetch = s.env.Now()
	f := s.startFetchLocked(TriggerHint)
	s.mu.Unlock()
	<-f.done // a fetch always ends: it has http_timeout, and Close cancels it
	if f.err == nil || h.retries >= maxHintRetries {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed || s.hint != nil || s.holds(h.fingerprint) {
		return
	}
	backoff := jitter(min(retryBase<<h.retries, retryMaxDelay))
	s.armHintLocked(&hintArm{fingerprint: h.fingerprint, retries: h.retries + 1}, s.env.Now(), backoff)
}

// Close stops the refresh loop, cancels any fetch and waits for both.
func (s *Remote) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true // no fetch starts after this, so wg.Add cannot race wg.Wait
		s.cancelHintLocked()
		s.mu.Unlock()
		close(s.stop)
		s.cancel()
	})
	s.wg.Wait()
}

// Stats reports the source at now.
func (s *Remote) Stats(now time.Time) Stats {
	s.mu.Lock()
	st := Stats{Issuer: s.issuer, Source: s.url, FetchOK: s.fetchOK, FetchFailed: s.fetchFailed,
		FetchNotModified: s.fetchNotModified, LastError: s.lastErr, RefusedUnknown: s.refusedUnknown}
	if s.disc != nil {
		st.Discovery, st.DiscoveryFetchOK, st.DiscoveryFetchFailed = s.disc.URL, s.docFetchOK, s.docFetchFailed
		st.DiscoveryLastSuccess = s.docOK
	}
	s.mu.Unlock()
	if sv := s.served.Load(); sv != nil {
		st.Keys, st.KIDs, st.Fingerprint = len(sv.set.all), sv.set.KIDs(), sv.set.fingerprint
		st.LastSuccess, st.Age = sv.okAt, now.Sub(sv.okAt)
	}
	_, err := s.Current(now)
	st.Ready = err == nil
	return st
}

// refreshLoop is the source's one long-lived goroutine: it waits for the
// running fetch, sleeps until the next refresh is due and starts it.
func (s *Remote) refreshLoop(f *flight) {
	defer s.wg.Done()
	for {
		select {
		case <-f.done:
		case <-s.stop:
			return
		}
		delay, trigger := s.nextRefresh()
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.stop:
			t.Stop()
			return
		}
		f = s.startFetch(trigger)
	}
}

// nextRefresh is refresh_interval, or the response's max-age clamped between
// unknown_kid_interval and refresh_interval, or after failures a capped
// exponential backoff; always with jitter.
func (s *Remote) nextRefresh() (time.Duration, string) {
	s.mu.Lock()
	failures, maxAge, hasMaxAge := s.failures, s.maxAge, s.hasMaxAge
	s.mu.Unlock()
	if failures > 0 {
		limit := min(retryMaxDelay, s.policy.RefreshInterval)
		d := limit
		if failures <= 30 {
			d = min(retryBase<<(failures-1), limit)
		}
		return jitter(d), TriggerRetry
	}
	d := s.policy.RefreshInterval
	if hasMaxAge {
		// The IdP says how long its set stays fresh (RFC 9111 section
		// 5.2.2.1); the clamp keeps a tiny max-age from turning into a
		// poll and a huge one from delaying key removal.
		d = min(max(maxAge, s.policy.UnknownKIDInterval), s.policy.RefreshInterval)
	}
	return jitter(d), TriggerPeriodic
}

func jitter(d time.Duration) time.Duration {
	return d + time.Duration((rand.Float64()*2-1)*jitterFraction*float64(d))
}

func (s *Remote) startFetch(trigger string) *flight {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startFetchLocked(trigger)
}

// startFetchLocked joins the running fetch or starts one. The fetch runs on
// the source's own context, not a caller's, so one caller giving up does not
// fail the others waiting on it.
func (s *Remote) startFetchLocked(trigger string) *flight {
	if s.inflight != nil {
		return s.inflight
	}
	f := &flight{trigger: trigger, done: make(chan struct{})}
	if s.closed {
		f.err = errClosed
		close(f.done)
		return f
	}
	s.inflight = f
	s.wg.Add(1)
	go s.fetch(f)
	return f
}

// fetch runs one fetch, applies its result, logs and notifies, then releases
// the callers waiting on f.
func (s *Remote) fetch(f *flight) {
	defer s.wg.Done()
	// One http_timeout bounds the whole flight, the discovery document's
	// request included, so the first wait at start keeps its bound.
	ctx, cancel := context.WithTimeout(s.ctx, s.policy.HTTPTimeout)
	defer cancel()
	var docErr error
	if s.disc != nil && s.needsDocument(f.trigger) {
		docErr = s.fetchDocument(ctx, f.trigger)
	}
	start := s.env.Now()
	s.mu.Lock()
	url, etag := s.url, s.etag
	if url == "" && s.ctx.Err() == nil {
		// No document was ever good: there is no key set to fetch.
		if docErr == nil {
			docErr = errors.New("discovery document: none held")
		}
		s.failures++
		s.lastErr = docErr.Error()
	}
	s.mu.Unlock()
	if s.served.Load() == nil {
		etag = "" // nothing to revalidate
	}
	var res fetchResult
	var err error
	if s.ctx.Err() == nil && url != "" {
		res, err = s.get(ctx, url, etag)
	}
	cancel()
	now := s.env.Now()

	if s.ctx.Err() != nil {
		// Closing: the fetch was cut short on purpose; nothing to record.
		s.finish(f, errClosed)
		return
	}
	if url == "" {
		s.finish(f, docErr)
		return
	}

	ev := FetchEvent{Issuer: s.issuer, URL: url, Trigger: f.trigger, Duration: now.Sub(start), Document: DocumentJWKS}
	var change *KeySetChange
	var logSkipped []Skipped
	s.mu.Lock()
	old := s.served.Load()
	switch {
	case err == nil && res.notModified && old == nil:
		err = errors.New("304 Not Modified without a held key set")
	case err == nil && res.notModified:
		// RFC 9110 section 15.4.5: the held set is still the current
		// representation, so it is as good as freshly fetched.
		s.fetchNotModified++
		ev.Result = ResultNotModified
		s.served.Store(&servedSet{set: old.set, okAt: s.goodSinceLocked(now)})
		if res.etag != "" {
			s.etag = res.etag
		}
	case err == nil:
		s.fetchOK++
		ev.Result = ResultOK
		set := res.set
		if old != nil && old.set.fingerprint == set.fingerprint {
			set = old.set
		} else {
			change = &KeySetChange{Issuer: s.issuer, NewKIDs: set.KIDs(), Fingerprint: set.fingerprint}
			if old != nil {
				change.OldKIDs = old.set.KIDs()
			}
		}
		s.served.Store(&servedSet{set: set, okAt: s.goodSinceLocked(now)})
		s.etag = res.etag
		// The keys this set skipped are logged when they or the set change,
		// not at every refresh that fetches the same document again.
		if sig := skippedSignature(res.skipped); change != nil || sig != s.lastSkipped {
			logSkipped, s.lastSkipped = res.skipped, sig
		}
		if s.hint != nil && s.hint.fingerprint == set.fingerprint {
			s.cancelHintLocked()
		}
	}
	if err != nil {
		s.fetchFailed++
		ev.Result, ev.Err = ResultFailed, err
	} else if res.hasMaxAge || !res.notModified {
		// RFC 9111 section 4.3.4: a 304 updates the stored response's
		// headers; one without Cache-Control leaves max-age as it was.
		s.maxAge, s.hasMaxAge = res.maxAge, res.hasMaxAge
	}
	keysErr := err
	if err == nil {
		// The key set came from the held jwks_uri; a failed document
		// still fails the flight, so the schedule backs off and
		// LastError says why.
		err = docErr
	}
	if err != nil {
		s.failures++
		s.lastErr = err.Error()
	} else {
		s.failures = 0
		s.lastErr = ""
	}
	failures := s.failures
	if sv := s.served.Load(); sv != nil {
		ev.Keys = len(sv.set.all)
	}
	s.mu.Unlock()

	if keysErr != nil {
		s.logFailure(f.trigger, DocumentJWKS, url, keysErr, failures, old, now)
	}
	LogSkipped(s.env.Logger, s.issuer, logSkipped)
	if change != nil {
		s.env.Logger.LogAttrs(context.Background(), slog.LevelInfo, "jwks key set changed",
			slog.String("iss", s.issuer), slog.Any("old_kids", nonNil(change.OldKIDs)), slog.Any("new_kids", change.NewKIDs),
			slog.String("jwks_fingerprint", change.Fingerprint), slog.String("trigger", f.trigger))
	}
	s.notify(func(h Hooks) { h.FetchDone(ev) })
	if change != nil {
		s.notify(func(h Hooks) { h.KeySetChanged(*change) })
	}
	s.finish(f, err)
}

// finish releases the waiters. The set is stored before inflight is cleared,
// so a caller that misses the flight finds the new keys in Current.
func (s *Remote) finish(f *flight, err error) {
	s.mu.Lock()
	s.inflight = nil
	s.mu.Unlock()
	f.err = err
	close(f.done)
}

// goodSinceLocked is when the set fetched at now was last known good: with
// discovery, no later than the document it was found through, so that
// max_stale bounds both.
func (s *Remote) goodSinceLocked(now time.Time) time.Time {
	if s.disc != nil && s.docOK.Before(now) {
		return s.docOK
	}
	return now
}

// logFailure logs a failed fetch of document (DocumentJWKS or
// DocumentDiscovery) from url.
func (s *Remote) logFailure(trigger, document, url string, err error, failures int, old *servedSet, now time.Time) {
	level, serving := slog.LevelWarn, "last good key set"
	attrs := []slog.Attr{slog.String("iss", s.issuer), slog.String("document", document), slog.String("url", url), slog.String("trigger", trigger),
		slog.String("error", err.Error()), slog.Int("consecutive_failures", failures)}
	if old == nil || now.Sub(old.okAt) > s.policy.MaxStale {
		// Nothing may be served: every token of this issuer is refused.
		level, serving = slog.LevelError, "none"
	}
	if old != nil {
		attrs = append(attrs, slog.Time("last_success", old.okAt))
	}
	attrs = append(attrs, slog.String("serving", serving))
	s.env.Logger.LogAttrs(context.Background(), level, "jwks fetch failed", attrs...)
}

// notify calls every hook; a panicking hook must not take the fetch
// goroutine, and with it the service, down.
func (s *Remote) notify(call func(Hooks)) {
	for _, h := range s.env.Hooks {
		func() {
			defer func() {
				if r := recover(); r != nil {
					s.env.Logger.Error("jwtguard key hook panicked", slog.String("iss", s.issuer), slog.Any("panic", r))
				}
			}()
			call(h)
		}()
	}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// get performs one conditional GET of the key set. Whatever is not a usable
// key set is an error, so it can never replace the held set: an empty body,
// a body that is not JSON, one over maxJWKSBytes, or one that leaves no
// usable key.
func (s *Remote) get(ctx context.Context, url, etag string) (fetchResult, error) {
	var r fetchResult
	// RFC 7517 section 8.5 registers application/jwk-set+json; many IdPs
	// serve application/json.
	h := http.Header{"Accept": {"application/jwk-set+json, application/json"}}
	if etag != "" {
		// RFC 9110 section 13.1.2: revalidate the held set.
		h.Set("If-None-Match", etag)
	}
	resp, err := send(ctx, s.env.Client, url, h)
	if err != nil {
		return r, err
	}
	defer resp.Body.Close()
	r.maxAge, r.hasMaxAge = freshness(resp.Header)
	switch resp.StatusCode {
	case http.StatusNotModified:
		if etag == "" {
			return r, errors.New("304 Not Modified to an unconditional request")
		}
		r.notModified, r.etag = true, resp.Header.Get("ETag")
		return r, nil
	case http.StatusOK:
	default:
		return r, fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	data, err := readCapped(resp, maxJWKSBytes)
	if err != nil {
		return r, err
	}
	keys, skipped, err := Parse(data, s.algs)
	if err != nil {
		return r, err
	}
	r.set, r.skipped, r.etag = NewSet(keys), skipped, resp.Header.Get("ETag")
	return r, nil
}

// send performs one GET of url. Keys must come from a trustworthy source
// (RFC 7517 section 9.1), and so must the document that says where they
// are: a redirect may not downgrade an https URL to plain http. The client
// refuses to follow one (noDowngrade); this also catches a transport that
// followed it by itself.
func send(ctx context.Context, client *http.Client, url string, h http.Header) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	req.Header = h
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(url, "https:") && resp.Request != nil && resp.Request.URL.Scheme != "https" {
		resp.Body.Close()
		return nil, fmt.Errorf("redirected from https to %s", resp.Request.URL.Scheme)
	}
	return resp, nil
}

// readCapped reads a body of up to limit bytes, and one more, so that the
// parser of a document over its cap refuses it without reading it whole.
// An empty body is an error.
func readCapped(resp *http.Response, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	if len(data) == 0 {
		return nil, errors.New("empty response body")
	}
	return data, nil
}

// freshness is the remaining freshness lifetime of a response: its max-age
// (RFC 9111 section 5.2.2.1) less the Age it already has (section 4.2.3).
// Only the first max-age counts (section 4.2.1). Other directives are
// ignored: keys are used between fetches whatever no-cache says, and the
// fetch schedule is all that max-age adjusts.
func freshness(h http.Header) (time.Duration, bool) {
	for _, line := range h.Values("Cache-Control") {
		for _, dir := range strings.Split(line, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(dir), "=")
			if !strings.EqualFold(strings.TrimSpace(name), "max-age") {
				continue
			}
			// Section 5.2: recipients accept the quoted form too.
			secs, err := strconv.ParseInt(strings.Trim(strings.TrimSpace(val), `"`), 10, 64)
			if err != nil || secs < 0 {
				return 0, false
			}
			if age, err := strconv.ParseInt(strings.TrimSpace(h.Get("Age")), 10, 64); err == nil && age > 0 {
				secs = max(secs-age, 0)
			}
			// Larger values are clamped to refresh_interval anyway; this
			// keeps the conversion from overflowing.
			secs = min(secs, int64(365*24*time.Hour/time.Second))
			return time.Duration(secs) * time.Second, true
		}
	}
	return 0, false
}

// noDowngrade returns a copy of c that refuses to follow a redirect from an
// https URL to any other scheme: keys must come from a trustworthy source
// (RFC 7517 section 9.1). The check runs before the redirect is followed,
// whatever the transport reports about the final request afterwards. The
// caller's own redirect policy still applies to every other redirect.
func noDowngrade(c *http.Client) *http.Client {
	cp := *c
	next := c.CheckRedirect
	cp.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if via[0].URL.Scheme == "https" && req.URL.Scheme != "https" {
			return fmt.Errorf("redirected from https to %s", req.URL.Scheme)
		}
		if next != nil {
			return next(req, via)
		}
		// net/http's default policy.
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &cp
}
