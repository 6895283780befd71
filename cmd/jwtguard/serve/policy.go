package serve

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"slices"
	"strings"

	"golang.org/x/net/http/httpguts"
	"gopkg.in/yaml.v3"

	"github.com/jwtguard/jwtguard/core"
)

// Policy is what the server requires of each request beyond a valid token,
// and which verified claims it hands to the upstream. The zero Policy
// requires a valid token on every route and maps no claim.
type Policy struct {
	// Routes select the requirements of a request by method and path
	// prefix; the longest matching prefix wins. A request no route
	// matches needs a valid token and nothing more.
	Routes []Route
	// ClaimHeaders maps verified claims to upstream headers, beyond the
	// identity headers every accepted request gets.
	ClaimHeaders []ClaimHeader
}

// Route is one rule of a [Policy].
type Route struct {
	// Prefix matches whole path segments: "/admin" matches "/admin" and
	// "/admin/users", never "/administrator". "/" matches every path.
	Prefix string
	// Methods restrict the route to these methods, compared
	// case-sensitively (RFC 9110 section 9.1); empty means any method. For
	// one prefix, a route naming the method wins over one naming none.
	Methods []string
	// Anonymous routes need no token: the server verifies nothing and
	// sends no identity headers, whatever the request carries. Policies of
	// an anonymous route still run, on no claims, so they refuse the
	// request as lacking credentials: skipping authentication never
	// authorizes.
	Anonymous bool
	// Optional routes take a request that presents no credentials at all
	// as anonymous (no identity headers), and verify one that presents any
	// as any other route does ([core.Verifier.AuthenticateOptional]): an
	// expired or forged token is still refused. For pages that serve
	// everyone and show more to a signed-in caller. Policies refuse an
	// anonymous request as lacking credentials.
	Optional bool
	// Policies run after authentication, in order, as [core.Verifier.Authorize]
	// runs them.
	Policies []core.Policy
}

// ClaimHeader sends one verified claim to the upstream as a header.
type ClaimHeader struct {
	// Claim is the claim's exact, case-sensitive name (RFC 7519 section
	// 7.3).
	Claim string
	// Header is the header's name, in canonical form.
	Header string
}

// The identity headers of every accepted request. The server sets them;
// a client's own copies are never read.
const (
	HeaderSubject = "X-Auth-Subject"
	HeaderIssuer  = "X-Auth-Issuer"
	HeaderScopes  = "X-Auth-Scopes"
	HeaderClaims  = "X-Auth-Claims"
)

// identityHeaders are the headers the server always owns.
var identityHeaders = []string{HeaderSubject, HeaderIssuer, HeaderScopes, HeaderClaims}

// reservedHeaders may not carry a claim: the identity headers, the
// hop-by-hop headers of RFC 9110 section 7.6.1, and headers whose meaning
// to a proxy or the upstream a claim must not change.
var reservedHeaders = []string{
	HeaderSubject, HeaderIssuer, HeaderScopes, HeaderClaims,
	"Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "Proxy-Connection",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade",
	"Host", "Content-Length", "Content-Type", "Authorization", "Cookie", "Set-Cookie", "Www-Authenticate",
	"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Method", "X-Forwarded-Uri",
	"X-Original-Method", "X-Original-Uri", "Forwarded",
}

// maxPolicyBytes keeps a mistaken path from being read whole.
const maxPolicyBytes = 1 << 20

// PolicyError names the policy file's key that is wrong, with its line.
type PolicyError struct {
	Key  string // dotted path, as written: "routes[2].scopes"
	Line int    // 1-based, 0 when unknown
	Msg  string
}

func (e *PolicyError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("policy: line %d: %s: %s", e.Line, e.Key, e.Msg)
	}
	return fmt.Sprintf("policy: %s: %s", e.Key, e.Msg)
}

