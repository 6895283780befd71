// Package fleet keeps the replicas of a jwtguard service in step over a
// NATS bus: key set announcements, so that every replica fetches a rotated
// set within about a second; emergency revocations in a JetStream
// key-value bucket, refused with token_revoked; heartbeats that jwtguard
// fleet reads to show drift between instances and baselines; and the
// baseline itself, from a key-value entry that jwtguard publish writes
// ([OpenBaseline], [PublishBaseline]), followed as a file is followed.
//
// The bus carries hints and refusals, never keys: an announcement makes a
// verifier fetch its issuer's set itself, within its own limits
// ([core.Verifier.Hint]), and a revocation can only refuse. A baseline from
// the bus is validated in full, as a file is, and an invalid one is never
// applied. If the bus is unreachable or goes away, verification goes on
// with what is loaded.
//
//	f, err := fleet.New(fleet.Options{URL: "nats://nats:4222", Service: "orders"})
//	if err != nil {
//		return err
//	}
//	defer f.Close()
//	v, err := core.New(cfg, core.WithRevocations(f), core.WithHooks(f))
//	if err != nil {
//		return err
//	}
//	defer v.Close()
//	f.Attach(v)
//
// A service without this package behaves exactly as before.
package fleet
