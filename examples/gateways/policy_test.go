package gateways_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jwtguard/jwtguard/examples/internal/gateway"
)

// upstreamHeaders are the headers jwtguard sets for the upstream with the
// sample policy: the identity headers and the policy's claim_headers, in
// canonical form, sorted. Every gateway sample must let exactly these
// through from jwtguard, and drop the client's own.
func upstreamHeaders(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(gateway.Dir(), gateway.Policy))
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		ClaimHeaders map[string]string `yaml:"claim_headers"`
	}
	if err := yaml.Unmarshal(data, &p); err != nil {
		t.Fatal(err)
	}
	h := []string{"X-Auth-Subject", "X-Auth-Issuer", "X-Auth-Scopes", "X-Auth-Claims"}
	for _, name := range p.ClaimHeaders {
		h = append(h, name)
	}
	slices.Sort(h)
	return h
}
