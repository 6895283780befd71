package jwks

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

const (
	discIssuer = "https://idp.test/tenant-1"
	discURL    = "https://idp.test/tenant-1/.well-known/openid-configuration"
)

// TestWellKnownURL: OpenID Connect Discovery appends the well-known path
// to the issuer's (section 4.1); RFC 8414 inserts it between host and
// path (section 3.1); both drop a terminating "/" first.
func TestWellKnownURL(t *testing.T) {
	for _, tc := range []struct {
		issuer, kind, want string // want "" for an error
	}{
		{"https://idp.test", KindOpenID, "https://idp.test/.well-known/openid-configuration"},
		{"https://idp.test/", KindOpenID, "https://idp.test/.well-known/openid-configuration"},
		{"https://login.example/tid/v2.0", KindOpenID, "https://login.example/tid/v2.0/.well-known/openid-configuration"},
		{"https://login.example/tid/v2.0/", KindOpenID, "https://login.example/tid/v2.0/.well-known/openid-configuration"},
		{"https://idp.test", KindOAuth, "https://idp.test/.well-known/oauth-authorization-server"},
		{"https://idp.test/", KindOAuth, "https://idp.test/.well-known/oauth-authorization-server"},
		{"https://idp.test/issuer1", KindOAuth, "https://idp.test/.well-known/oauth-authorization-server/issuer1"},
		{"https://idp.test/issuer1/", KindOAuth, "https://idp.test/.well-known/oauth-authorization-server/issuer1"},
		{"http://127.0.0.1:8080/a/b", KindOAuth, "http://127.0.0.1:8080/.well-known/oauth-authorization-server/a/b"},
		{"https://idp.test?x=1", KindOpenID, ""},
		{"https://idp.test#f", KindOpenID, ""},
		{"https://idp.test#", KindOAuth, ""},
		{"idp.test/tenant", KindOpenID, ""},
		{"https://idp.test", "webfinger", ""},
	} {
		got, err := WellKnownURL(tc.issuer, tc.kind)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("WellKnownURL(%q, %s) = %q, %v; want %q", tc.issuer, tc.kind, got, err, tc.want)
		}
	}
}

// discIdP serves a discovery document at discURL and the key set at any
// other path, in memory, recording every path asked for. A request it
// holds waits on a channel of the bubble.
type discIdP struct {
	keys string
	responseGate

	mu        sync.Mutex
	doc       string
	docStatus int // non-zero: the document answers this status
	paths     []string
	ended     chan struct{} // closed and replaced whenever a request ends
}

func newDiscIdP(t *testing.T) *discIdP {
	p := &discIdP{keys: newTestIdP(t).doc, ended: make(chan struct{})}
	p.setDoc(t, map[string]any{"issuer": discIssuer, "jwks_uri": "https://idp.test/keys"})
	return p
}

func (p *discIdP) setDoc(t *testing.T, doc map[string]any) {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doc, p.docStatus = string(b), 0
}

func (p *discIdP) setRawDoc(doc string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.doc, p.docStatus = doc, status
}

func (p *discIdP) RoundTrip(r *http.Request) (*http.Response, error) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	doc, status := p.doc, p.docStatus
	p.mu.Unlock()
	if err := p.wait(r); err != nil {
		return nil, err
	}
	w := httptest.NewRecorder()
	switch {
	case r.URL.String() != discURL:
		io.WriteString(w, p.keys)
	case status != 0:
		http.Error(w, doc, status)
	default:
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, doc)
	}
	resp := w.Result()
	resp.Request = r
	p.mu.Lock()
	close(p.ended)
	p.ended = make(chan struct{})
	p.mu.Unlock()
	return resp, nil
}

// nextFetch lets fake time run until a request ends, then until what it
// set off has settled: the flight the request began is over.
func (p *discIdP) nextFetch() {
	p.mu.Lock()
	ended := p.ended
	p.mu.Unlock()
	<-ended
	synctest.Wait()
}

// requests lists the paths asked for since the last call, with the
// document's shortened to "doc".
func (p *discIdP) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make([]string, 0, len(p.paths))
	for _, path := range p.paths {
		if strings.HasSuffix(path, "/openid-configuration") {
			path = "doc"
		}
		out = append(out, path)
	}
	p.paths = nil
	return out
}

// discHooks records the fetch events as "document trigger result url".
type discHooks struct {
	mu     sync.Mutex
	events []string
}

func (h *discHooks) FetchDone(e FetchEvent) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.events = append(h.events, strings.Join([]string{e.Document, e.Trigger, e.Result, e.URL}, " "))
}

func (h *discHooks) KeySetChanged(KeySetChange) {}

func (h *discHooks) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.events
	h.events = nil
	return out
}

