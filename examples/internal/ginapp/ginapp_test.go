package ginapp_test

import (
	"net/http"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/contract"
	"github.com/jwtguard/jwtguard/examples/internal/ginapp"
)

func TestRoutes(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	contract.HTTP(t, func(t testing.TB, v *core.Verifier, metrics http.Handler) string {
		return contract.ServeHTTP(t, ginapp.New(v, metrics))
	})
}
