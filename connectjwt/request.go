package connectjwt

import "net/http"

// headerRequest is the core.Request of a call: its HTTP request header. A
// call's URL carries its procedure (and, for a Connect GET, its message),
// never a token, so it has no query to read. Cookies come from the Cookie
// header, as a browser client sends them. method and procedure name the
// call in the rejection log line.
type headerRequest struct {
	h                 http.Header
	method, procedure string
}

// Target is the call's HTTP method and its procedure, "/package.Service/Method"
// (core.RequestTarget).
func (r headerRequest) Target() (string, string) { return r.method, r.procedure }

func (r headerRequest) Header(name string) []string { return r.h.Values(name) }
func (headerRequest) Query(string) []string         { return nil }
func (r headerRequest) Cookie(name string) (string, bool) {
	c, err := (&http.Request{Header: r.h}).Cookie(name)
	if err != nil {
		return "", false
	}
	return c.Value, true
}
