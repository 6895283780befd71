package jwks

import (
	"context"
	"errors"
	"time"
)

// Source is where an issuer's keys come from: a [Static] set or a [Remote]
// JWKS with its lifecycle. It is all the verifier sees of keys, and it never
// calls back into the verifier.
type Source interface {
	// Current returns the set to use at now, without waiting on the
	// network. It fails with ErrUnavailable when no set may be served. The
	// caller passes the clock reading it already holds, so the hot path
	// reads the clock once.
	Current(now time.Time) (*Set, error)
	// UnknownKID is asked when kid is missing from the current set. A
	// remote source may fetch (coalesced and rate limited); it returns the
	// set to retry with, or ErrNotFound when no fetch is allowed now.
	UnknownKID(ctx context.Context, kid string) (*Set, error)
	// Refresh fetches now, for emergency revocation.
	Refresh(ctx context.Context) error
	// Hint says another replica holds a set with fingerprint; a remote
	// source whose set differs fetches within the convergence window.
	Hint(fingerprint string)
	Stats(now time.Time) Stats
	// Close stops the source's goroutines and waits for them.
	Close()
}

// The failures a Source reports, for the verifier to map to its reasons.
// Every error from Current and UnknownKID wraps one of them.
var (
	// ErrUnavailable: no key set may be served now; the token may be fine.
	ErrUnavailable = errors.New("keys unavailable")
	// ErrNotFound: the kid is not in the set and no fetch may look now.
	ErrNotFound = errors.New("key not found")
)

// failure is a classified error with what happened, for logs.
type failure struct {
	class  error
	detail string
	cause  error
}

func fail(class error, detail string, cause error) error {
	return &failure{class: class, detail: detail, cause: cause}
}

func (f *failure) Error() string { return f.detail }

func (f *failure) Unwrap() []error {
	if f.cause == nil {
		return []error{f.class}
	}
	return []error{f.class, f.cause}
}

// Stats describes one issuer's key set, for health pages and metrics.
type Stats struct {
	Issuer           string
	Source           string // "static", or the JWKS URL (with discovery, the jwks_uri of the last good document; "" before one)
	FetchOK          uint64
	FetchFailed      uint64
	FetchNotModified uint64
	LastSuccess      time.Time // zero for a static set or before the first fetch
	Keys             int
	KIDs             []string
	Fingerprint      string // sorted kids, thumbprints and algs of the current set
	Age              time.Duration
	Ready            bool
	LastError        string // why the last fetch failed; "" after a success
	RefusedUnknown   uint64 // unknown kids refused without a fetch (cooldown or negative cache)
	// Discovery is the URL of the discovery document the key set's URL
	// comes from; "" when the baseline names the key set's URL.
	Discovery            string
	DiscoveryFetchOK     uint64
	DiscoveryFetchFailed uint64
	DiscoveryLastSuccess time.Time // zero before the first good document
}
