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
// types and unsafe settings are all reported, each with its key and line, as
// [ConfigErrors].
func ParseBaseline(data []byte) (Config, error) {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		var errs ConfigErrors
		if errors.As(err, &errs) {
			for _, e := range errs {
				e.Line = p.lineOf(e.Key)
			}
		}
		return Config{}, err
	}
	return cfg, nil
}

// LintBaseline parses data and returns every error and every warning, with
// lines, without stopping at the first class of problem.
func LintBaseline(data []byte) (problems, warnings []*ConfigError) {
	cfg, p, err := parseBaseline(data)
	if err != nil {
		var errs ConfigErrors
		if errors.As(err, &errs) {
			return errs, nil
		}
		return []*ConfigError{{Key: "(file)", Msg: err.Error()}}, nil
	}
	if err := cfg.Validate(); err != nil {
		var errs ConfigErrors
		errors.As(err, &errs)
		problems = errs
	}
	warnings = cfg.Warnings()
	for _, list := range [][]*ConfigError{problems, warnings} {
		for _, e := range list {
			e.Line = p.lineOf(e.Key)
		}
	}
	return problems, warnings
}

func parseBaseline(data []byte) (Config, *baselineParser, error) {
	var cfg Config
	p := &baselineParser{lines: map[string]int{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return cfg, p, ConfigErrors{{Key: "(file)", Msg: "the baseline is empty"}}
		}
		return cfg, p, ConfigErrors{{Key: "(file)", Msg: "not valid YAML: " + err.Error()}}
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return cfg, p, ConfigErrors{{Key: "(file)", Line: extra.Line, Msg: "holds more than one YAML document"}}
	}
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return cfg, p, ConfigErrors{{Key: "(file)", Line: doc.Line, Msg: "the top level must be a mapping of keys"}}
	}
	p.config(doc.Content[0], &cfg)
	if len(p.errs) > 0 {
		return cfg, p, p.errs
	}
	return cfg, p, nil
}

type baselineParser struct {
	errs  ConfigErrors
	lines map[string]int
}

func (p *baselineParser) lineOf(key string) int {
	for k := key; k != ""; {
		if l, ok := p.lines[k]; ok {
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
		"issuers":                p.issuers(&c.Issuers),
		"audiences":              p.strings(&c.Audiences),
		"algorithms":             p.strings(&c.Algorithms),
		"leeway":                 p.duration(&c.Leeway),
		"required_claims":        p.strings(&c.RequiredClaims),
		"token_types":            p.strings(&c.TokenTypes),
		"max_token_bytes":        p.int(&c.MaxTokenBytes),
		"insecure_skip_audience": p.bool(&c.InsecureSkipAudience),
		"insecure_http_jwks":     p.bool(&c.InsecureHTTPJWKS),
		"jwks": func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				"refresh_interval":     p.duration(&c.JWKS.RefreshInterval),
				"unknown_kid_interval": p.duration(&c.JWKS.UnknownKIDInterval),
				"max_stale":            p.duration(&c.JWKS.MaxStale),
				"http_timeout":         p.duration(&c.JWKS.HTTPTimeout),
			})
		},
		"cache": func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				"max_entries": func(key string, v *yaml.Node) {
					var n int
					p.int(&n)(key, v)
					c.Cache.MaxEntries = &n
				},
				"max_ttl": p.duration(&c.Cache.MaxTTL),
			})
		},
		"token_sources": func(key string, v *yaml.Node) {
			p.fields(key, v, map[string]func(string, *yaml.Node){
				"cookie": p.string(&c.Sources.Cookie),
				"query":  p.string(&c.Sources.Query),
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
				"issuer":    p.string(&is.Issuer),
				"jwks_url":  p.string(&is.JWKSURL),
				"jwks_file": p.string(&is.JWKSFile),
				"jwks_inline": func(key string, v *yaml.Node) {
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
