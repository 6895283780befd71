package grpcjwt

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// callRequest is the core.Request of a call: metadata are its headers, read
// by key rather than copied whole; a call has no query or cookies. method
// is its full method name, "/package.Service/Method".
type callRequest struct {
	ctx    context.Context
	method string
}

// Target names the call in the rejection log line (core.RequestTarget) as
// it goes over HTTP/2: every gRPC call is a POST whose :path is the full
// method name.
func (r callRequest) Target() (string, string) { return "POST", r.method }

func (r callRequest) Header(name string) []string {
	return metadata.ValueFromIncomingContext(r.ctx, name)
}
func (callRequest) Query(string) []string        { return nil }
func (callRequest) Cookie(string) (string, bool) { return "", false }
