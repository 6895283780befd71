// Command golangjwt is a service that verifies tokens with
// github.com/golang-jwt/jwt/v5 and github.com/MicahParks/keyfunc/v3,
// configured as their documentation shows: keyfunc.NewDefaultCtx on the
// IdP's JWKS URL, the parser options for the algorithms, issuer, audience,
// leeway and a required exp, and the token taken from the Authorization
// header by golang-jwt's request package. It is not a jwtguard service: it
// is the peer that jwtguard conformance run is tested against, and what it
// fails is the README's example of what the tool finds.
//
//	golangjwt -issuer ISS -jwks URL [-audience AUD] [-addr 127.0.0.1:8080]
//
// GET /whoami needs a valid token and answers its claims; GET /admin needs
// one whose scope claim lists admin.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
	"github.com/golang-jwt/jwt/v5/request"
)

func main() {
	issuer := flag.String("issuer", "", "the trusted `issuer` (required)")
	jwksURL := flag.String("jwks", "", "the issuer's JWKS `URL` (required)")
	audience := flag.String("audience", "https://api.example.test", "this service's `audience`")
	algorithms := flag.String("algorithms", "ES256,EdDSA,PS256,RS256", "the allowed `algorithms`, comma-separated")
	leeway := flag.Duration("leeway", 60*time.Second, "clock skew tolerated on exp, nbf and iat")
	addr := flag.String("addr", "127.0.0.1:8080", "listen `address`")
	flag.Parse()
	if *issuer == "" || *jwksURL == "" {
		fmt.Fprintln(os.Stderr, "usage: golangjwt -issuer ISS -jwks URL [-audience AUD] [-addr HOST:PORT]")
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := newService(ctx, config{*issuer, *jwksURL, *audience, strings.Split(*algorithms, ","), *leeway})
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		log.Fatal(err)
	}
}

// config is what the service is configured with: the values jwtguard
// conformance serve-idp prints.
type config struct {
	issuer, jwksURL, audience string
	algorithms                []string
	leeway                    time.Duration
}

// newService returns the routes. The key set is fetched and refreshed
// until ctx is done.
func newService(ctx context.Context, c config) (http.Handler, error) {
	k, err := keyfunc.NewDefaultCtx(ctx, []string{c.jwksURL})
	if err != nil {
		return nil, err
	}
	parser := jwt.NewParser(
		jwt.WithValidMethods(c.algorithms),
		jwt.WithIssuer(c.issuer),
		jwt.WithAudience(c.audience),
		jwt.WithLeeway(c.leeway),
		jwt.WithExpirationRequired(),
	)
	authenticate := func(r *http.Request) (jwt.MapClaims, bool) {
		claims := jwt.MapClaims{}
		_, err := request.ParseFromRequest(r, request.AuthorizationHeaderExtractor, k.Keyfunc,
			request.WithClaims(claims), request.WithParser(parser))
		return claims, err == nil
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /whoami", func(w http.ResponseWriter, r *http.Request) {
		claims, ok := authenticate(r)
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(claims)
	})
	mux.HandleFunc("GET /admin", func(w http.ResponseWriter, r *http.Request) {
		claims, ok := authenticate(r)
		if !ok {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		// RFC 8693 section 4.2: a space-separated list.
		scope, _ := claims["scope"].(string)
		if !slices.Contains(strings.Fields(scope), "admin") {
			http.Error(w, "forbidden", http.StatusForbidden)
			return
		}
		fmt.Fprintln(w, `{"admin":true}`)
	})
	return mux, nil
}
