package jwks

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// testPolicy is the baseline's default lifecycle.
var testPolicy = Policy{
	RefreshInterval:    10 * time.Minute,
	UnknownKIDInterval: 5 * time.Second,
	MaxStale:           24 * time.Hour,
	HTTPTimeout:        5 * time.Second,
}

// testIdP serves a fixed key set in memory: a fetch it holds waits on a
// channel of the bubble, which synctest.Wait sees as blocked.
type testIdP struct {
	doc string
	responseGate

	mu      sync.Mutex
	fetches int
}

// responseGate holds an IdP's responses between hold and release.
type responseGate struct {
	mu   sync.Mutex
	gate chan struct{}
}

// wait returns once responses are not held, or with the error of r's
// context when the client gives up first.
func (g *responseGate) wait(r *http.Request) error {
	g.mu.Lock()
	gate := g.gate
	g.mu.Unlock()
	if gate == nil {
		return nil
	}
	select {
	case <-gate:
		return nil
	case <-r.Context().Done():
		return r.Context().Err()
	}
}

func (g *responseGate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gate = make(chan struct{})
}

func (g *responseGate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.gate != nil {
		close(g.gate)
		g.gate = nil
	}
}

func (p *testIdP) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.fetches++
	p.mu.Unlock()
	if err := p.wait(r); err != nil {
		return nil, err
	}
	w := httptest.NewRecorder()
	io.WriteString(w, p.doc)
	resp := w.Result()
	resp.Request = r
	return resp, nil
}

func (p *testIdP) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.fetches
}

// newTestIdP publishes one ES256 key, "k1".
func newTestIdP(t *testing.T) *testIdP {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := priv.PublicKey.ECDH()
	if err != nil {
		t.Fatal(err)
	}
	b := pub.Bytes() // 0x04 || X || Y
	b64 := base64.RawURLEncoding.EncodeToString
	doc, err := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "x": b64(b[1:33]), "y": b64(b[33:]), "kid": "k1", "alg": "ES256", "use": "sig",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return &testIdP{doc: string(doc)}
}

func (s *Remote) negativeLen() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.negative)
}

// A flood of distinct random kids cannot grow the negative kid cache past
// maxNegativeKIDs: more kids than that wait on one fetch and each is
// remembered as absent, evicting another once the cache is full. A kid the
// cache holds is refused without a fetch until unknown_kid_interval has
// passed; then it may fetch again.
func TestNegativeKIDCacheBounded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		idp := newTestIdP(t)
		s := NewRemote("https://idp.test", "https://idp.test/jwks", testPolicy, map[string]bool{"ES256": true},
			Env{Client: &http.Client{Transport: idp}, Logger: slog.New(slog.DiscardHandler), Now: time.Now})
		t.Cleanup(s.Close)
		if _, err := s.Current(time.Now()); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()

		idp.hold()
		const kids = maxNegativeKIDs + 1000
		var wg sync.WaitGroup
		errs := make(chan error, kids)
		for i := range kids {
			wg.Go(func() {
				set, err := s.UnknownKID(ctx, fmt.Sprintf("random-%d", i))
				if err != nil || set.ByKID("k1") == nil {
					errs <- fmt.Errorf("kid %d: set %v, error %v", i, set, err)
				}
			})
		}
		synctest.Wait()
		// Every caller waits on the fetch the first one started.
		if n := idp.count(); n != 2 {
			t.Fatalf("%d fetches, want 2 (startup and one for every unknown kid)", n)
		}
		idp.release()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if n := s.negativeLen(); n != maxNegativeKIDs {
			t.Fatalf("negative cache holds %d kids after %d were found absent, want the bound %d", n, kids, maxNegativeKIDs)
		}

		var cached string
		s.mu.Lock()
		for kid := range s.negative {
			cached = kid
			break
		}
		s.mu.Unlock()
		// Within the cooldown a refusal is certain; errAbsent, rather than
		// the cooldown's error, shows that the cache gave it.
		if _, err := s.UnknownKID(ctx, cached); !errors.Is(err, ErrNotFound) || err != errAbsent {
			t.Fatalf("a kid in the negative cache: %v, want %v", err, errAbsent)
		}
		if st := s.Stats(time.Now()); st.RefusedUnknown != 1 || idp.count() != 2 {
			t.Fatalf("RefusedUnknown %d, %d fetches; want 1 and 2", st.RefusedUnknown, idp.count())
		}

		time.Sleep(testPolicy.UnknownKIDInterval)
		if _, err := s.UnknownKID(ctx, cached); err != nil {
			t.Fatalf("after unknown_kid_interval: %v", err)
		}
		if n := idp.count(); n != 3 {
			t.Fatalf("%d fetches, want 3: an expired negative entry lets the kid fetch again", n)
		}
		if n := s.negativeLen(); n != maxNegativeKIDs {
			t.Fatalf("negative cache holds %d kids, want %d", n, maxNegativeKIDs)
		}
	})
}
