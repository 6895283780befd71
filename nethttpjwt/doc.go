// Package nethttpjwt protects net/http handlers with a [core.Verifier].
//
// A [Guard] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. Its Middleware verifies
// and puts the claims in the request context; its RequireScopes,
// RequireRoles and RequirePolicy check them. A rejection is answered with
// the verifier's RFC 6750 response unless [WithErrorHandler] takes over.
//
// A Guard's Middleware and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A request the Middleware skips ([WithSkipper]) carries
// no claims, and a check behind it refuses it as lacking credentials.
// [WithOptional] lets a request without credentials through without claims,
// while any token it presents is verified as usual.
//
//	g := nethttpjwt.New(v, nethttpjwt.WithErrorHandler(problemJSON))
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := nethttpjwt.Claims(r) // or core.FromContext(r.Context())
//		fmt.Fprintln(w, claims.Subject())
//	})
//	mux.Handle("DELETE /users/{id}", g.RequireScopes("admin")(deleteUser))
//	log.Fatal(http.ListenAndServe(":8080", g.Middleware(mux)))
package nethttpjwt
