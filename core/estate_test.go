package core_test

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// estateYAML is an estate file: the shared policy at the top, and two
// services on their own audiences. extra is appended under services.
func estateYAML(t *testing.T, extra string) string {
	k := getKeys(t)
	return "issuers:\n  - issuer: " + testIssuer + "\n    jwks_inline: '" + jwksJSON(t, jwkEntry{kid: "rsa", key: &k.rsa.PublicKey}) + "'\n" +
		"algorithms: [RS256]\nleeway: 30s\ntoken_types: [at+jwt, JWT]\n" +
		"services:\n" +
		"  orders:\n    audiences: [orders-api]\n" +
		"  billing:\n    audiences: [billing-api]\n" + extra
}

func parseEstate(t *testing.T, extra string) core.Config {
	t.Helper()
	cfg, err := core.ParseBaseline([]byte(estateYAML(t, extra)))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Each service selects its own entry, and a token minted for one service
// is refused by the other (RFC 9068 section 4).
func TestEstateSelectsTheServicesAudience(t *testing.T) {
	estate := parseEstate(t, "")
	toOrders, toBilling := goodClaims(), goodClaims()
	toOrders["aud"], toBilling["aud"] = "orders-api", "billing-api"
	for _, tc := range []struct {
		service string
		accept  map[string]any
		refuse  map[string]any
	}{
		{"orders", toOrders, toBilling},
		{"billing", toBilling, toOrders},
	} {
		t.Run(tc.service, func(t *testing.T) {
			cfg, err := estate.ForService(tc.service)
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Service != tc.service || len(cfg.Audiences) != 1 {
				t.Fatalf("selected %q with audiences %v", cfg.Service, cfg.Audiences)
			}
			v := newVerifier(t, cfg)
			if _, err := v.Verify(bg, sign(t, "RS256", "rsa", tc.accept)); err != nil {
				t.Fatalf("its own token: %v", err)
			}
			_, err = v.Verify(bg, sign(t, "RS256", "rsa", tc.refuse))
			assertReason(t, err, core.ReasonAudienceInvalid)
		})
	}
}

func TestEstateSelectionErrors(t *testing.T) {
	estate := parseEstate(t, "")
	for _, name := range []string{"", "shipping"} {
		_, err := estate.ForService(name)
		var ce *core.ConfigError
		if !errors.As(err, &ce) || ce.Key != "services" || !strings.Contains(ce.Msg, "orders, billing") || ce.Line == 0 {
			t.Errorf("ForService(%q): %v, want an error on services listing orders, billing with its line", name, err)
		}
	}
	// A verifier runs for one service: the estate itself has no audience.
	if _, err := core.New(estate); err == nil || !strings.Contains(err.Error(), "orders, billing") {
		t.Errorf("New on an unselected estate: %v", err)
	}
}

// A baseline without a services section works as before, whatever the
// service name a binary passes.
func TestSingleServiceBaselineUnchanged(t *testing.T) {
	cfg := baseConfig(t)
	for _, name := range []string{"", "orders"} {
		got, err := cfg.ForService(name)
		if err != nil || got.Fingerprint() != cfg.Fingerprint() || got.Service != name {
			t.Fatalf("ForService(%q) = %q, %v", name, got.Service, err)
		}
		newVerifier(t, got)
	}
}

func TestEstateProblems(t *testing.T) {
	cases := []struct {
		name, yaml, key, msg string
	}{
		{"two services on one audience", "  shipping:\n    audiences: [orders-api]\n",
			"services.shipping.audiences", "also an audience of service orders"},
		{"only one of them says why", "  shipping:\n    audiences: [orders-api]\n    shared_audience_reason: the same API behind two names\n",
			"services.shipping.audiences", "also an audience of service orders"},
		{"audiences at the top too", "audiences: [orders-api]\n", "audiences", "belong to each service"},
		{"a deviation of the issuers", "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      issuers: {value: [x], reason: r, expires: 2999-01-01}\n",
			"services.legacy.deviations.issuers", "cannot deviate"},
		{"a deviation of an insecure flag", "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      insecure_skip_audience: {value: true, reason: r, expires: 2999-01-01}\n",
			"services.legacy.deviations.insecure_skip_audience", "cannot deviate"},
		{"a deviation without a reason", "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 2m, expires: 2999-01-01}\n",
			"services.legacy.deviations.leeway", "needs a reason"},
		{"a deviation without an expiry", "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 2m, reason: r}\n",
			"services.legacy.deviations.leeway", "needs an expires date"},
		{"a deviation with a bad date", "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 2m, reason: r, expires: soon}\n",
			"services.legacy.deviations.leeway.expires", "must be a date"},
		{"an unknown key in a service", "  legacy:\n    audience: [legacy-api]\n",
			"services.legacy.audience", "unknown key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			y := estateYAML(t, tc.yaml)
			if strings.HasPrefix(tc.yaml, "audiences:") {
				y = estateYAML(t, "") + tc.yaml
			}
			_, err := core.ParseBaseline([]byte(y))
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("want %s: ...%s..., got %v", tc.key, tc.msg, err)
			}
			if !strings.Contains(err.Error(), "line ") {
				t.Errorf("no line named: %v", err)
			}
		})
	}
	// Both entries saying why allows it.
	both := strings.Replace(estateYAML(t, "  shipping:\n    audiences: [orders-api]\n    shared_audience_reason: the same API behind two names\n"),
		"  orders:\n    audiences: [orders-api]\n", "  orders:\n    audiences: [orders-api]\n    shared_audience_reason: the same API behind two names\n", 1)
	if _, err := core.ParseBaseline([]byte(both)); err != nil {
		t.Fatalf("an audience shared on purpose, said on both entries: %v", err)
	}
}

