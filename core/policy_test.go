package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

func TestRequireScopes(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	cases := []struct {
		name    string
		claims  func(c map[string]any)
		require []string
		missing string // "" means granted
	}{
		{name: "scope string", claims: func(c map[string]any) { c["scope"] = "read admin" }, require: []string{"admin"}},
		{name: "scp array", claims: func(c map[string]any) { delete(c, "scope"); c["scp"] = []string{"admin"} }, require: []string{"admin"}},
		{name: "scp string", claims: func(c map[string]any) { delete(c, "scope"); c["scp"] = "read admin" }, require: []string{"admin"}},
		{name: "administrator is not admin", claims: func(c map[string]any) { c["scope"] = "administrator" }, require: []string{"admin"}, missing: "admin"},
		{name: "case matters", claims: func(c map[string]any) { c["scope"] = "Admin" }, require: []string{"admin"}, missing: "admin"},
		{name: "no scope at all", claims: func(c map[string]any) { delete(c, "scope") }, require: []string{"admin"}, missing: "admin"},
		{name: "names every missing scope", claims: noEdit, require: []string{"read", "admin", "audit"}, missing: "admin audit"},
		{name: "nothing required", claims: noEdit},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(bg, sign(t, "RS256", "rsa", with(tc.claims)))
			if err != nil {
				t.Fatal(err)
			}
			err = v.Authorize(bg, c, core.RequireScopes(tc.require...))
			if tc.missing == "" {
				if err != nil {
					t.Fatalf("want granted, got %v", err)
				}
				return
			}
			assertReason(t, err, core.ReasonInsufficientScope)
			var e *core.Error
			errors.As(err, &e)
			if got := strings.Join(e.Scopes, " "); got != tc.missing {
				t.Fatalf("missing scopes %q, want %q", got, tc.missing)
			}
			if h := v.Response(err).WWWAuthenticate; !strings.Contains(h, `scope="`+tc.missing+`"`) {
				t.Fatalf("WWW-Authenticate %q does not name the scope", h)
			}
		})
	}
}

