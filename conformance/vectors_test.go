package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
)

// TestVectorsStandAlone reads vectors.json as another language's test
// suite would, with nothing of the cases but the file: per case, a
// verifier on the vector's baseline, its key set served by a server of its
// own, its clock and its steps, then the request through an adapter with
// the vector's route. Every case must get the status, Bearer error code
// and subject the file expects.
func TestVectorsStandAlone(t *testing.T) {
	data, err := os.ReadFile("vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var f vectorFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if f.Schema != vectorSchema || len(f.Cases) != len(cases) {
		t.Fatalf("schema %q with %d cases, want %q with %d", f.Schema, len(f.Cases), vectorSchema, len(cases))
	}
	for _, vc := range f.Cases {
		t.Run(vc.Name, func(t *testing.T) {
			keys := &vectorKeys{}
			if vc.JWKS != nil {
				keys.set(f.KeySets[*vc.JWKS])
			}
			srv := httptest.NewServer(keys)
			defer srv.Close()
			clock := &clock{t: time.Unix(vc.Now, 0)}
			b := vc.Baseline
			cfg := core.Config{
				Issuers:              []core.IssuerConfig{{Issuer: b.Issuer, JWKSURL: srv.URL, Tenants: b.Tenants}},
				Audiences:            b.Audiences,
				AudienceClaim:        b.AudienceClaim,
				Algorithms:           b.Algorithms,
				Leeway:               time.Duration(b.LeewaySeconds) * time.Second,
				RequiredClaims:       b.RequiredClaims,
				TokenTypes:           b.TokenTypes,
				RefuseIDTokens:       b.RefuseIDTokens,
				InsecureSkipAudience: b.InsecureSkipAudience,
				MaxTokenBytes:        b.MaxTokenBytes,
				TokenSources:         core.TokenSourcesConfig{Query: b.QueryParameter},
				JWKS: core.JWKSConfig{UnknownKIDInterval: time.Duration(b.UnknownKIDIntervalSeconds) * time.Second,
					MaxStale: time.Duration(b.MaxStaleSeconds) * time.Second},
			}
			v, err := core.New(cfg, core.WithClock(clock.now), core.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			defer v.Close()
			for _, s := range vc.Steps {
				switch s.Op {
				case "jwks":
					keys.set(f.KeySets[s.JWKS])
				case "jwks_fails":
					keys.set(nil)
				case "advance":
					clock.advance(time.Duration(s.Seconds) * time.Second)
				case "refresh":
					err = v.Refresh(context.Background())
				case "verify":
					_, err = v.Verify(context.Background(), s.Token)
				default:
					t.Fatalf("unknown step %q", s.Op)
				}
				if err != nil {
					t.Fatalf("step %s: %v", s.Op, err)
				}
			}

			route := Route{Scopes: vc.Route.Scopes, Optional: vc.Route.Optional}
			if vc.Route.Roles != nil {
				route.Policy = func(ctx context.Context, c *core.Claims) error {
					for _, rc := range vc.Route.Roles {
						if err := core.RequireRoles(rc.Claim, rc.Roles...)(ctx, c); err != nil {
							return err
						}
					}
					return nil
				}
			}
			if p := vc.Route.Policy; p != nil {
				route.Policy = func(_ context.Context, c *core.Claims) error {
					if got, _ := c.Get(p.Claim); got != p.Equals {
						return errors.New("refused by the route's policy")
					}
					return nil
				}
			}
			target := Path
			if vc.Route.Skipped {
				target = SkipPath
			}
			req := httptest.NewRequest(http.MethodGet, target, nil)
			if vc.Request != nil {
				req.Header = http.Header(vc.Request.Headers).Clone()
				req.URL.RawQuery = url.Values(vc.Request.Query).Encode()
			} else {
				req.Header.Set("Authorization", "Bearer "+vc.Token)
			}
			if req.Header == nil {
				req.Header = http.Header{}
			}
			w := httptest.NewRecorder()
			endpoint := http.HandlerFunc(Endpoint)
			if route.Optional {
				endpoint = anonymousEndpoint
			}
			goodAdapter(v, route, endpoint).ServeHTTP(w, req)

			want := vc.Expected
			if w.Code != want.HTTPStatus {
				t.Errorf("HTTP %d, want %d (%s %s)", w.Code, want.HTTPStatus, want.Verdict, want.Reason)
			}
			if got := bearerParam(w.Header().Get("WWW-Authenticate"), "error"); got != want.BearerError {
				t.Errorf("error=%q, want %q", got, want.BearerError)
			}
			if want.Subject != nil && w.Body.String() != *want.Subject {
				t.Errorf("subject %q, want %q", w.Body.String(), *want.Subject)
			}
		})
	}
}

// vectorKeys serves one key set of the file, or 503 when it has none.
type vectorKeys struct {
	mu  sync.Mutex
	jwk json.RawMessage
}

func (k *vectorKeys) set(jwks json.RawMessage) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.jwk = jwks
}

func (k *vectorKeys) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.jwk == nil {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/jwk-set+json")
	w.Write(k.jwk)
}

// TestKeysDerived derives the RSA primes written out in keys.go from the
// seed again: for each prime, the first number at or above a candidate of
// the key's stream (top two bits and low bit set) that is prime and whose
// predecessor is coprime with 65537.
func TestKeysDerived(t *testing.T) {
	for _, k := range []struct {
		label  string
		bits   int
		primes [2]string
	}{{"rsa-1", 2048, rsa1Primes}, {"rsa-weak", 1024, rsaWeakPrimes}} {
		next := keyStream(k.label)
		for i, want := range k.primes {
			b := next(k.bits / 16)
			b[0] |= 0xc0
			b[len(b)-1] |= 1
			p := new(big.Int).SetBytes(b)
			one, two, e := big.NewInt(1), big.NewInt(2), big.NewInt(65537)
			for !p.ProbablyPrime(20) || new(big.Int).GCD(nil, nil, e, new(big.Int).Sub(p, one)).Cmp(one) != 0 {
				p.Add(p, two)
			}
			if got := p.Text(16); got != want {
				t.Errorf("%s prime %d: derived %s…, keys.go has %s…", k.label, i, got[:16], want[:16])
			}
		}
	}
}

// TestVectorsDeterministic makes the file twice in one process: the same
// bytes, or the staleness test could not tell a change from noise.
func TestVectorsDeterministic(t *testing.T) {
	a, err := vectors()
	if err != nil {
		t.Fatal(err)
	}
	b, err := vectors()
	if err != nil {
		t.Fatal(err)
	}
	if string(a) != string(b) {
		t.Error("two runs of the generator wrote different files")
	}
}
