package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/fleet/internal/natstest"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

var bg = context.Background()

// instance starts a service instance on the bus: a verifier on cfg and its
// Fleet.
func instance(t *testing.T, url, service, name string, cfg core.Config) (*core.Verifier, *fleet.Fleet) {
	t.Helper()
	f, err := fleet.New(fleet.Options{URL: url, Service: service, Instance: name, Version: "test",
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	v, err := core.New(cfg, core.WithRevocations(f), core.WithHooks(f), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	f.Attach(v)
	t.Cleanup(func() {
		f.Close()
		v.Close()
	})
	return v, f
}

func cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(bg, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func newIdP(t *testing.T, opts ...jwtguardtest.Option) *jwtguardtest.IdP {
	idp := jwtguardtest.NewIdP(append([]jwtguardtest.Option{jwtguardtest.WithClock(time.Now), jwtguardtest.WithAlgorithm("ES256")}, opts...)...)
	t.Cleanup(idp.Close)
	return idp
}

// waitChange waits for the next change of f's revocation list, bounded.
func waitRevocations(t *testing.T, f *fleet.Fleet, want int) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		changed := f.RevocationsChanged()
		if f.Stats().Revocations == want && f.Stats().RevocationsSynced {
			return
		}
		select {
		case <-changed:
		case <-limit:
			t.Fatalf("%d revocations, want %d", f.Stats().Revocations, want)
		}
	}
}

// revoke adds, lists and deletes; each change reaches the instance, and
// its tokens are refused with token_revoked.
func TestRevoke(t *testing.T) {
	srv := natstest.Server(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	v, f := instance(t, url, "orders", "o1", idp.Config())
	waitRevocations(t, f, 0)
	tok := idp.NewToken("alice").Sign()
	claims, err := v.Verify(bg, tok)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := cli(t, "revoke", "-nats", url, "-jti", claims.ID(), "-ttl", "1h", "-note", "leaked in a log")
	if code != 0 || !strings.Contains(out, "revoked jti "+claims.ID()) {
		t.Fatalf("revoke: %d %q %q", code, out, errOut)
	}
	waitRevocations(t, f, 1)
	if _, err := v.Verify(bg, tok); !errorsIs(err, core.ReasonTokenRevoked) {
		t.Fatalf("after revoke: %v", err)
	}
	code, out, _ = cli(t, "revoke", "-nats", url, "-sub", "bob", "-issuer", idp.Issuer(), "-ttl", "30m")
	if code != 0 {
		t.Fatalf("revoke -sub: %d %s", code, out)
	}
	waitRevocations(t, f, 2)

	code, out, _ = cli(t, "revoke", "-nats", url, "-list")
	if code != 0 || !strings.Contains(out, "leaked in a log") || !strings.Contains(out, "2 revocations in force") ||
		!strings.Contains(out, "(any)") || !strings.Contains(out, idp.Issuer()) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "revoke", "-nats", url, "-list", "-json")
	var entries []fleet.Revocation
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 2 {
		t.Fatalf("list -json: %d %s", code, out)
	}

	if code, out, _ = cli(t, "revoke", "-nats", url, "-delete", "-jti", claims.ID()); code != 0 {
		t.Fatalf("delete: %d %s", code, out)
	}
	waitRevocations(t, f, 1)
	if _, err := v.Verify(bg, tok); err != nil {
		t.Fatalf("after delete: %v", err)
	}
	if code, _, errOut = cli(t, "revoke", "-nats", url, "-delete", "-jti", claims.ID()); code != 1 || !strings.Contains(errOut, "no revocation") {
		t.Fatalf("delete again: %d %s", code, errOut)
	}
	code, _, errOut = cli(t, "revoke", "-nats", url, "-jti", "another", "-ttl", "1h", "-max", "1")
	if code != 1 || !strings.Contains(errOut, "revocation list full: 1 entries") {
		t.Fatalf("past -max: %d %s", code, errOut)
	}
}

func TestRevokeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"revoke", "-nats", "nats://127.0.0.1:1", "-jti", "x"},                            // no -ttl
		{"revoke", "-nats", "nats://127.0.0.1:1", "-ttl", "1h"},                           // nothing named
		{"revoke", "-nats", "nats://127.0.0.1:1", "-jti", "x", "-sub", "y", "-ttl", "1h"}, // two named
		{"revoke", "-nats", "nats://127.0.0.1:1", "-list", "-jti", "x"},
		{"revoke", "-nats", "nats://127.0.0.1:1", "-delete", "-jti", "x", "-ttl", "1h"},
		{"revoke", "-jti", "x", "-ttl", "1h", "-nats", ""},
		{"fleet", "extra"},
		{"nonsense"},
		{},
	} {
		if code, _, _ := cli(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	// An unreachable bus is an error of its own, not drift.
	if code, _, errOut := cli(t, "fleet", "-nats", "nats://127.0.0.1:1"); code != 2 || !strings.Contains(errOut, "connecting") {
		t.Errorf("unreachable bus: %d %s", code, errOut)
	}
}

// fleet exits 0 on a fleet in step and 1 on drift: an instance of a
// service on another baseline, a service unlike the reference file, and
// instances of one issuer on different key sets.
func TestFleetDrift(t *testing.T) {
	srv := natstest.Server(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	cfg := idp.Config()
	cfg.Leeway = 30 * time.Second
	instance(t, url, "orders", "orders-1", cfg)
	instance(t, url, "orders", "orders-2", cfg)
	instance(t, url, "billing", "billing-1", cfg)

	code, out, errOut := cli(t, "fleet", "-nats", url, "-wait", "500ms")
	if code != 0 || !strings.Contains(out, "no drift: 3 instances of 2 services") || !strings.Contains(out, "orders-2") {
		t.Fatalf("in step: %d\n%s%s", code, out, errOut)
	}

	// A reference file written as the fleet runs: no drift.
	ref := filepath.Join(t.TempDir(), "baseline.yaml")
	writeBaseline(t, ref, idp, "30s", "[ES256, EdDSA, PS256, RS256]")
	if code, out, _ = cli(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", ref); code != 0 {
		t.Fatalf("against the reference: %d\n%s", code, out)
	}
	// The reference moves on: both services differ from it, keys named.
	writeBaseline(t, ref, idp, "5m", "[RS256]")
	code, out, _ = cli(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", ref)
	if code != 1 || !strings.Contains(out, "leeway 30s vs 5m") || !strings.Contains(out, "algorithms [ES256 EdDSA PS256 RS256] vs [RS256]") ||
		!strings.Contains(out, "billing: billing-1 differs from the reference") {
		t.Fatalf("against a changed reference: %d\n%s", code, out)
	}

	// One instance of orders on a drifted baseline.
	drifted := cfg
	drifted.Leeway = time.Minute
	instance(t, url, "orders", "orders-3", drifted)
	code, out, _ = cli(t, "fleet", "-nats", url, "-wait", "500ms")
	if code != 1 || !strings.Contains(out, "orders: instances on 2 baselines") || !strings.Contains(out, "leeway 30s vs 1m") ||
		!strings.Contains(out, "(orders-3)") {
		t.Fatalf("drifted instance: %d\n%s", code, out)
	}
	code, out, _ = cli(t, "fleet", "-nats", url, "-wait", "500ms", "-json")
	var rep fleetReport
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Instances) != 4 || rep.Drift[0].Kind != fleet.DriftBaselines {
		t.Fatalf("-json: %d\n%s", code, out)
	}
}

// Instances of one issuer that keep different key sets past the bound are
// drift: here two IdPs publish different keys under one issuer name.
func TestFleetKeyDrift(t *testing.T) {
	srv := natstest.Server(t)
	url := srv.ClientURL()
	a := newIdP(t, jwtguardtest.WithSigningKey(jwtguardtest.NewKey("ES256")))
	b := newIdP(t, jwtguardtest.WithSigningKey(jwtguardtest.NewKey("ES256")))
	instance(t, url, "orders", "on-a", a.Config())
	instance(t, url, "search", "on-b", b.Config())
	if code, out, _ := cli(t, "fleet", "-nats", url, "-wait", "500ms"); code != 0 {
		t.Fatalf("within the default bound: %d\n%s", code, out)
	}
	code, out, _ := cli(t, "fleet", "-nats", url, "-wait", "500ms", "-bound", "100ms")
	if code != 1 || !strings.Contains(out, "issuer "+a.Issuer()+": 2 key sets") || !strings.Contains(out, "held by on-a") {
		t.Fatalf("past the bound: %d\n%s", code, out)
	}
}

func writeBaseline(t *testing.T, path string, idp *jwtguardtest.IdP, leeway, algs string) {
	t.Helper()
	doc := "issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() + "\n" +
		"algorithms: " + algs + "\nleeway: " + leeway + "\n" +
		"services:\n  orders:\n    audiences: [" + idp.Audience() + "]\n  billing:\n    audiences: [" + idp.Audience() + "]\n" +
		"    shared_audience_reason: one test audience\n"
	doc = strings.Replace(doc, "  orders:\n    audiences: ["+idp.Audience()+"]\n", "  orders:\n    audiences: ["+idp.Audience()+"]\n    shared_audience_reason: one test audience\n", 1)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
}

func errorsIs(err error, r core.Reason) bool {
	var e *core.Error
	return err != nil && asError(err, &e) && e.Reason == r
}

func asError(err error, target **core.Error) bool { return errors.As(err, target) }
