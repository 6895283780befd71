// Package ginjwt protects gin routes with a [core.Verifier].
//
// [Middleware] only moves a token in and a verdict out: extraction,
// verification and the reason → status table stay in core, so a request
// gets the verdict every jwtguard adapter gives it. A rejection aborts the
// chain with the verifier's RFC 6750 response, byte for byte what
// nethttpjwt sends, unless [WithErrorHandler] takes over; verified claims
// reach handlers through the request context.
//
//	api := r.Group("/", ginjwt.Middleware(v))
//	api.GET("/me", func(c *gin.Context) {
//		claims, _ := ginjwt.Claims(c) // or core.FromContext(c.Request.Context())
//		c.String(http.StatusOK, claims.Subject())
//	})
//	api.DELETE("/users/:id", ginjwt.RequireScopes(v, "admin"), deleteUser)
package ginjwt
