package conformance

import (
	"net/http"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// TestCacheOnAndOff runs the matrix with the verified-token cache off and
// on. With it on, every accepted request is sent again, so the verdict that
// counts is the one a cache hit gives; both runs must agree case for case.
// (Rejections are never cached; the cases that verify a token before
// moving the clock or removing its key cover hits that must turn into
// rejections.)
func TestCacheOnAndOff(t *testing.T) {
	off := goodHarness("cache off")
	zero := 0
	off.baseline = func(c *core.Config) { c.Cache.MaxEntries = &zero }

	on := goodHarness("cache on")
	on.baseline = func(c *core.Config) { c.Cache = core.CacheConfig{} } // the default: on
	resent := 0
	serve := on.Serve
	on.Serve = func(v *core.Verifier, route Route) (func(Request) (Result, error), func()) {
		send, stop := serve(v, route)
		return func(r Request) (Result, error) {
			first, err := send(r)
			if err != nil || first.Status != http.StatusOK {
				return first, err
			}
			resent++
			second, err := send(r)
			if first.Status != second.Status || first.Subject != second.Subject {
				t.Errorf("a repeated request changed its answer: %d %q then %d %q",
					first.Status, first.Subject, second.Status, second.Subject)
			}
			return second, err
		}, stop
	}

	tabOff, tabOn := Run(t, off), Run(t, on)
	if resent < 10 {
		t.Errorf("only %d accepted requests were sent again", resent)
	}
	if d := Diff(tabOff, tabOn); len(d) > 0 {
		t.Errorf("the cache changes verdicts:\n%s", strings.Join(d, "\n"))
	}
}
