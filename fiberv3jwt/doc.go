// Package fiberv3jwt protects fiber v3 routes with a [core.Verifier].
//
// A [Guard] reads the request as net/http does (every Authorization field;
// query and cookies with net/http's parsers) and leaves verification and
// the reason → status table to core, so a request gets the verdict every
// jwtguard adapter gives it, and a rejection the bytes nethttpjwt sends.
// Its Middleware puts the claims in c.Context() ([Claims]), so that
// core.FromContext(c.Context()) finds them, in the handler and in whatever
// it passes c.Context() to; c itself is a context.Context too, but its
// Value reads c.Locals, where the package keeps nothing. The Guard's
// RequireScopes, RequireRoles and RequirePolicy check the claims.
//
// A Guard's Middleware and checks share its options; the package-level
// functions are a Guard with default options — build one Guard when you set
// an error handler. A request the Middleware skips ([WithNext]) carries no
// claims, and a check behind it refuses it as lacking credentials.
// [WithOptional] lets a request without credentials through without claims,
// while any token it presents is verified as usual.
//
// fasthttp cannot read request headers beyond its read buffer (4 KiB by
// default), and fiber's ErrorHandler answers 431 without running the
// route. Tokens up to max_token_bytes (8 KiB by default) need a larger
// buffer. Mounted with app.Use, the Middleware still runs for such a
// request, as fiber v3 runs Use handlers on requests it refuses: it finds
// no token, so the 431 carries its challenge (or what the error handler
// set) and the verifier logs token_missing.
//
//	app := fiber.New(fiber.Config{ReadBufferSize: 16 << 10})
//	g := fiberv3jwt.New(v, fiberv3jwt.WithNext(func(c fiber.Ctx) bool { return c.Path() == "/healthz" }))
//	app.Use(g.Middleware)
//	app.Delete("/users/:id", g.RequireScopes("admin"), deleteUser)
package fiberv3jwt
