// Command fleet shows the fleet module at work: an embedded NATS server,
// the demo IdP and five instances of one service.
//
//	go run ./examples/fleet
//
// It rotates the IdP's key and prints, per instance, how long it took to
// serve the new key set and how many fetches that cost; revokes the new
// kid and shows every instance refusing its tokens with token_revoked;
// then starts a sixth instance on a drifted baseline and shows the fleet
// report (what jwtguard-fleet fleet prints) catching it. It exits 1 if any
// of it fails: an instance slower than a second, more than one fetch, a
// token still accepted, or drift missed.
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
	for _, step := range []func(context.Context) error{d.rotate, d.revoke, d.drift} {
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

// instance is one replica: a verifier, its fleet membership and a record
// of its key events.
type instance struct {
	name string
	v    *core.Verifier
	f    *fleet.Fleet
	ev   *events
}

type run struct {
	out       io.Writer
	dir       string
	nats      *server.Server
	idp       *idp.IdP
	baseline  string // the reference baseline file
	instances []*instance
}

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
	r.baseline = filepath.Join(dir, "baseline.yaml")
	if err := r.writeBaseline(r.baseline, "30s"); err != nil {
		r.close()
		return nil, err
	}
	fmt.Fprintf(out, "NATS %s, IdP %s, baseline %s\n", r.nats.ClientURL(), r.idp.Issuer(), r.baseline)
	for i := range n {
		in, err := r.join(fmt.Sprintf("orders-%d", i+1), r.baseline)
		if err != nil {
			r.close()
			return nil, err
		}
		r.instances = append(r.instances, in)
	}
	fmt.Fprintf(out, "%d instances of orders on the bus\n\n", n)
	return r, nil
}

func (r *run) writeBaseline(path, leeway string) error {
	doc := strings.NewReplacer("{{ISSUER}}", r.idp.Issuer(), "{{JWKS}}", r.idp.JWKSURL(), "{{LEEWAY}}", leeway).Replace(baselineTmpl)
	return os.WriteFile(path, []byte(doc), 0o600)
}

// join starts an instance of orders on the baseline file, as a service
// started with -config FILE -service orders -nats URL does.
func (r *run) join(name, baseline string) (*instance, error) {
	cfg, err := core.LoadBaseline(baseline)
	if err == nil {
		cfg, err = cfg.ForService("orders")
	}
	if err != nil {
		return nil, err
	}
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
// jwtguard-fleet revoke -kid KID -ttl 10m does; every instance refuses it,
// also from its verified-token cache.
func (r *run) revoke(ctx context.Context) error {
	kid := r.idp.SigningKey().KID()
	tok := r.idp.Token("bob")
	for _, in := range r.instances {
		if _, err := in.v.Verify(ctx, tok); err != nil { // now in every cache
			return fmt.Errorf("%s: %w", in.name, err)
		}
	}
	fmt.Fprintf(r.out, "2. jwtguard-fleet revoke -kid %s -ttl 10m -note \"key leaked\"\n", kid)
	nc, err := nats.Connect(r.nats.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	rev := fleet.Revocation{Kind: fleet.KindKID, Value: kid, Expires: time.Now().Add(10 * time.Minute), Created: time.Now(), Note: "key leaked"}
	start := time.Now()
	if err := fleet.Revoke(ctx, js, rev, 0); err != nil {
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

// drift: a sixth instance starts from an old copy of the baseline, with
// leeway 5m; the fleet report, against the reference file, catches it.
func (r *run) drift(ctx context.Context) error {
	nc, err := nats.Connect(r.nats.ClientURL())
	if err != nil {
		return err
	}
	defer nc.Close()
	report := func() ([]fleet.Drift, error) {
		fmt.Fprintf(r.out, "   $ jwtguard-fleet fleet -nats %s -baseline %s\n", r.nats.ClientURL(), r.baseline)
		ref, err := core.LoadBaseline(r.baseline)
		if err != nil {
			return nil, err
		}
		hbs, err := fleet.Observe(ctx, nc, time.Second)
		if err != nil {
			return nil, err
		}
		drift := fleet.FindDrift(hbs, &ref, 5*time.Second)
		var b strings.Builder
		fleet.WriteReport(&b, hbs, drift)
		for line := range strings.SplitSeq(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintln(r.out, "   "+line)
		}
		fmt.Fprintln(r.out)
		return drift, nil
	}
	fmt.Fprintln(r.out, "3. The fleet as it runs: no drift.")
	drift, err := report()
	if err != nil {
		return err
	}
	if len(drift) > 0 {
		return errors.New("drift reported before any was made")
	}
	old := filepath.Join(r.dir, "baseline-old.yaml")
	if err := r.writeBaseline(old, "5m"); err != nil {
		return err
	}
	sixth, err := r.join(fmt.Sprintf("orders-%d", len(r.instances)+1), old)
	if err != nil {
		return err
	}
	r.instances = append(r.instances, sixth)
	fmt.Fprintf(r.out, "4. %s starts from an old copy of the baseline (leeway 5m).\n", sixth.name)
	if drift, err = report(); err != nil {
		return err
	}
	caught := false
	for _, d := range drift {
		caught = caught || strings.Contains(d.Message, "leeway 5m vs 30s") && strings.Contains(d.Message, sixth.name)
	}
	if !caught {
		return fmt.Errorf("the report did not name %s's leeway", sixth.name)
	}
	fmt.Fprintln(r.out, "   caught: jwtguard-fleet fleet exits 1 on this report.")
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
