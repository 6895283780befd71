// Command demo shows jwtguard doing its job: five services on five
// frameworks, each with its own verifier built from one baseline, give the
// same verdict on every request while their identity provider rotates its
// signing key.
//
//	go run ./examples/demo [-duration 20s] [-rotate-every 5s]
//
// It starts an IdP on a random loopback port, the gin, echo, fiber,
// net/http and gRPC examples, and a traffic generator that sends each
// request to all five: valid tokens and hostile ones. It draws a live table
// per adapter, then a summary, with the counters the net/http service
// serves at /metrics beside its column, and exits 1 if any adapter
// disagreed with another, rejected a valid token or accepted a hostile
// one, or if those counters disagree with the table.
//
//	go run ./examples/demo -idp 127.0.0.1:8081
//
// serves the IdP alone, for running the examples by hand against
// examples/baseline.yaml.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

func main() {
	// Debug mode prints route tables on stdout, where the table is drawn.
	gin.SetMode(gin.ReleaseMode)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := demo(ctx, os.Args[1:], os.Stdout, os.Stderr, wallClock{})
	stop()
	os.Exit(code)
}

// demo is the whole command; it returns the exit status: 0 when the run
// was green, 1 when it was not or could not start, 2 for bad flags.
func demo(ctx context.Context, args []string, stdout, stderr io.Writer, clk clock) int {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 20*time.Second, "how long to send traffic")
	rotateEvery := fs.Duration("rotate-every", 5*time.Second,
		"how often the IdP rotates its signing key; at least twice the baseline's jwks.unknown_kid_interval")
	idpAddr := fs.String("idp", "", "serve only the identity provider, at this `address`, until interrupted")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "demo: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *idpAddr != "" {
		if err := serveIdP(ctx.Done(), *idpAddr, stdout); err != nil {
			fmt.Fprintln(stderr, "demo:", err)
			return 1
		}
		return 0
	}
	pl := newPlan(*duration, *rotateEvery)
	if err := pl.check(); err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 2
	}
	t, err := run(ctx, pl, clk, stdout, isTerminal(stdout))
	if err != nil {
		fmt.Fprintln(stderr, "demo:", err)
		return 1
	}
	t.summary(stdout, pl)
	return t.exitCode()
}

// check refuses a plan the demo cannot run green: the rotation period must
// leave a whole unknown_kid_interval after the last probe of a period,
// which the rule "at least twice the interval" does with the probes in
// the first half.
func (pl plan) check() error {
	if pl.duration <= 0 {
		return fmt.Errorf("-duration must be positive, got %s", pl.duration)
	}
	data, err := renderBaseline("http://127.0.0.1:1/", "http://127.0.0.1:1/.well-known/jwks.json")
	if err != nil {
		return err
	}
	// Lint reports the effective baseline, defaults filled in.
	lint := core.LintBaseline(data)
	if len(lint.Errors) > 0 {
		return fmt.Errorf("the demo's baseline: %v", lint.Errors[0])
	}
	interval := lint.Config.JWKS.UnknownKIDInterval
	if pl.rotateEvery < 2*interval {
		return fmt.Errorf("-rotate-every must be at least %s, twice the baseline's jwks.unknown_kid_interval (%s): "+
			"an unknown kid uses up the fetch budget for that long, and a rotation needs a fetch", 2*interval, interval)
	}
	return nil
}

// run starts the IdP and the adapters, generates traffic for pl.duration
// and returns the tally. With live set, the table is redrawn in place
// every second; otherwise one progress line is written per second.
func run(ctx context.Context, pl plan, clk clock, out io.Writer, live bool) (*tally, error) {
	p, err := idp.Start("127.0.0.1:0", audience, clk.Now)
	if err != nil {
		return nil, err
	}
	defer p.Close()
	cfg, err := defaultBaseline(p.Issuer(), p.JWKSURL())
	if err != nil {
		return nil, err
	}
	adapters, err := startAdapters(cfg, clk.Now)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, a := range adapters {
			a.close()
		}
	}()
	fmt.Fprintf(out, "jwtguard demo: IdP at %s, baseline %s, %d adapters\n\n", p.Issuer(), cfg.Fingerprint(), len(adapters))

	t := newTally(adapters)
	screen := &screen{w: out, live: live}
	next, start := time.Second, clk.Now()
	generate(ctx, pl, clk, p, adapters, func(r result) {
		t.add(r)
		if r.at >= next {
			next += time.Second
			if live {
				screen.redraw(func(w io.Writer) { t.draw(w, pl) })
			} else {
				fmt.Fprintf(out, "%5s  rotations %d, requests to each adapter %d, disagreements %d\n",
					r.at.Truncate(time.Second), t.rotations, t.requests, t.disagreements)
			}
		}
	})
	screen.clear()
	t.elapsed = clk.Now().Sub(start)
	// The net/http service's counters, read while it still runs.
	for i, a := range adapters {
		if a.name == "net/http" {
			m := scrapeMetrics(adapters, i)
			t.metrics = &m
		}
	}
	if ctx.Err() != nil {
		fmt.Fprintf(out, "interrupted after %s\n\n", t.elapsed.Truncate(100*time.Millisecond))
	}
	return t, nil
}

// clock is the generator's time. The demo runs on the wall clock; its test
// steps a clock of its own, which the verifiers and the IdP share.
type clock interface {
	Now() time.Time
	// WaitUntil returns when the clock reads t or ctx is done.
	WaitUntil(ctx context.Context, t time.Time)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) WaitUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
