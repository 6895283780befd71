package serve

import (
	"cmp"
	"slices"
	"strings"
)

// router selects a request's route: the longest prefix that matches, a
// route naming the method before one naming none.
type router struct {
	routes []Route // longest prefix first; for one prefix, routes with methods first
}

// defaultRoute applies where no route matches: a valid token, nothing more.
var defaultRoute = &Route{Prefix: "/"}

func newRouter(routes []Route) router {
	sorted := slices.Clone(routes)
	slices.SortStableFunc(sorted, func(a, b Route) int {
		if c := cmp.Compare(len(strings.TrimSuffix(b.Prefix, "/")), len(strings.TrimSuffix(a.Prefix, "/"))); c != 0 {
			return c
		}
		return cmpBool(len(b.Methods) > 0) - cmpBool(len(a.Methods) > 0)
	})
	return router{routes: sorted}
}

func cmpBool(b bool) int {
	if b {
		return 1
	}
	return 0
}

// lookup is the route of one reading of the path.
func (rt *router) lookup(method, p string) *Route {
	for i := range rt.routes {
		r := &rt.routes[i]
		if len(r.Methods) > 0 && !slices.Contains(r.Methods, method) {
			continue
		}
		if underPrefix(p, r.Prefix) {
			return r
		}
	}
	return defaultRoute
}

// underPrefix matches whole segments: "/admin" covers "/admin" and
// "/admin/x", not "/administrator".
func underPrefix(p, prefix string) bool {
	prefix = strings.TrimSuffix(prefix, "/")
	if prefix == "" {
		return true
	}
	return p == prefix || (len(p) > len(prefix) && p[len(prefix)] == '/' && p[:len(prefix)] == prefix)
}

// matchAll is the route of a request read as ts. The gateway forwards
// the path as the client wrote it, and the upstream may decode escapes and
// dot segments before it routes, so each target is read as written and as
// cleaned. When the readings fall under different routes, every one's
// requirements apply (RFC 3986 section 6: equivalent paths must not escape
// the policy), and the request is anonymous only when all are, optional
// only when all are optional or anonymous.
func (rt *router) matchAll(ts []target) *Route {
	var found [2 * maxTargets]*Route
	n := 0
	add := func(r *Route) {
		for _, f := range found[:n] {
			if f == r {
				return
			}
		}
		found[n] = r
		n++
	}
	for _, t := range ts {
		add(rt.lookup(t.method, t.path))
		add(rt.lookup(t.method, cleanPath(t.path)))
	}
	if n == 1 {
		return found[0]
	}
	// The strictest authentication of the routes found: required over
	// optional over anonymous.
	merged := &Route{Prefix: found[0].Prefix, Anonymous: true, Optional: true}
	for _, r := range found[:n] {
		merged.Anonymous = merged.Anonymous && r.Anonymous
		merged.Optional = merged.Optional && (r.Optional || r.Anonymous)
		merged.Policies = append(merged.Policies, r.Policies...)
	}
	if merged.Anonymous {
		merged.Optional = false
	}
	return merged
}
