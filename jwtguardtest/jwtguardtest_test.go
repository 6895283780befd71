package jwtguardtest_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// reason is the reason of a verification error; "" for none.
func reason(err error) core.Reason {
	if err == nil {
		return ""
	}
	var e *core.Error
	if !errors.As(err, &e) {
		return core.Reason("not a *core.Error: " + err.Error())
	}
	return e.Reason
}

// decode returns the JSON of a token's header and claims.
func decode(t *testing.T, token string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("%d segments, want 3", len(parts))
	}
	for i, m := range []*map[string]any{&header, &claims} {
		data, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, m); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// newVerifier builds a verifier that trusts p, on p's clock.
func newVerifier(t *testing.T, p *jwtguardtest.IdP, edit ...func(*core.Config)) *core.Verifier {
	t.Helper()
	cfg := p.Config()
	for _, e := range edit {
		e(&cfg)
	}
	v, err := core.New(cfg, core.WithClock(p.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return v
}

func TestAlgorithms(t *testing.T) {
	for _, c := range []struct {
		alg string
		kty string
	}{
		{"RS256", "RSA"},
		{"PS256", "RSA"},
		{"RS512", "RSA"},
		{"ES256", "EC"},
		{"EdDSA", "OKP"},
	} {
		t.Run(c.alg, func(t *testing.T) {
			p := jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm(c.alg))
			defer p.Close()
			v := newVerifier(t, p)
			tok := p.Token("alice", "read")
			claims, err := v.Verify(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			if claims.Algorithm() != c.alg || claims.KeyID() != p.SigningKey().KID() {
				t.Errorf("alg %q kid %q, want %q %q", claims.Algorithm(), claims.KeyID(), c.alg, p.SigningKey().KID())
			}
			if jwk := p.SigningKey().JWK(); jwk["kty"] != c.kty || jwk["alg"] != c.alg || jwk["use"] != "sig" {
				t.Errorf("JWK %v, want kty %s, alg %s, use sig", jwk, c.kty, c.alg)
			}
			// A rotation keeps the algorithm.
			if k := p.Rotate(); k.Alg() != c.alg {
				t.Errorf("rotated to a key for %s", k.Alg())
			}
		})
	}
}

// TestKeySetChanges takes a verifier through changes of the published key
// set. Each change is followed by a refresh, as a service's scheduled one
// or an operator's forced one would be; then the token minted after the
// change and the one minted before are judged.
func TestKeySetChanges(t *testing.T) {
	for _, c := range []struct {
		name string
		// change changes the key set; it returns a token minted after the
		// change and the kids the set must then publish.
		change           func(p *jwtguardtest.IdP, old string) (token string, kids []string)
		wantNew, wantOld core.Reason
	}{
		{
			name: "rotation: the new kid verifies, the old key stays published",
			change: func(p *jwtguardtest.IdP, old string) (string, []string) {
				k := p.Rotate()
				return p.Token("bob"), []string{old, k.KID()}
			},
		},
		{
			name: "rotation and removal: the old kid fails",
			change: func(p *jwtguardtest.IdP, old string) (string, []string) {
				k := p.Rotate()
				p.Remove(old)
				return p.Token("bob"), []string{k.KID()}
			},
			wantOld: core.ReasonKeyNotFound,
		},
		{
			name: "a key published ahead of its use verifies the tokens that name it",
			change: func(p *jwtguardtest.IdP, old string) (string, []string) {
				next := jwtguardtest.NewKey("ES256")
				p.Publish(next)
				return p.NewToken("bob").SignedBy(next).Sign(), []string{old, next.KID()}
			},
		},
		{
			// A verifier keeps its key set when a fetch has no usable key, so
			// another key stays published.
			name: "removing the signing key fails its tokens, old and new",
			change: func(p *jwtguardtest.IdP, old string) (string, []string) {
				other := jwtguardtest.NewKey("EdDSA")
				p.Publish(other)
				p.Remove(old)
				return p.Token("bob"), []string{other.KID()}
			},
			wantNew: core.ReasonKeyNotFound,
			wantOld: core.ReasonKeyNotFound,
		},
		{
			name: "a kid the IdP never published selects no key",
			change: func(p *jwtguardtest.IdP, old string) (string, []string) {
				return p.NewToken("bob").KID("never-published").Sign(), []string{old}
			},
			wantNew: core.ReasonKeyNotFound,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			v, p := jwtguardtest.NewTestVerifier(t)
			old := p.Token("alice")
			if _, err := v.Verify(ctx, old); err != nil {
				t.Fatalf("before the change: %v", err)
			}
			fetches := p.Fetches()
			tok, kids := c.change(p, p.SigningKey().KID())
			if got := p.KIDs(); !slices.Equal(got, kids) {
				t.Errorf("published kids %v, want %v", got, kids)
			}
			if err := v.Refresh(ctx); err != nil {
				t.Fatal(err)
			}
			if got := p.Fetches(); got != fetches+1 {
				t.Errorf("%d key set fetches after a refresh, want %d", got, fetches+1)
			}
			if _, err := v.Verify(ctx, tok); reason(err) != c.wantNew {
				t.Errorf("token minted after the change: %v, want %q", err, c.wantNew)
			}
			if _, err := v.Verify(ctx, old); reason(err) != c.wantOld {
				t.Errorf("token minted before the change: %v, want %q", err, c.wantOld)
			}
		})
	}
}

// TestRotationFoundByUnknownKID shows the way a service meets a rotation
// without any refresh: the first token with the new kid makes the verifier
// fetch the key set.
func TestRotationFoundByUnknownKID(t *testing.T) {
	v, p := jwtguardtest.NewTestVerifier(t)
	before := p.Fetches()
	p.Rotate()
	if _, err := v.Verify(context.Background(), p.Token("bob")); err != nil {
		t.Fatal(err)
	}
	if got := p.Fetches(); got != before+1 {
		t.Errorf("%d key set fetches, want %d", got, before+1)
	}
}

// TestOutages makes the IdP fail, then restores it. While it fails, fetches
// fail and the key set the verifier holds keeps verifying; once restored, a
// fetch succeeds.
func TestOutages(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(p *jwtguardtest.IdP)
		// status is what a plain GET of the key set gets while failing; 0
		// when it gets no answer before its timeout.
		status int
	}{
		{"503", func(p *jwtguardtest.IdP) { p.Fail(http.StatusServiceUnavailable) }, http.StatusServiceUnavailable},
		{"500", func(p *jwtguardtest.IdP) { p.Fail(http.StatusInternalServerError) }, http.StatusInternalServerError},
		{"stall", func(p *jwtguardtest.IdP) { p.Stall() }, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := context.Background()
			// The stall lasts until Restore, so any timeout ends the fetch;
			// a short one keeps the test short. An answered failure gets a
			// timeout a loaded machine cannot outrun.
			timeout := 5 * time.Second
			if c.status == 0 {
				timeout = 100 * time.Millisecond
			}
			v, p := jwtguardtest.NewTestVerifier(t, func(cfg *core.Config) { cfg.JWKS.HTTPTimeout = timeout })
			tok := p.Token("alice")
			c.start(p)
			fetches := p.Fetches()
			if err := v.Refresh(ctx); err == nil {
				t.Error("a refresh succeeded while the IdP failed")
			}
			// A stalled request is counted once the server reads it, which
			// may be after the client gave up; an answered one before.
			if got := p.Fetches(); c.status != 0 && got != fetches+1 {
				t.Errorf("%d fetches, want %d: a failed request counts", got, fetches+1)
			}
			if _, err := v.Verify(ctx, tok); err != nil {
				t.Errorf("the held key set stopped verifying during the outage: %v", err)
			}
			client := &http.Client{Timeout: timeout}
			resp, err := client.Get(p.JWKSURL())
			switch {
			case c.status == 0 && err == nil:
				resp.Body.Close()
				t.Errorf("a stalled key set answered %s", resp.Status)
			case c.status != 0 && err != nil:
				t.Errorf("GET of a failing key set: %v", err)
			case c.status != 0:
				resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("GET of a failing key set: %s, want %d", resp.Status, c.status)
				}
			}
			p.Restore()
			if err := v.Refresh(ctx); err != nil {
				t.Errorf("refresh after Restore: %v", err)
			}
		})
	}
}

