package bench

import "testing"

// BenchmarkPeerVerify is one verification of the same good token by each
// contender, for each algorithm. The contenders of one algorithm run one
// after the other, so that they meet the same load on a shared machine.
func BenchmarkPeerVerify(b *testing.B) {
	f := testFixture(b)
	for _, s := range f.signers {
		for _, c := range contenders {
			b.Run(c.name+"/"+s.alg, func(b *testing.B) {
				verify := c.build(b, s)(s.tokens["good"])
				if err := verify(); err != nil {
					b.Fatal(err)
				}
				b.ReportAllocs()
				for b.Loop() {
					if err := verify(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkPeerRequest is one GET /orders with the good RS256 token through
// each framework, with each JWT middleware and with none.
func BenchmarkPeerRequest(b *testing.B) {
	s := testFixture(b).signer(requestAlg)
	for _, rc := range requestContenders {
		b.Run(rc.framework+"/"+rc.middleware, func(b *testing.B) {
			serve := rc.build(b, s)(s.tokens["good"])
			if code := serve(); code != 200 {
				b.Fatalf("status %d", code)
			}
			b.ReportAllocs()
			for b.Loop() {
				if code := serve(); code != 200 {
					b.Fatalf("status %d", code)
				}
			}
		})
	}
}
