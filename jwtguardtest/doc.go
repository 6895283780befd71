// Package jwtguardtest is a test kit for services that verify tokens with
// jwtguard: an identity provider on loopback, and tokens of any shape it
// signs.
//
// An [IdP] serves its JWK Set over an httptest server, mints access tokens
// with [IdP.Token] or, changed claim by claim, with [IdP.NewToken], and
// reads a fixed clock, so tokens never expire during a test. It rotates
// and removes keys, and fails or stalls its key set requests, so that a
// test can take a service through key rotation and IdP outages.
// [IdP.Config] is a baseline that trusts it, for [core.New]; with
// [WithDiscovery] the IdP serves a discovery document too, and the
// baseline is its issuer's URL with discovery alone. [Logs] keeps a
// verifier's log lines ([NewLoggedVerifier]), for tests of what a
// rejection line tells an operator.
//
//	func TestWhoami(t *testing.T) {
//		v, idp := jwtguardtest.NewTestVerifier(t)
//		srv := httptest.NewServer(nethttpjwt.Middleware(v)(whoami))
//		defer srv.Close()
//		req, _ := http.NewRequest("GET", srv.URL, nil)
//		req.Header.Set("Authorization", "Bearer "+idp.Token("alice", "read"))
//		// ...
//	}
//
// Keys are RSA 2048, P-256 or Ed25519 ([NewKey]); the IdP signs RS256
// unless [WithAlgorithm] says otherwise. Every IdP of a process starts with
// the same key of its algorithm, generated once, because RSA generation is
// slow; [IdP.Rotate] always makes a new one.
package jwtguardtest