// TestStalledRequests checks that a request held by Stall is answered by
// Restore and let go by Close. Each request is sent before the IdP changes
// state; whether the handler is already waiting by then does not change
// what the client must get.
func TestStalledRequests(t *testing.T) {
	for _, c := range []struct {
		name   string
		end    func(p *jwtguardtest.IdP)
		answer bool
	}{
		{"Restore answers", (*jwtguardtest.IdP).Restore, true},
		{"Close lets go", (*jwtguardtest.IdP).Close, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := jwtguardtest.NewIdP()
			defer p.Close()
			p.Stall()
			wrote := make(chan struct{})
			trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) { close(wrote) }}
			req, _ := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace), http.MethodGet, p.JWKSURL(), nil)
			type result struct {
				status int
				err    error
			}
			done := make(chan result, 1)
			go func() {
				resp, err := http.DefaultTransport.RoundTrip(req)
				if err != nil {
					done <- result{err: err}
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				done <- result{status: resp.StatusCode}
			}()
			<-wrote
			c.end(p)
			got := <-done
			if c.answer && got.status != http.StatusOK {
				t.Errorf("after %s: status %d, error %v; want 200", c.name, got.status, got.err)
			}
			if !c.answer && got.status == http.StatusOK {
				t.Errorf("after %s: answered 200", c.name)
			}
		})
	}
}

