package core

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/core/internal/jose"
)

// The baseline's keys, each spelled once: the parser, the checks, lint and
// the fingerprint all name settings through these.
const (
	keyIssuers              = "issuers"
	keyIssuer               = "issuer"
	keyJWKSURL              = "jwks_url"
	keyJWKSFile             = "jwks_file"
	keyJWKSInline           = "jwks_inline"
	keyAudiences            = "audiences"
	keyAudienceClaim        = "audience_claim"
	keyAlgorithms           = "algorithms"
	keyLeeway               = "leeway"
	keyRequiredClaims       = "required_claims"
	keyTokenTypes           = "token_types"
	keyRefuseIDTokens       = "refuse_id_tokens"
	keyMaxTokenBytes        = "max_token_bytes"
	keyJWKS                 = "jwks"
	keyRefreshInterval      = "refresh_interval"
	keyUnknownKIDInterval   = "unknown_kid_interval"
	keyMaxStale             = "max_stale"
	keyHTTPTimeout          = "http_timeout"
	keyConvergenceWindow    = "convergence_window"
	keyCache                = "cache"
	keyMaxEntries           = "max_entries"
	keyMaxTTL               = "max_ttl"
	keyTokenSources         = "token_sources"
	keyCookie               = "cookie"
	keyQuery                = "query"
	keyInsecureSkipAudience = "insecure_skip_audience"
	keyInsecureHTTPJWKS     = "insecure_http_jwks"
	keyLog                  = "log"
	keyRejectionsPerSecond  = "rejections_per_second"
	keyServices             = "services"
	keyDeviations           = "deviations"
	keyValue                = "value"
	keyReason               = "reason"
	keyExpires              = "expires"
	keySharedAudienceReason = "shared_audience_reason"

	// An issuer's discovery document and tenant template (issuers.go).
	keyDiscovery    = "discovery"
	keyDiscoveryURL = "discovery_url"
	keyTenants      = "tenants"
)

// sub names a nested key as written in the file: "jwks.max_stale".
func sub(parent, key string) string { return parent + "." + key }

// Defaults filled in by normalize. They are part of the baseline
// fingerprint, so changing one changes every service's fingerprint; the
// README's baseline table states them.
const (
	defaultMaxTokenBytes      = 8 << 10
	defaultRefreshInterval    = 10 * time.Minute
	defaultUnknownKIDInterval = 5 * time.Second
	defaultMaxStale           = 24 * time.Hour
	defaultHTTPTimeout        = 5 * time.Second
	// defaultConvergenceWindow spreads a fleet's hinted fetches over half a
	// second: every replica of a small fleet is on a new key set within
	// about a second of the first, and an IdP sees at most 2,000 hinted
	// fetches a second from a fleet of up to 1,000 replicas.
	defaultConvergenceWindow = 500 * time.Millisecond
	defaultCacheMaxEntries   = 10000
	defaultCacheMaxTTL       = 5 * time.Minute
	defaultRejectionsPerSec  = 10
	maxLeeway                = 5 * time.Minute
)

// The values of [Config.AudienceClaim]: the claim that names whom an
// access token is for.
const (
	// AudienceClaimAud is aud, the default (RFC 7519 section 4.1.3,
	// RFC 9068 section 4).
	AudienceClaimAud = "aud"
	// AudienceClaimClientID is client_id (RFC 9068 section 2.2, RFC 8693
	// section 4.3), for an IdP whose access tokens carry no aud, such as
	// Amazon Cognito's.
	AudienceClaimClientID = "client_id"
)

