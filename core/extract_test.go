package core_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

type extractCase struct {
	name    string
	req     func(r *http.Request)
	sources core.TokenSourcesConfig
	token   string // wanted token when want is ""
	want    core.Reason
}

// extractCases follow RFC 6750 section 2.
var extractCases = []extractCase{
	{name: "bearer", req: header("Bearer abc.def.ghi"), token: "abc.def.ghi"},
	{name: "lowercase scheme", req: header("bearer abc.def.ghi"), token: "abc.def.ghi"},
	{name: "uppercase scheme", req: header("BEARER abc.def.ghi"), token: "abc.def.ghi"},
	{name: "several spaces after scheme", req: header("Bearer   abc.def.ghi"), token: "abc.def.ghi"},
	{name: "no header", req: func(*http.Request) {}, want: core.ReasonTokenMissing},
	{name: "empty header", req: header(""), want: core.ReasonTokenMissing},
	{name: "basic scheme", req: header("Basic dXNlcjpwYXNz"), want: core.ReasonTokenMissing},
	{name: "bearer prefix of another scheme", req: header("Bearerx abc"), want: core.ReasonTokenMissing},
	{name: "bearer without token", req: header("Bearer"), want: core.ReasonRequestInvalid},
	{name: "bearer with only spaces", req: header("Bearer    "), want: core.ReasonRequestInvalid},
	{name: "extra parts", req: header("Bearer abc def"), want: core.ReasonRequestInvalid},
	{name: "two tokens comma-joined", req: header("Bearer abc, Bearer def"), want: core.ReasonRequestInvalid},
	// The token's first byte counts too: only spaces separate it from the
	// scheme (RFC 6750 section 2.1, 1*SP).
	{name: "tab before the token", req: header("Bearer \tabc"), want: core.ReasonRequestInvalid},
	{name: "comma before the token", req: header("Bearer ,abc"), want: core.ReasonRequestInvalid},
	{name: "two Authorization headers", req: func(r *http.Request) {
		r.Header.Add("Authorization", "Bearer abc")
		r.Header.Add("Authorization", "Bearer def")
	}, want: core.ReasonRequestInvalid},
	{name: "query token while query is off", req: func(r *http.Request) { r.URL.RawQuery = "access_token=abc" }, want: core.ReasonTokenMissing},
	{name: "cookie token while cookies are off", req: func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: "abc"}) }, want: core.ReasonTokenMissing},
	{name: "query token when on", sources: core.TokenSourcesConfig{Query: "access_token"},
		req: func(r *http.Request) { r.URL.RawQuery = "access_token=abc" }, token: "abc"},
	{name: "empty query token", sources: core.TokenSourcesConfig{Query: "access_token"},
		req: func(r *http.Request) { r.URL.RawQuery = "access_token=" }, want: core.ReasonTokenMissing},
	{name: "two query tokens", sources: core.TokenSourcesConfig{Query: "access_token"},
		req: func(r *http.Request) { r.URL.RawQuery = "access_token=abc&access_token=def" }, want: core.ReasonRequestInvalid},
	{name: "cookie token when on", sources: core.TokenSourcesConfig{Cookie: "at"},
		req: func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: "abc"}) }, token: "abc"},
	{name: "header and query", sources: core.TokenSourcesConfig{Query: "access_token"},
		req: func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer abc")
			r.URL.RawQuery = "access_token=abc"
		}, want: core.ReasonRequestInvalid},
	{name: "header and an empty cookie", sources: core.TokenSourcesConfig{Cookie: "at"},
		req: func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer abc")
			r.Header.Add("Cookie", "at=")
		}, token: "abc"},
	{name: "header and cookie", sources: core.TokenSourcesConfig{Cookie: "at"},
		req: func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer abc")
			r.AddCookie(&http.Cookie{Name: "at", Value: "abc"})
		}, want: core.ReasonRequestInvalid},
}

func header(v string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", v) }
}

