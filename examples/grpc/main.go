// Command grpc is the example service on gRPC:
//
//	grpc -config baseline.yaml -addr 127.0.0.1:9090
//
// demo.Demo/Whoami and demo.Demo/WhoamiStream answer the verified claims of
// the token in the authorization metadata, demo.Demo/Admin needs the admin
// scope, and grpc.health.v1.Health/Check needs no token. The same address
// serves GET /metrics, /healthz and /readyz over HTTP. Logs are JSON lines
// on stderr.
package main

import (
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

func main() {
	service.Main("grpc", grpcapp.Serve)
}
