package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// tally adds up the results of a run.
type tally struct {
	adapters  []*adapter
	counts    []counts // by adapter
	requests  int      // sent to each adapter
	elapsed   time.Duration
	rotations int
	probes    int
	last      result
	// disagreements are the requests on which adapters differed; the first
	// few are kept for the summary.
	disagreements int
	examples      []result
	// metrics is one service's /metrics, read after the traffic.
	metrics *scraped
}

// counts is one adapter's share of a tally.
type counts struct {
	accepted        int
	rejected        map[string]int // by reason
	validRejected   int            // a valid token refused: never expected
	validReasons    map[string]int // why valid tokens were refused
	hostileAccepted int            // a token that must be refused got through
	broken          int            // an answer that is neither accepted nor a reason
}

const keptExamples = 5

func newTally(adapters []*adapter) *tally {
	t := &tally{adapters: adapters, counts: make([]counts, len(adapters))}
	for i := range t.counts {
		t.counts[i].rejected, t.counts[i].validReasons = map[string]int{}, map[string]int{}
	}
	return t
}

func (t *tally) add(r result) {
	t.requests++
	t.last, t.elapsed = r, r.at
	if r.rotated {
		t.rotations++
	}
	if r.kind.probe {
		t.probes++
	}
	if !r.agreed() {
		t.disagreements++
		if len(t.examples) < keptExamples {
			t.examples = append(t.examples, r)
		}
	}
	for i, v := range r.verdicts {
		c := &t.counts[i]
		switch {
		case v == accepted:
			c.accepted++
			if !r.kind.accept {
				c.hostileAccepted++
			}
		case isReason(v):
			c.rejected[v]++
			if r.kind.accept {
				c.validRejected++
				c.validReasons[v]++
			}
		default:
			c.broken++
		}
	}
}

func isReason(v string) bool {
	return slices.ContainsFunc(core.Reasons(), func(i core.ReasonInfo) bool { return string(i.Reason) == v })
}

// ok is the verdict on the run: every adapter gave the same verdict on
// every request, accepted every valid token and refused every other.
func (t *tally) ok() bool {
	if t.requests == 0 || t.disagreements > 0 {
		return false
	}
	if t.metrics != nil && len(t.metrics.disagreements(t.counts[t.metrics.adapter])) > 0 {
		return false
	}
	for _, c := range t.counts {
		if c.validRejected > 0 || c.hostileAccepted > 0 || c.broken > 0 {
			return false
		}
	}
	return true
}

// exitCode is the demo's exit status for the run.
func (t *tally) exitCode() int {
	if t.ok() {
		return 0
	}
	return 1
}

// draw writes the table: a column per adapter, a row per outcome.
func (t *tally) draw(w io.Writer, pl plan) {
	row := func(label string, cell func(i int) string) {
		fmt.Fprintf(w, "%-28s", label)
		for i := range t.adapters {
			fmt.Fprintf(w, "%10s", cell(i))
		}
		fmt.Fprintln(w)
	}
	num := func(f func(c counts) int) func(int) string {
		return func(i int) string { return fmt.Sprint(f(t.counts[i])) }
	}
	fmt.Fprintf(w, "%s of %s · signing key %s · rotations %d (every %s) · requests to each adapter %d\n\n",
		t.elapsed.Truncate(100*time.Millisecond), pl.duration, shortKID(t.last.kid), t.rotations, pl.rotateEvery, t.requests)
	row("", func(i int) string { return t.adapters[i].name })
	row("accepted", num(func(c counts) int { return c.accepted }))
	// Reasons in the order of core's table, then anything else seen.
	label := "rejected"
	for _, info := range core.Reasons() {
		r := string(info.Reason)
		if !slices.ContainsFunc(t.counts, func(c counts) bool { return c.rejected[r] > 0 }) {
			continue
		}
		row(fmt.Sprintf("%-9s %s", label, r), num(func(c counts) int { return c.rejected[r] }))
		label = ""
	}
	row("valid tokens rejected", num(func(c counts) int { return c.validRejected }))
	row("hostile tokens accepted", num(func(c counts) int { return c.hostileAccepted }))
	row("answers out of contract", num(func(c counts) int { return c.broken }))
	row("JWKS fetches", func(i int) string { return fmt.Sprint(t.adapters[i].fetches()) })
	fmt.Fprintf(w, "\nrequests the adapters disagreed on: %d\n", t.disagreements)
}