// TestTokenBuilder judges tokens built with each method against the
// verifier's verdict.
func TestTokenBuilder(t *testing.T) {
	forger := jwtguardtest.NewKey("RS256") // never published
	withTenant := func(c *core.Config) { c.RequiredClaims = []string{"tenant"} }
	withTypes := func(c *core.Config) { c.TokenTypes = []string{"at+jwt"} }
	for _, c := range []struct {
		name   string
		config func(*core.Config)
		token  func(p *jwtguardtest.IdP) string
		want   core.Reason
		check  func(t *testing.T, claims *core.Claims)
	}{
		{name: "Token", token: func(p *jwtguardtest.IdP) string { return p.Token("alice", "read", "admin") },
			check: func(t *testing.T, c *core.Claims) {
				if c.Subject() != "alice" || !slices.Equal(c.Scopes(), []string{"admin", "read"}) {
					t.Errorf("sub %q scopes %v, want alice [admin read]", c.Subject(), c.Scopes())
				}
			}},
		{name: "no scopes", token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Scopes().Sign() },
			check: func(t *testing.T, c *core.Claims) {
				if _, ok := c.Get("scope"); ok {
					t.Error("a scope claim without scopes")
				}
			}},
		{name: "several audiences", token: func(p *jwtguardtest.IdP) string {
			return p.NewToken("bob").Audience("https://other.example.test", p.Audience()).Sign()
		}, check: func(t *testing.T, c *core.Claims) {
			if len(c.Audience()) != 2 {
				t.Errorf("aud %v, want two", c.Audience())
			}
		}},
		{name: "another audience", want: core.ReasonAudienceInvalid,
			token: func(p *jwtguardtest.IdP) string {
				return p.NewToken("bob").Audience("https://other.example.test").Sign()
			}},
		{name: "no audience", want: core.ReasonAudienceInvalid,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Audience().Sign() }},
		{name: "expired", want: core.ReasonTokenExpired,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").ExpiresIn(-2 * time.Minute).Sign() }},
		{name: "short-lived", token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").ExpiresIn(time.Minute).Sign() },
			check: func(t *testing.T, c *core.Claims) {
				if d := c.ExpiresAt().Sub(c.IssuedAt()); d != time.Minute {
					t.Errorf("exp - iat = %s, want 1m", d)
				}
			}},
		{name: "not yet valid", want: core.ReasonTokenNotYetValid,
			token: func(p *jwtguardtest.IdP) string {
				return p.NewToken("bob").Claim("nbf", p.Now().Add(2*time.Minute).Unix()).Sign()
			}},
		{name: "extra claim", config: withTenant,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Claim("tenant", "acme").Sign() },
			check: func(t *testing.T, c *core.Claims) {
				if v, _ := c.Get("tenant"); v != "acme" {
					t.Errorf("tenant %v, want acme", v)
				}
			}},
		{name: "null claim", config: withTenant, want: core.ReasonClaimMissing,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Claim("tenant", nil).Sign() }},
		{name: "deleted claim", want: core.ReasonClaimMissing,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").DeleteClaim("exp").Sign() }},
		{name: "edited claim", want: core.ReasonClaimInvalid,
			token: func(p *jwtguardtest.IdP) string {
				return p.NewToken("bob").Edit(func(_, c map[string]any) { c["exp"] = "tomorrow" }).Sign()
			}},
		{name: "typ at+jwt", config: withTypes, token: func(p *jwtguardtest.IdP) string { return p.Token("bob") }},
		{name: "typ JWT", config: withTypes, want: core.ReasonTypeInvalid,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Type("JWT").Sign() }},
		{name: "unknown kid", want: core.ReasonKeyNotFound,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").KID("other").Sign() }},
		{name: "no kid, one key published",
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").DeleteHeader("kid").Sign() }},
		{name: "crit header", want: core.ReasonHeaderInvalid,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Header("crit", []string{"x"}).Sign() }},
		{name: "alg none, unsigned", want: core.ReasonAlgNotAllowed,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Alg("none").Unsigned() }},
		{name: "alg HS256 over an RSA signature", want: core.ReasonAlgNotAllowed,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Alg("HS256").Sign() }},
		{name: "alg PS256 under a key published for RS256", want: core.ReasonAlgNotAllowed,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Alg("PS256").Sign() }},
		{name: "signed by an unpublished key under the published kid", want: core.ReasonSignatureInvalid,
			token: func(p *jwtguardtest.IdP) string {
				return p.NewToken("bob").SignedBy(forger).KID(p.SigningKey().KID()).Sign()
			}},
		{name: "signed by an unpublished key under its own kid", want: core.ReasonKeyNotFound,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").SignedBy(forger).Sign() }},
		{name: "signature stripped", want: core.ReasonSignatureInvalid,
			token: func(p *jwtguardtest.IdP) string { return p.NewToken("bob").Unsigned() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			var edit []func(*core.Config)
			if c.config != nil {
				edit = append(edit, c.config)
			}
			v, p := jwtguardtest.NewTestVerifier(t, edit...)
			claims, err := v.Verify(context.Background(), c.token(p))
			if reason(err) != c.want {
				t.Fatalf("%v, want %q", err, c.want)
			}
			if c.check != nil {
				c.check(t, claims)
			}
		})
	}
}

