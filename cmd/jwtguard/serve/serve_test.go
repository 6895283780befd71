package serve

import (
	"bytes"
	"encoding/base64"
	"go/ast"
	"go/parser"
	"go/token"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// testPolicy is the policy most tests run under.
const testPolicy = `
routes:
  - prefix: /public
    anonymous: true
  - prefix: /admin
    scopes: [admin]
  - prefix: /admin/audit
    methods: [GET]
    scopes: [audit]
claim_headers:
  tenant: X-Tenant
  level: X-Level
  beta: X-Beta
  groups: X-Groups
  bad: X-Bad
`

// fixture is a server under testPolicy with a verifier that logs its
// rejections to log, and the IdP that mints its tokens.
type fixture struct {
	s   *Server
	idp *jwtguardtest.IdP
	log *bytes.Buffer
}

func newFixture(t testing.TB, policy string, edit ...func(*core.Config)) fixture {
	t.Helper()
	idp := jwtguardtest.NewIdP()
	t.Cleanup(idp.Close)
	cfg := idp.Config()
	every := 0
	cfg.Log.RejectionsPerSecond = &every // every rejection's line, for the tests that read them
	for _, e := range edit {
		e(&cfg)
	}
	log := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(log, nil))
	v, err := core.New(cfg, core.WithClock(idp.Now), core.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	p, err := ParsePolicy([]byte(policy))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(v, p, WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	return fixture{s: s, idp: idp, log: log}
}

// auth sends one forward-auth request to the server, in process.
func (f fixture) auth(path string, header http.Header) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "http://serve.test/", nil)
	req.URL.Path, req.URL.RawPath, req.URL.RawQuery = path, "", ""
	if p, q, ok := strings.Cut(path, "?"); ok {
		req.URL.Path, req.URL.RawQuery = p, q
	}
	req.Header = header
	w := httptest.NewRecorder()
	f.s.ServeHTTP(w, req)
	return w
}

func bearer(token string, kv ...string) http.Header {
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}

