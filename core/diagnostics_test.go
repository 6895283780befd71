package core_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// linesOf returns the decoded lines of logs with message msg.
func linesOf(t *testing.T, logs *jwtguardtest.Logs, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, rec := range logs.Lines() {
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// A key the baseline does not use (an ES256 key while only RS256 is
// allowed, an encryption key) is news at info level, a broken key a
// warning; each is logged when the set is first fetched and when it
// changes, not at every refresh that fetches the same document.
func TestSkippedKeysLoggedOncePerChange(t *testing.T) {
	v, idp, logs := jwtguardtest.NewLoggedVerifier(t, func(c *core.Config) { c.Algorithms = []string{"RS256"} })
	idp.Publish(jwtguardtest.NewKey("ES256"))
	idp.Publish(jwtguardtest.NewKey("RS256"), func(jwk map[string]any) { jwk["use"] = "enc" })
	idp.PublishJWK(map[string]any{"kty": "RSA", "kid": "broken", "n": "AQAB", "e": "AQAB"})
	for range 3 {
		if err := v.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		msg, level string
		want       int
		detail     string
	}{
		{"jwks key not used", "INFO", 2, `alg "ES256" is not allowed`},
		{"jwks key skipped", "WARN", 1, "broken"},
	} {
		lines := linesOf(t, logs, tc.msg)
		if len(lines) != tc.want {
			t.Errorf("%d %q lines after three fetches of one document, want %d: %v", len(lines), tc.msg, tc.want, lines)
			continue
		}
		joined := ""
		for _, l := range lines {
			if l["level"] != tc.level {
				t.Errorf("%q at %v, want %s", tc.msg, l["level"], tc.level)
			}
			joined += l["error"].(string) + " " + l["kid"].(string) + "\n"
		}
		if !strings.Contains(joined, tc.detail) {
			t.Errorf("%q lines do not say %q:\n%s", tc.msg, tc.detail, joined)
		}
	}

	// A rotation changes the set: its skipped keys are said again, once.
	idp.Rotate()
	for range 2 {
		if err := v.Refresh(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(linesOf(t, logs, "jwks key not used")); n != 4 {
		t.Errorf("%d lines after a key set change, want 4", n)
	}
}

// A key set with no usable key fails its fetch with why each key was
// skipped, so the failure line explains itself.
func TestNoUsableKeySaysWhy(t *testing.T) {
	v, _, _ := jwtguardtest.NewLoggedVerifier(t, func(c *core.Config) { c.Algorithms = []string{"ES256"} })
	st := v.Stats()[0]
	if !strings.Contains(st.LastError, "no usable key") || !strings.Contains(st.LastError, `alg "RS256" is not allowed`) {
		t.Errorf("last error %q, want no usable key and why", st.LastError)
	}
}

// The baseline's fingerprint and a key set's are logged under different
// keys, so a search for one never finds the other.
func TestFingerprintLogKeys(t *testing.T) {
	v, _, logs := jwtguardtest.NewLoggedVerifier(t)
	if err := v.Reload(core.Config{}); err == nil {
		t.Fatal("an empty baseline reloaded")
	}
	for _, tc := range []struct{ msg, key, value string }{
		{"jwtguard verifier started", "baseline_fingerprint", v.Config().Fingerprint()},
		{"jwtguard baseline reload refused", "baseline_fingerprint", v.Config().Fingerprint()},
		{"jwks key set changed", "jwks_fingerprint", v.Stats()[0].Fingerprint},
	} {
		lines := linesOf(t, logs, tc.msg)
		if len(lines) != 1 {
			t.Fatalf("%d %q lines, want 1", len(lines), tc.msg)
		}
		if lines[0][tc.key] != tc.value || lines[0]["fingerprint"] != nil {
			t.Errorf("%q: %s=%v fingerprint=%v, want %s=%s and no fingerprint", tc.msg, tc.key, lines[0][tc.key], lines[0]["fingerprint"], tc.key, tc.value)
		}
	}
}

// IssuerStats marshals its durations as Go duration strings, and reads
// them back.
func TestIssuerStatsJSON(t *testing.T) {
	for _, tc := range []struct {
		age  time.Duration
		want string
	}{
		{0, `"Age":"0s"`},
		{90 * time.Second, `"Age":"1m30s"`},
		{1500 * time.Millisecond, `"Age":"1.5s"`},
	} {
		in := core.IssuerStats{Issuer: "https://idp.example/", Age: tc.age, KIDs: []string{"a"}, Ready: true}
		b, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(b), tc.want) || !strings.Contains(string(b), `"Issuer":"https://idp.example/"`) {
			t.Errorf("%v: %s, want %s", tc.age, b, tc.want)
		}
		var out core.IssuerStats
		if err := json.Unmarshal(b, &out); err != nil || out.Age != tc.age || out.Issuer != in.Issuer || !out.Ready {
			t.Errorf("%s read back as %+v, %v", b, out, err)
		}
	}
	var out core.IssuerStats
	if err := json.Unmarshal([]byte(`{"Age":"soon"}`), &out); err == nil {
		t.Errorf("an Age that is no duration: %v, want an error", err)
	}
}