// LoadPolicy reads and parses a policy file ([ParsePolicy]).
func LoadPolicy(file string) (*Policy, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("policy: %s: %w", file, err)
	}
	if len(data) > maxPolicyBytes {
		return nil, fmt.Errorf("policy: %s: larger than %d bytes", file, maxPolicyBytes)
	}
	return ParsePolicy(data)
}

// ParsePolicy parses a YAML policy file. It is strict, as the baseline is:
// an unknown key, a wrong type, a route that can never be used, or a header
// that must not carry a claim is a [*PolicyError] naming its key and line.
//
//	routes:
//	  - prefix: /healthz
//	    anonymous: true
//	  - prefix: /admin
//	    methods: [POST, DELETE]
//	    scopes: [admin]
//	  - prefix: /reports
//	    roles: [auditor]
//	    roles_claim: realm_access.roles
//	claim_headers:
//	  tenant: X-Tenant
func ParsePolicy(data []byte) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("policy: %w", err)
	}
	p := &Policy{}
	if len(doc.Content) == 0 {
		return p, nil // an empty file: the defaults
	}
	// Where each route and claim header stands, for the problems check
	// finds across entries, which name them by index.
	lines, fileKeys := map[string]int{}, map[string]string{}
	top := doc.Content[0]
	err := eachKey(top, "", map[string]func(key string, n *yaml.Node) error{
		"routes": func(key string, n *yaml.Node) error {
			if n.Kind != yaml.SequenceNode {
				return &PolicyError{Key: key, Line: n.Line, Msg: "must be a list of routes"}
			}
			for i, rn := range n.Content {
				lines[fmt.Sprintf("%s[%d]", key, i)] = rn.Line
				r, err := parseRoute(fmt.Sprintf("%s[%d]", key, i), rn)
				if err != nil {
					return err
				}
				p.Routes = append(p.Routes, r)
			}
			return nil
		},
		"claim_headers": func(key string, n *yaml.Node) error {
			return eachKey(n, key, nil, func(claim string, v *yaml.Node) error {
				h, err := parseClaimHeader(key+"."+claim, claim, v)
				if err != nil {
					return err
				}
				index := fmt.Sprintf("%s[%d]", key, len(p.ClaimHeaders))
				lines[index], fileKeys[index] = v.Line, key+"."+claim
				p.ClaimHeaders = append(p.ClaimHeaders, h)
				return nil
			})
		},
	}, nil)
	if err != nil {
		return nil, err
	}
	if err := p.check(); err != nil {
		var pe *PolicyError
		if errors.As(err, &pe) {
			pe.Line = lines[pe.Key]
			if k, ok := fileKeys[pe.Key]; ok {
				pe.Key = k
			}
		}
		return nil, err
	}
	return p, nil
}

// eachKey walks a mapping: known keys go to their parser; any other key goes
// to rest, or is refused when rest is nil. A key given twice is refused.
func eachKey(n *yaml.Node, parent string, known map[string]func(string, *yaml.Node) error, rest func(string, *yaml.Node) error) error {
	if n.Kind != yaml.MappingNode {
		return &PolicyError{Key: orTop(parent), Line: n.Line, Msg: "must be a mapping"}
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		full := key
		if parent != "" {
			full = parent + "." + key
		}
		if seen[key] {
			return &PolicyError{Key: full, Line: k.Line, Msg: "is given twice"}
		}
		seen[key] = true
		if f, ok := known[key]; ok {
			if err := f(full, v); err != nil {
				return err
			}
			continue
		}
		if rest == nil {
			return &PolicyError{Key: full, Line: k.Line, Msg: "unknown key"}
		}
		if err := rest(key, v); err != nil {
			return err
		}
	}
	return nil
}

func orTop(key string) string {
	if key == "" {
		return "(top level)"
	}
	return key
}