// httpsOnly stands in for the jwks_url rule the verifier passes.
func httpsOnly(uri string) error {
	if !strings.HasPrefix(uri, "https://") {
		return errors.New("not https")
	}
	return nil
}

type discEnv struct {
	idp   *discIdP
	hooks *discHooks
	logs  *lockedWriter
	s     *Remote
}

func startDiscovered(t *testing.T, p *discIdP, policy Policy) *discEnv {
	t.Helper()
	e := &discEnv{idp: p, hooks: &discHooks{}, logs: &lockedWriter{}}
	e.s = NewDiscovered(discIssuer, Discovery{URL: discURL, CheckJWKSURI: httpsOnly}, policy, map[string]bool{"ES256": true},
		Env{Client: &http.Client{Transport: p}, Logger: slog.New(slog.NewJSONHandler(e.logs, nil)),
			Now: time.Now, Hooks: []Hooks{e.hooks}})
	t.Cleanup(e.s.Close)
	t.Cleanup(p.release)
	synctest.Wait()
	return e
}

// lockedWriter collects log lines written from the source's goroutines.
type lockedWriter struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

func (l *lockedWriter) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func want(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %q, want %q", what, got, want)
	}
}

// The document is fetched at start before the key set, again with each
// refresh, and not for an unknown kid; a changed jwks_uri is followed in
// the same flight. Each fetch is an event naming its document.
func TestDiscoveryLifecycle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newDiscIdP(t)
		e := startDiscovered(t, p, testPolicy)
		want(t, "start", p.requests(), []string{"doc", "/keys"})
		want(t, "start events", e.hooks.take(), []string{
			"discovery startup ok " + discURL, "jwks startup ok https://idp.test/keys"})
		st := e.s.Stats(time.Now())
		if !st.Ready || st.Source != "https://idp.test/keys" || st.Discovery != discURL || st.DiscoveryFetchOK != 1 ||
			st.FetchOK != 1 || !st.DiscoveryLastSuccess.Equal(time.Now()) {
			t.Fatalf("stats after start: %+v", st)
		}

		if _, err := e.s.UnknownKID(context.Background(), "k2"); err != nil {
			t.Fatal(err)
		}
		want(t, "an unknown kid", p.requests(), []string{"/keys"})
		want(t, "unknown kid events", e.hooks.take(), []string{"jwks unknown_kid ok https://idp.test/keys"})

		p.setDoc(t, map[string]any{"issuer": discIssuer, "jwks_uri": "https://idp.test/keys-2"})
		p.nextFetch()
		want(t, "a refresh with a moved jwks_uri", p.requests(), []string{"doc", "/keys-2"})
		want(t, "refresh events", e.hooks.take(), []string{
			"discovery periodic ok " + discURL, "jwks periodic ok https://idp.test/keys-2"})
		if st := e.s.Stats(time.Now()); st.Source != "https://idp.test/keys-2" || st.DiscoveryFetchOK != 2 {
			t.Fatalf("stats after the move: %+v", st)
		}
		if !strings.Contains(e.logs.String(), `"msg":"jwks discovery jwks_uri changed"`) ||
			!strings.Contains(e.logs.String(), `"new_url":"https://idp.test/keys-2"`) {
			t.Fatalf("the move is not logged: %s", e.logs)
		}
	})
}

