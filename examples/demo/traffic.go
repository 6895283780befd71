package main

import (
	"context"
	"crypto/rand"
	"sync"
	"time"

	"github.com/jwtguard/jwtguard/examples/internal/idp"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// kind is one sort of request the generator sends.
type kind struct {
	name   string
	route  string
	accept bool // every adapter must accept it
	// probe marks an unknown kid: it makes a verifier fetch the key set,
	// which uses up the unknown-kid budget for unknown_kid_interval.
	probe bool
	token func(p *idp.IdP) string
}

var (
	valid = kind{name: "valid", route: "/whoami", accept: true,
		token: func(p *idp.IdP) string { return p.Token("alice", "read") }}
	validAdmin = kind{name: "valid, scope admin", route: "/admin", accept: true,
		token: func(p *idp.IdP) string { return p.Token("bob", "read", "admin") }}
	validSCP = kind{name: "valid, scp [admin]", route: "/admin", accept: true,
		token: func(p *idp.IdP) string { return p.NewToken("carol").Claim("scp", []string{"admin"}).Sign() }}
	noScope = kind{name: "valid, lacks admin", route: "/admin",
		token: func(p *idp.IdP) string { return p.Token("alice", "read") }}
	expired = kind{name: "expired", route: "/whoami",
		token: func(p *idp.IdP) string {
			return p.NewToken("alice").Scopes("read").ExpiresIn(-time.Hour).Sign()
		}}
	// A token the IdP minted for the billing service, sent to orders: the
	// estate file gives each service its own audience (RFC 9068 section 4).
	wrongAudience = kind{name: "token for billing", route: "/whoami",
		token: func(p *idp.IdP) string {
			return p.NewToken("alice").Scopes("read").Audience("billing-api").Sign()
		}}
	algNone = kind{name: "alg none", route: "/whoami",
		token: func(p *idp.IdP) string { return p.NewToken("mallory").Scopes("admin").Alg("none").Unsigned() }}
	forged = kind{name: "forged signature", route: "/admin",
		token: func(p *idp.IdP) string { return forge(p, p.SigningKey().KID()) }}
	unknownKID = kind{name: "unknown kid", route: "/admin", probe: true,
		token: func(p *idp.IdP) string { return forge(p, "probe-"+rand.Text()[:8]) }}
)

// forge returns what an attacker can make: an admin token that names kid
// but is signed by a key the IdP never published.
func forge(p *idp.IdP, kid string) string {
	return p.NewToken("mallory").Scopes("admin").SignedBy(jwtguardtest.NewKey("ES256")).KID(kid).Sign()
}

// cycle is the order of the rounds: mostly valid tokens, with every
// hostile kind among them.
var cycle = []kind{valid, validAdmin, expired, valid, validSCP, wrongAudience, valid, algNone,
	noScope, valid, forged, unknownKID}

// roundEvery paces the rounds: 50 a second, each one request to every
// adapter.
const roundEvery = 20 * time.Millisecond

// probeMargin ends the probe window this long before the middle of a
// rotation period, for the time a probe takes to reach the verifiers on a
// slow machine.
const probeMargin = 250 * time.Millisecond

// plan is what the generator is told: how long to run and the rotation
// schedule, which it follows itself so that it knows where in a period it
// is.
type plan struct {
	duration    time.Duration
	rotateEvery time.Duration
	// probeWindow is how far into a rotation period unknown-kid probes may
	// be sent. A probe later than rotateEvery - unknown_kid_interval holds
	// back the fetch that the next rotation needs.
	probeWindow time.Duration
}

func newPlan(duration, rotateEvery time.Duration) plan {
	return plan{duration: duration, rotateEvery: rotateEvery, probeWindow: rotateEvery/2 - probeMargin}
}

// result is what happened to one request at every adapter.
type result struct {
	at       time.Duration // since the start, on the generator's clock
	kind     kind
	rotated  bool     // the IdP rotated its key just before this request
	kid      string   // the IdP's signing key
	verdicts []string // by adapter, in the order of the adapters
}

// agreed reports whether every adapter gave the same verdict.
func (r result) agreed() bool {
	for _, v := range r.verdicts[1:] {
		if v != r.verdicts[0] {
			return false
		}
	}
	return true
}

// generate runs the rounds of pl against adapters, rotating p's key on
// schedule, until pl.duration has passed on clk or ctx is done. Each round
// sends one request to every adapter at once and waits for every answer,
// then hands the result to record.
func generate(ctx context.Context, pl plan, clk clock, p *idp.IdP, adapters []*adapter, record func(result)) {
	start := clk.Now()
	rotatedAt := start
	for round := 0; ctx.Err() == nil; round++ {
		now := clk.Now()
		if now.Sub(start) >= pl.duration {
			return
		}
		r := result{at: now.Sub(start), verdicts: make([]string, len(adapters))}
		if now.Sub(rotatedAt) >= pl.rotateEvery {
			// The new key is published and signs from this round on; the
			// key it replaces stays published for one more period, then
			// goes.
			p.RotateKeeping(1)
			r.rotated, rotatedAt = true, now
		}
		r.kind, r.kid = cycle[round%len(cycle)], p.SigningKey().KID()
		if r.kind.probe && now.Sub(rotatedAt) >= pl.probeWindow {
			r.kind = valid
		}
		token := r.kind.token(p)
		var wg sync.WaitGroup
		for i, a := range adapters {
			wg.Go(func() { r.verdicts[i] = a.verdict(ctx, r.kind.route, token) })
		}
		wg.Wait()
		if ctx.Err() != nil {
			return // answers cut short by an interrupt are no verdicts
		}
		record(r)
		clk.WaitUntil(ctx, start.Add(time.Duration(round+1)*roundEvery))
	}
}
