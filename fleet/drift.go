package fleet

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// The kinds of drift FindDrift reports.
const (
	// DriftBaselines: instances of one service verify with different
	// baselines.
	DriftBaselines = "baselines"
	// DriftReference: a service's baseline differs from the reference
	// baseline file.
	DriftReference = "reference"
	// DriftKeys: instances hold different key sets for one issuer for
	// longer than the convergence bound.
	DriftKeys = "keys"
)

// Drift is one finding of FindDrift.
type Drift struct {
	Kind    string `json:"kind"`
	Service string `json:"service,omitempty"`
	Issuer  string `json:"issuer,omitempty"`
	Message string `json:"message"`
}

// FindDrift compares the heartbeats of a fleet: the instances of each
// service must verify with one baseline; with ref, each service's baseline
// must be the reference's (ref.ForService for an estate file), the message
// naming every key that differs; and the instances holding an issuer's
// keys must not disagree on its key set for longer than bound.
func FindDrift(hbs []Heartbeat, ref *core.Config, bound time.Duration) []Drift {
	var out []Drift
	byService := map[string][]Heartbeat{}
	for _, hb := range hbs {
		byService[hb.Service] = append(byService[hb.Service], hb)
	}
	for _, svc := range slices.Sorted(maps.Keys(byService)) {
		group := byService[svc]
		fps := groupBy(group, func(hb Heartbeat) string { return hb.Fingerprint })
		if len(fps) > 1 {
			out = append(out, Drift{Kind: DriftBaselines, Service: svc, Message: fmt.Sprintf("%s: instances on %d baselines: %s; %s",
				svc, len(fps), describeGroups(fps), diffSettings(fps[0].members[0].Baseline, fps[1].members[0].Baseline))})
		}
		if ref == nil {
			continue
		}
		want, err := ref.ForService(svc)
		if err != nil {
			out = append(out, Drift{Kind: DriftReference, Service: svc, Message: fmt.Sprintf("%s: not in the reference baseline: %v", svc, err)})
			continue
		}
		wantFP, wantSummary := want.Fingerprint(), Summary(want.Effective())
		for _, g := range fps {
			if g.key == wantFP {
				continue
			}
			d := diffSettings(g.members[0].Baseline, wantSummary)
			out = append(out, Drift{Kind: DriftReference, Service: svc, Message: fmt.Sprintf("%s: %s differs from the reference baseline (%s): %s",
				svc, instancesOf(g.members), wantFP, d)})
		}
	}
	out = append(out, keyDrift(hbs, bound)...)
	return out
}

// keyDrift finds issuers whose instances disagree on the key set. The
// disagreement began when the newest of the sets appeared (the earliest
// change to it among its holders); it is drift once older than bound.
func keyDrift(hbs []Heartbeat, bound time.Duration) []Drift {
	type holder struct {
		hb    Heartbeat
		since time.Time // when this instance's set last changed, on the observer's clock
	}
	byIssuer := map[string]map[string][]holder{}
	for _, hb := range hbs {
		for _, k := range hb.Keys {
			if k.Fingerprint == "" {
				continue
			}
			if byIssuer[k.Issuer] == nil {
				byIssuer[k.Issuer] = map[string][]holder{}
			}
			byIssuer[k.Issuer][k.Fingerprint] = append(byIssuer[k.Issuer][k.Fingerprint],
				holder{hb, hb.Received.Add(-time.Duration(k.SetAge))})
		}
	}
	var out []Drift
	for _, iss := range slices.Sorted(maps.Keys(byIssuer)) {
		sets := byIssuer[iss]
		if len(sets) < 2 {
			continue
		}
		var began time.Time
		var parts []string
		for _, fp := range slices.Sorted(maps.Keys(sets)) {
			first := sets[fp][0].since
			var hbs []Heartbeat
			for _, h := range sets[fp] {
				if h.since.Before(first) {
					first = h.since
				}
				hbs = append(hbs, h.hb)
			}
			if first.After(began) {
				began = first
			}
			parts = append(parts, fmt.Sprintf("%s %v held by %s", short(fp), sets[fp][0].hb.kids(iss), instancesOf(hbs)))
		}
		var now time.Time
		for _, h := range hbs {
			if h.Received.After(now) {
				now = h.Received
			}
		}
		if d := now.Sub(began); d > bound {
			out = append(out, Drift{Kind: DriftKeys, Issuer: iss, Message: fmt.Sprintf("issuer %s: %d key sets for %v (bound %v): %s",
				iss, len(sets), d.Round(100*time.Millisecond), bound, strings.Join(parts, "; "))})
		}
	}
	return out
}

