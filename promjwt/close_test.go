package promjwt_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/promjwt"
)

// inMemoryJWKS answers every request with a key set, without a network,
// so that a verifier's goroutines can live in a synctest bubble.
type inMemoryJWKS []byte

func (j inMemoryJWKS) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(j)))}, nil
}

// TestCloseStopsEverything: the exporter starts no goroutine of its own,
// and once the verifier is closed none of its goroutines is left, scrapes
// still answer from the last state, and a refresh period passing fetches
// nothing. synctest.Test fails if a goroutine of the bubble outlives it.
func TestCloseStopsEverything(t *testing.T) {
	idp := jwtguardtest.NewIdP()
	t.Cleanup(idp.Close)
	keys, err := json.Marshal(map[string]any{"keys": []any{idp.SigningKey().JWK()}})
	if err != nil {
		t.Fatal(err)
	}
	token := idp.Token("alice")
	synctest.Test(t, func(t *testing.T) {
		reg := prometheus.NewRegistry()
		v, err := promjwt.NewVerifier(reg, idp.Config(), core.WithClock(idp.Now),
			core.WithLogger(slog.New(slog.DiscardHandler)),
			core.WithHTTPClient(&http.Client{Transport: inMemoryJWKS(keys)}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(context.Background(), token); err != nil {
			t.Fatal(err)
		}
		v.Close()
		time.Sleep(time.Hour) // the bubble's fake clock: past every refresh a running loop would make
		synctest.Wait()
		if got := fetchCount(t, reg); got != 1 {
			t.Errorf("%v fetches after an hour closed, want the start-up fetch only", got)
		}
	})
}

// fetchCount sums jwtguard_jwks_fetches_total over its series.
func fetchCount(t *testing.T, reg *prometheus.Registry) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "jwtguard_jwks_fetches_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}
