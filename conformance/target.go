package conformance

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// OutOfContract is the outcome of an answer a served target must never
// give: a status outside the verdicts' (a 5xx other than 503, a 404, a
// redirect), or none within the bound on a request.
const OutOfContract Outcome = "out_of_contract"

// Target is a running service under test, in any language, reached over
// HTTP or gRPC. Configure it with the [Baseline] of a served [IdP], then
// Run sends it every case of the matrix that a request from outside can
// carry; the others (a baseline of their own, a route with a policy check,
// the service's clock moved) are reported as skipped, with the reason.
type Target struct {
	// IdP is the base URL of the served IdP the target trusts.
	IdP string
	// URL is the base URL of the target: http://HOST:PORT, or
	// grpc://HOST:PORT for a gRPC service without TLS, whose methods Path
	// and AdminPath then name (/package.Service/Method); they take
	// google.protobuf.Empty. A gRPC status reads as the HTTP status of its
	// outcome in core's reason table: Unauthenticated as 401 (no RFC 6750
	// challenge to read), InvalidArgument 400, PermissionDenied 403,
	// Unavailable 503.
	URL string
	// Path needs a valid token ("/whoami" when empty); AdminPath needs one
	// that grants the scope admin ("/admin" when empty).
	Path, AdminPath string
	// Strict counts the RFC 6750 details (the Bearer challenge and its
	// error code) of a target that sends no Bearer challenge to a request
	// without credentials; they always count for one that does.
	Strict bool
	// Timeout bounds each request: an answer not in by then is out of
	// contract. 5s when zero.
	Timeout time.Duration
	// Settle bounds how long a change of the key set (a key published or
	// removed) may take to reach the target's verdicts. 20s when zero.
	Settle time.Duration
}

// The results of a case.
const (
	Pass = "pass"
	Fail = "fail"
	Skip = "skip"
)

// Report is a target's verdict on every case; Run returns it, and the
// CLI's -json writes it.
type Report struct {
	Schema string `json:"schema"`
	Target string `json:"target"`
	// RFC6750 is set when the target answered a request without
	// credentials with a Bearer challenge, claiming RFC 6750.
	RFC6750 bool         `json:"rfc6750"`
	Strict  bool         `json:"strict"`
	Cases   []CaseResult `json:"cases"`
}

// reportSchema names the version of a Report's JSON.
const reportSchema = "jwtguard-conformance-report/1"

// CaseResult is one case of a [Report].
type CaseResult struct {
	Case     string  `json:"case"`
	Group    string  `json:"group"`
	Expected Outcome `json:"expected"`
	// Reason is the reason jwtguard gives the case, for reference: a
	// target's logs are not read.
	Reason   core.Reason `json:"reason,omitempty"`
	Observed Outcome     `json:"observed,omitempty"`
	// Status is the HTTP status; for a gRPC target, that of its code,
	// which GRPC names.
	Status int    `json:"status,omitempty"`
	GRPC   string `json:"grpc,omitempty"`
	Result string `json:"result"`
	// Problems say why a case failed; Notes are what did not count, such
	// as the RFC 6750 details of a target that does not claim RFC 6750.
	Problems []string `json:"problems,omitempty"`
	Notes    []string `json:"notes,omitempty"`
	// Skip says why the case did not run.
	Skip string `json:"skip,omitempty"`
}

// Failed is the number of cases that failed.
func (r *Report) Failed() int {
	n := 0
	for _, c := range r.Cases {
		if c.Result == Fail {
			n++
		}
	}
	return n
}

// wronglyAccepted lists the cases whose request the target accepted
// though it must be refused: the failures that let an attacker in.
func (r *Report) wronglyAccepted() []string {
	var names []string
	for _, c := range r.Cases {
		if c.Result == Fail && c.Observed == Accept && c.Expected != Accept {
			names = append(names, c.Case)
		}
	}
	return names
}

