// Package fiberjwt protects fiber (v2) routes with a [core.Verifier].
//
// A [Guard] reads the request as net/http does (every Authorization field;
// query and cookies with net/http's parsers) and leaves verification and
// the reason → status table to core, so a request gets the verdict every
// jwtguard adapter gives it, and a rejection the bytes nethttpjwt sends.
// Its Middleware puts the claims in c.UserContext() ([Claims]); its
// RequireScopes, RequireRoles and RequirePolicy check them.
//
// A Guard's Middleware and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A request the Middleware skips ([WithNext]) carries no
// claims, and a check behind it refuses it as lacking credentials.
// [WithOptional] lets a request without credentials through without claims,
// while any token it presents is verified as usual.
//
// fasthttp answers 431 by itself, before any handler, to request headers
// beyond its read buffer (4 KiB by default). Tokens up to max_token_bytes
// (8 KiB by default) need a larger one:
//
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
//	g := fiberjwt.New(v, fiberjwt.WithNext(func(c *fiber.Ctx) bool { return c.Path() == "/healthz" }))
//	app.Use(g.Middleware)
//	app.Delete("/users/:id", g.RequireScopes("admin"), deleteUser)
package fiberjwt
