package bench

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"

	auth0validator "github.com/auth0/go-jwt-middleware/v2/validator"
	"github.com/coreos/go-oidc/v3/oidc"
	gofiberjwt "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jwtguard/jwtguard/core"
	labstackjwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/lestrrat-go/jwx/v3/jwa"
	jwxjwt "github.com/lestrrat-go/jwx/v3/jwt"
	"github.com/valyala/fasthttp"
)

// prepare readies one token for verification and returns the call that
// verifies it, so that a benchmark loop measures the verification alone.
type prepare func(token string) (verify func() error)

// contender is one library set up for the checks every contender shares:
// the issuer, the audience, the one algorithm of s, a required exp.
type contender struct {
	name  string
	build func(tb testing.TB, s *signer) prepare
}

// contenders is the field of BenchmarkPeerVerify and TestPeersAgree. A
// middleware with no verify function of its own is called directly on a
// reused framework context, so its number includes reading the
// Authorization header but no routing.
var contenders = []contender{
	{"jwtguard-cached", func(tb testing.TB, s *signer) prepare {
		return verifyWith(newJWTGuard(tb, s, true).Verify)
	}},
	{"jwtguard-uncached", func(tb testing.TB, s *signer) prepare {
		return verifyWith(newJWTGuard(tb, s, false).Verify)
	}},
	{"golang-jwt", newGolangJWT},
	{"auth0", func(tb testing.TB, s *signer) prepare {
		return verifyWith(newAuth0(tb, s).ValidateToken)
	}},
	{"echo-jwt", newEchoJWT},
	{"fiber-jwt", newFiberJWT},
	{"jwx", newJWX},
	{"go-oidc", func(tb testing.TB, s *signer) prepare {
		return verifyWith(newGoOIDC(s).Verify)
	}},
}

func verifyWith[T any](verify func(context.Context, string) (T, error)) prepare {
	return func(token string) func() error {
		ctx := context.Background()
		return func() error {
			_, err := verify(ctx, token)
			return err
		}
	}
}

// newJWTGuard builds the verifier from the baseline a service would write;
// the cache is on by default and turned off with cache.max_entries: 0.
func newJWTGuard(tb testing.TB, s *signer, cached bool) *core.Verifier {
	tb.Helper()
	cfg := core.Config{
		Issuers: []core.IssuerConfig{{
			Issuer:     testIssuer,
			PublicKeys: map[string]crypto.PublicKey{s.kid: s.pub},
		}},
		Audiences:  []string{testAudience},
		Algorithms: []string{s.alg},
	}
	if !cached {
		zero := 0
		cfg.Cache.MaxEntries = &zero
	}
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(v.Close)
	return v
}

// newGolangJWT is golang-jwt v5 alone, with the parser options its docs
// give for each check.
func newGolangJWT(_ testing.TB, s *signer) prepare {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{s.alg}),
		jwt.WithIssuer(testIssuer),
		jwt.WithAudience(testAudience),
		jwt.WithExpirationRequired(),
	}
	keyFunc := func(*jwt.Token) (any, error) { return s.pub, nil }
	return func(token string) func() error {
		return func() error {
			_, err := jwt.Parse(token, keyFunc, opts...)
			return err
		}
	}
}

