// Package gateways holds the sample configs that put `jwtguard serve` behind
// a gateway, and their tests: nginx.conf (auth_request), Caddyfile
// (forward_auth), envoy-http.yaml and envoy-grpc.yaml (ext_authz over HTTP
// and gRPC), traefik.yaml with traefik-dynamic.yaml (forwardAuth), and
// policy.yaml, the route policy they all serve.
//
// The tests run nginx and Caddy as real processes on these very files, with
// their placeholder addresses replaced by free loopback ports, in front of
// an upstream that echoes what it receives and with a real `jwtguard serve`
// as the auth server; they fail, naming the package to install, when a
// gateway is missing (`bash scripts/test.sh` installs both on Debian).
// Envoy's and Traefik's files are parsed and checked instead: Envoy's into
// its bootstrap proto, validated; Traefik's strictly decoded.
//
// The load generator in ./load measures what nginx plus jwtguard adds over
// nginx alone:
//
//	go run ./examples/gateways/load -rate 2000 -duration 20s
package gateways
