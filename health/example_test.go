package health_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/health"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// get prints the status and body of one probe.
func get(url string) {
	resp, err := http.Get(url)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Printf("%d %s", resp.StatusCode, body)
}

func Example() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()

	mux := http.NewServeMux()
	mux.Handle("GET /healthz", health.Liveness())
	mux.Handle("GET /readyz", health.Readiness(v))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get(srv.URL + "/healthz")
	get(srv.URL + "/readyz")
	// Output:
	// 200 {"status":"ok"}
	// 200 {"status":"ready"}
}

func ExampleLiveness() {
	// Liveness holds whatever the verifier is doing: it needs none.
	srv := httptest.NewServer(health.Liveness())
	defer srv.Close()
	get(srv.URL)
	// Output: 200 {"status":"ok"}
}

func ExampleReadiness() {
	// The IdP fails from the start: the verifier starts, holding no keys.
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	idp.Fail(http.StatusServiceUnavailable)
	v, err := core.New(idp.Config(), core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer v.Close()
	srv := httptest.NewServer(health.Readiness(v))
	defer srv.Close()

	get(srv.URL)
	idp.Restore()
	v.Refresh(context.Background())
	get(srv.URL)
	// Output:
	// 503 {"status":"not ready","not_ready":["https://issuer.example.test"]}
	// 200 {"status":"ready"}
}
