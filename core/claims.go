package core

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/core/internal/jose"
)

// Claims are the claims of a verified token. The registered claims are
// parsed once during verification; the full set is decoded only when asked
// for, so the common path costs no map.
type Claims struct {
	issuer, subject, id string
	aud1                string
	audN                []string
	hasAud              bool
	// clientID is read where it names the audience (audience_claim:
	// client_id).
	clientID       string
	hasClientID    bool
	exp, nbf, iat  float64
	hasNbf, hasIat bool
	// scope and scp as space-delimited strings (RFC 8693 section 4.2,
	// RFC 9068 section 2.2.3; scp as Entra ID sends it), and the elements
	// of either sent as an array (Spring Authorization Server's scope,
	// Okta's scp), one scope-token each.
	scope, scp string
	scopeList  []string
	// tid is read for template issuers (checkTenant); tenant is the
	// allowlisted tenant the token's iss named, once checked.
	tid, tenant string
	tidState    uint8

	alg, kid string
	payload  []byte // the decoded payload, never written after verification

	// The key that verified the token, by value, for the token cache.
	keyThumbprint, keyAlg string
	// keyKID is that key's kid in its set: a token without a kid header
	// is still matched by a revocation of its key's kid.
	keyKID string

	rawOnce sync.Once
	raw     map[string]any
}

// Issuer is the iss claim (RFC 7519 section 4.1.1).
func (c *Claims) Issuer() string { return c.issuer }

// Subject is the sub claim (RFC 7519 section 4.1.2).
func (c *Claims) Subject() string { return c.subject }

// ID is the jti claim (RFC 7519 section 4.1.7).
func (c *Claims) ID() string { return c.id }

// Tenant is the tenant of a token whose issuer is a template
// ([IssuerConfig.Tenants]): the allowlisted tenant its iss names, which
// its tid, when present, equals. It is "" for any other issuer. Data of
// one tenant is keyed by it, never by an unverified claim.
func (c *Claims) Tenant() string { return c.tenant }

// Audience is the aud claim as a list (RFC 7519 section 4.1.3).
func (c *Claims) Audience() []string {
	if c.audN != nil {
		return slices.Clone(c.audN)
	}
	if c.aud1 != "" {
		return []string{c.aud1}
	}
	return nil
}

// ExpiresAt is the exp claim.
func (c *Claims) ExpiresAt() time.Time { return numericDate(c.exp) }

// IssuedAt is the iat claim, zero when absent.
func (c *Claims) IssuedAt() time.Time {
	if !c.hasIat {
		return time.Time{}
	}
	return numericDate(c.iat)
}

// NotBefore is the nbf claim, zero when absent.
func (c *Claims) NotBefore() time.Time {
	if !c.hasNbf {
		return time.Time{}
	}
	return numericDate(c.nbf)
}

// Algorithm is the alg header of the token.
func (c *Claims) Algorithm() string { return c.alg }

// KeyID is the kid header of the token, "" when it had none.
func (c *Claims) KeyID() string { return c.kid }

// Scopes lists the granted scopes from scope and scp, whatever their
// shape, without duplicates.
func (c *Claims) Scopes() []string {
	var out []string
	for _, list := range [...]string{c.scope, c.scp} {
		out = append(out, strings.FieldsFunc(list, func(r rune) bool { return r == ' ' })...)
	}
	out = append(out, c.scopeList...)
	slices.Sort(out)
	return slices.Compact(out)
}

// HasScope reports whether scope was granted; the match is exact, so
// "administrator" does not grant "admin".
func (c *Claims) HasScope(scope string) bool {
	return hasField(c.scope, scope) || hasField(c.scp, scope) || slices.Contains(c.scopeList, scope)
}

// scopeToken reports whether s is one RFC 6749 section 3.3 scope-token:
// 1*( %x21 / %x23-5B / %x5D-7E ). An array element that is not one (empty,
// or holding a space that would read as two scopes) makes the claim
// invalid rather than granting something the issuer may not have meant.
func scopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func hasField(list, want string) bool {
	for list != "" {
		list = strings.TrimLeft(list, " ")
		if list == "" {
			// Trailing spaces hold no empty scope.
			return false
		}
		end := strings.IndexByte(list, ' ')
		if end < 0 {
			end = len(list)
		}
		if list[:end] == want {
			return true
		}
		list = list[end:]
	}
	return false
}

// Raw returns every claim, decoded on first use. The map is shared: do not
// modify it.
func (c *Claims) Raw() map[string]any {
	c.rawOnce.Do(func() {
		dec := json.NewDecoder(strings.NewReader(jose.BytesString(c.payload)))
		dec.UseNumber()
		if err := dec.Decode(&c.raw); err != nil || c.raw == nil {
			c.raw = map[string]any{}
		}
	})
	return c.raw
}

// Get returns one claim by its exact, case-sensitive name (RFC 7519
// section 7.3).
func (c *Claims) Get(name string) (any, bool) {
	v, ok := c.Raw()[name]
	return v, ok
}

// MarshalJSON returns the claims as the issuer sent them.
func (c *Claims) MarshalJSON() ([]byte, error) { return slices.Clone(c.payload), nil }

func numericDate(f float64) time.Time {
	// Clamp to what time.Time can represent; such dates only appear in
	// hostile tokens and have already been judged by the time checks.
	const limit = 1 << 40
	sec, frac := math.Modf(math.Max(-limit, math.Min(limit, f)))
	return time.Unix(int64(sec), int64(frac*1e9))
}

// What parseClaims found of tid.
const (
	tidAbsent uint8 = iota
	tidString
	tidWrongType
	tidDuplicate
)

type claimsKey struct{}

// NewContext returns ctx carrying c, for handlers behind an adapter.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the verified claims an adapter stored, or false.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}
