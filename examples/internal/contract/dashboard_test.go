package contract

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// TestDashboardNamesOnlyExportedMetrics: every metric a query of
// examples/grafana/jwtguard.json names is served by the examples'
// /metrics, so the dashboard cannot drift from the exporter.
func TestDashboardNamesOnlyExportedMetrics(t *testing.T) {
	exported := exportedNames(t)
	queries := dashboardQueries(t)
	if len(queries) < 10 {
		t.Fatalf("%d queries in the dashboard, want its panels' at least", len(queries))
	}
	used := map[string]bool{}
	for _, q := range queries {
		names := metricNames(q)
		if len(names) == 0 {
			t.Errorf("query names no metric: %s", q)
		}
		for _, n := range names {
			used[n] = true
			if !exported[n] {
				t.Errorf("query names %s, which /metrics does not serve: %s", n, q)
			}
		}
	}
	// The panels the dashboard promises, by the metric each one needs.
	for _, n := range []string{"jwtguard_verdicts_total", "jwtguard_jwks_fetches_total", "jwtguard_jwks_age_seconds",
		"jwtguard_token_cache_hits_total", "jwtguard_token_cache_misses_total", "jwtguard_baseline_info"} {
		if !used[n] {
			t.Errorf("no query of the dashboard uses %s", n)
		}
	}
}

// exportedNames are the sample names of a verifier's /metrics after
// traffic that makes every family appear: an accepted token twice (a miss,
// a hit), a rejection, a refusal by scope; the start-up fetch did the rest.
func exportedNames(t *testing.T) map[string]bool {
	env := NewEnv(t)
	ctx := context.Background()
	tok := env.IdP.Token("alice", "read")
	for range 2 {
		if _, err := env.Verifier.Verify(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	env.Verifier.Verify(ctx, "not-a-jwt")
	c, _ := env.Verifier.Verify(ctx, tok)
	env.Verifier.Authorize(ctx, c, core.RequireScopes("admin"))

	srv := httptest.NewServer(env.Metrics)
	t.Cleanup(srv.Close)
	samples, families := Scrape(t, srv.URL) // the handler answers on every path
	names := map[string]bool{}
	for s := range samples {
		name, _, _ := strings.Cut(s, "{")
		names[name] = true
	}
	for _, f := range MetricNames {
		if _, ok := families[f]; !ok {
			t.Errorf("the traffic did not make %s appear", f)
		}
	}
	return names
}

// dashboardQueries returns every PromQL expression of the dashboard: the
// targets' expr, and the metric of label_values in variable queries.
func dashboardQueries(t *testing.T) []string {
	_, file, _, _ := runtime.Caller(0)
	data, err := os.ReadFile(filepath.Join(filepath.Dir(file), "..", "..", "grafana", "jwtguard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("dashboard is not JSON: %v", err)
	}
	var out []string
	var walk func(v any, key string)
	walk = func(v any, key string) {
		switch v := v.(type) {
		case map[string]any:
			for k, e := range v {
				walk(e, k)
			}
		case []any:
			for _, e := range v {
				walk(e, key)
			}
		case string:
			if key == "expr" {
				out = append(out, v)
			}
			if m := labelValues.FindStringSubmatch(v); key == "query" && m != nil {
				out = append(out, m[1])
			}
		}
	}
	walk(doc, "")
	slices.Sort(out)
	return out
}

var labelValues = regexp.MustCompile(`^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)`)

// PromQL pieces that are not metric names: strings, label matchers,
// ranges, grouping clauses; and keywords.
var (
	promStrings  = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)
	promMatchers = regexp.MustCompile(`\{[^}]*\}`)
	promRanges   = regexp.MustCompile(`\[[^\]]*\]`)
	promGrouping = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdent    = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?`)
	promKeywords = map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true,
		"group_right": true, "bool": true, "offset": true, "and": true, "or": true, "unless": true, "inf": true, "nan": true}
)

// metricNames extracts the metric names of a PromQL expression: the
// identifiers left once strings, matchers, ranges and grouping clauses are
// removed, less function calls and keywords.
func metricNames(expr string) []string {
	for _, re := range []*regexp.Regexp{promStrings, promMatchers, promRanges, promGrouping} {
		expr = re.ReplaceAllString(expr, " ")
	}
	var names []string
	for _, m := range promIdent.FindAllStringSubmatch(expr, -1) {
		if m[1] != "" || promKeywords[strings.ToLower(m[0])] {
			continue // a function or an aggregation, or a keyword
		}
		names = append(names, m[0])
	}
	return names
}

// TestMetricNames holds the extraction to a few expressions of known
// names, so that the dashboard test cannot pass by extracting nothing.
func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (reason) (rate(jwtguard_verdicts_total{job=~"$job"}[$__rate_interval]))`, []string{"jwtguard_verdicts_total"}},
		{`histogram_quantile(0.99, sum by (le, cache) (rate(a_bucket{x="{y}"}[5m])))`, []string{"a_bucket"}},
		{`sum(rate(hits[1m])) / (sum(rate(hits[1m])) + sum(rate(misses[1m])))`, []string{"hits", "hits", "misses"}},
		{`max by (issuer) (time() - last{job=~"$job"}) > bool 0`, []string{"last"}},
		{`count(count by (fingerprint) (info))`, []string{"info"}},
	}
	for _, tt := range tests {
		if got := metricNames(tt.expr); !slices.Equal(got, tt.want) {
			t.Errorf("metricNames(%s) = %v, want %v", tt.expr, got, tt.want)
		}
	}
}
