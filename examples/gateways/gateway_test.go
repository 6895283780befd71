package gateways_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// gatewayCase is one request through a gateway and what must come of it.
type gatewayCase struct {
	name   string
	method string
	path   string
	// header builds the request's headers, with tokens of the run's IdP.
	header func(a *authStack) http.Header
	status int
	// challenge, when set, must be in the one WWW-Authenticate of the
	// answer.
	challenge string
	// upstream checks what the application received; only for 200s. A
	// refused request must not reach it at all.
	upstream func(t *testing.T, a *authStack, gw gatewayTraits, got gateway.Echoed)
}

// gatewayTraits are where the gateways differ in what a client sees.
type gatewayTraits struct {
	// jwtguardBody: a refusal carries jwtguard's own JSON body (Caddy); or
	// the gateway's own error page (nginx).
	jwtguardBody bool
	// dropsByPrefix: every client X-Auth-* header is dropped (Caddy); or
	// only those the config lists, the ones jwtguard sets (nginx, which
	// cannot drop headers by prefix).
	dropsByPrefix bool
	// unreachable is the status of a request while jwtguard cannot be
	// reached: never a pass.
	unreachable int
}

// spoofed are X-Auth-* headers a client sends to pass as someone else.
var spoofed = map[string]string{
	"X-Auth-Subject": "mallory",
	"X-Auth-Issuer":  "https://evil.example",
	"X-Auth-Scopes":  "admin orders.write",
	"X-Auth-Claims":  base64.RawURLEncoding.EncodeToString([]byte(`{"sub":"mallory"}`)),
	"X-Auth-Tenant":  "evil-corp",
	// Not a header jwtguard sets with the sample policy.
	unlistedHeader: "admin",
}

const unlistedHeader = "X-Auth-Role"

// wantNoSpoofed checks that no X-Auth-* header a client sent reached the
// upstream, beyond those the verdict set.
func wantNoSpoofed(t *testing.T, gw gatewayTraits, got gateway.Echoed) {
	t.Helper()
	for name, vals := range got.Header {
		if name == unlistedHeader && !gw.dropsByPrefix {
			continue
		}
		if forged, ok := spoofed[name]; ok && slices.Contains(vals, forged) {
			t.Errorf("upstream got the client's %s: %q", name, vals)
		}
	}
}

