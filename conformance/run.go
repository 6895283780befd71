package conformance

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// Outcome is the verdict a client sees: RFC 6750 section 3.1 names all but
// Accept and Unavailable.
type Outcome string

// The outcomes. Unavailable is a 503 (gRPC Unavailable): the service could
// not check the token, which says nothing about the token itself.
const (
	Accept            Outcome = "accept"
	NoCredentials     Outcome = "no_credentials"
	InvalidToken      Outcome = "invalid_token"
	InvalidRequest    Outcome = "invalid_request"
	InsufficientScope Outcome = "insufficient_scope"
	Unavailable       Outcome = "unavailable"
)

// Path is the path of the protected endpoint every request is sent to,
// but for the cases of skipped routes.
const Path = "/resource"

// SkipPath is the path of the route the adapter's middleware skips: a
// harness that declares [Harness.Skips] builds its adapter with a skipper
// (fiber's Next, a gRPC exemption) for it, and mounts the same checks and
// endpoint there as at Path. A request there carries no claims, valid token
// or not, so a check behind the middleware refuses it as lacking
// credentials, and [Endpoint] answers it 200 with no subject.
const SkipPath = "/skipped"

// Request is one request of a case, in terms every transport can carry.
type Request struct {
	// Header holds the request headers. Authorization may have no value,
	// one, or several (each sent as its own field).
	Header http.Header
	// Query holds URL query parameters. A transport without URLs (gRPC)
	// answers a request that has any with errors.ErrUnsupported, and the
	// case is skipped for it.
	Query url.Values
	// Path is Path ("" stands for it), or SkipPath for the cases of
	// skipped routes; a gRPC harness calls a method its interceptors
	// exempt for SkipPath.
	Path string
}

// NewHTTPRequest returns r as a GET of baseURL+r.Path, for HTTP harnesses
// (and for app.Test in fiber).
func (r Request) NewHTTPRequest(baseURL string) (*http.Request, error) {
	u := baseURL + cmp.Or(r.Path, Path)
	if len(r.Query) > 0 {
		u += "?" + r.Query.Encode()
	}
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	if r.Header != nil {
		req.Header = r.Header.Clone()
	}
	return req, nil
}

// Metadata returns the headers as gRPC metadata: lowercase keys, every
// value kept in order. metadata.MD has this type.
func (r Request) Metadata() map[string][]string {
	md := make(map[string][]string, len(r.Header))
	for k, vs := range r.Header {
		k = strings.ToLower(k)
		md[k] = append(md[k], vs...)
	}
	return md
}

// Result is what came back for one request.
type Result struct {
	// Status, Header and Body are the HTTP response. Status is zero for a
	// gRPC transport.
	Status int
	Header http.Header
	Body   []byte
	// GRPCCode and GRPCMessage are the gRPC status (codes.Code as an int;
	// 0 is OK).
	GRPCCode    int
	GRPCMessage string
	// Subject is the subject of the claims the protected endpoint found in
	// its context, empty when it found none at SkipPath; it is only read
	// when the request was accepted.
	Subject string
}

// ReadHTTPResponse reads resp into a Result. The body of a 200 is taken as
// the subject the protected endpoint saw (see [Endpoint]).
func ReadHTTPResponse(resp *http.Response) (Result, error) {
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return Result{}, err
	}
	res := Result{Status: resp.StatusCode, Header: resp.Header, Body: body}
	if resp.StatusCode == http.StatusOK {
		res.Subject = string(body)
	}
	return res, nil
}

