package core_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
)

// exampleKey is a fixed Ed25519 key, so examples print stable output.
var exampleKey = ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))

var exampleNow = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func exampleToken(claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = "k1"
	s, err := t.SignedString(exampleKey)
	if err != nil {
		panic(err)
	}
	return s
}

func exampleClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": "https://idp.example.com/", "aud": "orders-api", "sub": "alice",
		"exp": exampleNow.Add(time.Hour).Unix(), "scope": "orders:read"}
}

func exampleVerifier(opts ...core.Option) *core.Verifier {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{Issuer: "https://idp.example.com/",
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"EdDSA"},
	}, append([]core.Option{core.WithClock(func() time.Time { return exampleNow }), core.WithLogger(slog.New(slog.DiscardHandler))}, opts...)...)
	if err != nil {
		panic(err)
	}
	return v
}

func ExampleNew() {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{Issuer: "https://idp.example.com/",
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"EdDSA"},
	}, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	fmt.Println(v.Ready())
	// Output: true
}

func ExampleNew_unsafeBaseline() {
	_, err := core.New(core.Config{
		Issuers:    []core.IssuerConfig{{Issuer: "https://idp.example.com/", JWKSURL: "https://idp.example.com/jwks"}},
		Algorithms: []string{"RS256", "none"},
	})
	fmt.Println(err)
	// Output:
	// baseline: algorithms: "none" is never allowed (RFC 8725 section 3.2)
	// baseline: audiences: at least one audience is required (or write insecure_skip_audience: true)
}

func ExampleVerifier_Verify() {
	v := exampleVerifier()
	defer v.Close()

	claims, err := v.Verify(context.Background(), exampleToken(exampleClaims()))
	fmt.Println(claims.Subject(), claims.Scopes(), err)

	expired := exampleClaims()
	expired["exp"] = exampleNow.Add(-time.Hour).Unix()
	_, err = v.Verify(context.Background(), exampleToken(expired))
	var e *core.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason, errors.Is(err, core.ReasonTokenExpired), errors.Is(err, core.ErrInvalidToken))
	}
	// Output:
	// alice [orders:read] <nil>
	// token_expired true true
}

func ExampleParseBaseline() {
	_, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: http://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256, HS256]
leway: 30s
`))
	fmt.Println(err)
	// Output:
	// baseline: line 7: leway: unknown key (did you mean "leeway"?)
	// baseline: line 6: algorithms: "HS256" (HMAC) cannot be used with a public key set
	// baseline: line 4: issuers[0].jwks_url: "http://idp.example.com/jwks" is not https (write insecure_http_jwks: true to allow it)
}

// A service logs one line per problem of a refused baseline.
func ExampleConfigErrors() {
	_, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: http://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256, HS256]
`))
	for _, p := range core.ConfigErrors(err) {
		fmt.Printf("key=%s line=%d: %s\n", p.Key, p.Line, p.Msg)
	}
	// Output:
	// key=algorithms line=6: "HS256" (HMAC) cannot be used with a public key set
	// key=issuers[0].jwks_url line=4: "http://idp.example.com/jwks" is not https (write insecure_http_jwks: true to allow it)
}

func ExampleLintBaseline() {
	lint := core.LintBaseline([]byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: http://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256, HS256]
`))
	for _, e := range lint.Errors {
		fmt.Println("error:", e)
	}
	for _, w := range lint.Warnings {
		fmt.Println("warning:", w)
	}
	// Output:
	// error: baseline: line 6: algorithms: "HS256" (HMAC) cannot be used with a public key set
	// error: baseline: line 4: issuers[0].jwks_url: "http://idp.example.com/jwks" is not https (write insecure_http_jwks: true to allow it)
	// warning: token_types: not set: ID tokens and other JWTs are not told apart from access tokens (RFC 9068 uses "at+jwt"); if the IdP does not set typ, write refuse_id_tokens: true, unless its access tokens carry nonce as Dex's do (it would refuse them too), and required_claims: [client_id] if its access tokens carry one (RFC 9068 section 2.2)
	// warning: line 4: issuers[0].jwks_url: plain http
}

func ExampleLoadBaseline() {
	dir, err := os.MkdirTemp("", "jwtguard-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "baseline.yaml")
	_ = os.WriteFile(path, []byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: https://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256]
leeway: 30s
`), 0o600)
	cfg, err := core.LoadBaseline(path)
	fmt.Println(cfg.Leeway, cfg.Audiences, err)
	// Output: 30s [orders-api] <nil>
}

