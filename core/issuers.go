package core

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/jwtguard/jwtguard/core/internal/jwks"
)

// The discovery documents an issuer may opt in to, by their well-known
// URI suffix: the values of [IssuerConfig.Discovery].
const (
	// DiscoveryOpenID is the OpenID Connect Discovery 1.0 document, at
	// the issuer's URL with /.well-known/openid-configuration appended
	// (section 4.1). In a baseline file: discovery: true.
	DiscoveryOpenID = jwks.KindOpenID
	// DiscoveryOAuth is the RFC 8414 authorization server metadata, at
	// the issuer's host with /.well-known/oauth-authorization-server
	// inserted before the issuer's path (section 3.1).
	DiscoveryOAuth = jwks.KindOAuth
)

// TenantPlaceholder marks the tenant in a template issuer, as in
// https://login.microsoftonline.com/{tenant}/v2.0. It may appear in the
// issuer's jwks_url and discovery_url too, which are then per tenant.
const TenantPlaceholder = "{tenant}"

// maxTenantLen bounds a tenant id: a GUID is 36 characters, names of
// other providers' tenants are shorter than this.
const maxTenantLen = 128

// discovers reports whether is takes its key set's URL from a document.
func (is IssuerConfig) discovers() bool { return is.Discovery != "" || is.DiscoveryURL != "" }

// discoveryKey is the key a problem of is's discovery is reported on.
func (is IssuerConfig) discoveryKey() string {
	if is.DiscoveryURL != "" {
		return keyDiscoveryURL
	}
	return keyDiscovery
}

// discoveryURL is where is's document is: DiscoveryURL, or the
// well-known location of its kind; "" without discovery.
func (is IssuerConfig) discoveryURL() (string, error) {
	switch {
	case is.DiscoveryURL != "":
		return is.DiscoveryURL, nil
	case is.Discovery == "":
		return "", nil
	}
	return jwks.WellKnownURL(is.Issuer, is.Discovery)
}

func (is IssuerConfig) template() bool { return strings.Contains(is.Issuer, TenantPlaceholder) }

// forTenant is is for one tenant: the placeholder filled in wherever it is.
func (is IssuerConfig) forTenant(tenant string) IssuerConfig {
	fill := func(s string) string { return strings.ReplaceAll(s, TenantPlaceholder, tenant) }
	is.Issuer, is.JWKSURL, is.DiscoveryURL, is.Tenants = fill(is.Issuer), fill(is.JWKSURL), fill(is.DiscoveryURL), nil
	return is
}

// example is is as its first tenant sees it, for the checks that every
// tenant passes alike: they differ only in one path segment.
func (is IssuerConfig) example() IssuerConfig {
	if !is.template() {
		return is
	}
	tenant := "tenant"
	if len(is.Tenants) > 0 {
		tenant = is.Tenants[0]
	}
	return is.forTenant(tenant)
}

// tokenIssuers are the iss values is trusts.
func (is IssuerConfig) tokenIssuers() []string {
	if !is.template() {
		return []string{is.Issuer}
	}
	out := make([]string, 0, len(is.Tenants))
	for _, t := range is.Tenants {
		out = append(out, is.forTenant(t).Issuer)
	}
	return out
}

// perTenant reports whether each tenant of a template has a key source of
// its own: with discovery (each tenant's document names its own issuer)
// or a jwks_url holding the placeholder. Otherwise the tenants share one
// set, as Entra's tenants share .../common/discovery/v2.0/keys.
func (is IssuerConfig) perTenant() bool {
	return is.discovers() || strings.Contains(is.JWKSURL, TenantPlaceholder)
}

// check reports what is wrong with is's discovery and tenant settings;
// key is the issuer's entry, "issuers[0]".
func (is IssuerConfig) check(key string, allowHTTP bool, add func(key, format string, args ...any)) {
	if d := is.Discovery; d != "" && d != DiscoveryOpenID && d != DiscoveryOAuth {
		add(sub(key, keyDiscovery), "%q: must be true, false, %s or %s", d, DiscoveryOpenID, DiscoveryOAuth)
		return
	}
	if is.template() || len(is.Tenants) > 0 {
		is.checkTemplate(key, add)
	} else {
		for _, k := range [...]struct{ key, val string }{{keyJWKSURL, is.JWKSURL}, {keyDiscoveryURL, is.DiscoveryURL}} {
			if strings.Contains(k.val, TenantPlaceholder) {
				add(sub(key, k.key), "holds %s, but %s is no template", TenantPlaceholder, keyIssuer)
			}
		}
	}
	if !is.discovers() || is.Issuer == "" {
		return
	}
	ex := is.example()
	// The document's own URL follows the rule of a jwks_url: it says
	// where the keys are, so it must come from as trustworthy a source.
	u, err := ex.discoveryURL()
	if err != nil {
		add(sub(key, keyIssuer), "%v", err)
		return
	}
	if msg := checkJWKSURL(u, allowHTTP); msg != "" {
		add(sub(key, is.discoveryKey()), "the discovery document's URL %s", msg)
	}
}