// summary writes the final table and what it means.
func (t *tally) summary(w io.Writer, pl plan) {
	t.draw(w, pl)
	fmt.Fprintf(w, "\nvalid tokens to /whoami and /admin, plus hostile ones: expired, a token for billing,\n"+
		"alg none, forged signature, a valid token lacking the admin scope, and %d unknown-kid\n"+
		"probes, sent only in the first half of each rotation period.\n\n", t.probes)
	if m := t.metrics; m != nil {
		m.show(w, t.adapters[m.adapter].name, t.counts[m.adapter])
	}
	for _, r := range t.examples {
		fmt.Fprintf(w, "disagreement at %s on %q (%s):\n", r.at.Truncate(time.Millisecond), r.kind.name, r.kind.route)
		for i, v := range r.verdicts {
			fmt.Fprintf(w, "  %-9s %s\n", t.adapters[i].name, v)
		}
	}
	if t.ok() {
		fmt.Fprintf(w, "PASS: the same verdict from all %d adapters on each of %d requests; every valid\n"+
			"token accepted across %d key rotations, every other one refused.\n", len(t.adapters), t.requests, t.rotations)
		return
	}
	var why []string
	if t.requests == 0 {
		why = append(why, "no request was sent")
	}
	if t.disagreements > 0 {
		why = append(why, fmt.Sprintf("the adapters disagreed on %d requests", t.disagreements))
	}
	if m := t.metrics; m != nil {
		if d := m.disagreements(t.counts[m.adapter]); len(d) > 0 {
			why = append(why, fmt.Sprintf("the %s service's /metrics disagree with its column", t.adapters[m.adapter].name))
		}
	}
	for i, c := range t.counts {
		name := t.adapters[i].name
		if c.validRejected > 0 {
			why = append(why, fmt.Sprintf("%s rejected %d valid tokens (%s)", name, c.validRejected, byReason(c.validReasons)))
		}
		if c.hostileAccepted > 0 {
			why = append(why, fmt.Sprintf("%s accepted %d hostile tokens", name, c.hostileAccepted))
		}
		if c.broken > 0 {
			why = append(why, fmt.Sprintf("%s gave %d answers out of contract", name, c.broken))
		}
	}
	fmt.Fprintf(w, "FAIL:\n  %s\n", strings.Join(why, "\n  "))
}

// byReason writes counts as "reason n, reason n" in a stable order.
func byReason(counts map[string]int) string {
	var parts []string
	for _, r := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s %d", r, counts[r]))
	}
	return strings.Join(parts, ", ")
}

// shortKID is the start of a kid, enough to see it change: the kids are
// RFC 7638 thumbprints, 43 characters that would wrap the line.
func shortKID(kid string) string {
	if len(kid) <= 12 {
		return kid
	}
	return kid[:12] + "…"
}

// screen redraws a block of text in place on a terminal.
type screen struct {
	w     io.Writer
	live  bool
	lines int // the height of the block on screen
}

func (s *screen) redraw(draw func(io.Writer)) {
	var b strings.Builder
	draw(&b)
	text := strings.TrimSuffix(b.String(), "\n")
	var out strings.Builder
	if s.lines > 0 {
		fmt.Fprintf(&out, "\x1b[%dF", s.lines) // to the start of the block
	}
	for _, line := range strings.Split(text, "\n") {
		out.WriteString(line + "\x1b[K\n") // each line clears what it does not cover
	}
	out.WriteString("\x1b[J") // and anything left below
	io.WriteString(s.w, out.String())
	s.lines = strings.Count(text, "\n") + 1
}

// clear removes the block, so that the summary takes its place.
func (s *screen) clear() {
	if s.live && s.lines > 0 {
		fmt.Fprintf(s.w, "\x1b[%dF\x1b[J", s.lines)
		s.lines = 0
	}
}