// TestTokenDefaults checks the members of a token nothing changed: an RFC
// 9068 access token.
func TestTokenDefaults(t *testing.T) {
	p := jwtguardtest.NewIdP()
	defer p.Close()
	h, c := decode(t, p.Token("alice"))
	_, c2 := decode(t, p.Token("alice"))
	now := float64(p.Now().Unix())
	for name, want := range map[string]any{"alg": "RS256", "kid": p.SigningKey().KID(), "typ": "at+jwt"} {
		if h[name] != want {
			t.Errorf("header %s = %v, want %v", name, h[name], want)
		}
	}
	for name, want := range map[string]any{"iss": p.Issuer(), "aud": p.Audience(), "sub": "alice", "iat": now, "exp": now + 3600} {
		if c[name] != want {
			t.Errorf("claim %s = %v, want %v", name, c[name], want)
		}
	}
	if _, ok := c["scope"]; ok {
		t.Error("a token without scopes has a scope claim")
	}
	if c["jti"] == nil || c["jti"] == c2["jti"] {
		t.Errorf("jti %v and %v, want two different ones", c["jti"], c2["jti"])
	}
}

// TestOptions checks what each option changes.
func TestOptions(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2031, time.March, 4, 5, 6, 7, 0, time.UTC)
	key := jwtguardtest.NewKey("EdDSA").WithKID("ed-main")
	p := jwtguardtest.NewIdP(
		jwtguardtest.WithListener(ln),
		jwtguardtest.WithIssuer("http://"+ln.Addr().String()+"/"),
		jwtguardtest.WithAudience("orders-api"),
		jwtguardtest.WithClock(func() time.Time { return clock }),
		jwtguardtest.WithSigningKey(key),
		jwtguardtest.WithAlgorithm("ES256"), // WithSigningKey wins
	)
	defer p.Close()
	p.Handle("GET /token", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, p.Token(r.URL.Query().Get("sub")))
	}))
	if want := "http://" + ln.Addr().String(); p.URL() != want {
		t.Errorf("URL %s, want %s", p.URL(), want)
	}
	if want := p.Issuer() + ".well-known/jwks.json"; p.JWKSURL() != want {
		t.Errorf("JWKS URL %s, want %s", p.JWKSURL(), want)
	}
	cfg := p.Config()
	if cfg.Issuers[0].Issuer != p.Issuer() || cfg.Issuers[0].JWKSURL != p.JWKSURL() || !slices.Equal(cfg.Audiences, []string{"orders-api"}) {
		t.Errorf("Config %+v does not name the IdP", cfg)
	}
	if !p.Now().Equal(clock) {
		t.Errorf("Now %s, want %s", p.Now(), clock)
	}
	if !slices.Equal(p.KIDs(), []string{"ed-main"}) {
		t.Errorf("published %v, want [ed-main]", p.KIDs())
	}

	resp, err := http.Get(p.URL() + "/token?sub=carol")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	v := newVerifier(t, p)
	claims, err := v.Verify(context.Background(), string(body))
	if err != nil {
		t.Fatal(err)
	}
	if claims.Subject() != "carol" || claims.Algorithm() != "EdDSA" || claims.KeyID() != "ed-main" || !claims.IssuedAt().Equal(clock) {
		t.Errorf("sub %q alg %q kid %q iat %s; want carol EdDSA ed-main %s",
			claims.Subject(), claims.Algorithm(), claims.KeyID(), claims.IssuedAt(), clock)
	}
}

