package grpcjwt

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// callRequest is the core.Request of a call: metadata are its headers, read
// by key rather than copied whole; a call has no query or cookies.
type callRequest struct{ ctx context.Context }

func (r callRequest) Header(name string) []string {
	return metadata.ValueFromIncomingContext(r.ctx, name)
}
func (callRequest) Query(string) []string        { return nil }
func (callRequest) Cookie(string) (string, bool) { return "", false }
