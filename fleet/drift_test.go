package fleet_test

import (
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
)

// FindDrift on heartbeats made up for each case: what counts as drift, and
// how each finding reads.
func TestFindDrift(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	hb := func(service, instance, fp string, keys ...fleet.IssuerKeys) fleet.Heartbeat {
		return fleet.Heartbeat{Service: service, Instance: instance, Fingerprint: fp, Received: now, Keys: keys,
			Baseline: map[string]string{"leeway": map[string]string{"fp-a": "30s", "fp-b": "1m"}[fp]}}
	}
	set := func(fp string, changed time.Duration) fleet.IssuerKeys {
		return fleet.IssuerKeys{Issuer: "https://idp", Fingerprint: fp, KIDs: []string{fp}, SetAge: fleet.Duration(changed)}
	}
	for _, tc := range []struct {
		name string
		hbs  []fleet.Heartbeat
		want []string // one substring per finding, in order
	}{
		{"in step", []fleet.Heartbeat{
			hb("orders", "o1", "fp-a", set("k1", time.Hour)), hb("orders", "o2", "fp-a", set("k1", time.Hour)),
			hb("billing", "b1", "fp-b", set("k1", time.Hour)),
		}, nil},
		{"one instance on another baseline", []fleet.Heartbeat{
			hb("orders", "o1", "fp-a"), hb("orders", "o2", "fp-a"), hb("orders", "o3", "fp-b"),
		}, []string{"orders: instances on 2 baselines: fp-a (o1, o2), fp-b (o3); leeway 30s vs 1m"}},
		{"converging within the bound", []fleet.Heartbeat{
			hb("orders", "o1", "fp-a", set("k2", 2*time.Second)), hb("orders", "o2", "fp-a", set("k1", time.Hour)),
		}, nil},
		// The new set appeared 10s ago (its first holder's change): the
		// old one has lagged for 10s, however long ago the others changed.
		{"lagging past the bound", []fleet.Heartbeat{
			hb("orders", "o1", "fp-a", set("k2", 10*time.Second)), hb("orders", "o2", "fp-a", set("k2", 3*time.Second)),
			hb("orders", "o3", "fp-a", set("k1", time.Hour)),
		}, []string{"issuer https://idp: 2 key sets for 10s (bound 5s): k1 [k1] held by o3; k2 [k2] held by o1, o2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := fleet.FindDrift(tc.hbs, nil, 5*time.Second)
			if len(got) != len(tc.want) {
				t.Fatalf("%d findings, want %d: %+v", len(got), len(tc.want), got)
			}
			for i, d := range got {
				if !strings.Contains(d.Message, tc.want[i]) {
					t.Errorf("finding %q, want it to say %q", d.Message, tc.want[i])
				}
			}
		})
	}
}

// Summary names refuse_id_tokens and audience_claim only when set, as the fingerprint
// does, so that a baseline without them reads as it did before the keys.
func TestSummaryKeysOnlyWhenSet(t *testing.T) {
	for _, tc := range []struct{ claim, want string }{
		{"", ""}, {core.AudienceClaimAud, ""}, {core.AudienceClaimClientID, "client_id"},
	} {
		got, ok := fleet.Summary(core.Config{AudienceClaim: tc.claim}.Effective())["audience_claim"]
		if ok != (tc.want != "") || got != tc.want {
			t.Errorf("AudienceClaim %q: audience_claim = %q, %v, want %q", tc.claim, got, ok, tc.want)
		}
	}
	for _, refuse := range []bool{false, true} {
		got, ok := fleet.Summary(core.Config{RefuseIDTokens: refuse}.Effective())["refuse_id_tokens"]
		if ok != refuse || (ok && got != "true") {
			t.Errorf("RefuseIDTokens %v: refuse_id_tokens = %q, %v", refuse, got, ok)
		}
	}
}
