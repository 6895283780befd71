package core_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

const goodBaseline = `# comment
issuers:
  - issuer: https://idp.example.com/
    jwks_url: https://idp.example.com/.well-known/jwks.json
  - issuer: https://partner.example.com/
    jwks_inline: {"keys": []}
audiences: [orders-api, billing-api]
algorithms: [RS256, ES256, EdDSA]
leeway: 30s
required_claims: [sub]
token_types: [at+jwt]
max_token_bytes: 4096
jwks:
  refresh_interval: 15m
  unknown_kid_interval: 10s
  max_stale: 12h
  http_timeout: 3s
  convergence_window: 2s
cache:
  max_entries: 500
  max_ttl: 1m
token_sources:
  cookie: access_token
`

func TestParseBaseline(t *testing.T) {
	cfg, err := core.ParseBaseline([]byte(goodBaseline))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Issuers) != 2 || cfg.Issuers[0].JWKSURL == "" || cfg.Issuers[1].JWKSInline != `{"keys":[]}` {
		t.Errorf("issuers %+v", cfg.Issuers)
	}
	if cfg.Leeway != 30*time.Second || cfg.JWKS.RefreshInterval != 15*time.Minute || cfg.JWKS.UnknownKIDInterval != 10*time.Second ||
		cfg.JWKS.MaxStale != 12*time.Hour || cfg.JWKS.HTTPTimeout != 3*time.Second || cfg.MaxTokenBytes != 4096 ||
		cfg.JWKS.ConvergenceWindow != 2*time.Second {
		t.Errorf("durations/sizes %+v", cfg)
	}
	if *cfg.Cache.MaxEntries != 500 || cfg.Cache.MaxTTL != time.Minute || cfg.TokenSources.Cookie != "access_token" {
		t.Errorf("cache/sources %+v %+v", cfg.Cache, cfg.TokenSources)
	}
	if strings.Join(cfg.Audiences, ",") != "orders-api,billing-api" || strings.Join(cfg.TokenTypes, ",") != "at+jwt" ||
		strings.Join(cfg.RequiredClaims, ",") != "sub" {
		t.Errorf("lists %+v", cfg)
	}
}