// Config is the baseline: every verification setting a service has. It is
// what a baseline file parses into, and Go code may build it directly.
type Config struct {
	// Issuers are the trusted token issuers, each bound to its own keys.
	Issuers []IssuerConfig
	// Audiences the service accepts; a token must name one of them
	// (RFC 7519 section 4.1.3, RFC 9068 section 4).
	Audiences []string
	// AudienceClaim is the claim that must name one of Audiences:
	// [AudienceClaimAud] ("" means it too) or [AudienceClaimClientID],
	// for access tokens that carry no aud but the client they were
	// issued to. With client_id the claim is required, since it is the
	// only thing that keeps a token of another client out, and an aud
	// the token carries as well must name one of Audiences too.
	AudienceClaim string
	// Algorithms is the allowlist, compared case-sensitively
	// (RFC 8725 section 3.1).
	Algorithms []string
	// Leeway is the clock skew tolerated on exp, nbf and iat (at most 5m).
	Leeway time.Duration
	// RequiredClaims must be present in every token, beyond exp.
	RequiredClaims []string
	// TokenTypes, when set, restricts the typ header (RFC 8725 section 3.11,
	// RFC 9068 section 2.1: "at+jwt").
	TokenTypes []string
	// RefuseIDTokens refuses tokens that carry nonce, at_hash or c_hash:
	// claims of OpenID Connect ID tokens (OpenID Connect Core 1.0 sections
	// 2, 3.1.3.6 and 3.3.2.11) that no access token needs. It tells ID
	// tokens apart where the IdP does not type its access tokens, so
	// TokenTypes cannot.
	RefuseIDTokens bool
	// MaxTokenBytes caps the token size, checked before any decoding.
	MaxTokenBytes int
	// JWKS is the remote key set policy.
	JWKS JWKSConfig
	// Cache is the verified-token cache.
	Cache CacheConfig
	// TokenSources lists where a token may come from besides the
	// Authorization header. Both are off by default (RFC 6750 sections 2.2,
	// 2.3, 5.3).
	TokenSources TokenSourcesConfig
	// Log bounds the rejection log under a flood of bad tokens. It changes
	// what is logged, never a verdict, so it is not in the fingerprint.
	Log LogConfig

	// InsecureSkipAudience accepts tokens for any audience. Only for
	// services that truly have none; it must be written out.
	InsecureSkipAudience bool
	// InsecureHTTPJWKS allows a plain-http jwks_url to a non-loopback host.
	InsecureHTTPJWKS bool

	// Service names the entry of an estate file's services section this
	// Config was selected for ([Config.ForService]); "" otherwise.
	Service string
	// Deviations are the managed deviations of Service from the shared
	// policy, already applied to the fields above.
	Deviations []Deviation

	// estate holds the services section of a baseline that has one, until
	// a service is selected; shared is the policy a selected service was
	// built from, for its shared fingerprint.
	estate *estate
	shared *Config
}

// Deviation is one managed exception of a service from the estate's shared
// policy: written out in the file with why and until when, so a security
// review reads every exception in one place (lint lists them).
type Deviation struct {
	Key     string // the baseline key it changes, e.g. "leeway" or "jwks.max_stale"
	Value   string // as written
	Reason  string
	Expires time.Time // the end of that day, UTC
}

// IssuerConfig binds one issuer to the only keys that may sign its tokens.
// Exactly one key source is set: a jwks_url, a jwks_file, jwks_inline,
// PublicKeys, or discovery (Discovery or DiscoveryURL).
type IssuerConfig struct {
	// Issuer is the exact iss of the tokens; with Tenants, a template
	// holding [TenantPlaceholder] once, as one whole path segment.
	Issuer     string
	JWKSURL    string
	JWKSFile   string
	JWKSInline string
	// PublicKeys are keys given from Go code, by kid. Not part of a file.
	PublicKeys map[string]crypto.PublicKey

	// Discovery takes the key set's URL from the issuer's own metadata
	// document, never implicitly: [DiscoveryOpenID] (discovery: true in a
	// file) or [DiscoveryOAuth]. The document must name Issuer exactly.
	Discovery string
	// DiscoveryURL is where the document is, for a provider that does not
	// publish it at the well-known location; setting it opts in too.
	DiscoveryURL string
	// Tenants is the allowlist of a template Issuer: a token's iss must be
	// the template filled with one of them, and its tid, when present,
	// that same tenant. It may not be empty: there is no wildcard tenant.
	Tenants []string
}

// JWKSConfig is the key lifecycle policy for remote key sets.
type JWKSConfig struct {
	// RefreshInterval is the period of background refreshes.
	RefreshInterval time.Duration
	// UnknownKIDInterval is the least time between two fetches triggered by
	// unknown kids; it bounds what random kids can make the IdP serve.
	UnknownKIDInterval time.Duration
	// MaxStale is how long the last good key set keeps serving while
	// fetches fail. Past it, verification fails closed.
	MaxStale time.Duration
	// HTTPTimeout bounds one fetch.
	HTTPTimeout time.Duration
	// ConvergenceWindow spreads the fetches a fleet announcement triggers
	// ([Verifier.Hint]): each replica waits a random delay within it, so
	// a fleet converging on a rotated key set does not hit the IdP at one
	// instant. Rule of thumb: one second per 2,000 replicas.
	ConvergenceWindow time.Duration
}

