package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
)

// The two metadata documents an issuer may publish, by their well-known
// URI suffix.
const (
	// KindOpenID is OpenID Connect Discovery 1.0: the document is at the
	// issuer's URL with /.well-known/openid-configuration appended
	// (section 4.1).
	KindOpenID = "openid-configuration"
	// KindOAuth is RFC 8414: the document is at the issuer's host with
	// /.well-known/oauth-authorization-server inserted before the
	// issuer's path (section 3.1).
	KindOAuth = "oauth-authorization-server"
)

// maxDiscoveryBytes caps a discovery document. Real ones are a few KiB
// (the largest public ones list hundreds of claims and scopes, still under
// 64 KiB); the cap keeps a mistaken URL from being read whole.
const maxDiscoveryBytes = 256 << 10

// Discovery is where a remote source takes its key set's URL from: the
// issuer's metadata document, fetched on the key set's own lifecycle.
type Discovery struct {
	// URL is the document's URL: [WellKnownURL] of the issuer, or a
	// location given in the baseline.
	URL string
	// CheckJWKSURI is the rule the document's jwks_uri obeys, the same as
	// for a configured jwks_url: an error refuses the document.
	CheckJWKSURI func(uri string) error
}

// WellKnownURL is where issuer publishes its metadata document of kind.
// An issuer that uses discovery is an absolute URL without query or
// fragment (OpenID Connect Discovery 1.0 section 2, RFC 8414 section 2).
func WellKnownURL(issuer, kind string) (string, error) {
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", fmt.Errorf("issuer %q is not an absolute URL", issuer)
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(issuer, "#") {
		return "", fmt.Errorf("issuer %q has a query or fragment, which an issuer that publishes metadata never has", issuer)
	}
	switch kind {
	case KindOpenID:
		// OpenID Connect Discovery 1.0 section 4.1: any terminating "/"
		// is removed, then the well-known path is appended to the
		// issuer's own.
		return strings.TrimSuffix(issuer, "/") + "/.well-known/" + KindOpenID, nil
	case KindOAuth:
		// RFC 8414 section 3.1: any terminating "/" is removed from the
		// path, and the well-known path goes between the host and it.
		return u.Scheme + "://" + u.Host + "/.well-known/" + KindOAuth + strings.TrimSuffix(u.EscapedPath(), "/"), nil
	}
	return "", fmt.Errorf("unknown discovery document %q", kind)
}

// NewDiscovered starts a source whose key set URL comes from the issuer's
// discovery document d. The document is fetched with the key set, on the
// same lifecycle: at start within http_timeout (one bound for both
// requests), then by the refresh schedule, coalesced with the key set's
// fetch, never replaced by a failed or invalid answer, and served no
// longer than max_stale past its last good fetch. Fetches for unknown kids
// and hints fetch only the key set, from the held document's jwks_uri. A
// changed jwks_uri is followed from the next fetch of the key set, which
// the same flight makes.
func NewDiscovered(issuer string, d Discovery, policy Policy, algs map[string]bool, env Env) *Remote {
	return start(&Remote{issuer: issuer, disc: &d, policy: policy, algs: algs, env: env})
}

// needsDocument reports whether the fetch of trigger fetches the document
// first: one is due on the refresh schedule and on a forced refresh, and
// whenever no document may be used.
func (s *Remote) needsDocument(trigger string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.url == "" || s.env.Now().Sub(s.docOK) > s.policy.MaxStale {
		return true
	}
	return trigger != TriggerUnknownKID && trigger != TriggerHint
}

