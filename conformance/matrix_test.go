package conformance

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite MATRIX.md from the cases")

// TestMatrix keeps MATRIX.md equal to what the cases say.
func TestMatrix(t *testing.T) {
	got := matrix()
	if *update {
		if err := os.WriteFile("MATRIX.md", got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile("MATRIX.md")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("MATRIX.md is stale: run go generate ./conformance")
	}
}

// grpcNames are the google.golang.org/grpc/codes names of the codes core's
// reason table uses.
var grpcNames = map[int]string{0: "OK", 3: "InvalidArgument", 7: "PermissionDenied", 14: "Unavailable", 16: "Unauthenticated"}

func matrix() []byte {
	// Build the requests once to see which need a URL query.
	e := newEnv(matrixKeys(), nil)
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
		"(a skipper, fiber's Next, a gRPC exemption); they run for every harness that declares `Skips`.\n")
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
	return b.Bytes()
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }
