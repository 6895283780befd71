package promjwt_test

import (
	"bufio"
	"context"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/promjwt"
)

func ExampleNewVerifier() {
	idp := jwtguardtest.NewIdP() // stands in for the identity provider
	defer idp.Close()
	cfg := idp.Config() // a service loads its baseline file instead

	reg := prometheus.NewRegistry()
	v, err := promjwt.NewVerifier(reg, cfg, core.WithLogger(slog.New(slog.DiscardHandler)), core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	ctx := context.Background()
	v.Verify(ctx, idp.Token("alice"))
	v.Verify(ctx, idp.NewToken("mallory").Claim("iss", "https://attacker.example").Sign())

	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "jwtguard_verdicts_total") || strings.HasPrefix(line, "jwtguard_jwks_fetches_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// jwtguard_jwks_fetches_total{issuer="https://issuer.example.test",result="ok",trigger="startup"} 1
	// jwtguard_verdicts_total{issuer="https://issuer.example.test",reason="accepted"} 1
	// jwtguard_verdicts_total{issuer="untrusted",reason="issuer_invalid"} 1
}
