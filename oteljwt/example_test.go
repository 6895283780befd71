package oteljwt_test

import (
	"bytes"
	"context"
	"fmt"
	"log"
	"log/slog"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/oteljwt"
)

func ExampleNewVerifier() {
	// The test kit stands in for the identity provider, on the runtime's
	// clock as a real one is; a service loads its baseline file instead.
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	cfg := idp.Config()
	// A service passes its own providers and log handler; these keep
	// everything in memory.
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	handler := slog.DiscardHandler

	// One logger for the service: rejections carry the request's trace id.
	logger := slog.New(oteljwt.LogHandler(handler))
	v, err := oteljwt.NewVerifier(mp, tp, cfg, core.WithLogger(logger))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	ctx := context.Background()
	v.Verify(ctx, idp.Token("alice"))
	v.Verify(ctx, idp.NewToken("mallory").ExpiresIn(-time.Hour).Sign())

	var rm metricdata.ResourceMetrics
	reader.Collect(ctx, &rm)
	for _, m := range rm.ScopeMetrics[0].Metrics {
		if m.Name == "jwtguard.verdicts" {
			for _, p := range m.Data.(metricdata.Sum[int64]).DataPoints {
				reason, _ := p.Attributes.Value("reason")
				fmt.Println(m.Name, reason.AsString(), p.Value)
			}
		}
	}
	for _, s := range spans.Ended() {
		fmt.Println("span", s.Name())
	}
	// Unordered output:
	// jwtguard.verdicts accepted 1
	// jwtguard.verdicts token_expired 1
	// span jwtguard.jwks.fetch
	// span jwtguard.verify
	// span jwtguard.verify
}

// fixedIDs makes the example's trace and span ids stable.
type fixedIDs struct{}

func (fixedIDs) NewIDs(context.Context) (trace.TraceID, trace.SpanID) {
	return trace.TraceID{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, trace.SpanID{1, 2, 3, 4, 5, 6, 7, 8}
}

func (fixedIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	return trace.SpanID{8, 7, 6, 5, 4, 3, 2, 1}
}

func ExampleLogHandler() {
	idp := jwtguardtest.NewIdP()
	defer idp.Close()
	var logs bytes.Buffer
	// ReplaceAttr drops the time, so that the output is stable.
	text := slog.NewTextHandler(&logs, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
		if a.Key == slog.TimeKey {
			return slog.Attr{}
		}
		return a
	}})
	tp := sdktrace.NewTracerProvider(sdktrace.WithIDGenerator(fixedIDs{}))
	v, err := oteljwt.NewVerifier(nil, tp, idp.Config(), core.WithLogger(slog.New(oteljwt.LogHandler(text))),
		core.WithClock(idp.Now))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	// The request's span, as an HTTP or gRPC instrumentation starts it.
	ctx, span := tp.Tracer("server").Start(context.Background(), "GET /whoami")
	defer span.End()
	logs.Reset() // the start-up lines
	v.Verify(ctx, "not-a-jwt")
	fmt.Print(logs.String())
	// Output:
	// level=INFO msg="jwt rejected" reason=token_malformed detail="not a compact JWS of three segments" trace_id=0102030405060708090a0b0c0d0e0f10 span_id=0102030405060708
}
