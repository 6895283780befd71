package core

import (
	"context"
	"net/http"
	"strings"
)

// Request is what an adapter offers for token extraction: header (or gRPC
// metadata) values, and the query and cookie sources, which are read only
// when the baseline turns them on.
type Request interface {
	// Header returns every value of the named header, as received.
	Header(name string) []string
	// Query returns every value of the named query parameter.
	Query(name string) []string
	// Cookie returns the named cookie.
	Cookie(name string) (string, bool)
}

// HTTPRequest adapts a *http.Request, for adapters built on net/http.
func HTTPRequest(r *http.Request) Request { return httpRequest{r} }

type httpRequest struct{ r *http.Request }

func (h httpRequest) Header(name string) []string { return h.r.Header.Values(name) }
func (h httpRequest) Query(name string) []string  { return h.r.URL.Query()[name] }
func (h httpRequest) Cookie(name string) (string, bool) {
	c, err := h.r.Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}

// extractToken finds the one access token of a request.
//
// RFC 6750 section 2.1: credentials = "Bearer" 1*SP b64token, the scheme
// matched case-insensitively (RFC 9110 section 11.1). No Authorization
// header, or another scheme, is no credentials (token_missing). "Bearer"
// without a token, extra parts, or two Authorization headers are malformed
// (request_invalid). RFC 6750 section 2: a client must not send the token
// by more than one method, so a token in two sources is request_invalid.
func (v *engine) extractToken(r Request) (string, error) {
	var token string
	found := 0
	values := r.Header("Authorization")
	switch len(values) {
	case 0:
	case 1:
		t, err := parseAuthorization(values[0])
		if err != nil {
			return "", err
		}
		if t != "" {
			token, found = t, 1
		}
	default:
		return "", newError(ReasonRequestInvalid, "more than one Authorization header")
	}
	if name := v.cfg.TokenSources.Query; name != "" {
		switch q := r.Query(name); len(q) {
		case 0:
		case 1:
			token, found = q[0], found+1
		default:
			return "", newError(ReasonRequestInvalid, "more than one query token")
		}
	}
	if name := v.cfg.TokenSources.Cookie; name != "" {
		if c, ok := r.Cookie(name); ok && c != "" {
			token, found = c, found+1
		}
	}
	switch {
	case found > 1:
		return "", newError(ReasonRequestInvalid, "token sent by more than one method")
	case found == 0 || token == "":
		return "", newError(ReasonTokenMissing, "no bearer token")
	}
	return token, nil
}

func parseAuthorization(value string) (string, error) {
	// RFC 9110 section 5.5: whitespace around a field value is not part of it.
	value = strings.Trim(value, " \t")
	if value == "" {
		return "", nil
	}
	scheme, rest, _ := strings.Cut(value, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", nil // another scheme: no bearer credentials
	}
	token := strings.TrimLeft(rest, " ")
	if token == "" {
		return "", newError(ReasonRequestInvalid, "Bearer without a token")
	}
	// Three byte searches instead of ContainsAny: this runs on every
	// request over a token of up to max_token_bytes, and the vectorized
	// single-byte search is far cheaper than a set scan
	// (BenchmarkExtract measures it).
	if strings.IndexByte(token, ' ') >= 0 || strings.IndexByte(token, '\t') >= 0 || strings.IndexByte(token, ',') >= 0 {
		return "", newError(ReasonRequestInvalid, "Authorization has extra parts")
	}
	return token, nil
}

// Authenticate is [Verifier.Authenticate] on this engine.
func (v *engine) Authenticate(ctx context.Context, r Request) (*Claims, error) {
	// The clock is read before extraction so that a verdict's duration
	// covers the whole call.
	now := v.opts.now()
	start := v.verdictStart(now)
	token, err := v.extract(r)
	if err != nil {
		if len(v.opts.verdicts) > 0 {
			v.notify(ctx, v.rejectionEvent(err, cacheNotConsulted, start))
		}
		v.logRejection(ctx, err)
		return nil, err
	}
	if len(v.opts.verdicts) > 0 {
		return v.verifyReported(ctx, token, now, start)
	}
	c, _, err := v.verify(ctx, token, now)
	if err != nil {
		v.logRejection(ctx, err)
		return nil, err
	}
	return c, nil
}

// AuthenticateOptional is [Verifier.AuthenticateOptional] on this engine.
func (v *engine) AuthenticateOptional(ctx context.Context, r Request) (*Claims, error) {
	if !v.presentsCredentials(r) {
		return nil, nil
	}
	return v.Authenticate(ctx, r)
}

// accessTokenParam is the query parameter of RFC 6750 section 2.3.
const accessTokenParam = "access_token"

// presentsCredentials reports whether r carries anything that may be a
// token: an Authorization header of any scheme, a cookie or query source
// the baseline allows, or the access_token query parameter even where the
// baseline does not allow it. Only a request with none of these is
// anonymous; any other is judged as Authenticate judges it, so a bad,
// misplaced or unreadable credential is refused, never ignored. A Request
// that panics presents credentials.
func (v *engine) presentsCredentials(r Request) (present bool) {
	defer func() {
		if recover() != nil {
			present = true
		}
	}()
	for _, h := range r.Header("Authorization") {
		if strings.Trim(h, " \t") != "" {
			return true
		}
	}
	if len(r.Query(accessTokenParam)) > 0 {
		return true
	}
	if name := v.cfg.TokenSources.Query; name != "" && len(r.Query(name)) > 0 {
		return true
	}
	if name := v.cfg.TokenSources.Cookie; name != "" {
		// An empty cookie is no token to extractToken either.
		if c, ok := r.Cookie(name); ok && c != "" {
			return true
		}
	}
	return false
}

// extract is extractToken, failing closed if a Request implementation
// panics.
func (v *engine) extract(r Request) (token string, err error) {
	defer func() {
		if p := recover(); p != nil {
			token, err = "", newError(ReasonRequestInvalid, "request could not be read")
		}
	}()
	return v.extractToken(r)
}
