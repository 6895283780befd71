package connectjwt_test

import (
	"testing"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/connectjwt"
	"github.com/jwtguard/jwtguard/core"
)

// Each case is one call to whoami (connectjwt_test.go) over h2c, unary or
// streaming, in each wire protocol, and with the Guard's gate in place of
// its interceptor; a request for conformance.SkipPath calls skipped, the
// service the Guard exempts, and one on an optional route calls open.
func TestConformance(t *testing.T) {
	for _, h := range []struct {
		name, protocol string
		stream, gate   bool
	}{
		{"connect-unary", "connect", false, false}, {"connect-stream", "connect", true, false}, {"connect-grpc-unary", "grpc", false, false},
		{"connect-grpc-stream", "grpc", true, false}, {"connect-grpcweb-unary", "grpcweb", false, false}, {"connect-gate-unary", "connect", false, true},
	} {
		t.Run(h.name, func(t *testing.T) {
			conformance.Run(t, conformance.Harness{Name: h.name, Skips: true, Optional: true, Serve: func(v *core.Verifier, route conformance.Route) (func(conformance.Request) (conformance.Result, error), func()) {
				opts := []connectjwt.Option{connectjwt.WithExempt(skipped)}
				if route.Optional {
					opts = append(opts, connectjwt.WithOptional())
				}
				srv := serve(guarded(connectjwt.New(v, opts...), route, h.gate)...)
				return func(r conformance.Request) (conformance.Result, error) {
					return result(srv, h.stream, h.protocol, route.Optional, r)
				}, srv.Close
			}})
		})
	}
}
