package fiberjwt

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gofiber/fiber/v2"
	"github.com/valyala/fasthttp"

	"github.com/jwtguard/jwtguard/core"
)

// Option changes how the middleware meets fiber. Verification settings
// belong to the verifier's baseline, never here.
type Option func(*config)

// ErrorHandler answers a rejected request; the handler never runs, and the
// error returned goes to fiber's ErrorHandler. err carries the Reason;
// v.Response(err) is the RFC 6750 response. Never send err.Error().
type ErrorHandler func(c *fiber.Ctx, err *core.Error) error

// WithErrorHandler replaces the RFC 6750 response of rejections, from
// Middleware and from RequireScopes behind it.
func WithErrorHandler(h ErrorHandler) Option { return func(c *config) { c.onError = h } }

// WithNext lets requests for which next returns true through without a
// token and without claims, as Next does in fiber's own middleware.
func WithNext(next func(c *fiber.Ctx) bool) Option { return func(c *config) { c.next = next } }

type config struct {
	onError ErrorHandler
	next    func(*fiber.Ctx) bool
}

// fail answers a rejection; a nil config sends v's RFC 6750 response: the
// headers, status and body nethttpjwt writes.
func (c *config) fail(v *core.Verifier, fc *fiber.Ctx, err error) error {
	if c != nil && c.onError != nil {
		return c.onError(fc, core.AsError(err))
	}
	resp := v.Response(err)
	for name, values := range resp.Headers() {
		fc.Set(name, values[0])
	}
	return fc.Status(resp.Status).Send(resp.Body)
}

// request is the core.Request of a fasthttp request, read as net/http reads
// its own: every field of a header, so two Authorization fields are two,
// and names matched case-insensitively even under DisableHeaderNormalizing.
type request struct{ r *fasthttp.Request }

func (q request) Header(name string) []string {
	var values []string
	q.r.Header.VisitAll(func(k, v []byte) {
		if strings.EqualFold(string(k), name) {
			values = append(values, string(v)) // a copy: fasthttp reuses its buffers
		}
	})
	return values
}

// Query and Cookie use net/http's parsers, which drop malformed pairs that
// fasthttp would keep.
func (q request) Query(name string) []string {
	values, _ := url.ParseQuery(string(q.r.URI().QueryString()))
	return values[name]
}

func (q request) Cookie(name string) (string, bool) {
	return core.HTTPRequest(&http.Request{Header: http.Header{"Cookie": q.Header("Cookie")}}).Cookie(name)
}