// TestNewTestVerifier checks that the edits apply and that the IdP and the
// verifier close with the test.
func TestNewTestVerifier(t *testing.T) {
	var p *jwtguardtest.IdP
	var v *core.Verifier
	t.Run("test", func(t *testing.T) {
		v, p = jwtguardtest.NewTestVerifier(t, func(c *core.Config) { c.Audiences = []string{"orders-api"} })
		if _, err := v.Verify(context.Background(), p.Token("alice")); reason(err) != core.ReasonAudienceInvalid {
			t.Errorf("token for the IdP's audience: %v, want audience_invalid under the edited baseline", err)
		}
		if !v.Ready() {
			t.Error("verifier not ready")
		}
	})
	if resp, err := http.Get(p.JWKSURL()); err == nil {
		resp.Body.Close()
		t.Error("the IdP still answers after its test ended")
	}
	if err := v.Refresh(context.Background()); err == nil {
		t.Error("the verifier still fetches after its test ended")
	}
}

func TestKeys(t *testing.T) {
	rsa1024, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		key  func() *jwtguardtest.Key
	}{
		{"RS384", func() *jwtguardtest.Key { return jwtguardtest.NewKey("RS384") }},
		{"PS512", func() *jwtguardtest.Key { return jwtguardtest.NewKey("PS512") }},
		{"ES256", func() *jwtguardtest.Key { return jwtguardtest.NewKey("ES256") }},
		{"EdDSA", func() *jwtguardtest.Key { return jwtguardtest.NewKey("EdDSA") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			k := c.key()
			if len(k.KID()) != 43 {
				t.Errorf("kid %q is not a SHA-256 thumbprint", k.KID())
			}
			// A verifier given the public key checks a JWS of exact bytes.
			v, err := core.New(core.Config{
				Issuers:    []core.IssuerConfig{{Issuer: "https://issuer.example.test", PublicKeys: map[string]crypto.PublicKey{k.KID(): k.Public()}}},
				Audiences:  []string{"api"},
				Algorithms: []string{k.Alg()},
			}, core.WithClock(func() time.Time { return time.Unix(1000, 0) }), core.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			header := `{"alg":"` + k.Alg() + `","kid":"` + k.KID() + `"}`
			payload := `{"iss":"https://issuer.example.test","aud":"api","sub":"x","exp":2000}`
			if _, err := v.Verify(context.Background(), k.JWS([]byte(header), []byte(payload))); err != nil {
				t.Errorf("JWS: %v", err)
			}
			if _, err := v.Verify(context.Background(), k.WithKID("other").JWS([]byte(header), []byte(payload))); err != nil {
				t.Errorf("JWS of the key under another kid: %v", err)
			}
		})
	}
	for _, c := range []struct {
		name string
		make func()
	}{
		{"HS256 key", func() { jwtguardtest.NewKey("HS256") }},
		{"ES256 of an RSA key", func() { jwtguardtest.KeyFrom("ES256", rsa1024) }},
		{"ES256 of a P-384 key", func() {
			k, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			jwtguardtest.KeyFrom("ES256", k)
		}},
		{"IdP for HS256", func() { jwtguardtest.NewIdP(jwtguardtest.WithAlgorithm("HS256")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("no panic")
				}
			}()
			c.make()
		})
	}
	// An RSA key of 1024 bits is a key, though verifiers refuse it.
	if k := jwtguardtest.KeyFrom("RS256", rsa1024); k.Signer() != rsa1024 {
		t.Error("KeyFrom does not keep the private key")
	}
}

