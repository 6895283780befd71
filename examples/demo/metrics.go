package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scraped is what the demo read from one service's /metrics after the
// traffic, to show that its counters agree with the demo's own table.
type scraped struct {
	adapter  int            // the service's column in the table
	lines    []string       // the samples shown
	verdicts map[string]int // jwtguard_verdicts_total by reason, over issuers
	err      error
}

// shownMetrics are the families whose samples the summary prints.
var shownMetrics = []string{"jwtguard_verdicts_total", "jwtguard_jwks_fetches_total",
	"jwtguard_token_cache_hits_total", "jwtguard_token_cache_misses_total", "jwtguard_baseline_info"}

// scrapeMetrics reads the /metrics of adapters[i].
func scrapeMetrics(adapters []*adapter, i int) scraped {
	s := scraped{adapter: i, verdicts: map[string]int{}}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, adapters[i].base+"/metrics", nil)
	if err != nil {
		s.err = err
		return s
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.err = err
		return s
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		s.err = fmt.Errorf("GET /metrics: %s", resp.Status)
		io.Copy(io.Discard, resp.Body)
		return s
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !slices.ContainsFunc(shownMetrics, func(m string) bool {
			return strings.HasPrefix(line, m+"{") || strings.HasPrefix(line, m+" ")
		}) {
			continue
		}
		s.lines = append(s.lines, line)
		if rest, ok := strings.CutPrefix(line, "jwtguard_verdicts_total{"); ok {
			reason := label(rest, "reason")
			n, err := strconv.Atoi(line[strings.LastIndexByte(line, ' ')+1:])
			if err != nil {
				s.err = fmt.Errorf("sample %q: %v", line, err)
				return s
			}
			s.verdicts[reason] += n
		}
	}
	s.err = sc.Err()
	return s
}

// label returns the value of name in the label set that starts labels.
func label(labels, name string) string {
	_, v, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ = strings.Cut(v, `"`)
	return v
}

// disagreements compares the scraped verdicts with c, the service's column
// of the table. The table has one verdict per request; the verifier
// reports the token's verdict and then, for a request a scope check
// refused, the refusal too: its accepted count is the table's accepted and
// insufficient_scope together.
func (s scraped) disagreements(c counts) []string {
	if s.err != nil {
		return []string{s.err.Error()}
	}
	var out []string
	reasons := map[string]bool{}
	for r := range s.verdicts {
		reasons[r] = true
	}
	for r := range c.rejected {
		reasons[r] = true
	}
	for _, r := range slices.Sorted(maps.Keys(reasons)) {
		if r == accepted {
			continue
		}
		if s.verdicts[r] != c.rejected[r] {
			out = append(out, fmt.Sprintf("%s: /metrics %d, table %d", r, s.verdicts[r], c.rejected[r]))
		}
	}
	if want := c.accepted + c.rejected["insufficient_scope"]; s.verdicts[accepted] != want {
		out = append(out, fmt.Sprintf("accepted: /metrics %d, table %d accepted + %d insufficient_scope",
			s.verdicts[accepted], c.accepted, c.rejected["insufficient_scope"]))
	}
	return out
}

// show writes the scraped samples and whether they agree with c.
func (s scraped) show(w io.Writer, name string, c counts) {
	fmt.Fprintf(w, "GET /metrics of the %s service after the traffic:\n", name)
	for _, l := range s.lines {
		fmt.Fprintf(w, "  %s\n", l)
	}
	if d := s.disagreements(c); len(d) > 0 {
		fmt.Fprintf(w, "its counters disagree with its column: %s\n\n", strings.Join(d, "; "))
		return
	}
	fmt.Fprintf(w, "Its counters agree with its column: each rejection reason alike, and accepted\n"+
		"%d = %d accepted + %d insufficient_scope (those tokens verified before the scope check refused them).\n\n",
		s.verdicts[accepted], c.accepted, c.rejected["insufficient_scope"])
}
