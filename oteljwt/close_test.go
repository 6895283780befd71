package oteljwt_test

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

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/oteljwt"
)

// inMemoryJWKS answers every request with a key set, without a network,
// so that a verifier's goroutines can live in a synctest bubble.
type inMemoryJWKS []byte

func (j inMemoryJWKS) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(strings.NewReader(string(j)))}, nil
}

// TestCloseStopsEverything: the exporter starts no goroutine of its own,
// and once the verifier is closed none of its goroutines is left, and a
// refresh period passing fetches nothing. synctest.Test fails if a
// goroutine of the bubble outlives it.
func TestCloseStopsEverything(t *testing.T) {
	idp := jwtguardtest.NewIdP()
	t.Cleanup(idp.Close)
	keys, err := json.Marshal(map[string]any{"keys": []any{idp.SigningKey().JWK()}})
	if err != nil {
		t.Fatal(err)
	}
	token := idp.Token("alice")
	synctest.Test(t, func(t *testing.T) {
		reader := sdkmetric.NewManualReader()
		spans := tracetest.NewSpanRecorder()
		v, err := oteljwt.NewVerifier(sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)),
			sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans)), idp.Config(), core.WithClock(idp.Now),
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
		fetches := 0
		for _, s := range spans.Ended() {
			if s.Name() == "jwtguard.jwks.fetch" {
				fetches++
			}
		}
		if fetches != 1 {
			t.Errorf("%d fetch spans after an hour closed, want the start-up fetch only", fetches)
		}
	})
}
