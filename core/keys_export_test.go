package core

import (
	"context"
	"time"
)

// WithTimers replaces the timers of background key refreshes, so that tests
// fire refreshes by advancing a fake clock instead of sleeping.
func WithTimers(newTimer func(time.Duration) (<-chan time.Time, func() bool)) Option {
	return func(o *options) { o.newTimer = newTimer }
}

// LookupKeyForTest runs the key lookup of Verify alone, for
// BenchmarkKeyLookup.
func (v *Verifier) LookupKeyForTest(ctx context.Context, iss, kid, alg string) error {
	h := tokenHeader{alg: alg, kid: kid}
	_, err := v.findKey(ctx, v.issuers[iss], &h, v.opts.now())
	return err
}

// NegativeKIDsForTest is the size of an issuer's negative kid cache.
func (v *Verifier) NegativeKIDsForTest(iss string) int {
	s := v.issuers[iss].src.(*remoteSource)
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.negative)
}

// MaxNegativeKIDs is the bound of the negative kid cache.
const MaxNegativeKIDs = maxNegativeKIDs
