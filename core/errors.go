package core

import (
	"errors"
	"net/http"
	"strings"
)

// Reason is the stable, snake_case code carried by every rejection. Reasons
// are a contract: logs, metrics and the conformance matrix key on them, so a
// reason is never renamed, only added.
type Reason string

// The reason vocabulary. [ReasonTable] gives each one's RFC 6750 error code,
// HTTP status and gRPC code.
const (
	ReasonTokenMissing      Reason = "token_missing"
	ReasonRequestInvalid    Reason = "request_invalid"
	ReasonTokenMalformed    Reason = "token_malformed"
	ReasonTokenTooLarge     Reason = "token_too_large"
	ReasonAlgNotAllowed     Reason = "alg_not_allowed"
	ReasonKeyNotFound       Reason = "key_not_found"
	ReasonSignatureInvalid  Reason = "signature_invalid"
	ReasonTokenExpired      Reason = "token_expired"
	ReasonTokenNotYetValid  Reason = "token_not_yet_valid"
	ReasonIssuedInFuture    Reason = "issued_in_future"
	ReasonIssuerInvalid     Reason = "issuer_invalid"
	ReasonAudienceInvalid   Reason = "audience_invalid"
	ReasonClaimMissing      Reason = "claim_missing"
	ReasonClaimInvalid      Reason = "claim_invalid"
	ReasonTypeInvalid       Reason = "type_invalid"
	ReasonHeaderInvalid     Reason = "header_invalid"
	ReasonKeysUnavailable   Reason = "keys_unavailable"
	ReasonInsufficientScope Reason = "insufficient_scope"
	ReasonTokenRevoked      Reason = "token_revoked"
)

// RFC 6750 section 3.1 error codes. An empty code means the response carries
// no error attribute (section 3.1: a request without credentials).
const (
	bearerInvalidRequest    = "invalid_request"
	bearerInvalidToken      = "invalid_token"
	bearerInsufficientScope = "insufficient_scope"
)

// gRPC status codes, spelled out so that core needs no RPC dependency. The
// values are those of google.golang.org/grpc/codes.
const (
	grpcInvalidArgument  = 3
	grpcPermissionDenied = 7
	grpcUnavailable      = 14
	grpcUnauthenticated  = 16
)

// ReasonInfo is one row of the reason table.
type ReasonInfo struct {
	Reason     Reason
	BearerCode string // RFC 6750 section 3.1 error code; "" for none
	HTTPStatus int
	GRPCCode   int // a google.golang.org/grpc/codes value
}

// Class sentinels group reasons by the response they produce, so a caller can
// test errors.Is(err, core.ErrInvalidToken) without listing reasons. Each
// Reason matches its class with errors.Is.
var (
	ErrNoCredentials     = errors.New("no credentials")
	ErrInvalidRequest    = errors.New("invalid request")
	ErrInvalidToken      = errors.New("invalid token")
	ErrForbidden         = errors.New("insufficient scope")
	ErrServerUnavailable = errors.New("verification unavailable")
)

// Error makes a Reason usable with errors.Is: errors.Is(err,
// core.ReasonTokenExpired) holds for every rejection with that reason.
func (r Reason) Error() string { return string(r) }

// Is reports whether target is the class of r, so that errors.Is(err,
// core.ErrInvalidToken) holds for every reason of that class.
func (r Reason) Is(target error) bool { return target == r.class() }

