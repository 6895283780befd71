package reload_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/reload"
)

// bound is how long a test waits for the watcher to see a change: a bound
// on a wait, never a sleep that makes the test pass.
const bound = 10 * time.Second

func baseline(idp *jwtguardtest.IdP, audience string) []byte {
	return []byte("issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() + "\n" +
		"algorithms: [RS256]\nservices:\n  orders:\n    audiences: [" + audience + "]\n  billing:\n    audiences: [billing-api]\n")
}

// syncLog is a concurrency-safe log sink.
type syncLog struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	idp     *jwtguardtest.IdP
	v       *core.Verifier
	results chan reload.Result
	log     *syncLog
}

// start loads the orders service of the estate at path and watches it.
func start(t *testing.T, path string, opts ...reload.Option) *fixture {
	t.Helper()
	f := &fixture{results: make(chan reload.Result, 64), log: &syncLog{}}
	cfg, err := core.LoadBaseline(path)
	if err == nil {
		cfg, err = cfg.ForService("orders")
	}
	if err != nil {
		t.Fatal(err)
	}
	f.v, err = core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.v.Close)
	opts = append([]reload.Option{reload.OnReload(func(r reload.Result) { f.results <- r }),
		reload.WithLogger(slog.New(slog.NewJSONHandler(f.log, nil)))}, opts...)
	w, err := reload.Watch(f.v, path, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return f
}

// await returns the first result that ok accepts, within bound.
func (f *fixture) await(t *testing.T, what string, ok func(reload.Result) bool) reload.Result {
	t.Helper()
	deadline := time.After(bound)
	for {
		select {
		case r := <-f.results:
			if ok(r) {
				return r
			}
		case <-deadline:
			t.Fatalf("no reload result: %s", what)
		}
	}
}

func (f *fixture) verdict(aud string) error {
	_, err := f.v.Verify(context.Background(), f.idp.NewToken("alice").Audience(aud).Sign())
	return err
}

// Each way a file changes on disk reaches the verifier: the token of the
// new audience passes and the old one's is refused, and the issuer's key
// set, whose settings did not change, is not fetched again.
func TestWatchFollowsTheFile(t *testing.T) {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	for _, tc := range []struct {
		name   string
		layout func(t *testing.T, dir string, data []byte) string // returns the path services read
		change func(t *testing.T, dir string, data []byte)
	}{
		{"written in place", plainFile, func(t *testing.T, dir string, data []byte) {
			write(t, filepath.Join(dir, "baseline.yaml"), data)
		}},
		{"written and renamed over, as editors do", plainFile, func(t *testing.T, dir string, data []byte) {
			tmp := filepath.Join(dir, ".baseline.yaml.swp")
			write(t, tmp, data)
			if err := os.Rename(tmp, filepath.Join(dir, "baseline.yaml")); err != nil {
				t.Fatal(err)
			}
		}},
		{"a ConfigMap's symlink swap", configMap, func(t *testing.T, dir string, data []byte) {
			// The kubelet writes a new timestamped directory, points a new
			// ..data link at it and renames that link over the old one.
			next := filepath.Join(dir, "..2026_11_30_10_00_00.2")
			if err := os.Mkdir(next, 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(next, "baseline.yaml"), data)
			if err := os.Symlink(filepath.Base(next), filepath.Join(dir, "..data_tmp")); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(dir, "..data_tmp"), filepath.Join(dir, "..data")); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := tc.layout(t, dir, baseline(idp, "orders-api"))
			f := start(t, path)
			f.idp = idp
			if err := f.verdict("orders-api"); err != nil {
				t.Fatal(err)
			}
			before, fetches := f.v.Config().Fingerprint(), idp.Fetches()
			tc.change(t, dir, baseline(idp, "orders-v2"))
			// A write in place may be seen half-done first (and refused,
			// the old baseline serving on); the switch comes with the rest.
			r := f.await(t, "a switch to the new file", func(r reload.Result) bool { return r.Changed })
			if r.Err != nil || r.Trigger != "file" || r.Fingerprint == before || r.Fingerprint != f.v.Config().Fingerprint() {
				t.Fatalf("result %+v", r)
			}
			if err := f.verdict("orders-v2"); err != nil {
				t.Fatalf("the new audience: %v", err)
			}
			if err := f.verdict("orders-api"); !errors.Is(err, core.ReasonAudienceInvalid) {
				t.Fatalf("the old audience: %v, want audience_invalid", err)
			}
			if idp.Fetches() != fetches {
				t.Fatalf("the key set was fetched again: %d fetches, want %d", idp.Fetches(), fetches)
			}
		})
	}
}

