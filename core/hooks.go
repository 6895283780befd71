package core

import (
	"time"

	"github.com/jwtguard/jwtguard/core/internal/jwks"
)

// KeyHooks receives the key lifecycle events of remote key sets, so that a
// metrics exporter can count fetches and key set changes without parsing
// logs. Register one with [WithHooks].
//
// Methods are called from the goroutine that fetched, after the key set is
// updated and before the requests waiting on that fetch resume: they must
// return quickly and must not call back into the Verifier. A panic in a hook
// is recovered and logged.
type KeyHooks interface {
	// FetchDone is called once per JWKS fetch, whatever its result.
	FetchDone(FetchEvent)
	// KeySetChanged is called when a fetch changes an issuer's keys,
	// including the first set loaded.
	KeySetChanged(KeySetChange)
}

// FetchEvent describes one JWKS fetch. Trigger and Result are stable
// strings, fit for metric labels.
type FetchEvent struct {
	Issuer string
	URL    string
	// Trigger says why the fetch ran: "startup" (the bounded first fetch
	// in New), "periodic" (refresh_interval or the response's max-age),
	// "retry" (backoff after a failure), "unknown_kid" (a token named a kid
	// the set lacks), "forced" (Verifier.Refresh) or "hint" (a fleet
	// announcement, Verifier.Hint).
	Trigger string
	// Result is "ok", "not_modified" (a 304: the held set is current) or
	// "failed" (the held set, if any, keeps serving until max_stale).
	Result   string
	Err      error // why a failed fetch failed; nil otherwise
	Duration time.Duration
	Keys     int // keys held after the fetch
}

// KeySetChange describes a change of an issuer's keys. Kids are sorted;
// OldKIDs is empty for the first set loaded.
type KeySetChange struct {
	Issuer      string
	OldKIDs     []string
	NewKIDs     []string
	Fingerprint string // of the new set, as in [IssuerStats]
}

// WithHooks subscribes h to key lifecycle events. It may be given several
// times; every hook is called, in order.
func WithHooks(h KeyHooks) Option {
	return func(o *options) {
		if h != nil {
			o.hooks = append(o.hooks, hookAdapter{h})
		}
	}
}

// hookAdapter hands the key lifecycle's events to a user's hook in core's
// own types. The event types have the same fields, so they convert.
type hookAdapter struct{ h KeyHooks }

func (a hookAdapter) FetchDone(e jwks.FetchEvent)       { a.h.FetchDone(FetchEvent(e)) }
func (a hookAdapter) KeySetChanged(c jwks.KeySetChange) { a.h.KeySetChanged(KeySetChange(c)) }

// IssuerStats describes one issuer's key set, for health pages and metrics.
type IssuerStats struct {
	Issuer           string
	Source           string // "static" or the JWKS URL
	FetchOK          uint64
	FetchFailed      uint64
	FetchNotModified uint64
	LastSuccess      time.Time // zero for a static set or before the first fetch
	Keys             int
	KIDs             []string
	Fingerprint      string // sorted kids and thumbprints of the current set
	Age              time.Duration
	Ready            bool
	LastError        string // why the last fetch failed; "" after a success
	RefusedUnknown   uint64 // unknown kids refused without a fetch (cooldown or negative cache)
}
