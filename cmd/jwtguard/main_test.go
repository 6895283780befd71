package main

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

type cli struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, stdin string, args ...string) cli {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return cli{code, out.String(), errb.String()}
}

// fixture writes a baseline with an inline key set and returns it with a
// token minter for that key.
func fixture(t *testing.T) (string, func(claims jwt.MapClaims) string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwks := `{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"` + base64.RawURLEncoding.EncodeToString(pub) + `"}]}`
	baseline := "issuers:\n  - issuer: https://idp.example.com/\n    jwks_inline: '" + jwks + "'\n" +
		"audiences: [orders-api]\nalgorithms: [EdDSA]\nleeway: 30s\n"
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	if err := os.WriteFile(path, []byte(baseline), 0o600); err != nil {
		t.Fatal(err)
	}
	mint := func(claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
		tok.Header["kid"] = "k1"
		s, err := tok.SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return path, mint
}

func goodClaims() jwt.MapClaims {
	return jwt.MapClaims{"iss": "https://idp.example.com/", "aud": "orders-api", "sub": "alice",
		"exp": time.Now().Add(time.Hour).Unix()}
}

func TestVerify(t *testing.T) {
	path, mint := fixture(t)
	good := mint(goodClaims())

	r := runCLI(t, "", "verify", "-config", path, good)
	if r.code != 0 || !strings.Contains(r.stdout, "verdict:     accepted") || !strings.Contains(r.stdout, `"sub": "alice"`) {
		t.Fatalf("accepted token: %+v", r)
	}

	// From stdin, with a Bearer prefix pasted along.
	r = runCLI(t, "Bearer "+good+"\n", "verify", "-config", path, "-")
	if r.code != 0 {
		t.Fatalf("token from stdin: %+v", r)
	}

	expired := goodClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	r = runCLI(t, "", "verify", "-config", path, "-json", mint(expired))
	var out map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("json output %q: %v", r.stdout, err)
	}
	if r.code != 1 || out["verdict"] != "rejected" || out["reason"] != "token_expired" || out["claims"] != nil {
		t.Fatalf("expired token: code %d, %v", r.code, out)
	}
	if !strings.HasPrefix(out["baseline_fingerprint"].(string), "sha256:") {
		t.Fatalf("no fingerprint: %v", out)
	}

	r = runCLI(t, "", "verify", "-config", path, "not.a.token")
	if r.code != 1 || !strings.Contains(r.stdout, "token_malformed") {
		t.Fatalf("garbage: %+v", r)
	}
}

func TestVerifyUsageErrors(t *testing.T) {
	path, _ := fixture(t)
	for _, args := range [][]string{
		{"verify", "tok"}, // no -config
		{"verify", "-config", "/nonexistent.yaml", "tok"}, // unreadable baseline
		{"verify", "-config", path},                       // no token on stdin
		{"verify", "-config", path, "a", "b"},             // two tokens
		{"nope"},
		{},
	} {
		if r := runCLI(t, "", args...); r.code != 2 || r.stderr == "" {
			t.Errorf("%v: code %d, stderr %q", args, r.code, r.stderr)
		}
	}
}

func TestLint(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("issuers:\n  - issuer: a\n    jwks_url: http://idp.example.com/jwks\nalgorithms: [RS256, none]\nleeway: 10m\nlewey: 1s\n"), 0o600)
	r := runCLI(t, "", "lint", bad)
	if r.code != 1 {
		t.Fatalf("code %d: %s", r.code, r.stdout)
	}
	// The unknown key, with the key it misspells, and the problems behind
	// it, all in one run, each with key and line.
	for _, want := range []string{
		bad + `:6: error: lewey: unknown key (did you mean "leeway"?)`,
		bad + ":4: error: algorithms:",
		bad + ":5: error: leeway:",
		bad + ":3: error: issuers[0].jwks_url:",
		bad + ": error: audiences:",
		"5 error(s)",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint output lacks %q:\n%s", want, r.stdout)
		}
	}
	os.WriteFile(bad, []byte("issuers:\n  - issuer: a\n    jwks_url: http://idp.example.com/jwks\nalgorithms: [RS256, none]\nleeway: 10m\n"), 0o600)
	// The typo fixed, the other four remain.
	if r = runCLI(t, "", "lint", bad); !strings.Contains(r.stdout, "4 error(s)") || strings.Contains(r.stdout, "unknown key") {
		t.Errorf("after the typo is fixed:\n%s", r.stdout)
	}

	good := filepath.Join(dir, "good.yaml")
	os.WriteFile(good, []byte("issuers:\n  - issuer: a\n    jwks_url: https://idp.example.com/jwks\naudiences: [x]\nalgorithms: [RS256]\ninsecure_skip_audience: true\n"), 0o600)
	r = runCLI(t, "", "lint", good)
	if r.code != 0 || !strings.Contains(r.stdout, "warning: insecure_skip_audience") || !strings.Contains(r.stdout, "0 error(s)") {
		t.Fatalf("risky but legal baseline: %+v", r)
	}
	if r := runCLI(t, "", "lint", filepath.Join(dir, "missing.yaml")); r.code != 2 {
		t.Fatalf("missing file: %+v", r)
	}
}

