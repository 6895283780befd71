package service_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/jwtguard/jwtguard/conformance"
	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/echoapp"
	"github.com/jwtguard/jwtguard/examples/internal/fiberapp"
	"github.com/jwtguard/jwtguard/examples/internal/ginapp"
	"github.com/jwtguard/jwtguard/examples/internal/grpcapp"
	"github.com/jwtguard/jwtguard/examples/internal/nethttpapp"
	"github.com/jwtguard/jwtguard/examples/internal/service"
)

// TestConformanceRun tests every example service from outside, as
// jwtguard conformance run does: each runs as its main runs it, on the
// baseline file a served IdP prints, on a loopback port, and must pass
// every case a request from outside can carry. Each service has an IdP of
// its own (a run changes the IdP's key set). A run waits for the rotation
// cases' key set changes to reach the service, a few seconds under the
// default unknown_kid_interval, so the runs go side by side, beyond what
// -parallel would allow on two cores.
func TestConformanceRun(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	services := []struct {
		name        string
		serve       service.Serve
		scheme      string
		path, admin string
	}{
		{"nethttp", nethttpapp.Serve, "http", "/whoami", "/admin"},
		{"gin", ginapp.Serve, "http", "/whoami", "/admin"},
		{"echo", echoapp.Serve, "http", "/whoami", "/admin"},
		{"fiber", fiberapp.Serve, "http", "/whoami", "/admin"},
		{"grpc", grpcapp.Serve, "grpc", grpcapp.WhoamiMethod, grpcapp.AdminMethod},
	}
	type run struct {
		report *conformance.Report
		err    error
		stderr syncBuffer
		code   int
	}
	runs := make([]run, len(services))
	var wg sync.WaitGroup
	for i, s := range services {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		idp, err := conformance.ServeIdP(ln)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(idp.Close)
		config := filepath.Join(t.TempDir(), s.name+".yaml")
		if err := os.WriteFile(config, idp.Baseline().YAML(), 0o600); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			r := &runs[i]
			ctx, stop := context.WithCancel(context.Background())
			defer stop()
			listening := make(chan string, 1)
			done := make(chan int, 1)
			go func() {
				done <- service.Run(ctx, s.name, []string{"-config", config, "-addr", "127.0.0.1:0"}, &r.stderr,
					func(ctx context.Context, v *core.Verifier, metrics http.Handler, ln net.Listener) error {
						listening <- ln.Addr().String()
						return s.serve(ctx, v, metrics, ln)
					})
			}()
			select {
			case addr := <-listening:
				runCtx, cancel := context.WithTimeout(ctx, 3*time.Minute)
				target := conformance.Target{IdP: idp.URL(), URL: s.scheme + "://" + addr, Path: s.path, AdminPath: s.admin}
				r.report, r.err = target.Run(runCtx)
				cancel()
				stop()
				r.code = <-done
			case r.code = <-done:
				r.err = errors.New("the service exited before serving")
			case <-time.After(30 * time.Second):
				r.err = errors.New("the service did not start within 30s")
				stop()
				<-done
			}
		})
	}
	wg.Wait()

	for i, s := range services {
		t.Run(s.name, func(t *testing.T) {
			r := &runs[i]
			if r.err != nil {
				t.Fatalf("%v; exit %d: %s", r.err, r.code, r.stderr.String())
			}
			if r.code != 0 {
				t.Errorf("exit %d after stop: %s", r.code, r.stderr.String())
			}
			var text strings.Builder
			r.report.WriteText(&text)
			if r.report.Failed() > 0 {
				t.Errorf("%s fails conformance run:\n%s", s.name, text.String())
			}
			passed := 0
			for _, c := range r.report.Cases {
				switch {
				case c.Result == conformance.Skip && c.Skip == "":
					t.Errorf("%s: skipped without a reason", c.Case)
				case c.Result == conformance.Pass:
					passed++
				}
			}
			if passed < 95 {
				t.Errorf("only %d cases passed, want the 95 or more that reach a served target:\n%s", passed, text.String())
			}
			if s.scheme == "http" && !r.report.RFC6750 {
				t.Error("the service sends no Bearer challenge to a request without credentials")
			}
		})
	}
}