// TestRequireRoles runs each IdP's roles claim shape, and the shapes that
// must grant nothing, through RequireRoles.
func TestRequireRoles(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	set := func(name string, value any) func(map[string]any) {
		return func(c map[string]any) { c[name] = value }
	}
	cases := []struct {
		name    string
		claims  func(c map[string]any)
		path    string
		require []string
		missing string // "" means granted
	}{
		{name: "Entra roles array", claims: set("roles", []any{"Orders.Read", "Orders.Admin"}), path: "roles", require: []string{"Orders.Admin"}},
		{name: "Keycloak realm roles", claims: set("realm_access", map[string]any{"roles": []any{"admin", "user"}}), path: "realm_access.roles", require: []string{"admin", "user"}},
		{name: "Keycloak client roles", claims: set("resource_access", map[string]any{"orders-api": map[string]any{"roles": []any{"admin"}}}),
			path: "resource_access.orders-api.roles", require: []string{"admin"}},
		{name: "Keycloak client id with dots", claims: set("resource_access", map[string]any{"api.example.com": map[string]any{"roles": []any{"admin"}}}),
			path: "resource_access.api.example.com.roles", require: []string{"admin"}},
		{name: "Cognito groups", claims: set("cognito:groups", []any{"admins"}), path: "cognito:groups", require: []string{"admins"}},
		{name: "ZITADEL object keys", claims: set("urn:zitadel:iam:org:project:roles", map[string]any{"admin": map[string]any{"123": "acme.example"}}),
			path: "urn:zitadel:iam:org:project:roles", require: []string{"admin"}},
		{name: "dotted claim name taken whole first", claims: func(c map[string]any) {
			c["https://example.com/roles"] = []any{"admin"}
			c["https://example"] = map[string]any{"com/roles": []any{"other"}}
		}, path: "https://example.com/roles", require: []string{"admin"}},
		{name: "single string is one role", claims: set("roles", "admin"), path: "roles", require: []string{"admin"}},
		{name: "single string is never split", claims: set("roles", "admin user"), path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "exact match", claims: set("roles", []any{"administrator", "Admin"}), path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "names every missing role", claims: set("roles", []any{"read"}), path: "roles", require: []string{"read", "admin", "audit"}, missing: "admin audit"},
		{name: "absent claim", claims: noEdit, path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "path stops at a non-object", claims: set("realm_access", []any{"roles"}), path: "realm_access.roles", require: []string{"roles"}, missing: "roles"},
		{name: "array with a number grants nothing", claims: set("roles", []any{"admin", 7}), path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "array with an empty string grants nothing", claims: set("roles", []any{"admin", ""}), path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "nested array grants nothing", claims: set("roles", []any{[]any{"admin"}}), path: "roles", require: []string{"admin"}, missing: "admin"},
		{name: "number grants nothing", claims: set("roles", 1), path: "roles", require: []string{"1"}, missing: "1"},
		{name: "boolean grants nothing", claims: set("admin", true), path: "admin", require: []string{"admin"}, missing: "admin"},
		{name: "scope is not a role", claims: noEdit, path: "roles", require: []string{"read"}, missing: "read"},
		{name: "empty role name refuses", claims: set("roles", []any{"admin"}), path: "roles", require: []string{"admin", ""}, missing: "admin "},
		{name: "empty path refuses", claims: set("", []any{"admin"}), path: "", require: []string{"admin"}, missing: "admin"},
		{name: "nothing required", claims: noEdit, path: "roles"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := v.Verify(bg, sign(t, "RS256", "rsa", with(tc.claims)))
			if err != nil {
				t.Fatal(err)
			}
			err = v.Authorize(bg, c, core.RequireRoles(tc.path, tc.require...))
			if tc.missing == "" {
				if err != nil {
					t.Fatalf("want granted, got %v", err)
				}
				return
			}
			assertReason(t, err, core.ReasonInsufficientScope)
			var e *core.Error
			errors.As(err, &e)
			if got := strings.Join(e.Roles, " "); got != tc.missing {
				t.Fatalf("missing roles %q, want %q", got, tc.missing)
			}
			if len(e.Scopes) != 0 {
				t.Fatalf("a role refusal names scopes %q", e.Scopes)
			}
			if r := v.Response(err); r.Status != http.StatusForbidden || strings.Contains(r.WWWAuthenticate, "scope=") {
				t.Fatalf("response %d %q", r.Status, r.WWWAuthenticate)
			}
		})
	}
}

func TestAuthorizeCustomPolicy(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	c, err := v.Verify(bg, sign(t, "RS256", "rsa", goodClaims()))
	if err != nil {
		t.Fatal(err)
	}
	errTenant := errors.New("wrong tenant")
	err = v.Authorize(bg, c, func(context.Context, *core.Claims) error { return errTenant })
	assertReason(t, err, core.ReasonInsufficientScope)
	if !errors.Is(err, errTenant) {
		t.Error("the policy's own error is lost")
	}
	assertReason(t, v.Authorize(bg, nil), core.ReasonTokenMissing)
}