// CacheConfig bounds the verified-token cache. MaxEntries 0 turns it off.
type CacheConfig struct {
	MaxEntries *int
	MaxTTL     time.Duration
}

// LogConfig is the log key. RejectionsPerSecond is how many rejection lines
// each reason (and issuer) may write per second; beyond it rejections are
// counted and summed up in one line per second. 0 logs every rejection;
// nil means the default, 10.
type LogConfig struct {
	RejectionsPerSecond *int
}

// TokenSourcesConfig is the token_sources key: the names of a cookie and a
// query parameter that may carry the token. Empty means off.
type TokenSourcesConfig struct {
	Cookie string
	Query  string
}

// ConfigError names the baseline key that is wrong.
type ConfigError struct {
	Key  string // dotted path, as written in the baseline file
	Line int    // 1-based line in the file, 0 when unknown
	Msg  string
}

func (e *ConfigError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("baseline: line %d: %s: %s", e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("baseline: %s: %s", e.Key, e.Msg)
}

// configErrors is every problem found in one baseline.
type configErrors []*ConfigError

func (es configErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find each *ConfigError.
func (es configErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// clone is a deep copy: nothing the copy shares can change c.
func (c Config) clone() Config {
	n := c
	n.Issuers = slices.Clone(c.Issuers)
	for i := range n.Issuers {
		n.Issuers[i].PublicKeys = maps.Clone(n.Issuers[i].PublicKeys)
		n.Issuers[i].Tenants = slices.Clone(n.Issuers[i].Tenants)
	}
	n.Audiences = slices.Clone(c.Audiences)
	n.Algorithms = slices.Clone(c.Algorithms)
	n.RequiredClaims = slices.Clone(c.RequiredClaims)
	n.TokenTypes = slices.Clone(c.TokenTypes)
	if c.Cache.MaxEntries != nil {
		v := *c.Cache.MaxEntries
		n.Cache.MaxEntries = &v
	}
	if c.Log.RejectionsPerSecond != nil {
		v := *c.Log.RejectionsPerSecond
		n.Log.RejectionsPerSecond = &v
	}
	n.Deviations = slices.Clone(c.Deviations)
	return n
}

// normalize returns a copy with defaults filled in and lists sorted, the
// form that is validated and fingerprinted.
func (c Config) normalize() Config {
	n := c.clone()
	for i := range n.Issuers {
		n.Issuers[i].Tenants = sortedUnique(n.Issuers[i].Tenants)
	}
	n.Audiences = sortedUnique(c.Audiences)
	if n.AudienceClaim == "" {
		n.AudienceClaim = AudienceClaimAud
	}
	n.Algorithms = sortedUnique(c.Algorithms)
	n.RequiredClaims = sortedUnique(c.RequiredClaims)
	n.TokenTypes = sortedUnique(c.TokenTypes)
	if n.MaxTokenBytes == 0 {
		n.MaxTokenBytes = defaultMaxTokenBytes
	}
	defDur(&n.JWKS.RefreshInterval, defaultRefreshInterval)
	defDur(&n.JWKS.UnknownKIDInterval, defaultUnknownKIDInterval)
	defDur(&n.JWKS.MaxStale, defaultMaxStale)
	defDur(&n.JWKS.HTTPTimeout, defaultHTTPTimeout)
	defDur(&n.JWKS.ConvergenceWindow, defaultConvergenceWindow)
	if n.Cache.MaxEntries == nil {
		v := defaultCacheMaxEntries
		n.Cache.MaxEntries = &v
	}
	defDur(&n.Cache.MaxTTL, defaultCacheMaxTTL)
	if n.Log.RejectionsPerSecond == nil {
		v := defaultRejectionsPerSec
		n.Log.RejectionsPerSecond = &v
	}
	return n
}

func defDur(d *time.Duration, def time.Duration) {
	if *d == 0 {
		*d = def
	}
}

func sortedUnique(in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// validate reports every unsafe or impossible setting, each naming its key.
// It fails closed: a baseline that would let a forged token through is
// refused at start, not discovered in production.
func (c Config) validate() error {
	n := c.normalize()
	var errs configErrors
	add := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if len(n.Issuers) == 0 {
		add(keyIssuers, "at least one issuer is required")
	}
	seen := map[string]bool{}
	anyJWKS := false
	for i, is := range n.Issuers {
		key := fmt.Sprintf("%s[%d]", keyIssuers, i)
		if is.Issuer == "" {
			add(sub(key, keyIssuer), "is required")
		}
		names := is.tokenIssuers()
		if is.template() {
			// Tenants sharing a key source have it under the template's name.
			names = append(names, is.Issuer)
		}
		for _, iss := range names {
			if seen[iss] {
				add(sub(key, keyIssuer), "%q is listed twice", iss)
			}
			seen[iss] = true
		}
		sources := 0
		for _, set := range []bool{is.JWKSURL != "", is.JWKSFile != "", is.JWKSInline != "", len(is.PublicKeys) > 0, is.discovers()} {
			if set {
				sources++
			}
		}
		switch {
		case is.JWKSURL != "" && is.discovers():
			add(key, "%s and %s together: discovery takes the key set's URL from the issuer's document; keep one", keyJWKSURL, keyDiscovery)
		case sources != 1:
			add(key, "needs exactly one of %s, %s, %s, %s (found %d)", keyJWKSURL, keyJWKSFile, keyJWKSInline, keyDiscovery, sources)
		}
		is.check(key, n.InsecureHTTPJWKS, add)
		if is.JWKSURL != "" || is.JWKSFile != "" || is.JWKSInline != "" {
			anyJWKS = true
		}
		if is.JWKSURL != "" {
			if msg := checkJWKSURL(is.example().JWKSURL, n.InsecureHTTPJWKS); msg != "" {
				add(sub(key, keyJWKSURL), "%s", msg)
			}
		}
	}

	// RFC 8725 section 3.1: the verifier pins its algorithms; none is never
	// among them and an empty list would accept whatever the token says.
	if len(n.Algorithms) == 0 {
		add(keyAlgorithms, "must list at least one algorithm")
	}
	for _, alg := range n.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			add(keyAlgorithms, "%q is never allowed (RFC 8725 section 3.2)", alg)
		case strings.HasPrefix(strings.ToUpper(alg), "HS"):
			// RFC 8725 section 3.1: with a public key set, HMAC lets anyone
			// holding the public key forge tokens (key confusion).
			if anyJWKS || len(n.Issuers) > 0 {
				add(keyAlgorithms, "%q (HMAC) cannot be used with a public key set", alg)
			}
		case jose.Lookup(alg) == nil:
			add(keyAlgorithms, "%q is not a supported asymmetric algorithm (RS/PS/ES 256/384/512, EdDSA)", alg)
		}
	}

	// RFC 9068 section 4 and RFC 8725 section 3.9: an access token is for a
	// named audience; without one, a token minted for another service works here.
	switch {
	case len(n.Audiences) > 0 || n.InsecureSkipAudience || n.estate != nil:
	case n.AudienceClaim == AudienceClaimClientID:
		add(keyAudiences, "at least one audience is required: the client IDs whose tokens %s: %s accepts", keyAudienceClaim, AudienceClaimClientID)
	default:
		add(keyAudiences, "at least one audience is required (or write %s: true)", keyInsecureSkipAudience)
	}
	for _, a := range n.Audiences {
		if a == "" {
			add(keyAudiences, "an empty audience matches nothing")
		}
	}
	switch n.AudienceClaim {
	case AudienceClaimAud:
	case AudienceClaimClientID:
		if n.InsecureSkipAudience {
			add(keyAudienceClaim, "%s with %s: true: the one names the claim the audience check reads, the other turns the check off; keep one",
				AudienceClaimClientID, keyInsecureSkipAudience)
		}
	default:
		add(keyAudienceClaim, "%q: must be %s or %s", n.AudienceClaim, AudienceClaimAud, AudienceClaimClientID)
	}
	if n.Leeway < 0 || n.Leeway > maxLeeway {
		add(keyLeeway, "must be between 0s and %s, got %s", maxLeeway, n.Leeway)
	}
	if n.MaxTokenBytes < 256 || n.MaxTokenBytes > 1<<20 {
		add(keyMaxTokenBytes, "must be between 256 and 1048576, got %d", n.MaxTokenBytes)
	}
	for _, rc := range n.RequiredClaims {
		if rc == "" {
			add(keyRequiredClaims, "an empty claim name")
		}
	}
	if len(n.RequiredClaims) > 64 {
		add(keyRequiredClaims, "at most 64 claims")
	}
	for name, d := range map[string]time.Duration{
		sub(keyJWKS, keyRefreshInterval): n.JWKS.RefreshInterval, sub(keyJWKS, keyUnknownKIDInterval): n.JWKS.UnknownKIDInterval,
		sub(keyJWKS, keyMaxStale): n.JWKS.MaxStale, sub(keyJWKS, keyHTTPTimeout): n.JWKS.HTTPTimeout, sub(keyCache, keyMaxTTL): n.Cache.MaxTTL,
		sub(keyJWKS, keyConvergenceWindow): n.JWKS.ConvergenceWindow,
	} {
		if d < 0 {
			add(name, "must not be negative, got %s", d)
		}
	}
	if n.JWKS.UnknownKIDInterval > n.JWKS.RefreshInterval {
		add(sub(keyJWKS, keyUnknownKIDInterval), "must not exceed %s", sub(keyJWKS, keyRefreshInterval))
	}
	// A window as long as the refresh period would make a hint no faster
	// than the refresh it is meant to overtake.
	if n.JWKS.ConvergenceWindow >= n.JWKS.RefreshInterval {
		add(sub(keyJWKS, keyConvergenceWindow), "must be shorter than %s", sub(keyJWKS, keyRefreshInterval))
	}
	if *n.Cache.MaxEntries < 0 {
		add(sub(keyCache, keyMaxEntries), "must not be negative")
	}
	if *n.Log.RejectionsPerSecond < 0 {
		add(sub(keyLog, keyRejectionsPerSecond), "must not be negative (0 logs every rejection)")
	}
	if n.estate != nil {
		errs = append(errs, n.estate.check(n)...)
	}
	if len(errs) == 0 {
		return nil
	}
	slices.SortStableFunc(errs, func(a, b *ConfigError) int { return strings.Compare(a.Key, b.Key) })
	return errs
}

// checkJWKSURL enforces https, except for loopback: keys must come from a
// trustworthy source (RFC 7517 section 9.1), and RFC 7515 section 4.1.2 asks
// for TLS wherever a key set is fetched by URL.
func checkJWKSURL(raw string, allowHTTP bool) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return fmt.Sprintf("%q is not an absolute URL", raw)
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		host := u.Hostname()
		if ip := net.ParseIP(host); (ip != nil && ip.IsLoopback()) || host == "localhost" || allowHTTP {
			return ""
		}
		return fmt.Sprintf("%q is not https (write %s: true to allow it)", raw, keyInsecureHTTPJWKS)
	}
	return fmt.Sprintf("%q: scheme must be https", raw)
}

