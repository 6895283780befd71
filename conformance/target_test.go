package conformance

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// TestJudgeServed reads a served target's answers: the status decides the
// verdict; the Bearer challenge counts when strict and is a note
// otherwise.
func TestJudgeServed(t *testing.T) {
	challenge := func(v string) http.Header { return http.Header{"Www-Authenticate": {v}} }
	byName := func(name string) *testCase {
		i := slices.IndexFunc(cases, func(c testCase) bool { return c.name == name })
		return &cases[i]
	}
	for _, tc := range []struct {
		name     string
		c        string
		a        answer
		strict   bool
		observed Outcome
		problem  string // in the problems, "" for none
		note     string // in the notes, "" for none
	}{
		{"accepted", "valid-rs256", answer{status: 200}, true, Accept, "", ""},
		{"any 2xx accepts", "valid-rs256", answer{status: 204}, true, Accept, "", ""},
		{"refused", "valid-rs256", answer{status: 401, header: challenge(`Bearer error="invalid_token"`)}, true, InvalidToken, "want acceptance", ""},
		{"wrongly accepted", "alg-none", answer{status: 200}, false, Accept, "accepted (HTTP 200)", ""},
		{"RFC 6750 invalid_token", "alg-none", answer{status: 401, header: challenge(`Bearer realm="x", error="invalid_token"`)}, true, InvalidToken, "", ""},
		{"plain 401, not strict", "alg-none", answer{status: 401}, false, InvalidToken, "", "no Bearer challenge"},
		{"plain 401, strict", "alg-none", answer{status: 401}, true, InvalidToken, "no Bearer challenge", ""},
		{"plain 401 without credentials", "no-authorization-header", answer{status: 401}, false, NoCredentials, "", "no Bearer challenge"},
		{"bare challenge", "no-authorization-header", answer{status: 401, header: challenge(`Bearer realm="x"`)}, true, NoCredentials, "", ""},
		{"error code without credentials", "no-authorization-header", answer{status: 401, header: challenge(`Bearer error="invalid_token"`)}, true, InvalidToken, "want no error code", ""},
		{"wrong code, not strict", "bearer-without-token", answer{status: 400, header: challenge(`Bearer error="invalid_token"`)}, false, InvalidRequest, "", `want "invalid_request"`},
		{"401 for a malformed request", "bearer-without-token", answer{status: 401, header: challenge(`Bearer error="invalid_token"`)}, false, InvalidToken, "want invalid_request (HTTP 400)", ""},
		{"403", "scope-administrator", answer{status: 403, header: challenge(`Bearer error="insufficient_scope", scope="admin"`)}, true, InsufficientScope, "", ""},
		{"500 is out of contract", "alg-none", answer{status: 500}, false, OutOfContract, "out_of_contract (HTTP 500)", ""},
		{"a redirect is out of contract", "alg-none", answer{status: 302}, false, OutOfContract, "out_of_contract (HTTP 302)", ""},
		{"431 refuses a valid token", "valid-6kib", answer{status: 431}, false, OutOfContract, "want acceptance", ""},
		{"no answer", "alg-none", answer{err: errors.New("timeout")}, false, OutOfContract, "no answer: timeout", ""},
		{"gRPC Unauthenticated", "alg-none", answer{status: 401, grpc: "Unauthenticated"}, true, InvalidToken, "", ""},
		{"gRPC code outside the table", "alg-none", answer{grpc: "code 13"}, true, OutOfContract, "out_of_contract (HTTP 0)", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := byName(tc.c)
			problems, notes := c.judgeServed(tc.a, tc.strict)
			if got := tc.a.outcome(c.want); got != tc.observed {
				t.Errorf("observed %s, want %s", got, tc.observed)
			}
			for _, check := range []struct {
				what, want string
				got        []string
			}{{"problems", tc.problem, problems}, {"notes", tc.note, notes}} {
				if (check.want == "") != (len(check.got) == 0) || (check.want != "" && !strings.Contains(strings.Join(check.got, "\n"), check.want)) {
					t.Errorf("%s %q, want one saying %q", check.what, check.got, check.want)
				}
			}
		})
	}
}

// serveIdP serves the matrix's IdP on a loopback port for the test.
func serveIdP(t *testing.T) *IdP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := ServeIdP(ln)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	return idp
}

// servedVerifier is a verifier configured with a served IdP's baseline,
// with a short interval between fetches for unknown kids, so that the
// rotation cases settle at once.
func servedVerifier(t *testing.T, idp *IdP, edit func(*core.Config)) *core.Verifier {
	t.Helper()
	cfg, err := core.ParseBaseline(idp.Baseline().YAML())
	if err != nil {
		t.Fatal(err)
	}
	cfg.JWKS.UnknownKIDInterval = 50 * time.Millisecond
	if edit != nil {
		edit(&cfg)
	}
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)), core.WithRealm(realm))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

