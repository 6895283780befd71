// Package oteljwt exports a [core.Verifier]'s verdicts and key lifecycle
// to OpenTelemetry: the instruments of promjwt's metrics, spans, and the
// trace id on rejection log lines.
//
// [NewVerifier] is [core.New] with a meter and a tracer provider in front:
// the verifier it returns counts every verdict and JWKS fetch through
// [core.WithHooks], observes its key sets, token cache and baseline
// fingerprint at each collection, and records a jwtguard.verify span for
// each verification the token cache did not answer (reason, issuer, kid,
// alg) and a jwtguard.jwks.fetch span for each fetch. [LogHandler] puts
// the trace and span ids of the request's span on the verifier's log
// lines, the rejections among them.
//
//	logger := slog.New(oteljwt.LogHandler(slog.NewJSONHandler(os.Stderr, nil)))
//	v, err := oteljwt.NewVerifier(meterProvider, tracerProvider, cfg, core.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	defer v.Close()
//	claims, err := v.Verify(r.Context(), token) // the span's parent is r's
//
// Instruments are named jwtguard.* (jwtguard.verdicts,
// jwtguard.verification.duration, jwtguard.jwks.fetches, ...), with units
// in their metadata; through a Prometheus exporter they read as promjwt's
// names. Attribute values are bounded as promjwt's labels are: an untrusted
// iss counts as issuer "untrusted", never as itself.
//
// The package is its own module, so that only services that use
// OpenTelemetry get it in their go.mod; core imports none of it.
package oteljwt