// Warning is a setting that is legal but risky: lint reports it, and the
// verifier runs with it.
type Warning struct {
	Key  string // dotted path, as written in the baseline file
	Line int    // 1-based line in the file, 0 when unknown
	Msg  string
}

func (w Warning) String() string {
	if w.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", w.Line, w.Key, w.Msg)
	}
	return w.Key + ": " + w.Msg
}

// warnings lists settings that are legal but risky, for lint.
func (c Config) warnings() []Warning {
	n := c.normalize()
	var w []Warning
	add := func(key, msg string) { w = append(w, Warning{Key: key, Msg: msg}) }
	if n.InsecureSkipAudience {
		add(keyInsecureSkipAudience, "tokens for any audience are accepted")
	}
	if n.InsecureHTTPJWKS {
		add(keyInsecureHTTPJWKS, "keys may be fetched over plain http")
	}
	if n.Leeway > time.Minute {
		add(keyLeeway, fmt.Sprintf("%s is generous; 30s to 60s is usual", n.Leeway))
	}
	// An ID token carries no client_id, so requiring one, or reading the
	// audience from it, tells the two apart as well.
	if len(n.TokenTypes) == 0 && !n.RefuseIDTokens && !slices.Contains(n.RequiredClaims, "client_id") &&
		n.AudienceClaim != AudienceClaimClientID {
		add(keyTokenTypes, `not set: ID tokens and other JWTs are not told apart from access tokens (RFC 9068 uses "at+jwt"); `+
			`if the IdP does not set typ, write `+keyRefuseIDTokens+`: true, unless its access tokens carry nonce as Dex's do `+
			`(it would refuse them too), and `+keyRequiredClaims+`: [client_id] if its access tokens carry one (RFC 9068 section 2.2)`)
	}
	if *n.Log.RejectionsPerSecond == 0 {
		add(sub(keyLog, keyRejectionsPerSecond), "0 logs every rejection: a flood of bad tokens becomes a flood of log lines; "+
			"a budget (default 10 per reason and second) logs the first ones in full and counts the rest")
	}
	if n.TokenSources.Query != "" {
		add(sub(keyTokenSources, keyQuery), "tokens in URLs leak into logs (RFC 6750 section 5.3)")
	}
	if n.JWKS.MaxStale > 7*24*time.Hour {
		add(sub(keyJWKS, keyMaxStale), "removed keys may keep validating for over a week while the IdP is unreachable")
	}
	for i, is := range n.Issuers {
		if strings.HasPrefix(is.JWKSURL, "http://") {
			add(sub(fmt.Sprintf("%s[%d]", keyIssuers, i), keyJWKSURL), "plain http")
		}
		if u, err := is.example().discoveryURL(); err == nil && strings.HasPrefix(u, "http://") {
			add(sub(fmt.Sprintf("%s[%d]", keyIssuers, i), is.discoveryKey()), "plain http: "+u)
		}
	}
	return w
}

