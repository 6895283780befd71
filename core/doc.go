// Package core is the one JWT verifier behind every jwtguard adapter.
//
// A [Verifier] is built from a [Config], usually parsed from the baseline
// file that every service loads ([LoadBaseline]), so that every service
// gives the same verdict for the same token. It verifies RS*, PS*, ES* and
// EdDSA access tokens against each trusted issuer's own key set, and every
// rejection is one [*Error] carrying a stable [Reason], logged as one slog
// line. Authorization is separate: a [Policy] such as [RequireScopes] or
// [RequireRoles] runs on claims that were already verified.
//
//	cfg, err := core.LoadBaseline("baseline.yaml")
//	if err != nil {
//		log.Fatal(err) // names every unsafe or unknown key, with its line
//	}
//	v, err := core.New(cfg)
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer v.Close()
//	claims, err := v.Verify(ctx, token)
//	if errors.Is(err, core.ReasonTokenExpired) {
//		// ...
//	}
//
// Adapters (nethttpjwt, ginjwt, echojwt, fiberjwt, fiberv3jwt, grpcjwt,
// connectjwt) only move a token in, through [Verifier.Authenticate] (or
// [Verifier.AuthenticateOptional] on routes open to anonymous callers), and a
// verdict out, through [Verifier.Response]; they hold no verification
// logic. The fleet module keeps replicas in step through
// [WithRevocations], [WithHooks] and [Verifier.Hint]: it can refuse a
// token or prompt a key fetch, never admit.
package core
