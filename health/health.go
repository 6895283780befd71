package health

import (
	"encoding/json"
	"net/http"

	"github.com/jwtguard/jwtguard/core"
)

// Liveness answers 200 {"status":"ok"} to every request.
func Liveness() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, status{Status: "ok"})
	})
}

// Readiness answers 200 {"status":"ready"} while v holds a key set it may
// serve for every issuer, and otherwise 503 {"status":"not ready"} with
// the issuers that have none (never fetched, or past max_stale).
func Readiness(v *core.Verifier) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		// One pass over Stats, so that the answer and the list it gives
		// are of the same instant.
		var notReady []string
		for _, s := range v.Stats() {
			if !s.Ready {
				notReady = append(notReady, s.Issuer)
			}
		}
		if len(notReady) > 0 {
			writeJSON(w, http.StatusServiceUnavailable, status{Status: "not ready", NotReady: notReady})
			return
		}
		writeJSON(w, http.StatusOK, status{Status: "ready"})
	})
}

type status struct {
	Status   string   `json:"status"`
	NotReady []string `json:"not_ready,omitempty"`
}

func writeJSON(w http.ResponseWriter, code int, s status) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// A probe must see the state of now, never a cached answer.
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(s)
}
