package core

import (
	"crypto"
	"fmt"
	"slices"
	"time"

	"github.com/jwtguard/jwtguard/core/internal/jose"
)

// baselineChange is one difference between two baselines, as a reload logs
// it: "leeway 30s -> 1m0s", "algorithms +PS256".
type baselineChange struct {
	text string
	// weakens marks a change that lets more tokens through: an algorithm,
	// issuer or audience added, an audience or token type dropped, more
	// leeway, a larger size cap, an insecure opt-out turned on, a required
	// claim dropped, a longer stale bound.
	weakens bool
}

// diffBaselines lists what changed from old to new, both normalized, in a
// fixed order; nothing when they verify alike.
func diffBaselines(old, new Config) []baselineChange {
	var out []baselineChange
	add := func(weakens bool, format string, args ...any) {
		out = append(out, baselineChange{text: fmt.Sprintf(format, args...), weakens: weakens})
	}
	// Lists: what was added and what was dropped, each with its own
	// meaning for strictness.
	list := func(key string, a, b []string, addedWeakens, droppedWeakens bool) {
		for _, x := range b {
			if !slices.Contains(a, x) {
				add(addedWeakens, "%s +%s", key, x)
			}
		}
		for _, x := range a {
			if !slices.Contains(b, x) {
				add(droppedWeakens, "%s -%s", key, x)
			}
		}
	}
	olds, news := map[string]IssuerConfig{}, map[string]IssuerConfig{}
	var oldNames, newNames []string
	for _, is := range old.Issuers {
		olds[is.Issuer] = is
		oldNames = append(oldNames, is.Issuer)
	}
	for _, is := range new.Issuers {
		news[is.Issuer] = is
		newNames = append(newNames, is.Issuer)
	}
	list(keyIssuers, oldNames, newNames, true, false)
	for _, name := range newNames {
		a, ok := olds[name]
		if !ok {
			continue
		}
		b := news[name]
		prefix := fmt.Sprintf("%s[%s].", keyIssuers, name)
		for _, f := range [...]struct{ key, a, b string }{
			{keyJWKSURL, a.JWKSURL, b.JWKSURL}, {keyJWKSFile, a.JWKSFile, b.JWKSFile},
			{keyDiscovery, a.Discovery, b.Discovery}, {keyDiscoveryURL, a.DiscoveryURL, b.DiscoveryURL},
		} {
			if f.a != f.b {
				add(true, "%s%s %q -> %q", prefix, f.key, f.a, f.b) // other keys now verify
			}
		}
		if a.JWKSInline != b.JWKSInline {
			add(true, "%s%s changed", prefix, keyJWKSInline)
		}
		if !samePublicKeys(a, b) {
			add(true, "%spublic keys changed", prefix)
		}
		// A tenant added is one more organisation whose tokens pass.
		list(prefix+keyTenants, a.Tenants, b.Tenants, true, false)
	}
	// RFC 9068 section 4: the audiences say which service this is; a change
	// either way is a change of who the service is, and an added one
	// accepts tokens minted for another.
	list(keyAudiences, old.Audiences, new.Audiences, true, true)
	// Reading the audience from another claim is a change of which
	// tokens pass either way; taken as weakening, the safe side.
	if old.AudienceClaim != new.AudienceClaim {
		add(true, "%s %s -> %s", keyAudienceClaim, old.AudienceClaim, new.AudienceClaim)
	}
	list(keyAlgorithms, old.Algorithms, new.Algorithms, true, false)
	list(keyRequiredClaims, old.RequiredClaims, new.RequiredClaims, false, true)
	list(keyTokenTypes, old.TokenTypes, new.TokenTypes, len(old.TokenTypes) == 0, true)
	if len(old.TokenTypes) > 0 && len(new.TokenTypes) == 0 {
		add(true, "%s no longer checked", keyTokenTypes)
	}
	if old.RefuseIDTokens != new.RefuseIDTokens {
		add(old.RefuseIDTokens, "%s %t -> %t", keyRefuseIDTokens, old.RefuseIDTokens, new.RefuseIDTokens)
	}
	// A longer leeway, refresh interval or stale bound lets a token or a
	// removed key pass for longer.
	duration := func(key string, a, b time.Duration) {
		if a != b {
			add(b > a, "%s %s -> %s", key, a, b)
		}
	}
	duration(keyLeeway, old.Leeway, new.Leeway)
	if old.MaxTokenBytes != new.MaxTokenBytes {
		add(new.MaxTokenBytes > old.MaxTokenBytes, "%s %d -> %d", keyMaxTokenBytes, old.MaxTokenBytes, new.MaxTokenBytes)
	}
	duration(sub(keyJWKS, keyRefreshInterval), old.JWKS.RefreshInterval, new.JWKS.RefreshInterval)
	duration(sub(keyJWKS, keyMaxStale), old.JWKS.MaxStale, new.JWKS.MaxStale)
	// These change load and latency, not which tokens pass.
	for _, f := range [...]struct {
		key  string
		a, b time.Duration
	}{
		{sub(keyJWKS, keyUnknownKIDInterval), old.JWKS.UnknownKIDInterval, new.JWKS.UnknownKIDInterval},
		{sub(keyJWKS, keyHTTPTimeout), old.JWKS.HTTPTimeout, new.JWKS.HTTPTimeout},
		{sub(keyCache, keyMaxTTL), old.Cache.MaxTTL, new.Cache.MaxTTL},
	} {
		if f.a != f.b {
			add(false, "%s %s -> %s", f.key, f.a, f.b)
		}
	}
	if a, b := *old.Cache.MaxEntries, *new.Cache.MaxEntries; a != b {
		add(false, "%s %d -> %d", sub(keyCache, keyMaxEntries), a, b)
	}
	for _, f := range [...]struct{ key, a, b string }{
		{sub(keyTokenSources, keyCookie), old.TokenSources.Cookie, new.TokenSources.Cookie},
		{sub(keyTokenSources, keyQuery), old.TokenSources.Query, new.TokenSources.Query},
	} {
		if f.a != f.b {
			add(f.b != "", "%s %q -> %q", f.key, f.a, f.b) // a new source is a new way in
		}
	}
	for _, f := range [...]struct {
		key  string
		a, b bool
	}{
		{keyInsecureSkipAudience, old.InsecureSkipAudience, new.InsecureSkipAudience},
		{keyInsecureHTTPJWKS, old.InsecureHTTPJWKS, new.InsecureHTTPJWKS},
	} {
		if f.a != f.b {
			add(f.b, "%s %t -> %t", f.key, f.a, f.b)
		}
	}
	return out
}