func bearer(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

func withSpoofed(h http.Header) http.Header {
	for k, v := range spoofed {
		h.Set(k, v)
	}
	return h
}

// gatewayCases run through every real gateway.
var gatewayCases = []gatewayCase{
	{
		name: "valid token reaches the upstream with its identity", method: "GET", path: "/orders/42?page=2",
		header: func(a *authStack) http.Header {
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").Claim("tenant", "acme").Sign())
		},
		status: http.StatusOK,
		upstream: func(t *testing.T, a *authStack, gw gatewayTraits, got gateway.Echoed) {
			wantAlice(t, a, got)
			wantHeader(t, got, "X-Auth-Tenant", "acme")
			if got.URI != "/orders/42?page=2" {
				t.Errorf("upstream got URI %q, want /orders/42?page=2", got.URI)
			}
		},
	},
	{
		name: "spoofed X-Auth headers are replaced by the verdict's", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header {
			// No tenant claim: the client's X-Auth-Tenant must not
			// survive either.
			return withSpoofed(bearer(a.idp.NewToken("alice").Scopes("orders.read").Sign()))
		},
		status: http.StatusOK,
		upstream: func(t *testing.T, a *authStack, gw gatewayTraits, got gateway.Echoed) {
			wantAlice(t, a, got)
			wantHeader(t, got, "X-Auth-Tenant", "")
			wantNoSpoofed(t, gw, got)
		},
	},
	{
		name: "spoofed X-Auth headers never reach an anonymous route", method: "GET", path: "/healthz",
		header: func(a *authStack) http.Header { return withSpoofed(http.Header{}) },
		status: http.StatusOK,
		upstream: func(t *testing.T, a *authStack, gw gatewayTraits, got gateway.Echoed) {
			wantNoSpoofed(t, gw, got)
			for name := range got.Header {
				if strings.HasPrefix(strings.ToLower(name), "x-auth-") && (name != unlistedHeader || gw.dropsByPrefix) {
					t.Errorf("upstream got %s: %q on an anonymous route", name, got.Header.Values(name))
				}
			}
		},
	},
	{
		name: "no token", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header { return http.Header{} },
		status: http.StatusUnauthorized, challenge: `Bearer realm=`,
	},
	{
		name: "expired token", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header {
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").ExpiresIn(-time.Hour).Sign())
		},
		status: http.StatusUnauthorized, challenge: `error="invalid_token"`,
	},
	{
		name: "token for another audience", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header {
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").Audience("billing-api").Sign())
		},
		status: http.StatusUnauthorized, challenge: `error="invalid_token"`,
	},
	{
		name: "forged token: the IdP's kid, another key's signature", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header {
			kid := a.idp.SigningKey().KID()
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").
				SignedBy(jwtguardtest.NewKey("ES256")).KID(kid).Sign())
		},
		status: http.StatusUnauthorized, challenge: `error="invalid_token"`,
	},
	{
		name: "spoofed X-Auth headers do not replace a token", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header { return withSpoofed(http.Header{}) },
		status: http.StatusUnauthorized, challenge: `Bearer realm=`,
	},
	{
		name: "missing scope", method: "GET", path: "/admin/users",
		header: func(a *authStack) http.Header {
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").Sign())
		},
		status: http.StatusForbidden, challenge: `error="insufficient_scope"`,
	},
	{
		name: "missing scope for the method", method: "POST", path: "/orders",
		header: func(a *authStack) http.Header {
			return bearer(a.idp.NewToken("alice").Scopes("orders.read").Sign())
		},
		status: http.StatusForbidden, challenge: `error="insufficient_scope"`,
	},
	{
		name: "spoofed original URI of an anonymous route", method: "GET", path: "/admin/users",
		header: func(a *authStack) http.Header {
			return http.Header{
				"X-Forwarded-Uri": {"/healthz"}, "X-Forwarded-Method": {"GET"},
				"X-Original-Uri": {"/healthz"}, "X-Original-Method": {"GET"},
			}
		},
		status: http.StatusUnauthorized, challenge: `Bearer realm=`,
	},
	{
		name: "malformed Authorization header", method: "GET", path: "/orders",
		header: func(a *authStack) http.Header { return http.Header{"Authorization": {"Bearer a b"}} },
		status: http.StatusBadRequest, challenge: `error="invalid_request"`,
	},
}

// runGateway sends every case through the gateway at base, whose upstream
// is up.
func runGateway(t *testing.T, a *authStack, base string, up *upstreamCount, gw gatewayTraits) {
	client := &http.Client{Timeout: 10 * time.Second}
	for _, c := range gatewayCases {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, c.method, base+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range c.header(a) {
				req.Header[k] = v
			}
			before := up.n()
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != c.status {
				t.Fatalf("status %d, want %d; body %s", resp.StatusCode, c.status, body)
			}
			challenges := resp.Header.Values("Www-Authenticate")
			if c.status == http.StatusOK {
				if len(challenges) > 0 {
					t.Errorf("WWW-Authenticate %q on a 200", challenges)
				}
				var got gateway.Echoed
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("not the upstream's answer: %v: %s", err, body)
				}
				c.upstream(t, a, gw, got)
				return
			}
			if reached := up.n() - before; reached != 0 {
				t.Errorf("a refused request reached the upstream (%d requests)", reached)
			}
			if len(challenges) != 1 || !strings.Contains(challenges[0], c.challenge) {
				t.Errorf("WWW-Authenticate %q, want one containing %s", challenges, c.challenge)
			}
			if gw.jwtguardBody && !json.Valid(body) {
				t.Errorf("body %q is not jwtguard's JSON", body)
			}
		})
	}
}

// wantAlice checks the identity headers of alice's orders.read token.
func wantAlice(t *testing.T, a *authStack, got gateway.Echoed) {
	t.Helper()
	wantHeader(t, got, "X-Auth-Subject", "alice")
	wantHeader(t, got, "X-Auth-Issuer", a.idp.Issuer())
	wantHeader(t, got, "X-Auth-Scopes", "orders.read")
	wantClaims(t, got, "alice")
}

func wantHeader(t *testing.T, got gateway.Echoed, name, want string) {
	t.Helper()
	vals := got.Header.Values(name)
	switch {
	case want == "" && len(vals) > 0:
		t.Errorf("upstream got %s: %q, want none", name, vals)
	case want != "" && !slices.Equal(vals, []string{want}):
		t.Errorf("upstream got %s: %q, want %q", name, vals, want)
	}
}

