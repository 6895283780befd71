package main

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
)

// stepClock is the demo's clock in tests: it moves only when the generator
// waits, straight to the time it waits for. The IdP and every verifier
// read it, so a run's verdicts do not depend on how fast the machine is:
// expiry, the unknown-kid budget and the rotation schedule all follow the
// generator's rounds.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func newStepClock() *stepClock { return &stepClock{now: time.Now()} }

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) WaitUntil(_ context.Context, t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.now) {
		c.now = t
	}
}

func TestMain(m *testing.M) {
	gin.SetMode(gin.ReleaseMode)
	m.Run()
}

// TestDemoIsGreen runs the demo for 5s of its clock with a key rotation
// every 2s, the fastest the embedded baseline allows.
func TestDemoIsGreen(t *testing.T) {
	var out bytes.Buffer
	pl := newPlan(5*time.Second, 2*time.Second)
	tl, err := run(context.Background(), pl, newStepClock(), &out, false)
	if err != nil {
		t.Fatal(err)
	}
	tl.summary(&out, pl)
	t.Log("\n" + out.String())
	if tl.exitCode() != 0 || !strings.Contains(out.String(), "PASS") {
		t.Fatal("the demo is not green")
	}
	if m := tl.metrics; m == nil || m.err != nil || len(m.lines) == 0 || !strings.Contains(out.String(), "Its counters agree") {
		t.Errorf("the summary does not show agreeing /metrics of a service: %+v", m)
	}
	if tl.rotations != 2 {
		t.Errorf("%d rotations, want 2 (at 2s and 4s)", tl.rotations)
	}
	if tl.probes == 0 {
		t.Error("no unknown-kid probe was sent")
	}
	if tl.requests != int(pl.duration/roundEvery) {
		t.Errorf("%d rounds, want %d", tl.requests, pl.duration/roundEvery)
	}
	for i, a := range tl.adapters {
		c := tl.counts[i]
		if c.accepted == 0 || c.validRejected > 0 {
			t.Errorf("%s: %d valid tokens accepted, %d rejected", a.name, c.accepted, c.validRejected)
		}
		// One fetch at start, and one per rotation: each new kid was
		// learnt from the first token that carried it.
		if f := a.fetches(); f < uint64(1+tl.rotations) {
			t.Errorf("%s: %d JWKS fetches, want at least %d", a.name, f, 1+tl.rotations)
		}
	}
}

// TestProbeLateInAPeriodCostsValidTokens shows why the generator keeps its
// unknown-kid probes to the first half of a rotation period: a probe less
// than unknown_kid_interval before a rotation uses up the fetch budget,
// and every adapter alike refuses the rotation's first valid tokens with
// key_not_found. The demo must see it and fail.
func TestProbeLateInAPeriodCostsValidTokens(t *testing.T) {
	var out bytes.Buffer
	pl := newPlan(3*time.Second, 2*time.Second)
	pl.probeWindow = pl.rotateEvery // probes anywhere in the period
	tl, err := run(context.Background(), pl, newStepClock(), &out, false)
	if err != nil {
		t.Fatal(err)
	}
	tl.summary(&out, pl)
	if tl.exitCode() != 1 || !strings.Contains(out.String(), "FAIL") {
		t.Fatalf("the demo did not fail:\n%s", out.String())
	}
	if tl.disagreements != 0 {
		t.Errorf("%d disagreements: the budget is spent alike in every verifier\n%s", tl.disagreements, out.String())
	}
	for i, a := range tl.adapters {
		c := tl.counts[i]
		if c.validRejected == 0 || c.validReasons["key_not_found"] != c.validRejected {
			t.Errorf("%s: valid tokens rejected %v, want some, all key_not_found", a.name, c.validReasons)
		}
	}
}

func TestFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"-rotate-every", "1500ms"}, "-rotate-every must be at least 2s"},
		{[]string{"-duration", "0s"}, "-duration must be positive"},
		{[]string{"-duration"}, "flag needs an argument"},
		{[]string{"extra"}, "unexpected argument"},
	} {
		var stdout, stderr bytes.Buffer
		if code := demo(context.Background(), c.args, &stdout, &stderr, newStepClock()); code != 2 {
			t.Errorf("%v: exit %d, want 2", c.args, code)
		}
		if !strings.Contains(stderr.String(), c.says) {
			t.Errorf("%v: stderr %q does not say %q", c.args, stderr.String(), c.says)
		}
	}
}
