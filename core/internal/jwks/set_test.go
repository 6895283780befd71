package jwks

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestParseLimits: a key set of exactly maxJWKSBytes is read, one byte more
// is refused before parsing; key_ops must include verify when present (RFC
// 7517 section 4.3); a second key under a kid is skipped, keys without a
// kid are not.
func TestParseLimits(t *testing.T) {
	doc := newTestIdP(t).doc
	algs := map[string]bool{"ES256": true}
	pad := func(n int) []byte { return []byte(doc[:len(doc)-1] + strings.Repeat(" ", n-len(doc)) + "}") }
	withOps := func(ops string) []byte {
		return []byte(strings.Replace(doc, `"use":"sig"`, `"use":"sig","key_ops":`+ops, 1))
	}
	twice := func(kid1, kid2 string) []byte {
		k := doc[len(`{"keys":[`) : len(doc)-2]
		return []byte(`{"keys":[` + strings.Replace(k, `"kid":"k1"`, `"kid":"`+kid1+`"`, 1) + "," +
			strings.Replace(k, `"kid":"k1"`, `"kid":"`+kid2+`"`, 1) + "]}")
	}
	for _, tc := range []struct {
		name string
		data []byte
		keys int // 0: refused
	}{
		// RFC 7517 section 4.5: one kid, one key; the first is kept.
		{"the same kid twice", twice("k1", "k1"), 1},
		{"two keys without kid", twice("", ""), 2},
		{"exactly maxJWKSBytes", pad(maxJWKSBytes), 1},
		{"one byte over maxJWKSBytes", pad(maxJWKSBytes + 1), 0},
		{"key_ops with verify", withOps(`["verify"]`), 1},
		{"key_ops without verify", withOps(`["encrypt"]`), 0},
	} {
		keys, _, err := Parse(tc.data, algs)
		if len(keys) != tc.keys || (err == nil) != (tc.keys > 0) {
			t.Errorf("%s: %d keys, error %v; want %d keys", tc.name, len(keys), err, tc.keys)
		}
	}
}

// TestNoDowngrade: a redirect from https to any other scheme is refused
// before it is followed (RFC 7517 section 9.1); other redirects follow the
// caller's policy, or net/http's default of at most ten.
func TestNoDowngrade(t *testing.T) {
	errCaller := errors.New("caller's policy")
	req := func(rawURL string) *http.Request {
		return &http.Request{URL: &url.URL{Scheme: strings.Split(rawURL, ":")[0]}}
	}
	chain := func(n int, scheme string) []*http.Request {
		via := make([]*http.Request, n)
		for i := range via {
			via[i] = req(scheme + "://idp.test/")
		}
		return via
	}
	for _, tc := range []struct {
		name   string
		policy func(*http.Request, []*http.Request) error
		to     string
		via    []*http.Request
		want   error // nil: followed; errAny: refused
	}{
		{"https to http", nil, "http://idp.test/", chain(1, "https"), errAny},
		{"https to https", nil, "https://idp.test/", chain(1, "https"), nil},
		{"http to http", nil, "http://idp.test/", chain(1, "http"), nil},
		{"ninth redirect", nil, "https://idp.test/", chain(9, "https"), nil},
		{"tenth redirect", nil, "https://idp.test/", chain(10, "https"), errAny},
		{"the caller's policy", func(*http.Request, []*http.Request) error { return errCaller }, "https://idp.test/", chain(1, "https"), errCaller},
		{"the caller's policy allows more", func(*http.Request, []*http.Request) error { return nil }, "https://idp.test/", chain(12, "https"), nil},
	} {
		c := noDowngrade(&http.Client{CheckRedirect: tc.policy})
		err := c.CheckRedirect(req(tc.to), tc.via)
		switch {
		case tc.want == nil && err != nil, tc.want != nil && err == nil:
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		case tc.want != nil && tc.want != errAny && !errors.Is(err, tc.want):
			t.Errorf("%s: %v, want %v", tc.name, err, tc.want)
		}
	}
}

var errAny = errors.New("any error")

// TestFailureUnwrap: a failure is its class for errors.Is, and its cause
// too when it has one, so a caller can tell a timeout from a refusal.
func TestFailureUnwrap(t *testing.T) {
	withCause := fail(ErrUnavailable, "fetch failed", io.ErrUnexpectedEOF)
	if !errors.Is(withCause, ErrUnavailable) || !errors.Is(withCause, io.ErrUnexpectedEOF) || errors.Is(withCause, ErrNotFound) {
		t.Errorf("a failure with a cause unwraps to %v", withCause.(*failure).Unwrap())
	}
	if got := errAbsent.(*failure).Unwrap(); len(got) != 1 || got[0] != ErrNotFound {
		t.Errorf("a failure without a cause unwraps to %v, want only its class", got)
	}
}

// TestParseNoUsableKeySaysWhy: a set without a usable key fails with the
// reasons of its first skipped keys, and a count of the rest, so the
// failure stays one short line however many keys the set holds.
func TestParseNoUsableKeySaysWhy(t *testing.T) {
	key := func(kid string) string { return `{"kty":"oct","kid":"` + kid + `","k":"c2VjcmV0"}` }
	for _, tc := range []struct {
		name string
		keys []string
		want []string
		not  string
	}{
		{"none", nil, []string{"no usable key in the key set"}, "("},
		{"one", []string{key("a")}, []string{`(kid "a": symmetric (oct) keys are never used)`}, "more"},
		{"ten", []string{key("0"), key("1"), key("2"), key("3"), key("4"), key("5"), key("6"), key("7"), key("8"), key("9")},
			[]string{`kid "7"`, "; 2 more)"}, `kid "8"`},
	} {
		_, skipped, err := Parse([]byte(`{"keys":[`+strings.Join(tc.keys, ",")+`]}`), map[string]bool{"RS256": true})
		if !errors.Is(err, errNoUsableKey) || len(skipped) != len(tc.keys) {
			t.Fatalf("%s: %v with %d skipped, want errNoUsableKey and %d", tc.name, err, len(skipped), len(tc.keys))
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), tc.not) {
			t.Errorf("%s: %q holds %q", tc.name, err, tc.not)
		}
	}
}
