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
	idp := NewIdP()
	tb.Cleanup(idp.Close)
	cfg := idp.Config()
	for _, e := range edit {
		e(&cfg)
	}
	v, err := core.New(cfg, core.WithClock(idp.Now), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return v, idp
}
