package core

import (
	"strings"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
)

// tokenCache remembers verified tokens. A client reuses one access token for
// its whole lifetime, so a busy service would otherwise check the same
// signature thousands of times.
//
// Only accepted tokens enter it. An entry is keyed on the whole token
// string, so two tokens that differ in any byte never share an entry (the
// map compares the full key on every hit). A SHA-256 key would keep the
// token bytes out of the cache, but on CPUs without SHA extensions hashing
// a token costs several times a whole hit (BenchmarkVerifyCached); the
// memory the tokens take is bounded by max_entries times max_token_bytes. An entry is served only while:
//   - it is younger than min(exp, verified + max_ttl);
//   - the time checks (exp, nbf, iat with leeway) still pass at the current
//     clock, evaluated again on every hit;
//   - the key that verified it (kept as its thumbprint and alg, never a
//     pointer into the key store) is still the one its issuer serves under
//     that kid, and the issuer still has a servable key set (so a removed
//     key, or a set past max_stale, rejects the cached token as it would an
//     uncached one).
//
// The LRU bounds memory under a flood of distinct tokens; an entry whose
// key left the set goes on its next hit or at eviction.
type tokenCache struct {
	lru    *lru.Cache[string, *cacheEntry]
	maxTTL time.Duration
}

type cacheEntry struct {
	claims *Claims
	until  time.Time
}

func newTokenCache(c CacheConfig) *tokenCache {
	if c.MaxEntries == nil || *c.MaxEntries == 0 {
		return nil
	}
	l, err := lru.New[string, *cacheEntry](*c.MaxEntries)
	if err != nil {
		// Only a non-positive size errs; Validate refused negatives.
		return nil
	}
	return &tokenCache{lru: l, maxTTL: c.MaxTTL}
}

// get returns the claims of an accepted token, or nil. The caller checks
// that the key is still served and runs the time checks.
func (tc *tokenCache) get(token string, now time.Time) *Claims {
	e, ok := tc.lru.Get(token)
	if !ok {
		return nil
	}
	if !now.Before(e.until) {
		tc.lru.Remove(token)
		return nil
	}
	return e.claims
}

func (tc *tokenCache) remove(token string) { tc.lru.Remove(token) }

// add stores a copy of token: the caller's string may live in a request
// buffer that the server reuses (fasthttp does).
func (tc *tokenCache) add(token string, c *Claims, now time.Time) {
	until := now.Add(tc.maxTTL)
	if exp := numericDate(c.exp); exp.Before(until) {
		until = exp
	}
	tc.lru.Add(strings.Clone(token), &cacheEntry{claims: c, until: until})
}

func (tc *tokenCache) len() int { return tc.lru.Len() }