// WriteText writes the report as a table, one case a row with why it
// failed under it, then the notes, and a summary that starts with the
// requests wrongly accepted. A note that several cases share (a missing
// Bearer challenge, say) is written once, with their number.
func (r *Report) WriteText(w io.Writer) error {
	shared := map[string][]string{}
	var order []string
	for _, c := range r.Cases {
		for _, n := range c.Notes {
			if shared[n] == nil {
				order = append(order, n)
			}
			shared[n] = append(shared[n], c.Case)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CASE\tEXPECTED\tOBSERVED\tRESULT")
	counts := map[string]int{}
	for _, c := range r.Cases {
		counts[c.Result]++
		result := c.Result
		switch c.Result {
		case Fail:
			result = "FAIL"
		case Skip:
			result += ": " + c.Skip
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", c.Case, c.Expected, c.observed(), result)
		for _, p := range c.Problems {
			fmt.Fprintf(tw, "\t\t\t  %s\n", p)
		}
		for _, n := range c.Notes {
			if len(shared[n]) == 1 {
				fmt.Fprintf(tw, "\t\t\t  note: %s\n", n)
			}
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range order {
		if names := shared[n]; len(names) > 1 {
			which := fmt.Sprintf("%d cases", len(names))
			if len(names) <= 5 {
				which += " (" + strings.Join(names, ", ") + ")"
			}
			fmt.Fprintf(w, "note, %s: %s\n", which, n)
		}
	}
	accepted := r.wronglyAccepted()
	list := ""
	if len(accepted) > 0 {
		list = " (" + strings.Join(accepted, ", ") + ")"
	}
	fmt.Fprintf(w, "\nwrongly accepted: %d%s\nof %d cases: %d failed, %d passed, %d skipped\n",
		len(accepted), list, len(r.Cases), counts[Fail], counts[Pass], counts[Skip])
	var err error
	switch {
	case strings.HasPrefix(r.Target, "grpc://"):
		_, err = fmt.Fprintln(w, "gRPC: a status code reads as the HTTP status of its outcome; RFC 6750 is HTTP's")
	case r.RFC6750:
		_, err = fmt.Fprintln(w, "RFC 6750: the target answers a request without credentials with a Bearer challenge, so its challenges and error codes count")
	case r.Strict:
		_, err = fmt.Fprintln(w, "RFC 6750: the target sends no Bearer challenge; -strict counts its challenges and error codes")
	default:
		_, err = fmt.Fprintln(w, "RFC 6750: the target sends no Bearer challenge, so its challenges and error codes are notes, not failures (-strict counts them)")
	}
	return err
}

func (c CaseResult) observed() string {
	switch {
	case c.Result == Skip:
		return "-"
	case c.GRPC != "":
		return fmt.Sprintf("%s (%s)", c.Observed, c.GRPC)
	case c.Status == 0:
		return string(c.Observed)
	}
	return fmt.Sprintf("%s (%d)", c.Observed, c.Status)
}

// Compare lists, one line per case, every case on which two reports
// differ: result, observed outcome or status. A case in one report only
// is a difference.
func Compare(a, b *Report) []string {
	find := func(r *Report, name string) (CaseResult, bool) {
		i := slices.IndexFunc(r.Cases, func(c CaseResult) bool { return c.Case == name })
		if i < 0 {
			return CaseResult{}, false
		}
		return r.Cases[i], true
	}
	describe := func(c CaseResult, ok bool) string {
		switch {
		case !ok:
			return "missing"
		case c.Result == Skip:
			return "skip"
		}
		return c.Result + " " + c.observed()
	}
	var names []string
	for _, r := range []*Report{a, b} {
		for _, c := range r.Cases {
			if !slices.Contains(names, c.Case) {
				names = append(names, c.Case)
			}
		}
	}
	var out []string
	for _, name := range names {
		ca, okA := find(a, name)
		cb, okB := find(b, name)
		if okA && okB && ca.Result == cb.Result && ca.Observed == cb.Observed && ca.Status == cb.Status {
			continue
		}
		expected := ca.Expected
		if !okA {
			expected = cb.Expected
		}
		out = append(out, fmt.Sprintf("%s (want %s): A %s; B %s", name, expected, describe(ca, okA), describe(cb, okB)))
	}
	return out
}

// Run sends every case to the target, signing its tokens with the keys of
// the served IdP and changing the IdP's key set where a case needs it, and
// returns the target's verdicts. Cases that change the key set run after
// the others, and the IdP is reset at the end; a run needs the IdP to
// itself. err reports what kept the run from starting: an IdP or a target
// that does not answer.
func (t Target) Run(ctx context.Context) (*Report, error) {
	t.Path = cmp.Or(t.Path, "/whoami")
	t.AdminPath = cmp.Or(t.AdminPath, "/admin")
	t.Timeout = cmp.Or(t.Timeout, 5*time.Second)
	t.Settle = cmp.Or(t.Settle, 20*time.Second)
	t.IdP, t.URL = strings.TrimSuffix(t.IdP, "/"), strings.TrimSuffix(t.URL, "/")
	client := &http.Client{
		Timeout: t.Timeout,
		// A redirect is an answer of its own: out of contract.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer client.CloseIdleConnections()
	r := &runner{t: t, client: client, idp: &idpClient{base: t.IdP, client: client}, keys: matrixKeys()}
	if host, ok := strings.CutPrefix(t.URL, "grpc://"); ok {
		// gRPC over HTTP/2 without TLS, with prior knowledge, as grpc-go's
		// insecure clients speak it.
		var h2c http.Protocols
		h2c.SetUnencryptedHTTP2(true)
		transport := &http.Transport{Protocols: &h2c}
		defer transport.CloseIdleConnections()
		r.grpc = &http.Client{Timeout: t.Timeout, Transport: transport}
		r.t.URL = "http://" + host
	}
	var err error
	if r.baseline, err = r.idp.baseline(ctx); err != nil {
		return nil, fmt.Errorf("the IdP at %s: %w", t.IdP, err)
	}
	if err := r.idp.do(ctx, "reset", ""); err != nil {
		return nil, fmt.Errorf("the IdP at %s: %w", t.IdP, err)
	}
	defer r.idp.do(context.WithoutCancel(ctx), "reset", "")
	first := r.send(ctx, Request{}, t.Path)
	if first.err != nil {
		return nil, fmt.Errorf("the target at %s: %w", t.URL, first.err)
	}
	rep := &Report{Schema: reportSchema, Target: t.URL, Strict: t.Strict,
		RFC6750: r.grpc == nil && first.status == http.StatusUnauthorized && bearerChallenge(first.header) != ""}
	r.strict = rep.RFC6750 || t.Strict

	results := make([]CaseResult, len(cases))
	for _, changesKeys := range []bool{false, true} {
		for i := range cases {
			if c := &cases[i]; (c.started != nil || c.before != nil) == changesKeys {
				results[i] = r.run(ctx, c)
			}
		}
	}
	rep.Cases = results
	return rep, ctx.Err()
}

// runner is one run against a target.
type runner struct {
	t        Target
	client   *http.Client
	grpc     *http.Client // for a gRPC target; nil for an HTTP one
	idp      *idpClient
	keys     *keyring
	baseline Baseline
	strict   bool // RFC 6750 details count
}

// servedSkip says why a case cannot be sent to a served target, which has
// one baseline, a route that needs a token and one that needs the scope
// admin, and its own clock; "" when it can.
func servedSkip(c *testCase) string {
	switch {
	case c.served != "":
		return c.served
	case c.config != nil:
		return "needs the target configured with " + configChange(c.config)
	case c.skipped:
		return "needs a route the middleware skips"
	case c.optional:
		return "needs a route with optional credentials"
	case c.policy != nil:
		return "needs a route with a policy check (the claim tenant is acme)"
	case len(c.scopes) > 0 && !slices.Equal(c.scopes, []string{"admin"}):
		return "needs a route that requires the scopes " + strings.Join(c.scopes, " and ")
	}
	return ""
}

// configChange describes what a case's baseline changes, in the
// baseline's keys.
func configChange(change func(*core.Config)) string {
	var c core.Config
	change(&c)
	var parts []string
	if len(c.TokenTypes) > 0 {
		parts = append(parts, "token_types: ["+strings.Join(c.TokenTypes, ", ")+"]")
	}
	if len(c.RequiredClaims) > 0 {
		parts = append(parts, "required_claims: ["+strings.Join(c.RequiredClaims, ", ")+"]")
	}
	if c.TokenSources.Query != "" {
		parts = append(parts, "token_sources.query: "+c.TokenSources.Query)
	}
	if c.RefuseIDTokens {
		parts = append(parts, "refuse_id_tokens: true")
	}
	if c.AudienceClaim != "" {
		parts = append(parts, "audience_claim: "+c.AudienceClaim)
	}
	if len(parts) == 0 {
		return "a baseline of its own"
	}
	return strings.Join(parts, ", ")
}

// run sends one case to the target and judges the answer.
func (r *runner) run(ctx context.Context, c *testCase) CaseResult {
	res := CaseResult{Case: c.name, Group: c.group, Expected: c.want, Reason: c.reason}
	if why := servedSkip(c); why != "" {
		res.Result, res.Skip = Skip, why
		return res
	}
	e := &env{keys: r.keys, clock: &clock{wall: true}, strayBase: r.t.IdP}
	// The tokens are signed here, with the keys the IdP publishes.
	e.idp = jwtguardtest.NewIdP(jwtguardtest.WithSigningKey(r.keys.rsa), jwtguardtest.WithIssuer(r.baseline.Issuer),
		jwtguardtest.WithAudience(r.baseline.Audience), jwtguardtest.WithClock(e.clock.now))
	defer e.idp.Close()
	servedSet.publish(e.idp, r.keys)
	w := &served{r: r, e: e, ctx: ctx}
	e.world = w
	fail := func(format string, args ...any) CaseResult {
		res.Result = Fail
		res.Problems = append(res.Problems, fmt.Sprintf(format, args...))
		return res
	}
	if c.started != nil {
		// Whatever the case did to the key set, it is answered again
		// afterwards; a removed key stays removed.
		defer r.idp.do(context.WithoutCancel(ctx), "restore", "")
		if err := c.started(e); err != nil {
			return fail("setting up the case: %v", err)
		}
	}
	strays, err := r.idp.strays(ctx)
	if err != nil {
		return fail("the IdP: %v", err)
	}
	req := c.build(e)
	if r.grpc != nil && len(req.Query) > 0 {
		res.Result, res.Skip = Skip, "sends a URL query, which gRPC cannot carry"
		return res
	}
	path := r.t.Path
	if len(c.scopes) > 0 {
		path = r.t.AdminPath
	}
	start := time.Now()
	for tries := 1; ; tries++ {
		if w.nudge {
			// A token under a kid the target cannot know, so that it
			// fetches the key set again, as a rotation makes it do.
			r.send(ctx, bearer(e.token().KID("nudge-"+strconv.FormatInt(time.Now().UnixNano(), 36)).Sign()), r.t.Path)
		}
		a := r.send(ctx, req, path)
		res.Observed, res.Status, res.GRPC = a.outcome(c.want), a.status, a.grpc
		res.Problems, res.Notes = c.judgeServed(a, r.strict)
		if len(res.Problems) == 0 && tries > 1 {
			res.Notes = append(res.Notes, fmt.Sprintf("the verdict came %s after the key set changed", time.Since(start).Round(100*time.Millisecond)))
		}
		if len(res.Problems) == 0 || !w.settle || time.Since(start) > r.t.Settle || !pause(ctx, 250*time.Millisecond) {
			break
		}
	}
	if w.settle && len(res.Problems) > 0 {
		res.Problems = append(res.Problems, fmt.Sprintf("still so %s after the key set changed", r.t.Settle))
	}
	if after, err := r.idp.strays(ctx); err == nil && len(after) > len(strays) {
		res.Problems = append(res.Problems, fmt.Sprintf("the target fetched %s, a URL the token named", strings.Join(after[len(strays):], ", ")))
	}
	res.Notes = append(w.notes, res.Notes...)
	res.Result = Pass
	if len(res.Problems) > 0 {
		res.Result = Fail
	}
	return res
}

// pause waits d, or less if ctx is done first, and reports whether it
// waited all of d.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// answer is what a target answered to one request.
type answer struct {
	status int
	header http.Header
	grpc   string // the name of a gRPC target's status code
	err    error  // no answer, or none within the bound
}

func (r *runner) send(ctx context.Context, req Request, path string) answer {
	if r.grpc != nil {
		return r.call(ctx, req, path)
	}
	u := r.t.URL + path
	if len(req.Query) > 0 {
		u += "?" + req.Query.Encode()
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return answer{err: err}
	}
	if req.Header != nil {
		hr.Header = req.Header.Clone()
	}
	resp, err := r.client.Do(hr)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	return answer{status: resp.StatusCode, header: resp.Header}
}

// grpcStatuses are the HTTP statuses of the gRPC codes in core's reason
// table, by the codes' google.golang.org/grpc/codes names.
var grpcStatuses = map[int]struct {
	name   string
	status int
}{
	0: {"OK", http.StatusOK}, 3: {"InvalidArgument", http.StatusBadRequest}, 7: {"PermissionDenied", http.StatusForbidden},
	14: {"Unavailable", http.StatusServiceUnavailable}, 16: {"Unauthenticated", http.StatusUnauthorized},
}

// call calls a unary gRPC method with an empty message, the request's
// headers as metadata, and reads the status code off the trailers (or off
// the headers of a trailers-only answer). A code outside core's table is
// out of contract.
func (r *runner) call(ctx context.Context, req Request, method string) answer {
	// One uncompressed message of zero bytes: google.protobuf.Empty.
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, r.t.URL+method, strings.NewReader("\x00\x00\x00\x00\x00"))
	if err != nil {
		return answer{err: err}
	}
	if req.Header != nil {
		hr.Header = req.Header.Clone()
	}
	hr.Header.Set("Content-Type", "application/grpc")
	hr.Header.Set("TE", "trailers")
	resp, err := r.grpc.Do(hr)
	if err != nil {
		return answer{err: err}
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)); err != nil {
		return answer{err: err}
	}
	if resp.StatusCode != http.StatusOK {
		return answer{status: resp.StatusCode, grpc: "no gRPC status"}
	}
	raw := resp.Trailer.Get("Grpc-Status")
	if raw == "" {
		raw = resp.Header.Get("Grpc-Status")
	}
	code, err := strconv.Atoi(raw)
	if err != nil {
		return answer{err: fmt.Errorf("no grpc-status in the answer of %s", method)}
	}
	s, ok := grpcStatuses[code]
	if !ok {
		return answer{grpc: "code " + raw}
	}
	return answer{status: s.status, grpc: s.name}
}

// outcome reads the verdict off the status and, for a 401, the error code
// of the Bearer challenge. A 401 that does not say (no challenge, or
// another error code) is read as the outcome wanted if that is a 401 one.
func (a answer) outcome(want Outcome) Outcome {
	switch s := a.status; {
	case a.err != nil, s == 0:
		return OutOfContract
	case s >= 200 && s < 300:
		return Accept
	case s == http.StatusBadRequest:
		return InvalidRequest
	case s == http.StatusForbidden:
		return InsufficientScope
	case s == http.StatusServiceUnavailable:
		return Unavailable
	case s != http.StatusUnauthorized:
		return OutOfContract
	}
	challenge := bearerChallenge(a.header)
	switch code := bearerParam(challenge, "error"); {
	case code == "invalid_token":
		return InvalidToken
	case challenge != "" && code == "", want == NoCredentials:
		return NoCredentials
	}
	return InvalidToken
}

// judgeServed compares a served target's answer with the case: the
// status must be the verdict's; the RFC 6750 details are problems when
// strict, notes otherwise.
func (c *testCase) judgeServed(a answer, strict bool) (problems, notes []string) {
	if a.err != nil {
		return []string{"no answer: " + a.err.Error()}, nil
	}
	got := a.outcome(c.want)
	want := statusOf(c.want)
	switch {
	case c.want == Accept && got == Accept:
		return nil, nil
	case c.want == Accept:
		return []string{fmt.Sprintf("%s (HTTP %d), want acceptance", got, a.status)}, nil
	case got == Accept:
		return []string{fmt.Sprintf("accepted (HTTP %d), want %s (HTTP %d)", a.status, c.want, want)}, nil
	case a.status != want:
		return []string{fmt.Sprintf("%s (HTTP %d), want %s (HTTP %d)", got, a.status, c.want, want)}, nil
	}
	if a.grpc != "" {
		return nil, nil // RFC 6750 is HTTP's
	}
	details := rfc6750Details(c.want, a.header)
	if strict {
		return details, nil
	}
	return nil, details
}

// statusOf is the HTTP status of an outcome in core's reason table.
func statusOf(o Outcome) int {
	if o == Accept {
		return http.StatusOK
	}
	return representative(o).Info().HTTPStatus
}

// rfc6750Details checks the challenge of a refusal with the right status:
// a Bearer challenge (RFC 6750 section 3) with the verdict's error code,
// none for a request without credentials (section 3.1).
func rfc6750Details(want Outcome, h http.Header) []string {
	if want == Unavailable {
		return nil
	}
	challenge := bearerChallenge(h)
	if challenge == "" {
		return []string{"no Bearer challenge in WWW-Authenticate (RFC 6750 section 3)"}
	}
	code := bearerParam(challenge, "error")
	switch wantCode := representative(want).Info().BearerCode; {
	case code == wantCode:
		return nil
	case wantCode == "":
		return []string{fmt.Sprintf("error=%q in the challenge to a request without credentials, want no error code (RFC 6750 section 3.1)", code)}
	default:
		return []string{fmt.Sprintf("error=%q in the Bearer challenge, want %q (RFC 6750 section 3.1)", code, wantCode)}
	}
}

// bearerChallenge is the first WWW-Authenticate value with the Bearer
// scheme; "" when there is none.
func bearerChallenge(h http.Header) string {
	for _, v := range h.Values("WWW-Authenticate") {
		if scheme, _, _ := strings.Cut(strings.TrimSpace(v), " "); strings.EqualFold(scheme, "Bearer") {
			return v
		}
	}
	return ""
}

// served is the world of a case sent to a served target: changes to the
// key set go to the IdP over its control endpoint; the target's clock and
// its fetches are its own, so a change the target must see makes the
// request wait for it, up to Target.Settle.
type served struct {
	r   *runner
	e   *env
	ctx context.Context
	// settle retries the request until the verdict is right or Settle
	// passes; nudge sends a token of an unknown kid before each try.
	settle, nudge bool
	notes         []string
}

func (w *served) publish(k *jwtguardtest.Key) error {
	w.e.idp.Publish(k) // to sign with it
	return w.r.idp.do(w.ctx, "publish", k.KID())
}

func (w *served) remove(kid string) error { return w.r.idp.do(w.ctx, "remove", kid) }

func (w *served) failKeys() error { return w.r.idp.do(w.ctx, "fail", "") }

func (w *served) advance(d time.Duration) error {
	w.notes = append(w.notes, fmt.Sprintf("run without moving the target's clock by %s", d))
	return nil
}

func (w *served) afterUnknownKIDInterval() error {
	w.settle = true
	return nil
}

func (w *served) refreshed() error {
	w.settle, w.nudge = true, true
	return nil
}

func (w *served) accepted(token string) error {
	a := w.r.send(w.ctx, bearer(token), w.r.t.Path)
	if a.err != nil || a.outcome(Accept) != Accept {
		return fmt.Errorf("the target did not accept the token before the change: %s", describeAnswer(a))
	}
	return nil
}

func describeAnswer(a answer) string {
	if a.err != nil {
		return a.err.Error()
	}
	return fmt.Sprintf("HTTP %d", a.status)
}
