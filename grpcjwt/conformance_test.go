package grpcjwt_test

import (
	"testing"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/grpcjwt"
)

// Each case is one call over bufconn to whoami (example_test.go), by its
// unary method and by its server stream; a request for
// conformance.SkipPath calls skipped, the service the Guard exempts, and
// one on an optional route calls open.
func TestConformance(t *testing.T) {
	for name, stream := range map[string]bool{"grpc-unary": false, "grpc-stream": true} {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, conformance.Harness{Name: name, Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
				opts := []grpcjwt.Option{grpcjwt.WithExempt(skipped.ServiceName)}
				if route.Optional {
					opts = append(opts, grpcjwt.WithOptional())
				}
				g := grpcjwt.New(v, opts...)
				c := authenticated(g)
				if route.Scopes != nil {
					c = c.scopes(g, route.Scopes...)
				}
				if route.Policy != nil {
					c = c.policy(g, route.Policy)
				}
				conn, stop := serve(c.options()...)
				return func(r conformance.Request) (conformance.Result, error) {
					return result(conn, stream, route.Optional, r)
				}, stop
			}})
		})
	}
}
