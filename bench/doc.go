// Package bench puts jwtguard side by side with the Go JWT libraries and
// middlewares a service would otherwise use. It is a module of its own so
// that none of them enters the dependencies of github.com/jwtguard/jwtguard.
//
// Every contender verifies the same tokens, signed at run time with the same
// keys, and enforces the same checks: the issuer, the audience, one allowed
// algorithm, and a required, unexpired exp. TestPeersAgree proves it: every
// contender accepts the good token and rejects each bad one.
//
// The benchmarks are BenchmarkPeerVerify/<contender>/<alg>, one verification,
// and BenchmarkPeerRequest/<framework>/<middleware>, one HTTP request through
// a framework with and without its JWT middleware ("none"). The command in
// cmd/table runs both and writes the Markdown tables of RESULTS.md:
//
//	cd bench && go run ./cmd/table -count 5 -o RESULTS.md
package bench
