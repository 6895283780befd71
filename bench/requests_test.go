package bench

import (
	"cmp"
	"net/http"
	"net/http/httptest"
	"testing"

	jwtmiddleware "github.com/auth0/go-jwt-middleware/v2"
	"github.com/gin-gonic/gin"
	gofiberjwt "github.com/gofiber/contrib/jwt"
	"github.com/gofiber/fiber/v2"
	"github.com/jwtguard/jwtguard/echojwt"
	"github.com/jwtguard/jwtguard/fiberjwt"
	"github.com/jwtguard/jwtguard/ginjwt"
	"github.com/jwtguard/jwtguard/nethttpjwt"
	labstackjwt "github.com/labstack/echo-jwt/v4"
	"github.com/labstack/echo/v4"
	"github.com/valyala/fasthttp"
)

// requestAlg signs the token of every request benchmark: RS256 is what
// identity providers sign access tokens with unless told otherwise.
const requestAlg = "RS256"

// route readies one request carrying token (none when empty) and returns
// the call that serves it, giving the response status.
type route func(token string) (serve func() int)

// requestContender is one framework with one JWT middleware, or with none.
type requestContender struct {
	framework  string
	middleware string
	build      func(tb testing.TB, s *signer) route
}

// requestContenders is the field of BenchmarkPeerRequest and
// TestPeerMiddlewaresAgree. Every framework serves GET /orders with the
// same handler; a middleware is one more argument to the framework's
// router helper below.
var requestContenders = []requestContender{
	{"nethttp", "none", func(testing.TB, *signer) route { return httpRoute(netHTTPMux()) }},
	{"nethttp", "jwtguard-cached", func(tb testing.TB, s *signer) route {
		return httpRoute(netHTTPMux(nethttpjwt.Middleware(newJWTGuard(tb, s, true))))
	}},
	{"nethttp", "jwtguard-uncached", func(tb testing.TB, s *signer) route {
		return httpRoute(netHTTPMux(nethttpjwt.Middleware(newJWTGuard(tb, s, false))))
	}},
	{"nethttp", "auth0", func(tb testing.TB, s *signer) route {
		return httpRoute(netHTTPMux(jwtmiddleware.New(newAuth0(tb, s).ValidateToken).CheckJWT))
	}},

	{"echo", "none", func(testing.TB, *signer) route { return httpRoute(echoRouter()) }},
	{"echo", "jwtguard-cached", func(tb testing.TB, s *signer) route {
		return httpRoute(echoRouter(echojwt.Middleware(newJWTGuard(tb, s, true))))
	}},
	{"echo", "jwtguard-uncached", func(tb testing.TB, s *signer) route {
		return httpRoute(echoRouter(echojwt.Middleware(newJWTGuard(tb, s, false))))
	}},
	{"echo", "echo-jwt", func(_ testing.TB, s *signer) route {
		return httpRoute(echoRouter(labstackjwt.WithConfig(echoJWTConfig(s))))
	}},

	{"fiber", "none", func(testing.TB, *signer) route { return fiberRoute(fiberApp()) }},
	{"fiber", "jwtguard-cached", func(tb testing.TB, s *signer) route {
		return fiberRoute(fiberApp(fiberjwt.Middleware(newJWTGuard(tb, s, true))))
	}},
	{"fiber", "jwtguard-uncached", func(tb testing.TB, s *signer) route {
		return fiberRoute(fiberApp(fiberjwt.Middleware(newJWTGuard(tb, s, false))))
	}},
	{"fiber", "fiber-jwt", func(_ testing.TB, s *signer) route {
		return fiberRoute(fiberApp(gofiberjwt.New(fiberJWTConfig(s))))
	}},

	{"gin", "none", func(testing.TB, *signer) route { return httpRoute(ginEngine()) }},
	{"gin", "jwtguard-cached", func(tb testing.TB, s *signer) route {
		return httpRoute(ginEngine(ginjwt.Middleware(newJWTGuard(tb, s, true))))
	}},
	{"gin", "jwtguard-uncached", func(tb testing.TB, s *signer) route {
		return httpRoute(ginEngine(ginjwt.Middleware(newJWTGuard(tb, s, false))))
	}},
}

func init() {
	// Release mode: no route table printed by gin.New.
	gin.SetMode(gin.ReleaseMode)
}

const ordersPath = "/orders"

func netHTTPMux(mw ...func(http.Handler) http.Handler) http.Handler {
	var h http.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte("ok"))
	})
	for _, m := range mw {
		h = m(h)
	}
	mux := http.NewServeMux()
	mux.Handle("GET "+ordersPath, h)
	return mux
}

func echoRouter(mw ...echo.MiddlewareFunc) *echo.Echo {
	e := echo.New()
	e.GET(ordersPath, func(c echo.Context) error { return c.String(http.StatusOK, "ok") }, mw...)
	return e
}

func ginEngine(mw ...gin.HandlerFunc) *gin.Engine {
	r := gin.New()
	r.GET(ordersPath, append(mw, func(c *gin.Context) { c.String(http.StatusOK, "ok") })...)
	return r
}

func fiberApp(mw ...fiber.Handler) *fiber.App {
	app := fiber.New(fiber.Config{DisableStartupMessage: true})
	app.Get(ordersPath, append(mw, func(c *fiber.Ctx) error { return c.SendString("ok") })...)
	return app
}

// httpRoute serves through an http.Handler, reusing one request and one
// response writer as a server reuses its buffers.
func httpRoute(h http.Handler) route {
	return func(token string) func() int {
		r := httptest.NewRequest(http.MethodGet, ordersPath, nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		w := newDiscardWriter()
		return func() int {
			w.reset()
			h.ServeHTTP(w, r)
			return cmp.Or(w.code, http.StatusOK)
		}
	}
}

// fiberRoute serves through fiber's fasthttp handler, reusing one request
// context as fasthttp's server does.
func fiberRoute(app *fiber.App) route {
	h := app.Handler()
	return func(token string) func() int {
		fctx := new(fasthttp.RequestCtx)
		fctx.Request.Header.SetMethod(fiber.MethodGet)
		fctx.Request.SetRequestURI(ordersPath)
		if token != "" {
			fctx.Request.Header.Set(fiber.HeaderAuthorization, "Bearer "+token)
		}
		return func() int {
			fctx.Response.Reset()
			h(fctx)
			return fctx.Response.StatusCode()
		}
	}
}