// TestResponses pins the RFC 6750 section 3 response of each class.
func TestResponses(t *testing.T) {
	v := newVerifier(t, baseConfig(t), core.WithRealm("orders"))
	cases := []struct {
		reason core.Reason
		status int
		header string
		body   string
	}{
		{core.ReasonTokenMissing, 401, `Bearer realm="orders"`, `{"error":"unauthorized","error_description":"authentication required"}`},
		{core.ReasonRequestInvalid, 400, `Bearer realm="orders", error="invalid_request"`, `{"error":"invalid_request","error_description":"the request is malformed"}`},
		{core.ReasonSignatureInvalid, 401, `Bearer realm="orders", error="invalid_token"`, `{"error":"invalid_token","error_description":"the access token is invalid"}`},
		{core.ReasonKeysUnavailable, 503, ``, `{"error":"temporarily_unavailable","error_description":"the token cannot be verified now"}`},
		{core.ReasonInsufficientScope, 403, `Bearer realm="orders", error="insufficient_scope", scope="admin"`, `{"error":"insufficient_scope","error_description":"the access token lacks the required scope"}`},
	}
	for _, tc := range cases {
		t.Run(string(tc.reason), func(t *testing.T) {
			err := &core.Error{Reason: tc.reason, Detail: "secret detail", Scopes: []string{"admin"}}
			w := httptest.NewRecorder()
			v.Response(err).WriteHTTP(w)
			if w.Code != tc.status || w.Header().Get("WWW-Authenticate") != tc.header ||
				strings.TrimSpace(w.Body.String()) != tc.body {
				t.Fatalf("got %d %q %s", w.Code, w.Header().Get("WWW-Authenticate"), w.Body.String())
			}
			if strings.Contains(w.Body.String(), "secret") {
				t.Fatal("response echoes the error detail")
			}
			if w.Header().Get("Cache-Control") != "no-store" || w.Header().Get("Content-Type") != "application/json" {
				t.Fatalf("headers %v", w.Header())
			}
		})
	}
	// A foreign error still refuses.
	if r := v.Response(errors.New("x")); r.Status != http.StatusUnauthorized {
		t.Fatalf("foreign error answered %d", r.Status)
	}
	// A realm cannot break out of its quoted-string.
	hostile := newVerifier(t, baseConfig(t), core.WithRealm("a\"b\r\nc"))
	if r := hostile.Response(&core.Error{Reason: core.ReasonTokenMissing}); r.WWWAuthenticate != `Bearer realm="abc"` {
		t.Fatalf("realm not sanitized: %q", r.WWWAuthenticate)
	}
}

func TestReasonTable(t *testing.T) {
	seen := map[core.Reason]bool{}
	for _, info := range core.Reasons() {
		if seen[info.Reason] {
			t.Errorf("%s listed twice", info.Reason)
		}
		seen[info.Reason] = true
		if info.HTTPStatus == 0 || info.GRPCCode == 0 {
			t.Errorf("%s: incomplete row %+v", info.Reason, info)
		}
		if info.Reason.Info() != info {
			t.Errorf("%s: Info() disagrees with Reasons()", info.Reason)
		}
	}
	if len(seen) != 19 {
		t.Errorf("%d reasons, want 19", len(seen))
	}
}

// TestPolicyRefusalLog checks that the log line of a refusal says which
// policy refused and what was missing, not only "policy refused".
func TestPolicyRefusalLog(t *testing.T) {
	cases := []struct {
		name   string
		policy core.Policy
		want   map[string]string
	}{
		{name: "scopes", policy: core.RequireScopes("read", "admin"),
			want: map[string]string{"reason": "insufficient_scope", "missing_scopes": "admin", "detail": "missing scope admin"}},
		{name: "roles", policy: core.RequireRoles("roles", "admin", "audit"),
			want: map[string]string{"reason": "insufficient_scope", "missing_roles": "admin audit", "detail": "claim roles holds no roles; missing role admin audit"}},
		{name: "custom policy", policy: func(context.Context, *core.Claims) error { return errors.New("tenant is not acme") },
			want: map[string]string{"reason": "insufficient_scope", "detail": "policy refused: tenant is not acme"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			v := newVerifier(t, baseConfig(t), core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			c, err := v.Verify(bg, sign(t, "RS256", "rsa", goodClaims()))
			if err != nil {
				t.Fatal(err)
			}
			logs.Reset() // the start line
			assertReason(t, v.Authorize(bg, c, tc.policy), core.ReasonInsufficientScope)
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("not one JSON log line: %q", logs.String())
			}
			for k, want := range tc.want {
				if line[k] != want {
					t.Errorf("%s = %v, want %q", k, line[k], want)
				}
			}
			for _, k := range []string{"missing_scopes", "missing_roles"} {
				if _, ok := tc.want[k]; !ok && line[k] != nil {
					t.Errorf("%s logged: %v", k, line[k])
				}
			}
		})
	}
}
