package core

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// An estate file holds the policy every service shares at its top level and,
// under services, what is each service's own: its audiences (a token minted
// for one service must not pass at another, RFC 9068 section 4), optionally
// the claim they are read from and its token sources, and its managed
// deviations from the shared policy.
type estate struct {
	names   []string // in file order
	entries map[string]*serviceEntry
	lines   map[string]int // the parser's key lines, never written after parsing
}

type serviceEntry struct {
	audiences            []string
	audienceClaim        string // "": the shared policy's
	sources              TokenSourcesConfig
	sharedAudienceReason string
	deviations           []Deviation
	apply                []func(*Config) // one per deviation
}

// deviable is every key a service may deviate on, with how to parse its
// value into a scratch Config and how to copy it from there. Issuers, the
// insecure opt-outs and the service's own keys are not among them: a
// deviation adjusts the shared policy, it never opens what it forbids.
func deviable(p *baselineParser, key string, scratch *Config) (set func(string, *yaml.Node), apply func(*Config), ok bool) {
	switch key {
	case keyLeeway:
		return p.duration(&scratch.Leeway), func(c *Config) { c.Leeway = scratch.Leeway }, true
	case keyAlgorithms:
		return p.strings(&scratch.Algorithms), func(c *Config) { c.Algorithms = scratch.Algorithms }, true
	case keyRequiredClaims:
		return p.strings(&scratch.RequiredClaims), func(c *Config) { c.RequiredClaims = scratch.RequiredClaims }, true
	case keyTokenTypes:
		return p.strings(&scratch.TokenTypes), func(c *Config) { c.TokenTypes = scratch.TokenTypes }, true
	case keyMaxTokenBytes:
		return p.int(&scratch.MaxTokenBytes), func(c *Config) { c.MaxTokenBytes = scratch.MaxTokenBytes }, true
	case sub(keyJWKS, keyRefreshInterval):
		return p.duration(&scratch.JWKS.RefreshInterval), func(c *Config) { c.JWKS.RefreshInterval = scratch.JWKS.RefreshInterval }, true
	case sub(keyJWKS, keyUnknownKIDInterval):
		return p.duration(&scratch.JWKS.UnknownKIDInterval), func(c *Config) { c.JWKS.UnknownKIDInterval = scratch.JWKS.UnknownKIDInterval }, true
	case sub(keyJWKS, keyMaxStale):
		return p.duration(&scratch.JWKS.MaxStale), func(c *Config) { c.JWKS.MaxStale = scratch.JWKS.MaxStale }, true
	case sub(keyJWKS, keyHTTPTimeout):
		return p.duration(&scratch.JWKS.HTTPTimeout), func(c *Config) { c.JWKS.HTTPTimeout = scratch.JWKS.HTTPTimeout }, true
	case sub(keyJWKS, keyConvergenceWindow):
		return p.duration(&scratch.JWKS.ConvergenceWindow), func(c *Config) { c.JWKS.ConvergenceWindow = scratch.JWKS.ConvergenceWindow }, true
	case sub(keyCache, keyMaxTTL):
		return p.duration(&scratch.Cache.MaxTTL), func(c *Config) { c.Cache.MaxTTL = scratch.Cache.MaxTTL }, true
	case sub(keyCache, keyMaxEntries):
		return func(k string, n *yaml.Node) {
			var v int
			p.int(&v)(k, n)
			scratch.Cache.MaxEntries = &v
		}, func(c *Config) { c.Cache.MaxEntries = scratch.Cache.MaxEntries }, true
	}
	return nil, nil, false
}

// services parses the services section.
func (p *baselineParser) services(dst **estate) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode || len(n.Content) == 0 {
			p.fail(key, n, "must be a mapping of service names to their entries")
			return
		}
		e := &estate{entries: map[string]*serviceEntry{}, lines: p.lines}
		set := map[string]func(string, *yaml.Node){}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			if name == "" || strings.ContainsAny(name, ".[] ") {
				p.fail(sub(key, name), n.Content[i], "a service name is a non-empty word without dots, brackets or spaces")
				continue
			}
			entry := &serviceEntry{}
			e.names = append(e.names, name)
			e.entries[name] = entry
			set[name] = p.service(entry)
		}
		p.fields(key, n, set)
		*dst = e
	}
}