// A document that fails or is invalid never replaces the held one: the
// key set is still fetched from the held jwks_uri, the flight counts as
// failed (LastError, backoff), and the log says which document failed.
func TestDiscoveryBadDocumentKeepsHeld(t *testing.T) {
	for _, tc := range []struct {
		name   string
		doc    string
		status int
		want   string // in LastError
	}{
		{"503", "maintenance", 503, "unexpected status 503"},
		{"html", "<html>sign-in</html>", 0, "not a JSON metadata document"},
		{"trailing slash", `{"issuer":"` + discIssuer + `/","jwks_uri":"https://evil.test/keys"}`, 0,
			`the document names issuer "` + discIssuer + `/", the baseline "` + discIssuer + `"`},
		{"another issuer", `{"issuer":"https://idp.test/tenant-2","jwks_uri":"https://evil.test/keys"}`, 0, `"https://idp.test/tenant-2"`},
		{"no issuer", `{"jwks_uri":"https://evil.test/keys"}`, 0, "no issuer"},
		{"no jwks_uri", `{"issuer":"` + discIssuer + `"}`, 0, "no jwks_uri"},
		{"http jwks_uri", `{"issuer":"` + discIssuer + `","jwks_uri":"http://evil.test/keys"}`, 0, "jwks_uri: not https"},
		{"oversized", `{"issuer":"` + discIssuer + `","jwks_uri":"https://evil.test/keys","x":"` + strings.Repeat("x", maxDiscoveryBytes) + `"}`, 0,
			"larger than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				p := newDiscIdP(t)
				e := startDiscovered(t, p, testPolicy)
				p.requests()
				e.hooks.take()
				p.setRawDoc(tc.doc, tc.status)
				p.nextFetch()
				want(t, "requests", p.requests(), []string{"doc", "/keys"})
				st := e.s.Stats(time.Now())
				if !st.Ready || st.Source != "https://idp.test/keys" || st.DiscoveryFetchFailed != 1 || st.FetchOK != 2 ||
					!strings.Contains(st.LastError, tc.want) {
					t.Fatalf("stats: %+v", st)
				}
				ev := e.hooks.take()
				if len(ev) != 2 || ev[0] != "discovery periodic failed "+discURL || ev[1] != "jwks periodic ok https://idp.test/keys" {
					t.Fatalf("events %q", ev)
				}
				if !strings.Contains(e.logs.String(), `"msg":"jwks fetch failed"`) || !strings.Contains(e.logs.String(), `"document":"discovery"`) {
					t.Fatalf("the failure is not logged with its document: %s", e.logs)
				}
				// The flight failed: the next try is a backoff retry, not
				// a refresh_interval later.
				time.Sleep(retryBase * 3 / 2)
				synctest.Wait()
				want(t, "the retry", p.requests(), []string{"doc", "/keys"})
				want(t, "retry events", e.hooks.take(), []string{
					"discovery retry failed " + discURL, "jwks retry ok https://idp.test/keys"})
				err := e.s.Refresh(context.Background())
				if err == nil || !strings.Contains(err.Error(), "discovery document: ") || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("Refresh: %v, want the document's failure %q", err, tc.want)
				}
			})
		})
	}
}

// With no document ever good, no key set is fetched and nothing is
// served; the source retries the document with backoff and is ready once
// it answers.
func TestDiscoveryStartupWithoutDocument(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newDiscIdP(t)
		p.setRawDoc(`{"issuer":"`+discIssuer+`/","jwks_uri":"https://idp.test/keys"}`, 0)
		e := startDiscovered(t, p, testPolicy)
		want(t, "start", p.requests(), []string{"doc"})
		st := e.s.Stats(time.Now())
		if st.Ready || st.Source != "" || st.FetchFailed != 0 || st.DiscoveryFetchFailed != 1 || !strings.Contains(st.LastError, "trailing slash") {
			t.Fatalf("stats: %+v", st)
		}
		if _, err := e.s.Current(time.Now()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("Current: %v", err)
		}
		if _, err := e.s.UnknownKID(context.Background(), "k1"); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("UnknownKID: %v", err)
		}
		p.setDoc(t, map[string]any{"issuer": discIssuer, "jwks_uri": "https://idp.test/keys"})
		time.Sleep(10 * retryBase)
		synctest.Wait()
		if _, err := e.s.Current(time.Now()); err != nil {
			t.Fatalf("after the document was fixed: %v", err)
		}
	})
}

// max_stale bounds the document too: keys fetched through a document that
// has not been good for max_stale are not served, however well the key
// set's own URL answers.
func TestDiscoveryMaxStale(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		policy := testPolicy
		policy.MaxStale = time.Hour
		p := newDiscIdP(t)
		e := startDiscovered(t, p, policy)
		p.setRawDoc("down", 503)
		time.Sleep(policy.MaxStale - time.Minute)
		synctest.Wait()
		if _, err := e.s.Current(time.Now()); err != nil {
			t.Fatalf("within max_stale: %v", err)
		}
		if st := e.s.Stats(time.Now()); st.FetchOK < 2 {
			t.Fatalf("the key set was not refetched from the held jwks_uri meanwhile: %+v", st)
		}
		time.Sleep(2 * time.Minute)
		if _, err := e.s.Current(time.Now()); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("past max_stale of the document: %v, want unavailable", err)
		}
	})
}

// Fetches for unknown kids that arrive while a refresh waits on the
// document join that flight: one document and one key set request serve
// them all. Close ends a held flight.
func TestDiscoveryCoalesced(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// An http_timeout longer than the refresh's jitter keeps the held
		// refresh waiting until the test releases it.
		policy := testPolicy
		policy.HTTPTimeout = testPolicy.RefreshInterval / 2
		p := newDiscIdP(t)
		e := startDiscovered(t, p, policy)
		p.requests()
		p.hold()
		time.Sleep(testPolicy.RefreshInterval * 11 / 10)
		synctest.Wait() // the refresh waits on the document
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				if _, err := e.s.UnknownKID(context.Background(), "k1-new"); err != nil {
					t.Error(err)
				}
			})
		}
		synctest.Wait()
		p.release()
		wg.Wait()
		want(t, "requests", p.requests(), []string{"doc", "/keys"})

		p.hold()
		go e.s.Refresh(context.Background())
		synctest.Wait()
		e.s.Close() // returns although the document never answers
	})
}