// serviceOf mounts a handler as a service's /whoami, and behind a scope
// check as its /admin.
func serviceOf(v *core.Verifier, authenticate func(http.Handler) http.Handler) http.Handler {
	mux := http.NewServeMux()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	mux.Handle("GET /whoami", authenticate(ok))
	mux.Handle("GET /admin", authenticate(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := core.FromContext(r.Context())
		if err := v.Authorize(r.Context(), c, core.RequireScopes("admin")); err != nil {
			v.Response(err).WriteHTTP(w)
		}
	})))
	return mux
}

// TestServedTargets runs whole runs against services with one way each of
// passing or failing: the runs must catch every failure on the cases
// named, and pass what conforms.
func TestServedTargets(t *testing.T) {
	authenticate := func(v *core.Verifier) func(http.Handler) http.Handler {
		return func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
				if err != nil {
					v.Response(err).WriteHTTP(w)
					return
				}
				next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
			})
		}
	}
	for _, tc := range []struct {
		name    string
		service func(v *core.Verifier) http.Handler
		strict  bool
		fail    []string // exactly the cases that fail
		rfc6750 bool
	}{
		{name: "conforms", rfc6750: true,
			service: func(v *core.Verifier) http.Handler { return serviceOf(v, authenticate(v)) }},
		{name: "takes the first Authorization header", rfc6750: true, fail: []string{"two-authorization-headers"},
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if values := r.Header.Values("Authorization"); len(values) > 1 {
							r.Header["Authorization"] = values[:1]
						}
						authenticate(v)(next).ServeHTTP(w, r)
					})
				})
			}},
		{name: "answers 500 to malformed tokens", rfc6750: true,
			fail: []string{"segments-two", "segments-four", "segments-five-jwe", "segments-many-dots", "segment-empty-header",
				"base64-padding", "base64-standard-alphabet", "base64-non-canonical", "utf8-invalid-payload", "utf8-invalid-header",
				"header-not-json", "payload-not-object", "duplicate-header-member", "duplicate-claim", "duplicate-claim-escaped"},
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if _, err := v.Authenticate(r.Context(), core.HTTPRequest(r)); errors.Is(err, core.ReasonTokenMalformed) {
							w.WriteHeader(http.StatusInternalServerError)
							return
						}
						authenticate(v)(next).ServeHTTP(w, r)
					})
				})
			}},
		{name: "hangs on expired tokens", rfc6750: true, fail: []string{"exp-past-leeway", "exp-at-leeway-edge", "scope-route-invalid-token"},
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						if _, err := v.Authenticate(r.Context(), core.HTTPRequest(r)); errors.Is(err, core.ReasonTokenExpired) {
							<-r.Context().Done() // the runner gives up first
							return
						}
						authenticate(v)(next).ServeHTTP(w, r)
					})
				})
			}},
		{name: "sends no challenge", rfc6750: false,
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rec := httptest.NewRecorder()
						authenticate(v)(next).ServeHTTP(rec, r)
						w.WriteHeader(rec.Code) // the status alone
					})
				})
			}},
		{name: "sends no challenge, strict", rfc6750: false, strict: true,
			fail: []string{"alg-none", "no-authorization-header", "bearer-without-token", "scope-missing"},
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						rec := httptest.NewRecorder()
						authenticate(v)(next).ServeHTTP(rec, r)
						w.WriteHeader(rec.Code)
					})
				})
			}},
		{name: "fetches jku", rfc6750: true, fail: []string{"kid-jku-never-fetched"},
			service: func(v *core.Verifier) http.Handler {
				return serviceOf(v, func(next http.Handler) http.Handler {
					return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
						var header struct {
							JKU string `json:"jku"`
						}
						raw, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
						if json.Unmarshal(raw, &header) == nil && header.JKU != "" {
							if resp, err := http.Get(header.JKU); err == nil {
								resp.Body.Close()
							}
						}
						authenticate(v)(next).ServeHTTP(w, r)
					})
				})
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			idp := serveIdP(t)
			v := servedVerifier(t, idp, nil)
			srv := httptest.NewServer(tc.service(v))
			defer srv.Close()
			target := Target{IdP: idp.URL(), URL: srv.URL, Strict: tc.strict, Timeout: time.Second, Settle: 2 * time.Second}
			report, err := target.Run(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if report.RFC6750 != tc.rfc6750 {
				t.Errorf("RFC6750 %v, want %v", report.RFC6750, tc.rfc6750)
			}
			var failed []string
			for _, c := range report.Cases {
				if c.Result == Fail {
					failed = append(failed, c.Case)
				}
			}
			for _, name := range tc.fail {
				if !slices.Contains(failed, name) {
					t.Errorf("%s passed", name)
				}
			}
			if tc.fail == nil && len(failed) > 0 {
				var text strings.Builder
				report.WriteText(&text)
				t.Errorf("failed %v:\n%s", failed, text.String())
			}
		})
	}
}

