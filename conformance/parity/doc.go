// Package parity runs the conformance matrix through every jwtguard
// adapter (net/http, gin, echo, fiber v2 and v3, gRPC unary and stream,
// Connect unary and stream) and fails listing each case on which any two give
// different verdicts.
//
// It is its own module so that it can import every adapter module without
// putting their frameworks into the root module's go.mod. Its test is all
// there is:
//
//	go test -race -count=1 ./conformance/parity
package parity