func TestLintTheSampleBaseline(t *testing.T) {
	r := runCLI(t, "", "lint", "../../examples/baseline.yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "0 error(s)") {
		t.Fatalf("the sample baseline has problems:\n%s", r.stdout)
	}
}

func TestFingerprint(t *testing.T) {
	path, _ := fixture(t)
	a := runCLI(t, "", "fingerprint", path)
	b := runCLI(t, "", "fingerprint", path)
	if a.code != 0 || a.stdout != b.stdout || !strings.HasPrefix(a.stdout, "sha256:") {
		t.Fatalf("fingerprint: %+v %+v", a, b)
	}
	data, _ := os.ReadFile(path)
	other := filepath.Join(t.TempDir(), "other.yaml")
	os.WriteFile(other, []byte(strings.Replace(string(data), "leeway: 30s", "leeway: 45s", 1)), 0o600)
	if c := runCLI(t, "", "fingerprint", other); c.stdout == a.stdout {
		t.Fatal("a changed leeway kept the fingerprint")
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("algorithms: [none]\n"), 0o600)
	if r := runCLI(t, "", "fingerprint", bad); r.code != 1 || !strings.Contains(r.stderr, "algorithms") {
		t.Fatalf("invalid baseline: %+v", r)
	}
}

func TestInspect(t *testing.T) {
	_, mint := fixture(t)
	r := runCLI(t, "", "inspect", mint(goodClaims()))
	if r.code != 0 || !strings.HasPrefix(r.stdout, "UNVERIFIED") || !strings.Contains(r.stdout, `"alg": "EdDSA"`) ||
		!strings.Contains(r.stdout, `"sub": "alice"`) || !strings.Contains(r.stdout, "signature: 64 bytes (not checked)") {
		t.Fatalf("inspect: %+v", r)
	}
	for _, tok := range []string{"a.b", "!!!.e30.x", "e30.!!!.x"} {
		if r := runCLI(t, "", "inspect", tok); r.code != 1 {
			t.Errorf("%q: %+v", tok, r)
		}
	}
	// A payload that is not JSON is shown as text, still labelled.
	r = runCLI(t, "", "inspect", "e30."+base64.RawURLEncoding.EncodeToString([]byte("plain"))+".x")
	if r.code != 0 || !strings.Contains(r.stdout, "(not JSON)") {
		t.Fatalf("non-JSON payload: %+v", r)
	}
}

// TestExitCodes holds every command to the usage text: 0 accepted or clean,
// 1 rejected or a baseline with problems, 2 usage or I/O.
func TestExitCodes(t *testing.T) {
	path, mint := fixture(t)
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("algorithms: [none]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.yaml")
	missingKeys := filepath.Join(dir, "missing-keys.yaml")
	if err := os.WriteFile(missingKeys, []byte("issuers:\n  - issuer: a\n    jwks_file: "+filepath.Join(dir, "nope.json")+
		"\naudiences: [x]\nalgorithms: [EdDSA]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	expired := goodClaims()
	expired["exp"] = time.Now().Add(-time.Hour).Unix()
	for _, tc := range []struct {
		name string
		args []string
		want int
	}{
		{"verify accepted", []string{"verify", "-config", path, mint(goodClaims())}, 0},
		{"verify rejected", []string{"verify", "-config", path, mint(expired)}, 1},
		{"verify with a baseline with problems", []string{"verify", "-config", bad, "x.y.z"}, 1},
		{"verify with no baseline file", []string{"verify", "-config", missing, "x.y.z"}, 2},
		{"verify with an unreadable key file", []string{"verify", "-config", missingKeys, "x.y.z"}, 2},
		{"lint clean", []string{"lint", path}, 0},
		{"lint with problems", []string{"lint", bad}, 1},
		{"lint with no file", []string{"lint", missing}, 2},
		{"fingerprint", []string{"fingerprint", path}, 0},
		{"fingerprint with problems", []string{"fingerprint", bad}, 1},
		{"fingerprint with no file", []string{"fingerprint", missing}, 2},
		{"inspect", []string{"inspect", mint(goodClaims())}, 0},
		{"inspect not a JWS", []string{"inspect", "abc"}, 1},
		{"no command", nil, 2},
		{"help", []string{"help"}, 0},
		{"revoke without -ttl", []string{"revoke", "-jti", "x"}, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := runCLI(t, "", tc.args...); r.code != tc.want {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.want, r.stderr)
			}
		})
	}
}

