// Command fleet shows the fleet module at work: an embedded NATS server,
// the demo IdP and five instances of one service.
//
//	go run ./examples/fleet
//
// The instances load their baseline from a JetStream key-value entry and
// follow it, as services started with -config-kv do. The demo rotates the
// IdP's key and prints, per instance, how long it took to serve the new
// key set and how many fetches that cost; revokes the new kid and shows
// every instance refusing its tokens with token_revoked; publishes a
// changed baseline to the entry, as jwtguard publish does, and shows every
// instance switching to it and the fleet report (what jwtguard fleet
// prints) with every instance on the new fingerprint; then starts a sixth
// instance on an old copy of the baseline and shows the report catching
// it. It exits 1 if any of it fails: an instance slower than a second, more
// than one fetch, a token still accepted, an instance left on the old
// baseline, or drift missed.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
	"github.com/jwtguard/jwtguard/fleet"
)

// bound is the fleet's goal: every instance on a new key set, and refusing
// a revoked token, within a second.
const bound = time.Second

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := demo(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// demo returns 0 when every step held, 1 when one did not or the demo
// could not start, 2 for bad flags.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fleet", flag.ContinueOnError)
	fs.SetOutput(stderr)
	instances := fs.Int("instances", 5, "instances of the service")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *instances < 2 {
		fmt.Fprintln(stderr, "usage: fleet [-instances N], N at least 2")
		return 2
	}
	d, err := start(*instances, stdout)
	if err != nil {
		fmt.Fprintln(stderr, "fleet:", err)
		return 1
	}
	defer d.close()
	failed := false
	for _, step := range []func(context.Context) error{d.rotate, d.revoke, d.publish, d.drift} {
		if err := step(ctx); err != nil {
			fmt.Fprintf(stdout, "FAILED: %v\n\n", err)
			failed = true
		}
	}
	if failed {
		return 1
	}
	fmt.Fprintln(stdout, "all steps held")
	return 0
}

// instance is one replica: a verifier, its fleet membership, a record of
// its key events, and the baseline entry it follows (none for one started
// from a file).
type instance struct {
	name    string
	v       *core.Verifier
	f       *fleet.Fleet
	ev      *events
	entry   *fleet.BaselineEntry
	updates chan baselineUpdate
}

// baselineUpdate is an update of the entry as an instance handled it.
type baselineUpdate struct {
	at time.Time
	u  fleet.BaselineUpdate
}

type run struct {
	out       io.Writer
	dir       string
	nats      *server.Server
	nc        *nats.Conn // the operator's connection
	js        jetstream.JetStream
	idp       *idp.IdP
	baseline  string // the reference baseline file, as published
	instances []*instance
}

// The entry the instances follow, as -config-kv jwtguard_baselines/estate
// names it.
const (
	bucket = "jwtguard_baselines"
	key    = "estate"
)

const baselineTmpl = `issuers:
  - issuer: {{ISSUER}}
    jwks_url: {{JWKS}}
algorithms: [ES256]
leeway: {{LEEWAY}}
required_claims: [sub]
jwks:
  unknown_kid_interval: 1s
  convergence_window: 500ms
services:
  orders:
    audiences: [orders-api]
`

func start(n int, out io.Writer) (*run, error) {
	dir, err := os.MkdirTemp("", "jwtguard-fleet-demo")
	if err != nil {
		return nil, err
	}
	r := &run{out: out, dir: dir}
	r.nats, err = server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true,
		StoreDir: filepath.Join(dir, "nats"), NoLog: true, NoSigs: true})
	if err != nil {
		r.close()
		return nil, err
	}
	go r.nats.Start()
	if !r.nats.ReadyForConnections(10 * time.Second) {
		r.close()
		return nil, errors.New("the embedded NATS server did not start")
	}
	if r.idp, err = idp.Start("127.0.0.1:0", "orders-api", time.Now); err != nil {
		r.close()
		return nil, err
	}
	if r.nc, err = nats.Connect(r.nats.ClientURL()); err != nil {
		r.close()
		return nil, err
	}
	if r.js, err = jetstream.New(r.nc); err != nil {
		r.close()
		return nil, err
	}
	r.baseline = filepath.Join(dir, "baseline.yaml")
	if err := r.writeBaseline(r.baseline, "1m"); err != nil {
		r.close()
		return nil, err
	}
	p, err := r.publishFile(context.Background(), r.baseline)
	if err != nil {
		r.close()
		return nil, err
	}
	fmt.Fprintf(out, "NATS %s, IdP %s, baseline %s published to %s/%s (revision %d)\n", r.nats.ClientURL(), r.idp.Issuer(),
		r.baseline, bucket, key, p.Revision)
	for i := range n {
		in, err := r.joinEntry(fmt.Sprintf("orders-%d", i+1))
		if err != nil {
			r.close()
			return nil, err
		}
		r.instances = append(r.instances, in)
	}
	fmt.Fprintf(out, "%d instances of orders on the bus, following %s/%s\n\n", n, bucket, key)
	return r, nil
}

