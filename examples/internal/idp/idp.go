// Package idp is the identity provider of the examples and the demo: a
// [jwtguardtest.IdP] that signs ES256 on a loopback address, with the
// issuer its own URL as a real IdP's is, and an unauthenticated token
// endpoint. It is for loopback use only.
package idp

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// IdP is a jwtguardtest IdP with a token endpoint.
type IdP struct {
	*jwtguardtest.IdP
}

// Start serves an IdP on addr ("127.0.0.1:0" for any free port) until
// Close. Its issuer is its URL with a trailing slash, so that its key set
// is at the issuer followed by .well-known/jwks.json, as examples/
// baseline.yaml has it. Its tokens are for audience; now is the clock of
// their iat and exp. Its first key is made for this IdP, so that kids never
// repeat across runs: a service left running against an earlier run sees
// an unknown kid, and fetches the new keys.
func Start(addr, audience string, now func() time.Time) (*IdP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p := &IdP{jwtguardtest.NewIdP(
		jwtguardtest.WithListener(ln),
		jwtguardtest.WithIssuer("http://"+ln.Addr().String()+"/"),
		jwtguardtest.WithAudience(audience),
		jwtguardtest.WithSigningKey(jwtguardtest.NewKey("ES256")),
		jwtguardtest.WithClock(now),
	)}
	p.Handle("GET /token", http.HandlerFunc(p.serveToken))
	return p, nil
}

// RotateKeeping rotates the signing key and removes the keys it replaced
// but the keep most recent, which stay published so that the tokens they
// signed keep verifying for a while. It returns the new kid.
func (p *IdP) RotateKeeping(keep int) string {
	k := p.Rotate()
	kids := p.KIDs()
	for _, kid := range kids[:max(0, len(kids)-1-keep)] {
		p.Remove(kid)
	}
	return k.KID()
}

// serveToken answers the bare token. It takes sub (default alice), scope
// (a space-delimited list), scp (repeated, sent as an array), aud (default
// the IdP's audience) and ttl (a Go duration, default 1h; negative for an
// expired token). It authenticates no one.
func (p *IdP) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sub := q.Get("sub")
	if sub == "" {
		sub = "alice"
	}
	t := p.NewToken(sub).Scopes(strings.Fields(q.Get("scope"))...)
	if scp := q["scp"]; len(scp) > 0 {
		t.Claim("scp", scp)
	}
	if aud := q.Get("aud"); aud != "" {
		t.Audience(aud)
	}
	if ttl := q.Get("ttl"); ttl != "" {
		d, err := time.ParseDuration(ttl)
		if err != nil {
			http.Error(w, "ttl: "+err.Error(), http.StatusBadRequest)
			return
		}
		t.ExpiresIn(d)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	fmt.Fprintln(w, t.Sign())
}