// estateFixture turns the fixture into an estate file: orders-api and
// billing-api as two services, billing with a managed deviation.
func estateFixture(t *testing.T) (string, func(claims jwt.MapClaims) string) {
	t.Helper()
	path, mint := fixture(t)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	estate := strings.Replace(string(data), "audiences: [orders-api]\n", "", 1) +
		"services:\n  orders:\n    audiences: [orders-api]\n  billing:\n    audiences: [billing-api]\n" +
		"    deviations:\n      leeway: {value: 1m, reason: partner clocks drift, expires: 2999-01-01}\n"
	if err := os.WriteFile(path, []byte(estate), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, mint
}

func TestServiceSelection(t *testing.T) {
	path, mint := estateFixture(t)
	forBilling := goodClaims()
	forBilling["aud"] = "billing-api"
	tok := mint(forBilling)
	for _, tc := range []struct {
		name    string
		env     string
		args    []string
		code    int
		contain string
	}{
		{"by flag", "", []string{"verify", "-config", path, "-service", "billing", tok}, 0, "accepted"},
		{"by environment", "billing", []string{"verify", "-config", path, tok}, 0, "accepted"},
		{"the flag wins over the environment", "billing", []string{"verify", "-config", path, "-service", "orders", tok}, 1, "audience_invalid"},
		{"another service's token", "", []string{"verify", "-config", path, "-service", "orders", tok}, 1, "audience_invalid"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JWTGUARD_SERVICE", tc.env)
			r := runCLI(t, "", tc.args...)
			if r.code != tc.code || !strings.Contains(r.stdout, tc.contain) {
				t.Fatalf("exit %d, want %d; stdout %q stderr %q", r.code, tc.code, r.stdout, r.stderr)
			}
		})
	}
	t.Setenv("JWTGUARD_SERVICE", "")
	for _, args := range [][]string{
		{"verify", "-config", path, tok},
		{"verify", "-config", path, "-service", "shipping", tok},
		{"fingerprint", path},
	} {
		if r := runCLI(t, "", args...); r.code != 1 || !strings.Contains(r.stderr, "orders, billing") {
			t.Errorf("%v: exit %d, stderr %q; want 1 and the known services", args, r.code, r.stderr)
		}
	}
}

func TestFingerprintOfAService(t *testing.T) {
	path, _ := estateFixture(t)
	orders := runCLI(t, "", "fingerprint", "-service", "orders", path)
	billing := runCLI(t, "", "fingerprint", "-service", "billing", path)
	lo, lb := strings.Split(strings.TrimSpace(orders.stdout), "\n"), strings.Split(strings.TrimSpace(billing.stdout), "\n")
	if orders.code != 0 || billing.code != 0 || len(lo) != 2 || len(lb) != 2 {
		t.Fatalf("%+v %+v", orders, billing)
	}
	if lo[0] == lb[0] || lo[1] != lb[1] || !strings.HasPrefix(lo[1], "shared sha256:") {
		t.Fatalf("effective fingerprints must differ and shared ones agree:\n%s\n%s", orders.stdout, billing.stdout)
	}
}

func TestLintServicesTable(t *testing.T) {
	path, _ := estateFixture(t)
	r := runCLI(t, "", "lint", "-services", path)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stdout)
	}
	for _, want := range []string{"SERVICE", "orders", "orders-api", "billing-api", "leeway 1m until 2999-01-01 (partner clocks drift)",
		"warning: services.billing.deviations.leeway"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lint -services lacks %q:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, "(client_id)") {
		t.Errorf("services on aud are shown as on client_id:\n%s", r.stdout)
	}
	// A service whose audience is read from client_id says so.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	data = append(data, "  app:\n    audiences: [app-client]\n    audience_claim: client_id\n"...)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCLI(t, "", "lint", "-services", path)
	if r.code != 0 || !strings.Contains(r.stdout, "app-client (client_id)") {
		t.Errorf("exit %d; lint -services does not show the audience read from client_id:\n%s", r.code, r.stdout)
	}
}