// newAuth0 is the validator of auth0/go-jwt-middleware v2. It takes the
// issuer, the audience and one algorithm; it checks exp only when present,
// so exp is required through its custom claims hook.
func newAuth0(tb testing.TB, s *signer) *auth0validator.Validator {
	tb.Helper()
	v, err := auth0validator.New(
		func(context.Context) (any, error) { return s.pub, nil },
		auth0validator.SignatureAlgorithm(s.alg),
		testIssuer,
		[]string{testAudience},
		auth0validator.WithCustomClaims(func() auth0validator.CustomClaims { return new(expPresent) }),
	)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

var errNoExp = errors.New("exp is missing")

// expPresent requires exp, which auth0's validator leaves optional.
type expPresent struct {
	Exp *float64 `json:"exp"`
}

func (e *expPresent) Validate(context.Context) error {
	if e.Exp == nil {
		return errNoExp
	}
	return nil
}

// accessClaims is the claims type given to the golang-jwt based
// middlewares (echo-jwt, gofiber contrib jwt). Neither takes parser
// options, so the checks golang-jwt leaves to the caller go in Validate,
// which golang-jwt v5 runs after its own time checks (jwt.ClaimsValidator).
type accessClaims struct {
	jwt.RegisteredClaims
	Scope string `json:"scope"`
}

func (c *accessClaims) Validate() error {
	switch {
	case c.Issuer != testIssuer:
		return jwt.ErrTokenInvalidIssuer
	case !slices.Contains(c.Audience, testAudience):
		return jwt.ErrTokenInvalidAudience
	case c.ExpiresAt == nil:
		return jwt.ErrTokenRequiredClaimMissing
	}
	return nil
}

// echoJWTConfig is labstack/echo-jwt with the key and the one algorithm
// its SigningKey and SigningMethod take.
func echoJWTConfig(s *signer) labstackjwt.Config {
	return labstackjwt.Config{
		SigningKey:    s.pub,
		SigningMethod: s.alg,
		NewClaimsFunc: func(echo.Context) jwt.Claims { return new(accessClaims) },
	}
}

func newEchoJWT(tb testing.TB, s *signer) prepare {
	e := echo.New()
	mw, err := echoJWTConfig(s).ToMiddleware()
	if err != nil {
		tb.Fatal(err)
	}
	h := mw(func(echo.Context) error { return nil })
	return func(token string) func() error {
		r := httptest.NewRequest(http.MethodGet, "/orders", nil)
		r.Header.Set("Authorization", "Bearer "+token)
		w := newDiscardWriter()
		c := e.NewContext(r, w)
		return func() error {
			c.Reset(r, w)
			return h(c)
		}
	}
}

// fiberJWTConfig is gofiber/contrib jwt with the key and the one
// algorithm its SigningKey takes.
func fiberJWTConfig(s *signer) gofiberjwt.Config {
	return gofiberjwt.Config{
		SigningKey: gofiberjwt.SigningKey{JWTAlg: s.alg, Key: s.pub},
		Claims:     new(accessClaims),
	}
}

func newFiberJWT(_ testing.TB, s *signer) prepare {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	cfg := fiberJWTConfig(s)
	// Outside a route there is no next handler to call.
	cfg.SuccessHandler = func(*fiber.Ctx) error { return nil }
	h := gofiberjwt.New(cfg)
	return func(token string) func() error {
		fctx := new(fasthttp.RequestCtx)
		fctx.Request.Header.SetMethod(fiber.MethodGet)
		fctx.Request.SetRequestURI("/orders")
		fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
		c := app.AcquireCtx(fctx)
		return func() error {
			if err := h(c); err != nil {
				return err
			}
			// The default error handler answers the request and returns nil.
			if code := c.Response().StatusCode(); code != fiber.StatusOK {
				return fmt.Errorf("status %d", code)
			}
			return nil
		}
	}
}

// newJWX is lestrrat-go/jwx v3: jwt.Parse verifies with the given key and
// algorithm and validates the claims by default.
func newJWX(tb testing.TB, s *signer) prepare {
	alg, ok := jwa.LookupSignatureAlgorithm(s.alg)
	if !ok {
		tb.Fatalf("jwx: no algorithm %s", s.alg)
	}
	opts := []jwxjwt.ParseOption{
		jwxjwt.WithKey(alg, s.pub),
		jwxjwt.WithIssuer(testIssuer),
		jwxjwt.WithAudience(testAudience),
		jwxjwt.WithRequiredClaim(jwxjwt.ExpirationKey),
	}
	return func(token string) func() error {
		return func() error {
			_, err := jwxjwt.Parse([]byte(token), opts...)
			return err
		}
	}
}

// newGoOIDC is coreos/go-oidc v3 with the keys given statically; ClientID
// is the audience, and exp is always checked.
func newGoOIDC(s *signer) *oidc.IDTokenVerifier {
	keys := &oidc.StaticKeySet{PublicKeys: []crypto.PublicKey{s.pub}}
	return oidc.NewVerifier(testIssuer, keys, &oidc.Config{
		ClientID:             testAudience,
		SupportedSigningAlgs: []string{s.alg},
	})
}

// discardWriter is a reusable http.ResponseWriter that keeps the status.
type discardWriter struct {
	header http.Header
	code   int
}

func newDiscardWriter() *discardWriter { return &discardWriter{header: http.Header{}} }

func (w *discardWriter) Header() http.Header { return w.header }

func (w *discardWriter) Write(p []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return len(p), nil
}

func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *discardWriter) reset() {
	clear(w.header)
	w.code = 0
}
