package core

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// Verifier checks access tokens against one baseline. It is safe for
// concurrent use; Close stops its background work.
type Verifier struct {
	cfg         Config // normalized
	fingerprint string
	issuers     map[string]*issuer
	methods     map[string]*sigAlg // the allowlist, by exact alg
	audiences   []string
	required    []string
	types       []string // normalized typ values
	leeway      float64  // seconds
	maxBytes    int
	cache       *tokenCache // nil when cache.max_entries is 0
	started     atomic.Bool // v.issuers is complete; read-only from then on
	opts        options
}

type issuer struct {
	name string
	src  keySource
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
	hooks []KeyHooks
	// newTimer starts the timers of background key refreshes; nil means
	// time.NewTimer. Tests drive it from a fake clock.
	newTimer func(time.Duration) (<-chan time.Time, func() bool)
}

// WithClock sets the time source used for every time check and the key
// lifecycle, so tests move time instead of sleeping.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

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
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	n := cfg.Normalize()
	v := &Verifier{
		cfg:         n,
		fingerprint: cfg.Fingerprint(),
		issuers:     make(map[string]*issuer, len(n.Issuers)),
		methods:     make(map[string]*sigAlg, len(n.Algorithms)),
		audiences:   n.Audiences,
		required:    n.RequiredClaims,
		leeway:      n.Leeway.Seconds(),
		maxBytes:    n.MaxTokenBytes,
		cache:       newTokenCache(n.Cache),
		opts:        options{now: time.Now, logger: slog.Default(), realm: "api"},
	}
	for _, o := range opts {
		o(&v.opts)
	}
	if v.opts.logger == nil {
		v.opts.logger = slog.New(slog.DiscardHandler)
	}
	if v.opts.httpClient == nil {
		v.opts.httpClient = &http.Client{}
	}
	algs := make(map[string]bool, len(n.Algorithms))
	for _, alg := range n.Algorithms {
		v.methods[alg] = sigAlgs[alg] // Validate admitted only known names
		algs[alg] = true
	}
	for _, t := range n.TokenTypes {
		v.types = append(v.types, normalizeType(t))
	}
	if v.cache != nil {
		// Entries of keys that left a set are dropped as the set changes,
		// not when eviction reaches them. Hooks run after the set is stored.
		v.opts.hooks = append([]KeyHooks{cachePruner{v}}, v.opts.hooks...)
	}
	// Issuers start together: each remote one waits for its first fetch,
	// so New takes one http_timeout at worst, not one per issuer.
	srcs := make([]keySource, len(n.Issuers))
	errs := make([]error, len(n.Issuers))
	var wg sync.WaitGroup
	for i, is := range n.Issuers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if is.JWKSURL != "" {
				srcs[i], errs[i] = newRemoteSource(is, n.JWKS, algs, &v.opts)
			} else {
				srcs[i], errs[i] = newStaticSource(is, algs, &v.opts)
			}
		}()
	}
	wg.Wait()
	for i, is := range n.Issuers {
		if srcs[i] != nil {
			v.issuers[is.Issuer] = &issuer{name: is.Issuer, src: srcs[i]}
		}
	}
	v.started.Store(true) // publishes v.issuers to the hook goroutines
	if err := errors.Join(errs...); err != nil {
		v.Close()
		return nil, err
	}
	v.opts.logger.Info("jwtguard verifier started", slog.String("fingerprint", v.fingerprint),
		slog.Int("issuers", len(v.issuers)), slog.Any("algorithms", n.Algorithms), slog.Any("audiences", n.Audiences))
	return v, nil
}

// Config returns the normalized baseline the verifier runs on.
func (v *Verifier) Config() Config { return v.cfg }

// Fingerprint is the baseline fingerprint, logged at start.
func (v *Verifier) Fingerprint() string { return v.fingerprint }

// Close stops every background goroutine. A closed verifier still answers
// from the keys it holds.
func (v *Verifier) Close() {
	for _, is := range v.issuers {
		is.src.close()
	}
}

// Ready reports whether every issuer has a key set to verify with.
func (v *Verifier) Ready() bool {
	for _, is := range v.issuers {
		if !is.src.ready() {
			return false
		}
	}
	return true
}

// Refresh fetches every remote key set now, for emergency revocation: keys
// the IdP removed stop validating when it returns.
func (v *Verifier) Refresh(ctx context.Context) error {
	var errs []error
	for _, is := range v.issuers {
		if err := is.src.refresh(ctx); err != nil {
			errs = append(errs, fmt.Errorf("issuer %q: %w", is.name, err))
		}
	}
	return errors.Join(errs...)
}

