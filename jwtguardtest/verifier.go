package jwtguardtest

import (
	"log/slog"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// NewTestVerifier starts an IdP and a verifier on its baseline, changed by
// edit, and its fixed clock, logging nowhere. Both close when tb's test
// ends.
func NewTestVerifier(tb testing.TB, edit ...func(*core.Config)) (*core.Verifier, *IdP) {
	tb.Helper()
	v, idp := newVerifier(tb, slog.New(slog.DiscardHandler), edit)
	return v, idp
}

// newVerifier starts an IdP and a verifier on its baseline, changed by
// edit, logging to logger.
func newVerifier(tb testing.TB, logger *slog.Logger, edit []func(*core.Config)) (*core.Verifier, *IdP) {
	idp := NewIdP()
	tb.Cleanup(idp.Close)
	cfg := idp.Config()
	for _, e := range edit {
		e(&cfg)
	}
	v, err := core.New(cfg, core.WithClock(idp.Now), core.WithLogger(logger))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return v, idp
}
