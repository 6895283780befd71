package grpcapp_test

import (
	"context"
	"net"
	"net/http"
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

// The contract runs over the example's own serving: gRPC calls and HTTP
// routes on one address, through service.ServeHTTP.
func TestRoutes(t *testing.T) {
	contract.GRPC(t, func(t testing.TB, v *core.Verifier, metrics http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := grpcapp.New(v)
		ctx, stop := context.WithCancel(context.Background())
		served := make(chan error, 1)
		go func() { served <- service.ServeHTTP(ctx, ln, grpcapp.Handler(s, v, metrics)) }()
		t.Cleanup(func() {
			stop()
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			s.Stop()
		})
		return ln.Addr().String()
	})
}