// publishFile publishes the baseline file to the entry, as jwtguard
// publish does: through fleet.PublishBaseline, which lints first.
func (r *run) publishFile(ctx context.Context, path string) (fleet.Published, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return fleet.Published{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return fleet.PublishBaseline(ctx, r.js, bucket, key, data)
}

func (r *run) writeBaseline(path, leeway string) error {
	doc := strings.NewReplacer("{{ISSUER}}", r.idp.Issuer(), "{{JWKS}}", r.idp.JWKSURL(), "{{LEEWAY}}", leeway).Replace(baselineTmpl)
	return os.WriteFile(path, []byte(doc), 0o600)
}

// joinEntry starts an instance of orders on the entry, and has it follow
// the entry, as a service started with -config-kv jwtguard_baselines/estate
// -service orders -nats URL does.
func (r *run) joinEntry(name string) (*instance, error) {
	updates := make(chan baselineUpdate, 16)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	entry, err := fleet.OpenBaseline(ctx, r.js, fleet.BaselineOptions{Bucket: bucket, Key: key, Service: "orders",
		Logger: slog.New(slog.DiscardHandler), OnUpdate: func(u fleet.BaselineUpdate) { updates <- baselineUpdate{time.Now(), u} }})
	if err != nil {
		return nil, err
	}
	in, err := r.join(name, entry.Config())
	if err != nil {
		entry.Close()
		return nil, err
	}
	in.entry, in.updates = entry, updates
	if err := entry.Follow(in.v); err != nil {
		in.close()
		return nil, err
	}
	return in, nil
}

// joinFile starts an instance of orders on a baseline file, as a service
// started with -config FILE -service orders -nats URL does.
func (r *run) joinFile(name, baseline string) (*instance, error) {
	cfg, err := core.LoadBaseline(baseline)
	if err == nil {
		cfg, err = cfg.ForService("orders")
	}
	if err != nil {
		return nil, err
	}
	return r.join(name, cfg)
}

// join starts an instance of orders on cfg.
func (r *run) join(name string, cfg core.Config) (*instance, error) {
	quiet := slog.New(slog.DiscardHandler)
	f, err := fleet.New(fleet.Options{URL: r.nats.ClientURL(), Service: "orders", Instance: name, Version: "demo", Logger: quiet})
	if err != nil {
		return nil, err
	}
	ev := newEvents()
	v, err := core.New(cfg, core.WithRevocations(f), core.WithHooks(f), core.WithHooks(ev), core.WithLogger(quiet))
	if err != nil {
		f.Close()
		return nil, err
	}
	f.Attach(v)
	in := &instance{name: name, v: v, f: f, ev: ev}
	// Ready when the revocation list is loaded: the bucket is read whole.
	if err := waitFor(in.f.RevocationsChanged, func() bool { return f.Stats().RevocationsSynced }); err != nil {
		in.close()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return in, nil
}

func (in *instance) close() {
	if in.entry != nil {
		in.entry.Close()
	}
	in.f.Close()
	in.v.Close()
}

func (r *run) close() {
	for _, in := range r.instances {
		in.close()
	}
	if r.idp != nil {
		r.idp.Close()
	}
	if r.nc != nil {
		r.nc.Close()
	}
	if r.nats != nil {
		r.nats.Shutdown()
		r.nats.WaitForShutdown()
	}
	os.RemoveAll(r.dir)
}

// rotate: the IdP rotates; the first instance sees the new kid in a token
// and fetches; the others hear of it on the bus and fetch within the
// convergence window.
func (r *run) rotate(ctx context.Context) error {
	fmt.Fprintln(r.out, "1. The IdP rotates its signing key; orders-1 gets the first token with the new kid.")
	before := make([]int, len(r.instances))
	for i, in := range r.instances {
		before[i] = in.ev.fetchCount()
	}
	kid := r.idp.RotateKeeping(1)
	tok := r.idp.Token("alice")
	seen := time.Now()
	if _, err := r.instances[0].v.Verify(ctx, tok); err != nil {
		return fmt.Errorf("orders-1 refused the new key's token: %w", err)
	}
	fp := r.instances[0].v.Stats()[0].Fingerprint
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "   INSTANCE\tON THE NEW SET AFTER\tFETCHES\tHOW\n")
	var bad []string
	for i, in := range r.instances {
		err := waitFor(in.ev.next, func() bool { _, ok := in.ev.changedTo(fp); return ok })
		at, _ := in.ev.changedTo(fp)
		fetches := in.ev.fetchesAfter(before[i])
		took := at.Sub(seen)
		fmt.Fprintf(tw, "   %s\t%v\t%d\t%s\n", in.name, took.Round(time.Millisecond), len(fetches), strings.Join(fetches, ", "))
		if err != nil || took > bound || len(fetches) != 1 {
			bad = append(bad, in.name)
		}
	}
	tw.Flush()
	fmt.Fprintf(r.out, "   new kid %s; every instance accepts its tokens: %v\n\n", kid, r.allAccept(ctx, tok))
	if len(bad) > 0 {
		return fmt.Errorf("not on the new key set within %v with one fetch: %s", bound, strings.Join(bad, ", "))
	}
	return nil
}

func (r *run) allAccept(ctx context.Context, tok string) bool {
	for _, in := range r.instances {
		if _, err := in.v.Verify(ctx, tok); err != nil {
			return false
		}
	}
	return true
}

// revoke: the new kid is revoked while the IdP still publishes it, as
// jwtguard revoke -kid KID -ttl 10m does; every instance refuses it,
// also from its verified-token cache.
func (r *run) revoke(ctx context.Context) error {
	kid := r.idp.SigningKey().KID()
	tok := r.idp.Token("bob")
	for _, in := range r.instances {
		if _, err := in.v.Verify(ctx, tok); err != nil { // now in every cache
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	fmt.Fprintf(r.out, "2. jwtguard revoke -kid %s -ttl 10m -note \"key leaked\"\n", kid)
	rev := fleet.Revocation{Kind: fleet.KindKID, Value: kid, Expires: time.Now().Add(10 * time.Minute), Created: time.Now(), Note: "key leaked"}
	start := time.Now()
	if err := fleet.Revoke(ctx, r.js, rev, 0); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "   INSTANCE\tREFUSES AFTER\tREASON\n")
	var bad []string
	for _, in := range r.instances {
		werr := waitFor(in.f.RevocationsChanged, func() bool { _, err := in.v.Verify(ctx, tok); return err != nil })
		took := time.Since(start)
		_, err := in.v.Verify(ctx, tok)
		reason := "accepted"
		var ce *core.Error
		if errors.As(err, &ce) {
			reason = string(ce.Reason)
		}
		fmt.Fprintf(tw, "   %s\t%v\t%s\n", in.name, took.Round(time.Millisecond), reason)
		if werr != nil || took > bound || reason != string(core.ReasonTokenRevoked) {
			bad = append(bad, in.name)
		}
	}
	tw.Flush()
	fmt.Fprintln(r.out)
	if len(bad) > 0 {
		return fmt.Errorf("not refusing the revoked kid within %v: %s", bound, strings.Join(bad, ", "))
	}
	return nil
}

// publish: an operator tightens the baseline (leeway 1m -> 30s) and
// publishes it (a looser one the instances would refuse: they follow the
// entry without -config-kv-allow-weaker); every instance switches to it, and the fleet report shows
// each on the new fingerprint, with no drift from the published file.
func (r *run) publish(ctx context.Context) error {
	if err := r.writeBaseline(r.baseline, "30s"); err != nil {
		return err
	}
	fmt.Fprintf(r.out, "3. The baseline's leeway goes from 1m to 30s, and is published to the entry the instances follow.\n")
	fmt.Fprintf(r.out, "   $ jwtguard publish -nats %s -bucket %s -key %s %s\n", r.nats.ClientURL(), bucket, key, r.baseline)
	start := time.Now()
	p, err := r.publishFile(ctx, r.baseline)
	if err != nil {
		return err
	}
	fp := p.Services[0].Fingerprint
	fmt.Fprintf(r.out, "   published revision %d: orders on %s\n", p.Revision, fp)
	tw := tabwriter.NewWriter(r.out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "   INSTANCE\tON THE NEW BASELINE AFTER\tFINGERPRINT\n")
	var bad []string
	var last time.Duration
	for _, in := range r.instances {
		u, err := in.awaitSwitch(fp)
		took := u.at.Sub(start)
		last = max(last, took)
		fmt.Fprintf(tw, "   %s\t%v\t%s\n", in.name, took.Round(time.Millisecond), in.v.Config().Fingerprint())
		if err != nil || took > bound {
			bad = append(bad, in.name)
		}
	}
	tw.Flush()
	fmt.Fprintf(r.out, "   every instance switched within %v of the publish\n", last.Round(time.Millisecond))
	hbs, _, err := r.report(ctx)
	if err != nil {
		return err
	}
	for _, hb := range hbs {
		if hb.Fingerprint != fp {
			bad = append(bad, hb.Instance+" (report)")
		}
	}
	if len(hbs) != len(r.instances) {
		bad = append(bad, fmt.Sprintf("%d of %d instances in the report", len(hbs), len(r.instances)))
	}
	if len(bad) > 0 {
		return fmt.Errorf("not on the published baseline within %v: %s", bound, strings.Join(bad, ", "))
	}
	return nil
}

// awaitSwitch waits for the instance's switch to the baseline fp, for at
// most 5s.
func (in *instance) awaitSwitch(fp string) (baselineUpdate, error) {
	limit := time.NewTimer(5 * time.Second)
	defer limit.Stop()
	for {
		select {
		case u := <-in.updates:
			if u.u.Fingerprint == fp {
				return u, nil
			}
		case <-limit.C:
			return baselineUpdate{at: time.Now()}, errors.New("timed out")
		}
	}
}

// report prints the fleet report against the reference file, as jwtguard
// fleet -baseline FILE prints it.
func (r *run) report(ctx context.Context) ([]fleet.Heartbeat, []fleet.Drift, error) {
	fmt.Fprintf(r.out, "   $ jwtguard fleet -nats %s -baseline %s\n", r.nats.ClientURL(), r.baseline)
	ref, err := core.LoadBaseline(r.baseline)
	if err != nil {
		return nil, nil, err
	}
	hbs, err := fleet.Observe(ctx, r.nc, time.Second)
	if err != nil {
		return nil, nil, err
	}
	drift := fleet.FindDrift(hbs, &ref, 5*time.Second)
	var b strings.Builder
	fleet.WriteReport(&b, hbs, drift)
	for line := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
		fmt.Fprintln(r.out, "   "+line)
	}
	fmt.Fprintln(r.out)
	return hbs, drift, nil
}

// drift: a sixth instance starts from an old copy of the baseline file,
// with leeway 5m, instead of the entry; the fleet report, against the
// published file, catches it.
func (r *run) drift(ctx context.Context) error {
	old := filepath.Join(r.dir, "baseline-old.yaml")
	if err := r.writeBaseline(old, "5m"); err != nil {
		return err
	}
	sixth, err := r.joinFile(fmt.Sprintf("orders-%d", len(r.instances)+1), old)
	if err != nil {
		return err
	}
	r.instances = append(r.instances, sixth)
	fmt.Fprintf(r.out, "4. %s starts from an old copy of the baseline file (leeway 5m), not the entry.\n", sixth.name)
	_, drift, err := r.report(ctx)
	if err != nil {
		return err
	}
	caught := false
	for _, d := range drift {
		caught = caught || strings.Contains(d.Message, "leeway 5m vs 30s") && strings.Contains(d.Message, sixth.name)
	}
	if !caught {
		return fmt.Errorf("the report did not name %s's leeway", sixth.name)
	}
	fmt.Fprintln(r.out, "   caught: jwtguard fleet exits 1 on this report.")
	fmt.Fprintln(r.out)
	return nil
}

// waitFor waits, change by change, until cond holds, for at most 5s.
func waitFor(changed func() <-chan struct{}, cond func() bool) error {
	limit := time.NewTimer(5 * time.Second)
	defer limit.Stop()
	for {
		ch := changed()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-limit.C:
			return errors.New("timed out")
		}
	}
}

// events records an instance's key lifecycle events.
type events struct {
	mu      sync.Mutex
	fetches []string
	changes map[string]time.Time // fingerprint: when loaded
	signal  chan struct{}
}

func newEvents() *events {
	return &events{changes: map[string]time.Time{}, signal: make(chan struct{})}
}

func (e *events) FetchDone(f core.FetchEvent) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.fetches = append(e.fetches, f.Trigger)
	e.notifyLocked()
}

func (e *events) KeySetChanged(c core.KeySetChange) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.changes[c.Fingerprint] = time.Now()
	e.notifyLocked()
}

func (e *events) notifyLocked() {
	close(e.signal)
	e.signal = make(chan struct{})
}

func (e *events) next() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.signal
}

func (e *events) fetchCount() int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.fetches)
}

func (e *events) fetchesAfter(n int) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]string(nil), e.fetches[n:]...)
}

func (e *events) changedTo(fp string) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.changes[fp]
	return at, ok
}
