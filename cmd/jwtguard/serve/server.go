package serve

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/net/http/httpguts"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/health"
)

// Server gives a gateway the verdict of one verifier: over HTTP
// forward-auth ([Server.ServeHTTP]) and over Envoy's ext_authz gRPC
// ([Server.Check]). It holds no verification logic: tokens go to
// [core.Verifier.Authenticate], route requirements to
// [core.Verifier.Authorize], and rejections are [core.Verifier.Response].
type Server struct {
	v *core.Verifier
	// policy is the Policy in force, compiled; SetPolicy swaps it, and a
	// request reads it once, so its route and its headers come from one
	// policy.
	policy  atomic.Pointer[compiled]
	logger  *slog.Logger
	metrics http.Handler
	live    http.Handler
	ready   http.Handler
}

// Option tunes a Server's transport; verification settings belong to the
// verifier's baseline, and route requirements to the [Policy].
type Option func(*Server)

// WithLogger sets where the server's own lines go: requests whose target
// cannot be read, claim values withheld from a header. Use the verifier's
// logger so that every rejection is one line in one stream.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.logger = l } }

// WithMetrics serves h at /metrics (promjwt's registry, through promhttp).
func WithMetrics(h http.Handler) Option { return func(s *Server) { s.metrics = h } }

// compiled is a checked Policy in the form a request reads it.
type compiled struct {
	router router
	routed bool // the policy has routes, so a request's target matters
	claims []ClaimHeader
	owned  []string // ownedHeaders(claims), computed once
}

// compile checks p as [ParsePolicy] checks a file, and copies it; nil is
// the zero Policy.
func compile(p *Policy) (*compiled, error) {
	if p == nil {
		p = &Policy{}
	}
	if err := p.check(); err != nil {
		return nil, err
	}
	c := &compiled{router: newRouter(p.Routes), routed: len(p.Routes) > 0}
	for _, h := range p.ClaimHeaders {
		c.claims = append(c.claims, ClaimHeader{Claim: h.Claim, Header: canonical(h.Header)})
	}
	c.owned = ownedHeaders(c.claims)
	return c, nil
}

// SetPolicy puts p in force for the requests that start after it returns,
// as a restart on the new policy file would; requests in flight finish on
// the old one. An invalid p is refused, and the policy in force stays.
// jwtguard serve -watch calls it on SIGHUP.
func (s *Server) SetPolicy(p *Policy) error {
	c, err := compile(p)
	if err != nil {
		return err
	}
	s.policy.Store(c)
	return nil
}

// New returns the Server of v under policy p; a nil p is the zero
// [Policy]: every route needs a valid token, no claim is mapped. p is
// checked as [ParsePolicy] checks a file, and copied.
func New(v *core.Verifier, p *Policy, opts ...Option) (*Server, error) {
	if v == nil {
		return nil, errors.New("serve: a verifier is required")
	}
	s := &Server{v: v, logger: slog.New(slog.DiscardHandler), live: health.Liveness(), ready: health.Readiness(v)}
	if err := s.SetPolicy(p); err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(s)
	}
	if s.logger == nil {
		s.logger = slog.New(slog.DiscardHandler)
	}
	return s, nil
}

// AuthPath is the forward-auth endpoint. Any method is accepted, and any
// path below AuthPath+"/": Envoy's HTTP ext_authz appends the original
// path to its path_prefix.
const AuthPath = "/auth"

// ServeHTTP answers the gateways' forward-auth requests at /auth and
// below, and /healthz, /readyz and /metrics. The /auth paths are matched
// as written, never cleaned or redirected: the path below /auth is the
// original request's.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch p := r.URL.Path; {
	case p == AuthPath || strings.HasPrefix(p, AuthPath+"/"):
		s.serveAuth(w, r)
	case p == "/healthz":
		s.live.ServeHTTP(w, r)
	case p == "/readyz":
		s.ready.ServeHTTP(w, r)
	case p == "/metrics" && s.metrics != nil:
		s.metrics.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

// target is one reading of the original request a gateway forwards.
type target struct {
	method, path, rawQuery string
}

// maxTargets bounds the readings of one request: a request that carries
// more forwarded URIs than this is refused.
const maxTargets = 8

