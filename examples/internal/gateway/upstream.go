package gateway

import (
	"encoding/json"
	"net/http"
)

// Echoed is what the echo upstream received: the request as the gateway
// forwarded it.
type Echoed struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"`
	Header http.Header `json:"header"`
}

// Echo is the upstream application of the runs: it answers 200 with the
// request it received as JSON, so a test sees every header the gateway
// let through.
func Echo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Echoed{Method: r.Method, URI: r.RequestURI, Header: r.Header})
	})
}
