package fleet_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/jwtguard/jwtguard/core"
	"github.com/jwtguard/jwtguard/fleet"
	"github.com/jwtguard/jwtguard/jwtguardtest"
)

// exampleBus runs a NATS server with JetStream for an example, and
// returns a connection to it and a function that stops both.
func exampleBus() (jetstream.JetStream, func()) {
	dir, err := os.MkdirTemp("", "jwtguard-fleet-example")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		log.Fatal(err)
	}
	go srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		log.Fatal("NATS not ready")
	}
	nc, err := nats.Connect(srv.ClientURL())
	if err != nil {
		log.Fatal(err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		log.Fatal(err)
	}
	return js, func() {
		nc.Close()
		srv.Shutdown()
		srv.WaitForShutdown()
		os.RemoveAll(dir)
	}
}

// A service starts on the baseline in a key-value entry and follows it:
// an operator publishes a new one, and the verifier switches without a
// restart.
func ExampleOpenBaseline() {
	js, stop := exampleBus()
	defer stop()
	idp := jwtguardtest.NewIdP(jwtguardtest.WithClock(time.Now))
	defer idp.Close()
	baseline := func(audience string) []byte {
		return []byte("issuers:\n  - issuer: " + idp.Issuer() + "\n    jwks_url: " + idp.JWKSURL() +
			"\nalgorithms: [RS256]\nservices:\n  orders:\n    audiences: [" + audience + "]\n")
	}
	ctx := context.Background()
	if _, err := fleet.PublishBaseline(ctx, js, "baselines", "estate", baseline("orders-api")); err != nil {
		log.Fatal(err)
	}

	switched := make(chan fleet.BaselineUpdate, 8)
	// The bucket's write permission is the operators' alone, so this
	// service also follows a baseline that accepts more (a new audience).
	entry, err := fleet.OpenBaseline(ctx, js, fleet.BaselineOptions{Bucket: "baselines", Key: "estate", Service: "orders",
		AllowWeaker: true, OnUpdate: func(u fleet.BaselineUpdate) { switched <- u }})
	if err != nil {
		log.Fatal(err) // no entry, or a baseline the service would refuse
	}
	defer entry.Close()
	v, err := core.New(entry.Config(), core.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		log.Fatal(err)
	}
	defer v.Close()
	if err := entry.Follow(v); err != nil {
		log.Fatal(err)
	}

	token := idp.NewToken("alice").Audience("orders-v2").Sign()
	_, err = v.Verify(ctx, token)
	fmt.Println("before:", err)
	if _, err := fleet.PublishBaseline(ctx, js, "baselines", "estate", baseline("orders-v2")); err != nil {
		log.Fatal(err)
	}
	u := <-switched
	_, err = v.Verify(ctx, token)
	fmt.Println("after:", err, u.Revision, u.Changed)
	// Output:
	// before: jwtguard: audience_invalid: token is not for this audience
	// after: <nil> 2 true
}

// A baseline with errors is never written: the services following the
// entry could not load it.
func ExamplePublishBaseline() {
	js, stop := exampleBus()
	defer stop()
	ctx := context.Background()
	_, err := fleet.PublishBaseline(ctx, js, "baselines", "estate", []byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: https://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256, HS256]
`))
	fmt.Println(err)
	p, err := fleet.PublishBaseline(ctx, js, "baselines", "estate", []byte(`
issuers:
  - issuer: https://idp.example.com/
    jwks_url: https://idp.example.com/jwks
audiences: [orders-api]
algorithms: [RS256]
token_types: [at+jwt]
`))
	fmt.Println(p.Created, p.Revision, err)
	// Output:
	// fleet: baseline not published:
	// baseline: line 6: algorithms: "HS256" (HMAC) cannot be used with a public key set
	// true 1 <nil>
}