// Stats reports each issuer's key set, sorted by issuer.
func (v *Verifier) Stats() []IssuerStats {
	out := make([]IssuerStats, 0, len(v.issuers))
	for _, name := range sortedKeys(v.issuers) {
		out = append(out, v.issuers[name].src.stats())
	}
	return out
}

// Verify checks token and returns its claims. Any failure is a *Error with a
// stable Reason, and is logged as one line.
func (v *Verifier) Verify(ctx context.Context, token string) (*Claims, error) {
	c, err := v.verify(ctx, token)
	if err != nil {
		v.logRejection(ctx, err)
		return nil, err
	}
	return c, nil
}

// verify is Verify without the log line. It fails closed on a panic.
func (v *Verifier) verify(ctx context.Context, token string) (c *Claims, err error) {
	defer func() {
		if r := recover(); r != nil {
			c, err = nil, newError(ReasonTokenMalformed, "internal failure during verification")
		}
	}()
	if v.cache == nil || token == "" || len(token) > v.maxBytes {
		return v.check(ctx, token, v.opts.now())
	}
	now := v.opts.now()
	if e := v.cache.get(token, now); e != nil {
		// The signature and the static claims were checked when the entry
		// was made; the time checks depend on now and are run again.
		if err := v.checkTimes(e.claims, now); err != nil {
			err.KID, err.Alg, err.Issuer = e.claims.kid, e.claims.alg, e.claims.issuer
			return nil, err
		}
		return e.claims, nil
	}
	c, err = v.check(ctx, token, now)
	if err == nil {
		v.cache.add(token, c, now)
	}
	return c, err
}

// maxHeaderMembers bounds the JOSE header; see parseHeader.
const maxHeaderMembers = 64

// tokenHeader holds the JOSE header members that verification reads.
type tokenHeader struct {
	alg, kid, typ string
	hasTyp        bool
}

func (v *Verifier) check(ctx context.Context, token string, now time.Time) (*Claims, error) {
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
	buf := make([]byte, b64.DecodedLen(len(hSeg))+b64.DecodedLen(len(pSeg))+b64.DecodedLen(len(sSeg)))
	header, rest, ok := decodeSegment(buf, hSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "header is not strict base64url")
	}
	payload, rest, ok := decodeSegment(rest, pSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "payload is not strict base64url")
	}
	sig, _, ok := decodeSegment(rest, sSeg)
	if !ok {
		return nil, newError(ReasonTokenMalformed, "signature is not strict base64url")
	}

	h, err := parseHeader(header)
	if err != nil {
		return nil, err
	}
	method, err := v.checkHeader(&h)
	if err != nil {
		return nil, err
	}
	c := &Claims{alg: h.alg, kid: h.kid, payload: payload}
	if err := v.parseClaims(c, payload); err != nil {
		err.KID, err.Alg = h.kid, h.alg
		return nil, err
	}

	// RFC 8725 section 3.8: the issuer selects the only keys that may sign
	// its tokens. An unknown issuer is refused before any key lookup, so it
	// can never trigger a fetch.
	is := v.issuers[c.issuer]
	if is == nil {
		return nil, &Error{Reason: ReasonIssuerInvalid, Detail: "issuer is not trusted", KID: h.kid, Alg: h.alg, Issuer: c.issuer}
	}
	key, kerr := v.findKey(ctx, is, &h, now)
	if kerr != nil {
		e := AsError(kerr)
		e.KID, e.Alg, e.Issuer = h.kid, h.alg, c.issuer
		return nil, e
	}
	// RFC 7515 section 5.2: the signature covers the ASCII of
	// header "." payload, exactly as received.
	if err := method.verify(token[:d2], sig, key.pub); err != nil {
		return nil, &Error{Reason: ReasonSignatureInvalid, Detail: "signature does not verify", KID: h.kid, Alg: h.alg, Issuer: c.issuer}
	}
	c.is, c.key = is, key
	if err := v.checkTimes(c, now); err != nil {
		err.KID, err.Alg, err.Issuer = h.kid, h.alg, c.issuer
		return nil, err
	}
	return c, nil
}

var b64 = base64.RawURLEncoding.Strict()

