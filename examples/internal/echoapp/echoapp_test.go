package echoapp_test

import (
	"net/http"
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/echoapp"
)

func TestRoutes(t *testing.T) {
	contract.HTTP(t, func(t testing.TB, v *core.Verifier, metrics http.Handler) string {
		return contract.ServeHTTP(t, echoapp.New(v, metrics))
	})
}
