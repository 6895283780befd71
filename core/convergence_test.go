package core_test

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// The convergence simulation: many replicas in one bubble, one IdP behind a
// counting transport, one rotation announced to all of them at one instant
// (as a bus delivers it), and the IdP's view of the fetches that follow.

var (
	simReplicas = flag.String("convergence.replicas", "100,1000", "comma-separated fleet sizes of TestConvergenceSimulation")
	simWindow   = flag.Duration("convergence.window", 0, "the convergence window of every size (default: the README's rule)")
)

// simFetchTime is how long the simulated IdP takes to answer a fetch.
const simFetchTime = 50 * time.Millisecond

// simIdP serves a JWKS document from memory and records when each request
// arrived, on the bubble's clock.
type simIdP struct {
	doc      atomic.Pointer[string]
	mu       sync.Mutex
	arrivals []time.Time
}

func (p *simIdP) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.arrivals = append(p.arrivals, time.Now())
	p.mu.Unlock()
	select {
	case <-time.After(simFetchTime):
	case <-r.Context().Done():
		return nil, r.Context().Err()
	}
	w := httptest.NewRecorder()
	w.Header().Set("Content-Type", "application/jwk-set+json")
	io.WriteString(w, *p.doc.Load())
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

func (p *simIdP) publish(keys ...*lcKey) {
	doc := newLCIdP(keys...).docLocked()
	p.doc.Store(&doc)
}

func (p *simIdP) since(t0 time.Time) []time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []time.Duration
	for _, a := range p.arrivals {
		if !a.Before(t0) {
			out = append(out, a.Sub(t0))
		}
	}
	return out
}

// simResult is what the IdP saw of one announced rotation.
type simResult struct {
	replicas     int
	firstSeen    time.Duration // from the first replica's request to the announcement
	fetches      int           // after the announcement
	peakPerSlice int           // most fetches in one 100ms slice
	share        float64       // the window's share of one slice
	lastFetch    time.Duration // arrival of the last fetch, after the announcement
	converged    time.Duration // when every replica served the new set
	maxPerRep    int           // most fetches of one replica
	window       time.Duration
}

