package gateways_test

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/jwtguard/jwtguard/cmd/jwtguard/serve"
	"github.com/jwtguard/jwtguard/examples/internal/gateway"
)

// upstreamHeaders are the headers jwtguard sets for the upstream with the
// sample policy: the identity headers and the policy's claim_headers, in
// canonical form, sorted. Every gateway sample must let exactly these
// through from jwtguard, and drop the client's own.
func upstreamHeaders(t *testing.T) []string {
	t.Helper()
	p, err := serve.LoadPolicy(filepath.Join(gateway.Dir(), gateway.Policy))
	if err != nil {
		t.Fatal(err)
	}
	h := []string{serve.HeaderSubject, serve.HeaderIssuer, serve.HeaderScopes, serve.HeaderClaims}
	for _, c := range p.ClaimHeaders {
		h = append(h, c.Header)
	}
	slices.Sort(h)
	return h
}
