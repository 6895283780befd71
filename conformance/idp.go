package conformance

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// The paths a served IdP answers beside its key set. The control endpoint
// is how [Target.Run], usually another process, rotates and removes keys
// and takes the key set down; only loopback clients may use it.
const (
	discoveryPath = "/.well-known/openid-configuration"
	baselinePath  = "/conformance/baseline"
	controlPath   = "/conformance/control"
	straysPath    = "/conformance/strays"
)

// servedSet is the key set a served IdP publishes: the standard set, and
// rsa-weak, the decoy of kid-rsa-key-too-short.
const servedSet = withWeakKey

// IdP is the matrix's identity provider, served on loopback for a target
// that runs in another process, in any language: its key set holds the
// keys and decoys the matrix needs, made from the matrix's fixed keys, so
// that [Target.Run] signs every case's token with keys the IdP publishes.
// The keys are public; never let a service trust this IdP outside a test.
type IdP struct {
	idp    *jwtguardtest.IdP
	keys   *keyring
	strays *strays
}

// Baseline is what a service must be configured with to be tested
// against a served IdP.
type Baseline struct {
	Issuer         string
	JWKSURL        string
	Audience       string
	Algorithms     []string
	Leeway         time.Duration
	RequiredClaims []string
}

// ServeIdP serves the matrix's IdP on ln until Close. ln must listen on a
// loopback address: the keys are public, and the control endpoint changes
// the key set for anyone who asks. Its issuer is its URL.
func ServeIdP(ln net.Listener) (*IdP, error) {
	if addr, ok := ln.Addr().(*net.TCPAddr); !ok || !addr.IP.IsLoopback() {
		return nil, fmt.Errorf("conformance: the IdP serves on a loopback address only, not %s", ln.Addr())
	}
	url := "http://" + ln.Addr().String()
	keys := matrixKeys()
	p := &IdP{keys: keys, strays: &strays{}}
	p.idp = jwtguardtest.NewIdP(jwtguardtest.WithListener(ln), jwtguardtest.WithSigningKey(keys.rsa),
		jwtguardtest.WithIssuer(url), jwtguardtest.WithAudience(audience), jwtguardtest.WithClock(time.Now))
	servedSet.publish(p.idp, keys)
	serveStrays(p.idp, keys, p.strays)
	p.idp.Handle("GET "+discoveryPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"issuer": url, "jwks_uri": p.idp.JWKSURL(),
			"id_token_signing_alg_values_supported": p.Baseline().Algorithms})
	}))
	p.idp.Handle("GET "+baselinePath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, p.Baseline().wire())
	}))
	p.idp.Handle("GET "+straysPath, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, map[string]any{"requests": nonNil(p.strays.requests())})
	}))
	p.idp.Handle("POST "+controlPath, http.HandlerFunc(p.control))
	return p, nil
}

// URL is the IdP's base URL, for [Target].IdP.
func (p *IdP) URL() string { return p.idp.URL() }

// Close stops the IdP and closes its listener.
func (p *IdP) Close() { p.idp.Close() }

// Baseline is what the service under test must be configured with.
func (p *IdP) Baseline() Baseline {
	cfg := p.idp.Config()
	return Baseline{Issuer: p.idp.Issuer(), JWKSURL: p.idp.JWKSURL(), Audience: p.idp.Audience(),
		Algorithms: cfg.Algorithms, Leeway: cfg.Leeway, RequiredClaims: []string{}}
}