// TestBaselineErrors: every problem names its key and, from a file, its line.
func TestBaselineErrors(t *testing.T) {
	base := "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\n"
	cases := []struct {
		name, yaml string
		key        string
		line       int
		msg        string
	}{
		{"unknown key", base + "audience: [x]\n", "audience", 6, "unknown key"},
		{"unknown nested key", base + "jwks:\n  refresh: 1m\n", "jwks.refresh", 7, "unknown key"},
		{"typo in issuer", strings.Replace(base, "jwks_url", "jwks_uri", 1), "issuers[0].jwks_uri", 3, "unknown key"},
		{"wrong type list", strings.Replace(base, "audiences: [api]", "audiences: api", 1), "audiences", 4, "list of strings"},
		{"wrong type duration", base + "leeway: 30\n", "leeway", 6, "duration"},
		{"bad duration", base + "leeway: soon\n", "leeway", 6, "duration"},
		{"wrong type int", base + "max_token_bytes: big\n", "max_token_bytes", 6, "whole number"},
		{"wrong type bool", base + "insecure_skip_audience: yes please\n", "insecure_skip_audience", 6, "true or false"},
		{"key twice", base + "leeway: 1s\nleeway: 2s\n", "leeway", 7, "twice"},
		{"alg none", strings.Replace(base, "[RS256]", "[RS256, none]", 1), "algorithms", 5, "never allowed"},
		{"alg NONE", strings.Replace(base, "[RS256]", "[NONE]", 1), "algorithms", 5, "never allowed"},
		{"HMAC with JWKS", strings.Replace(base, "[RS256]", "[HS256]", 1), "algorithms", 5, "HMAC"},
		{"empty algorithms", strings.Replace(base, "[RS256]", "[]", 1), "algorithms", 5, "at least one"},
		{"unknown algorithm", strings.Replace(base, "[RS256]", "[RS257]", 1), "algorithms", 5, "not a supported"},
		{"no audience", strings.Replace(base, "audiences: [api]\n", "", 1), "audiences", 0, "insecure_skip_audience"},
		{"leeway too large", base + "leeway: 6m\n", "leeway", 6, "between"},
		{"http jwks_url", strings.Replace(base, "https://idp.example.com/jwks", "http://idp.example.com/jwks", 1), "issuers[0].jwks_url", 3, "not https"},
		{"two key sources", base[:len("issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\n")] + "    jwks_file: x.json\n" + base[len("issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\n"):], "issuers[0]", 2, "exactly one"},
		{"no issuers", "audiences: [api]\nalgorithms: [RS256]\n", "issuers", 0, "at least one issuer"},
		{"duplicate issuer", strings.Replace(base, "audiences", "  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences", 1), "issuers[1].issuer", 4, "twice"},
		{"not YAML", "issuers: [", "(file)", 0, "not valid YAML"},
		{"empty", "", "(file)", 0, "empty"},
		{"not a mapping", "- a\n- b\n", "(file)", 1, "mapping"},
		{"two documents", base + "---\na: 1\n", "(file)", 0, "more than one"},
		{"unknown kid interval over refresh", base + "jwks:\n  refresh_interval: 1s\n  unknown_kid_interval: 2s\n", "jwks.unknown_kid_interval", 8, "must not exceed"},
		{"convergence window as long as refresh", base + "jwks:\n  refresh_interval: 1m\n  convergence_window: 1m\n", "jwks.convergence_window", 8, "shorter than"},
		{"negative convergence window", base + "jwks:\n  convergence_window: -1s\n", "jwks.convergence_window", 7, "negative"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ParseBaseline([]byte(tc.yaml))
			if err == nil {
				t.Fatal("accepted")
			}
			var ce *core.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("want *core.ConfigError, got %T %v", err, err)
			}
			var found *core.ConfigError
			all, _ := err.(interface{ Unwrap() []error })
			for _, e := range all.Unwrap() {
				if ce, ok := e.(*core.ConfigError); ok && ce.Key == tc.key {
					found = ce
				}
			}
			if found == nil {
				t.Fatalf("no error names %q: %v", tc.key, err)
			}
			if !strings.Contains(found.Msg, tc.msg) {
				t.Errorf("message %q lacks %q", found.Msg, tc.msg)
			}
			if tc.line != 0 && found.Line != tc.line {
				t.Errorf("line %d, want %d (%v)", found.Line, tc.line, found)
			}
			if !strings.Contains(err.Error(), tc.key) {
				t.Errorf("error text does not name the key: %v", err)
			}
		})
	}
}

func TestBaselineInsecureOptOuts(t *testing.T) {
	y := "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: http://idp.internal/jwks\n" +
		"algorithms: [RS256]\ninsecure_skip_audience: true\ninsecure_http_jwks: true\n"
	cfg, err := core.ParseBaseline([]byte(y))
	if err != nil {
		t.Fatalf("written-out opt-outs must be accepted: %v", err)
	}
	lint := core.LintBaseline([]byte(y))
	if len(lint.Errors) != 0 {
		t.Fatalf("problems %v", lint.Errors)
	}
	keys := map[string]bool{}
	for _, w := range lint.Warnings {
		keys[w.Key] = true
	}
	for _, k := range []string{"insecure_skip_audience", "insecure_http_jwks", "token_types"} {
		if !keys[k] {
			t.Errorf("no warning for %s", k)
		}
	}
	if !cfg.InsecureSkipAudience || !cfg.InsecureHTTPJWKS {
		t.Fatal("opt-outs not parsed")
	}
	// Loopback needs no opt-out.
	loop := "issuers:\n  - issuer: a\n    jwks_url: http://127.0.0.1:8080/jwks\naudiences: [x]\nalgorithms: [ES256]\n"
	if _, err := core.ParseBaseline([]byte(loop)); err != nil {
		t.Fatalf("loopback http: %v", err)
	}
}