// Every deviable key changes only the deviating service, is listed on its
// Config and is logged at start.
func TestEstateDeviations(t *testing.T) {
	for _, tc := range []struct {
		key, value string
		check      func(c core.Config) bool
	}{
		{"leeway", "2m", func(c core.Config) bool { return c.Leeway == 2*time.Minute }},
		{"algorithms", "[RS256, PS256]", func(c core.Config) bool { return len(c.Algorithms) == 2 }},
		{"required_claims", "[tenant]", func(c core.Config) bool { return len(c.RequiredClaims) == 1 }},
		{"token_types", "[at+jwt]", func(c core.Config) bool { return len(c.TokenTypes) == 1 }},
		{"max_token_bytes", "16384", func(c core.Config) bool { return c.MaxTokenBytes == 16384 }},
		{"jwks.refresh_interval", "1h", func(c core.Config) bool { return c.JWKS.RefreshInterval == time.Hour }},
		{"jwks.unknown_kid_interval", "10s", func(c core.Config) bool { return c.JWKS.UnknownKIDInterval == 10*time.Second }},
		{"jwks.max_stale", "2h", func(c core.Config) bool { return c.JWKS.MaxStale == 2*time.Hour }},
		{"jwks.http_timeout", "2s", func(c core.Config) bool { return c.JWKS.HTTPTimeout == 2*time.Second }},
		{"jwks.convergence_window", "3s", func(c core.Config) bool { return c.JWKS.ConvergenceWindow == 3*time.Second }},
		{"cache.max_ttl", "1m", func(c core.Config) bool { return c.Cache.MaxTTL == time.Minute }},
		{"cache.max_entries", "0", func(c core.Config) bool { return c.Cache.MaxEntries != nil && *c.Cache.MaxEntries == 0 }},
	} {
		t.Run(tc.key, func(t *testing.T) {
			estate := parseEstate(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      "+tc.key+
				":\n        value: "+tc.value+"\n        reason: clients we cannot change yet (SEC-42)\n        expires: 2999-12-31\n")
			legacy, err := estate.ForService("legacy")
			if err != nil {
				t.Fatal(err)
			}
			orders, err := estate.ForService("orders")
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(legacy) || tc.check(orders) {
				t.Fatalf("the deviation applies to legacy (%v) and not to orders (%v): want true, false", tc.check(legacy), tc.check(orders))
			}
			d := legacy.Deviations
			if len(d) != 1 || d[0].Key != tc.key || d[0].Reason == "" || d[0].Expires.Year() != 3000 || len(orders.Deviations) != 0 {
				t.Fatalf("deviations %+v / %+v", d, orders.Deviations)
			}
			var logs bytes.Buffer
			v, err := core.New(legacy, core.WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			if err != nil {
				t.Fatal(err)
			}
			v.Close()
			if !strings.Contains(logs.String(), `"level":"WARN","msg":"jwtguard baseline deviation","baseline_service":"legacy","key":"`+tc.key+`"`) ||
				!strings.Contains(logs.String(), `"expires":"2999-12-31"`) {
				t.Fatalf("deviation not logged at start:\n%s", logs.String())
			}
		})
	}
}

// A deviation adjusts the shared policy; it never allows what the policy
// forbids outright, and an expired one stops the service from starting.
func TestEstateDeviationLimits(t *testing.T) {
	for _, tc := range []struct {
		name, deviation, key, msg string
	}{
		{"alg none", "algorithms: {value: [RS256, none], reason: r, expires: 2999-01-01}", "services.legacy.deviations.algorithms", "never allowed"},
		{"HMAC", "algorithms: {value: [HS256], reason: r, expires: 2999-01-01}", "services.legacy.deviations.algorithms", "HMAC"},
		{"leeway over the cap", "leeway: {value: 10m, reason: r, expires: 2999-01-01}", "services.legacy.deviations.leeway", "between 0s and 5m"},
		{"expired", "leeway: {value: 1m, reason: r, expires: 2001-02-03}", "services.legacy.deviations.leeway", "expired on 2001-02-03"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			y := estateYAML(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      "+tc.deviation+"\n")
			estate, err := core.ParseBaseline([]byte(y))
			if err != nil {
				t.Fatalf("the estate itself parses; the service is refused when selected: %v", err)
			}
			_, err = estate.ForService("legacy")
			var ce *core.ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.key+": ") || !strings.Contains(err.Error(), tc.msg) || ce.Line == 0 {
				t.Fatalf("want %s: ...%s... with a line, got %v", tc.key, tc.msg, err)
			}
			if _, err := estate.ForService("orders"); err != nil {
				t.Fatalf("another service's deviation stops orders: %v", err)
			}
			lint := core.LintBaseline([]byte(y))
			if !strings.Contains(lintText(lint.Errors), tc.key) {
				t.Fatalf("lint misses it: %v", lint.Errors)
			}
		})
	}
}

