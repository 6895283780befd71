package core

import (
	"log/slog"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/jwtguard/jwtguard/core/internal/jose"
)

// The attributes of the rejection log line. They are a contract, like the
// reasons: the README's "Rejection log lines" section lists them.
const (
	logReason   = "reason"
	logDetail   = "detail"
	logMethod   = "method"
	logPath     = "path"
	logAccepted = "accepted_aud" // audience_invalid: the baseline's audiences
	logTrusted  = "trusted_iss"  // issuer_invalid: the baseline's issuers
	logTypes    = "accepted_typ" // type_invalid: the baseline's token_types
	logAllowed  = "allowed_alg"  // alg_not_allowed: the baseline's algorithms
	// insufficient_scope: what the route required and the token lacked.
	logMissingScopes = "missing_scopes"
	logMissingRoles  = "missing_roles"
	// logUnverified groups what was read from the token: attacker-controlled
	// values, never trusted, each clipped.
	logUnverified = "unverified"
)

// Bounds on what a log line takes from a token or a request: each value at
// most logValueBytes (cut at a character boundary), an aud list at most
// logAudEntries entries. A hostile token cannot make a line longer than a
// few kilobytes, whatever max_token_bytes allows.
const (
	logValueBytes = 256
	logAudEntries = 16
)

// rejectionAttrs appends to attrs the rejection line of e for request r
// (nil for a call without one). What the baseline expected is added for the reasons where
// it is what an operator compares the token's value with.
//
// The token itself, its signature and its raw segments are never among the
// attributes: only named header members and claims, decoded, each logged
// as a string attribute so that the handler quotes or escapes it.
func (v *engine) rejectionAttrs(attrs []slog.Attr, e *Error, r Request) []slog.Attr {
	attrs = append(attrs, slog.String(logReason, string(e.Reason)))
	if method, path := requestTarget(r); method != "" || path != "" {
		attrs = append(attrs, slog.String(logMethod, clipLog(method)), slog.String(logPath, clipLog(path)))
	}
	switch e.Reason {
	case ReasonAudienceInvalid:
		attrs = append(attrs, slog.Any(logAccepted, v.cfg.Audiences))
	case ReasonIssuerInvalid:
		attrs = append(attrs, slog.Any(logTrusted, sortedKeys(v.issuers)))
	case ReasonTypeInvalid:
		attrs = append(attrs, slog.Any(logTypes, v.cfg.TokenTypes))
	case ReasonAlgNotAllowed:
		attrs = append(attrs, slog.Any(logAllowed, v.cfg.Algorithms))
	}
	if token := unverifiedAttrs(e); len(token) > 0 {
		attrs = append(attrs, slog.Attr{Key: logUnverified, Value: slog.GroupValue(token...)})
	}
	// A policy refusal names what the route asked for and the token
	// lacked: the service's own names, never the token's.
	if len(e.Scopes) > 0 {
		attrs = append(attrs, slog.String(logMissingScopes, strings.Join(e.Scopes, " ")))
	}
	if len(e.Roles) > 0 {
		attrs = append(attrs, slog.String(logMissingRoles, strings.Join(e.Roles, " ")))
	}
	return append(attrs, slog.String(logDetail, e.Detail))
}

// requestTarget asks r for its method and path, failing closed to none if
// the adapter's implementation panics: a log line never takes a request
// down.
func requestTarget(r Request) (method, path string) {
	t, ok := r.(RequestTarget)
	if !ok {
		return "", ""
	}
	defer func() {
		if recover() != nil {
			method, path = "", ""
		}
	}()
	return t.Target()
}

// unverifiedAttrs are the header members and claims of e's token that
// could be read: kid, alg, typ, iss, aud, sub, client_id (RFC 9068 section
// 2.2) and azp (OIDC Core section 2).
func unverifiedAttrs(e *Error) []slog.Attr {
	var attrs []slog.Attr
	add := func(key, val string) {
		if val != "" {
			attrs = append(attrs, slog.String(key, clipLog(val)))
		}
	}
	add("kid", e.KID)
	add("alg", e.Alg)
	if e.hasTyp {
		attrs = append(attrs, slog.String("typ", clipLog(e.typ)))
	}
	add("iss", e.Issuer)
	c := readLogClaims(e.payload)
	if c.hasAud {
		attrs = append(attrs, slog.Any("aud", c.aud))
	}
	add("sub", c.sub)
	add("client_id", c.clientID)
	add("azp", c.azp)
	return attrs
}

// logClaims are the claims a rejection line shows.
type logClaims struct {
	sub, clientID, azp string
	aud                []string
	hasAud             bool
}

// readLogClaims reads the claims of a decoded payload for the log line.
// Anything unreadable is left out rather than failing: the verdict is
// already made. A claim given twice shows its first value.
func readLogClaims(payload []byte) logClaims {
	var c logClaims
	if payload == nil || !utf8.Valid(payload) {
		return c
	}
	it, ok := jose.NewObjectIter(payload)
	if !ok {
		return c
	}
	for {
		k, val, more := it.Next()
		if !more {
			return c
		}
		name, ok := jose.String(k)
		if !ok {
			return c
		}
		var dst *string
		switch name {
		case "sub":
			dst = &c.sub
		case "client_id":
			dst = &c.clientID
		case "azp":
			dst = &c.azp
		case "aud":
			if c.hasAud {
				continue
			}
			one, many, isArray, ok := jose.StringOrArray(val)
			if !ok {
				continue
			}
			c.hasAud = true
			if !isArray {
				many = []string{one}
			}
			c.aud = clipList(many)
			continue
		default:
			continue
		}
		if *dst == "" {
			*dst, _ = jose.String(val)
		}
	}
}

// clipList bounds a list for the log line: at most logAudEntries entries,
// each clipped, and a last entry saying how many were left out.
func clipList(in []string) []string {
	n := min(len(in), logAudEntries)
	out := make([]string, 0, n+1)
	for _, s := range in[:n] {
		out = append(out, clipLog(s))
	}
	if len(in) > n {
		out = append(out, "("+strconv.Itoa(len(in)-n)+" more)")
	}
	return out
}

// clipLog bounds a value for the log line to logValueBytes, cut at a
// character boundary so the line stays valid UTF-8.
func clipLog(s string) string { return clipAt(s, logValueBytes) }

// clipAt cuts s to at most n bytes at a character boundary, so that a
// clipped value is still valid UTF-8 where s was.
func clipAt(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut]
}