func parseRoute(key string, n *yaml.Node) (Route, error) {
	var r Route
	var scopes, roles []string
	var rolesClaim string
	var rolesLine int
	err := eachKey(n, key, map[string]func(string, *yaml.Node) error{
		"prefix": func(k string, v *yaml.Node) error { return scalar(k, v, &r.Prefix) },
		"methods": func(k string, v *yaml.Node) error {
			if err := list(k, v, &r.Methods); err != nil {
				return err
			}
			for _, m := range r.Methods {
				if !httpguts.ValidHeaderFieldName(m) { // a method is a token (RFC 9110 section 9.1)
					return &PolicyError{Key: k, Line: v.Line, Msg: fmt.Sprintf("%q is not a method", m)}
				}
			}
			return nil
		},
		"anonymous": func(k string, v *yaml.Node) error {
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				return &PolicyError{Key: k, Line: v.Line, Msg: "must be true or false"}
			}
			return v.Decode(&r.Anonymous)
		},
		"optional": func(k string, v *yaml.Node) error {
			if v.Kind != yaml.ScalarNode || v.Tag != "!!bool" {
				return &PolicyError{Key: k, Line: v.Line, Msg: "must be true or false"}
			}
			return v.Decode(&r.Optional)
		},
		"scopes": func(k string, v *yaml.Node) error { return list(k, v, &scopes) },
		"roles": func(k string, v *yaml.Node) error {
			rolesLine = v.Line
			return list(k, v, &roles)
		},
		"roles_claim": func(k string, v *yaml.Node) error { return scalar(k, v, &rolesClaim) },
	}, nil)
	if err != nil {
		return r, err
	}
	switch {
	case r.Prefix == "":
		return r, &PolicyError{Key: key + ".prefix", Line: n.Line, Msg: "is required"}
	case !strings.HasPrefix(r.Prefix, "/"):
		return r, &PolicyError{Key: key + ".prefix", Line: n.Line, Msg: fmt.Sprintf("%q must start with /", r.Prefix)}
	case cleanPath(r.Prefix) != r.Prefix && r.Prefix != "/":
		return r, &PolicyError{Key: key + ".prefix", Line: n.Line, Msg: fmt.Sprintf("%q is not a clean path (write %q)", r.Prefix, cleanPath(r.Prefix))}
	case r.Anonymous && r.Optional:
		return r, &PolicyError{Key: key + ".optional", Line: n.Line, Msg: "a route is anonymous (no token read) or optional (a token verified when present), not both"}
	case r.Anonymous && (len(scopes) > 0 || len(roles) > 0):
		return r, &PolicyError{Key: key + ".anonymous", Line: n.Line, Msg: "an anonymous route has no claims to check scopes or roles on; it would refuse every request"}
	case len(roles) > 0 && rolesClaim == "":
		return r, &PolicyError{Key: key + ".roles_claim", Line: rolesLine, Msg: "is required with roles (e.g. realm_access.roles, roles, cognito:groups)"}
	case rolesClaim != "" && len(roles) == 0:
		return r, &PolicyError{Key: key + ".roles", Line: n.Line, Msg: "roles_claim is set but no roles are required"}
	}
	if len(scopes) > 0 {
		r.Policies = append(r.Policies, core.RequireScopes(scopes...))
	}
	if len(roles) > 0 {
		// core.RequireRoles reads the claim path as each IdP writes it
		// (realm_access.roles, roles, cognito:groups, a URN).
		r.Policies = append(r.Policies, core.RequireRoles(rolesClaim, roles...))
	}
	return r, nil
}

func parseClaimHeader(key, claim string, v *yaml.Node) (ClaimHeader, error) {
	var name string
	if err := scalar(key, v, &name); err != nil {
		return ClaimHeader{}, err
	}
	h := ClaimHeader{Claim: claim, Header: name}
	if err := h.check(); err != nil {
		return h, &PolicyError{Key: key, Line: v.Line, Msg: err.Error()}
	}
	h.Header = canonical(name)
	return h, nil
}

