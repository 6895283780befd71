package fiberapp_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/fiberapp"
)

// The contract runs over fiber's own listener, not an http.Handler
// adaptor, so that fasthttp's header limits are those of the service.
func TestRoutes(t *testing.T) {
	contract.HTTP(t, func(t testing.TB, v *core.Verifier, metrics http.Handler) string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		app := fiberapp.New(v, metrics)
		go app.Listener(ln)
		t.Cleanup(func() { app.Shutdown() })
		return "http://" + ln.Addr().String()
	})
}
