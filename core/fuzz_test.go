package core_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// FuzzVerify feeds arbitrary strings to Verify. Verification recovers
// panics and fails closed, so the fuzzer also fails on the rejection that a
// recovered panic produces: any panic is a bug even when it is contained.
//
// Run it locally (not in CI), for example:
//
//	go test -run '^$' -fuzz FuzzVerify -fuzztime 60s ./core/
func FuzzVerify(f *testing.F) {
	for _, tc := range verifyCases {
		if tc.cfg == nil {
			f.Add(tc.token(f))
		}
	}
	v := newVerifier(f, baseConfig(f))
	f.Fuzz(func(t *testing.T, token string) {
		c, err := v.Verify(bg, token)
		if err == nil {
			if c == nil || c.Issuer() != testIssuer {
				t.Fatalf("accepted without the trusted issuer: %+v", c)
			}
			return
		}
		var e *core.Error
		if !errors.As(err, &e) {
			t.Fatalf("not a *core.Error: %T", err)
		}
		if strings.Contains(e.Detail, "internal failure") {
			t.Fatalf("verification panicked on %q", token)
		}
		if !slices.ContainsFunc(core.Reasons(), func(i core.ReasonInfo) bool { return i.Reason == e.Reason }) {
			t.Fatalf("unknown reason %q", e.Reason)
		}
		if len(token) >= 16 && strings.Contains(err.Error(), token) {
			t.Fatal("error message contains the token")
		}
	})
}
