package idp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

func start(t *testing.T) (*idp.IdP, *core.Verifier) {
	t.Helper()
	p, err := idp.Start("127.0.0.1:0", "orders-api", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	v, err := core.New(core.Config{
		Issuers:    []core.IssuerConfig{{Issuer: p.Issuer(), JWKSURL: p.JWKSURL()}},
		Audiences:  []string{"orders-api"},
		Algorithms: []string{"ES256"},
	}, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(v.Close)
	return p, v
}

func reason(err error) core.Reason {
	var e *core.Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}

// The issuer is the IdP's own URL and the key set sits under it, where
// examples/baseline.yaml expects them.
func TestAddresses(t *testing.T) {
	p, _ := start(t)
	if !strings.HasPrefix(p.Issuer(), "http://127.0.0.1:") || p.Issuer() != p.URL()+"/" {
		t.Errorf("issuer %q, URL %q", p.Issuer(), p.URL())
	}
	if want := p.Issuer() + ".well-known/jwks.json"; p.JWKSURL() != want {
		t.Errorf("JWKS URL %q, want %q", p.JWKSURL(), want)
	}
}

// A rotated-out key keeps verifying while it is published, and stops once
// it is removed and the verifier has refreshed.
func TestRotateKeeping(t *testing.T) {
	p, v := start(t)
	ctx := context.Background()
	first := p.SigningKey().KID()
	old := p.Token("alice")
	second := p.RotateKeeping(1)
	if got := p.KIDs(); !slices.Equal(got, []string{first, second}) {
		t.Fatalf("published %v, want %v", got, []string{first, second})
	}
	if _, err := v.Verify(ctx, p.Token("alice")); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("token of the key kept published: %v", err)
	}
	third := p.RotateKeeping(1)
	if got := p.KIDs(); !slices.Equal(got, []string{second, third}) {
		t.Fatalf("published %v, want %v", got, []string{second, third})
	}
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); reason(err) != core.ReasonKeyNotFound {
		t.Errorf("token of a removed key: %v, want key_not_found", err)
	}
	if p.RotateKeeping(0); len(p.KIDs()) != 1 {
		t.Errorf("published %v after keeping none, want one key", p.KIDs())
	}
}

func TestTokenEndpoint(t *testing.T) {
	p, v := start(t)
	get := func(query string) (int, string) {
		resp, err := http.Get(p.Issuer() + "token?" + query)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(body))
	}
	_, token := get("sub=bob&scope=read+admin&scp=a&scp=b")
	c, err := v.Verify(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject() != "bob" || !slices.Equal(c.Scopes(), []string{"a", "admin", "b", "read"}) {
		t.Errorf("sub %q scopes %v, want bob [a admin b read]", c.Subject(), c.Scopes())
	}
	for _, q := range []struct {
		query string
		want  core.Reason
	}{
		{"ttl=-1h", core.ReasonTokenExpired},
		{"aud=billing-api", core.ReasonAudienceInvalid},
	} {
		_, token := get(q.query)
		if _, err := v.Verify(context.Background(), token); reason(err) != q.want {
			t.Errorf("%s: %v, want %s", q.query, err, q.want)
		}
	}
	if code, _ := get("ttl=soon"); code != http.StatusBadRequest {
		t.Errorf("ttl=soon: %d, want 400", code)
	}
}
