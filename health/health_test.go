package health_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/health"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// clock is the verifier's time, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// TestReadiness follows one verifier through the states readiness tells
// apart: keys held, keys older than max_stale, and, for a second issuer
// whose IdP never answered, no keys at all.
func TestReadiness(t *testing.T) {
	a := jwtguardtest.NewIdP()
	t.Cleanup(a.Close)
	b := jwtguardtest.NewIdP(jwtguardtest.WithIssuer("https://b.example.test"))
	t.Cleanup(b.Close)
	clk := &clock{now: a.Now()}
	cfg := a.Config()
	cfg.JWKS.MaxStale = time.Hour
	oneIssuer := cfg
	twoIssuers := cfg
	twoIssuers.Issuers = append(slices.Clone(cfg.Issuers), b.Config().Issuers...)

	tests := []struct {
		name     string
		cfg      core.Config
		setup    func()
		at       time.Duration // after the IdP's clock
		status   int
		notReady []string
	}{
		{"keys held", oneIssuer, func() {}, 0, http.StatusOK, nil},
		{"keys within max_stale", oneIssuer, func() {}, 59 * time.Minute, http.StatusOK, nil},
		{"keys past max_stale", oneIssuer, func() {}, 61 * time.Minute, http.StatusServiceUnavailable, []string{a.Issuer()}},
		{"one issuer never fetched", twoIssuers, func() { b.Fail(http.StatusServiceUnavailable) }, 0,
			http.StatusServiceUnavailable, []string{b.Issuer()}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.set(a.Now())
			tt.setup()
			t.Cleanup(b.Restore)
			v, err := core.New(tt.cfg, core.WithClock(clk.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(v.Close)
			clk.set(a.Now().Add(tt.at))

			rec := httptest.NewRecorder()
			health.Readiness(v).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			if rec.Code != tt.status {
				t.Errorf("status %d, want %d", rec.Code, tt.status)
			}
			if got := rec.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			var body struct {
				Status   string   `json:"status"`
				NotReady []string `json:"not_ready"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(body.NotReady, tt.notReady) {
				t.Errorf("not_ready %v, want %v", body.NotReady, tt.notReady)
			}
			if (tt.status == http.StatusOK) != v.Ready() {
				t.Errorf("readiness %d disagrees with Ready() %v", rec.Code, v.Ready())
			}
		})
	}
}
