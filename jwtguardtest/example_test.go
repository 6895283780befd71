package jwtguardtest_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// A verifier on the IdP's baseline and clock accepts the IdP's tokens.
func ExampleNewIdP() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), idp.Token("alice", "read"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(claims.Issuer(), claims.Subject(), claims.Scopes())
	fmt.Println("expires", claims.ExpiresAt())
	// Output:
	// https://issuer.example.test alice [read]
	// expires 2030-01-02 04:04:05 +0000 UTC
}

// Each token changes one thing; the verifier judges it.
func ExampleIdP_NewToken() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	attacker := jwtguardtest.NewKey("RS256") // never published
	for _, c := range []struct{ name, token string }{
		{"extra claim", idp.NewToken("bob").Scopes("orders:read").Claim("tenant", "acme").Sign()},
		{"expired", idp.NewToken("bob").ExpiresIn(-time.Hour).Sign()},
		{"another audience", idp.NewToken("bob").Audience("https://billing.example.test").Sign()},
		{"alg none", idp.NewToken("mallory").Alg("none").Unsigned()},
		{"forged", idp.NewToken("mallory").SignedBy(attacker).KID(idp.SigningKey().KID()).Sign()},
		{"unknown key", idp.NewToken("mallory").SignedBy(attacker).Sign()},
	} {
		claims, err := v.Verify(context.Background(), c.token)
		var e *core.Error
		if errors.As(err, &e) {
			fmt.Printf("%s: %s\n", c.name, e.Reason)
			continue
		}
		tenant, _ := claims.Get("tenant")
		fmt.Printf("%s: accepted, sub %s, scopes %v, tenant %v\n", c.name, claims.Subject(), claims.Scopes(), tenant)
	}
	// Output:
	// extra claim: accepted, sub bob, scopes [orders:read], tenant acme
	// expired: token_expired
	// another audience: audience_invalid
	// alg none: alg_not_allowed
	// forged: signature_invalid
	// unknown key: key_not_found
}

// After a rotation, the first token with the new kid makes the verifier
// fetch the key set again; tokens of the replaced key keep verifying while
// it stays published.
func ExampleIdP_Rotate() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm("ES256"))
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	before := idp.Token("alice")
	idp.Rotate()
	after := idp.Token("alice")
	for _, tok := range []string{after, before} {
		_, err := v.Verify(context.Background(), tok)
		fmt.Println("verified:", err == nil)
	}
	fmt.Println(len(idp.KIDs()), "keys published,", idp.Fetches(), "key set fetches")
	// Output:
	// verified: true
	// verified: true
	// 2 keys published, 2 key set fetches
}

// Once the IdP removes a key, its tokens fail at the verifier's next fetch,
// accepted ones included. Refresh forces the fetch, as an operator revoking
// a key does.
func ExampleIdP_Remove() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()

	old := idp.Token("alice")
	_, err = v.Verify(ctx, old)
	fmt.Println("before:", err == nil)

	compromised := idp.SigningKey().KID()
	idp.Rotate()
	idp.Remove(compromised)
	if err := v.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = v.Verify(ctx, old)
	var e *core.Error
	if errors.As(err, &e) {
		fmt.Println("after:", e.Reason)
	}
	_, err = v.Verify(ctx, idp.Token("alice"))
	fmt.Println("new key:", err == nil)
	// Output:
	// before: true
	// after: key_not_found
	// new key: true
}

// While the IdP fails, fetches fail and the key set the verifier holds
// keeps verifying (for jwks.max_stale).
func ExampleIdP_Fail() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()

	idp.Fail(http.StatusServiceUnavailable)
	fmt.Println("refresh failed:", v.Refresh(ctx) != nil)
	_, err = v.Verify(ctx, idp.Token("alice"))
	fmt.Println("held keys verify:", err == nil)
	idp.Restore()
	fmt.Println("refresh after Restore:", v.Refresh(ctx))
	// Output:
	// refresh failed: true
	// held keys verify: true
	// refresh after Restore: <nil>
}

// A service that starts while its IdP does not answer starts anyway, not
// ready: it refuses tokens with keys_unavailable (503) until a fetch
// succeeds.
func ExampleIdP_Stall() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	cfg := idp.Config()
	cfg.JWKS.HTTPTimeout = 100 * time.Millisecond // how long the start waits for keys

	idp.Stall()
	v, err := core.New(cfg, core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	ctx := context.Background()
	_, err = v.Verify(ctx, idp.Token("alice"))
	var e *core.Error
	if errors.As(err, &e) {
		fmt.Println("ready:", v.Ready(), "verdict:", e.Reason, v.Response(err).Status)
	}

	idp.Restore()
	if err := v.Refresh(ctx); err != nil {
		log.Fatal(err)
	}
	_, err = v.Verify(ctx, idp.Token("alice"))
	fmt.Println("ready:", v.Ready(), "verified:", err == nil)
	// Output:
	// ready: false verdict: keys_unavailable 503
	// ready: true verified: true
}

// exampleT stands in for the *testing.T that a test passes to
// NewTestVerifier: it runs the cleanups when the "test" ends.
type exampleT struct {
	testing.TB
	cleanups []func()
}