// fetchDocument fetches and checks the discovery document, and takes its
// jwks_uri when it is good. A failed or invalid answer changes nothing
// held. The error says the document failed, for LastError and the log.
func (s *Remote) fetchDocument(ctx context.Context, trigger string) error {
	start := s.env.Now()
	uri, err := s.getDocument(ctx)
	now := s.env.Now()
	if s.ctx.Err() != nil {
		return errClosed
	}
	ev := FetchEvent{Issuer: s.issuer, URL: s.disc.URL, Trigger: trigger, Duration: now.Sub(start), Document: DocumentDiscovery}
	s.mu.Lock()
	old := s.url
	if err == nil {
		s.docFetchOK++
		s.docOK = now
		ev.Result = ResultOK
		if uri != old {
			// The validators belonged to the old URL's representation.
			s.url, s.etag = uri, ""
		}
	} else {
		err = fmt.Errorf("discovery document: %w", err)
		s.docFetchFailed++
		ev.Result, ev.Err = ResultFailed, err
	}
	failures := s.failures + 1 // this fetch fails with the document
	sv := s.served.Load()
	if sv != nil {
		ev.Keys = len(sv.set.all)
	}
	s.mu.Unlock()

	switch {
	case err != nil:
		s.logFailure(trigger, DocumentDiscovery, s.disc.URL, err, failures, sv, now)
	case uri != old:
		s.env.Logger.LogAttrs(context.Background(), slog.LevelInfo, "jwks discovery jwks_uri changed",
			slog.String("iss", s.issuer), slog.String("discovery_url", s.disc.URL), slog.String("old_url", old),
			slog.String("new_url", uri), slog.String("trigger", trigger))
	}
	s.notify(func(h Hooks) { h.FetchDone(ev) })
	return err
}

// getDocument performs one GET of the discovery document and returns its
// jwks_uri. Whatever is not a usable document for this issuer is an error.
func (s *Remote) getDocument(ctx context.Context) (string, error) {
	issuer, jwksURI, err := readDocument(ctx, s.env.Client, s.disc.URL)
	if err != nil {
		return "", err
	}
	// OpenID Connect Discovery 1.0 section 4.3 and RFC 8414 section 3.3:
	// the issuer in the document must be identical to the one the
	// document was looked up for, or a provider could speak for another.
	if issuer != s.issuer {
		msg := fmt.Sprintf("the document names issuer %q, the baseline %q: they must be identical (OpenID Connect Discovery 1.0 section 4.3)",
			issuer, s.issuer)
		if strings.TrimSuffix(issuer, "/") == strings.TrimSuffix(s.issuer, "/") {
			msg += "; they differ by a trailing slash"
		}
		return "", errors.New(msg)
	}
	// jwks_uri is REQUIRED in OpenID Connect Discovery 1.0 section 3 and
	// optional in RFC 8414 section 2; without it there are no keys.
	if jwksURI == "" {
		return "", errors.New("the document has no jwks_uri")
	}
	if err := s.disc.CheckJWKSURI(jwksURI); err != nil {
		return "", fmt.Errorf("jwks_uri: %w", err)
	}
	return jwksURI, nil
}

// ReadDocument performs one GET of the discovery document at url, under
// the limits of every fetch here, and returns the issuer and jwks_uri it
// names ("" when absent), unchecked: for a tool that compares them with a
// baseline.
func ReadDocument(ctx context.Context, client *http.Client, url string) (issuer, jwksURI string, err error) {
	return readDocument(ctx, noDowngrade(client), url)
}

// readDocument is ReadDocument with a client that already refuses a
// downgrading redirect. A document without issuer is an error.
func readDocument(ctx context.Context, client *http.Client, url string) (issuer, jwksURI string, err error) {
	// OpenID Connect Discovery 1.0 section 4.2 and RFC 8414 section 3.2:
	// the document is a JSON object.
	resp, err := send(ctx, client, url, http.Header{"Accept": {"application/json"}})
	if err != nil {
		return "", "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", "", fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	data, err := readCapped(resp, maxDiscoveryBytes)
	if err != nil {
		return "", "", err
	}
	if len(data) > maxDiscoveryBytes {
		return "", "", fmt.Errorf("document larger than %d bytes", maxDiscoveryBytes)
	}
	var doc struct {
		Issuer  *string `json:"issuer"`
		JWKSURI *string `json:"jwks_uri"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		return "", "", fmt.Errorf("not a JSON metadata document: %w", err)
	}
	if doc.Issuer == nil {
		return "", "", errors.New("the document has no issuer")
	}
	if doc.JWKSURI != nil {
		jwksURI = *doc.JWKSURI
	}
	return *doc.Issuer, jwksURI, nil
}