// decodeSegment decodes one segment into the front of buf. Strict decoding
// refuses padding, whitespace, CR/LF, characters outside the base64url
// alphabet and non-zero trailing bits (RFC 7515 section 2 and appendix C), so
// one token has exactly one encoding.
func decodeSegment(buf []byte, seg string) (out, rest []byte, ok bool) {
	for i := 0; i < len(seg); i++ {
		if c := seg[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return nil, nil, false
		}
	}
	n, err := b64.Decode(buf, unsafeBytes(seg))
	if err != nil {
		return nil, nil, false
	}
	return buf[:n], buf[n:], true
}

// headerMembers the verifier understands. crit may only name these
// (RFC 7515 section 4.1.11), and it names none of them.
func parseHeader(data []byte) (tokenHeader, *Error) {
	var h tokenHeader
	// RFC 7515 section 4: the header is a UTF-8 JSON object.
	if !utf8.Valid(data) {
		return h, newError(ReasonTokenMalformed, "header is not UTF-8")
	}
	it, ok := newObjectIter(data)
	if !ok {
		return h, newError(ReasonTokenMalformed, "header is not a JSON object")
	}
	var names [16]string
	seen := names[:0]
	hasAlg := false
	for {
		k, val, more := it.next()
		if !more {
			break
		}
		name, ok := jsonString(k)
		if !ok {
			return h, newError(ReasonTokenMalformed, "header member name is not a string")
		}
		// Real headers have a handful of members; the cap keeps the
		// duplicate scan below from costing more than a signature check.
		if len(seen) == maxHeaderMembers {
			return h, newError(ReasonTokenMalformed, "header has too many members")
		}
		// RFC 7515 section 4: duplicate header names must be rejected.
		for _, s := range seen {
			if s == name {
				return h, newError(ReasonTokenMalformed, "duplicate header member "+quoteName(name))
			}
		}
		seen = append(seen, name)
		switch name {
		case "alg":
			// RFC 7515 section 4.1.1: a case-sensitive string.
			if h.alg, ok = jsonString(val); !ok {
				return h, newError(ReasonHeaderInvalid, "alg is not a string")
			}
			hasAlg = true
		case "kid":
			if h.kid, ok = jsonString(val); !ok {
				return h, newError(ReasonHeaderInvalid, "kid is not a string")
			}
		case "typ":
			if h.typ, ok = jsonString(val); !ok {
				return h, newError(ReasonHeaderInvalid, "typ is not a string")
			}
			h.hasTyp = true
		case "crit":
			// RFC 7515 section 4.1.11: a recipient that does not understand
			// an extension listed in crit must reject. No extension is
			// understood here, and an empty list is itself invalid.
			return h, newError(ReasonHeaderInvalid, "crit names an unsupported extension")
		case "b64":
			// RFC 7797 section 3: an unencoded payload changes what is
			// signed; it is not supported.
			if string(val) != "true" {
				return h, newError(ReasonHeaderInvalid, "b64 other than true is not supported")
			}
		}
		// jwk, jku, x5u and x5c are read by no code here: keys come only
		// from the issuer's configured set (RFC 8725 section 3.10).
	}
	if !hasAlg {
		return h, newError(ReasonAlgNotAllowed, "alg is missing")
	}
	return h, nil
}

func quoteName(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return fmt.Sprintf("%q", s)
}

