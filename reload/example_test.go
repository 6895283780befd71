package reload_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/jwtguardtest"
	"github.com/jwtguard/jwtguard/reload"
)

// A service edits its baseline file; the verifier follows without a
// restart.
func ExampleWatch() {
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	dir, err := os.MkdirTemp("", "jwtguard-reload")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "baseline.yaml")
	file := func(audience string) []byte {
		return []byte("issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() +
			"\nalgorithms: [RS256]\naudiences: [" + audience + "]\n")
	}
	if err := os.WriteFile(path, file("orders-api"), 0o600); err != nil {
		log.Fatal(err)
	}
	cfg, err := core.LoadBaseline(path)
	if err != nil {
		log.Fatal(err)
	}
	v, err := core.New(cfg, core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()

	switched := make(chan reload.Result, 8)
	w, err := reload.Watch(v, path, reload.OnReload(func(r reload.Result) {
		if r.Changed {
			switched <- r
		}
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()

	token := idp.NewToken("alice").Audience("orders-v2").Sign()
	_, err = v.Verify(context.Background(), token)
	fmt.Println("before:", err)
	if err := os.WriteFile(path, file("orders-v2"), 0o600); err != nil {
		log.Fatal(err)
	}
	r := <-switched
	_, err = v.Verify(context.Background(), token)
	fmt.Println("after:", err, r.Trigger)
	// Output:
	// before: jwtguard: audience_invalid: token is not for this audience
	// after: <nil> file
}
