package core

import (
	"context"
	"errors"
	"slices"
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

// RequireRoles grants access when the claim at claimPath holds every role,
// by exact, case-sensitive match. IdPs put roles in different places:
// "roles" (Entra ID), "realm_access.roles" or
// "resource_access.<client>.roles" (Keycloak), "cognito:groups" (Cognito),
// "urn:zitadel:iam:org:project:roles" (ZITADEL).
//
// claimPath names a claim, or a path into nested objects with '.' between
// names. Claim names may themselves hold ':' and '.' (URNs, client IDs), so
// at each level the whole remaining path is tried as a name first, then its
// prefixes up to a '.', longest first. The value is an array of strings, a
// single string (one role, never split) or an object whose keys are the
// roles (ZITADEL); any other shape, or an array holding anything but
// non-empty strings, grants no role at all.
//
// A refusal is insufficient_scope (RFC 6750 section 3.1: the token is valid
// but lacks the privileges the resource needs) naming the missing roles in
// [Error.Roles]; roles are not OAuth scopes, so the WWW-Authenticate
// challenge names no scope for them. An empty claimPath or role name
// refuses every request rather than granting one.
func RequireRoles(claimPath string, roles ...string) Policy {
	want := append([]string(nil), roles...)
	misuse := ""
	if claimPath == "" {
		misuse = "RequireRoles: empty claim path"
	}
	if slices.Contains(want, "") {
		misuse = "RequireRoles: empty role name"
	}
	return func(_ context.Context, c *Claims) error {
		if misuse != "" {
			return &Error{Reason: ReasonInsufficientScope, Detail: misuse, Roles: want, KID: c.kid, Alg: c.alg, Issuer: c.issuer}
		}
		granted, ok := rolesAt(c.Raw(), claimPath)
		var missing []string
		for _, r := range want {
			if !slices.Contains(granted, r) {
				missing = append(missing, r)
			}
		}
		if len(missing) == 0 {
			return nil
		}
		detail := "missing role " + strings.Join(missing, " ")
		if !ok {
			detail = "claim " + claimPath + " holds no roles; " + detail
		}
		return &Error{Reason: ReasonInsufficientScope, Detail: detail, Roles: missing, KID: c.kid, Alg: c.alg, Issuer: c.issuer}
	}
}

// rolesAt reads the roles at path in claims; ok is false when the path
// leads nowhere or to a value of a shape that holds no roles.
func rolesAt(claims map[string]any, path string) (roles []string, ok bool) {
	v, found := lookupPath(claims, path)
	if !found {
		return nil, false
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil, false
		}
		return []string{v}, true
	case []any:
		roles = make([]string, 0, len(v))
		for _, r := range v {
			s, isString := r.(string)
			if !isString || s == "" {
				// One malformed entry taints the claim: guessing which
				// entries the issuer meant would grant on a shape it
				// never promised.
				return nil, false
			}
			roles = append(roles, s)
		}
		return roles, true
	case map[string]any:
		roles = make([]string, 0, len(v))
		for k := range v {
			if k != "" {
				roles = append(roles, k)
			}
		}
		return roles, true
	}
	return nil, false
}

// lookupPath finds path in m: the whole path as one name first, then each
// prefix ending before a '.', longest first, into a nested object.
func lookupPath(m map[string]any, path string) (any, bool) {
	if v, ok := m[path]; ok {
		return v, true
	}
	for i := strings.LastIndexByte(path, '.'); i > 0; i = strings.LastIndexByte(path[:i], '.') {
		if sub, ok := m[path[:i]].(map[string]any); ok {
			if v, ok := lookupPath(sub, path[i+1:]); ok {
				return v, true
			}
		}
	}
	return nil, false
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
				e = &Error{Reason: ReasonInsufficientScope, Detail: "policy refused: " + clip(err.Error()), KID: c.kid, Alg: c.alg, Issuer: c.issuer, cause: err}
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
