// Package chiapp shows nethttpjwt on chi's router: chi mounts net/http
// middleware as it is, so a Guard's Middleware goes in r.Use and its checks
// in r.With, and no chi adapter is needed. Its Example is the README's
// quick start for chi; chi stays in the examples module, out of the root
// module's go.mod.
package chiapp