func (t *exampleT) Helper()                   {}
func (t *exampleT) Cleanup(f func())          { t.cleanups = append(t.cleanups, f) }
func (t *exampleT) Fatal(args ...any)         { log.Fatal(args...) }
func (t *exampleT) Errorf(f string, a ...any) { log.Printf(f, a...) }

func (t *exampleT) end() {
	for i := len(t.cleanups) - 1; i >= 0; i-- {
		t.cleanups[i]()
	}
}

// In a test, NewTestVerifier(t) is all the setup: the IdP and the verifier
// close when the test ends.
func ExampleNewTestVerifier() {
	t := &exampleT{}
	defer t.end()

	v, idp := jwtguardtest.NewTestVerifier(t, func(c *core.Config) { c.RequiredClaims = []string{"tenant"} })
	for _, token := range []string{idp.Token("alice"), idp.NewToken("alice").Claim("tenant", "acme").Sign()} {
		_, err := v.Verify(context.Background(), token)
		var e *core.Error
		if errors.As(err, &e) {
			fmt.Println(e.Reason)
			continue
		}
		fmt.Println("accepted")
	}
	// Output:
	// claim_missing
	// accepted
}

// A key signs exact bytes, for tokens the builder cannot make: here a
// payload that is not a JSON object.
func ExampleKey_JWS() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	k := idp.SigningKey()
	token := k.JWS([]byte(`{"alg":"RS256","kid":"`+k.KID()+`"}`), []byte(`["not","an","object"]`))
	_, err = v.Verify(context.Background(), token)
	var e *core.Error
	if errors.As(err, &e) {
		fmt.Println(e.Reason)
	}
	// Output:
	// token_malformed
}

// A provider that serves a discovery document: the service is configured
// with the issuer's URL and discovery alone, and finds the key set's URL
// in the document (OpenID Connect Discovery 1.0).
func ExampleWithDiscovery() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithDiscovery())
	defer idp.Close()
	cfg := idp.Config()
	fmt.Printf("issuer is the IdP's URL: %t, discovery: %s, jwks_url: %q\n",
		cfg.Issuers[0].Issuer == idp.URL(), cfg.Issuers[0].Discovery, cfg.Issuers[0].JWKSURL)
	v, err := core.New(cfg, core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	claims, err := v.Verify(context.Background(), idp.Token("alice", "read"))
	if err != nil {
		log.Fatal(err)
	}
	st := v.Stats()[0]
	fmt.Println(claims.Subject(), claims.Scopes())
	fmt.Println("keys from the document's jwks_uri:", st.Source == idp.JWKSURL(), st.Discovery == idp.DiscoveryURL())
	// Output:
	// issuer is the IdP's URL: true, discovery: openid-configuration, jwks_url: ""
	// alice [read]
	// keys from the document's jwks_uri: true true
}

// A document that names its issuer with a trailing slash the baseline
// lacks is refused, both values named: the service starts not ready.
func ExampleIdP_EditDiscovery() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithDiscovery())
	defer idp.Close()
	idp.EditDiscovery(func(doc map[string]any) { doc["issuer"] = idp.Issuer() + "/" })
	v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	_, err = v.Verify(context.Background(), idp.Token("alice"))
	fmt.Println("ready:", v.Ready(), "verdict:", err)
	fmt.Println(strings.ReplaceAll(v.Stats()[0].LastError, idp.URL(), "ISSUER"))
	// Output:
	// ready: false verdict: jwtguard: keys_unavailable: no key set fetched yet
	// discovery document: the document names issuer "ISSUER/", the baseline "ISSUER": they must be identical (OpenID Connect Discovery 1.0 section 4.3); they differ by a trailing slash
}

// A rejection line names the endpoint that refused the token and what
// the token carried; Logs keeps it for a test to check.
func ExampleLogs() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	logs := &jwtguardtest.Logs{}
	v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(logs.Logger()))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	r := httptest.NewRequest(http.MethodGet, "/orders/7", nil)
	r.Header.Set("Authorization", "Bearer "+idp.NewToken("bob").Audience("billing-api").Sign())
	_, err = v.Authenticate(context.Background(), core.HTTPRequest(r))
	fmt.Println(errors.Is(err, core.ReasonAudienceInvalid))
	line := logs.Rejections()[0]
	fmt.Println(line["method"], line["path"], line["accepted_aud"])
	fmt.Println(line["unverified"].(map[string]any)["aud"])
	// Output:
	// true
	// GET /orders/7 [https://api.example.test]
	// [billing-api]
}

// In a test, NewLoggedVerifier(t) also keeps the verifier's log lines.
func ExampleNewLoggedVerifier() {
	t := &exampleT{}
	defer t.end()

	v, idp, logs := jwtguardtest.NewLoggedVerifier(t)
	v.Verify(context.Background(), idp.NewToken("alice").ExpiresIn(-time.Hour).Sign())
	line := logs.LastRejection()
	fmt.Println(line["reason"], line["unverified"].(map[string]any)["sub"])
	// Output:
	// token_expired alice
}
