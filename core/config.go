package core

import (
	"crypto"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Defaults applied by [Config.Normalize]. They are part of the baseline
// fingerprint, so changing one changes every service's fingerprint.
const (
	DefaultMaxTokenBytes      = 8 << 10
	DefaultRefreshInterval    = 10 * time.Minute
	DefaultUnknownKIDInterval = 5 * time.Second
	DefaultMaxStale           = 24 * time.Hour
	DefaultHTTPTimeout        = 5 * time.Second
	DefaultCacheMaxEntries    = 10000
	DefaultCacheMaxTTL        = 5 * time.Minute
	MaxLeeway                 = 5 * time.Minute
)

// Config is the baseline: every verification setting a service has. It is
// what a baseline file parses into, and Go code may build it directly.
type Config struct {
	// Issuers are the trusted token issuers, each bound to its own keys.
	Issuers []IssuerConfig `json:"issuers"`
	// Audiences the service accepts; a token must name one of them
	// (RFC 7519 section 4.1.3, RFC 9068 section 4).
	Audiences []string `json:"audiences"`
	// Algorithms is the allowlist, compared case-sensitively
	// (RFC 8725 section 3.1).
	Algorithms []string `json:"algorithms"`
	// Leeway is the clock skew tolerated on exp, nbf and iat (at most 5m).
	Leeway time.Duration `json:"leeway"`
	// RequiredClaims must be present in every token, beyond exp.
	RequiredClaims []string `json:"required_claims"`
	// TokenTypes, when set, restricts the typ header (RFC 8725 section 3.11,
	// RFC 9068 section 2.1: "at+jwt").
	TokenTypes []string `json:"token_types"`
	// MaxTokenBytes caps the token size, checked before any decoding.
	MaxTokenBytes int `json:"max_token_bytes"`
	// JWKS is the remote key set policy.
	JWKS JWKSConfig `json:"jwks"`
	// Cache is the verified-token cache.
	Cache CacheConfig `json:"cache"`
	// Sources lists where a token may come from besides the Authorization
	// header. Both are off by default (RFC 6750 sections 2.2, 2.3, 5.3).
	Sources SourcesConfig `json:"token_sources"`

	// InsecureSkipAudience accepts tokens for any audience. Only for
	// services that truly have none; it must be written out.
	InsecureSkipAudience bool `json:"insecure_skip_audience"`
	// InsecureHTTPJWKS allows a plain-http jwks_url to a non-loopback host.
	InsecureHTTPJWKS bool `json:"insecure_http_jwks"`
}

// IssuerConfig binds one issuer to the only keys that may sign its tokens.
// Exactly one key source is set.
type IssuerConfig struct {
	Issuer     string `json:"issuer"`
	JWKSURL    string `json:"jwks_url,omitempty"`
	JWKSFile   string `json:"jwks_file,omitempty"`
	JWKSInline string `json:"jwks_inline,omitempty"`
	// PublicKeys are keys given from Go code, by kid. Not part of a file.
	PublicKeys map[string]crypto.PublicKey `json:"-"`
}

// JWKSConfig is the key lifecycle policy for remote key sets.
type JWKSConfig struct {
	// RefreshInterval is the period of background refreshes.
	RefreshInterval time.Duration `json:"refresh_interval"`
	// UnknownKIDInterval is the least time between two fetches triggered by
	// unknown kids; it bounds what random kids can make the IdP serve.
	UnknownKIDInterval time.Duration `json:"unknown_kid_interval"`
	// MaxStale is how long the last good key set keeps serving while
	// fetches fail. Past it, verification fails closed.
	MaxStale time.Duration `json:"max_stale"`
	// HTTPTimeout bounds one fetch.
	HTTPTimeout time.Duration `json:"http_timeout"`
}

// CacheConfig bounds the verified-token cache. MaxEntries 0 turns it off.
type CacheConfig struct {
	MaxEntries *int          `json:"max_entries"`
	MaxTTL     time.Duration `json:"max_ttl"`
}

// SourcesConfig names the optional token sources. Empty means off.
type SourcesConfig struct {
	Cookie string `json:"cookie,omitempty"`
	Query  string `json:"query,omitempty"`
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

// ConfigErrors is every problem found in one baseline.
type ConfigErrors []*ConfigError

func (es ConfigErrors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap lets errors.As find each *ConfigError.
func (es ConfigErrors) Unwrap() []error {
	out := make([]error, len(es))
	for i, e := range es {
		out[i] = e
	}
	return out
}

// Normalize returns a copy with defaults filled in and lists sorted, the form
// that is validated and fingerprinted.
func (c Config) Normalize() Config {
	n := c
	n.Issuers = slices.Clone(c.Issuers)
	n.Audiences = sortedUnique(c.Audiences)
	n.Algorithms = sortedUnique(c.Algorithms)
	n.RequiredClaims = sortedUnique(c.RequiredClaims)
	n.TokenTypes = sortedUnique(c.TokenTypes)
	if n.MaxTokenBytes == 0 {
		n.MaxTokenBytes = DefaultMaxTokenBytes
	}
	defDur(&n.JWKS.RefreshInterval, DefaultRefreshInterval)
	defDur(&n.JWKS.UnknownKIDInterval, DefaultUnknownKIDInterval)
	defDur(&n.JWKS.MaxStale, DefaultMaxStale)
	defDur(&n.JWKS.HTTPTimeout, DefaultHTTPTimeout)
	if n.Cache.MaxEntries == nil {
		v := DefaultCacheMaxEntries
		n.Cache.MaxEntries = &v
	}
	defDur(&n.Cache.MaxTTL, DefaultCacheMaxTTL)
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

// Validate reports every unsafe or impossible setting, each naming its key.
// It fails closed: a baseline that would let a forged token through is
// refused at start, not discovered in production.
func (c Config) Validate() error {
	n := c.Normalize()
	var errs ConfigErrors
	add := func(key, format string, args ...any) {
		errs = append(errs, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}

	if len(n.Issuers) == 0 {
		add("issuers", "at least one issuer is required")
	}
	seen := map[string]bool{}
	anyJWKS := false
	for i, is := range n.Issuers {
		key := fmt.Sprintf("issuers[%d]", i)
		switch {
		case is.Issuer == "":
			add(key+".issuer", "is required")
		case seen[is.Issuer]:
			add(key+".issuer", "%q is listed twice", is.Issuer)
		}
		seen[is.Issuer] = true
		sources := 0
		for _, set := range []bool{is.JWKSURL != "", is.JWKSFile != "", is.JWKSInline != "", len(is.PublicKeys) > 0} {
			if set {
				sources++
			}
		}
		if sources != 1 {
			add(key, "needs exactly one of jwks_url, jwks_file, jwks_inline (found %d)", sources)
		}
		if is.JWKSURL != "" || is.JWKSFile != "" || is.JWKSInline != "" {
			anyJWKS = true
		}
		if is.JWKSURL != "" {
			if msg := checkJWKSURL(is.JWKSURL, n.InsecureHTTPJWKS); msg != "" {
				add(key+".jwks_url", "%s", msg)
			}
		}
	}

	// RFC 8725 section 3.1: the verifier pins its algorithms; none is never
	// among them and an empty list would accept whatever the token says.
	if len(n.Algorithms) == 0 {
		add("algorithms", "must list at least one algorithm")
	}
	for _, alg := range n.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			add("algorithms", "%q is never allowed (RFC 8725 section 3.2)", alg)
		case strings.HasPrefix(strings.ToUpper(alg), "HS"):
			// RFC 8725 section 3.1: with a public key set, HMAC lets anyone
			// holding the public key forge tokens (key confusion).
			if anyJWKS || len(n.Issuers) > 0 {
				add("algorithms", "%q (HMAC) cannot be used with a public key set", alg)
			}
		case sigAlgs[alg] == nil:
			add("algorithms", "%q is not a supported asymmetric algorithm (RS/PS/ES 256/384/512, EdDSA)", alg)
		}
	}

	// RFC 9068 section 4 and RFC 8725 section 3.9: an access token is for a
	// named audience; without one, a token minted for another service works here.
	if len(n.Audiences) == 0 && !n.InsecureSkipAudience {
		add("audiences", "at least one audience is required (or write insecure_skip_audience: true)")
	}
	for _, a := range n.Audiences {
		if a == "" {
			add("audiences", "an empty audience matches nothing")
		}
	}
	if n.Leeway < 0 || n.Leeway > MaxLeeway {
		add("leeway", "must be between 0s and %s, got %s", MaxLeeway, n.Leeway)
	}
	if n.MaxTokenBytes < 256 || n.MaxTokenBytes > 1<<20 {
		add("max_token_bytes", "must be between 256 and 1048576, got %d", n.MaxTokenBytes)
	}
	for _, rc := range n.RequiredClaims {
		if rc == "" {
			add("required_claims", "an empty claim name")
		}
	}
	if len(n.RequiredClaims) > 64 {
		add("required_claims", "at most 64 claims")
	}
	for name, d := range map[string]time.Duration{
		"jwks.refresh_interval": n.JWKS.RefreshInterval, "jwks.unknown_kid_interval": n.JWKS.UnknownKIDInterval,
		"jwks.max_stale": n.JWKS.MaxStale, "jwks.http_timeout": n.JWKS.HTTPTimeout, "cache.max_ttl": n.Cache.MaxTTL,
	} {
		if d < 0 {
			add(name, "must not be negative, got %s", d)
		}
	}
	if n.JWKS.UnknownKIDInterval > n.JWKS.RefreshInterval {
		add("jwks.unknown_kid_interval", "must not exceed jwks.refresh_interval")
	}
	if *n.Cache.MaxEntries < 0 {
		add("cache.max_entries", "must not be negative")
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
		return fmt.Sprintf("%q is not https (write insecure_http_jwks: true to allow it)", raw)
	}
	return fmt.Sprintf("%q: scheme must be https", raw)
}

// Warnings lists settings that are legal but risky, for lint.
func (c Config) Warnings() []*ConfigError {
	n := c.Normalize()
	var w []*ConfigError
	if n.InsecureSkipAudience {
		w = append(w, &ConfigError{Key: "insecure_skip_audience", Msg: "tokens for any audience are accepted"})
	}
	if n.InsecureHTTPJWKS {
		w = append(w, &ConfigError{Key: "insecure_http_jwks", Msg: "keys may be fetched over plain http"})
	}
	if n.Leeway > time.Minute {
		w = append(w, &ConfigError{Key: "leeway", Msg: fmt.Sprintf("%s is generous; 30s to 60s is usual", n.Leeway)})
	}
	if len(n.TokenTypes) == 0 {
		w = append(w, &ConfigError{Key: "token_types", Msg: `not set: ID tokens and other JWTs are not told apart from access tokens (RFC 9068 uses "at+jwt")`})
	}
	if n.Sources.Query != "" {
		w = append(w, &ConfigError{Key: "token_sources.query", Msg: "tokens in URLs leak into logs (RFC 6750 section 5.3)"})
	}
	if n.JWKS.MaxStale > 7*24*time.Hour {
		w = append(w, &ConfigError{Key: "jwks.max_stale", Msg: "removed keys may keep validating for over a week while the IdP is unreachable"})
	}
	for i, is := range n.Issuers {
		if strings.HasPrefix(is.JWKSURL, "http://") {
			w = append(w, &ConfigError{Key: fmt.Sprintf("issuers[%d].jwks_url", i), Msg: "plain http"})
		}
	}
	return w
}

// Fingerprint is a stable hash of the normalized effective baseline: two
// services print the same fingerprint exactly when they verify alike.
func (c Config) Fingerprint() string {
	n := c.Normalize()
	type issuerFP struct {
		Issuer, JWKSURL, JWKSFile, InlineSHA256 string
		PublicKeys                              []string
	}
	fp := struct {
		Config
		Issuers []issuerFP `json:"issuers"`
	}{Config: n}
	for _, is := range n.Issuers {
		f := issuerFP{Issuer: is.Issuer, JWKSURL: is.JWKSURL, JWKSFile: is.JWKSFile}
		if is.JWKSInline != "" {
			sum := sha256.Sum256([]byte(is.JWKSInline))
			f.InlineSHA256 = hex.EncodeToString(sum[:])
		}
		for kid, k := range is.PublicKeys {
			f.PublicKeys = append(f.PublicKeys, kid+"="+thumbprintOf(k))
		}
		slices.Sort(f.PublicKeys)
		fp.Issuers = append(fp.Issuers, f)
	}
	slices.SortFunc(fp.Issuers, func(a, b issuerFP) int { return strings.Compare(a.Issuer, b.Issuer) })
	b, err := json.Marshal(fp)
	if err != nil {
		// Only plain data is marshalled; this cannot fail.
		panic(err)
	}
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:16])
}
