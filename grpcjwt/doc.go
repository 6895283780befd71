// Package grpcjwt protects gRPC servers with a [core.Verifier].
//
// A [Guard]'s interceptors take the token from the authorization metadata
// (two values are refused, like two Authorization headers) and leave
// verification and the reason → status table to core, so a call gets the
// verdict every jwtguard adapter gives: Unauthenticated, PermissionDenied,
// InvalidArgument or Unavailable, with core's generic message. Claims reach
// handlers through the call context ([Claims], or core.FromContext); the
// Guard's RequireScopes, RequireRoles and RequirePolicy interceptors check
// them.
//
// A Guard's interceptors and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A call [WithExempt] exempts carries no claims, and a
// check behind it refuses it as lacking credentials, as a skipped HTTP
// request is: put checks in front of the methods that need them only.
// [WithOptional] lets a call without credentials through without claims,
// while any token it presents is verified as usual.
//
//	g := grpcjwt.New(v, grpcjwt.WithExempt("grpc.health.v1.Health"))
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(g.UnaryServerInterceptor()),
//		grpc.ChainStreamInterceptor(g.StreamServerInterceptor()))
//
// With go-grpc-middleware v2, [Guard.AuthFunc] goes into its auth
// interceptor and its selector does the exempting:
//
//	protected := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool { return c.Service != "grpc.health.v1.Health" })
//	grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(g.AuthFunc()), protected))
//
// The module requires grpc v1.85, and so Go 1.26 as grpc does; the other
// jwtguard modules ask for neither.
package grpcjwt