func scalar(key string, v *yaml.Node, out *string) error {
	if v.Kind != yaml.ScalarNode || v.Tag != "!!str" {
		return &PolicyError{Key: key, Line: v.Line, Msg: "must be a string"}
	}
	*out = v.Value
	return nil
}

func list(key string, v *yaml.Node, out *[]string) error {
	if v.Kind != yaml.SequenceNode {
		return &PolicyError{Key: key, Line: v.Line, Msg: "must be a list of strings"}
	}
	for _, item := range v.Content {
		if item.Kind != yaml.ScalarNode || item.Tag != "!!str" || item.Value == "" {
			return &PolicyError{Key: key, Line: item.Line, Msg: "must be a list of non-empty strings"}
		}
		*out = append(*out, item.Value)
	}
	if len(*out) == 0 {
		return &PolicyError{Key: key, Line: v.Line, Msg: "is empty; leave the key out instead"}
	}
	return nil
}

// check refuses what ParsePolicy refuses in a Policy built from Go code:
// two routes for the same prefix and methods, and claim headers that are
// invalid, reserved or given twice.
func (p *Policy) check() error {
	type routeSlot struct{ prefix, method string }
	seen := map[routeSlot]bool{}
	for i, r := range p.Routes {
		if !strings.HasPrefix(r.Prefix, "/") {
			return &PolicyError{Key: fmt.Sprintf("routes[%d].prefix", i), Msg: fmt.Sprintf("%q must start with /", r.Prefix)}
		}
		if r.Anonymous && r.Optional {
			return &PolicyError{Key: fmt.Sprintf("routes[%d]", i), Msg: "a route is anonymous or optional, not both"}
		}
		methods := r.Methods
		if len(methods) == 0 {
			methods = []string{""}
		}
		for _, m := range methods {
			k := routeSlot{strings.TrimSuffix(r.Prefix, "/"), m}
			if seen[k] {
				return &PolicyError{Key: fmt.Sprintf("routes[%d]", i), Msg: fmt.Sprintf("a route for %s %s is given twice", cmpOr(m, "any method"), r.Prefix)}
			}
			seen[k] = true
		}
	}
	headers := map[string]bool{}
	for i, h := range p.ClaimHeaders {
		if err := h.check(); err != nil {
			return &PolicyError{Key: fmt.Sprintf("claim_headers[%d]", i), Msg: err.Error()}
		}
		if c := canonical(h.Header); headers[c] {
			return &PolicyError{Key: fmt.Sprintf("claim_headers[%d]", i), Msg: fmt.Sprintf("header %s carries two claims", c)}
		} else {
			headers[c] = true
		}
	}
	return nil
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func (h ClaimHeader) check() error {
	switch {
	case h.Claim == "":
		return fmt.Errorf("a claim name is required")
	case !httpguts.ValidHeaderFieldName(h.Header):
		return fmt.Errorf("%q is not a valid header name (RFC 9110 section 5.1)", h.Header)
	case slices.Contains(reservedHeaders, canonical(h.Header)):
		return fmt.Errorf("%s is reserved: the server sets it, or it means something to the gateway", canonical(h.Header))
	case strings.HasPrefix(strings.ToLower(h.Header), "x-envoy-"):
		return fmt.Errorf("%s is reserved: Envoy acts on x-envoy-* headers", h.Header)
	}
	return nil
}

// canonical is the header's canonical form, as net/http writes it.
func canonical(name string) string { return http.CanonicalHeaderKey(name) }

// cleanPath decodes percent-escapes and removes dot segments and repeated
// slashes (RFC 3986 section 5.2.4), as an upstream may before it routes;
// a path that does not decode is kept as it is.
func cleanPath(p string) string {
	if d, err := url.PathUnescape(p); err == nil {
		p = d
	}
	p = strings.ReplaceAll(p, `\`, "/")
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	return path.Clean(p)
}
