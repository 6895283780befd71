package core

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
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
// types and unsafe settings are all reported, each a [*ConfigError] with its
// key and line (errors.As finds the first; the error's Unwrap() []error
// lists them all).
func ParseBaseline(data []byte) (Config, error) {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.validate(); err != nil {
		var errs configErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				e.Line = p.lineOf(e.Key)
			}
		}
		return Config{}, err
	}
	return cfg, nil
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
// lines, without stopping at the first class of problem.
func LintBaseline(data []byte) Lint {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		var errs configErrors
		if errors.As(err, &errs) {
			return Lint{Errors: errs}
		}
		return Lint{Errors: []*ConfigError{{Key: "(file)", Msg: err.Error()}}}
	}
	var l Lint
	if err := cfg.validate(); err != nil {
		var errs configErrors
		errors.As(err, &errs)
		l.Errors = errs
	} else {
		l.Config = cfg.normalize()
	}
	l.Warnings = cfg.warnings()
	for _, e := range l.Errors {
		e.Line = p.lineOf(e.Key)
	}
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
			for _, ce := range err.(configErrors) {
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
	if len(p.errs) > 0 {
		return cfg, p, p.errs
	}
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
			p.fail(key, k, "unknown key")
			continue
		}
		fn(key, v)
	}
}

func (p *baselineParser) config(n *yaml.Node, c *Config) {
	p.fields("", n, map[string]func(string, *yaml.Node){
		keyIssuers:              p.issuers(&c.Issuers),
		keyAudiences:            p.strings(&c.Audiences),
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
				keyIssuer:   p.string(&is.Issuer),
				keyJWKSURL:  p.string(&is.JWKSURL),
				keyJWKSFile: p.string(&is.JWKSFile),
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
