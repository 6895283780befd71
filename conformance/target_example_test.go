package conformance_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"time"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// A service in any language is tested from outside: serve the matrix's
// IdP, configure the service with its baseline, and run the matrix against
// the service's routes. Here the service is a jwtguard one on net/http,
// loading the baseline as a file would give it.
func ExampleTarget() {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	idp, err := conformance.ServeIdP(ln)
	if err != nil {
		panic(err)
	}
	defer idp.Close()

	cfg, err := core.ParseBaseline(idp.Baseline().YAML())
	if err != nil {
		panic(err)
	}
	// A short interval between fetches for unknown kids keeps the
	// rotation cases, which wait for the service to see a new key set,
	// short.
	cfg.JWKS.UnknownKIDInterval = 100 * time.Millisecond
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	g := nethttpjwt.New(v)
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, "ok") })
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", g.Middleware(ok))
	mux.Handle("GET /admin", g.Middleware(g.RequireScopes("admin")(ok)))
	service := httptest.NewServer(mux)
	defer service.Close()

	report, err := conformance.Target{IdP: idp.URL(), URL: service.URL}.Run(context.Background())
	if err != nil {
		panic(err)
	}
	fmt.Println("failed:", report.Failed(), "RFC 6750:", report.RFC6750)
	for _, c := range report.Cases {
		switch c.Case {
		case "alg-none", "scope-administrator", "rotation-key-removed":
			fmt.Printf("%s: %s, %s (%d)\n", c.Case, c.Result, c.Observed, c.Status)
		case "query-token-enabled":
			fmt.Printf("%s: %s, %s\n", c.Case, c.Result, c.Skip)
		}
	}
	// Output:
	// failed: 0 RFC 6750: true
	// alg-none: pass, invalid_token (401)
	// query-token-enabled: skip, needs the target configured with token_sources.query: access_token
	// scope-administrator: pass, insufficient_scope (403)
	// rotation-key-removed: pass, invalid_token (401)
}

// Two runs, of two services or of one before and after a change, compare
// case by case; WriteText is what jwtguard conformance run prints.
func ExampleCompare() {
	before := &conformance.Report{Target: "http://127.0.0.1:8080", Cases: []conformance.CaseResult{
		{Case: "alg-none", Expected: conformance.InvalidToken, Observed: conformance.InvalidToken, Status: 401, Result: conformance.Pass},
		{Case: "two-authorization-headers", Expected: conformance.InvalidRequest, Observed: conformance.InvalidRequest, Status: 400, Result: conformance.Pass},
	}}
	after := &conformance.Report{Target: "http://127.0.0.1:8080", Cases: []conformance.CaseResult{
		{Case: "alg-none", Expected: conformance.InvalidToken, Observed: conformance.InvalidToken, Status: 401, Result: conformance.Pass},
		{Case: "two-authorization-headers", Expected: conformance.InvalidRequest, Observed: conformance.Accept, Status: 200, Result: conformance.Fail,
			Problems: []string{"accepted (HTTP 200), want invalid_request (HTTP 400)"}},
	}}
	for _, line := range conformance.Compare(before, after) {
		fmt.Println(line)
	}
	after.WriteText(os.Stdout)
	// Output:
	// two-authorization-headers (want invalid_request): A pass invalid_request (400); B fail accept (200)
	// CASE                       EXPECTED         OBSERVED             RESULT
	// alg-none                   invalid_token    invalid_token (401)  pass
	// two-authorization-headers  invalid_request  accept (200)         FAIL
	//                                                                    accepted (HTTP 200), want invalid_request (HTTP 400)
	//
	// wrongly accepted: 1 (two-authorization-headers)
	// of 2 cases: 1 failed, 1 passed, 0 skipped
	// RFC 6750: the target sends no Bearer challenge, so its challenges and error codes are notes, not failures (-strict counts them)
}
