package jwks

import "time"

// Hooks receives the lifecycle events of a [Remote], for metrics. Methods
// run on the goroutine that fetched, after the set is stored and before
// the requests waiting on that fetch resume; a panic is recovered and
// logged.
type Hooks interface {
	FetchDone(FetchEvent)
	KeySetChanged(KeySetChange)
}

// Why a fetch ran.
const (
	TriggerStartup    = "startup"
	TriggerPeriodic   = "periodic"
	TriggerRetry      = "retry"
	TriggerUnknownKID = "unknown_kid"
	TriggerForced     = "forced"
	TriggerHint       = "hint"
)

// How a fetch ended.
const (
	ResultOK          = "ok"
	ResultNotModified = "not_modified"
	ResultFailed      = "failed"
)

// Which document a fetch was of.
const (
	DocumentJWKS      = "jwks"
	DocumentDiscovery = "discovery"
)

// FetchEvent describes one fetch.
type FetchEvent struct {
	Issuer   string
	URL      string
	Trigger  string
	Result   string
	Err      error
	Duration time.Duration
	Keys     int
	Document string
}

// KeySetChange describes a change of an issuer's keys; kids are sorted.
type KeySetChange struct {
	Issuer      string
	OldKIDs     []string
	NewKIDs     []string
	Fingerprint string
}