// checkHeader applies the allowlist and typ rules.
func (v *Verifier) checkHeader(h *tokenHeader) (*sigAlg, *Error) {
	// RFC 8725 sections 3.1 and 3.2: the algorithm must be one the verifier
	// pinned, compared exactly; "none" in any casing is never among them.
	m := v.methods[h.alg]
	if m == nil {
		return nil, &Error{Reason: ReasonAlgNotAllowed, Detail: "alg is not in the allowlist", KID: h.kid, Alg: h.alg}
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
			return nil, &Error{Reason: ReasonTypeInvalid, Detail: "typ is not an accepted token type", KID: h.kid, Alg: h.alg}
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
)

// parseClaims reads the registered claims. RFC 7519 section 7.2 step 10:
// the payload is a UTF-8 JSON object.
func (v *Verifier) parseClaims(c *Claims, data []byte) *Error {
	if !utf8.Valid(data) {
		return newError(ReasonTokenMalformed, "payload is not UTF-8")
	}
	it, ok := newObjectIter(data)
	if !ok {
		return newError(ReasonTokenMalformed, "payload is not a JSON object")
	}
	var seen uint
	var present uint64 // bit i: required claim i present
	for {
		k, val, more := it.next()
		if !more {
			break
		}
		name, ok := jsonString(k)
		if !ok {
			return newError(ReasonTokenMalformed, "claim name is not a string")
		}
		var bit uint
		var bad bool
		switch name {
		case "iss":
			bit = bitIss
			c.issuer, ok = jsonString(val)
			bad = !ok
		case "sub":
			bit = bitSub
			c.subject, ok = jsonString(val)
			bad = !ok
		case "jti":
			bit = bitJti
			c.id, ok = jsonString(val)
			bad = !ok
		case "aud":
			// RFC 7519 section 4.1.3: a string or an array of strings.
			bit = bitAud
			var isArray bool
			c.aud1, c.audN, isArray, ok = jsonStringOrArray(val)
			bad = !ok
			if ok && isArray && c.audN == nil {
				c.audN = []string{}
			}
		case "exp":
			bit = bitExp
			c.exp, ok = jsonNumber(val)
			bad = !ok
		case "nbf":
			bit = bitNbf
			c.nbf, ok = jsonNumber(val)
			bad, c.hasNbf = !ok, ok
		case "iat":
			bit = bitIat
			c.iat, ok = jsonNumber(val)
			bad, c.hasIat = !ok, ok
		case "scope":
			bit = bitScope
			c.scope, ok = jsonString(val)
			bad, c.hasScope = !ok, ok
		case "scp":
			bit = bitScp
			var one string
			var isArray bool
			one, c.scp, isArray, ok = jsonStringOrArray(val)
			if ok && !isArray {
				c.scp = []string{one}
			}
			bad, c.hasScp = !ok, ok
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

// findKey selects the verification key, only from the issuer's own set.
func (v *Verifier) findKey(ctx context.Context, is *issuer, h *tokenHeader, now time.Time) (*verifyKey, error) {
	set, err := is.src.current(now)
	if err != nil {
		return nil, err
	}
	k, err := pick(set, h)
	if err == nil {
		return v.usable(k, h)
	}
	if h.kid == "" {
		return nil, err
	}
	// Unknown kid: the IdP may have rotated. The source decides whether a
	// fetch is allowed now.
	set, ferr := is.src.unknownKID(ctx, h.kid)
	if ferr != nil {
		return nil, ferr
	}
	if k, err = pick(set, h); err != nil {
		return nil, err
	}
	return v.usable(k, h)
}

func pick(set *keySet, h *tokenHeader) (*verifyKey, error) {
	if h.kid != "" {
		if k := set.byKID[h.kid]; k != nil {
			return k, nil
		}
		return nil, newError(ReasonKeyNotFound, "no key with this kid")
	}
	// RFC 7515 section 4.1.4: kid is optional, but with several keys a
	// token without one cannot select its key unambiguously.
	switch len(set.all) {
	case 1:
		return set.all[0], nil
	case 0:
		return nil, newError(ReasonKeysUnavailable, "the key set is empty")
	}
	return nil, newError(ReasonHeaderInvalid, "kid is required when the issuer publishes several keys")
}

// usable applies RFC 7517 section 4.4 (a JWK's alg restricts it) and
// RFC 7518 section 3.1 (the key type must fit the algorithm).
func (v *Verifier) usable(k *verifyKey, h *tokenHeader) (*verifyKey, error) {
	if k.alg != "" && k.alg != h.alg {
		return nil, newError(ReasonAlgNotAllowed, "the key's alg differs from the token's")
	}
	if !k.fits(h.alg) {
		return nil, newError(ReasonKeyNotFound, "the key's type does not fit the alg")
	}
	return k, nil
}

// checkTimes is also run on every cache hit, against the current clock.
func (v *Verifier) checkTimes(c *Claims, now time.Time) *Error {
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
func (v *Verifier) checkAudience(c *Claims) *Error {
	if v.cfg.InsecureSkipAudience {
		return nil
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

// logRejection writes the one line per rejection, with what could be read
// from the token. It never logs the token.
func (v *Verifier) logRejection(ctx context.Context, err error) {
	e := AsError(err)
	level := slog.LevelInfo
	if e.Reason == ReasonKeysUnavailable {
		level = slog.LevelError
	}
	if !v.opts.logger.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 5)
	attrs = append(attrs, slog.String("reason", string(e.Reason)))
	for _, kv := range [...][2]string{{"kid", e.KID}, {"alg", e.Alg}, {"iss", e.Issuer}} {
		if kv[1] != "" {
			attrs = append(attrs, slog.String(kv[0], clip(kv[1])))
		}
	}
	attrs = append(attrs, slog.String("detail", e.Detail))
	v.opts.logger.LogAttrs(ctx, level, "jwt rejected", attrs...)
}

// clip bounds values read from an unverified token before they are logged.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128]
	}
	return s
}
