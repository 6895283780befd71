package jwtguardtest

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"sync"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// Logs keeps a verifier's log for a test to read: what a service's
// operators would see of a rejection (its reason, the request's method and
// path, the token's claims under "unverified"), as the JSON handler writes
// it. It is safe for concurrent use.
type Logs struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Logger writes into l, at every level.
func (l *Logs) Logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(lockedWriter{l}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type lockedWriter struct{ l *Logs }

func (w lockedWriter) Write(p []byte) (int, error) {
	w.l.mu.Lock()
	defer w.l.mu.Unlock()
	return w.l.buf.Write(p)
}

// Lines returns every line written so far, each decoded from JSON, in
// order.
func (l *Logs) Lines() []map[string]any {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	for _, line := range bytes.Split(l.buf.Bytes(), []byte("\n")) {
		var rec map[string]any
		if json.Unmarshal(line, &rec) == nil {
			out = append(out, rec)
		}
	}
	return out
}

// Rejections returns the rejection lines written so far, in order.
func (l *Logs) Rejections() []map[string]any {
	var out []map[string]any
	for _, rec := range l.Lines() {
		if rec["msg"] == "jwt rejected" {
			out = append(out, rec)
		}
	}
	return out
}

// LastRejection returns the last rejection line written, decoded; nil
// when there is none.
func (l *Logs) LastRejection() map[string]any {
	if all := l.Rejections(); len(all) > 0 {
		return all[len(all)-1]
	}
	return nil
}

// NewLoggedVerifier is [NewTestVerifier] with a verifier that logs into
// the returned Logs, for tests of what a rejection line says.
func NewLoggedVerifier(tb testing.TB, edit ...func(*core.Config)) (*core.Verifier, *IdP, *Logs) {
	tb.Helper()
	logs := &Logs{}
	v, idp := newVerifier(tb, logs.Logger(), edit)
	return v, idp, logs
}