func (hb Heartbeat) kids(issuer string) []string {
	for _, k := range hb.Keys {
		if k.Issuer == issuer {
			return k.KIDs
		}
	}
	return nil
}

type hbGroup struct {
	key     string
	members []Heartbeat
}

// groupBy groups hbs by key, largest group first.
func groupBy(hbs []Heartbeat, key func(Heartbeat) string) []hbGroup {
	idx := map[string]int{}
	var out []hbGroup
	for _, hb := range hbs {
		k := key(hb)
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, hbGroup{key: k})
		}
		out[i].members = append(out[i].members, hb)
	}
	slices.SortStableFunc(out, func(a, b hbGroup) int { return len(b.members) - len(a.members) })
	return out
}

func describeGroups(gs []hbGroup) string {
	parts := make([]string, len(gs))
	for i, g := range gs {
		parts[i] = short(g.key) + " (" + instancesOf(g.members) + ")"
	}
	return strings.Join(parts, ", ")
}

func instancesOf(hbs []Heartbeat) string {
	names := make([]string, len(hbs))
	for i, hb := range hbs {
		names[i] = hb.Instance
	}
	slices.Sort(names)
	if len(names) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(names[:5], ", "), len(names)-5)
	}
	return strings.Join(names, ", ")
}

// diffSettings names every baseline key whose values differ, as
// "leeway 30s vs 5m".
func diffSettings(got, want map[string]string) string {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		g, w := got[k], want[k]
		if g != w {
			diffs = append(diffs, fmt.Sprintf("%s %s vs %s", k, orNone(g), orNone(w)))
		}
	}
	if len(diffs) == 0 {
		return "settings outside the summary differ (inline or Go-given keys)"
	}
	return strings.Join(diffs, ", ")
}

func orNone(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

// short abbreviates a fingerprint for reading.
func short(fp string) string {
	if len(fp) > len("sha256:")+12 {
		return fp[:len("sha256:")+12]
	}
	return fp
}

// WriteReport writes the instances by service and the drift found, as
// jwtguard fleet prints them.
func WriteReport(w io.Writer, hbs []Heartbeat, drift []Drift) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE\tINSTANCE\tHOST\tVERSION\tBASELINE\tREADY\tREVOKED\tBUS\tKEY SETS")
	services := map[string]bool{}
	for _, hb := range hbs {
		services[hb.Service] = true
		var keys []string
		for _, k := range hb.Keys {
			keys = append(keys, fmt.Sprintf("%s %s %v (fetched %s ago)", k.Issuer, short(k.Fingerprint), k.KIDs,
				time.Duration(k.Age).Round(time.Second)))
		}
		ready := "yes"
		if !hb.Ready {
			ready = "NO"
		}
		bus := "ok"
		if hb.Bus.Reconnects > 0 {
			bus = fmt.Sprintf("%d reconnects", hb.Bus.Reconnects)
		}
		version := hb.Version
		if version == "" {
			version = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", hb.Service, hb.Instance, hb.Host, version,
			short(hb.Fingerprint), ready, hb.Revocations, bus, strings.Join(keys, "; "))
	}
	tw.Flush()
	if len(drift) == 0 {
		fmt.Fprintf(w, "\nno drift: %s of %s\n", plural(len(hbs), "instance"), plural(len(services), "service"))
		return
	}
	fmt.Fprintf(w, "\ndrift (%d):\n", len(drift))
	for _, d := range drift {
		fmt.Fprintf(w, "  %s\n", d.Message)
	}
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