func samePublicKeys(a, b IssuerConfig) bool {
	if len(a.PublicKeys) != len(b.PublicKeys) {
		return false
	}
	for kid, k := range a.PublicKeys {
		other, ok := b.PublicKeys[kid]
		if !ok || !sameKey(k, other) {
			return false
		}
	}
	return true
}

func sameKey(a, b crypto.PublicKey) bool { return jose.Thumbprint(a) == jose.Thumbprint(b) }

// sameKeySource reports whether an issuer's key source can be kept across a
// reload: the same key settings (a template's tenants may change, since a
// shared source does not depend on them), the same lifecycle policy, and the same
// allowlist (a key set is parsed against it: keys of other algorithms are
// dropped at load).
func sameKeySource(old, new Config, a, b IssuerConfig) bool {
	return a.JWKSURL == b.JWKSURL && a.JWKSFile == b.JWKSFile && a.JWKSInline == b.JWKSInline &&
		samePublicKeys(a, b) && old.JWKS == new.JWKS && slices.Equal(old.Algorithms, new.Algorithms) &&
		a.Discovery == b.Discovery && a.DiscoveryURL == b.DiscoveryURL &&
		// A discovered source checks each jwks_uri by the http rule.
		(!a.discovers() || old.InsecureHTTPJWKS == new.InsecureHTTPJWKS)
}

// Weakenings lists the changes from c to next that let more tokens
// through, worded as a reload logs them ("leeway 30s -> 1m0s",
// "algorithms +PS256"); none when next is as strict as c or stricter. A
// source of baselines that anyone with write access to a bus can change
// refuses these unless the service opted in (fleet's baseline entry), so
// that the bus alone cannot make a token pass.
func (c Config) Weakenings(next Config) []string {
	var out []string
	for _, ch := range diffBaselines(c.normalize(), next.normalize()) {
		if ch.weakens {
			out = append(out, ch.text)
		}
	}
	return out
}
