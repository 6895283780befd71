package main

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The rows every ratio is taken against.
const (
	verifyBase  = "jwtguard-uncached"
	requestBase = "nethttp/jwtguard-uncached"
)

const (
	verifyPrefix  = "BenchmarkPeerVerify/"
	requestPrefix = "BenchmarkPeerRequest/"
)

// machine describes where and how the benchmarks ran.
type machine struct {
	cpu, goVersion        string
	cores                 int
	loadBefore, loadAfter string // one-minute load averages, "" when unknown
	benchtime, date       string
}

func render(w io.Writer, res *results, m machine) {
	p := func(format string, args ...any) { fmt.Fprintf(w, format, args...) }
	runs := res.runs()
	p("# jwtguard and its peers, side by side\n\n")
	p("Reproduce from the `bench` directory (the fairness tests TestPeersAgree and TestPeerMiddlewaresAgree run first, and no table is written unless every contender agrees):\n\n")
	p("```\ngo run ./cmd/table -count %d -benchtime %s -o RESULTS.md\n```\n\n", runs, m.benchtime)

	p("Machine: %s, %d logical CPUs, %s %s/%s", cmp.Or(m.cpu, res.cpu, "unknown CPU"), m.cores, m.goVersion, res.goos, res.goarch)
	if m.date != "" {
		p(", run on %s", m.date)
	}
	p(". Each figure is the median of %d rounds; a round runs every benchmark once for `-benchtime %s`, so load that changes during the run falls on every contender alike.\n\n", runs, m.benchtime)
	p("%s\n\n", loadCaveat(m))

	p(`## What is compared

Every contender verifies the same tokens, signed at run time with the same
keys (RSA 2048, P-256, Ed25519), and enforces the same checks: issuer,
audience, one allowed algorithm, exp present and not passed. TestPeersAgree
proves it: each accepts the good token and rejects a wrong audience, a wrong
issuer, an expired token, a token without exp, alg "none" and a tampered
payload. Each is set up the way its documentation gives for these checks:

- jwtguard: a baseline with the issuer's key, the audience and the
  algorithm; ` + "`-cached`" + ` is the default configuration, ` + "`-uncached`" + ` sets
  ` + "`cache.max_entries: 0`" + `. Every cached call after the first is a hit.
- golang-jwt v5: ` + "`jwt.Parse`" + ` with WithValidMethods, WithIssuer, WithAudience and
  WithExpirationRequired.
- auth0 (go-jwt-middleware v2): ` + "`validator.New`" + ` with issuer, audience and
  algorithm; exp is required through its custom claims hook, since the
  validator checks exp only when present.
- echo-jwt and fiber-jwt (gofiber/contrib jwt): the key and algorithm in
  their config, and a claims type whose Validate checks issuer, audience and
  exp, as neither passes parser options to golang-jwt. Neither has a verify
  function of its own, so their per-verification row calls the middleware on
  a reused framework context: it includes reading the Authorization header,
  but no routing.
- jwx v3: ` + "`jwt.Parse`" + ` with WithKey, WithIssuer, WithAudience and
  WithRequiredClaim("exp").
- go-oidc v3: ` + "`oidc.NewVerifier`" + ` with a StaticKeySet and Config{ClientID,
  SupportedSigningAlgs}; it always requires exp.

`)

	p("## Per verification\n\n")
	p("Time is the ratio to `%s` for the same algorithm, the median of the ratios of each round: below 1 is faster.\n\n", verifyBase)
	for _, alg := range groups(res.names, verifyPrefix, func(contender, alg string) string { return alg }) {
		p("### %s\n\n", alg)
		p("| contender | time vs %s | ns/op | B/op | allocs/op |\n|---|--:|--:|--:|--:|\n", verifyBase)
		for _, name := range res.names {
			contender, a, ok := split(name, verifyPrefix)
			if !ok || a != alg {
				continue
			}
			s, _ := res.median(name)
			p("| %s | %s | %s | %s | %s |\n", contender, res.ratio(name, verifyPrefix+verifyBase+"/"+alg), num(s.ns), num(s.bytes), num(s.allocs))
		}
		p("\n")
	}

	p("## Per HTTP request\n\n")
	p("One GET /orders carrying the good RS256 token, served by the framework's router in process (no network), with each JWT middleware and with none. ")
	p("Time is the ratio to `%s` (median of the ratios of each round); \"added\" is the median time over the same framework's route with no middleware.\n\n", requestBase)
	p("| framework | middleware | time vs %s | added ns/op | ns/op | B/op | allocs/op |\n|---|---|--:|--:|--:|--:|--:|\n", requestBase)
	for _, name := range res.names {
		framework, middleware, ok := split(name, requestPrefix)
		if !ok {
			continue
		}
		s, _ := res.median(name)
		added := "–"
		if bare, ok := res.median(requestPrefix + framework + "/none"); ok && middleware != "none" {
			added = num(s.ns - bare.ns)
		}
		p("| %s | %s | %s | %s | %s | %s | %s |\n", framework, middleware, res.ratio(name, requestPrefix+requestBase), added, num(s.ns), num(s.bytes), num(s.allocs))
	}
	if missing := missingAdapters(res.names); len(missing) > 0 {
		p("\nNot measured yet: jwtguard's %s (no such adapter module in this tree).\n", strings.Join(missing, ", "))
	}
}

