package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/nethttpjwt"
)

// startIdP runs `jwtguard conformance serve-idp` until the test ends and
// returns the IdP's URL and the baseline it printed.
func startIdP(t *testing.T) (url string, baseline []byte) {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	out, w := io.Pipe()
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		done <- run(ctx, []string{"conformance", "serve-idp", "-addr", "127.0.0.1:0"}, nil, w, &stderr)
		w.Close()
	}()
	t.Cleanup(func() {
		stop()
		if code := <-done; code != 0 {
			t.Errorf("serve-idp exit %d after interrupt: %s", code, stderr.String())
		}
	})
	printed := make(chan []byte, 1)
	go func() {
		var b []byte
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			b = append(b, sc.Text()+"\n"...)
			if strings.HasPrefix(sc.Text(), "required_claims:") {
				printed <- b
				io.Copy(io.Discard, out)
				return
			}
		}
		printed <- b
	}()
	select {
	case baseline = <-printed:
	case <-time.After(30 * time.Second):
		t.Fatal("serve-idp printed no baseline within 30s")
	}
	first, _, _ := strings.Cut(string(baseline), "\n")
	url, _, _ = strings.Cut(strings.TrimPrefix(first, "# jwtguard conformance IdP at "), ",")
	if !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("serve-idp printed %q", baseline)
	}
	return url, baseline
}

// TestConformance is the operator's session: serve the IdP, configure a
// service with what it prints, run the matrix against the service and
// against a broken one, compare the two runs.
func TestConformance(t *testing.T) {
	url, baseline := startIdP(t)
	cfg, err := core.ParseBaseline(baseline)
	if err != nil {
		t.Fatalf("what serve-idp prints is not a baseline file: %v\n%s", err, baseline)
	}
	// The rotation cases wait for the service to learn of a key set change;
	// a short interval between fetches for unknown kids makes that quick.
	cfg.JWKS.UnknownKIDInterval = 50 * time.Millisecond
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	ok := http.HandlerFunc(func(http.ResponseWriter, *http.Request) {})
	mux := http.NewServeMux()
	mux.Handle("GET /whoami", nethttpjwt.Middleware(v)(ok))
	mux.Handle("GET /admin", nethttpjwt.Middleware(v)(nethttpjwt.RequireScopes(v, "admin")(ok)))
	good := httptest.NewServer(mux)
	defer good.Close()
	// Accepts anything with an Authorization header.
	lax := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") == "" {
			w.WriteHeader(http.StatusUnauthorized)
		}
	}))
	defer lax.Close()

	dir := t.TempDir()
	goodJSON, laxJSON := filepath.Join(dir, "good.json"), filepath.Join(dir, "lax.json")
	r := runCLI(t, "", "conformance", "run", "-idp", url, "-target", good.URL, "-json", goodJSON, "-settle", "5s")
	if r.code != 0 || !strings.Contains(r.stdout, "wrongly accepted: 0\n") || !strings.Contains(r.stdout, " 0 failed, ") {
		t.Fatalf("a conforming service: %+v", r)
	}
	r = runCLI(t, "", "conformance", "run", "-idp", url, "-target", lax.URL, "-json", laxJSON, "-settle", "1s")
	if r.code != 1 {
		t.Fatalf("a service that accepts anything: exit %d, want 1: %s", r.code, r.stderr)
	}
	for _, want := range []string{
		"\nalg-none ",
		"accepted (HTTP 200), want invalid_token (HTTP 401)",
		"\nwrongly accepted: ",
		"kid-jku-never-fetched, ",
		"-strict counts them",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("the report of a service that accepts anything lacks %q:\n%s", want, r.stdout)
		}
	}
	var report struct {
		Schema string `json:"schema"`
		Cases  []struct {
			Case, Result string
		} `json:"cases"`
	}
	data, err := os.ReadFile(laxJSON)
	if err == nil {
		err = json.Unmarshal(data, &report)
	}
	if err != nil || report.Schema != "jwtguard-conformance-report/1" || len(report.Cases) < 100 {
		t.Errorf("-json wrote %d cases of schema %q: %v", len(report.Cases), report.Schema, err)
	}

	r = runCLI(t, "", "conformance", "compare", goodJSON, laxJSON)
	if r.code != 1 || !strings.Contains(r.stdout, "alg-none (want invalid_token): A pass invalid_token (401); B fail accept (200)") {
		t.Errorf("compare of two services: %+v", r)
	}
	r = runCLI(t, "", "conformance", "compare", goodJSON, goodJSON)
	if r.code != 0 || !strings.Contains(r.stdout, "no differences") {
		t.Errorf("compare of a run with itself: %+v", r)
	}
}

func TestConformanceUsage(t *testing.T) {
	notJSON := filepath.Join(t.TempDir(), "report.json")
	os.WriteFile(notJSON, []byte("{}"), 0o600)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()
	for _, tc := range []struct {
		name string
		args []string
		says string
	}{
		{"no command", []string{"conformance"}, "serve-idp, run or compare"},
		{"unknown command", []string{"conformance", "fuzz"}, `unknown command "fuzz"`},
		{"serve-idp off loopback", []string{"conformance", "serve-idp", "-addr", "0.0.0.0:0"}, "loopback"},
		{"run without a target", []string{"conformance", "run", "-idp", "http://127.0.0.1:1"}, "-idp and -target are required"},
		{"run with no IdP there", []string{"conformance", "run", "-idp", closed.URL, "-target", closed.URL}, "the IdP at"},
		{"compare one report", []string{"conformance", "compare", notJSON}, "two reports"},
		{"compare what is not a report", []string{"conformance", "compare", notJSON, notJSON}, "not a report"},
		{"compare a missing file", []string{"conformance", "compare", notJSON + ".missing", notJSON}, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, "", tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.says) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.says)
			}
		})
	}
}
