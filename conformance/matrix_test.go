package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite MATRIX.md and vectors.json from the cases")

// TestMatrix keeps MATRIX.md and vectors.json equal to what the cases say,
// byte for byte: the vectors' signatures are deterministic (see
// jwtguardtest.Key), so a stale file is one whose cases, keys or tokens
// changed.
func TestMatrix(t *testing.T) {
	vec, err := vectors()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		name string
		data []byte
	}{{"MATRIX.md", matrix()}, {"vectors.json", vec}} {
		if *update {
			if err := os.WriteFile(f.name, f.data, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(f.name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(f.data, want) {
			t.Errorf("%s is stale: run go generate ./conformance", f.name)
		}
	}
}

// grpcNames are the google.golang.org/grpc/codes names of the codes core's
// reason table uses.
var grpcNames = map[int]string{0: "OK", 3: "InvalidArgument", 7: "PermissionDenied", 14: "Unavailable", 16: "Unauthenticated"}

func matrix() []byte {
	// Build the requests once to see which need a URL query.
	e := newEnv(matrixKeys(), standardSet)
	defer e.idp.Close()
	query := map[string]bool{}
	for _, c := range cases {
		if c.request != nil {
			query[c.name] = len(c.request(e).Query) > 0
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Conformance matrix\n\n")
	fmt.Fprintf(&b, "<!-- Generated from cases.go by `go generate ./conformance`; do not edit. -->\n\n")
	fmt.Fprintf(&b, "The %d cases that `conformance.Run` sends through every adapter, one request each. ", len(cases))
	b.WriteString("An adapter passes a case when the client sees the verdict (RFC 6750 error code, HTTP status, gRPC code) " +
		"and the verifier logs the reason given here, and when a rejection's status, `WWW-Authenticate` and body are " +
		"exactly the ones core builds.\n\n")
	b.WriteString("Unless a case says otherwise, the baseline trusts the issuer `" + issuer + "` with its JWKS " +
		"(`rsa-1` RSA with alg RS256, `rsa-noalg` the same key without alg, `ec-1` P-256 with alg ES256, " +
		"`ed-1` Ed25519 without alg, `enc-1` an RSA key with use enc, `oct-1` a symmetric key), " +
		"the audience `" + audience + "`, the algorithms ES256, EdDSA, PS256 and RS256, and 60s of leeway. " +
		"Tokens are RS256 under `rsa-1` with typ `at+jwt`, for subject `alice`, valid for an hour from a fixed clock.\n\n" +
		"Cases marked † send a URL query; a transport without one (gRPC) skips them. " +
		"The cases of *" + gSkipped + "* are sent to `SkipPath`, a route the adapter's middleware skips " +
		"(a skipper, fiber's Next, a gRPC exemption); they run for every harness that declares `Skips`. " +
		"The cases of *" + gOptional + "* run behind the adapter's optional authentication (`WithOptional`); " +
		"they run for every harness that declares `Optional`. " +
		"The cases of *" + gProviders + "* carry tokens shaped as each IdP issues them, header and claims (but the kid, `rsa-1`), " +
		"under the baseline a service behind that IdP writes: the README's *Configure for your IdP* table, made from the same cases.\n")
	for _, g := range groups {
		fmt.Fprintf(&b, "\n## %s\n\n", g)
		b.WriteString("| Case | Rule | Source | Verdict | HTTP | gRPC | Reason |\n")
		b.WriteString("|---|---|---|---|---|---|---|\n")
		for _, c := range cases {
			if c.group != g {
				continue
			}
			status, code, reason := 200, 0, "-"
			if c.reason != "" {
				info := c.reason.Info()
				status, code, reason = info.HTTPStatus, info.GRPCCode, "`"+string(c.reason)+"`"
			}
			mark := ""
			if query[c.name] {
				mark = " †"
			}
			fmt.Fprintf(&b, "| `%s`%s | %s | %s | %s | %d | %s | %s |\n",
				c.name, mark, cell(c.explanation), cell(c.source), c.want, status, grpcNames[code], reason)
		}
	}
	b.WriteString("\n## Against a served target\n\n" +
		"`jwtguard conformance run` (`Target.Run`) sends a running service, in any language, every case but these, " +
		"which need what a request from outside cannot give; over gRPC it leaves out the cases marked † too. " +
		"It signs the tokens with the keys of the IdP that `jwtguard conformance serve-idp` (`ServeIdP`) serves, " +
		"whose issuer is its own URL.\n\n| Case | Why not |\n|---|---|\n")
	for i := range cases {
		if why := servedSkip(&cases[i]); why != "" {
			fmt.Fprintf(&b, "| `%s` | %s |\n", cases[i].name, cell(why))
		}
	}
	b.WriteString(vectorsDoc)
	return b.Bytes()
}

// vectorsDoc documents vectors.json in MATRIX.md.
const vectorsDoc = `
## vectors.json

[` + "`vectors.json`" + `](vectors.json) is the matrix as data, for the test suite of a verifier in any language. Its ` + "`schema`" + ` is ` + "`" + vectorSchema + "`" + `; a change a consumer must know about gets a new version. The keys are derived from a fixed seed (keys.go) and every signature is deterministic (RS256 and EdDSA are; ES256 signs as RFC 6979 specifies, PS256 with a salt derived from the key and the input), so the file is the same on every run and a test fails when it is stale. The keys are public: never trust them outside a test.

- ` + "`key_sets`" + `: JWK Sets, public keys only, by name; ` + "`standard`" + ` is the key set above, the others name how they differ from it.
- ` + "`cases`" + `, in the order of this file, each with:
  - ` + "`name`, `group`, `rule`, `source`" + `: as in the tables above.
  - ` + "`baseline`" + `: ` + "`issuer`" + `, ` + "`tenants`" + ` (when not empty, ` + "`issuer`" + ` is a template holding ` + "`{tenant}`" + ` as one path segment, and a token's iss must be it filled with one of the tenants, its ` + "`tid`" + `, when present, the same tenant), ` + "`audiences`, `audience_claim`" + ` (` + "`aud`" + `: a token's aud must name one of the audiences; ` + "`client_id`" + `: its client_id must, a string, and is required, and an aud it carries too must name one of them), ` + "`algorithms`, `leeway_seconds`, `required_claims`, `token_types`" + ` (empty: typ is not checked), ` + "`refuse_id_tokens`" + ` (a token carrying ` + "`nonce`, `at_hash` or `c_hash`" + ` is refused), ` + "`insecure_skip_audience`" + ` (aud is not checked), ` + "`max_token_bytes`, `query_parameter`" + ` (the query parameter that may carry the token; empty: none), and ` + "`unknown_kid_interval_seconds`" + ` and ` + "`max_stale_seconds`" + `, the key set lifecycle the steps rely on.
  - ` + "`jwks`" + `: the name of the key set the issuer's JWKS URL serves when the verifier starts; null when it answers 503 from the start.
  - ` + "`now`" + `: the verifier's clock when it starts, in Unix seconds.
  - ` + "`steps`" + ` (absent when none): what happens after the verifier starts, in order. ` + "`verify`" + `: the verifier accepts ` + "`token`" + ` (` + "`expect`" + ` is accept). ` + "`jwks`" + `: the JWKS URL serves the key set named ` + "`jwks`" + ` from now on. ` + "`jwks_fails`" + `: it answers 503 from now on. ` + "`advance`" + `: the clock moves ` + "`seconds`" + ` on. ` + "`refresh`" + `: the verifier fetches the key set again.
  - ` + "`route`" + `: what the endpoint requires beyond a valid token. ` + "`scopes`" + `: every one of them; ` + "`policy`" + `: ` + "`{\"claim\", \"equals\"}`" + `, the claim must equal the value; ` + "`roles`" + `: a list of ` + "`{\"claim\", \"roles\"}`" + `, each a claim that must hold every one of the roles: an array of strings, a string (one role) or an object whose keys are the roles; ` + "`claim`" + ` is a path, its names joined by ` + "`.`" + `, and a name may itself hold ` + "`.`" + ` or ` + "`:`" + ` (the whole remaining path is tried as a name first, then its prefixes up to a ` + "`.`" + `, longest first); ` + "`skipped`" + `: the middleware skips the route, so a check behind it refuses as lacking credentials; ` + "`optional`" + `: a request without credentials passes, without claims, while any token is judged as usual.
  - ` + "`token`" + `, to send as ` + "`Authorization: Bearer <token>`" + `; or ` + "`request`" + `, with ` + "`headers`" + ` (name to values; each value is a field of its own) and ` + "`query`" + ` (name to values).
  - ` + "`expected`" + `: ` + "`verdict`" + ` (accept, no_credentials, invalid_token, invalid_request, insufficient_scope or unavailable), ` + "`reason`" + ` (jwtguard's, for reference), ` + "`http_status`, `bearer_error`" + ` (the error of the Bearer challenge; absent: none), ` + "`scope`" + ` (of an insufficient_scope challenge), ` + "`grpc_code`" + `, and on acceptance ` + "`subject`" + `, the sub the endpoint sees (empty on a skipped route).
`

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