// TestServedGRPC runs against a gRPC-shaped service written on net/http's
// unencrypted HTTP/2: metadata in, a grpc-status out, in the trailers of
// an answer or the headers of a trailers-only one. Its table must be the
// HTTP service's, less the cases that send a URL query.
func TestServedGRPC(t *testing.T) {
	idp := serveIdP(t)
	v := servedVerifier(t, idp, nil)
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/grpc" {
			http.Error(w, "not gRPC", http.StatusUnsupportedMediaType)
			return
		}
		c, err := v.Authenticate(r.Context(), metadataRequest(Request{Header: r.Header}.Metadata()))
		if err == nil && r.URL.Path == "/demo.Demo/Admin" {
			err = v.Authorize(r.Context(), c, core.RequireScopes("admin"))
		}
		w.Header().Set("Content-Type", "application/grpc")
		if err != nil {
			resp := v.Response(err)
			w.Header().Set("Grpc-Status", strconv.Itoa(resp.GRPCCode))
			w.Header().Set("Grpc-Message", resp.GRPCMessage)
			return
		}
		w.Header().Set("Trailer", "Grpc-Status")
		w.Write([]byte{0, 0, 0, 0, 0})
		w.Header().Set("Grpc-Status", "0")
	})
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.Protocols = &h2c
	srv.Start()
	defer srv.Close()

	target := Target{IdP: idp.URL(), URL: "grpc://" + strings.TrimPrefix(srv.URL, "http://"),
		Path: "/demo.Demo/Whoami", AdminPath: "/demo.Demo/Admin", Settle: 2 * time.Second}
	report, err := target.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	report.WriteText(&text)
	if report.Failed() > 0 {
		t.Errorf("the gRPC service fails:\n%s", text.String())
	}
	for _, c := range report.Cases {
		if c.Case == "query-token-disabled" && c.Result != Skip {
			t.Errorf("query-token-disabled over gRPC: %s, want skipped", c.Result)
		}
		if c.Case == "alg-none" && c.GRPC != "Unauthenticated" {
			t.Errorf("alg-none over gRPC: %q, want Unauthenticated", c.GRPC)
		}
	}
	if !strings.Contains(text.String(), "gRPC: a status code reads as the HTTP status of its outcome") {
		t.Errorf("the summary does not say how gRPC statuses were read:\n%s", text.String())
	}
}

// loopbackless is a listener whose address is not loopback.
type loopbackless struct{ net.Listener }

func (loopbackless) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 8080} }

func TestServeIdPRefusesOtherAddresses(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if _, err := ServeIdP(loopbackless{ln}); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Errorf("ServeIdP on 192.0.2.1: %v, want a refusal", err)
	}
}

// TestIdPControl drives a served IdP as a runner does, and as no one else
// may.
func TestIdPControl(t *testing.T) {
	idp := serveIdP(t)
	client := &idpClient{base: idp.URL(), client: &http.Client{Timeout: 10 * time.Second}}
	ctx := context.Background()
	kids := func() []string { return idp.idp.KIDs() }
	standard := kids()
	for _, step := range []struct {
		op, kid string
		refused string // in the error, "" when the IdP obeys
		check   func() bool
	}{
		{op: "publish", kid: "ec-2", check: func() bool { return slices.Contains(kids(), "ec-2") }},
		{op: "publish", kid: "rogue", refused: "no key of the matrix"},
		{op: "remove", kid: "ec-1", check: func() bool { return !slices.Contains(kids(), "ec-1") }},
		{op: "fail", check: func() bool { _, err := fetchKeys(idp.idp.JWKSURL()); return err != nil }},
		{op: "restore", check: func() bool { _, err := fetchKeys(idp.idp.JWKSURL()); return err == nil }},
		{op: "fail"},
		{op: "reset", check: func() bool {
			_, err := fetchKeys(idp.idp.JWKSURL())
			return err == nil && slices.Equal(kids(), standard)
		}},
		{op: "rotate", refused: "unknown op"},
	} {
		err := client.do(ctx, step.op, step.kid)
		switch {
		case step.refused != "" && (err == nil || !strings.Contains(err.Error(), step.refused)):
			t.Errorf("%s %s: %v, want a refusal saying %q", step.op, step.kid, err, step.refused)
		case step.refused == "" && err != nil:
			t.Errorf("%s %s: %v", step.op, step.kid, err)
		case step.check != nil && !step.check():
			t.Errorf("%s %s: the IdP did not change as asked", step.op, step.kid)
		}
	}

	// Only loopback clients.
	req := httptest.NewRequest(http.MethodPost, controlPath, strings.NewReader(`{"op":"fail"}`))
	req.RemoteAddr = "192.0.2.1:4000"
	w := httptest.NewRecorder()
	idp.control(w, req)
	if w.Code != http.StatusForbidden {
		t.Errorf("control from 192.0.2.1: HTTP %d, want 403", w.Code)
	}

	b, err := client.baseline(ctx)
	if err != nil || b.Issuer != idp.URL() || b.Leeway != time.Minute || b.JWKSURL != idp.idp.JWKSURL() {
		t.Errorf("baseline %+v, %v", b, err)
	}
	if _, err := core.ParseBaseline(b.YAML()); err != nil {
		t.Errorf("the baseline file does not load: %v\n%s", err, b.YAML())
	}
}

