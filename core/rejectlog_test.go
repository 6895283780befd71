package core_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard/core"
)

// rejectionLine authenticates a GET of target carrying token through a
// verifier on cfg, with the cache on, and returns its one rejection line.
func rejectionLine(t *testing.T, cfg core.Config, target, token string) map[string]any {
	t.Helper()
	var buf bytes.Buffer
	v := newVerifier(t, cfg, core.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
	buf.Reset() // the start line
	r := httptest.NewRequest(http.MethodGet, target, nil)
	r.Header.Set("Authorization", "Bearer "+token)
	if _, err := v.Authenticate(bg, core.HTTPRequest(r)); err == nil {
		t.Fatal("accepted")
	}
	lines := bytes.Split(bytes.TrimSpace(buf.Bytes()), []byte("\n"))
	if len(lines) != 1 {
		t.Fatalf("%d log lines, want one:\n%s", len(lines), buf.Bytes())
	}
	var rec map[string]any
	if err := json.Unmarshal(lines[0], &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// TestRejectionLineAttributes: each rejection line carries the values that
// explain it, read from the token under "unverified", what the baseline
// expected for the reasons that compare one with the other, and the
// request's method and path (never its query).
func TestRejectionLineAttributes(t *testing.T) {
	withClaims := func(edit func(map[string]any)) map[string]any {
		c := goodClaims()
		c["client_id"], c["azp"] = "orders-ui", "orders-ui-azp"
		edit(c)
		return c
	}
	typed := baseConfig(t)
	typed.TokenTypes = []string{"at+jwt"}
	byClient := baseConfig(t)
	byClientID(&byClient)
	for _, tc := range []struct {
		name  string
		cfg   core.Config
		token string
		want  map[string]any // attributes; "unverified" compared as a whole
	}{
		{"audience_invalid", baseConfig(t), sign(t, "RS256", "rsa", withClaims(func(c map[string]any) { c["aud"] = []string{"billing-api", "other"} })),
			map[string]any{"reason": "audience_invalid", "accepted_aud": []any{testAudience},
				"unverified": map[string]any{"kid": "rsa", "alg": "RS256", "typ": "JWT", "iss": testIssuer,
					"aud": []any{"billing-api", "other"}, "sub": "user-1", "client_id": "orders-ui", "azp": "orders-ui-azp"}}},
		{"audience_invalid under audience_claim: client_id", byClient,
			sign(t, "RS256", "rsa", withClaims(func(c map[string]any) { delete(c, "aud"); c["client_id"] = otherClient })),
			map[string]any{"reason": "audience_invalid", "accepted_aud": []any{appClient},
				"unverified": map[string]any{"kid": "rsa", "alg": "RS256", "typ": "JWT", "iss": testIssuer,
					"sub": "user-1", "client_id": otherClient, "azp": "orders-ui-azp"}}},
		{"issuer_invalid", baseConfig(t), sign(t, "RS256", "rsa", withClaims(func(c map[string]any) { c["iss"] = "https://idp.example.com" })),
			map[string]any{"reason": "issuer_invalid", "trusted_iss": []any{testIssuer},
				"unverified": map[string]any{"kid": "rsa", "alg": "RS256", "typ": "JWT", "iss": "https://idp.example.com",
					"aud": []any{testAudience}, "sub": "user-1", "client_id": "orders-ui", "azp": "orders-ui-azp"}}},
		{"type_invalid", typed, sign(t, "RS256", "rsa", withClaims(func(map[string]any) {})),
			map[string]any{"reason": "type_invalid", "accepted_typ": []any{"at+jwt"},
				"unverified": map[string]any{"kid": "rsa", "alg": "RS256", "typ": "JWT",
					"aud": []any{testAudience}, "sub": "user-1", "client_id": "orders-ui", "azp": "orders-ui-azp"}}},
		{"alg_not_allowed", baseConfig(t), sign(t, "PS256", "rsa", withClaims(func(map[string]any) {})),
			map[string]any{"reason": "alg_not_allowed", "allowed_alg": []any{"ES256", "EdDSA", "RS256"},
				"unverified": map[string]any{"kid": "rsa", "alg": "PS256", "typ": "JWT",
					"aud": []any{testAudience}, "sub": "user-1", "client_id": "orders-ui", "azp": "orders-ui-azp"}}},
		{"token_expired: sub and client_id, no expectation", baseConfig(t),
			sign(t, "ES256", "ec", withClaims(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix(); delete(c, "azp") })),
			map[string]any{"reason": "token_expired",
				"unverified": map[string]any{"kid": "ec", "alg": "ES256", "typ": "JWT", "iss": testIssuer,
					"aud": []any{testAudience}, "sub": "user-1", "client_id": "orders-ui"}}},
		{"token_malformed: nothing could be read", baseConfig(t), "a.b",
			map[string]any{"reason": "token_malformed"}},
		{"header unreadable, claims readable", baseConfig(t), enc.EncodeToString([]byte("{")) + "." + enc.EncodeToString([]byte(`{"sub":"bob","aud":"x"}`)) + ".c2ln",
			map[string]any{"reason": "token_malformed", "unverified": map[string]any{"sub": "bob", "aud": []any{"x"}}}},
		{"claims of the wrong type are left out", baseConfig(t), sign(t, "RS256", "rsa", withClaims(func(c map[string]any) { c["sub"], c["aud"] = 7, 8 })),
			map[string]any{"reason": "claim_invalid",
				"unverified": map[string]any{"kid": "rsa", "alg": "RS256", "typ": "JWT", "client_id": "orders-ui", "azp": "orders-ui-azp"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := rejectionLine(t, tc.cfg, "/orders/7?access_token=secret", tc.token)
			tc.want["method"], tc.want["path"] = "GET", "/orders/7"
			for k, want := range tc.want {
				if !reflect.DeepEqual(rec[k], want) {
					t.Errorf("%s = %#v, want %#v", k, rec[k], want)
				}
			}
			for _, k := range []string{"accepted_aud", "trusted_iss", "accepted_typ", "allowed_alg", "unverified"} {
				if _, ok := tc.want[k]; !ok && rec[k] != nil {
					t.Errorf("%s = %#v, want none", k, rec[k])
				}
			}
			if _, ok := rec["detail"]; !ok {
				t.Error("no detail")
			}
		})
	}
}

// TestRejectionLineBounds: a value from a token is clipped to 256 bytes at
// a character boundary, an aud list to 16 entries and a count, and a value
// that could break a line (quotes, newlines, a JSON fragment) stays one
// string attribute, escaped by the handler.
func TestRejectionLineBounds(t *testing.T) {
	long := strings.Repeat("a", 255) + "é" + strings.Repeat("b", 100) // é straddles byte 256
	many := make([]string, 40)
	for i := range many {
		many[i] = "aud"
	}
	hostile := "x\"}\n{\"reason\":\"accepted\",\"level\":\"DEBUG"
	c := goodClaims()
	c["sub"], c["aud"], c["client_id"] = long, many, hostile
	cfg := baseConfig(t)
	cfg.MaxTokenBytes = 16 << 10
	rec := rejectionLine(t, cfg, "/x", sign(t, "RS256", "rsa", c))
	u, _ := rec["unverified"].(map[string]any)
	sub, _ := u["sub"].(string)
	if sub != strings.Repeat("a", 255) || !utf8.ValidString(sub) {
		t.Errorf("sub clipped to %d bytes %q, want the 255 bytes before the split character", len(sub), sub)
	}
	aud, _ := u["aud"].([]any)
	if len(aud) != 17 || aud[16] != "(24 more)" {
		t.Errorf("aud of %d entries ending %v, want 16 and (24 more)", len(aud), aud[len(aud)-1])
	}
	if u["client_id"] != hostile || rec["reason"] != "audience_invalid" {
		t.Errorf("client_id %q, reason %v: the value must stay one escaped string", u["client_id"], rec["reason"])
	}
	path := "/" + strings.Repeat("p", 300)
	if rec := rejectionLine(t, baseConfig(t), path, "a.b"); len(rec["path"].(string)) != 256 {
		t.Errorf("path of %d bytes, want 256", len(rec["path"].(string)))
	}
}

// TestRejectionLineWithoutRequest: Verify has no request, so its line has
// no method or path; a Request that does not implement RequestTarget, or
// whose Target panics, gives a line without them too, never a panic.
func TestRejectionLineWithoutRequest(t *testing.T) {
	for _, tc := range []struct {
		name string
		call func(v *core.Verifier)
	}{
		{"Verify", func(v *core.Verifier) { v.Verify(bg, "a.b") }},
		{"a Request without Target", func(v *core.Verifier) { v.Authenticate(bg, headerOnly{"Bearer a.b"}) }},
		{"a Request whose Target panics", func(v *core.Verifier) { v.Authenticate(bg, panickyTarget{headerOnly{"Bearer a.b"}}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			v := newVerifier(t, baseConfig(t), core.WithLogger(slog.New(slog.NewJSONHandler(&buf, nil))))
			buf.Reset()
			tc.call(v)
			var rec map[string]any
			if err := json.Unmarshal(buf.Bytes(), &rec); err != nil {
				t.Fatalf("%v: %s", err, buf.Bytes())
			}
			if rec["reason"] != "token_malformed" || rec["method"] != nil || rec["path"] != nil {
				t.Errorf("line %v, want token_malformed without method and path", rec)
			}
		})
	}
}

type headerOnly struct{ authorization string }

func (h headerOnly) Header(name string) []string {
	if name == "Authorization" {
		return []string{h.authorization}
	}
	return nil
}
func (headerOnly) Query(string) []string        { return nil }
func (headerOnly) Cookie(string) (string, bool) { return "", false }

type panickyTarget struct{ headerOnly }

func (panickyTarget) Target() (string, string) { panic("boom") }