// reasonTable is the one mapping from reason to response. Adapters never
// decide a status themselves; they ask the error.
var reasonTable = [...]ReasonInfo{
	// RFC 6750 section 3.1: a request lacking any authentication information
	// gets no error code.
	{ReasonTokenMissing, "", http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonRequestInvalid, bearerInvalidRequest, http.StatusBadRequest, grpcInvalidArgument},
	{ReasonTokenMalformed, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonTokenTooLarge, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonAlgNotAllowed, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonKeyNotFound, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonSignatureInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonTokenExpired, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonTokenNotYetValid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonIssuedInFuture, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonIssuerInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonAudienceInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonClaimMissing, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonClaimInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonTypeInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	{ReasonHeaderInvalid, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
	// The token may be fine; the service cannot check it. 503 tells clients
	// not to throw their token away, and the request is still refused.
	{ReasonKeysUnavailable, "", http.StatusServiceUnavailable, grpcUnavailable},
	{ReasonInsufficientScope, bearerInsufficientScope, http.StatusForbidden, grpcPermissionDenied},
	// RFC 6750 section 3.1: a revoked token is invalid_token, whatever
	// its signature and lifetime say.
	{ReasonTokenRevoked, bearerInvalidToken, http.StatusUnauthorized, grpcUnauthenticated},
}

// Reasons returns the reason table in a stable order.
func Reasons() []ReasonInfo {
	out := make([]ReasonInfo, len(reasonTable))
	copy(out, reasonTable[:])
	return out
}

// Info returns the table row for r; an unknown reason maps to the row of
// token_malformed so that a response is always refusing.
func (r Reason) Info() ReasonInfo {
	for _, info := range reasonTable {
		if info.Reason == r {
			return info
		}
	}
	info := reasonTable[2]
	info.Reason = r
	return info
}

func (r Reason) class() error {
	switch r {
	case ReasonTokenMissing:
		return ErrNoCredentials
	case ReasonRequestInvalid:
		return ErrInvalidRequest
	case ReasonInsufficientScope:
		return ErrForbidden
	case ReasonKeysUnavailable:
		return ErrServerUnavailable
	}
	return ErrInvalidToken
}

// Error is the one error type every rejection carries. Its message is safe to
// log: it never contains the token or its signature. It is not meant for
// clients; send [Error.Response] instead.
type Error struct {
	Reason Reason
	// Detail says what failed, for logs.
	Detail string
	// Scopes lists the missing scopes of an insufficient_scope rejection
	// (RFC 6750 section 3: the scope attribute).
	Scopes []string
	// Roles lists the missing roles of a [RequireRoles] refusal.
	Roles []string
	// What could be read from the token, for logs. Never trusted.
	KID, Alg, Issuer string

	cause error
}

func newError(r Reason, detail string) *Error { return &Error{Reason: r, Detail: detail} }

// stamp records what could be read from the token, for the log line.
func (e *Error) stamp(kid, alg, iss string) *Error {
	e.KID, e.Alg, e.Issuer = kid, alg, iss
	return e
}

// Error implements error.
func (e *Error) Error() string {
	if e.Detail == "" {
		return "jwtguard: " + string(e.Reason)
	}
	return "jwtguard: " + string(e.Reason) + ": " + e.Detail
}

// Unwrap exposes the reason (which matches its class too) and the cause,
// so errors.Is works on the specific failure, its class and what caused it.
func (e *Error) Unwrap() []error {
	if e.cause != nil {
		return []error{e.Reason, e.cause}
	}
	return []error{e.Reason}
}

// asError returns err as *Error. Any other non-nil error becomes a
// token_malformed rejection, so that an unexpected failure still refuses.
func asError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: ReasonTokenMalformed, Detail: "unclassified failure", cause: err}
}

// Response is what an adapter sends for a rejection: identical bytes from
// every framework.
type Response struct {
	Status          int
	WWWAuthenticate string // empty when no header is sent
	ContentType     string
	Body            []byte
	GRPCCode        int
	GRPCMessage     string
}

// descriptions are deliberately generic: a client learns the class of
// failure, never which check failed (that is in the log line).
var descriptions = map[string]string{
	"":                      "authentication required",
	bearerInvalidRequest:    "the request is malformed",
	bearerInvalidToken:      "the access token is invalid",
	bearerInsufficientScope: "the access token lacks the required scope",
}

// responseFor builds the RFC 6750 response for err under realm.
func responseFor(err error, realm string) Response {
	e := asError(err)
	info := e.Reason.Info()
	var b strings.Builder
	r := Response{Status: info.HTTPStatus, ContentType: "application/json", GRPCCode: info.GRPCCode}
	// RFC 6750 section 3: every 401 carries a Bearer challenge; 400 and 403
	// carry it with their error code.
	if info.HTTPStatus != http.StatusServiceUnavailable {
		b.WriteString(`Bearer realm="`)
		b.WriteString(quoteSafe(realm))
		b.WriteString(`"`)
		if info.BearerCode != "" {
			b.WriteString(`, error="` + info.BearerCode + `"`)
		}
		if info.Reason == ReasonInsufficientScope && len(e.Scopes) > 0 {
			b.WriteString(`, scope="` + quoteSafe(strings.Join(e.Scopes, " ")) + `"`)
		}
		r.WWWAuthenticate = b.String()
	}
	code, desc := info.BearerCode, descriptions[info.BearerCode]
	switch {
	case info.HTTPStatus == http.StatusServiceUnavailable:
		code, desc = "temporarily_unavailable", "the token cannot be verified now"
	case code == "":
		code = "unauthorized"
	}
	r.Body = []byte(`{"error":"` + code + `","error_description":"` + desc + `"}` + "\n")
	r.GRPCMessage = desc
	return r
}

// quoteSafe keeps a value inside an RFC 6750 quoted-string: section 3 allows
// %x20-21 / %x23-5B / %x5D-7E only.
func quoteSafe(s string) string {
	ok := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			ok = false
			break
		}
	}
	if ok {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x20 && c <= 0x7e && c != '"' && c != '\\' {
			b = append(b, c)
		}
	}
	return string(b)
}

// Headers are the response headers, for adapters whose framework does not
// take an http.ResponseWriter. Cache-Control: no-store keeps a rejection
// out of shared caches.
func (r Response) Headers() http.Header {
	h := make(http.Header, 3)
	if r.WWWAuthenticate != "" {
		h["Www-Authenticate"] = []string{r.WWWAuthenticate}
	}
	h["Content-Type"] = []string{r.ContentType}
	h["Cache-Control"] = []string{"no-store"}
	return h
}

// WriteHTTP writes r to w. Adapters built on net/http (nethttpjwt, gin, echo)
// share it so that their bytes cannot drift.
func (r Response) WriteHTTP(w http.ResponseWriter) {
	h := w.Header()
	for k, v := range r.Headers() {
		h[k] = v
	}
	w.WriteHeader(r.Status)
	_, _ = w.Write(r.Body)
}
