// Command gin is the example service on gin:
//
//	gin -config baseline.yaml -addr 127.0.0.1:8080
//
// GET /healthz, /readyz and /metrics need no token, GET /whoami answers the
// verified claims and GET /admin needs the admin scope. Logs are JSON lines
// on stderr.
package main

import (
	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/examples/internal/ginapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

func main() {
	// Debug mode prints route tables on stdout; the logs are JSON lines.
	gin.SetMode(gin.ReleaseMode)
	service.Main("gin", ginapp.Serve)
}
