package gateways_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

// jwtguardBin is the jwtguard command, built once for the package.
var jwtguardBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "jwtguard-gateways-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	jwtguardBin, err = gateway.BuildJWTGuard(ctx, dir)
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	stopAuth()
	os.RemoveAll(dir)
	os.Exit(code)
}

// authStack is what every gateway of the package asks: one IdP on loopback
// and one `jwtguard serve` pointed at it, with the sample policy.
type authStack struct {
	idp   *idp.IdP
	serve *gateway.Serve
}

var (
	authOnce sync.Once
	auth     *authStack
	authErr  error
	authDir  string
)

// sharedAuth starts the auth stack on first use; TestMain stops it.
func sharedAuth(t *testing.T) *authStack {
	t.Helper()
	authOnce.Do(func() {
		p, err := idp.Start("127.0.0.1:0", gateway.Audience, time.Now)
		if err != nil {
			authErr = err
			return
		}
		if authDir, err = os.MkdirTemp("", "jwtguard-serve-"); err != nil {
			p.Close()
			authErr = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		s, err := gateway.StartServe(ctx, jwtguardBin, authDir, strings.TrimPrefix(p.URL(), "http://"))
		if err != nil {
			p.Close()
			authErr = err
			return
		}
		auth = &authStack{idp: p, serve: s}
	})
	if authErr != nil {
		t.Fatalf("jwtguard serve: %v", authErr)
	}
	return auth
}

func stopAuth() {
	if auth != nil {
		auth.serve.Stop()
		auth.idp.Close()
	}
	if authDir != "" {
		os.RemoveAll(authDir)
	}
}