func ExampleConfig_Fingerprint() {
	a, _ := core.ParseBaseline([]byte("issuers: [{issuer: a, jwks_url: 'https://a/jwks'}]\naudiences: [x, y]\nalgorithms: [ES256, RS256]\n"))
	b, _ := core.ParseBaseline([]byte("issuers: [{issuer: a, jwks_url: 'https://a/jwks'}]\naudiences: [y, x]\nalgorithms: [RS256, ES256]\njwks: {refresh_interval: 10m}\n"))
	c, _ := core.ParseBaseline([]byte("issuers: [{issuer: a, jwks_url: 'https://a/jwks'}]\naudiences: [y, x]\nalgorithms: [RS256]\n"))
	fmt.Println(a.Fingerprint() == b.Fingerprint(), a.Fingerprint() == c.Fingerprint())
	// Output: true false
}

func ExampleRequireScopes() {
	v := exampleVerifier()
	defer v.Close()
	claims, _ := v.Verify(context.Background(), exampleToken(exampleClaims()))

	fmt.Println(v.Authorize(context.Background(), claims, core.RequireScopes("orders:read")))
	err := v.Authorize(context.Background(), claims, core.RequireScopes("orders:write"))
	fmt.Println(errors.Is(err, core.ReasonInsufficientScope), v.Response(err).WWWAuthenticate)
	// Output:
	// <nil>
	// true Bearer realm="api", error="insufficient_scope", scope="orders:write"
}

func ExampleRequireRoles() {
	v := exampleVerifier()
	defer v.Close()
	c := exampleClaims()
	c["realm_access"] = map[string]any{"roles": []string{"auditor"}} // Keycloak
	claims, _ := v.Verify(context.Background(), exampleToken(c))

	fmt.Println(v.Authorize(context.Background(), claims, core.RequireRoles("realm_access.roles", "auditor")))
	err := v.Authorize(context.Background(), claims, core.RequireRoles("realm_access.roles", "admin"))
	var e *core.Error
	errors.As(err, &e)
	fmt.Println(errors.Is(err, core.ReasonInsufficientScope), v.Response(err).Status, e.Roles)
	// Output:
	// <nil>
	// true 403 [admin]
}

func ExampleVerifier_Authenticate() {
	v := exampleVerifier()
	defer v.Close()

	r := httptest.NewRequest(http.MethodGet, "/orders", nil)
	r.Header.Set("Authorization", "Bearer "+exampleToken(exampleClaims()))
	claims, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
	fmt.Println(claims.Subject(), err)

	r.Header.Set("Authorization", "Bearer")
	_, err = v.Authenticate(r.Context(), core.HTTPRequest(r))
	fmt.Println(errors.Is(err, core.ReasonRequestInvalid), errors.Is(err, core.ErrInvalidRequest))
	// Output:
	// alice <nil>
	// true true
}

func ExampleVerifier_AuthenticateOptional() {
	v := exampleVerifier()
	defer v.Close()

	anonymous := httptest.NewRequest(http.MethodGet, "/catalog", nil)
	claims, err := v.AuthenticateOptional(anonymous.Context(), core.HTTPRequest(anonymous))
	fmt.Println(claims == nil, err)

	expired := exampleClaims()
	expired["exp"] = exampleNow.Add(-time.Hour).Unix()
	r := httptest.NewRequest(http.MethodGet, "/catalog", nil)
	r.Header.Set("Authorization", "Bearer "+exampleToken(expired))
	_, err = v.AuthenticateOptional(r.Context(), core.HTTPRequest(r))
	fmt.Println(errors.Is(err, core.ReasonTokenExpired))
	// Output:
	// true <nil>
	// true
}