// Fingerprint is a stable hash of the normalized effective baseline: two
// services print the same fingerprint exactly when they verify alike. It
// hashes the settings under their baseline keys (JSON object keys are
// sorted), so list order and written-out defaults do not change it.
func (c Config) Fingerprint() string {
	n := c.normalize()
	issuers := make([]map[string]any, 0, len(n.Issuers))
	for _, is := range n.Issuers {
		f := map[string]any{keyIssuer: is.Issuer, keyJWKSURL: is.JWKSURL, keyJWKSFile: is.JWKSFile}
		if is.JWKSInline != "" {
			sum := sha256.Sum256([]byte(is.JWKSInline))
			f[keyJWKSInline] = "sha256:" + hex.EncodeToString(sum[:])
		}
		var keys []string
		for kid, k := range is.PublicKeys {
			keys = append(keys, kid+"="+jose.Thumbprint(k))
		}
		slices.Sort(keys)
		f["public_keys"] = keys
		// Only when set, so that the fingerprint of a baseline without
		// them is what it was before these keys existed.
		if is.Discovery != "" {
			f[keyDiscovery] = is.Discovery
		}
		if is.DiscoveryURL != "" {
			f[keyDiscoveryURL] = is.DiscoveryURL
		}
		if len(is.Tenants) > 0 {
			f[keyTenants] = is.Tenants
		}
		issuers = append(issuers, f)
	}
	slices.SortFunc(issuers, func(a, b map[string]any) int { return strings.Compare(a[keyIssuer].(string), b[keyIssuer].(string)) })
	fp := map[string]any{
		keyIssuers: issuers, keyAudiences: n.Audiences, keyAlgorithms: n.Algorithms, keyLeeway: n.Leeway,
		keyRequiredClaims: n.RequiredClaims, keyTokenTypes: n.TokenTypes, keyMaxTokenBytes: n.MaxTokenBytes,
		keyJWKS: map[string]any{keyRefreshInterval: n.JWKS.RefreshInterval, keyUnknownKIDInterval: n.JWKS.UnknownKIDInterval,
			keyMaxStale: n.JWKS.MaxStale, keyHTTPTimeout: n.JWKS.HTTPTimeout, keyConvergenceWindow: n.JWKS.ConvergenceWindow},
		keyCache:                map[string]any{keyMaxEntries: *n.Cache.MaxEntries, keyMaxTTL: n.Cache.MaxTTL},
		keyTokenSources:         map[string]any{keyCookie: n.TokenSources.Cookie, keyQuery: n.TokenSources.Query},
		keyInsecureSkipAudience: n.InsecureSkipAudience, keyInsecureHTTPJWKS: n.InsecureHTTPJWKS,
	}
	// Only when set, so that the fingerprints of baselines written
	// before these keys existed stay what they were.
	if n.RefuseIDTokens {
		fp[keyRefuseIDTokens] = true
	}
	if n.AudienceClaim != AudienceClaimAud {
		fp[keyAudienceClaim] = n.AudienceClaim
	}
	b, err := json.Marshal(fp)
	if err != nil {
		// Only plain data is marshalled; this cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:16])
}

// Effective returns c as a verifier built from it runs: every default
// filled in and every list sorted, as [Verifier.Config] reports it. Two
// effective baselines compare setting by setting, so a tool can name the
// settings in which two fingerprints differ.
func (c Config) Effective() Config { return c.normalize() }
