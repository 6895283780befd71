// Package ginjwt protects gin routes with a [core.Verifier].
//
// A [Guard] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. Its Middleware verifies
// and puts the claims in the request context; its RequireScopes,
// RequireRoles and RequirePolicy check them. A rejection aborts the chain
// with the verifier's RFC 6750 response, byte for byte what nethttpjwt
// sends, unless [WithErrorHandler] takes over.
//
// A Guard's Middleware and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A request the Middleware skips ([WithSkipper]) carries
// no claims, and a check behind it refuses it as lacking credentials.
// [WithOptional] lets a request without credentials through without claims,
// while any token it presents is verified as usual.
//
//	g := ginjwt.New(v, ginjwt.WithErrorHandler(problemJSON))
//	api := r.Group("/", g.Middleware)
//	api.GET("/me", func(c *gin.Context) {
//		claims, _ := ginjwt.Claims(c) // or core.FromContext(c.Request.Context())
//		c.String(http.StatusOK, claims.Subject())
//	})
//	api.DELETE("/users/:id", g.RequireScopes("admin"), deleteUser)
package ginjwt