// TestRunRefuses: a run that cannot start says why.
func TestRunRefuses(t *testing.T) {
	idp := serveIdP(t)
	notAnIdP := httptest.NewServer(http.NotFoundHandler())
	defer notAnIdP.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name, idp, target, says string
	}{
		{"no IdP there", closed.URL, notAnIdP.URL, "the IdP at"},
		{"not a conformance IdP", notAnIdP.URL, notAnIdP.URL, "HTTP 404"},
		{"no target there", idp.URL(), closed.URL, "the target at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Target{IdP: tc.idp, URL: tc.target, Timeout: 2 * time.Second}.Run(context.Background())
			if err == nil || !strings.Contains(err.Error(), tc.says) {
				t.Errorf("%v, want an error saying %q", err, tc.says)
			}
		})
	}
}

func TestCompare(t *testing.T) {
	a := &Report{Target: "a", Cases: []CaseResult{
		{Case: "alg-none", Expected: InvalidToken, Observed: InvalidToken, Status: 401, Result: Pass},
		{Case: "valid-6kib", Expected: Accept, Observed: Accept, Status: 200, Result: Pass},
		{Case: "query-token-enabled", Expected: Accept, Result: Skip, Skip: "needs"},
		{Case: "only-in-a", Expected: Accept, Observed: Accept, Status: 200, Result: Pass},
	}}
	b := &Report{Target: "b", Cases: []CaseResult{
		{Case: "alg-none", Expected: InvalidToken, Observed: Accept, Status: 200, Result: Fail},
		{Case: "valid-6kib", Expected: Accept, Observed: Accept, Status: 200, Result: Pass},
		{Case: "query-token-enabled", Expected: Accept, Result: Skip, Skip: "needs"},
	}}
	want := []string{
		"alg-none (want invalid_token): A pass invalid_token (401); B fail accept (200)",
		"only-in-a (want accept): A pass accept (200); B missing",
	}
	if got := Compare(a, b); !slices.Equal(got, want) {
		t.Errorf("Compare =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := Compare(a, a); len(got) > 0 {
		t.Errorf("a report differs from itself: %q", got)
	}
}

func TestWriteText(t *testing.T) {
	r := &Report{Target: "http://127.0.0.1:1", Cases: []CaseResult{
		{Case: "alg-none", Expected: InvalidToken, Observed: Accept, Status: 200, Result: Fail,
			Problems: []string{"accepted (HTTP 200), want invalid_token (HTTP 401)"}},
		{Case: "kid-unknown", Expected: InvalidToken, Observed: InvalidToken, Status: 401, Result: Pass, Notes: []string{"no challenge"}},
		{Case: "exp-past-leeway", Expected: InvalidToken, Observed: InvalidToken, Status: 401, Result: Pass, Notes: []string{"no challenge"}},
		{Case: "outage-keys-cached", Expected: Accept, Observed: Accept, Status: 200, Result: Pass, Notes: []string{"clock"}},
		{Case: "query-token-enabled", Expected: Accept, Result: Skip, Skip: "needs query tokens"},
	}}
	var b strings.Builder
	if err := r.WriteText(&b); err != nil {
		t.Fatal(err)
	}
	text := b.String()
	for _, want := range []string{
		"alg-none             invalid_token  accept (200)         FAIL\n",
		"  accepted (HTTP 200), want invalid_token (HTTP 401)\n",
		"  note: clock\n",
		"skip: needs query tokens\n",
		"note, 2 cases (kid-unknown, exp-past-leeway): no challenge\n",
		"\nwrongly accepted: 1 (alg-none)\nof 5 cases: 1 failed, 3 passed, 1 skipped\n",
		"-strict counts them",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the text lacks %q:\n%s", want, text)
		}
	}
}
