package grpcjwt_test

import (
	"testing"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/grpcjwt"
)

// Each case is one call over bufconn to whoami (example_test.go), by its
// unary method and by its server stream.
func TestConformance(t *testing.T) {
	for name, stream := range map[string]bool{"grpc-unary": false, "grpc-stream": true} {
		t.Run(name, func(t *testing.T) {
			conformance.Run(t, conformance.Harness{Name: name, Serve: func(v *core.Verifier, scopes []string) (func(conformance.Request) (conformance.Result, error), func()) {
				conn, stop := serve(interceptors(grpcjwt.New(v), scopes)...)
				return func(r conformance.Request) (conformance.Result, error) { return result(conn, stream, r) }, stop
			}})
		})
	}
}