func TestLintReportsEveryProblem(t *testing.T) {
	y := "issuers:\n  - issuer: a\n    jwks_url: http://idp/jwks\nalgorithms: [none, HS256]\nleeway: 10m\n"
	problems := core.LintBaseline([]byte(y)).Errors
	keys := map[string]int{}
	for _, p := range problems {
		keys[p.Key] = p.Line
	}
	want := map[string]int{"algorithms": 4, "audiences": 0, "leeway": 5, "issuers[0].jwks_url": 3}
	for k, line := range want {
		got, ok := keys[k]
		if !ok {
			t.Errorf("no problem for %s (%v)", k, problems)
		} else if line != 0 && got != line {
			t.Errorf("%s on line %d, want %d", k, got, line)
		}
	}
}

func TestLoadBaseline(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "baseline.yaml")
	if err := os.WriteFile(path, []byte(goodBaseline), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := core.LoadBaseline(path); err != nil {
		t.Fatal(err)
	}
	if _, err := core.LoadBaseline(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Fatal("missing file accepted")
	}
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, 2<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := core.LoadBaseline(big); err == nil || !strings.Contains(err.Error(), "larger") {
		t.Fatalf("oversized file: %v", err)
	}
}

func TestFingerprint(t *testing.T) {
	a, err := core.ParseBaseline([]byte(goodBaseline))
	if err != nil {
		t.Fatal(err)
	}
	// Order and defaults written out do not change the effective baseline.
	reordered := strings.Replace(goodBaseline, "[orders-api, billing-api]", "[billing-api, orders-api]", 1)
	reordered = strings.Replace(reordered, "[RS256, ES256, EdDSA]", "[EdDSA, RS256, ES256]", 1)
	b, err := core.ParseBaseline([]byte(reordered))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("list order changed the fingerprint")
	}
	if !strings.HasPrefix(a.Fingerprint(), "sha256:") || a.Fingerprint() != a.Fingerprint() {
		t.Errorf("fingerprint %q", a.Fingerprint())
	}
	explicit := goodBaseline
	implicit := strings.Replace(explicit, "  http_timeout: 3s\n", "", 1)
	withDefault := strings.Replace(explicit, "  http_timeout: 3s\n", "  http_timeout: 5s\n", 1)
	c1, _ := core.ParseBaseline([]byte(implicit))
	c2, _ := core.ParseBaseline([]byte(withDefault))
	if c1.Fingerprint() != c2.Fingerprint() {
		t.Error("writing out a default changed the fingerprint")
	}
	// Every verification setting matters.
	for _, change := range [][2]string{
		{"leeway: 30s", "leeway: 31s"},
		{"[RS256, ES256, EdDSA]", "[RS256, ES256]"},
		{"[orders-api, billing-api]", "[orders-api]"},
		{"required_claims: [sub]", "required_claims: [sub, jti]"},
		{`jwks_inline: {"keys": []}`, `jwks_inline: {"keys": [{}]}`},
		{"max_stale: 12h", "max_stale: 13h"},
		{"token_types: [at+jwt]", "token_types: [at+jwt]\nrefuse_id_tokens: true"},
	} {
		c, err := core.ParseBaseline([]byte(strings.Replace(goodBaseline, change[0], change[1], 1)))
		if err != nil {
			t.Fatal(err)
		}
		if c.Fingerprint() == a.Fingerprint() {
			t.Errorf("%q -> %q left the fingerprint unchanged", change[0], change[1])
		}
	}
}

