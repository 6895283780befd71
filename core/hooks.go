package core

import "time"

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

// FetchTrigger says why a JWKS fetch ran.
type FetchTrigger string

// The fetch triggers.
const (
	TriggerStartup    FetchTrigger = "startup"     // the bounded first fetch in New
	TriggerPeriodic   FetchTrigger = "periodic"    // refresh_interval, or the response's max-age
	TriggerRetry      FetchTrigger = "retry"       // backoff after a failed fetch
	TriggerUnknownKID FetchTrigger = "unknown_kid" // a token named a kid the set lacks
	TriggerForced     FetchTrigger = "forced"      // Verifier.Refresh
)

// FetchResult is the outcome of one JWKS fetch.
type FetchResult string

// The fetch results.
const (
	FetchResultOK          FetchResult = "ok"
	FetchResultNotModified FetchResult = "not_modified" // 304: the held set is current
	FetchResultFailed      FetchResult = "failed"       // the held set, if any, keeps serving until max_stale
)

// FetchEvent describes one JWKS fetch.
type FetchEvent struct {
	Issuer   string
	URL      string
	Trigger  FetchTrigger
	Result   FetchResult
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
			o.hooks = append(o.hooks, h)
		}
	}
}
