// Package contract is the behaviour every example service promises, as
// tests: each example runs the same cases against its own server on a
// loopback port, so the examples cannot drift apart.
//
// The verifier of every run is built from examples/baseline.yaml itself,
// pointed at a local [idp.IdP], and logs through the examples' JSON logger,
// so the cases also prove that the sample baseline works and that every
// rejection is logged as one line with its reason.
package contract

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// sampleIdPAddr is where examples/baseline.yaml expects the identity
// provider; runs replace it with their own IdP's address.
const sampleIdPAddr = "127.0.0.1:8081"

// Env is one run: an IdP, the verifier a service gets with its /metrics
// handler, and its log.
type Env struct {
	IdP      *idp.IdP
	Verifier *core.Verifier
	Metrics  http.Handler
	Log      *Log
}

// NewEnv starts an IdP on a loopback port and builds a verifier from
// examples/baseline.yaml pointed at it. Both stop when the test ends.
func NewEnv(t testing.TB) *Env {
	t.Helper()
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)

	cfg, err := core.ParseBaseline(Baseline(t, strings.TrimPrefix(p.URL(), "http://")))
	if err == nil {
		cfg, err = cfg.ForService("orders")
	}
	if err != nil {
		t.Fatalf("examples/baseline.yaml: %v", err)
	}
	log := &Log{}
	v, metrics, err := service.NewVerifier(cfg, core.WithLogger(service.Logger(log, "test")))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return &Env{IdP: p, Verifier: v, Metrics: metrics, Log: log}
}

// Baseline returns examples/baseline.yaml with its IdP address replaced
// by idpAddr.
func Baseline(t testing.TB, idpAddr string) []byte {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "baseline.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(data, []byte(sampleIdPAddr)) {
		t.Fatalf("examples/baseline.yaml no longer names the IdP at %s", sampleIdPAddr)
	}
	return bytes.ReplaceAll(data, []byte(sampleIdPAddr), []byte(idpAddr))
}

// Log collects the JSON lines of a verifier's logger.
type Log struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *Log) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

// TakeReasons returns the reason of every line logged since the last call
// that has one, and forgets the lines.
func (l *Log) TakeReasons(t testing.TB) []core.Reason {
	t.Helper()
	l.mu.Lock()
	data := bytes.Clone(l.buf.Bytes())
	l.buf.Reset()
	l.mu.Unlock()
	var reasons []core.Reason
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if r, ok := line["reason"].(string); ok {
			reasons = append(reasons, core.Reason(r))
		}
	}
	return reasons
}

// testCase is one request and what the service must answer. The gRPC
// runner maps the routes to Health/Check, Whoami (and WhoamiStream) and
// Admin.
type testCase struct {
	name  string
	route string                    // "/healthz", "/readyz", "/whoami" or "/admin"
	auth  func(p *idp.IdP) []string // Authorization values; none for no header
	want  core.Reason               // "" when the request must succeed
	scope []string                  // the scopes an insufficient_scope answer names
	// body checks a successful answer against the claims of the token.
	body func(got, claims map[string]any) error
}

func bearer(token func(p *idp.IdP) string) func(p *idp.IdP) []string {
	return func(p *idp.IdP) []string { return []string{"Bearer " + token(p)} }
}