// TestHeaderSources: each gateway's way of forwarding the original
// request selects the route, and a reading a client adds only makes the
// policy stricter.
func TestHeaderSources(t *testing.T) {
	f := newFixture(t, testPolicy)
	reader, admin := f.idp.Token("alice", "read"), f.idp.Token("bob", "admin")
	for _, tc := range []struct {
		name   string
		path   string
		header http.Header
		status int
		reason core.Reason
	}{
		{"Traefik and Caddy: X-Forwarded-*", "/auth", bearer(reader, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/admin/users"), 403, core.ReasonInsufficientScope},
		{"Traefik and Caddy: the scope granted", "/auth", bearer(admin, "X-Forwarded-Method", "POST", "X-Forwarded-Uri", "/admin/users"), 200, ""},
		{"nginx: X-Original-*", "/auth", bearer(reader, "X-Original-Method", "GET", "X-Original-URI", "/admin"), 403, core.ReasonInsufficientScope},
		{"nginx: an anonymous route", "/auth", bearer("", "X-Original-Method", "GET", "X-Original-URI", "/public/docs"), 200, ""},
		{"Envoy: the appended path", "/auth/admin/users", bearer(reader), 403, core.ReasonInsufficientScope},
		{"Envoy: an anonymous route", "/auth/public/docs", bearer(""), 200, ""},
		{"Envoy: the appended path with a query", "/auth/public?next=/admin", bearer(""), 200, ""},
		{"the default route needs a token", "/auth", bearer("", "X-Forwarded-Uri", "/orders"), 401, core.ReasonTokenMissing},
		{"a method route: its method", "/auth", bearer(admin, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/admin/audit/log"), 403, core.ReasonInsufficientScope},
		{"a method route: another method", "/auth", bearer(admin, "X-Forwarded-Method", "DELETE", "X-Forwarded-Uri", "/admin/audit/log"), 200, ""},
		{"without a method header, the auth request's", "/auth", bearer(admin, "X-Forwarded-Uri", "/admin/audit"), 403, core.ReasonInsufficientScope},
		{"an absolute URI", "/auth", bearer(reader, "X-Forwarded-Uri", "https://api.example.com/admin?x=1"), 403, core.ReasonInsufficientScope},
		{"a fragment is no part of the path", "/auth", bearer("", "X-Forwarded-Uri", "/public#/admin"), 200, ""},
		{"a client's X-Forwarded-Uri behind nginx", "/auth", bearer(reader, "X-Original-URI", "/admin", "X-Forwarded-Uri", "/public"), 403, core.ReasonInsufficientScope},
		{"a client's X-Forwarded-Uri behind Envoy", "/auth/admin", bearer(reader, "X-Forwarded-Uri", "/public"), 403, core.ReasonInsufficientScope},
		{"a client's X-Original-URI behind Traefik", "/auth", bearer("", "X-Forwarded-Uri", "/admin", "X-Original-URI", "/public"), 401, core.ReasonTokenMissing},
		{"dot segments", "/auth", bearer(reader, "X-Forwarded-Uri", "/public/../admin"), 403, core.ReasonInsufficientScope},
		{"an encoded slash and dot segments", "/auth", bearer(reader, "X-Forwarded-Uri", "/public/..%2Fadmin"), 403, core.ReasonInsufficientScope},
		{"an encoded prefix", "/auth", bearer(reader, "X-Forwarded-Uri", "/%61dmin"), 403, core.ReasonInsufficientScope},
		{"a backslash", "/auth", bearer(reader, "X-Forwarded-Uri", `/public\..\admin`), 403, core.ReasonInsufficientScope},
		{"a doubled slash", "/auth", bearer(reader, "X-Forwarded-Uri", "//admin"), 403, core.ReasonInsufficientScope},
		{"segments, not characters", "/auth", bearer("", "X-Forwarded-Uri", "/publicity"), 401, core.ReasonTokenMissing},
		{"no original URI", "/auth", bearer(admin), 400, core.ReasonRequestInvalid},
		{"a method that is not a token", "/auth", bearer(admin, "X-Forwarded-Method", "GE T", "X-Forwarded-Uri", "/x"), 400, core.ReasonRequestInvalid},
		{"a URI with a control character", "/auth", bearer(admin, "X-Forwarded-Uri", "/x\x00/admin"), 400, core.ReasonRequestInvalid},
		{"a URI that is neither form", "/auth", bearer(admin, "X-Forwarded-Uri", "admin"), 400, core.ReasonRequestInvalid},
		{"too many readings", "/auth", bearer(admin, "X-Forwarded-Uri", "/a", "X-Forwarded-Uri", "/b", "X-Forwarded-Uri", "/c",
			"X-Forwarded-Uri", "/d", "X-Forwarded-Uri", "/e", "X-Forwarded-Uri", "/f", "X-Forwarded-Uri", "/g", "X-Forwarded-Uri", "/h", "X-Forwarded-Uri", "/i"), 400, core.ReasonRequestInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.log.Reset()
			w := f.auth(tc.path, tc.header)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d (%s)", w.Code, tc.status, w.Body)
			}
			if tc.reason == "" {
				if f.log.Len() > 0 {
					t.Errorf("an accepted request logged %s", f.log)
				}
				return
			}
			if !strings.Contains(f.log.String(), `"reason":"`+string(tc.reason)+`"`) || strings.Count(f.log.String(), "\n") != 1 {
				t.Errorf("log %q, want one line with reason %s", f.log, tc.reason)
			}
			want := f.s.v.Response(&core.Error{Reason: tc.reason, Scopes: missingOf(tc.reason, tc.path, tc.header)})
			if got := w.Header().Get("WWW-Authenticate"); got != want.WWWAuthenticate || w.Body.String() != string(want.Body) {
				t.Errorf("challenge %q body %q, want core's %q %q", got, w.Body, want.WWWAuthenticate, want.Body)
			}
		})
	}
}

// missingOf is the scope the test policy names for an insufficient_scope.
func missingOf(r core.Reason, path string, h http.Header) []string {
	if r != core.ReasonInsufficientScope {
		return nil
	}
	if h.Get("X-Forwarded-Method") == "GET" && strings.HasPrefix(h.Get("X-Forwarded-Uri"), "/admin/audit") ||
		h.Get("X-Forwarded-Method") == "" && strings.HasPrefix(h.Get("X-Forwarded-Uri"), "/admin/audit") {
		return []string{"audit"}
	}
	return []string{"admin"}
}

// TestLongestPrefix: the longest prefix wins, whole segments only, and
// for one prefix a route naming the method wins over one naming none.
func TestLongestPrefix(t *testing.T) {
	rt := newRouter([]Route{
		{Prefix: "/"},
		{Prefix: "/api"},
		{Prefix: "/api/admin"},
		{Prefix: "/api/admin", Methods: []string{"DELETE"}},
		{Prefix: "/api/admin/reports"},
		{Prefix: "/docs/"},
	})
	for _, tc := range []struct {
		method, path, prefix string
		methods              bool
	}{
		{"GET", "/", "/", false},
		{"GET", "/orders", "/", false},
		{"GET", "/api", "/api", false},
		{"GET", "/api/", "/api", false},
		{"GET", "/apis", "/", false},
		{"GET", "/api/admin", "/api/admin", false},
		{"DELETE", "/api/admin", "/api/admin", true},
		{"delete", "/api/admin", "/api/admin", false},
		{"DELETE", "/api/admin/users/1", "/api/admin", true},
		{"DELETE", "/api/admin/reports/1", "/api/admin/reports", false},
		{"GET", "/api/administrator", "/api", false},
		{"GET", "/docs", "/docs/", false},
		{"GET", "/docs/x", "/docs/", false},
	} {
		r := rt.lookup(tc.method, tc.path)
		if r.Prefix != tc.prefix || (len(r.Methods) > 0) != tc.methods {
			t.Errorf("%s %s: route %s %v, want %s (methods %v)", tc.method, tc.path, r.Prefix, r.Methods, tc.prefix, tc.methods)
		}
	}
	if r := (&router{}).lookup("GET", "/x"); r != defaultRoute {
		t.Errorf("no routes: %+v, want the default route", r)
	}
}

// TestParsePolicy: the file is strict and each problem names its key and
// line.
func TestParsePolicy(t *testing.T) {
	for _, tc := range []struct{ name, yaml, want string }{
		{"unknown top key", "route: []\n", "line 1: route: unknown key"},
		{"unknown route key", "routes:\n  - prefix: /a\n    scope: [x]\n", "line 3: routes[0].scope: unknown key"},
		{"no prefix", "routes:\n  - scopes: [x]\n", "routes[0].prefix: is required"},
		{"a relative prefix", "routes:\n  - prefix: admin\n", "must start with /"},
		{"an unclean prefix", "routes:\n  - prefix: /a/../b\n", `write "/b"`},
		{"a trailing slash", "routes:\n  - prefix: /a/\n", `write "/a"`},
		{"anonymous with scopes", "routes:\n  - prefix: /a\n    anonymous: true\n    scopes: [x]\n", "routes[0].anonymous: an anonymous route has no claims"},
		{"anonymous not a bool", "routes:\n  - prefix: /a\n    anonymous: yes please\n", "line 3: routes[0].anonymous: must be true or false"},
		{"scopes not a list", "routes:\n  - prefix: /a\n    scopes: admin\n", "line 3: routes[0].scopes: must be a list"},
		{"an empty scope list", "routes:\n  - prefix: /a\n    scopes: []\n", "is empty"},
		{"a bad method", "routes:\n  - prefix: /a\n    methods: [\"GE T\"]\n", "is not a method"},
		{"a route twice", "routes:\n  - prefix: /a\n  - prefix: /a\n", "line 3: routes[1]: a route for any method /a is given twice"},
		{"a method twice", "routes:\n  - prefix: /a\n    methods: [GET]\n  - prefix: /a\n    methods: [POST, GET]\n", "line 4: routes[1]: a route for GET /a is given twice"},
		{"a key twice", "routes:\n  - prefix: /a\n    prefix: /b\n", "line 3: routes[0].prefix: is given twice"},
		{"roles without a claim", "routes:\n  - prefix: /a\n    roles: [admin]\n", "roles_claim: is required"},
		{"a roles claim without roles", "routes:\n  - prefix: /a\n    roles_claim: roles\n", "no roles are required"},
		{"a reserved header", "claim_headers:\n  sub: X-Auth-Subject\n", "line 2: claim_headers.sub: X-Auth-Subject is reserved"},
		{"a hop-by-hop header", "claim_headers:\n  x: connection\n", "Connection is reserved"},
		{"an Envoy header", "claim_headers:\n  x: x-envoy-original-path\n", "reserved: Envoy"},
		{"an invalid header name", "claim_headers:\n  x: \"X Tenant\"\n", "not a valid header name"},
		{"a header carrying two claims", "claim_headers:\n  a: X-Tenant\n  b: x-tenant\n", "line 3: claim_headers.b: header X-Tenant carries two claims"},
		{"a header that is not a string", "claim_headers:\n  a: [X-Tenant]\n", "must be a string"},
		{"not a mapping", "- a\n", "(top level): must be a mapping"},
		{"not YAML", "routes: [\n", "policy: yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParsePolicy([]byte(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	p, err := ParsePolicy([]byte(testPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Routes) != 3 || !p.Routes[0].Anonymous || len(p.Routes[1].Policies) != 1 || p.Routes[2].Methods[0] != "GET" ||
		!slices.Contains(p.ClaimHeaders, ClaimHeader{Claim: "tenant", Header: "X-Tenant"}) {
		t.Errorf("parsed %+v", p)
	}
	if p, err := ParsePolicy(nil); err != nil || len(p.Routes) != 0 {
		t.Errorf("an empty file: %+v %v, want the zero policy", p, err)
	}
	if _, err := LoadPolicy(filepath.Join(t.TempDir(), "none.yaml")); err == nil {
		t.Error("a missing file loaded")
	}
}

// TestRolesAndOptional: roles at each IdP's claim path, refused as 403
// insufficient_scope whose challenge names no scope; an optional route
// takes a request without credentials as anonymous and still refuses a bad
// token.
func TestRolesAndOptional(t *testing.T) {
	f := newFixture(t, `
routes:
  - prefix: /reports
    roles: [auditor]
    roles_claim: realm_access.roles
  - prefix: /groups
    roles: [admins]
    roles_claim: cognito:groups
  - prefix: /home
    optional: true
  - prefix: /home/settings
    optional: true
    scopes: [profile]
`)
	keycloak := f.idp.NewToken("alice").Claim("realm_access", map[string]any{"roles": []string{"auditor", "user"}}).Sign()
	cognito := f.idp.NewToken("bob").Claim("cognito:groups", []string{"admins"}).Sign()
	expired := f.idp.NewToken("carol").ExpiresIn(-time.Hour).Sign()
	for _, tc := range []struct {
		name, path, token string
		status            int
		subject           string
	}{
		{"Keycloak realm role", "/auth/reports/q3", keycloak, 200, "alice"},
		{"Keycloak realm role missing", "/auth/reports/q3", cognito, 403, ""},
		{"Cognito group", "/auth/groups", cognito, 200, "bob"},
		{"Cognito group missing", "/auth/groups", keycloak, 403, ""},
		{"optional, no credentials", "/auth/home", "", 200, ""},
		{"optional, a valid token", "/auth/home", keycloak, 200, "alice"},
		{"optional, an expired token", "/auth/home", expired, 401, ""},
		{"optional, a malformed token", "/auth/home", "x.y", 401, ""},
		{"optional with a scope, no credentials", "/auth/home/settings", "", 401, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.auth(tc.path, bearer(tc.token))
			if w.Code != tc.status || w.Header().Get(HeaderSubject) != tc.subject {
				t.Errorf("%d subject %q, want %d %q (%s)", w.Code, w.Header().Get(HeaderSubject), tc.status, tc.subject, w.Body)
			}
			if w.Code == 403 {
				if got := w.Header().Get("WWW-Authenticate"); strings.Contains(got, "scope=") || !strings.Contains(got, `error="insufficient_scope"`) {
					t.Errorf("challenge %q: roles are not scopes", got)
				}
			}
		})
	}
	if _, err := ParsePolicy([]byte("routes:\n  - prefix: /a\n    anonymous: true\n    optional: true\n")); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("anonymous and optional: %v", err)
	}
	// A path read two ways needs the stricter authentication.
	rt := newRouter([]Route{{Prefix: "/open", Anonymous: true}, {Prefix: "/home", Optional: true}, {Prefix: "/admin"}})
	for _, tc := range []struct {
		ts                  []target
		anonymous, optional bool
	}{
		{[]target{{method: "GET", path: "/open/../home"}}, false, true},
		{[]target{{method: "GET", path: "/open/../admin"}}, false, false},
		{[]target{{method: "GET", path: "/home/../admin"}}, false, false},
		{[]target{{method: "GET", path: "/open"}, {method: "GET", path: "/open/x"}}, true, false},
	} {
		r := rt.matchAll(tc.ts)
		if r.Anonymous != tc.anonymous || r.Optional != tc.optional {
			t.Errorf("%v: anonymous %v optional %v, want %v %v", tc.ts, r.Anonymous, r.Optional, tc.anonymous, tc.optional)
		}
	}
}

// TestNewRefuses the policies ParsePolicy refuses, built in Go.
func TestNewRefuses(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	for _, p := range []*Policy{
		{Routes: []Route{{Prefix: "admin"}}},
		{Routes: []Route{{Prefix: "/a"}, {Prefix: "/a"}}},
		{ClaimHeaders: []ClaimHeader{{Claim: "sub", Header: "X-Auth-Subject"}}},
		{ClaimHeaders: []ClaimHeader{{Claim: "", Header: "X-A"}}},
	} {
		if _, err := New(v, p); err == nil {
			t.Errorf("New accepted %+v", p)
		}
	}
	if _, err := New(nil, nil); err == nil {
		t.Error("New accepted no verifier")
	}
}

// TestIdentityHeaders: the verified identity and the mapped claims, as
// header text; a value no header may carry is withheld, never cleaned.
func TestIdentityHeaders(t *testing.T) {
	f := newFixture(t, testPolicy)
	token := f.idp.NewToken("alice").Scopes("read", "write").
		Claim("tenant", "acme").Claim("level", 3).Claim("beta", true).
		Claim("groups", []string{"a", "b"}).Claim("bad", "x\r\nX-Auth-Subject: root").Sign()
	w := f.auth("/auth/orders", bearer(token))
	if w.Code != 200 {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	payload, _ := base64.RawURLEncoding.DecodeString(w.Header().Get(HeaderClaims))
	for name, want := range map[string]string{
		HeaderSubject: "alice", HeaderIssuer: f.idp.Issuer(), HeaderScopes: "read write",
		"X-Tenant": "acme", "X-Level": "3", "X-Beta": "true", "X-Groups": `["a","b"]`,
	} {
		if got := w.Header().Values(name); len(got) != 1 || got[0] != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if got := w.Header().Values("X-Bad"); len(got) != 0 {
		t.Errorf("a claim with CR/LF reached a header: %q", got)
	}
	if !strings.Contains(f.log.String(), "claim withheld") {
		t.Errorf("the withheld claim was not logged: %s", f.log)
	}
	if !bytes.Contains(payload, []byte(`"tenant":"acme"`)) {
		t.Errorf("X-Auth-Claims is not the verified payload: %s", payload)
	}
	for _, tc := range []struct {
		value any
		want  string
	}{
		{"plain", "plain"}, {"ünïcode", "ünïcode"}, {1.5, "1.5"}, {false, "false"},
		{nil, "null"}, {map[string]any{"a": 1}, `{"a":1}`},
		{" padded", ""}, {"tab\tinside", "tab\tinside"}, {"nul\x00", ""}, {"del\x7f", ""},
	} {
		w := f.auth("/auth/x", bearer(f.idp.NewToken("alice").Claim("tenant", tc.value).Sign()))
		if got := w.Header().Get("X-Tenant"); got != tc.want {
			t.Errorf("claim %#v: X-Tenant %q, want %q", tc.value, got, tc.want)
		}
	}
}

// TestSpoofedIdentityIgnored: X-Auth-* and claim headers a client sends
// are never read nor echoed.
func TestSpoofedIdentityIgnored(t *testing.T) {
	f := newFixture(t, testPolicy)
	spoof := func(token string) http.Header {
		return bearer(token, HeaderSubject, "root", HeaderScopes, "admin", "X-Tenant", "evil", HeaderClaims, "e30")
	}
	w := f.auth("/auth/admin", spoof(f.idp.Token("alice", "read")))
	if w.Code != 403 {
		t.Errorf("a client's X-Auth-Scopes: admin got %d, want 403", w.Code)
	}
	w = f.auth("/auth/orders", spoof(f.idp.Token("alice")))
	if got := w.Header().Get(HeaderSubject); w.Code != 200 || got != "alice" || w.Header().Get("X-Tenant") != "" {
		t.Errorf("%d subject %q tenant %q, want 200 alice and no tenant", w.Code, got, w.Header().Get("X-Tenant"))
	}
	w = f.auth("/auth/public", spoof(""))
	for _, name := range append(identityHeaders, "X-Tenant") {
		if got := w.Header().Values(name); w.Code != 200 || len(got) > 0 {
			t.Errorf("anonymous route: %d %s %q, want 200 and none", w.Code, name, got)
		}
	}
	w = f.auth("/auth/orders", spoof(""))
	if w.Code != 401 || w.Header().Get(HeaderSubject) != "" {
		t.Errorf("no token with a client's X-Auth-Subject: %d %q", w.Code, w.Header().Get(HeaderSubject))
	}
}

// TestAnonymousRouteWithPolicies: a Go policy may put checks on an
// anonymous route; they see no claims and refuse as core does.
func TestAnonymousRouteWithPolicies(t *testing.T) {
	v, idp := jwtguardtest.NewTestVerifier(t)
	s, err := New(v, &Policy{Routes: []Route{{Prefix: "/open", Anonymous: true, Policies: []core.Policy{core.RequireScopes("x")}}}})
	if err != nil {
		t.Fatal(err)
	}
	w := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/auth/open", nil)
	req.Header.Set("Authorization", "Bearer "+idp.Token("alice", "x"))
	s.ServeHTTP(w, req)
	if w.Code != 401 || w.Header().Get(HeaderSubject) != "" {
		t.Errorf("%d %q, want 401 token_missing: skipping never authorizes", w.Code, w.Header().Get(HeaderSubject))
	}
}

// TestOtherPaths: health, readiness, metrics, and nothing else.
func TestOtherPaths(t *testing.T) {
	v, _ := jwtguardtest.NewTestVerifier(t)
	metrics := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("m 1\n")) })
	with, _ := New(v, nil, WithMetrics(metrics), WithLogger(nil))
	without, _ := New(v, nil)
	for _, tc := range []struct {
		s      *Server
		path   string
		status int
		body   string
	}{
		{with, "/healthz", 200, `{"status":"ok"}`},
		{with, "/readyz", 200, `{"status":"ready"}`},
		{with, "/metrics", 200, "m 1"},
		{without, "/metrics", 404, ""},
		{with, "/authz", 404, ""},
		{with, "/", 404, ""},
		{with, "/auth", 401, ""},
		{with, "/auth/", 401, ""},
	} {
		w := httptest.NewRecorder()
		tc.s.ServeHTTP(w, httptest.NewRequest("POST", tc.path, nil))
		if w.Code != tc.status || !strings.Contains(w.Body.String(), tc.body) {
			t.Errorf("%s: %d %q, want %d %q", tc.path, w.Code, w.Body, tc.status, tc.body)
		}
	}
}

// TestBadInputNeverPanics: garbage from a gateway gets a verdict, never a
// panic, and never an acceptance without a token.
func TestBadInputNeverPanics(t *testing.T) {
	f := newFixture(t, testPolicy)
	huge := "/" + strings.Repeat("a/", 1<<19)
	for _, h := range []http.Header{
		{"X-Forwarded-Uri": {huge}},
		{"X-Forwarded-Uri": {"/%zz/admin"}},
		{"X-Forwarded-Uri": {"\xff\xfe"}},
		{"X-Forwarded-Uri": {""}},
		{"X-Forwarded-Uri": {"http://[::1"}},
		{"X-Forwarded-Uri": {"/x"}, "X-Forwarded-Method": {""}},
		{"X-Forwarded-Uri": {"/x"}, "X-Forwarded-Method": {strings.Repeat("M", 1<<16)}},
		{"X-Original-Uri": {"/x"}, "X-Original-Method": {"G\r\nET"}},
		{"X-Forwarded-Uri": {"/x"}, "Authorization": {"Bearer", "Bearer a", "\x00"}},
		{"X-Forwarded-Uri": {"/x"}, "Cookie": {"\x00=\x01; ;;="}},
		{"X-Forwarded-Uri": {"/x?%zz=%zz&&&="}},
	} {
		w := f.auth("/auth", h)
		if w.Code == 200 {
			t.Errorf("%q: accepted without a token", h)
		}
	}
	for _, p := range []string{"/auth/" + strings.Repeat("x", 1<<20), "/auth/%00", "/auth//../admin", "/auth/\x7f"} {
		if w := f.auth(p, http.Header{}); w.Code == 200 {
			t.Errorf("%.40q: accepted without a token", p)
		}
	}
}

// FuzzAuth: whatever URI a gateway forwards, a token without the admin
// scope is never accepted on a path an upstream would route under /admin.
func FuzzAuth(f *testing.F) {
	for _, s := range []string{"/admin", "/public/../admin", "/public/..%2fadmin", "//admin", "/%61dmin", `/public\..\admin`, "/admin?x", "https://h/admin"} {
		f.Add(s, "GET")
	}
	fx := newFixture(f, testPolicy)
	token := fx.idp.Token("alice", "read")
	f.Fuzz(func(t *testing.T, uri, method string) {
		w := fx.auth("/auth", bearer(token, "X-Forwarded-Uri", uri, "X-Forwarded-Method", method))
		p, _, _ := strings.Cut(uri, "?")
		p, _, _ = strings.Cut(p, "#")
		if w.Code == 200 && strings.HasPrefix(p, "/") && underPrefix(cleanPath(p), "/admin") {
			t.Errorf("%q %q: accepted without the admin scope", method, uri)
		}
	})
}

// The package keeps nothing of its own in a request context: no
// context.WithValue, no key type.
func TestNoContextKeyOfItsOwn(t *testing.T) {
	files, _ := filepath.Glob("*.go")
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SelectorExpr:
				if n.Sel.Name == "WithValue" {
					t.Errorf("%s: context.WithValue, a context value of the package's own", name)
				}
			case *ast.TypeSpec:
				if strings.HasSuffix(strings.ToLower(n.Name.Name), "key") {
					t.Errorf("%s: type %s, a context key of the package's own", name, n.Name.Name)
				}
			}
			return true
		})
	}
}

