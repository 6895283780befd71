package conformance

import (
	"context"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// TestCases checks the matrix itself: every case is named once, explained,
// sourced, grouped, and expects the outcome core's table gives its reason.
func TestCases(t *testing.T) {
	if len(cases) < 60 {
		t.Errorf("%d cases, want at least 60", len(cases))
	}
	seen := map[string]bool{}
	for _, c := range cases {
		switch {
		case seen[c.name]:
			t.Errorf("%s: name used twice", c.name)
		case c.explanation == "" || c.source == "":
			t.Errorf("%s: no explanation or source", c.name)
		case !slices.Contains(groups, c.group):
			t.Errorf("%s: unknown group %q", c.name, c.group)
		case (c.token == nil) == (c.request == nil):
			t.Errorf("%s: needs exactly one of token and request", c.name)
		case outcomeOf(c.reason) != c.want:
			t.Errorf("%s: reason %q has outcome %s in core's table, the case wants %s", c.name, c.reason, outcomeOf(c.reason), c.want)
		}
		seen[c.name] = true
	}
}

func TestSizedTokens(t *testing.T) {
	e := newEnv(matrixKeys(), standardSet)
	defer e.idp.Close()
	for _, n := range []int{6 << 10, defaultMaxTokenBytes, defaultMaxTokenBytes + 1} {
		if got := len(sized(n)(e)); got != n {
			t.Errorf("sized(%d) made a token of %d bytes", n, got)
		}
	}
}

// TestStrayFetchRecorded shows the jku and x5u cases would catch a fetch.
func TestStrayFetchRecorded(t *testing.T) {
	e := newEnv(matrixKeys(), standardSet)
	defer e.idp.Close()
	for _, file := range []string{"jku.json", "x5u.pem"} {
		resp, err := http.Get(e.url(file))
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if got := e.strays.requests(); len(got) != 2 {
		t.Errorf("stray requests %q, want the jku and x5u fetches", got)
	}
}

// goodAdapter is what an adapter should do, written against core alone:
// authenticate unless the request is for SkipPath, optionally on an
// optional route, then run the route's checks, if any.
func goodAdapter(v *core.Verifier, route Route, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var c *core.Claims
		var err error
		switch {
		case r.URL.Path == SkipPath:
		case route.Optional:
			c, err = v.AuthenticateOptional(r.Context(), core.HTTPRequest(r))
		default:
			c, err = v.Authenticate(r.Context(), core.HTTPRequest(r))
		}
		if policies := route.Policies(); err == nil && len(policies) > 0 {
			err = v.Authorize(r.Context(), c, policies...)
		}
		if err != nil {
			v.Response(err).WriteHTTP(w)
			return
		}
		next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
	})
}

// goodHarness is the harness of goodAdapter, which skips SkipPath and
// honours optional routes.
func goodHarness(name string) Harness {
	h := HTTPHarness(name, goodAdapter)
	h.Skips, h.Optional = true, true
	return h
}

// TestBrokenAdaptersFail runs adapters with one mistake each: the matrix
// must catch every one, on the cases named.
func TestBrokenAdaptersFail(t *testing.T) {
	broken := []struct {
		name  string
		wrap  func(v *core.Verifier, route Route, next http.Handler) http.Handler
		catch []string
	}{
		{"echoes error text", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
				if err != nil {
					resp := v.Response(err)
					w.Header().Set("WWW-Authenticate", resp.WWWAuthenticate)
					http.Error(w, err.Error(), resp.Status)
					return
				}
				goodAdapter(v, route, next).ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
			})
		}, []string{"alg-none", "kid-unknown"}},
		{"own status table", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
				if err == nil {
					err = v.Authorize(r.Context(), c, route.Policies()...)
				}
				if err != nil {
					v.Response(&core.Error{Reason: core.ReasonTokenMalformed}).WriteHTTP(w)
					return
				}
				next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
			})
		}, []string{"no-authorization-header", "bearer-without-token", "scope-administrator", "outage-from-start"}},
		{"ignores scopes", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return goodAdapter(v, Route{Policy: route.Policy}, next)
		}, []string{"scope-administrator", "scope-missing"}},
		{"ignores policies", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return goodAdapter(v, Route{Scopes: route.Scopes}, next)
		}, []string{"policy-refused", "skipped-policy-check"}},
		{"extracts the token itself", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := v.Verify(r.Context(), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
				if err != nil {
					v.Response(err).WriteHTTP(w)
					return
				}
				next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
			})
		}, []string{"two-authorization-headers", "bearer-lowercase", "basic-scheme"}},
		{"drops the claims", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return goodAdapter(v, route, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r.WithContext(context.Background()))
			}))
		}, []string{"valid-rs256", "scope-granted", "policy-granted"}},
		{"refuses large headers", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if len(r.Header.Get("Authorization")) > 4<<10 {
					w.WriteHeader(http.StatusRequestHeaderFieldsTooLarge)
					return
				}
				goodAdapter(v, route, next).ServeHTTP(w, r)
			})
		}, []string{"valid-6kib", "valid-max-token-bytes", "token-too-large"}},
		{"skips nothing", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				r.URL.Path = Path
				goodAdapter(v, route, next).ServeHTTP(w, r)
			})
		}, []string{"skipped-no-token", "skipped-expired-token"}},
		{"verifies skipped routes", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if c, err := v.Authenticate(r.Context(), core.HTTPRequest(r)); err == nil && r.URL.Path == SkipPath {
					next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
					return
				}
				goodAdapter(v, route, next).ServeHTTP(w, r)
			})
		}, []string{"skipped-valid-token", "skipped-expired-token"}},
		{"skipped routes pass the checks", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == SkipPath {
					next.ServeHTTP(w, r)
					return
				}
				goodAdapter(v, route, next).ServeHTTP(w, r)
			})
		}, []string{"skipped-scope-check", "skipped-policy-check"}},
		{"requires credentials on optional routes", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			route.Optional = false
			return goodAdapter(v, route, next)
		}, []string{"optional-no-token"}},
		{"ignores bad tokens on optional routes", func(v *core.Verifier, route Route, next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				c, err := v.Authenticate(r.Context(), core.HTTPRequest(r))
				if err != nil && route.Optional {
					c, err = nil, nil
				}
				if err == nil && len(route.Policies()) > 0 {
					err = v.Authorize(r.Context(), c, route.Policies()...)
				}
				if err != nil {
					v.Response(err).WriteHTTP(w)
					return
				}
				next.ServeHTTP(w, r.WithContext(core.NewContext(r.Context(), c)))
			})
		}, []string{"optional-expired-token", "optional-forged-token", "optional-malformed-token", "optional-other-scheme", "optional-query-token-disabled"}},
	}
	for _, b := range broken {
		t.Run(b.name, func(t *testing.T) {
			h := HTTPHarness(b.name, b.wrap)
			h.Skips, h.Optional = true, true
			_, err := check(h, func(c *testCase) bool { return slices.Contains(b.catch, c.name) })
			if err == nil {
				t.Fatal("the matrix passed a broken adapter")
			}
			for _, name := range b.catch {
				if !strings.Contains(err.Error(), name+": ") {
					t.Errorf("case %s did not catch it", name)
				}
			}
		})
	}
}