// cases is the contract. Every hostile token is tried on /whoami.
func cases() []testCase {
	cases := []testCase{
		{name: "healthz without a token", route: "/healthz", body: healthy},
		{name: "healthz ignores a bad token", route: "/healthz", auth: bearer(func(*idp.IdP) string { return "x.y.z" }), body: healthy},
		{name: "readyz once the keys are in", route: "/readyz", body: ready},
		{name: "whoami without a token", route: "/whoami", want: core.ReasonTokenMissing},
		{name: "whoami with another scheme", route: "/whoami", want: core.ReasonTokenMissing,
			auth: func(*idp.IdP) []string { return []string{"Basic YWxpY2U6c2VjcmV0"} }},
		{name: "whoami with two Authorization headers", route: "/whoami", want: core.ReasonRequestInvalid,
			auth: func(p *idp.IdP) []string { t := p.Token("alice"); return []string{"Bearer " + t, "Bearer " + t} }},
		{name: "whoami", route: "/whoami", body: sameClaims,
			auth: bearer(func(p *idp.IdP) string { return p.Token("alice", "read") })},
		{name: "whoami with a token of 8 KiB", route: "/whoami", body: sameClaims,
			auth: bearer(func(p *idp.IdP) string { return sized(p, 8<<10-16) })},
		{name: "admin without a token", route: "/admin", want: core.ReasonTokenMissing},
		{name: "admin with scope read", route: "/admin", want: core.ReasonInsufficientScope, scope: []string{"admin"},
			auth: bearer(func(p *idp.IdP) string { return p.Token("alice", "read") })},
		{name: "admin with scope administrator", route: "/admin", want: core.ReasonInsufficientScope, scope: []string{"admin"},
			auth: bearer(func(p *idp.IdP) string { return p.Token("alice", "administrator") })},
		{name: "admin with scope admin", route: "/admin", body: admin,
			auth: bearer(func(p *idp.IdP) string { return p.Token("bob", "read", "admin") })},
		{name: "admin with scp [admin]", route: "/admin", body: admin,
			auth: bearer(func(p *idp.IdP) string { return p.NewToken("carol").Claim("scp", []string{"admin"}).Sign() })},
	}
	for _, h := range hostile {
		cases = append(cases, testCase{name: "whoami " + h.name, route: "/whoami", want: h.reason, auth: bearer(h.token)})
	}
	return cases
}

// The hostile tokens every example must refuse, and why (the reason core
// gives them).
var hostile = []struct {
	name   string
	reason core.Reason
	token  func(p *idp.IdP) string
}{
	{"expired", core.ReasonTokenExpired, func(p *idp.IdP) string { return p.NewToken("alice").ExpiresIn(-time.Hour).Sign() }},
	{"for another audience", core.ReasonAudienceInvalid, func(p *idp.IdP) string {
		return p.NewToken("alice").Audience("billing-api").Sign()
	}},
	{"alg none", core.ReasonAlgNotAllowed, func(p *idp.IdP) string { return p.NewToken("alice").Alg("none").Unsigned() }},
	{"forged signature", core.ReasonSignatureInvalid, func(p *idp.IdP) string {
		return p.NewToken("alice").SignedBy(jwtguardtest.NewKey("ES256")).KID(p.SigningKey().KID()).Sign()
	}},
	{"unknown kid", core.ReasonKeyNotFound, func(p *idp.IdP) string {
		return p.NewToken("alice").SignedBy(jwtguardtest.NewKey("ES256")).KID("attacker-1").Sign()
	}},
	{"not a JWT", core.ReasonTokenMalformed, func(*idp.IdP) string { return "not-a-jwt" }},
	{"over max_token_bytes", core.ReasonTokenTooLarge, func(p *idp.IdP) string { return sized(p, 8<<10+100) }},
}

// sized returns a valid token of about n bytes: a padding claim fills it.
func sized(p *idp.IdP, n int) string {
	t := p.NewToken("alice")
	short := len(t.Sign())
	// Base64url turns 3 bytes into 4; the claim's name and quotes cost 14.
	return t.Claim("padding", strings.Repeat("x", max(0, (n-short)*3/4-14))).Sign()
}

// Checks of a successful answer, given the claims of the token sent.
func healthy(got, _ map[string]any) error {
	if got["status"] != "ok" {
		return fmt.Errorf("answer %v, want status ok", got)
	}
	return nil
}

func ready(got, _ map[string]any) error {
	if got["status"] != "ready" {
		return fmt.Errorf("answer %v, want status ready", got)
	}
	return nil
}

func sameClaims(got, claims map[string]any) error {
	// Both sides are compared as JSON, where every number is a float64.
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(claims)
	if string(a) != string(b) {
		return fmt.Errorf("answer %s, want the token's claims %s", a, b)
	}
	return nil
}

func admin(got, claims map[string]any) error {
	if got["admin"] != true || got["sub"] != claims["sub"] {
		return fmt.Errorf("answer %v, want admin true and sub %v", got, claims["sub"])
	}
	return nil
}