// targets reads the original method and URI the gateway forwarded, from
// every place a gateway puts them:
//
//   - Envoy's HTTP ext_authz appends the original path (and query) to its
//     path_prefix, here /auth, and keeps the method;
//   - Traefik's forwardAuth and Caddy's forward_auth send
//     X-Forwarded-Method and X-Forwarded-Uri;
//   - nginx's auth_request sends what its configuration sets, by
//     convention X-Original-Method and X-Original-URI.
//
// A gateway passes most client headers on to the auth request, so a
// client can add a reading of its own (an X-Forwarded-Uri behind nginx).
// Every reading counts: the request needs the requirements of every
// route they select, so a reading can only make the policy stricter. They
// are input to the policy only, never to authentication.
func targets(r *http.Request) ([]target, error) {
	var ts []target
	if rest, ok := strings.CutPrefix(r.URL.EscapedPath(), AuthPath+"/"); ok {
		ts = append(ts, target{method: r.Method, path: "/" + rest, rawQuery: r.URL.RawQuery})
	}
	for _, pair := range [...][2]string{{"X-Forwarded-Uri", "X-Forwarded-Method"}, {"X-Original-Uri", "X-Original-Method"}} {
		uris, methods := r.Header.Values(pair[0]), r.Header.Values(pair[1])
		if len(methods) == 0 {
			methods = []string{r.Method}
		}
		for _, u := range uris {
			p, q, err := splitURI(u)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", pair[0], err)
			}
			for _, m := range methods {
				if !validMethod(m) {
					return nil, fmt.Errorf("%s is not a method", pair[1])
				}
				if len(ts) == maxTargets {
					return nil, fmt.Errorf("more than %d forwarded URIs", maxTargets)
				}
				ts = append(ts, target{method: m, path: p, rawQuery: q})
			}
		}
	}
	return ts, nil
}

// validMethod: a method is a token (RFC 9110 section 9.1).
func validMethod(m string) bool { return httpguts.ValidHeaderFieldName(m) }

// splitURI reads a request target in origin form (RFC 9112 section 3.2.1:
// path and query) or absolute form, dropping any fragment.
func splitURI(u string) (p, rawQuery string, err error) {
	u, _, _ = strings.Cut(u, "#")
	if !strings.HasPrefix(u, "/") {
		parsed, perr := url.Parse(u)
		if perr != nil || !parsed.IsAbs() {
			return "", "", errors.New("not an origin-form or absolute URI")
		}
		p, rawQuery = parsed.EscapedPath(), parsed.RawQuery
		if p == "" {
			p = "/"
		}
		return p, rawQuery, nil
	}
	for i := 0; i < len(u); i++ {
		if c := u[i]; c <= ' ' || c == 0x7f {
			return "", "", errors.New("a URI has no spaces or control characters (RFC 3986 section 2)")
		}
	}
	p, rawQuery, _ = strings.Cut(u, "?")
	return p, rawQuery, nil
}

// verdict is the server's answer to one request: err is a rejection
// (core's), claims the identity of an accepted one, nil for an anonymous
// request.
type verdict struct {
	claims *core.Claims
	err    error
}

// decide authenticates and authorizes one request against the route its
// targets select. The request's target is read before any token, but only
// chooses which requirements apply.
func (s *Server) decide(ctx context.Context, pol *compiled, req core.Request, ts []target, targetErr error) verdict {
	var route *Route
	switch {
	case !pol.routed:
		route = defaultRoute
	case targetErr != nil:
		return verdict{err: s.refuseTarget(ctx, targetErr.Error())}
	case len(ts) == 0:
		return verdict{err: s.refuseTarget(ctx, "the gateway sent no original URI (X-Forwarded-Uri, X-Original-URI, or a path below /auth)")}
	default:
		route = pol.router.matchAll(ts)
	}
	if route.Anonymous {
		if len(route.Policies) > 0 {
			// Skipping authentication never authorizes: the route's
			// policies see no claims and refuse as core does.
			return verdict{err: s.v.Authorize(ctx, nil, route.Policies...)}
		}
		return verdict{}
	}
	authenticate := s.v.Authenticate
	if route.Optional {
		authenticate = s.v.AuthenticateOptional
	}
	claims, err := authenticate(ctx, req)
	if err != nil {
		return verdict{err: err}
	}
	if len(route.Policies) > 0 {
		if err := s.v.Authorize(ctx, claims, route.Policies...); err != nil {
			return verdict{err: err}
		}
	}
	return verdict{claims: claims}
}