// wantClaims checks that X-Auth-Claims is the verified payload, base64url.
func wantClaims(t *testing.T, got gateway.Echoed, sub string) {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(got.Header.Get("X-Auth-Claims"))
	if err != nil {
		t.Errorf("X-Auth-Claims %q: %v", got.Header.Get("X-Auth-Claims"), err)
		return
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Errorf("X-Auth-Claims %s: %v", raw, err)
		return
	}
	if claims["sub"] != sub {
		t.Errorf("X-Auth-Claims sub %v, want %s", claims["sub"], sub)
	}
}

// upstreamCount is the echo upstream of one gateway, counting what reaches
// it.
type upstreamCount struct {
	srv  *httptest.Server
	hits chan struct{}
}

func (u *upstreamCount) n() int { return len(u.hits) }

func newUpstream(t *testing.T) *upstreamCount {
	u := &upstreamCount{hits: make(chan struct{}, 1<<16)}
	echo := gateway.Echo()
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.hits <- struct{}{}
		echo.ServeHTTP(w, r)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

// lookGateway finds a gateway's binary, or fails the test saying how to
// install it: a missing gateway is a failure, never a skip.
func lookGateway(t *testing.T, binary, pkg string) string {
	t.Helper()
	bin, err := gateway.Look(binary, pkg)
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

// gateways are the gateways run as real processes, each on its sample
// config.
var gateways = []struct {
	name, binary, pkg string // the command, and the Debian package with it
	config            string // the sample, in examples/gateways
	start             func(ctx context.Context, bin, dir, config, listen string) (*gateway.Process, error)
	traits            gatewayTraits
}{
	{"nginx", "nginx", "nginx", gateway.NginxSite, gateway.StartNginx,
		gatewayTraits{unreachable: http.StatusServiceUnavailable}},
	{"caddy", "caddy", "caddy", gateway.Caddyfile, gateway.StartCaddy,
		gatewayTraits{jwtguardBody: true, dropsByPrefix: true, unreachable: http.StatusBadGateway}},
}

func TestGateways(t *testing.T) {
	for _, g := range gateways {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			bin := lookGateway(t, g.binary, g.pkg)
			a := sharedAuth(t)
			up := newUpstream(t)
			base := startGateway(t, g.name, g.config, g.start, bin, a.serve.Addr, up)
			runGateway(t, a, base, up, g.traits)
		})
	}
}

// TestGatewaysJWTGuardUnreachable: with no jwtguard to ask, a gateway
// refuses, whatever the token.
func TestGatewaysJWTGuardUnreachable(t *testing.T) {
	for _, g := range gateways {
		t.Run(g.name, func(t *testing.T) {
			t.Parallel()
			bin := lookGateway(t, g.binary, g.pkg)
			a := sharedAuth(t)
			up := newUpstream(t)
			// A port nothing listens on once FreeAddr has closed it.
			nowhere, err := gateway.FreeAddr()
			if err != nil {
				t.Fatal(err)
			}
			base := startGateway(t, g.name, g.config, g.start, bin, nowhere, up)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, "GET", base+"/orders", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header = bearer(a.idp.NewToken("alice").Scopes("orders.read").Sign())
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != g.traits.unreachable {
				t.Errorf("status %d, want %d", resp.StatusCode, g.traits.unreachable)
			}
			if up.n() != 0 {
				t.Errorf("%d requests reached the upstream", up.n())
			}
		})
	}
}

// startGateway runs a gateway on its sample config, rendered with a free
// port to listen on, serveAddr for jwtguard and up for the application,
// until the test ends; it returns the gateway's base URL.
func startGateway(t *testing.T, name, sample string, start func(ctx context.Context, bin, dir, config, listen string) (*gateway.Process, error),
	bin, serveAddr string, up *upstreamCount) string {
	t.Helper()
	listen, err := gateway.FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	config, err := gateway.Render(sample, map[string]string{
		gateway.GatewayAddr: listen,
		gateway.ServeAddr:   serveAddr,
		gateway.AppAddr:     strings.TrimPrefix(up.srv.URL, "http://"),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	p, err := start(ctx, bin, t.TempDir(), config, listen)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.Output())
		}
	})
	return "http://" + listen
}