// YAML is b as a jwtguard baseline file, which a jwtguard service loads as
// it is; for a service on another library it lists the values to set.
func (b Baseline) YAML() []byte {
	quoted := func(list []string) string {
		q := make([]string, len(list))
		for i, s := range list {
			q[i] = fmt.Sprintf("%q", s)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	return fmt.Appendf(nil, "issuers:\n  - issuer: %q\n    jwks_url: %q\naudiences: %s\nalgorithms: %s\nleeway: %s\nrequired_claims: %s\n",
		b.Issuer, b.JWKSURL, quoted([]string{b.Audience}), quoted(b.Algorithms), seconds(b.Leeway), quoted(b.RequiredClaims))
}

// baselineWire is Baseline as the IdP serves it at /conformance/baseline,
// the leeway written as a duration ("60s").
type baselineWire struct {
	Issuer         string   `json:"issuer"`
	JWKSURL        string   `json:"jwks_url"`
	Audience       string   `json:"audience"`
	Algorithms     []string `json:"algorithms"`
	Leeway         string   `json:"leeway"`
	RequiredClaims []string `json:"required_claims"`
}

func (b Baseline) wire() baselineWire {
	return baselineWire{b.Issuer, b.JWKSURL, b.Audience, b.Algorithms, seconds(b.Leeway), b.RequiredClaims}
}

// seconds writes a whole number of seconds as a duration: "60s".
func seconds(d time.Duration) string { return fmt.Sprintf("%ds", d/time.Second) }

func (w baselineWire) baseline() (Baseline, error) {
	leeway, err := time.ParseDuration(w.Leeway)
	if err != nil || w.Issuer == "" || w.Audience == "" {
		return Baseline{}, errors.New("not the baseline of a conformance IdP")
	}
	return Baseline{w.Issuer, w.JWKSURL, w.Audience, w.Algorithms, leeway, w.RequiredClaims}, nil
}

// controlRequest is one change a runner asks of the IdP.
type controlRequest struct {
	// Op is publish (a key of the matrix, by kid), remove (every key
	// under kid), fail (key set requests answer 503), restore (they are
	// answered again) or reset (the key set as at start, answered).
	Op  string `json:"op"`
	KID string `json:"kid,omitempty"`
}

func (p *IdP) control(w http.ResponseWriter, r *http.Request) {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err != nil || !net.ParseIP(host).IsLoopback() {
		http.Error(w, "the control endpoint answers loopback clients only", http.StatusForbidden)
		return
	}
	var req controlRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&req); err != nil {
		http.Error(w, "want a JSON object with op and kid", http.StatusBadRequest)
		return
	}
	publishable := map[string]*jwtguardtest.Key{p.keys.ec2.KID(): p.keys.ec2}
	switch req.Op {
	case "publish":
		k, ok := publishable[req.KID]
		if !ok {
			http.Error(w, "no key of the matrix to publish under that kid", http.StatusBadRequest)
			return
		}
		p.idp.Publish(k)
	case "remove":
		p.idp.Remove(req.KID)
	case "fail":
		p.idp.Fail(http.StatusServiceUnavailable)
	case "restore":
		p.idp.Restore()
	case "reset":
		for _, kid := range p.idp.KIDs() {
			p.idp.Remove(kid)
		}
		p.idp.Publish(p.keys.rsa)
		servedSet.publish(p.idp, p.keys)
		p.idp.Restore()
	default:
		http.Error(w, "unknown op", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(js(v))
}

// idpClient is how a runner reads and drives a served IdP.
type idpClient struct {
	base   string
	client *http.Client
}

func (c *idpClient) get(ctx context.Context, path string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

func (c *idpClient) baseline(ctx context.Context) (Baseline, error) {
	var w baselineWire
	if err := c.get(ctx, baselinePath, &w); err != nil {
		return Baseline{}, err
	}
	return w.baseline()
}

func (c *idpClient) strays(ctx context.Context) ([]string, error) {
	var s struct {
		Requests []string `json:"requests"`
	}
	err := c.get(ctx, straysPath, &s)
	return s.Requests, err
}

func (c *idpClient) do(ctx context.Context, op, kid string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+controlPath,
		strings.NewReader(string(js(controlRequest{Op: op, KID: kid}))))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		return fmt.Errorf("the IdP refused %s: HTTP %d %s", op, resp.StatusCode, strings.TrimSpace(string(msg)))
	}
	return nil
}
