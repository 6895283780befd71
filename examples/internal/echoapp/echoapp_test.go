package echoapp_test

import (
	"testing"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/echoapp"
)

func TestRoutes(t *testing.T) {
	contract.HTTP(t, func(t testing.TB, v *core.Verifier) string {
		return contract.ServeHTTP(t, echoapp.New(v))
	})
}
