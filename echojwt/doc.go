// Package echojwt protects echo routes with a [core.Verifier].
//
// A [Guard] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. Its Middleware verifies
// and puts the claims in the request context; its RequireScopes,
// RequireRoles and RequirePolicy check them. A rejection is answered with
// the verifier's RFC 6750 response, byte for byte what nethttpjwt sends,
// unless [WithErrorHandler] takes over in echo's own signature.
//
// A Guard's Middleware and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A request the Middleware skips ([WithSkipper]) carries
// no claims, and a check behind it refuses it as lacking credentials.
// [WithOptional] lets a request without credentials through without claims,
// while any token it presents is verified as usual.
//
//	g := echojwt.New(v, echojwt.WithSkipper(func(c echo.Context) bool { return c.Path() == "/healthz" }))
//	e.Use(g.Middleware)
//	e.GET("/me", func(c echo.Context) error {
//		claims, _ := echojwt.Claims(c) // or core.FromContext(c.Request().Context())
//		return c.String(http.StatusOK, claims.Subject())
//	})
//	e.DELETE("/users/:id", deleteUser, g.RequireScopes("admin"))
package echojwt
