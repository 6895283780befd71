// Command grpc is the example service on gRPC:
//
//	grpc -config baseline.yaml -addr 127.0.0.1:9090
//
// demo.Demo/Whoami and demo.Demo/WhoamiStream answer the verified claims of
// the token in the authorization metadata, demo.Demo/Admin needs the admin
// scope, and grpc.health.v1.Health/Check needs no token. Logs are JSON
// lines on stderr.
package main

import (
	"context"
	"net"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

func main() {
	service.Main("grpc", func(ctx context.Context, v *core.Verifier, ln net.Listener) error {
		s := grpcapp.New(v)
		return service.Until(ctx, func() error { return s.Serve(ln) }, func(ctx context.Context) error {
			// Calls in flight may finish; past the deadline they are cut.
			stopped := make(chan struct{})
			go func() { s.GracefulStop(); close(stopped) }()
			select {
			case <-stopped:
			case <-ctx.Done():
				s.Stop()
			}
			return nil
		})
	})
}
