package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// maxBaselineBytes keeps a mistaken path (a log file, a binary) from being
// read whole.
const maxBaselineBytes = 1 << 20

// LoadBaseline reads and validates a baseline file. Every service loads the
// same file, so every service verifies alike.
func LoadBaseline(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("baseline: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxBaselineBytes+1))
	if err != nil {
		return Config{}, fmt.Errorf("baseline: %s: %w", path, err)
	}
	if len(data) > maxBaselineBytes {
		return Config{}, fmt.Errorf("baseline: %s: larger than %d bytes", path, maxBaselineBytes)
	}
	return ParseBaseline(data)
}

// ParseBaseline parses a YAML baseline and validates it. Unknown keys, wrong
// types and unsafe settings are all reported in one error, each a
// [*ConfigError] with its key and line (errors.As finds the first; the
// error's Unwrap() []error lists them all): a typo does not hide the
// problems behind it.
func ParseBaseline(data []byte) (Config, error) {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		return Config{}, err
	}
	errs := p.errs
	if err := cfg.validate(); err != nil {
		errs = append(errs, p.uncovered(err)...)
	}
	if len(errs) > 0 {
		return Config{}, errs
	}
	return cfg, nil
}

// uncovered are the problems validation found that a parse error does not
// already explain (a key whose value was refused is not also "missing"),
// each with its line.
func (p *baselineParser) uncovered(err error) configErrors {
	var found configErrors
	errors.As(err, &found)
	var out configErrors
	for _, e := range found {
		explained := false
		for _, pe := range p.errs {
			if pe.Key == e.Key || strings.HasPrefix(e.Key, pe.Key+".") || strings.HasPrefix(e.Key, pe.Key+"[") {
				explained = true
				break
			}
		}
		if !explained {
			if e.Line == 0 {
				e.Line = p.lineOf(e.Key)
			}
			out = append(out, e)
		}
	}
	return out
}

// ConfigErrors lists the problems in err, each with its key and line: every
// one [ParseBaseline] or [LoadBaseline] found, so that a service or a
// reload can log one line per problem. It is nil when err holds none (a
// file that cannot be read).
func ConfigErrors(err error) []*ConfigError {
	var all configErrors
	if errors.As(err, &all) {
		return slices.Clone(all)
	}
	var one *ConfigError
	if errors.As(err, &one) {
		return []*ConfigError{one}
	}
	return nil
}

// Lint is what [LintBaseline] found in a baseline file.
type Lint struct {
	// Errors would stop a service from starting.
	Errors []*ConfigError
	// Warnings are legal but risky settings.
	Warnings []Warning
	// Config is the baseline as parsed, with defaults filled in; valid
	// only when Errors is empty. For an estate file it is the shared
	// policy.
	Config Config
	// Services are the effective baselines of an estate file's services
	// that start cleanly, in file order, each with its Deviations.
	Services []Config
}

// LintBaseline parses data and returns every error and every warning, with
// lines, in one run: an unknown key or a value of the wrong type is
// reported with everything else, not instead of it. Only a file that is
// not a YAML mapping stops it at once.
func LintBaseline(data []byte) Lint {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		var errs configErrors
		if errors.As(err, &errs) {
			return Lint{Errors: errs}
		}
		return Lint{Errors: []*ConfigError{{Key: "(file)", Msg: err.Error()}}}
	}
	l := Lint{Errors: slices.Clone(p.errs)}
	if err := cfg.validate(); err != nil {
		l.Errors = append(l.Errors, p.uncovered(err)...)
	} else if len(l.Errors) == 0 {
		l.Config = cfg.normalize()
	}
	l.Warnings = cfg.warnings()
	if e := cfg.estate; e != nil {
		// Every service as it would start, each problem once.
		seen := map[string]bool{}
		for _, ce := range l.Errors {
			seen[ce.Key+ce.Msg] = true
		}
		for _, name := range e.names {
			svc, err := cfg.ForService(name)
			if err == nil {
				l.Services = append(l.Services, svc.normalize())
				continue
			}
			for _, ce := range p.uncovered(err) {
				if !seen[ce.Key+ce.Msg] {
					seen[ce.Key+ce.Msg] = true
					l.Errors = append(l.Errors, ce)
				}
			}
		}
		l.Warnings = append(l.Warnings, e.deviationWarnings(time.Now())...)
	}
	for i := range l.Warnings {
		l.Warnings[i].Line = p.lineOf(l.Warnings[i].Key)
	}
	return l
}