func loadCaveat(m machine) string {
	if m.loadBefore == "" || m.loadAfter == "" {
		return "**Load:** unknown for this run. Times from a shared machine can be off by 10% or more; B/op and allocs/op do not depend on load."
	}
	before, _ := strconv.ParseFloat(m.loadBefore, 64)
	after, _ := strconv.ParseFloat(m.loadAfter, 64)
	msg := fmt.Sprintf("**Load:** one-minute load average %s before the run and %s after, on %d logical CPUs.", m.loadBefore, m.loadAfter, m.cores)
	if max(before, after) >= float64(m.cores)/2 {
		msg += " Other work was running on this machine during the benchmarks, so times and ratios can be off by 10% or more:" +
			" re-run on an idle machine before relying on a small difference. B/op and allocs/op do not depend on load."
	}
	return msg
}

// split cuts a benchmark name into its two levels below prefix.
func split(name, prefix string) (first, second string, ok bool) {
	rest, ok := strings.CutPrefix(name, prefix)
	if !ok {
		return "", "", false
	}
	return strings.Cut(rest, "/")
}

// groups lists, in first-seen order, the keys of the names under prefix.
func groups(names []string, prefix string, key func(first, second string) string) []string {
	var out []string
	for _, name := range names {
		if a, b, ok := split(name, prefix); ok && !slices.Contains(out, key(a, b)) {
			out = append(out, key(a, b))
		}
	}
	return out
}

// missingAdapters names the jwtguard adapters of the frameworks that have
// request rows but no jwtguard row.
func missingAdapters(names []string) []string {
	var missing []string
	for _, framework := range groups(names, requestPrefix, func(f, _ string) string { return f }) {
		has := slices.ContainsFunc(names, func(n string) bool {
			f, mw, ok := split(n, requestPrefix)
			return ok && f == framework && strings.HasPrefix(mw, "jwtguard")
		})
		if !has {
			missing = append(missing, framework+"jwt")
		}
	}
	return missing
}

// ratio is the median over rounds of name's time divided by base's time in
// the same round, which load drifting from one round to the next does not
// skew as much as a ratio of medians.
func (r *results) ratio(name, base string) string {
	ss, bs := r.samples[name], r.samples[base]
	var ratios []float64
	for i := range min(len(ss), len(bs)) {
		if bs[i].ns > 0 {
			ratios = append(ratios, ss[i].ns/bs[i].ns)
		}
	}
	if len(ratios) == 0 {
		return "–"
	}
	v := median(ratios)
	if v < 0.1 {
		return fmt.Sprintf("%.3fx", v)
	}
	return fmt.Sprintf("%.2fx", v)
}

// num prints a measure with thousands separators, and one decimal below 10.
func num(v float64) string {
	if math.Abs(v) < 10 && v != math.Trunc(v) {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	digits := strconv.FormatFloat(math.Abs(math.Round(v)), 'f', 0, 64)
	var b strings.Builder
	if v < 0 && digits != "0" {
		b.WriteByte('-')
	}
	for i, d := range digits {
		if i > 0 && (len(digits)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}