// Effective is the baseline the verifier runs on: defaults filled in, the
// same fingerprint, and what Verifier.Config reports.
func TestEffective(t *testing.T) {
	cfg, err := core.ParseBaseline([]byte("issuers:\n  - issuer: https://idp.example.com/\n    jwks_inline: '{\"keys\":[]}'\naudiences: [b, a]\nalgorithms: [RS256]\n"))
	if err != nil {
		t.Fatal(err)
	}
	eff := cfg.Effective()
	if eff.JWKS.MaxStale != 24*time.Hour || eff.JWKS.ConvergenceWindow != 500*time.Millisecond || *eff.Cache.MaxEntries != 10000 ||
		eff.Audiences[0] != "a" || eff.Fingerprint() != cfg.Fingerprint() {
		t.Fatalf("effective %+v", eff)
	}
	if cfg.JWKS.MaxStale != 0 {
		t.Fatal("Effective changed its receiver")
	}
}

// TestRefuseIDTokensBaseline: the key parses, and lint's advice on an
// unset token_types goes away once ID tokens are told apart another way.
func TestRefuseIDTokensBaseline(t *testing.T) {
	const untyped = "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\n" +
		"audiences: [orders-api]\nalgorithms: [RS256]\n"
	cases := []struct {
		name, extra string
		refuse      bool
		warned      bool
	}{
		{name: "neither", warned: true},
		{name: "refuse_id_tokens", extra: "refuse_id_tokens: true\n", refuse: true},
		{name: "refuse_id_tokens false", extra: "refuse_id_tokens: false\n", warned: true},
		{name: "client_id required", extra: "required_claims: [client_id]\n"},
		{name: "token_types", extra: "token_types: [at+jwt]\n"},
		{name: "audience_claim client_id", extra: "audience_claim: client_id\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := core.ParseBaseline([]byte(untyped + tc.extra))
			if err != nil {
				t.Fatal(err)
			}
			if cfg.RefuseIDTokens != tc.refuse {
				t.Fatalf("RefuseIDTokens = %v", cfg.RefuseIDTokens)
			}
			warned := false
			for _, w := range core.LintBaseline([]byte(untyped + tc.extra)).Warnings {
				if w.Key == "token_types" {
					warned = true
					if !strings.Contains(w.Msg, "refuse_id_tokens: true") || !strings.Contains(w.Msg, "required_claims: [client_id]") ||
						!strings.Contains(w.Msg, "unless its access tokens carry nonce as Dex's do") {
						t.Errorf("the warning gives no advice: %s", w.Msg)
					}
				}
			}
			if warned != tc.warned {
				t.Fatalf("token_types warned = %v, want %v", warned, tc.warned)
			}
		})
	}
	if _, err := core.ParseBaseline([]byte(untyped + "refuse_id_tokens: yes please\n")); err == nil {
		t.Fatal("a non-boolean refuse_id_tokens was accepted")
	}
}

// An unknown key names the known key it most likely misspells, from the
// keys of its own level, when one is near.
func TestUnknownKeySuggestion(t *testing.T) {
	base := "issuers:\n  - issuer: https://idp.example.com/\n    jwks_url: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\n"
	for _, tc := range []struct {
		name, yaml, key, want string // want "" for no suggestion
	}{
		{"a letter missing", base + "leway: 30s\n", "leway", "leeway"},
		{"two letters swapped", base + "lewey: 30s\n", "lewey", "leeway"},
		{"singular", strings.Replace(base, "audiences", "audience", 1), "audience", "audiences"},
		{"nested, its own level", base + "jwks:\n  max_stal: 1h\n", "jwks.max_stal", "max_stale"},
		{"an abbreviation", base + "jwks:\n  refresh: 1m\n", "jwks.refresh", "refresh_interval"},
		{"in an issuer", strings.Replace(base, "jwks_url", "jwks_uri", 1), "issuers[0].jwks_uri", "jwks_url"},
		{"in a service", base + "services:\n  orders:\n    audiencs: [orders]\n", "services.orders.audiencs", "audiences"},
		{"a key of another level is not offered", base + "refresh_interval: 1m\n", "refresh_interval", ""},
		{"nothing near", base + "colour: blue\n", "colour", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lint := core.LintBaseline([]byte(tc.yaml))
			var got *core.ConfigError
			for _, e := range lint.Errors {
				if strings.Contains(e.Msg, "unknown key") {
					got = e
				}
			}
			switch {
			case got == nil:
				t.Fatalf("no unknown key reported: %v", lint.Errors)
			case got.Key != tc.key:
				t.Errorf("unknown key %s, want %s", got.Key, tc.key)
			case tc.want == "" && strings.Contains(got.Msg, "did you mean"):
				t.Errorf("%s: %s, want no suggestion", got.Key, got.Msg)
			case tc.want != "" && !strings.HasSuffix(got.Msg, `(did you mean "`+tc.want+`"?)`):
				t.Errorf("%s: %s, want a suggestion of %q", got.Key, got.Msg, tc.want)
			}
		})
	}
}

