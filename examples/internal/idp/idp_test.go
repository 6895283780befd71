package idp_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/examples/internal/idp"
)

func start(t *testing.T) (*idp.IdP, *core.Verifier) {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	p := idp.New("http://"+srv.Listener.Addr().String()+"/", "orders-api", time.Now)
	srv.Config.Handler = p.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
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

// A rotated-out key keeps verifying while it is published, and stops once
// it is removed and the verifier has refreshed.
func TestRotate(t *testing.T) {
	p, v := start(t)
	ctx := context.Background()
	first := p.KID()
	old := p.Token("alice")
	second := p.Rotate(1)
	if got := p.PublishedKIDs(); !slices.Equal(got, []string{first, second}) {
		t.Fatalf("published %v, want %v", got, []string{first, second})
	}
	if _, err := v.Verify(ctx, p.Token("alice")); err != nil {
		t.Fatalf("token of the new key: %v", err)
	}
	if _, err := v.Verify(ctx, old); err != nil {
		t.Fatalf("token of the key kept published: %v", err)
	}
	third := p.Rotate(1)
	if got := p.PublishedKIDs(); !slices.Equal(got, []string{second, third}) {
		t.Fatalf("published %v, want %v", got, []string{second, third})
	}
	if err := v.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(ctx, old); !errors.Is(err, core.ReasonKeyNotFound) {
		t.Errorf("token of a removed key: %v, want key_not_found", err)
	}
}

func TestHostileTokens(t *testing.T) {
	p, v := start(t)
	for _, c := range []struct {
		name  string
		token string
		want  error
	}{
		{"forged", p.Forge(p.KID(), p.Claims("mallory")), core.ReasonSignatureInvalid},
		{"unsigned", idp.Unsigned(p.KID(), p.Claims("mallory")), core.ReasonAlgNotAllowed},
	} {
		if _, err := v.Verify(context.Background(), c.token); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
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
	_, token = get("ttl=-1h")
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, core.ReasonTokenExpired) {
		t.Errorf("ttl=-1h: %v, want token_expired", err)
	}
	_, token = get("aud=billing-api")
	if _, err := v.Verify(context.Background(), token); !errors.Is(err, core.ReasonAudienceInvalid) {
		t.Errorf("aud=billing-api: %v, want audience_invalid", err)
	}
	if code, _ := get("ttl=soon"); code != http.StatusBadRequest {
		t.Errorf("ttl=soon: %d, want 400", code)
	}
}