func ExampleVerifier_Response() {
	v := exampleVerifier()
	defer v.Close()
	_, err := v.Verify(context.Background(), "not-a-token")
	w := httptest.NewRecorder()
	v.Response(err).WriteHTTP(w)
	fmt.Println(w.Code, w.Header().Get("WWW-Authenticate"))
	fmt.Print(w.Body.String())
	// Output:
	// 401 Bearer realm="api", error="invalid_token"
	// {"error":"invalid_token","error_description":"the access token is invalid"}
}

func ExampleNewContext() {
	v := exampleVerifier()
	defer v.Close()
	claims, _ := v.Verify(context.Background(), exampleToken(exampleClaims()))
	ctx := core.NewContext(context.Background(), claims)
	if c, ok := core.FromContext(ctx); ok {
		fmt.Println(c.Subject())
	}
	// Output: alice
}

func ExampleReasons() {
	for _, r := range core.Reasons()[:3] {
		fmt.Println(r.Reason, r.HTTPStatus, r.BearerCode, r.GRPCCode)
	}
	// Output:
	// token_missing 401  16
	// request_invalid 400 invalid_request 3
	// token_malformed 401 invalid_token 16
}

// A Reason is itself an error: errors.Is matches a rejection against its
// reason and against the class of response it gets.
func ExampleReason() {
	v := exampleVerifier()
	defer v.Close()
	_, err := v.Verify(context.Background(), "not-a-token")
	fmt.Println(errors.Is(err, core.ReasonTokenMalformed), errors.Is(err, core.ErrInvalidToken))
	fmt.Println(errors.Is(err, core.ReasonTokenExpired), errors.Is(err, core.ErrServerUnavailable))
	fmt.Println(core.ReasonTokenMalformed.Info().HTTPStatus, v.Response(err).Status)
	// Output:
	// true true
	// false false
	// 401 401
}

func ExampleVerifier_Config() {
	v := exampleVerifier()
	defer v.Close()
	cfg := v.Config() // a copy, with the defaults filled in
	cfg.Audiences = nil
	fmt.Println(v.Config().Audiences, cfg.MaxTokenBytes, cfg.JWKS.UnknownKIDInterval)
	// Output: [orders-api] 8192 5s
}

// verdictPrinter is a metrics exporter reduced to printing: it takes key
// lifecycle events, and verdicts too because it has a Verdict method.
type verdictPrinter struct{}

func (verdictPrinter) FetchDone(core.FetchEvent)       {}
func (verdictPrinter) KeySetChanged(core.KeySetChange) {}
func (verdictPrinter) Verdict(_ context.Context, e core.VerdictEvent) {
	reason := string(e.Reason)
	if reason == "" {
		reason = "accepted"
	}
	fmt.Printf("%s issuer=%q cache=%q policy=%v\n", reason, e.Issuer, e.Cache, e.Policy)
}

func ExampleWithHooks() {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{Issuer: "https://idp.example.com/",
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"EdDSA"},
	}, core.WithClock(func() time.Time { return exampleNow }), core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithHooks(verdictPrinter{}))
	if err != nil {
		panic(err)
	}
	defer v.Close()
	ctx := context.Background()
	token := exampleToken(exampleClaims())
	v.Verify(ctx, token)
	claims, _ := v.Verify(ctx, token)
	v.Authorize(ctx, claims, core.RequireScopes("orders:write"))

	forged := exampleClaims()
	forged["iss"] = "https://attacker.example.com/"
	v.Verify(ctx, exampleToken(forged))
	fmt.Println("cached tokens:", v.CacheLen())
	// Output:
	// accepted issuer="https://idp.example.com/" cache="miss" policy=false
	// accepted issuer="https://idp.example.com/" cache="hit" policy=false
	// insufficient_scope issuer="https://idp.example.com/" cache="" policy=true
	// issuer_invalid issuer="" cache="miss" policy=false
	// cached tokens: 1
}

