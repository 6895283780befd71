// Package nethttpjwt protects net/http handlers with a [core.Verifier].
//
// [Middleware] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. A rejection is answered
// with the verifier's RFC 6750 response unless [WithErrorHandler] takes
// over; verified claims reach the handler through the request context.
//
//	mux := http.NewServeMux()
//	mux.HandleFunc("GET /me", func(w http.ResponseWriter, r *http.Request) {
//		claims, _ := nethttpjwt.Claims(r) // or core.FromContext(r.Context())
//		fmt.Fprintln(w, claims.Subject())
//	})
//	mux.Handle("DELETE /users/{id}", nethttpjwt.RequireScopes(v, "admin")(deleteUser))
//	log.Fatal(http.ListenAndServe(":8080", nethttpjwt.Middleware(v)(mux)))
package nethttpjwt