func (p *baselineParser) service(s *serviceEntry) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		p.fields(key, n, map[string]func(string, *yaml.Node){
			keyAudiences:     p.strings(&s.audiences),
			keyAudienceClaim: p.string(&s.audienceClaim),
			keyTokenSources: func(key string, v *yaml.Node) {
				p.fields(key, v, map[string]func(string, *yaml.Node){
					keyCookie: p.string(&s.sources.Cookie),
					keyQuery:  p.string(&s.sources.Query),
				})
			},
			keySharedAudienceReason: p.string(&s.sharedAudienceReason),
			keyDeviations:           p.deviations(s),
		})
	}
}

// deviations parses `deviations: {KEY: {value, reason, expires}}`. Each
// needs a reason and an expiry date, so an exception is decided, explained
// and revisited rather than left in a local copy of the file.
func (p *baselineParser) deviations(s *serviceEntry) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if n.Kind != yaml.MappingNode {
			p.fail(key, n, "must be a mapping of baseline keys to {value, reason, expires}")
			return
		}
		set := map[string]func(string, *yaml.Node){}
		for i := 0; i+1 < len(n.Content); i += 2 {
			name := n.Content[i].Value
			scratch := &Config{}
			setValue, apply, ok := deviable(p, name, scratch)
			if !ok {
				set[name] = func(k string, v *yaml.Node) {
					p.fail(k, n.Content[i], "%q cannot deviate: only leeway, algorithms, required_claims, token_types, "+
						"max_token_bytes, jwks.* and cache.* may (never issuers, the insecure flags or audiences)", name)
				}
				continue
			}
			set[name] = func(k string, v *yaml.Node) {
				d := Deviation{Key: name}
				var value *yaml.Node
				p.fields(k, v, map[string]func(string, *yaml.Node){
					keyValue: func(k string, v *yaml.Node) {
						value = v
						setValue(k, v)
					},
					keyReason: p.string(&d.Reason),
					keyExpires: func(k string, v *yaml.Node) {
						day, err := time.Parse(time.DateOnly, v.Value)
						if v.Kind != yaml.ScalarNode || err != nil {
							p.fail(k, v, "must be a date such as 2027-03-31, got %q", v.Value)
							return
						}
						d.Expires = day.Add(24 * time.Hour) // the whole of the last day
					},
				})
				switch {
				case value == nil:
					p.fail(k, v, "needs a value")
				case d.Reason == "":
					p.fail(k, v, "needs a reason: a deviation says why it exists")
				case d.Expires.IsZero():
					p.fail(k, v, "needs an expires date: a deviation is revisited, not kept forever")
				default:
					d.Value = describe(value)
					s.deviations = append(s.deviations, d)
					s.apply = append(s.apply, apply)
				}
			}
		}
		p.fields(key, n, set)
	}
}

