package core

import (
	"context"
)

// LookupKeyForTest runs the key lookup of Verify alone, for
// BenchmarkKeyLookup.
func (v *Verifier) LookupKeyForTest(ctx context.Context, iss, kid, alg string) error {
	h := tokenHeader{alg: alg, kid: kid}
	if _, err := v.findKey(ctx, v.issuers[iss], &h, v.methods[alg], v.opts.now()); err != nil {
		return err
	}
	return nil
}
