// Package grpcjwt protects gRPC servers with a [core.Verifier].
//
// The interceptors take the token from the authorization metadata (two
// values are refused, like two Authorization headers) and leave
// verification and the reason → status table to core, so a call gets the
// verdict every jwtguard adapter gives: Unauthenticated, PermissionDenied
// or InvalidArgument, with core's generic message. Claims reach handlers
// through the call context ([Claims], or core.FromContext).
//
//	open := grpcjwt.WithExempt("grpc.health.v1.Health")
//	srv := grpc.NewServer(
//		grpc.ChainUnaryInterceptor(grpcjwt.UnaryServerInterceptor(v, open), grpcjwt.UnaryRequireScopes(v, "read")),
//		grpc.ChainStreamInterceptor(grpcjwt.StreamServerInterceptor(v, open), grpcjwt.StreamRequireScopes(v, "read")))
//
// With go-grpc-middleware v2, [AuthFunc] goes into its auth interceptor and
// its selector does the exempting:
//
//	protected := selector.MatchFunc(func(_ context.Context, c interceptors.CallMeta) bool { return c.Service != "grpc.health.v1.Health" })
//	grpc.ChainUnaryInterceptor(selector.UnaryServerInterceptor(auth.UnaryServerInterceptor(grpcjwt.AuthFunc(v)), protected))
//
// The module requires grpc v1.85, and so Go 1.26 as grpc does; the other
// jwtguard modules ask for neither.
package grpcjwt