// checkTemplate: the placeholder fills exactly one whole path segment, so
// that a tenant can never reach into the host or another segment, and the
// allowlist names real tenants.
func (is IssuerConfig) checkTemplate(key string, add func(key, format string, args ...any)) {
	ikey, tkey := sub(key, keyIssuer), sub(key, keyTenants)
	if !is.template() {
		add(tkey, "is set, but %s %q holds no %s", keyIssuer, is.Issuer, TenantPlaceholder)
		return
	}
	if msg := templateProblem(is.Issuer); msg != "" {
		add(ikey, "%q: %s", is.Issuer, msg)
	}
	if is.DiscoveryURL != "" && !strings.Contains(is.DiscoveryURL, TenantPlaceholder) {
		add(sub(key, keyDiscoveryURL), "must hold %s: each tenant's document names that tenant's issuer", TenantPlaceholder)
	}
	if len(is.Tenants) == 0 {
		add(tkey, "is empty: a template issuer lists the tenants it trusts; there is no wildcard tenant")
	}
	for _, t := range is.Tenants {
		if msg := tenantProblem(t); msg != "" {
			add(tkey, "%q: %s", t, msg)
		}
	}
}

// templateProblem says what keeps iss from being a template whose
// placeholder fills one whole path segment; "" when nothing does.
func templateProblem(iss string) string {
	if strings.Count(iss, TenantPlaceholder) != 1 {
		return "must hold " + TenantPlaceholder + " exactly once"
	}
	before, after, _ := strings.Cut(iss, TenantPlaceholder)
	u, err := url.Parse(before)
	switch {
	case err != nil || u.Scheme == "" || u.Host == "":
		return "is not an absolute URL before " + TenantPlaceholder
	case !strings.HasSuffix(u.Path, "/") || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(before, "?#"):
		return TenantPlaceholder + " must be a whole segment of the path, after the host"
	case after != "" && !strings.HasPrefix(after, "/"):
		return TenantPlaceholder + " must be a whole segment of the path"
	case strings.ContainsAny(after, "?#"):
		return "an issuer has no query or fragment"
	}
	return ""
}

// tenantProblem says what keeps t from being a tenant id; "" when
// nothing does. A tenant fills one path segment: RFC 3986 section 2.3's
// unreserved characters only, and not a dot segment.
func tenantProblem(t string) string {
	switch {
	case t == "":
		return "an empty tenant"
	case len(t) > maxTenantLen:
		return fmt.Sprintf("longer than %d characters", maxTenantLen)
	case t == "." || t == "..":
		return "a dot segment is no tenant"
	case strings.IndexFunc(t, func(r rune) bool { return !unreserved(r) }) >= 0:
		return "a tenant id has only letters, digits and - . _ ~"
	}
	// Microsoft Entra's aliases for "any tenant" (of a kind): as a tenant
	// they would read as an allowlist while meaning none.
	if slices.Contains([]string{"common", "organizations", "consumers"}, strings.ToLower(t)) {
		return "is an alias for any tenant, not a tenant id"
	}
	return ""
}

func unreserved(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-._~", r)
}

// keySource is one key source of a baseline. cfg is its issuer entry as
// the source sees it: for a tenant of its own, filled in; for tenants that
// share it, the template, so that its stats and events carry the
// template. issuers maps each iss it verifies to its tenant ("" for an
// issuer that is no template).
type keySource struct {
	cfg     IssuerConfig
	issuers map[string]string
}

// keySources lists the key sources c's issuers need.
func (c Config) keySources() []keySource {
	var out []keySource
	for _, is := range c.Issuers {
		switch {
		case !is.template():
			out = append(out, keySource{cfg: is, issuers: map[string]string{is.Issuer: ""}})
		case is.perTenant():
			for _, t := range is.Tenants {
				one := is.forTenant(t)
				out = append(out, keySource{cfg: one, issuers: map[string]string{one.Issuer: t}})
			}
		default:
			ks := keySource{cfg: is, issuers: map[string]string{}}
			for _, t := range is.Tenants {
				ks.issuers[is.forTenant(t).Issuer] = t
			}
			out = append(out, ks)
		}
	}
	return out
}

// checkTenant: a token of a template issuer names its tenant in iss and,
// as Entra's do, in tid; both must agree, or a token of tenant A could be
// taken for tenant B's. A token without tid is judged by iss alone
// (required_claims: [tid] demands it).
func checkTenant(c *Claims, tenant string) *Error {
	switch c.tidState {
	case tidDuplicate:
		// RFC 7519 section 4: duplicate claim names are rejected.
		return newError(ReasonTokenMalformed, `duplicate claim "tid"`)
	case tidWrongType:
		return newError(ReasonClaimInvalid, `claim "tid" has the wrong type`)
	case tidString:
		if c.tid != tenant {
			return newError(ReasonIssuerInvalid, `claim "tid" names another tenant than "iss"`)
		}
	}
	c.tenant = tenant
	return nil
}

// jwksURIRule is the rule of a jwks_url, for the jwks_uri a discovery
// document names.
func jwksURIRule(allowHTTP bool) func(string) error {
	return func(uri string) error {
		if msg := checkJWKSURL(uri, allowHTTP); msg != "" {
			return errors.New(msg)
		}
		return nil
	}
}