func ExampleVerifier_CacheLen() {
	v := exampleVerifier()
	defer v.Close()
	ctx := context.Background()
	token := exampleToken(exampleClaims())
	v.Verify(ctx, token)
	v.Verify(ctx, token) // a hit: the cache still holds one token
	v.Verify(ctx, "not-a-jwt")
	fmt.Println(v.CacheLen())
	// Output: 1
}

// revokedSubjects is a revocation list fixed at start. The fleet module's
// list is kept in a JetStream bucket and swapped atomically; either way
// Revoked must answer at once and not allocate.
type revokedSubjects map[string]bool

func (r revokedSubjects) Revoked(issuer, kid, jti, sub string) bool { return r[sub] }

func ExampleWithRevocations() {
	v, err := core.New(core.Config{
		Issuers: []core.IssuerConfig{{Issuer: "https://idp.example.com/",
			PublicKeys: map[string]crypto.PublicKey{"k1": exampleKey.Public()}}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"EdDSA"},
	}, core.WithClock(func() time.Time { return exampleNow }), core.WithLogger(slog.New(slog.DiscardHandler)),
		core.WithRevocations(revokedSubjects{"mallory": true}))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	_, err = v.Verify(context.Background(), exampleToken(exampleClaims()))
	fmt.Println(err)
	mallory := exampleClaims()
	mallory["sub"] = "mallory"
	_, err = v.Verify(context.Background(), exampleToken(mallory))
	fmt.Println(errors.Is(err, core.ReasonTokenRevoked), v.Response(err).Status)
	// Output:
	// <nil>
	// true 401
}

// A source that an operator does not control alone (a bus) checks what a
// new baseline would loosen before switching to it.
func ExampleConfig_Weakenings() {
	parse := func(doc string) core.Config {
		cfg, err := core.ParseBaseline([]byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: https://idp.example.com/jwks
audiences: [orders-api]
` + doc))
		if err != nil {
			log.Fatal(err)
		}
		return cfg
	}
	old := parse("algorithms: [RS256]\nleeway: 30s\n")
	fmt.Println(old.Weakenings(parse("algorithms: [RS256, PS256]\nleeway: 1m\n")))
	fmt.Println(old.Weakenings(parse("algorithms: [RS256]\nleeway: 10s\n")))
	// Output:
	// [algorithms +PS256 leeway 30s -> 1m0s]
	// []
}

// callRequest is an adapter's Request for an RPC framework: the call's
// metadata, and, through Target, its name for the rejection line.
type callRequest struct {
	md     map[string][]string
	method string
}

func (c callRequest) Header(name string) []string   { return c.md[strings.ToLower(name)] }
func (callRequest) Query(string) []string           { return nil }
func (callRequest) Cookie(string) (string, bool)    { return "", false }
func (c callRequest) Target() (method, path string) { return "POST", c.method }

// A Request that implements RequestTarget names the endpoint in the
// rejection line, which tells an operator where a token was refused.
func ExampleRequestTarget() {
	var lines strings.Builder
	v := exampleVerifier(core.WithLogger(slog.New(slog.NewTextHandler(&lines, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))))
	defer v.Close()
	lines.Reset()

	r := callRequest{md: map[string][]string{"authorization": {"Bearer x.y.z"}}, method: "/orders.v1.Orders/Get"}
	_, err := v.Authenticate(context.Background(), r)
	fmt.Println(errors.Is(err, core.ReasonTokenMalformed))
	fmt.Print(lines.String())
	// Output:
	// true
	// level=INFO msg="jwt rejected" reason=token_malformed method=POST path=/orders.v1.Orders/Get detail="header is not strict base64url"
}