func TestExtract(t *testing.T) {
	for _, tc := range extractCases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.TokenSources = tc.sources
			v := newVerifier(t, cfg)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			tc.req(r)
			tok, err := v.ExtractForTest(core.HTTPRequest(r))
			if tc.want != "" {
				assertReason(t, err, tc.want)
				return
			}
			if err != nil || tok != tc.token {
				t.Fatalf("got %q, %v; want %q", tok, err, tc.token)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	v := newVerifier(t, baseConfig(t))
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Authorization", "Bearer "+sign(t, "EdDSA", "ed", goodClaims()))
	c, err := v.Authenticate(bg, core.HTTPRequest(r))
	if err != nil || c.Subject() != "user-1" {
		t.Fatalf("Authenticate: %v", err)
	}
	r.Header.Set("Authorization", "Bearer "+sign(t, "EdDSA", "ed", with(func(c map[string]any) { c["aud"] = "x" })))
	_, err = v.Authenticate(bg, core.HTTPRequest(r))
	assertReason(t, err, core.ReasonAudienceInvalid)
}

// TestAuthenticateOptional: only a request that presents no credentials at
// all passes as anonymous; every other request gets Authenticate's own
// verdict, so an optional route never ignores a bad or misplaced token.
func TestAuthenticateOptional(t *testing.T) {
	valid := sign(t, "EdDSA", "ed", goodClaims())
	expired := sign(t, "EdDSA", "ed", with(func(c map[string]any) { c["exp"] = testNow.Add(-time.Hour).Unix() }))
	cases := []struct {
		name      string
		req       func(r *http.Request)
		sources   core.TokenSourcesConfig
		anonymous bool
		want      core.Reason // "" with anonymous false: accepted
	}{
		{name: "no credentials", req: func(*http.Request) {}, anonymous: true},
		{name: "empty Authorization header", req: header(" "), anonymous: true},
		{name: "a cookie that is no token source", req: func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "session", Value: "x"}) }, anonymous: true},
		{name: "an empty token cookie", sources: core.TokenSourcesConfig{Cookie: "at"}, req: func(r *http.Request) { r.Header.Add("Cookie", "at=") }, anonymous: true},
		{name: "valid token", req: header("Bearer " + valid)},
		{name: "expired token", req: header("Bearer " + expired), want: core.ReasonTokenExpired},
		{name: "forged token", req: header("Bearer " + valid[:len(valid)-4] + "AAAA"), want: core.ReasonSignatureInvalid},
		{name: "malformed token", req: header("Bearer abc"), want: core.ReasonTokenMalformed},
		{name: "Bearer without a token", req: header("Bearer"), want: core.ReasonRequestInvalid},
		{name: "another scheme", req: header("Basic dXNlcjpwYXNz"), want: core.ReasonTokenMissing},
		{name: "query token while query is off", req: func(r *http.Request) { r.URL.RawQuery = "access_token=" + valid }, want: core.ReasonTokenMissing},
		{name: "empty query token while query is off", req: func(r *http.Request) { r.URL.RawQuery = "access_token=" }, want: core.ReasonTokenMissing},
		{name: "configured query token", sources: core.TokenSourcesConfig{Query: "jwt"}, req: func(r *http.Request) { r.URL.RawQuery = "jwt=" + valid }},
		{name: "empty configured query token", sources: core.TokenSourcesConfig{Query: "jwt"}, req: func(r *http.Request) { r.URL.RawQuery = "jwt=" }, want: core.ReasonTokenMissing},
		{name: "bad token cookie", sources: core.TokenSourcesConfig{Cookie: "at"}, req: func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "at", Value: "abc"}) }, want: core.ReasonTokenMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := baseConfig(t)
			cfg.TokenSources = tc.sources
			var logs bytes.Buffer
			v := newVerifier(t, cfg, core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			tc.req(r)
			logs.Reset()
			c, err := v.AuthenticateOptional(bg, core.HTTPRequest(r))
			switch {
			case tc.anonymous:
				if c != nil || err != nil || logs.Len() > 0 {
					t.Fatalf("want anonymous, got %v, %v, log %q", c, err, logs.String())
				}
				_, err := v.Authenticate(bg, core.HTTPRequest(r))
				assertReason(t, err, core.ReasonTokenMissing) // the required mode refuses it
			case tc.want == "":
				if err != nil || c.Subject() != "user-1" {
					t.Fatalf("want accepted, got %v", err)
				}
			default:
				assertReason(t, err, tc.want)
				if c != nil || !strings.Contains(logs.String(), `"reason":"`+string(tc.want)+`"`) {
					t.Fatalf("claims %v, log %q", c, logs.String())
				}
				_, required := v.Authenticate(bg, core.HTTPRequest(r))
				assertReason(t, required, tc.want)
			}
		})
	}
	v := newVerifier(t, baseConfig(t))
	_, err := v.AuthenticateOptional(bg, panicking{})
	assertReason(t, err, core.ReasonRequestInvalid)
}

// panicking is a Request whose every method panics.
type panicking struct{}

func (panicking) Header(string) []string       { panic("header") }
func (panicking) Query(string) []string        { panic("query") }
func (panicking) Cookie(string) (string, bool) { panic("cookie") }
