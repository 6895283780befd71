package contract

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// ServeHTTP serves h on a loopback port for the rest of the test and
// returns its base URL.
func ServeHTTP(t testing.TB, h http.Handler) string {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// HTTP runs the contract of the HTTP examples against the server that
// start serves for v, at the base URL it returns:
//
//   - GET /healthz: 200 without a token (liveness);
//   - GET /readyz: 200 without a token once the keys are in (readiness);
//   - GET /whoami: 200 and the verified claims as a JSON object;
//   - GET /admin: 200 only with the admin scope (scope or scp), else 403;
//   - every rejection is the verifier's RFC 6750 response, exactly, and is
//     logged as one line with its reason;
//   - GET /metrics: every metric of [MetricNames], after the cases.
func HTTP(t *testing.T, start func(t testing.TB, v *core.Verifier, metrics http.Handler) string) {
	env := NewEnv(t)
	base := start(t, env.Verifier, env.Metrics)
	defer t.Run("metrics", func(t *testing.T) { CheckMetrics(t, base, env.Verifier) })
	for _, c := range cases() {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, base+c.route, nil)
			if err != nil {
				t.Fatal(err)
			}
			var claims map[string]any
			if c.auth != nil {
				values := c.auth(env.IdP)
				for _, v := range values {
					req.Header.Add("Authorization", v)
				}
				claims = payload(values[0])
			}
			env.Log.TakeReasons(t)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			logged := env.Log.TakeReasons(t)

			if c.want == "" {
				if resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d %s, want 200", resp.StatusCode, body)
				}
				if len(logged) > 0 {
					t.Errorf("accepted request logged rejections %v", logged)
				}
				var got map[string]any
				if err := json.Unmarshal(body, &got); err != nil {
					t.Fatalf("body %q is not a JSON object: %v", body, err)
				}
				if err := c.body(got, claims); err != nil {
					t.Error(err)
				}
				return
			}
			want := env.Verifier.Response(&core.Error{Reason: c.want, Scopes: c.scope})
			if resp.StatusCode != want.Status {
				t.Errorf("status %d, want %d", resp.StatusCode, want.Status)
			}
			// The headers are those core writes on net/http, every one.
			written := httptest.NewRecorder()
			want.WriteHTTP(written)
			for name, values := range written.Header() {
				if got := resp.Header.Values(name); !slices.Equal(got, values) {
					t.Errorf("%s: %q, want %q", name, got, values)
				}
			}
			if string(body) != string(want.Body) {
				t.Errorf("body %q, want %q", body, want.Body)
			}
			if !slices.Equal(logged, []core.Reason{c.want}) {
				t.Errorf("logged reasons %v, want one line with reason %s", logged, c.want)
			}
		})
	}
}

// payload decodes the claims of the token in an Authorization value
// without verifying them, to compare with what the service answered.
func payload(auth string) map[string]any {
	parts := strings.Split(strings.TrimPrefix(auth, "Bearer "), ".")
	if len(parts) != 3 {
		return nil
	}
	data, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil
	}
	var c map[string]any
	json.Unmarshal(data, &c)
	return c
}