// parseBaseline walks data into a Config. Its error is for a file that
// cannot be walked at all; the problems of single keys are in p.errs, and
// the Config holds every key that parsed.
func parseBaseline(data []byte) (Config, *baselineParser, error) {
	var cfg Config
	p := &baselineParser{lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, p, configErrors{{Key: "(file)", Msg: "the baseline is empty"}}
		}
		return cfg, p, configErrors{{Key: "(file)", Msg: "not valid YAML: " + err.Error()}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, p, configErrors{{Key: "(file)", Line: extra.Line, Msg: "holds more than one YAML document"}}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return cfg, p, configErrors{{Key: "(file)", Line: doc.Line, Msg: "the top level must be a mapping of keys"}}
	}
	p.config(doc.Content[0], &cfg)
	return cfg, p, nil
}

type baselineParser struct {
	errs  configErrors
	lines map[string]int
}

func (p *baselineParser) lineOf(key string) int { return lineIn(p.lines, key) }

// lineIn is the line of key, or of the nearest enclosing key that has one.
func lineIn(lines map[string]int, key string) int {
	for k := key; k != ""; {
		if l, ok := lines[k]; ok {
			return l
		}
		// Fall back to the enclosing key: "issuers[0].jwks_url" -> "issuers[0]".
		i := len(k) - 1
		for i >= 0 && k[i] != '.' && k[i] != '[' {
			i--
		}
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return 0
}

func (p *baselineParser) fail(key string, n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, &ConfigError{Key: key, Line: n.Line, Msg: fmt.Sprintf(format, args...)})
}

// fields walks a mapping, records each key's line, and hands each value to
// its setter; a key without a setter is an error, so a typo never silently
// drops a setting.
func (p *baselineParser) fields(prefix string, n *yaml.Node, set map[string]func(key string, v *yaml.Node)) {
	if n.Kind != yaml.MappingNode {
		p.fail(prefix, n, "must be a mapping")
		return
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if prefix != "" {
			key = prefix + "." + k.Value
		}
		p.lines[key] = k.Line
		if seen[k.Value] {
			p.fail(key, k, "is set twice")
			continue
		}
		seen[k.Value] = true
		fn, ok := set[k.Value]
		if !ok {
			if near := nearestKey(k.Value, set); near != "" {
				p.fail(key, k, "unknown key (did you mean %q?)", near)
			} else {
				p.fail(key, k, "unknown key")
			}
			continue
		}
		fn(key, v)
	}
}

// nearestKey is the known key at a level that an unknown one most likely
// misspells: the nearest by edit distance (a transposition counts as one
// edit, so "lewey" finds "leeway"), within about a third of its length,
// or one it abbreviates ("refresh" for "refresh_interval"); of two as
// near, the fewer edits away. "" when none is near.
func nearestKey[F any](unknown string, known map[string]F) string {
	best, bestDist, bestEdits := "", max(2, len(unknown)/3)+1, 0
	for _, k := range sortedKeys(known) {
		edits := editDistance(unknown, k)
		d := edits
		if len(unknown) >= 3 && strings.HasPrefix(k, unknown) {
			d = min(d, 1)
		}
		// Between two as near, the one fewer edits away: "audience" is
		// "audiences" misspelt more likely than "audience_claim" cut short.
		if d < bestDist || d == bestDist && best != "" && edits < bestEdits {
			best, bestDist, bestEdits = k, d, edits
		}
	}
	return best
}

// editDistance is the optimal string alignment distance of a and b:
// insertions, deletions, substitutions and transpositions of adjacent
// bytes. Baseline keys are short ASCII words, so a table of ints is
// cheap; the root module takes no dependency for it.
func editDistance(a, b string) int {
	prev2 := make([]int, len(b)+1)
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}

func (p *baselineParser) config(n *yaml.Node, c *Config) {
	p.fields("", n, map[string]func(string, *yaml.Node){
		keyIssuers:              p.issuers(&c.Issuers),
		keyAudiences:            p.strings(&c.Audiences),
		keyAudienceClaim:        p.string(&c.AudienceClaim),
		keyAlgorithms:           p.strings(&c.Algorithms),
		keyLeeway:               p.duration(&c.Leeway),
		keyRequiredClaims:       p.strings(&c.RequiredClaims),
		keyTokenTypes:           p.strings(&c.TokenTypes),
		keyRefuseIDTokens:       p.bool(&c.RefuseIDTokens),
		keyMaxTokenBytes:        p.int(&c.MaxTokenBytes),
		keyInsecureSkipAudience: p.bool(&c.InsecureSkipAudience),
		keyInsecureHTTPJWKS:     p.bool(&c.InsecureHTTPJWKS),
		keyServices:             p.services(&c.estate),
		keyJWKS: func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				keyRefreshInterval:    p.duration(&c.JWKS.RefreshInterval),
				keyUnknownKIDInterval: p.duration(&c.JWKS.UnknownKIDInterval),
				keyMaxStale:           p.duration(&c.JWKS.MaxStale),
				keyHTTPTimeout:        p.duration(&c.JWKS.HTTPTimeout),
				keyConvergenceWindow:  p.duration(&c.JWKS.ConvergenceWindow),
			})
		},
		keyCache: func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				keyMaxEntries: func(key string, v *yaml.Node) {
					var n int
					p.int(&n)(key, v)
					c.Cache.MaxEntries = &n
				},
				keyMaxTTL: p.duration(&c.Cache.MaxTTL),
			})
		},
		keyTokenSources: func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				keyCookie: p.string(&c.TokenSources.Cookie),
				keyQuery:  p.string(&c.TokenSources.Query),
			})
		},
		keyLog: func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				keyRejectionsPerSecond: func(key string, v *yaml.Node) {
					var n int
					p.int(&n)(key, v)
					c.Log.RejectionsPerSecond = &n
				},
			})
		},
	})
}

