package contract

import (
	"bufio"
	"net/http"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// MetricNames are the metric families every example serves at /metrics
// once it has verified tokens and fetched its keys: everything promjwt
// exports.
var MetricNames = []string{
	"jwtguard_verdicts_total",
	"jwtguard_verification_duration_seconds",
	"jwtguard_token_cache_hits_total",
	"jwtguard_token_cache_misses_total",
	"jwtguard_token_cache_entries",
	"jwtguard_jwks_fetches_total",
	"jwtguard_jwks_fetch_duration_seconds",
	"jwtguard_jwks_key_set_changes_total",
	"jwtguard_jwks_keys",
	"jwtguard_jwks_age_seconds",
	"jwtguard_jwks_last_success_timestamp_seconds",
	"jwtguard_jwks_ready",
	"jwtguard_jwks_max_stale_seconds",
	"jwtguard_baseline_info",
}

// Scrape gets base/metrics and returns its samples, keyed by the whole
// series (name and labels), and the families its TYPE lines declare.
func Scrape(t testing.TB, base string) (samples map[string]string, families map[string]string) {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s", resp.Status)
	}
	samples, families = map[string]string{}, map[string]string{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "# TYPE "); ok {
			name, typ, _ := strings.Cut(rest, " ")
			families[name] = typ
			continue
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		// Label values here never hold a space: issuers are URLs.
		if i := strings.LastIndexByte(line, ' '); i > 0 {
			samples[line[:i]] = line[i+1:]
		}
	}
	return samples, families
}

// CheckMetrics asserts that base serves every family of MetricNames, and
// the fingerprint of v's baseline.
func CheckMetrics(t *testing.T, base string, v *core.Verifier) {
	samples, families := Scrape(t, base)
	for _, name := range MetricNames {
		if _, ok := families[name]; !ok {
			t.Errorf("/metrics has no %s", name)
		}
	}
	cfg := v.Config()
	if got := samples[`jwtguard_baseline_info{fingerprint="`+cfg.Fingerprint()+`",shared_fingerprint="`+cfg.SharedFingerprint()+`"}`]; got != "1" {
		t.Errorf("jwtguard_baseline_info of fingerprint %s is %q, want 1", cfg.Fingerprint(), got)
	}
}