// TestConcurrentUse mints, rotates, removes and serves at once; the race
// detector judges it.
func TestConcurrentUse(t *testing.T) {
	v, p := jwtguardtest.NewTestVerifier(t)
	p.Publish(jwtguardtest.NewKey("ES256"))
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 20 {
				tok := p.Token("alice", "read")
				v.Verify(context.Background(), tok)
				p.KIDs()
			}
		})
	}
	wg.Go(func() {
		for range 3 {
			old := p.SigningKey().KID()
			p.Rotate()
			p.Remove(old)
			p.Fail(http.StatusServiceUnavailable)
			v.Refresh(context.Background())
			p.Restore()
			v.Refresh(context.Background())
		}
	})
	wg.Wait()
	if _, err := v.Verify(context.Background(), p.Token("alice")); err != nil {
		t.Errorf("after the churn: %v", err)
	}
}

// A service configured with only the issuer's URL and discovery verifies
// the tokens of an IdP that serves a discovery document; the document is
// fetched with the key set at start and on each refresh, and a document
// that is wrong never replaces the held one.
func TestDiscovery(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []jwtguardtest.Option
		want core.IssuerConfig // "URL" and "DOC" stand for the IdP's
	}{
		{"issuer at the IdP's URL", []jwtguardtest.Option{jwtguardtest.WithDiscovery()},
			core.IssuerConfig{Issuer: "URL", Discovery: core.DiscoveryOpenID}},
		{"issuer elsewhere", []jwtguardtest.Option{jwtguardtest.WithDiscovery(), jwtguardtest.WithIssuer("https://login.example.test/t1")},
			core.IssuerConfig{Issuer: "https://login.example.test/t1", DiscoveryURL: "DOC"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			idp := jwtguardtest.NewIdP(c.opts...)
			defer idp.Close()
			is := idp.Config().Issuers[0]
			is.Issuer = strings.Replace(is.Issuer, idp.URL(), "URL", 1)
			is.DiscoveryURL = strings.Replace(is.DiscoveryURL, idp.DiscoveryURL(), "DOC", 1)
			if is.Issuer != c.want.Issuer || is.Discovery != c.want.Discovery || is.DiscoveryURL != c.want.DiscoveryURL || is.JWKSURL != "" {
				t.Fatalf("Config().Issuers[0] = %+v, want %+v", is, c.want)
			}
			v := newVerifier(t, idp)
			ctx := context.Background()
			if _, err := v.Verify(ctx, idp.Token("alice")); err != nil {
				t.Fatal(err)
			}
			if idp.DiscoveryFetches() != 1 || idp.Fetches() != 1 {
				t.Fatalf("%d document and %d key set fetches at start, want 1 and 1", idp.DiscoveryFetches(), idp.Fetches())
			}
			if err := v.Refresh(ctx); err != nil || idp.DiscoveryFetches() != 2 || idp.Fetches() != 2 {
				t.Fatalf("Refresh: %v; %d document and %d key set fetches, want 2 and 2", err, idp.DiscoveryFetches(), idp.Fetches())
			}

			for _, bad := range []struct {
				name string
				edit func(doc map[string]any)
				want string
			}{
				{"trailing slash", func(doc map[string]any) { doc["issuer"] = idp.Issuer() + "/" }, "trailing slash"},
				{"no jwks_uri", func(doc map[string]any) { doc["jwks_uri"] = nil }, "no jwks_uri"},
				{"plain http jwks_uri", func(doc map[string]any) { doc["jwks_uri"] = "http://keys.example.test/jwks" }, "is not https"},
			} {
				idp.EditDiscovery(bad.edit)
				if err := v.Refresh(ctx); err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Fatalf("%s: Refresh %v, want %q", bad.name, err, bad.want)
				}
				if _, err := v.Verify(ctx, idp.Token("alice")); err != nil {
					t.Fatalf("%s: the held document and keys no longer verify: %v", bad.name, err)
				}
				if st := v.Stats()[0]; st.Source != idp.JWKSURL() || !strings.Contains(st.LastError, bad.want) {
					t.Fatalf("%s: stats %+v", bad.name, st)
				}
				idp.EditDiscovery(func(doc map[string]any) { doc["issuer"], doc["jwks_uri"] = idp.Issuer(), idp.JWKSURL() })
			}
		})
	}
}