func plainFile(t *testing.T, dir string, data []byte) string {
	path := filepath.Join(dir, "baseline.yaml")
	write(t, path, data)
	return path
}

// configMap lays out dir as a ConfigMap volume: baseline.yaml is a link to
// ..data/baseline.yaml, and ..data a link to a timestamped directory.
func configMap(t *testing.T, dir string, data []byte) string {
	first := filepath.Join(dir, "..2026_11_29_10_00_00.1")
	if err := os.Mkdir(first, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(first, "baseline.yaml"), data)
	if err := os.Symlink(filepath.Base(first), filepath.Join(dir, "..data")); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "baseline.yaml")
	if err := os.Symlink(filepath.Join("..data", "baseline.yaml"), path); err != nil {
		t.Fatal(err)
	}
	return path
}

func write(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// An invalid edit is refused whole, logged with its key and line, and the
// old baseline keeps serving; fixing the file recovers.
func TestWatchRefusesInvalidEdits(t *testing.T) {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	write(t, path, baseline(idp, "orders-api"))
	f := start(t, path)
	f.idp = idp
	before := f.v.Config().Fingerprint()
	write(t, path, []byte(strings.Replace(string(baseline(idp, "orders-api")), "algorithms: [RS256]", "algorithms: [RS256, HS256]", 1)))
	r := f.await(t, "a refusal", func(r reload.Result) bool { return r.Err != nil })
	if r.Changed || r.Fingerprint != before || f.v.Config().Fingerprint() != before {
		t.Fatalf("an invalid file changed the verifier: %+v", r)
	}
	if err := f.verdict("orders-api"); err != nil {
		t.Fatalf("the old baseline stopped serving: %v", err)
	}
	if log := f.log.String(); !strings.Contains(log, `"key":"algorithms","line":4`) || !strings.Contains(log, "HMAC") {
		t.Fatalf("refusal not logged with key and line:\n%s", log)
	}
	write(t, path, baseline(idp, "orders-v2"))
	f.await(t, "recovery", func(r reload.Result) bool { return r.Changed })
	if err := f.verdict("orders-v2"); err != nil {
		t.Fatalf("after the fix: %v", err)
	}
}

// SIGHUP reloads too; with nothing changed, nothing switches.
func TestWatchSignal(t *testing.T) {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	write(t, path, baseline(idp, "orders-api"))
	f := start(t, path)
	before := f.v.Config().Fingerprint()
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	r := f.await(t, "the signal's reload", func(r reload.Result) bool { return r.Trigger == "signal" })
	if r.Err != nil || r.Changed || r.Fingerprint != before {
		t.Fatalf("signal on an unchanged file: %+v", r)
	}
}

// After Close, nothing is reloaded.
func TestWatchClose(t *testing.T) {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	path := filepath.Join(t.TempDir(), "baseline.yaml")
	write(t, path, baseline(idp, "orders-api"))
	var mu sync.Mutex
	calls := 0
	cfg, _ := core.LoadBaseline(path)
	cfg, _ = cfg.ForService("orders")
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	w, err := reload.Watch(v, path, reload.OnReload(func(reload.Result) { mu.Lock(); calls++; mu.Unlock() }))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	w.Close() // twice is harmless
	before := v.Config().Fingerprint()
	write(t, path, baseline(idp, "orders-v2"))
	// The watcher's goroutine has returned (Close waited for it), so
	// nothing can reload now; the verifier is where it was.
	mu.Lock()
	defer mu.Unlock()
	if v.Config().Fingerprint() != before || calls != 0 {
		t.Fatalf("%d reloads after Close", calls)
	}
}
