package grpcapp_test

import (
	"net"
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
)

func TestRoutes(t *testing.T) {
	contract.GRPC(t, func(t testing.TB, v *core.Verifier) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpcapp.New(v)
		go s.Serve(ln)
		t.Cleanup(s.Stop)
		return ln.Addr().String()
	})
}
