package bench

import (
	"net/http"
	"testing"
)

// TestPeersAgree proves the comparison fair: every contender, for every
// algorithm, accepts the good token and rejects each bad one. Each token is
// verified twice, so that a verdict served from a cache is checked too.
func TestPeersAgree(t *testing.T) {
	f := testFixture(t)
	for _, c := range contenders {
		for _, s := range f.signers {
			t.Run(c.name+"/"+s.alg, func(t *testing.T) {
				prepared := c.build(t, s)
				for _, tc := range tokenCases {
					verify := prepared(s.tokens[tc.name])
					for call := 1; call <= 2; call++ {
						err := verify()
						switch {
						case tc.accept && err != nil:
							t.Errorf("%s rejected on call %d: %v: %s", tc.name, call, err, tc.explanation)
						case !tc.accept && err == nil:
							t.Errorf("%s accepted on call %d: %s", tc.name, call, tc.explanation)
						}
					}
				}
			})
		}
	}
}

// TestPeerMiddlewaresAgree is TestPeersAgree through each framework's
// router: 200 for the good token, 401 for every bad one. A route with no
// middleware must answer the good token with 200.
func TestPeerMiddlewaresAgree(t *testing.T) {
	s := testFixture(t).signer(requestAlg)
	for _, rc := range requestContenders {
		t.Run(rc.framework+"/"+rc.middleware, func(t *testing.T) {
			serve := rc.build(t, s)
			for _, tc := range tokenCases {
				if rc.middleware == "none" && !tc.accept {
					continue
				}
				want := http.StatusUnauthorized
				if tc.accept {
					want = http.StatusOK
				}
				call := serve(s.tokens[tc.name])
				for n := 1; n <= 2; n++ {
					if got := call(); got != want {
						t.Errorf("%s, call %d: status %d, want %d: %s", tc.name, n, got, want, tc.explanation)
					}
				}
			}
			if rc.middleware != "none" {
				if got := serve("")(); got == http.StatusOK {
					t.Errorf("no token: status %d, want a rejection", got)
				}
			}
		})
	}
}