func lintText(errs []*core.ConfigError) string {
	var b strings.Builder
	for _, e := range errs {
		b.WriteString(e.Error() + "\n")
	}
	return b.String()
}

// The shared fingerprint is one for the whole estate; the effective one
// tells services apart; neither moves with the order things are written in.
func TestEstateFingerprints(t *testing.T) {
	estate := parseEstate(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 1m, reason: r, expires: 2999-01-01}\n")
	orders, _ := estate.ForService("orders")
	billing, _ := estate.ForService("billing")
	legacy, _ := estate.ForService("legacy")
	if orders.SharedFingerprint() != billing.SharedFingerprint() || orders.SharedFingerprint() != legacy.SharedFingerprint() ||
		orders.SharedFingerprint() != estate.SharedFingerprint() {
		t.Fatal("services of one estate have different shared fingerprints")
	}
	if orders.Fingerprint() == billing.Fingerprint() || orders.Fingerprint() == legacy.Fingerprint() {
		t.Fatal("services on different audiences or deviations share an effective fingerprint")
	}
	// Reordered: the services, and the lists inside.
	reordered := strings.Replace(estateYAML(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 1m, reason: r, expires: 2999-01-01}\n"),
		"token_types: [at+jwt, JWT]", "token_types: [JWT, at+jwt]", 1)
	reordered = strings.Replace(reordered, "  orders:\n    audiences: [orders-api]\n  billing:\n    audiences: [billing-api]\n",
		"  billing:\n    audiences: [billing-api]\n  orders:\n    audiences: [orders-api]\n", 1)
	again, err := core.ParseBaseline([]byte(reordered))
	if err != nil {
		t.Fatal(err)
	}
	orders2, _ := again.ForService("orders")
	if orders2.Fingerprint() != orders.Fingerprint() || orders2.SharedFingerprint() != orders.SharedFingerprint() {
		t.Fatal("reordering the file changed a fingerprint")
	}
	// Changing one service's entry changes that service's effective
	// fingerprint only.
	changed := parseEstate(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 2m, reason: r, expires: 2999-01-01}\n")
	legacy2, _ := changed.ForService("legacy")
	orders3, _ := changed.ForService("orders")
	if legacy2.Fingerprint() == legacy.Fingerprint() || orders3.Fingerprint() != orders.Fingerprint() ||
		legacy2.SharedFingerprint() != legacy.SharedFingerprint() {
		t.Fatal("a change to one service's entry moved another fingerprint, or not its own")
	}
	// A change to the shared part moves every shared fingerprint.
	shared := strings.Replace(estateYAML(t, ""), "leeway: 30s", "leeway: 45s", 1)
	moved, err := core.ParseBaseline([]byte(shared))
	if err != nil {
		t.Fatal(err)
	}
	if moved.SharedFingerprint() == estate.SharedFingerprint() {
		t.Fatal("a shared change kept the shared fingerprint")
	}
}

// Lint reads the whole estate: every service as it would start, and every
// deviation with the time it has left.
func TestLintEstate(t *testing.T) {
	y := estateYAML(t, "  legacy:\n    audiences: [legacy-api]\n    deviations:\n      leeway: {value: 2m, reason: drifting clocks, expires: 2999-01-01}\n")
	lint := core.LintBaseline([]byte(y))
	if len(lint.Errors) != 0 {
		t.Fatalf("errors: %v", lint.Errors)
	}
	var names []string
	for _, s := range lint.Services {
		names = append(names, s.Service)
	}
	if strings.Join(names, ",") != "orders,billing,legacy" {
		t.Fatalf("services %v", names)
	}
	var found bool
	for _, w := range lint.Warnings {
		if w.Key == "services.legacy.deviations.leeway" && strings.Contains(w.Msg, "2m until 2999-01-01") &&
			strings.Contains(w.Msg, "days left") && strings.Contains(w.Msg, "drifting clocks") && w.Line > 0 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no warning for the deviation: %v", lint.Warnings)
	}
}
