package core

import (
	"context"
	"encoding/json"
	"fmt"
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
	// FetchDone is called once per fetch of a key set or of a discovery
	// document, whatever its result.
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
	// Document says what was fetched: "jwks" (the key set, from URL) or
	// "discovery" (the issuer's discovery document, at URL, which names
	// the key set's URL). With discovery a refresh fetches both, the
	// document first, and reports each.
	Document string
}

// KeySetChange describes a change of an issuer's keys. Kids are sorted;
// OldKIDs is empty for the first set loaded.
type KeySetChange struct {
	Issuer      string
	OldKIDs     []string
	NewKIDs     []string
	Fingerprint string // of the new set, as in [IssuerStats]
}

// WithHooks subscribes h to key lifecycle events, and to verdicts when h
// also implements [VerdictHooks]. It may be given several times; every hook
// is called, in order.
func WithHooks(h KeyHooks) Option {
	return func(o *options) {
		if h != nil {
			o.hooks = append(o.hooks, hookAdapter{h})
			if vh, ok := h.(VerdictHooks); ok {
				o.verdicts = append(o.verdicts, vh)
			}
		}
	}
}

// VerdictHooks is implemented by a [KeyHooks] value that also wants one
// event per verdict, for metrics and traces. It is an optional interface
// rather than an option of its own because an exporter wants both kinds of
// event, and one registration keeps them from being wired half-way.
//
// Verdict is called on the request's goroutine, with the request's ctx,
// before the rejection (if any) is logged: it must return quickly and must
// not call back into the Verifier. Unlike the key hooks, which run on the
// verifier's own goroutines, it runs as part of the call it reports, so a
// panic in it is not recovered here: it reaches the caller as a panic of
// the request's own code would, and the request is refused, never
// accepted. (A recover per verdict would cost a cached verify a third of
// the hook's budget; see BenchmarkVerifyCached/RS256_noop_hook.)
// A verifier with no VerdictHooks reads no extra clock and builds no event.
type VerdictHooks interface {
	Verdict(ctx context.Context, e VerdictEvent)
}

// VerdictEvent describes one verdict: of [Verifier.Verify] or
// [Verifier.Authenticate] (one event per call), or a refusal of
// [Verifier.Authorize] (Policy set). Reason and Cache are fixed sets and
// Issuer is one of the baseline's, so all three are fit for metric labels;
// KID and Alg come from the token and are not.
type VerdictEvent struct {
	// Reason is "" when the token was accepted.
	Reason Reason
	// Issuer is the token's iss when the baseline trusts it, else "": an
	// untrusted or unread iss is never reported, so that a token cannot
	// choose a label.
	Issuer string
	// KID and Alg are the token's header values, or "" when they could
	// not be read; a rejected token's are cut to 128 bytes, an accepted
	// token's named a key of its issuer and an allowed alg.
	KID, Alg string
	// Cache is "hit" when the verified-token cache answered, "miss" when it
	// was consulted and did not, and "" when it was not consulted: the
	// cache is off, there was no token, the token was over
	// max_token_bytes, or the event is a policy's.
	Cache string
	// Policy marks a refusal by Authorize: the token was accepted earlier
	// (or there was none: Authorize got no claims), and Duration is the
	// time its policies took.
	Policy bool
	// Duration is measured on the monotonic clock, from the call's start
	// to the verdict, extraction included.
	Duration time.Duration
}

// Values of VerdictEvent.Cache.
const (
	cacheNotConsulted = ""
	cacheHit          = "hit"
	cacheMiss         = "miss"
)

// rejectionEvent describes a rejection; its issuer only when trusted.
func (v *engine) rejectionEvent(err error, cache string, start time.Time) VerdictEvent {
	e := VerdictEvent{Cache: cache, Duration: time.Since(start)}
	x := asError(err)
	e.Reason, e.KID, e.Alg = x.Reason, clip(x.KID), clip(x.Alg)
	if _, trusted := v.issuers[x.Issuer]; trusted {
		e.Issuer = x.Issuer
	}
	return e
}

// notify gives e to every VerdictHooks.
func (v *engine) notify(ctx context.Context, e VerdictEvent) {
	for _, h := range v.opts.verdicts {
		h.Verdict(ctx, e)
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
	// Discovery is the URL of the discovery document Source comes from;
	// "" when the baseline names the key set's URL. LastSuccess is then
	// the older of the last good document and the last good key set:
	// max_stale bounds both.
	Discovery            string
	DiscoveryFetchOK     uint64
	DiscoveryFetchFailed uint64
	DiscoveryLastSuccess time.Time // zero before the first good document
}

// issuerStatsJSON is IssuerStats without its methods, for its JSON form.
type issuerStatsJSON IssuerStats

// MarshalJSON writes Age as a Go duration string ("1m30s"), as a health
// page shows it, rather than a count of nanoseconds.
func (s IssuerStats) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		issuerStatsJSON
		Age string
	}{issuerStatsJSON(s), s.Age.String()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (s *IssuerStats) UnmarshalJSON(b []byte) error {
	var in struct {
		*issuerStatsJSON
		Age string
	}
	in.issuerStatsJSON = (*issuerStatsJSON)(s)
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	if in.Age == "" {
		s.Age = 0
		return nil
	}
	age, err := time.ParseDuration(in.Age)
	if err != nil {
		return fmt.Errorf("IssuerStats.Age: %w", err)
	}
	s.Age = age
	return nil
}
