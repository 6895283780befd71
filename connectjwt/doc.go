// Package connectjwt protects Connect handlers (connectrpc.com/connect)
// with a [core.Verifier].
//
// A [Guard]'s interceptor takes the token from the Authorization header
// (two are refused) of unary and streaming calls and leaves verification
// and the reason → code table to core, so a call gets the verdict every
// jwtguard adapter gives: unauthenticated, permission_denied,
// invalid_argument or unavailable (Connect's codes are gRPC's, by number),
// with core's generic message and, except over the gRPC protocol, the RFC
// 6750 challenge in the error's metadata: the WWW-Authenticate header of a
// Connect unary call's 401, 403 or 400. Claims reach handlers through the
// call context ([Claims], or core.FromContext); the Guard's RequireScopes,
// RequireRoles and RequirePolicy interceptors check them. In a client, the
// interceptors do nothing.
//
// A Guard's interceptor and checks share its options; the package-level
// functions are a Guard with default options. A call [WithExempt] exempts
// carries no claims, and a check behind it refuses it as lacking
// credentials, as a skipped HTTP request is. [WithOptional] lets a call
// without credentials through without claims, while any token it presents
// is verified as usual.
//
//	g := connectjwt.New(v, connectjwt.WithExempt("grpc.health.v1.Health"))
//	authenticated := connect.WithInterceptors(g.Interceptor())
//	mux.Handle(ordersv1connect.NewOrdersServiceHandler(orders, authenticated,
//		connect.WithInterceptors(g.RequireScopes("orders"))))
//	mux.Handle(grpchealth.NewHandler(checker, authenticated))
//
// [Guard.Gate] authenticates as the interceptor does, as a request gate
// (connect.WithRequestGate): before the request message is read.
//
// The module requires connect v1.21, and so Go 1.26 as connect does.
package connectjwt