// metadataRequest is how a gRPC adapter offers metadata to core.
type metadataRequest map[string][]string

func (m metadataRequest) Header(name string) []string { return m[strings.ToLower(name)] }
func (m metadataRequest) Query(string) []string       { return nil }
func (m metadataRequest) Cookie(string) (string, bool) {
	return "", false
}

// grpcShaped answers as a gRPC adapter does, without gRPC: metadata in,
// a status code and message out; SkipPath stands for an exempt method. It
// shows that such a harness fits and that its table compares with an HTTP
// adapter's.
func grpcShaped(v *core.Verifier, route Route) (func(Request) (Result, error), func()) {
	return func(r Request) (Result, error) {
		if len(r.Query) > 0 {
			return Result{}, errors.ErrUnsupported
		}
		ctx := context.Background()
		var c *core.Claims
		var err error
		switch {
		case r.Path == SkipPath:
		case route.Optional:
			c, err = v.AuthenticateOptional(ctx, metadataRequest(r.Metadata()))
		default:
			c, err = v.Authenticate(ctx, metadataRequest(r.Metadata()))
		}
		if policies := route.Policies(); err == nil && len(policies) > 0 {
			err = v.Authorize(ctx, c, policies...)
		}
		if err != nil {
			resp := v.Response(err)
			return Result{GRPCCode: resp.GRPCCode, GRPCMessage: resp.GRPCMessage}, nil
		}
		if c == nil {
			return Result{}, nil
		}
		return Result{Subject: c.Subject()}, nil
	}, func() {}
}

func TestGRPCShapedHarnessAndDiff(t *testing.T) {
	grpcTab := Run(t, Harness{Name: "grpc-shaped", Serve: grpcShaped, Skips: true, Optional: true})
	httpTab := Run(t, goodHarness("http"))
	if d := Diff(httpTab, grpcTab); len(d) > 0 {
		t.Errorf("tables differ:\n%s", strings.Join(d, "\n"))
	}
	if v, _ := grpcTab.Lookup("query-token-enabled"); !v.Skipped {
		t.Errorf("query-token-enabled over gRPC: %v, want skipped", v)
	}
	// A harness that declares no skipped route has the skipped cases
	// skipped, and compared with no one.
	noSkips, _ := check(HTTPHarness("no skips", goodAdapter), func(c *testCase) bool { return c.skipped })
	if len(noSkips.Rows) == 0 || slices.ContainsFunc(noSkips.Rows, func(r Row) bool { return !r.Skipped }) {
		t.Errorf("skipped cases without Harness.Skips: %v, want every one skipped", noSkips.Rows)
	}
	// Nor does one that declares no optional authentication run the cases
	// of optional credentials.
	noOptional, _ := check(HTTPHarness("no optional", goodAdapter), func(c *testCase) bool { return c.optional })
	if len(noOptional.Rows) == 0 || slices.ContainsFunc(noOptional.Rows, func(r Row) bool { return !r.Skipped }) {
		t.Errorf("optional cases without Harness.Optional: %v, want every one skipped", noOptional.Rows)
	}

	changed := Table{Adapter: "changed", Rows: slices.Clone(httpTab.Rows)}
	changed.Rows[0].Reason = core.ReasonTokenMalformed
	changed.Rows = changed.Rows[:len(changed.Rows)-1]
	d := Diff(httpTab, grpcTab, changed)
	if len(d) != 2 || !strings.HasPrefix(d[0], httpTab.Rows[0].Case+": ") || !strings.Contains(d[1], "changed: missing") {
		t.Errorf("Diff = %q, want the changed and the missing case", d)
	}
}

func TestBearerParam(t *testing.T) {
	for _, tc := range []struct{ challenge, want string }{
		{`Bearer realm="api"`, ""},
		{`Bearer realm="api", error="invalid_token"`, "invalid_token"},
		{`Bearer realm="a, \"b\"", error="insufficient_scope", scope="admin"`, "insufficient_scope"},
		{`bearer error=invalid_request`, "invalid_request"},
		{`Basic realm="api", error="invalid_token"`, ""},
	} {
		if got := bearerParam(tc.challenge, "error"); got != tc.want {
			t.Errorf("bearerParam(%q) = %q, want %q", tc.challenge, got, tc.want)
		}
	}
}