// Lint and ParseBaseline report every problem in one run: those behind an
// unknown key or a value of the wrong type too, and a key whose value was
// refused is not also reported as missing.
func TestEveryProblemInOneRun(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		want       []string // key: message fragment, in any order
		not        []string // keys that must not be reported
	}{
		{"unknown key and unsafe settings",
			"issuers:\n  - issuer: a\n    jwks_url: http://idp.example.com/jwks\nalgorithms: [RS256, none]\nleeway: 10m\nlewey: 1s\n",
			[]string{"lewey: unknown key", "algorithms: never allowed", "leeway: between", "issuers[0].jwks_url: not https", "audiences: at least one"}, nil},
		{"a refused value is not also missing",
			"issuers:\n  - issuer: a\n    jwks_url: https://idp.example.com/jwks\naudiences: api\nalgorithms: [HS256]\n",
			[]string{"audiences: list of strings", "algorithms: HMAC"}, []string{"audiences: at least one"}},
		{"a typo in an issuer and a problem elsewhere",
			"issuers:\n  - issuer: a\n    jwks_uri: https://idp.example.com/jwks\naudiences: [api]\nalgorithms: [RS256]\nmax_token_bytes: 10\n",
			[]string{"issuers[0].jwks_uri: unknown key", "issuers[0]: exactly one", "max_token_bytes: between"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := core.ParseBaseline([]byte(tc.yaml))
			var parsed []string
			for _, e := range err.(interface{ Unwrap() []error }).Unwrap() {
				var ce *core.ConfigError
				if errors.As(e, &ce) {
					parsed = append(parsed, ce.Key+": "+ce.Msg)
				}
			}
			var linted []string
			for _, e := range core.LintBaseline([]byte(tc.yaml)).Errors {
				linted = append(linted, e.Key+": "+e.Msg)
			}
			for source, got := range map[string][]string{"ParseBaseline": parsed, "LintBaseline": linted} {
				if len(got) != len(tc.want) {
					t.Errorf("%s: %d problems, want %d:\n%s", source, len(got), len(tc.want), strings.Join(got, "\n"))
				}
				all := strings.Join(got, "\n")
				for _, w := range tc.want {
					key, frag, _ := strings.Cut(w, ": ")
					if !strings.Contains(all, key+": ") || !containsLine(got, key, frag) {
						t.Errorf("%s: no %q among:\n%s", source, w, all)
					}
				}
				for _, n := range tc.not {
					key, frag, _ := strings.Cut(n, ": ")
					if containsLine(got, key, frag) {
						t.Errorf("%s: %q reported:\n%s", source, n, all)
					}
				}
			}
		})
	}
}

func containsLine(lines []string, key, frag string) bool {
	for _, l := range lines {
		if strings.HasPrefix(l, key+": ") && strings.Contains(l, frag) {
			return true
		}
	}
	return false
}
