package main

import (
	"context"
	"net"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/conformance"
)

// TestConformanceRun runs the matrix against the service from outside, as
// jwtguard conformance run does, and requires it to fail exactly the cases
// the README's table of what the tool finds lists, so that the README says
// what the run shows. Settle is short: keyfunc fetches the key set again
// for an unknown kid at most once in 5 minutes and otherwise every hour,
// so no wait a test can afford would change the rotation cases' verdicts.
func TestConformanceRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	idp, err := conformance.ServeIdP(ln)
	if err != nil {
		t.Fatal(err)
	}
	defer idp.Close()
	b := idp.Baseline()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := newService(ctx, config{b.Issuer, b.JWKSURL, b.Audience, b.Algorithms, b.Leeway})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	report, err := conformance.Target{IdP: idp.URL(), URL: srv.URL, Settle: 5 * time.Second}.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, c := range report.Cases {
		if c.Result == conformance.Fail {
			failed = append(failed, c.Case)
		}
	}
	listed := readmeFindings(t)
	if !slices.Equal(failed, listed) {
		var text strings.Builder
		report.WriteText(&text)
		t.Errorf("the service fails\n  %s\nthe README lists\n  %s\n\n%s",
			strings.Join(failed, " "), strings.Join(listed, " "), text.String())
	}
}

// readmeFindings are the cases of the README's table of what the tool
// finds in this service, in table order: the first cell of each row.
func readmeFindings(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile("../../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n### What it finds\n")
	if !ok {
		t.Fatal(`the README has no "### What it finds" section`)
	}
	var names []string
	inTable := false
	for _, line := range strings.Split(section, "\n") {
		if !strings.HasPrefix(line, "|") {
			if inTable {
				break
			}
			continue
		}
		inTable = true
		cell := strings.TrimSpace(strings.Split(line, "|")[1])
		if name, ok := strings.CutPrefix(cell, "`"); ok {
			names = append(names, strings.TrimSuffix(name, "`"))
		}
	}
	return names
}