func (p *baselineParser) issuers(dst *[]IssuerConfig) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if n.Kind != yaml.SequenceNode {
			p.fail(key, n, "must be a list of issuers")
			return
		}
		for i, item := range n.Content {
			var is IssuerConfig
			ikey := fmt.Sprintf("%s[%d]", key, i)
			p.lines[ikey] = item.Line
			p.fields(ikey, item, map[string]func(string, *yaml.Node){
				keyIssuer:       p.string(&is.Issuer),
				keyJWKSURL:      p.string(&is.JWKSURL),
				keyJWKSFile:     p.string(&is.JWKSFile),
				keyDiscovery:    p.discovery(&is.Discovery),
				keyDiscoveryURL: p.string(&is.DiscoveryURL),
				keyTenants:      p.strings(&is.Tenants),
				keyJWKSInline: func(key string, v *yaml.Node) {
					// Inline key sets may be written as a JSON string or as YAML.
					if v.Kind == yaml.ScalarNode {
						p.string(&is.JWKSInline)(key, v)
						return
					}
					var anyVal any
					if err := v.Decode(&anyVal); err != nil {
						p.fail(key, v, "%v", err)
						return
					}
					b, err := json.Marshal(anyVal)
					if err != nil {
						p.fail(key, v, "cannot be written as JSON: %v", err)
						return
					}
					is.JWKSInline = string(b)
				},
			})
			*dst = append(*dst, is)
		}
	}
}

// discovery reads the discovery key: true is the OpenID Connect document,
// false none, or the well-known name of the document to use.
func (p *baselineParser) discovery(dst *string) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		switch {
		case n.Kind == yaml.ScalarNode && n.Tag == "!!bool":
			*dst = ""
			if n.Value == "true" {
				*dst = DiscoveryOpenID
			}
		case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
			*dst = n.Value // validate names the document kinds
		default:
			p.fail(key, n, "must be true, false, %s or %s", DiscoveryOpenID, DiscoveryOAuth)
		}
	}
}

func (p *baselineParser) scalar(key string, n *yaml.Node, tag, want string) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != tag {
		p.fail(key, n, "must be %s", want)
		return false
	}
	return true
}

func (p *baselineParser) string(dst *string) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if p.scalar(key, n, "!!str", "a string") {
			*dst = n.Value
		}
	}
}

func (p *baselineParser) strings(dst *[]string) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if n.Kind != yaml.SequenceNode {
			p.fail(key, n, "must be a list of strings")
			return
		}
		for _, item := range n.Content {
			if p.scalar(key, item, "!!str", "a list of strings") {
				*dst = append(*dst, item.Value)
			}
		}
	}
}

func (p *baselineParser) bool(dst *bool) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if p.scalar(key, n, "!!bool", "true or false") {
			*dst = n.Value == "true"
		}
	}
}

func (p *baselineParser) int(dst *int) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if !p.scalar(key, n, "!!int", "a whole number") {
			return
		}
		v, err := strconv.ParseInt(n.Value, 0, 32)
		if err != nil {
			p.fail(key, n, "must be a whole number, got %q", n.Value)
			return
		}
		*dst = int(v)
	}
}

func (p *baselineParser) duration(dst *time.Duration) func(string, *yaml.Node) {
	return func(key string, n *yaml.Node) {
		if !p.scalar(key, n, "!!str", `a duration such as "30s"`) {
			return
		}
		d, err := time.ParseDuration(n.Value)
		if err != nil {
			p.fail(key, n, `must be a duration such as "30s", got %q`, n.Value)
			return
		}
		*dst = d
	}
}
