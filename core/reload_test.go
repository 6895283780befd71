package core_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// lcHosts routes each fetch to the lcIdP of its URL's host, for a verifier
// with several remote issuers.
type lcHosts map[string]*lcIdP

func (h lcHosts) RoundTrip(r *http.Request) (*http.Response, error) {
	return h[r.URL.Host].RoundTrip(r)
}

// reloadLogs records the log lines of a verifier as JSON records.
type reloadLogs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *reloadLogs) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *reloadLogs) find(t *testing.T, msg string) map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, line := range strings.Split(l.buf.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec
		}
	}
	t.Fatalf("no log line %q in:\n%s", msg, l.buf.String())
	return nil
}

// A reload switches the verdicts at once, keeps the key set of an issuer
// whose key settings did not change (no refetch), drops the token cache and
// logs what changed; an invalid baseline changes nothing.
func TestReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		p := newLCIdP(k)
		logs := &reloadLogs{}
		v, err := core.New(lcConfig(nil), core.WithHTTPClient(&http.Client{Transport: p}),
			core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		tok := p.token(t, k, time.Now())
		if _, err := v.Verify(context.Background(), tok); err != nil || core.CacheLen(v) != 1 {
			t.Fatalf("before: %v, %d cached", err, core.CacheLen(v))
		}
		before := v.Config().Fingerprint()

		// Invalid: nothing changes, the error names the key.
		bad := lcConfig(func(c *core.Config) { c.Algorithms = []string{"HS256"} })
		if err := v.Reload(bad); err == nil || !strings.Contains(err.Error(), "algorithms") {
			t.Fatalf("invalid baseline: %v", err)
		}
		logs.find(t, "jwtguard baseline reload refused")
		if v.Config().Fingerprint() != before || core.CacheLen(v) != 1 {
			t.Fatal("a refused reload changed the verifier")
		}
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("after a refused reload: %v", err)
		}

		// A stricter allowlist re-reads the key set (its keys were admitted
		// against the old one) and logs at info.
		fetches := p.fetches()
		esOnly := func(c *core.Config) { c.Algorithms = []string{"ES256"} }
		if err := v.Reload(lcConfig(esOnly)); err != nil {
			t.Fatal(err)
		}
		if p.fetches() != fetches+1 {
			t.Fatalf("%d fetches after a new allowlist, want %d", p.fetches(), fetches+1)
		}
		if core.CacheLen(v) != 0 {
			t.Fatal("the token cache survived the switch")
		}
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("after the allowlist reload: %v", err)
		}
		if rec := logs.find(t, "jwtguard baseline reloaded"); rec["level"] != "INFO" || !slices.Contains(strs(rec["changes"]), "algorithms -RS256") {
			t.Fatalf("a stricter reload logged %v", rec)
		}

		// Another audience and more leeway: the unchanged issuer keeps its
		// key set (no fetch), the token's audience is refused at once, and
		// the weaker settings are logged at warn.
		fetches = p.fetches()
		stricter := v.Config().Fingerprint()
		if err := v.Reload(lcConfig(func(c *core.Config) { esOnly(c); c.Audiences = []string{"other"}; c.Leeway = time.Second })); err != nil {
			t.Fatal(err)
		}
		if p.fetches() != fetches {
			t.Fatalf("the unchanged issuer was fetched again: %d fetches, want %d", p.fetches(), fetches)
		}
		_, err = v.Verify(context.Background(), tok)
		assertReason(t, err, core.ReasonAudienceInvalid)
		rec := logs.find(t, "jwtguard baseline reloaded: verification is weaker")
		if rec["old_baseline_fingerprint"] != stricter || rec["baseline_fingerprint"] != v.Config().Fingerprint() || rec["level"] != "WARN" {
			t.Fatalf("reload line %v", rec)
		}
		if got := strs(rec["changes"]); !slices.Equal(got, []string{"audiences +other", "audiences -api", "leeway 0s -> 1s"}) {
			t.Errorf("changes %q", got)
		}
		if got := strs(rec["weakens"]); !slices.Contains(got, "leeway 0s -> 1s") || !slices.Contains(got, "audiences +other") {
			t.Errorf("weakens %q", got)
		}

		v.Close()
		if err := v.Reload(lcConfig(nil)); err == nil {
			t.Fatal("a closed verifier reloaded")
		}
	})
}

// A removed issuer's goroutines stop at the switch, a new one fetches; the
// bubble ending with only the kept issuer closed by v.Close proves it.
func TestReloadIssuers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		a, b := newLCIdP(k), newLCIdP(k)
		const other = "https://other.lifecycle.test"
		hosts := lcHosts{"idp.lifecycle.test": a, "other.lifecycle.test": b}
		both := lcConfig(func(c *core.Config) {
			c.Issuers = append(c.Issuers, core.IssuerConfig{Issuer: other, JWKSURL: other + "/jwks"})
		})
		v, err := core.New(lcConfig(nil), core.WithHTTPClient(&http.Client{Transport: hosts}),
			core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		if err := v.Reload(both); err != nil {
			t.Fatal(err)
		}
		if b.fetches() != 1 || a.fetches() != 1 || len(v.Stats()) != 2 {
			t.Fatalf("after adding an issuer: %d and %d fetches, %d issuers", a.fetches(), b.fetches(), len(v.Stats()))
		}
		if err := v.Reload(lcConfig(nil)); err != nil {
			t.Fatal(err)
		}
		// Past several refresh intervals: only the kept issuer refreshes.
		time.Sleep(time.Hour)
		synctest.Wait()
		if b.fetches() != 1 || a.fetches() < 5 || len(v.Stats()) != 1 {
			t.Fatalf("after removing it: %d fetches of the removed issuer (want 1), %d of the kept one, %d issuers",
				b.fetches(), a.fetches(), len(v.Stats()))
		}
	})
}

// A request in flight when the baseline switches finishes with the verdict
// of the settings it started on, whole: here an unknown kid's fetch is held
// while a reload drops the token's audience; the request still gets the old
// baseline's acceptance, and the next one the new baseline's refusal.
func TestReloadDuringARequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k1, k2 := lcNewKey(t, "ES256", "k1"), lcNewKey(t, "ES256", "k2")
		p := newLCIdP(k1)
		v, err := core.New(lcConfig(lcNoTokenCache), core.WithHTTPClient(&http.Client{Transport: p}),
			core.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		p.publish(k1, k2)
		p.hold()
		tok := p.token(t, k2, time.Now())
		done := make(chan error, 1)
		go func() {
			_, err := v.Verify(context.Background(), tok)
			done <- err
		}()
		synctest.Wait() // the request waits on the held fetch
		if err := v.Reload(lcConfig(func(c *core.Config) { lcNoTokenCache(c); c.Audiences = []string{"other"} })); err != nil {
			t.Fatal(err)
		}
		p.release()
		if err := <-done; err != nil {
			t.Fatalf("the request in flight: %v, want the old baseline's acceptance", err)
		}
		_, err = v.Verify(context.Background(), tok)
		assertReason(t, err, core.ReasonAudienceInvalid)
	})
}

// BenchmarkReload is one switch between two baselines whose issuers keep
// their key sets: validation, the new engine, the diff and its log line.
func BenchmarkReload(b *testing.B) {
	cfgs := [2]core.Config{baseConfig(b), baseConfig(b)}
	cfgs[1].Leeway = time.Minute
	v := newVerifier(b, cfgs[0])
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := v.Reload(cfgs[i%2]); err != nil {
			b.Fatal(err)
		}
	}
}

// strs reads a JSON array of strings of a decoded log record.
func strs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
