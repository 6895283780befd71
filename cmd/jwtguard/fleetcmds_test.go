package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
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

// busCLI runs the command with args, as runCLI does, with no stdin.
func busCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	r := runCLI(t, "", args...)
	return r.code, r.stdout, r.stderr
}

// natsServer runs a NATS server with JetStream on loopback for the test.
func natsServer(t *testing.T) *server.Server {
	t.Helper()
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(),
		NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	return srv
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
	srv := natsServer(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	v, f := instance(t, url, "orders", "o1", idp.Config())
	waitRevocations(t, f, 0)
	tok := idp.NewToken("alice").Sign()
	claims, err := v.Verify(bg, tok)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errOut := busCLI(t, "revoke", "-nats", url, "-jti", claims.ID(), "-ttl", "1h", "-note", "leaked in a log")
	if code != 0 || !strings.Contains(out, "revoked jti "+claims.ID()) {
		t.Fatalf("revoke: %d %q %q", code, out, errOut)
	}
	waitRevocations(t, f, 1)
	if _, err := v.Verify(bg, tok); !errorsIs(err, core.ReasonTokenRevoked) {
		t.Fatalf("after revoke: %v", err)
	}
	code, out, _ = busCLI(t, "revoke", "-nats", url, "-sub", "bob", "-issuer", idp.Issuer(), "-ttl", "30m")
	if code != 0 {
		t.Fatalf("revoke -sub: %d %s", code, out)
	}
	waitRevocations(t, f, 2)

	code, out, _ = busCLI(t, "revoke", "-nats", url, "-list")
	if code != 0 || !strings.Contains(out, "leaked in a log") || !strings.Contains(out, "2 revocations in force") ||
		!strings.Contains(out, "(any)") || !strings.Contains(out, idp.Issuer()) {
		t.Fatalf("list: %d\n%s", code, out)
	}
	code, out, _ = busCLI(t, "revoke", "-nats", url, "-list", "-json")
	var entries []fleet.Revocation
	if code != 0 || json.Unmarshal([]byte(out), &entries) != nil || len(entries) != 2 {
		t.Fatalf("list -json: %d %s", code, out)
	}

	if code, out, _ = busCLI(t, "revoke", "-nats", url, "-delete", "-jti", claims.ID()); code != 0 {
		t.Fatalf("delete: %d %s", code, out)
	}
	waitRevocations(t, f, 1)
	if _, err := v.Verify(bg, tok); err != nil {
		t.Fatalf("after delete: %v", err)
	}
	if code, _, errOut = busCLI(t, "revoke", "-nats", url, "-delete", "-jti", claims.ID()); code != 1 || !strings.Contains(errOut, "no revocation") {
		t.Fatalf("delete again: %d %s", code, errOut)
	}
	code, _, errOut = busCLI(t, "revoke", "-nats", url, "-jti", "another", "-ttl", "1h", "-max", "1")
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
		if code, _, _ := busCLI(t, args...); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	// An unreachable bus is an error of its own, not drift.
	if code, _, errOut := busCLI(t, "fleet", "-nats", "nats://127.0.0.1:1"); code != 2 || !strings.Contains(errOut, "connecting") {
		t.Errorf("unreachable bus: %d %s", code, errOut)
	}
}

// fleet exits 0 on a fleet in step and 1 on drift: an instance of a
// service on another baseline, a service unlike the reference file, and
// instances of one issuer on different key sets.
func TestFleetDrift(t *testing.T) {
	srv := natsServer(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	cfg := idp.Config()
	cfg.Leeway = 30 * time.Second
	instance(t, url, "orders", "orders-1", cfg)
	instance(t, url, "orders", "orders-2", cfg)
	instance(t, url, "billing", "billing-1", cfg)

	code, out, errOut := busCLI(t, "fleet", "-nats", url, "-wait", "500ms")
	if code != 0 || !strings.Contains(out, "no drift: 3 instances of 2 services") || !strings.Contains(out, "orders-2") {
		t.Fatalf("in step: %d\n%s%s", code, out, errOut)
	}

	// A reference file written as the fleet runs: no drift.
	ref := filepath.Join(t.TempDir(), "baseline.yaml")
	writeBaseline(t, ref, idp, "30s", "[ES256, EdDSA, PS256, RS256]")
	if code, out, _ = busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", ref); code != 0 {
		t.Fatalf("against the reference: %d\n%s", code, out)
	}
	// The reference moves on: both services differ from it, keys named.
	writeBaseline(t, ref, idp, "5m", "[RS256]")
	code, out, _ = busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", ref)
	if code != 1 || !strings.Contains(out, "leeway 30s vs 5m") || !strings.Contains(out, "algorithms [ES256 EdDSA PS256 RS256] vs [RS256]") ||
		!strings.Contains(out, "billing: billing-1 differs from the reference") {
		t.Fatalf("against a changed reference: %d\n%s", code, out)
	}

	// One instance of orders on a drifted baseline.
	drifted := cfg
	drifted.Leeway = time.Minute
	instance(t, url, "orders", "orders-3", drifted)
	code, out, _ = busCLI(t, "fleet", "-nats", url, "-wait", "500ms")
	if code != 1 || !strings.Contains(out, "orders: instances on 2 baselines") || !strings.Contains(out, "leeway 30s vs 1m") ||
		!strings.Contains(out, "(orders-3)") {
		t.Fatalf("drifted instance: %d\n%s", code, out)
	}
	code, out, _ = busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-json")
	var rep fleetReport
	if code != 1 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Instances) != 4 || rep.Drift[0].Kind != fleet.DriftBaselines {
		t.Fatalf("-json: %d\n%s", code, out)
	}
}

