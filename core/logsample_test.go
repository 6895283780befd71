package core_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// logLines decodes JSON log lines.
func logLines(t *testing.T, l *reloadLogs) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(l.buf.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// A flood of 100,000 rejections of two reasons over ten seconds writes, per
// second and reason, the budget's lines in full and one summary line with
// the exact count of the rest; a rarer third reason still gets its line.
func TestRejectionLogBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := baseConfig(t)
		logs := &reloadLogs{}
		v, err := core.New(cfg, core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil))))
		if err != nil {
			t.Fatal(err)
		}
		// A token whose signature does not verify, for the rare reason.
		good := sign(t, "RS256", "rsa", goodClaims())
		forged := good[:strings.LastIndexByte(good, '.')+1] + strings.Repeat("A", 342)
		tooLarge := strings.Repeat("a", 9000)
		for i := range 100_000 {
			if i > 0 && i%10_000 == 0 {
				time.Sleep(time.Second)
			}
			tok := "not-a-token"
			if i%2 == 1 {
				tok = tooLarge
			}
			if _, err := v.Verify(context.Background(), tok); err == nil {
				t.Fatal("accepted")
			}
		}
		_, err = v.Verify(context.Background(), forged)
		assertReason(t, err, core.ReasonSignatureInvalid)
		v.Close() // writes the last window's summary
		full := map[string]int{}
		var summaries []map[string]any
		for _, rec := range logLines(t, logs) {
			switch rec["msg"] {
			case "jwt rejected":
				full[rec["reason"].(string)]++
			case "jwt rejections not logged":
				summaries = append(summaries, rec)
			}
		}
		if full["token_malformed"] != 100 || full["token_too_large"] != 100 || full["signature_invalid"] != 1 {
			t.Fatalf("full lines %v, want 100, 100 and 1", full)
		}
		if len(summaries) != 10 {
			t.Fatalf("%d summary lines, want one per second: 10", len(summaries))
		}
		for i, s := range summaries {
			if s["count"] != float64(9_980) || s["window"] != float64(time.Second) {
				t.Errorf("summary %d: %v, want 9980 not written in a 1s window", i, s)
			}
			by, _ := s["by_reason"].([]any)
			counts := map[string]float64{}
			for _, c := range by {
				m := c.(map[string]any)
				counts[m["reason"].(string)] = m["count"].(float64)
			}
			if counts["token_malformed"] != 4_990 || counts["token_too_large"] != 4_990 {
				t.Errorf("summary %d counts %v, want 4990 each", i, counts)
			}
		}
	})
}

// keys_unavailable is never sampled: each refusal says the service cannot
// verify at all. A budget of 0 logs every rejection.
func TestRejectionLogNeverSampled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(c *core.Config)
		client *http.Client
		token  string
		reason string
	}{
		{"keys unavailable", func(c *core.Config) {
			c.Issuers[0].PublicKeys = nil
			c.Issuers[0].JWKSURL = "https://idp.example/jwks"
			c.JWKS.HTTPTimeout = time.Second
		}, &http.Client{Transport: failingTransport{}}, "", "keys_unavailable"},
		{"a budget of 0", func(c *core.Config) {
			zero := 0
			c.Log.RejectionsPerSecond = &zero
		}, nil, "not-a-token", "token_malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := baseConfig(t)
				tc.edit(&cfg)
				logs := &reloadLogs{}
				opts := []core.Option{core.WithLogger(slog.New(slog.NewJSONHandler(logs, nil)))}
				if tc.client != nil {
					opts = append(opts, core.WithHTTPClient(tc.client))
				}
				v, err := core.New(cfg, opts...)
				if err != nil {
					t.Fatal(err)
				}
				defer v.Close()
				tok := tc.token
				if tok == "" {
					tok = sign(t, "RS256", "rsa", goodClaims())
				}
				for range 1_000 {
					v.Verify(context.Background(), tok)
				}
				n := 0
				for _, rec := range logLines(t, logs) {
					if rec["msg"] == "jwt rejected" && rec["reason"] == tc.reason {
						n++
					}
				}
				if n != 1_000 {
					t.Fatalf("%d of 1000 %s lines written", n, tc.reason)
				}
			})
		})
	}
}

type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("connection refused")
}

// The key lifecycle's own lines stay bounded under a flood of unknown kids
// against a failing IdP: fetches, and so their lines, are bounded by
// unknown_kid_interval and the retry backoff, not by the flood.
func TestLifecycleLogBoundedUnderFlood(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		k := lcNewKey(t, "ES256", "k1")
		p := newLCIdP(k)
		e := lcStart(t, p, lcShortTimeout)
		p.setMode("503")
		valid := p.token(t, k, time.Now())
		for i := range 100_000 {
			if i%10_000 == 0 {
				time.Sleep(time.Second)
			}
			e.verify(lcWithKID(valid, lcRandomKID()))
		}
		synctest.Wait()
		e.logs.mu.Lock()
		text := e.logs.buf.String()
		e.logs.mu.Unlock()
		lines := 0
		for _, l := range strings.Split(text, "\n") {
			if strings.Contains(l, `"msg":"jwks`) {
				lines++
			}
		}
		// One startup line; then at most one fetch per unknown_kid_interval
		// (5s) and the retries (1s, 2s, 4s) in ten seconds.
		if lines > 8 {
			t.Fatalf("%d key lifecycle lines under a flood of 100,000 unknown kids:\n%s", lines, text)
		}
	})
}

// BenchmarkRejectedVerify is a refused token with its log line, with the
// default sampling and with every line written.
func BenchmarkRejectedVerify(b *testing.B) {
	for _, tc := range []struct {
		name   string
		budget int
	}{{"sampled", 10}, {"every_line", 0}} {
		b.Run(tc.name, func(b *testing.B) {
			cfg := baseConfig(b)
			cfg.Log.RejectionsPerSecond = &tc.budget
			v, err := core.New(cfg, core.WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil))))
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			b.ReportAllocs()
			for b.Loop() {
				v.Verify(context.Background(), "not-a-token")
			}
		})
	}
}
