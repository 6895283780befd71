// Package fiberjwt protects fiber (v2) routes with a [core.Verifier].
//
// [Middleware] reads the request as net/http does (every Authorization
// field; query and cookies with net/http's parsers) and leaves verification
// and the reason → status table to core, so a request gets the verdict
// every jwtguard adapter gives it, and a rejection the bytes nethttpjwt
// sends. Claims reach handlers through c.UserContext() ([Claims]).
//
// fasthttp answers 431 by itself, before any handler, to request headers
// beyond its read buffer (4 KiB by default). Tokens up to max_token_bytes
// (8 KiB by default) need a larger one:
//
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
//	app.Use(fiberjwt.Middleware(v, fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Path() == "/healthz" })))
//	app.Delete("/users/:id", fiberjwt.RequireScopes(v, "admin"), deleteUser)
package fiberjwt