// simulateConvergence runs n replicas with the default baseline: the first
// sees a token with the new kid, and its key set change is announced to
// the others at that instant.
func simulateConvergence(t *testing.T, n int, window time.Duration) simResult {
	var res simResult
	synctest.Test(t, func(t *testing.T) {
		k0, k1 := lcNewKey(t, "ES256", "k0"), lcNewKey(t, "ES256", "k1")
		idp := &simIdP{}
		idp.publish(k0)
		client := &http.Client{Transport: idp}
		quiet := slog.New(slog.DiscardHandler)
		replicas := make([]*core.Verifier, n)
		fetched := make([]atomic.Int64, n) // fetches after the announcement
		var announced atomic.Bool
		var wg sync.WaitGroup
		for i := range replicas {
			wg.Go(func() {
				cfg := lcConfig(func(c *core.Config) {
					lcNoTokenCache(c)
					c.JWKS.ConvergenceWindow = window
				})
				v, err := core.New(cfg, core.WithHTTPClient(client), core.WithLogger(quiet),
					core.WithHooks(simCounter{func() {
						if announced.Load() {
							fetched[i].Add(1)
						}
					}}))
				if err != nil {
					t.Error(err)
					return
				}
				replicas[i] = v
			})
		}
		wg.Wait()
		if t.Failed() {
			return
		}
		defer func() {
			for _, v := range replicas {
				v.Close()
			}
		}()
		synctest.Wait()

		idp.publish(k0, k1)
		announced.Store(true)
		t0 := time.Now()
		tok := (&lcIdP{}).token(t, k1, t0)
		if _, err := replicas[0].Verify(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
		fp := replicas[0].Stats()[0].Fingerprint
		// The announcement reaches every other replica now, one fetch
		// time after the first replica saw the kid.
		tA := time.Now()
		for _, v := range replicas[1:] {
			v.Hint(lcIssuer, fp)
		}
		// Convergence is checked every 10ms of fake time.
		res.converged = -1
		for time.Since(t0) < 2*window+2*simFetchTime {
			time.Sleep(10 * time.Millisecond)
			if res.converged < 0 && simAllOn(replicas, fp) {
				res.converged = time.Since(tA)
			}
		}
		res.firstSeen = tA.Sub(t0)
		arrivals := idp.since(tA)
		slices := map[int]int{}
		for _, a := range arrivals {
			slices[int(a/(100*time.Millisecond))]++
			res.lastFetch = max(res.lastFetch, a)
		}
		for _, c := range slices {
			res.peakPerSlice = max(res.peakPerSlice, c)
		}
		for i := range fetched {
			res.maxPerRep = max(res.maxPerRep, int(fetched[i].Load()))
		}
		res.replicas, res.fetches = n, len(arrivals)+1 // and the first replica's
		res.share = float64(n-1) * float64(100*time.Millisecond) / float64(window)
		res.window = window
	})
	return res
}

func simAllOn(replicas []*core.Verifier, fp string) bool {
	for _, v := range replicas {
		if v.Stats()[0].Fingerprint != fp {
			return false
		}
	}
	return true
}

// simCounter counts fetches through the key hooks.
type simCounter struct{ fetched func() }

func (c simCounter) FetchDone(core.FetchEvent)       { c.fetched() }
func (c simCounter) KeySetChanged(core.KeySetChange) {}

func (r simResult) String() string {
	return fmt.Sprintf("%d replicas, window %v: %d fetches, at most %d per replica; peak %d in a 100ms slice (share %.0f, %.0f req/s); "+
		"after the announcement: last fetch +%v, all converged +%v (+%v after the first replica's request)",
		r.replicas, r.window, r.fetches, r.maxPerRep, r.peakPerSlice, r.share, float64(r.peakPerSlice)*10, r.lastFetch, r.converged, r.converged+r.firstSeen)
}

// TestConvergenceSimulation: 100 and 1,000 replicas are told of a rotation
// at one instant, each with the convergence window the README's rule gives
// its fleet (one second per 2,000 replicas, at least the default). The IdP
// sees one fetch per replica, spread over the window: no 100ms slice gets
// much more than its share (the delays are independent, so a slice's count
// varies by about its square root; the bound allows four standard
// deviations), and every replica serves the new set by the end of the
// window plus one fetch time.
//
// The README's figures come from
//
//	go test ./core -run ConvergenceSimulation -v -args -convergence.replicas 100,1000,10000
//
// (10,000 replicas take about 20s, minutes under the race detector, so the
// default runs 100 and 1,000). -convergence.window sets one window for
// every size instead of the rule's.
func TestConvergenceSimulation(t *testing.T) {
	var sizes []int
	for f := range strings.SplitSeq(*simReplicas, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			t.Fatalf("-convergence.replicas: %q is not a number of replicas", f)
		}
		sizes = append(sizes, n)
	}
	for _, n := range sizes {
		window := max(lcConvergenceWindow, time.Duration(n)*time.Second/2000)
		if *simWindow > 0 {
			window = *simWindow
		}
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			r := simulateConvergence(t, n, window)
			t.Log(r)
			if r.fetches != n || r.maxPerRep != 1 {
				t.Errorf("%d fetches, at most %d per replica; want %d and 1", r.fetches, r.maxPerRep, n)
			}
			if bound := r.share + 4*math.Sqrt(r.share); float64(r.peakPerSlice) > bound {
				t.Errorf("%d fetches in one 100ms slice, over %.0f", r.peakPerSlice, bound)
			}
			if r.converged < 0 || r.converged > window+simFetchTime+10*time.Millisecond {
				t.Errorf("converged after %v, want within the window and one fetch time (%v)", r.converged, window+simFetchTime)
			}
		})
	}
}
