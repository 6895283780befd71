package core

import (
	"context"
)

// LookupKeyForTest runs the key lookup of Verify alone, for
// BenchmarkKeyLookup.
func (v *Verifier) LookupKeyForTest(ctx context.Context, iss, kid, alg string) error {
	h := tokenHeader{alg: alg, kid: kid}
	e := v.cur.Load()
	if _, err := e.findKey(ctx, e.issuers[iss], &h, e.methods[alg], e.opts.now()); err != nil {
		return err
	}
	return nil
}
