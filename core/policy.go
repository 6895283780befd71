package core

import (
	"context"
	"errors"
	"strings"
	"time"
)

// Policy decides whether verified claims may do what the request asks.
// Authorization is kept apart from authentication: a Policy only runs on
// claims that Verify accepted.
type Policy func(ctx context.Context, c *Claims) error

// RequireScopes grants access when every scope was granted, by exact match
// (RFC 6749 section 3.3: scopes are case-sensitive strings). A failure is
// insufficient_scope naming the missing scopes (RFC 6750 section 3.1).
func RequireScopes(scopes ...string) Policy {
	want := append([]string(nil), scopes...)
	return func(_ context.Context, c *Claims) error {
		var missing []string
		for _, s := range want {
			if !c.HasScope(s) {
				missing = append(missing, s)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		return &Error{Reason: ReasonInsufficientScope, Detail: "missing scope " + strings.Join(missing, " "),
			Scopes: missing, KID: c.kid, Alg: c.alg, Issuer: c.issuer}
	}
}

// Authorize is [Verifier.Authorize] on this engine. A refusal is also a
// verdict for [VerdictHooks] (Policy set), so that
// counting verdicts by reason covers 403s. Its Issuer is the claims' own,
// whatever issuer the policy's error names.
func (v *engine) Authorize(ctx context.Context, c *Claims, policies ...Policy) error {
	var start time.Time
	if len(v.opts.verdicts) > 0 {
		start = time.Now()
	}
	if c == nil {
		err := newError(ReasonTokenMissing, "no verified claims")
		v.policyVerdict(ctx, err, "", start)
		v.logRejection(ctx, err)
		return err
	}
	for _, p := range policies {
		if err := p(ctx, c); err != nil {
			var e *Error
			if !errors.As(err, &e) {
				e = &Error{Reason: ReasonInsufficientScope, Detail: "policy refused", KID: c.kid, Alg: c.alg, Issuer: c.issuer, cause: err}
			}
			v.policyVerdict(ctx, e, c.issuer, start)
			v.logRejection(ctx, e)
			return e
		}
	}
	return nil
}

// policyVerdict reports Authorize's refusal e of claims from issuer (a
// verified, so trusted, one; "" without claims).
func (v *engine) policyVerdict(ctx context.Context, e *Error, issuer string, start time.Time) {
	if len(v.opts.verdicts) == 0 {
		return
	}
	v.notify(ctx, VerdictEvent{Reason: e.Reason, Issuer: issuer, KID: clip(e.KID), Alg: clip(e.Alg), Policy: true,
		Duration: time.Since(start)})
}