// Endpoint is the protected handler of an HTTP harness: it answers 200 with
// the subject of the claims it finds with core.FromContext, and 500 when it
// finds none, so an adapter that lets a request through without passing its
// claims on fails. At SkipPath, where a request carries no claims, it
// answers 200 with an empty body when it finds none.
func Endpoint(w http.ResponseWriter, r *http.Request) {
	c, ok := core.FromContext(r.Context())
	if !ok && r.URL.Path != SkipPath {
		http.Error(w, "no claims in the request context", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if ok {
		io.WriteString(w, c.Subject())
	}
}

// anonymousEndpoint is Endpoint behind optional authentication: a request
// without claims is answered 200 with no subject.
func anonymousEndpoint(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if c, ok := core.FromContext(r.Context()); ok {
		io.WriteString(w, c.Subject())
	}
}

// Route is what a case requires of the request behind the adapter's
// middleware: the adapter's scope check, then its policy check.
type Route struct {
	// Scopes are required by the adapter's scope check (RequireScopes);
	// nil when the route has none.
	Scopes []string
	// Policy is required by the adapter's policy check (RequirePolicy);
	// nil when the route has none.
	Policy core.Policy
	// Optional asks for the adapter's optional authentication
	// (WithOptional): a request that presents no credentials reaches the
	// endpoint without claims, and the endpoint answers it 200 with no
	// subject, as at SkipPath. A harness honours it only when it declares
	// [Harness.Optional].
	Optional bool
}

// Policies are the route's checks as core policies, the scope check
// first, for an adapter that authorizes in the step that authenticates:
// v.Authorize(ctx, claims, route.Policies()...).
func (r Route) Policies() []core.Policy {
	var p []core.Policy
	if r.Scopes != nil {
		p = append(p, core.RequireScopes(r.Scopes...))
	}
	if r.Policy != nil {
		p = append(p, r.Policy)
	}
	return p
}

// Harness puts one adapter under test.
type Harness struct {
	// Name labels the adapter in its verdict table.
	Name string
	// Serve starts the adapter around v, protecting one endpoint that
	// answers like [Endpoint], behind the checks of route. It returns send,
	// which delivers one request and reports what came back, and stop,
	// which releases what Serve started. It is called once per case, never
	// concurrently. A failure to start is returned by send.
	Serve func(v *core.Verifier, route Route) (send func(Request) (Result, error), stop func())
	// Skips declares that the adapter skips the requests for SkipPath
	// (its skipper, fiber's Next, a gRPC exemption) and that Serve mounts
	// the route there too. The cases of skipped routes run only for a
	// harness that declares it; for any other they are skipped, as a URL
	// query is over gRPC.
	Skips bool
	// Optional declares that Serve honours [Route.Optional]: it builds the
	// adapter with its optional authentication, and the endpoint answers a
	// request without claims 200 with no subject. The cases of optional
	// credentials run only for a harness that declares it.
	Optional bool

	// baseline adjusts every case's baseline after the case's own changes.
	// Unexported: an adapter never changes verification; the package's own
	// tests use it to run the matrix with the token cache off and on.
	baseline func(*core.Config)
}

// HTTPHarness is the harness of any adapter that yields an http.Handler
// (net/http, gin, echo, chi, ...): wrap returns the adapter's handler in
// front of protected, with the checks of route. Requests go over a loopback
// httptest server, so they cross a real HTTP/1.1 parser. An adapter that
// skips SkipPath sets Skips on the harness returned.
func HTTPHarness(name string, wrap func(v *core.Verifier, route Route, protected http.Handler) http.Handler) Harness {
	return Harness{Name: name, Serve: func(v *core.Verifier, route Route) (func(Request) (Result, error), func()) {
		endpoint := http.HandlerFunc(Endpoint)
		if route.Optional {
			endpoint = anonymousEndpoint
		}
		srv := httptest.NewServer(wrap(v, route, endpoint))
		client := srv.Client()
		send := func(r Request) (Result, error) {
			req, err := r.NewHTTPRequest(srv.URL)
			if err != nil {
				return Result{}, err
			}
			resp, err := client.Do(req)
			if err != nil {
				return Result{}, err
			}
			return ReadHTTPResponse(resp)
		}
		return send, srv.Close
	}}
}

// Verdict is what one adapter answered for one case.
type Verdict struct {
	Outcome Outcome
	// Reason is the reason of the verifier's rejection log line; "" when
	// the request was accepted.
	Reason core.Reason
	// Status is the HTTP status; for gRPC, the status of its outcome in
	// core's reason table, so that tables of both transports compare.
	Status int
	// Subject is what the protected endpoint saw, on acceptance.
	Subject string
	// Skipped is set when the transport cannot carry the case's request.
	Skipped bool
}

func (v Verdict) String() string {
	switch {
	case v.Skipped:
		return "skipped"
	case v.Outcome == Accept:
		return fmt.Sprintf("accept %d subject=%q", v.Status, v.Subject)
	}
	return fmt.Sprintf("%s %s %d", v.Outcome, v.Reason, v.Status)
}

// Row is one case of a [Table].
type Row struct {
	Case string
	Verdict
}

// Table is one adapter's verdict for every case, in matrix order.
type Table struct {
	Adapter string
	Rows    []Row
}

// Lookup returns the verdict for the named case.
func (t Table) Lookup(name string) (Verdict, bool) {
	for _, r := range t.Rows {
		if r.Case == name {
			return r.Verdict, true
		}
	}
	return Verdict{}, false
}

// Diff lists, one line per case, every case on which any two tables
// differ: outcome, reason, status or subject. A case a transport skipped is
// left out of the comparison; a case missing from a table is a difference.
func Diff(tables ...Table) []string {
	var names []string
	seen := map[string]bool{}
	for _, t := range tables {
		for _, r := range t.Rows {
			if !seen[r.Case] {
				seen[r.Case] = true
				names = append(names, r.Case)
			}
		}
	}
	var out []string
	for _, name := range names {
		var parts []string
		var first *Verdict
		differ := false
		for _, t := range tables {
			v, ok := t.Lookup(name)
			switch {
			case !ok:
				parts = append(parts, t.Adapter+": missing")
				differ = true
				continue
			case v.Skipped:
				parts = append(parts, t.Adapter+": skipped")
				continue
			case first == nil:
				first = &v
			case v != *first:
				differ = true
			}
			parts = append(parts, t.Adapter+": "+v.String())
		}
		if differ {
			out = append(out, name+": "+strings.Join(parts, "; "))
		}
	}
	return out
}

// Run runs every case through the adapter of h, each as a subtest, and
// returns the adapter's verdict table. A failure reads "problem: rule
// (source)".
func Run(t *testing.T, h Harness) Table {
	t.Helper()
	keys := matrixKeys()
	tab := Table{Adapter: h.Name}
	for i := range cases {
		c := &cases[i]
		t.Run(c.name, func(t *testing.T) {
			v, problems, err := runCase(keys, h, c)
			tab.Rows = append(tab.Rows, Row{c.name, v})
			switch {
			case errors.Is(err, errors.ErrUnsupported):
				t.Skipf("%s cannot carry this request: %v", h.Name, err)
			case err != nil:
				t.Fatalf("%v: %s", err, c.explain())
			}
			for _, p := range problems {
				t.Errorf("%s: %s", p, c.explain())
			}
		})
	}
	return tab
}

// Check is Run outside a test: it runs every case and returns the verdict
// table and every failure, joined, each as "case: problem: rule (source)".
func Check(h Harness) (Table, error) { return check(h, nil) }

// check runs the cases that only selects (all when nil).
func check(h Harness, only func(*testCase) bool) (Table, error) {
	keys := matrixKeys()
	tab := Table{Adapter: h.Name}
	var errs []error
	for i := range cases {
		c := &cases[i]
		if only != nil && !only(c) {
			continue
		}
		v, problems, err := runCase(keys, h, c)
		tab.Rows = append(tab.Rows, Row{c.name, v})
		switch {
		case errors.Is(err, errors.ErrUnsupported):
		case err != nil:
			errs = append(errs, fmt.Errorf("%s: %v: %s", c.name, err, c.explain()))
		}
		for _, p := range problems {
			errs = append(errs, fmt.Errorf("%s: %s: %s", c.name, p, c.explain()))
		}
	}
	return tab, errors.Join(errs...)
}

// setUp starts a case in process: its IdP, its verifier on the case's
// baseline (adjust, when not nil, changes it last) and the case's setup.
// rec, when not nil, records the setup for the vectors file. stop releases
// what setUp started, error or not.
func setUp(keys *keyring, c *testCase, adjust func(*core.Config), rec *recording) (e *env, log *rejectionLog, stop func(), err error) {
	e = newEnv(keys, c.keys)
	stop = e.idp.Close
	e.world = &inProcess{e: e, rec: rec}
	if rec != nil {
		e.strayBase = strayHost
		if err := rec.keysChanged(e); err != nil {
			return e, nil, stop, err
		}
	}
	if c.before != nil {
		if err := c.before(e); err != nil {
			return e, nil, stop, fmt.Errorf("setting up the case: %w", err)
		}
	}
	cfg := e.idp.Config()
	if c.config != nil {
		c.config(&cfg)
	}
	if adjust != nil {
		adjust(&cfg)
	}
	log = &rejectionLog{}
	v, err := core.New(cfg, core.WithClock(e.clock.now), core.WithLogger(slog.New(log)), core.WithRealm(realm))
	if err != nil {
		return e, nil, stop, fmt.Errorf("core.New: %w", err)
	}
	stop = func() {
		v.Close()
		e.idp.Close()
	}
	e.v = v
	if c.started != nil {
		if err := c.started(e); err != nil {
			return e, nil, stop, fmt.Errorf("setting up the case: %w", err)
		}
	}
	return e, log, stop, nil
}

// runCase sets up the case, sends its request through the adapter and
// judges the answer. err reports what kept the case from running
// (errors.ErrUnsupported: the transport cannot carry it).
func runCase(keys *keyring, h Harness, c *testCase) (Verdict, []string, error) {
	e, log, stop, err := setUp(keys, c, h.baseline, nil)
	defer stop()
	if err != nil {
		return Verdict{}, nil, err
	}
	req := c.build(e)
	if req.Path == SkipPath && !h.Skips {
		return Verdict{Skipped: true}, nil, fmt.Errorf("the harness declares no skipped route (Harness.Skips): %w", errors.ErrUnsupported)
	}
	if c.optional && !h.Optional {
		return Verdict{Skipped: true}, nil, fmt.Errorf("the harness declares no optional authentication (Harness.Optional): %w", errors.ErrUnsupported)
	}
	send, stopServe := h.Serve(e.v, Route{Scopes: c.scopes, Policy: c.policy, Optional: c.optional})
	defer stopServe()
	log.reset()
	res, err := send(req)
	if err != nil {
		return Verdict{Skipped: errors.Is(err, errors.ErrUnsupported)}, nil, err
	}
	got, problems := c.judge(e.v, res, log.reasons())
	for _, p := range e.strays.requests() {
		problems = append(problems, fmt.Sprintf("the verifier fetched %s, a URL the token named", p))
	}
	return got, problems, nil
}

func (c *testCase) build(e *env) Request {
	var r Request
	if c.request != nil {
		r = c.request(e)
	} else {
		r = bearer(c.token(e))
	}
	r.Path = Path
	if c.skipped {
		r.Path = SkipPath
	}
	return r
}

func bearer(token string) Request {
	return Request{Header: http.Header{"Authorization": {"Bearer " + token}}}
}

func (c *testCase) explain() string { return c.explanation + " (" + c.source + ")" }

// wantSubject is the subject the endpoint must see on acceptance: none on
// a skipped route, whatever the token, nor for an anonymous request.
func (c *testCase) wantSubject() string {
	switch {
	case c.skipped, c.anonymous:
		return ""
	case c.subject != "":
		return c.subject
	}
	return "alice"
}

// judge compares what came back with the case. The reason comes from the
// verifier's log line: it never reaches the client.
func (c *testCase) judge(v *core.Verifier, res Result, logged []core.Reason) (Verdict, []string) {
	var p []string
	got := Verdict{Subject: res.Subject}
	got.Outcome, got.Status = classify(v, res)
	if got.Outcome != Accept {
		got.Subject = ""
	}
	if len(logged) > 0 {
		got.Reason = logged[0]
	}
	if len(logged) > 1 {
		p = append(p, fmt.Sprintf("%d rejections logged for one request (%v), want one", len(logged), logged))
	}
	if got.Outcome != c.want {
		p = append(p, fmt.Sprintf("outcome %s, want %s", got.Outcome, c.want))
	}
	switch {
	case got.Reason == c.reason:
	case c.reason == "":
		p = append(p, fmt.Sprintf("rejected with reason %s, want acceptance", got.Reason))
	case got.Reason == "":
		p = append(p, fmt.Sprintf("no rejection logged, want reason %s (reject through Verifier.Authenticate and Authorize)", c.reason))
	default:
		p = append(p, fmt.Sprintf("reason %s, want %s", got.Reason, c.reason))
	}
	if got.Outcome != c.want {
		return got, p
	}
	if c.want == Accept {
		if res.Subject != c.wantSubject() {
			p = append(p, fmt.Sprintf("the protected endpoint saw subject %q, want %q", res.Subject, c.wantSubject()))
		}
		return got, p
	}
	missing := c.missing
	if missing == nil && c.reason == core.ReasonInsufficientScope {
		missing = c.scopes
	}
	return got, append(p, sameResponse(res, v.Response(&core.Error{Reason: c.reason, Scopes: missing}))...)
}

// sameResponse requires the response core builds, byte for byte: RFC 6750
// responses come from core alone, so every adapter sends the same ones.
func sameResponse(res Result, want core.Response) []string {
	var p []string
	if res.Status == 0 {
		if res.GRPCCode != want.GRPCCode || res.GRPCMessage != want.GRPCMessage {
			p = append(p, fmt.Sprintf("gRPC status %d %q, want %d %q", res.GRPCCode, res.GRPCMessage, want.GRPCCode, want.GRPCMessage))
		}
		return p
	}
	if res.Status != want.Status {
		p = append(p, fmt.Sprintf("HTTP status %d, want %d", res.Status, want.Status))
	}
	if want.WWWAuthenticate == "" {
		if got := res.Header.Values("WWW-Authenticate"); len(got) > 0 {
			p = append(p, fmt.Sprintf("WWW-Authenticate %q, want none", got))
		}
	}
	// The headers net/http would send, as core writes them.
	written := httptest.NewRecorder()
	want.WriteHTTP(written)
	for _, name := range slices.Sorted(maps.Keys(written.Header())) {
		if got, values := res.Header.Values(name), written.Header().Values(name); !slices.Equal(got, values) {
			p = append(p, fmt.Sprintf("%s %q, want %q", name, got, values))
		}
	}
	if !bytes.Equal(res.Body, want.Body) {
		p = append(p, fmt.Sprintf("body %q, want %q", res.Body, want.Body))
	}
	return p
}

// classify reads the outcome off the wire: the HTTP status and the RFC 6750
// error code of the challenge, or the gRPC code (and, to tell a missing
// token from a bad one under Unauthenticated, core's status message).
func classify(v *core.Verifier, res Result) (Outcome, int) {
	if res.Status == http.StatusOK || (res.Status == 0 && res.GRPCCode == 0) {
		return Accept, http.StatusOK
	}
	code := bearerParam(res.Header.Get("WWW-Authenticate"), "error")
	for _, o := range []Outcome{NoCredentials, InvalidToken, InvalidRequest, InsufficientScope, Unavailable} {
		want := v.Response(&core.Error{Reason: representative(o)})
		if res.Status == 0 && res.GRPCCode == want.GRPCCode && res.GRPCMessage == want.GRPCMessage {
			return o, want.Status
		}
		if res.Status != 0 && res.Status == want.Status && code == bearerParam(want.WWWAuthenticate, "error") {
			return o, want.Status
		}
	}
	if res.Status == 0 {
		return Outcome(fmt.Sprintf("unexpected gRPC status %d %q", res.GRPCCode, res.GRPCMessage)), 0
	}
	return Outcome(fmt.Sprintf("unexpected HTTP %d error=%q", res.Status, code)), res.Status
}

// outcomeOf is the outcome core's class sentinels give a reason.
func outcomeOf(r core.Reason) Outcome {
	e := &core.Error{Reason: r}
	switch {
	case r == "":
		return Accept
	case errors.Is(e, core.ErrNoCredentials):
		return NoCredentials
	case errors.Is(e, core.ErrInvalidRequest):
		return InvalidRequest
	case errors.Is(e, core.ErrForbidden):
		return InsufficientScope
	case errors.Is(e, core.ErrServerUnavailable):
		return Unavailable
	}
	return InvalidToken
}

// representative is the first reason of core's table with outcome o.
func representative(o Outcome) core.Reason {
	for _, info := range core.Reasons() {
		if outcomeOf(info.Reason) == o {
			return info.Reason
		}
	}
	return ""
}

// bearerParam returns one auth-param of a Bearer challenge (RFC 6750
// section 3, RFC 9110 section 11.2), unquoted; "" when absent.
func bearerParam(challenge, name string) string {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(challenge), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			return ""
		}
		var val string
		if strings.HasPrefix(after, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(after) && after[i] != '"'; i++ {
				if after[i] == '\\' && i+1 < len(after) {
					i++
				}
				b.WriteByte(after[i])
			}
			val, rest = b.String(), after[min(i+1, len(after)):]
		} else {
			val, rest, _ = strings.Cut(after, ",")
		}
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

// rejectionLog collects the reasons of the verifier's rejection lines.
// Every rejection is logged as one line with a "reason" attribute; other
// lines (start, key set events) carry none of core's reasons.
type rejectionLog struct {
	mu   sync.Mutex
	list []core.Reason
}

func (l *rejectionLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *rejectionLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *rejectionLog) WithGroup(string) slog.Handler            { return l }

func (l *rejectionLog) Handle(_ context.Context, r slog.Record) error {
	var attrs []slog.Attr
	r.Attrs(func(a slog.Attr) bool {
		attrs = append(attrs, a)
		return true
	})
	if reason, ok := findReason(attrs); ok {
		l.mu.Lock()
		l.list = append(l.list, reason)
		l.mu.Unlock()
	}
	return nil
}

// findReason looks for a "reason" attribute holding one of core's reasons,
// inside groups too.
func findReason(attrs []slog.Attr) (core.Reason, bool) {
	for _, a := range attrs {
		if a.Value.Kind() == slog.KindGroup {
			if r, ok := findReason(a.Value.Group()); ok {
				return r, true
			}
			continue
		}
		reason := core.Reason(a.Value.String())
		if a.Key == "reason" && slices.ContainsFunc(core.Reasons(), func(i core.ReasonInfo) bool { return i.Reason == reason }) {
			return reason, true
		}
	}
	return "", false
}

func (l *rejectionLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = nil
}

func (l *rejectionLog) reasons() []core.Reason {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}