// refuseTarget is the rejection of a request whose original method or URI
// cannot be read while the policy has routes: without them no route can be
// chosen, and guessing one could pick an open route. It is logged as core
// logs its rejections, with the reason request_invalid.
func (s *Server) refuseTarget(ctx context.Context, detail string) error {
	err := &core.Error{Reason: core.ReasonRequestInvalid, Detail: detail}
	s.logger.LogAttrs(ctx, slog.LevelInfo, "jwt rejected",
		slog.String("reason", string(err.Reason)), slog.String("detail", detail))
	return err
}

// serveAuth is the forward-auth endpoint: 200 with the identity headers,
// or core's RFC 6750 response.
func (s *Server) serveAuth(w http.ResponseWriter, r *http.Request) {
	ts, terr := targets(r)
	req := forwarded{header: r.Header, method: r.Method, path: r.URL.Path}
	if len(ts) > 0 {
		req.rawQuery, req.method, req.path = ts[0].rawQuery, ts[0].method, ts[0].path
	}
	pol := s.policy.Load()
	v := s.decide(r.Context(), pol, req, ts, terr)
	if v.err != nil {
		s.v.Response(v.err).WriteHTTP(w)
		return
	}
	h := w.Header()
	// A verdict is for one request: no cache may keep it.
	h["Cache-Control"] = []string{"no-store"}
	if v.claims != nil {
		s.identity(r.Context(), pol, v.claims, func(name, value string) { h[name] = []string{value} }, func(string) {})
	}
	w.WriteHeader(http.StatusOK)
}

// identity calls set for each upstream header of claims and remove for
// each identity or claim header that has no value to send, so that no
// client-sent copy survives where the gateway can remove it.
func (s *Server) identity(ctx context.Context, pol *compiled, c *core.Claims, set func(name, value string), remove func(name string)) {
	put := func(name, value string) {
		switch {
		case value == "":
			remove(name)
		case !safeHeaderValue(value):
			// RFC 9110 section 5.5: a field value has no CR, LF or NUL,
			// and no other control character, nor leading or trailing
			// whitespace. Such a value is withheld, never cleaned up into
			// another identity.
			s.logger.LogAttrs(ctx, slog.LevelWarn, "claim withheld from upstream header",
				slog.String("header", name), slog.String("detail", "not a valid header value"))
			remove(name)
		default:
			set(name, value)
		}
	}
	put(HeaderSubject, c.Subject())
	put(HeaderIssuer, c.Issuer())
	put(HeaderScopes, strings.Join(c.Scopes(), " "))
	payload, _ := c.MarshalJSON()
	put(HeaderClaims, base64.RawURLEncoding.EncodeToString(payload))
	for _, m := range pol.claims {
		val, ok := c.Get(m.Claim)
		if !ok {
			remove(m.Header)
			continue
		}
		put(m.Header, claimText(val))
	}
}

// claimText is a claim as header text: strings as they are, numbers and
// booleans as JSON writes them, anything else (objects, arrays, null) as
// JSON.
func claimText(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return x.String()
	case bool:
		return strconv.FormatBool(x)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

// safeHeaderValue: visible ASCII, spaces and tabs inside, and obs-text
// (RFC 9110 section 5.5), so UTF-8 passes.
func safeHeaderValue(v string) bool {
	if v[0] == ' ' || v[0] == '\t' || v[len(v)-1] == ' ' || v[len(v)-1] == '\t' {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// forwarded is a forward-auth request as core reads it: the headers the
// gateway passed on (Authorization, Cookie), and the query of the original
// URI.
type forwarded struct {
	header   http.Header
	rawQuery string
	// method and path name the request in a rejection line: the original
	// request the gateway forwarded, or the auth request itself.
	method, path string
}

// Target names the original request in core's rejection line
// ([core.RequestTarget]), as an adapter in front of the service would.
func (f forwarded) Target() (method, path string) { return f.method, f.path }

func (f forwarded) Header(name string) []string { return f.header.Values(name) }

// Query parses the original query as net/http's URL.Query does, so the
// verdict equals an adapter's behind the same gateway.
func (f forwarded) Query(name string) []string {
	q, _ := url.ParseQuery(f.rawQuery)
	return q[name]
}

// Cookie reads the Cookie headers as net/http's Request.Cookie does.
func (f forwarded) Cookie(name string) (string, bool) {
	c, err := (&http.Request{Header: f.header}).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}