// describe renders a YAML value on one line, for logs and lint.
func describe(n *yaml.Node) string {
	if n.Kind == yaml.ScalarNode {
		return n.Value
	}
	var parts []string
	for _, c := range n.Content {
		parts = append(parts, describe(c))
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// check reports what is wrong with the estate as a whole: audiences at the
// top, and two services that accept the same audience.
func (e *estate) check(top Config) configErrors {
	var errs configErrors
	if len(top.Audiences) > 0 {
		errs = append(errs, &ConfigError{Key: keyAudiences, Msg: "with a services section, audiences belong to each service"})
	}
	owner := map[string]string{}
	for _, name := range e.names {
		s := e.entries[name]
		for _, a := range s.audiences {
			first, taken := owner[a]
			if !taken {
				owner[a] = name
				continue
			}
			// RFC 9068 section 4: the audience is how a service refuses a
			// token minted for another; two services on one audience accept
			// each other's tokens.
			if s.sharedAudienceReason == "" || e.entries[first].sharedAudienceReason == "" {
				errs = append(errs, &ConfigError{Key: sub(sub(keyServices, name), keyAudiences), Msg: fmt.Sprintf(
					"%q is also an audience of service %s: a token for one would pass at the other "+
						"(write %s on both entries to allow it)", a, first, keySharedAudienceReason)})
			}
		}
	}
	return errs
}

// ForService selects the entry of an estate file's services section: the
// shared policy with that service's audiences, audience claim, token sources and managed
// deviations applied, validated as a whole. An expired deviation is
// refused. A baseline without a services section is returned as it is, so
// single-service files and the -service flag work together.
func (c Config) ForService(name string) (Config, error) {
	if c.estate == nil {
		if name != "" {
			c.Service = name
		}
		return c, nil
	}
	e := c.estate
	s := e.entries[name]
	if s == nil {
		what := fmt.Sprintf("no service %q", name)
		if name == "" {
			what = "no service selected"
		}
		return Config{}, configErrors{{Key: keyServices, Line: e.lines[keyServices],
			Msg: fmt.Sprintf("%s: the baseline lists %s", what, strings.Join(e.names, ", "))}}
	}
	shared := c.clone()
	shared.estate = nil
	eff := shared.clone()
	eff.Audiences, eff.TokenSources = slices.Clone(s.audiences), s.sources
	if s.audienceClaim != "" {
		eff.AudienceClaim = s.audienceClaim
	}
	for _, apply := range s.apply {
		apply(&eff)
	}
	eff.Service, eff.Deviations, eff.shared = name, slices.Clone(s.deviations), &shared

	prefix := sub(keyServices, name)
	var errs configErrors
	if err := eff.validate(); err != nil {
		for _, ce := range err.(configErrors) {
			key := ce.Key
			switch {
			case key == keyAudiences || strings.HasPrefix(key, keyTokenSources),
				key == keyAudienceClaim && s.audienceClaim != "":
				key = sub(prefix, key)
			case slices.ContainsFunc(s.deviations, func(d Deviation) bool { return d.Key == ce.Key }):
				key = sub(sub(prefix, keyDeviations), key)
			}
			errs = append(errs, &ConfigError{Key: key, Msg: ce.Msg})
		}
	}
	now := time.Now()
	for _, d := range s.deviations {
		if !now.Before(d.Expires) {
			errs = append(errs, &ConfigError{Key: sub(sub(prefix, keyDeviations), d.Key),
				Msg: fmt.Sprintf("expired on %s: renew it with a new reason, or remove it", d.Expires.Add(-time.Hour).Format(time.DateOnly))})
		}
	}
	if len(errs) > 0 {
		for _, ce := range errs {
			ce.Line = lineIn(e.lines, ce.Key)
		}
		return Config{}, errs
	}
	return eff, nil
}

// SharedFingerprint is the fingerprint of the policy every service of an
// estate shares: its own audiences, token sources and deviations left out.
// It is the same for every service of one estate file, while [Config.Fingerprint]
// tells each service's effective baseline apart.
func (c Config) SharedFingerprint() string {
	s := c
	if c.shared != nil {
		s = *c.shared
	}
	s.Audiences, s.TokenSources = nil, TokenSourcesConfig{}
	return s.Fingerprint()
}

// deviationWarnings lists every deviation of every service with the time it
// has left, for lint.
func (e *estate) deviationWarnings(now time.Time) []Warning {
	var w []Warning
	for _, name := range e.names {
		for _, d := range e.entries[name].deviations {
			left := d.Expires.Sub(now)
			if left <= 0 {
				continue // an error, reported by ForService
			}
			w = append(w, Warning{Key: sub(sub(sub(keyServices, name), keyDeviations), d.Key),
				Msg: fmt.Sprintf("deviates to %s until %s (%d days left): %s", d.Value,
					d.Expires.Add(-time.Hour).Format(time.DateOnly), int(left.Hours()/24), d.Reason)})
		}
	}
	return w
}
