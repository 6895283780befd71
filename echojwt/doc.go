// Package echojwt protects echo routes with a [core.Verifier].
//
// [Middleware] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. A rejection is answered
// with the verifier's RFC 6750 response, byte for byte what nethttpjwt
// sends, unless [WithErrorHandler] takes over in echo's own signature;
// verified claims reach handlers through the request context.
//
//	e.Use(echojwt.Middleware(v, echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == "/healthz" })))
//	e.GET("/me", func(c echo.Context) error {
//		claims, _ := echojwt.Claims(c) // or core.FromContext(c.Request().Context())
//		return c.String(http.StatusOK, claims.Subject())
//	})
//	e.DELETE("/users/:id", deleteUser, echojwt.RequireScopes(v, "admin"))
package echojwt
