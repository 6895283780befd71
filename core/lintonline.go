package core

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/jwtguard/jwtguard/core/internal/jwks"
)

// LintOnline fetches the discovery document of each issuer of a baseline
// file and warns where it disagrees with the baseline: most often an
// issuer written without the trailing slash its provider's tokens carry
// (or with one they lack), which refuses every token as issuer_invalid
// since iss is compared exactly. An issuer with discovery is looked up
// where its verifier would look; any other at its OpenID Connect
// well-known URL, and silently skipped when nothing usable answers
// there. [LintBaseline] stays offline; this is the part that is not. A
// file that does not parse yields nothing: LintBaseline reports it.
func LintOnline(ctx context.Context, data []byte, client *http.Client) []Warning {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		return nil
	}
	var out []Warning
	for i, is := range cfg.Issuers {
		key := sub(fmt.Sprintf("%s[%d]", keyIssuers, i), keyIssuer)
		tenants := []string{""}
		if is.template() {
			tenants = is.Tenants
		}
		for _, t := range tenants {
			one := is
			if t != "" {
				one = is.forTenant(t)
			}
			if msg := lintDocument(ctx, one, client, cfg.InsecureHTTPJWKS); msg != "" {
				out = append(out, Warning{Key: key, Line: p.lineOf(key), Msg: msg})
			}
		}
	}
	return out
}

// lintDocument is what the discovery document of is says against it; ""
// when it agrees, or when is does not use discovery and none answers.
func lintDocument(ctx context.Context, is IssuerConfig, client *http.Client, allowHTTP bool) string {
	u, err := is.discoveryURL()
	if !is.discovers() {
		u, err = jwks.WellKnownURL(is.Issuer, DiscoveryOpenID)
	}
	if err != nil {
		return "" // validation reports it
	}
	issuer, jwksURI, err := jwks.ReadDocument(ctx, client, u)
	switch {
	case err != nil && is.discovers():
		return fmt.Sprintf("the discovery document at %s could not be used: %v; the service would start without keys", u, err)
	case err != nil:
		return ""
	case issuer == is.Issuer:
	case strings.TrimSuffix(issuer, "/") == strings.TrimSuffix(is.Issuer, "/"):
		has := "has no trailing slash"
		if strings.HasSuffix(is.Issuer, "/") {
			has = "has a trailing slash"
		}
		return fmt.Sprintf("%q %s, but its discovery document at %s names %q: tokens carry the provider's spelling and iss is compared exactly",
			is.Issuer, has, u, issuer)
	default:
		return fmt.Sprintf("the discovery document at %s names issuer %q, not %q", u, issuer, is.Issuer)
	}
	if is.discovers() {
		if jwksURI == "" {
			return fmt.Sprintf("the discovery document at %s has no jwks_uri", u)
		}
		if msg := checkJWKSURL(jwksURI, allowHTTP); msg != "" {
			return fmt.Sprintf("the discovery document at %s names jwks_uri %s", u, msg)
		}
	}
	return ""
}
