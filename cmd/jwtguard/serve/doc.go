// Package serve is `jwtguard serve`: the verdict of a [core.Verifier] for
// any gateway, so that services behind nginx, Traefik, Caddy or Envoy get
// the verdict every jwtguard adapter gives.
//
// A [Server] answers HTTP forward-auth at [AuthPath] (nginx auth_request,
// Traefik forwardAuth, Caddy forward_auth, Envoy ext_authz in HTTP mode)
// and Envoy's ext_authz over gRPC ([Server.Check]). It holds no
// verification logic: the token goes to [core.Verifier.Authenticate], the
// route's requirements to [core.Verifier.Authorize], a rejection is
// [core.Verifier.Response] (the same status, WWW-Authenticate and body as
// every adapter), and an acceptance carries the verified identity as
// headers for the gateway to copy upstream: [HeaderSubject],
// [HeaderIssuer], [HeaderScopes], [HeaderClaims] and the claim headers of
// the [Policy]. The original method and URI the gateway forwards choose
// the route only; they never take part in authentication.
//
//	policy, err := serve.LoadPolicy("policy.yaml")
//	if err != nil {
//		log.Fatal(err) // names the key and its line
//	}
//	s, err := serve.New(v, policy, serve.WithLogger(logger))
//	if err != nil {
//		log.Fatal(err)
//	}
//	g := grpc.NewServer()
//	s.RegisterGRPC(g) // ext_authz and grpc.health.v1
//	log.Fatal(http.ListenAndServe("127.0.0.1:8081", s))
package serve
