package fleet

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// BenchmarkVerifyCached is core's BenchmarkVerifyCached/RS256 (a cache hit
// on an RS256 token) with the fleet's revocation list: none, an empty one,
// and one of 100,000 entries (a third each of kids, jtis and subs, none
// matching). The list's cost is the difference from "none".
func BenchmarkVerifyCached(b *testing.B) {
	idp := jwtguardtest.NewIdP()
	b.Cleanup(idp.Close)
	tok := idp.Token("alice")
	for _, n := range []int{-1, 0, DefaultMaxRevocations} {
		name := fmt.Sprintf("RS256/revocations=%d", n)
		opts := []core.Option{core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler))}
		if n < 0 {
			name = "RS256/revocations=none"
		} else {
			opts = append(opts, core.WithRevocations(filledList(b, n)))
		}
		b.Run(name, func(b *testing.B) {
			v, err := core.New(idp.Config(), opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer v.Close()
			ctx := context.Background()
			if _, err := v.Verify(ctx, tok); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := v.Verify(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func filledList(b *testing.B, n int) *revocationList {
	l := newRevocationList(DefaultMaxRevocations, slog.New(slog.DiscardHandler))
	exp := time.Now().Add(time.Hour)
	kinds := []string{KindKID, KindJTI, KindSub}
	for i := range n {
		l.apply(entry(b, Revocation{Kind: kinds[i%3], Value: fmt.Sprintf("revoked-%d", i), Expires: exp}))
	}
	l.publish()
	if l.len() != n {
		b.Fatalf("%d entries, want %d", l.len(), n)
	}
	return l
}

// BenchmarkRevoked is the list's check alone, as the verifier calls it for
// an accepted token that no entry names: empty, and with 100,000 entries.
func BenchmarkRevoked(b *testing.B) {
	for _, n := range []int{0, DefaultMaxRevocations} {
		b.Run(fmt.Sprintf("entries=%d", n), func(b *testing.B) {
			var r core.Revocations = filledList(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if r.Revoked("https://issuer.example.test", "k-2030-01-02", "4711", "alice") {
					b.Fatal("revoked")
				}
			}
		})
	}
}
