// Command echo is the example service on echo:
//
//	echo -config baseline.yaml -addr 127.0.0.1:8080
//
// GET /healthz, /readyz and /metrics need no token, GET /whoami answers the
// verified claims and GET /admin needs the admin scope. Logs are JSON lines
// on stderr.
package main

import (
	"github.com/jwtguard/jwtguard/examples/internal/echoapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

func main() {
	service.Main("echo", echoapp.Serve)
}