// Instances of one issuer that keep different key sets past the bound are
// drift: here two IdPs publish different keys under one issuer name.
func TestFleetKeyDrift(t *testing.T) {
	srv := natsServer(t)
	url := srv.ClientURL()
	a := newIdP(t, jwtguardtest.WithSigningKey(jwtguardtest.NewKey("ES256")))
	b := newIdP(t, jwtguardtest.WithSigningKey(jwtguardtest.NewKey("ES256")))
	instance(t, url, "orders", "on-a", a.Config())
	instance(t, url, "search", "on-b", b.Config())
	if code, out, _ := busCLI(t, "fleet", "-nats", url, "-wait", "500ms"); code != 0 {
		t.Fatalf("within the default bound: %d\n%s", code, out)
	}
	code, out, _ := busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-bound", "100ms")
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

// follower starts an instance of service that loads its baseline from the
// entry and follows it, as a service started with -config-kv does; each
// update it handles goes to the returned channel.
func follower(t *testing.T, url, bucket, key, service, name string) <-chan fleet.BaselineUpdate {
	t.Helper()
	js, err := jetstream.New(operatorConn(t, url))
	if err != nil {
		t.Fatal(err)
	}
	updates := make(chan fleet.BaselineUpdate, 16)
	ctx, cancel := context.WithTimeout(bg, 10*time.Second)
	defer cancel()
	entry, err := fleet.OpenBaseline(ctx, js, fleet.BaselineOptions{Bucket: bucket, Key: key, Service: service,
		Logger: slog.New(slog.DiscardHandler), OnUpdate: func(u fleet.BaselineUpdate) { updates <- u }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(entry.Close)
	v, _ := instance(t, url, service, name, entry.Config())
	if err := entry.Follow(v); err != nil {
		t.Fatal(err)
	}
	return updates
}

// publish lints first: a baseline with errors is refused, each error
// printed with its line and key, and nothing is written (no bucket on a
// bus without one, no new revision on one with it). A valid one creates
// the bucket once, and publish prints the revision and the fingerprints.
func TestPublish(t *testing.T) {
	srv := natsServer(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good.yaml"), filepath.Join(dir, "bad.yaml")
	writeBaseline(t, good, idp, "30s", "[ES256]")
	writeBaseline(t, bad, idp, "30s", "[ES256, HS256]")
	nc := operatorConn(t, url)
	js, _ := jetstream.New(nc)
	publishArgs := func(file string) []string {
		return []string{"publish", "-nats", url, "-bucket", "baselines", "-key", "orders", file}
	}

	refused := func(what string) {
		t.Helper()
		code, out, errOut := busCLI(t, publishArgs(bad)...)
		if code != 1 || !strings.Contains(out, bad+`:4: error: algorithms: "HS256" (HMAC) cannot be used with a public key set`) ||
			!strings.Contains(errOut, "nothing published") {
			t.Fatalf("%s: a baseline with errors: %d\n%s%s", what, code, out, errOut)
		}
	}
	refused("no bucket yet")
	if _, err := js.KeyValue(bg, "baselines"); !errors.Is(err, jetstream.ErrBucketNotFound) {
		t.Fatalf("a refused publish made the bucket: %v", err)
	}

	cfg, _ := core.LoadBaseline(good)
	orders, _ := cfg.ForService("orders")
	billing, _ := cfg.ForService("billing")
	code, out, errOut := busCLI(t, publishArgs(good)...)
	want := "created bucket baselines\npublished " + good + " to bucket baselines key orders, revision 1\n" +
		"service orders " + orders.Fingerprint() + "\nservice billing " + billing.Fingerprint() + "\nshared " + orders.SharedFingerprint() + "\n"
	if code != 0 || !strings.HasSuffix(out, want) {
		t.Fatalf("publish: %d\n%s%s\nwant the output to end with\n%s", code, out, errOut, want)
	}

	refused("a bucket at revision 1")
	kv, err := js.KeyValue(bg, "baselines")
	if err != nil {
		t.Fatal(err)
	}
	if e, err := kv.Get(bg, "orders"); err != nil || e.Revision() != 1 {
		t.Fatalf("a refused publish wrote: %v", err)
	}

	single := filepath.Join(dir, "single.yaml")
	os.WriteFile(single, []byte("issuers:\n  - issuer: "+idp.Issuer()+"\n    jwks_url: "+idp.JWKSURL()+"\naudiences: [a]\nalgorithms: [ES256]\n"), 0o600)
	one, _ := core.LoadBaseline(single)
	code, out, _ = busCLI(t, publishArgs(single)...)
	if code != 0 || strings.Contains(out, "created") || !strings.Contains(out, "revision 2\nfingerprint "+one.Fingerprint()+"\n") {
		t.Fatalf("publish of a single baseline: %d\n%s", code, out)
	}
}

func TestPublishUsage(t *testing.T) {
	idp := newIdP(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	writeBaseline(t, bad, idp, "30s", "[ES256, HS256]")
	for _, tc := range []struct {
		name string
		args []string
		code int
		says string
	}{
		{"no file", []string{"publish", "-nats", "nats://127.0.0.1:1", "-bucket", "b", "-key", "k"}, 2, "usage"},
		{"no bucket", []string{"publish", "-nats", "nats://127.0.0.1:1", "-key", "k", bad}, 2, "usage"},
		{"no key", []string{"publish", "-nats", "nats://127.0.0.1:1", "-bucket", "b", bad}, 2, "usage"},
		{"a missing file", []string{"publish", "-nats", "nats://127.0.0.1:1", "-bucket", "b", "-key", "k", "/nonexistent.yaml"}, 2, "no such file"},
		// Linted before the bus is dialled: refused the same without one.
		{"errors and no bus", []string{"publish", "-nats", "nats://127.0.0.1:1", "-bucket", "b", "-key", "k", bad}, 1, "nothing published"},
		{"no bus", []string{"publish", "-nats", "nats://127.0.0.1:1", "-bucket", "b", "-key", "k", "../../examples/baseline.yaml"}, 2, "connecting"},
		{"no -nats", []string{"publish", "-nats", "", "-bucket", "b", "-key", "k", "../../examples/baseline.yaml"}, 2, "-nats is required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := busCLI(t, tc.args...)
			if code != tc.code || !strings.Contains(errOut, tc.says) {
				t.Errorf("exit %d, want %d; stderr %q does not say %q", code, tc.code, errOut, tc.says)
			}
		})
	}
}

// Published once, every instance that follows the entry switches, and the
// fleet command shows each on the published fingerprint, with no drift
// from the published file.
func TestPublishThenFleet(t *testing.T) {
	srv := natsServer(t)
	url := srv.ClientURL()
	idp := newIdP(t)
	dir := t.TempDir()
	first, next := filepath.Join(dir, "first.yaml"), filepath.Join(dir, "next.yaml")
	// Tighter, so that instances following without
	// -config-kv-allow-weaker switch to it.
	writeBaseline(t, first, idp, "1m", "[ES256]")
	writeBaseline(t, next, idp, "30s", "[ES256]")
	if code, out, errOut := busCLI(t, "publish", "-nats", url, "-bucket", "baselines", "-key", "estate", first); code != 0 {
		t.Fatalf("publish: %d %s%s", code, out, errOut)
	}
	var all []<-chan fleet.BaselineUpdate
	for _, in := range []struct{ service, name string }{{"orders", "orders-1"}, {"orders", "orders-2"}, {"billing", "billing-1"}} {
		all = append(all, follower(t, url, "baselines", "estate", in.service, in.name))
	}
	if code, out, _ := busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", next); code != 1 {
		t.Fatalf("before the publish, against the next baseline: %d\n%s", code, out)
	}
	if code, out, errOut := busCLI(t, "publish", "-nats", url, "-bucket", "baselines", "-key", "estate", next); code != 0 {
		t.Fatalf("publish: %d %s%s", code, out, errOut)
	}
	for i, updates := range all {
		select {
		case u := <-updates:
			if !u.Changed {
				t.Fatalf("instance %d: %+v", i, u)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("instance %d did not switch", i)
		}
	}
	cfg, _ := core.LoadBaseline(next)
	code, out, _ := busCLI(t, "fleet", "-nats", url, "-wait", "500ms", "-baseline", next)
	if code != 0 || !strings.Contains(out, "no drift: 3 instances of 2 services") {
		t.Fatalf("after the publish: %d\n%s", code, out)
	}
	// Each instance's line shows its service's fingerprint in the new file.
	lines := 0
	for line := range strings.SplitSeq(out, "\n") {
		svc, _, _ := strings.Cut(line, " ")
		want, err := cfg.ForService(svc)
		if err != nil {
			continue // the header and the summary
		}
		lines++
		if !strings.Contains(line, want.Fingerprint()[:len("sha256:")+12]) {
			t.Errorf("not on %s: %s", want.Fingerprint(), line)
		}
	}
	if lines != 3 {
		t.Errorf("%d instance lines:\n%s", lines, out)
	}
}

func operatorConn(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}