// SetPolicy puts a new policy in force for the next request, route
// requirements and claim headers alike; an invalid one is refused and the
// policy in force stays.
func TestSetPolicy(t *testing.T) {
	f := newFixture(t, "routes:\n  - prefix: /admin\n    scopes: [admin]\n")
	token := f.idp.Token("alice", "read")
	admin := func() int {
		return f.auth("/auth", bearer(token, "X-Forwarded-Method", "GET", "X-Forwarded-Uri", "/admin")).Code
	}
	if code := admin(); code != http.StatusForbidden {
		t.Fatalf("before: /admin without the admin scope: %d, want 403", code)
	}
	for _, tc := range []struct {
		name, policy string
		wantErr      bool
		want         int
	}{
		{"a route opened", "routes:\n  - prefix: /admin\n    scopes: [read]\n", false, http.StatusOK},
		{"unknown key refused", "routes:\n  - prefix: /admin\n    scope: [read]\n", true, http.StatusOK},
		{"a route closed again", "routes:\n  - prefix: /admin\n    roles: [ops]\n    roles_claim: roles\n", false, http.StatusForbidden},
		{"a duplicate route refused", "routes:\n  - prefix: /admin\n  - prefix: /admin\n", true, http.StatusForbidden},
	} {
		p, err := ParsePolicy([]byte(tc.policy))
		if err == nil {
			err = f.s.SetPolicy(p)
		}
		if (err != nil) != tc.wantErr {
			t.Fatalf("%s: error %v", tc.name, err)
		}
		if code := admin(); code != tc.want {
			t.Errorf("%s: /admin %d, want %d", tc.name, code, tc.want)
		}
	}
	if err := f.s.SetPolicy(&Policy{ClaimHeaders: []ClaimHeader{{Claim: "sub", Header: "X-Auth-Subject"}}}); err == nil {
		t.Error("a claim header on an identity header was put in force")
	}
	if err := f.s.SetPolicy(&Policy{ClaimHeaders: []ClaimHeader{{Claim: "sub", Header: "X-User"}}}); err != nil {
		t.Fatal(err)
	}
	if got := f.auth("/auth", bearer(token)).Header().Get("X-User"); got != "alice" {
		t.Errorf("the new claim header: %q, want alice", got)
	}
}
