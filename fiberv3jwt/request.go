package fiberv3jwt

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/jwtguard/jwtguard/core"
)

// request is the core.Request of a fasthttp request, read as net/http reads
// its own: every field of a header, so two Authorization fields are two,
// and names matched case-insensitively even under DisableHeaderNormalizing.
type request struct{ r *fasthttp.Request }

func (q request) Header(name string) []string {
	var values []string
	for k, v := range q.r.Header.All() {
		if strings.EqualFold(string(k), name) {
			values = append(values, string(v)) // a copy: fasthttp reuses its buffers
		}
	}
	return values
}

// Query and Cookie use net/http's parsers, which drop malformed pairs that
// fasthttp would keep.
func (q request) Query(name string) []string {
	values, _ := url.ParseQuery(string(q.r.URI().QueryString()))
	return values[name]
}

// Target names the request in the rejection log line (core.RequestTarget):
// its method and its path, without the query.
func (q request) Target() (method, path string) {
	return string(q.r.Header.Method()), string(q.r.URI().Path())
}

func (q request) Cookie(name string) (string, bool) {
	return core.HTTPRequest(&http.Request{Header: http.Header{"Cookie": q.Header("Cookie")}}).Cookie(name)
}
