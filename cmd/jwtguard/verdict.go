package main

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/jwtguard/jwtguard/core"
)

// verdictOutput is what verify prints, as text or as one JSON object.
type verdictOutput struct {
	Verdict     string          `json:"verdict"`
	Reason      string          `json:"reason,omitempty"`
	Detail      string          `json:"detail,omitempty"`
	Fingerprint string          `json:"baseline_fingerprint"`
	Claims      json.RawMessage `json:"claims,omitempty"`
	// UnverifiedClaims are a rejected token's claims, decoded without any
	// check: what an operator compares with the baseline to see why.
	UnverifiedClaims json.RawMessage `json:"unverified_claims,omitempty"`
	// Encrypted is set for a JWE, whose claims cannot be read.
	Encrypted bool `json:"encrypted,omitempty"`
	// LastFetchError says why keys_unavailable: the last failed fetch of
	// the token's issuer's key set, "JWKS URL: error".
	LastFetchError string `json:"last_fetch_error,omitempty"`
}

// rejected fills in what explains the rejection e of token by v.
func (o *verdictOutput) rejected(e *core.Error, token string, v *core.Verifier) {
	o.Verdict, o.Reason, o.Detail = "rejected", string(e.Reason), e.Detail
	if d, err := decodeToken(token); err == nil {
		o.Encrypted = d.encrypted
		if json.Valid(d.claims) {
			o.UnverifiedClaims = d.claims
		}
	}
	if e.Reason != core.ReasonKeysUnavailable {
		return
	}
	for _, st := range v.Stats() {
		if st.LastError != "" && (st.Issuer == e.Issuer || e.Issuer == "") {
			o.LastFetchError = st.Source + ": " + st.LastError
			return
		}
	}
}

func (o *verdictOutput) print(w io.Writer) {
	fmt.Fprintf(w, "verdict:     %s\n", o.Verdict)
	if o.Verdict == "rejected" {
		fmt.Fprintf(w, "reason:      %s\ndetail:      %s\n", o.Reason, o.Detail)
	}
	if o.LastFetchError != "" {
		fmt.Fprintf(w, "last fetch:  %s\n", o.LastFetchError)
	}
	if o.Encrypted {
		fmt.Fprintln(w, "token:       encrypted (a JWE): its claims cannot be read, and jwtguard verifies signed tokens (JWS) only")
	}
	fmt.Fprintf(w, "baseline:    %s\n", o.Fingerprint)
	switch {
	case o.Claims != nil:
		fmt.Fprintf(w, "claims:\n%s\n", indent(o.Claims))
	case o.UnverifiedClaims != nil:
		fmt.Fprintf(w, "claims (unverified, of the rejected token):\n%s\n", indent(o.UnverifiedClaims))
	}
}
