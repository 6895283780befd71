package conformance

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/jwtguard/jwtguard/core"
)

// readmeIdPHeading opens the README section whose table providerTable
// renders.
const readmeIdPHeading = "\n## Configure for your IdP\n"

// providerTable is the README's "Configure for your IdP" table, one row per
// provider of the matrix.
func providerTable() []string {
	rows := []string{
		"| IdP | `issuer` | Audience | Access token `typ` | Scopes | Roles | Route check in the matrix | The baseline also says | Cases |",
		"|---|---|---|---|---|---|---|---|---|",
	}
	for i := range providers {
		p := &providers[i]
		lines := baselineLines(p)
		also := make([]string, 0, len(lines))
		for _, l := range lines[1:] { // audiences is a column of its own
			if l != "algorithms: [RS256]" {
				also = append(also, "`"+l+"`")
			}
		}
		also = append(also, p.setup)
		rows = append(rows, "| "+strings.Join([]string{
			p.name, issuerCell(p), "`" + lines[0] + "`", p.typ, p.scopesAt, p.rolesAt, routeCheck(p),
			strings.Join(also, "; "), caseNames(p),
		}, " | ")+" |")
	}
	for i, r := range rows {
		rows[i] = strings.ReplaceAll(r, "\n", " ")
	}
	return rows
}

// baselineLines are the provider's baseline keys beside its issuer, as
// YAML: the audience first.
func baselineLines(p *provider) []string {
	lines := []string{"audiences: [" + quoteAll([]string{p.audience}) + "]"}
	if p.audienceClaim != "" {
		lines = append(lines, "audience_claim: "+p.audienceClaim)
	}
	lines = append(lines, "algorithms: [RS256]")
	if p.refusesByClaims() {
		lines = append(lines, "refuse_id_tokens: true")
	}
	if len(p.tokenTypes) > 0 {
		lines = append(lines, "token_types: ["+quoteAll(p.tokenTypes)+"]")
	}
	if len(p.required) > 0 {
		lines = append(lines, "required_claims: ["+quoteAll(p.required)+"]")
	}
	return lines
}

// TestProviderBaselines parses the baseline the README's table gives each
// provider, as a baseline file, and requires the settings the provider's
// cases run with: the table names real keys with the matrix's values.
func TestProviderBaselines(t *testing.T) {
	for i := range providers {
		p := &providers[i]
		entry := fmt.Sprintf("  - issuer: %q\n    jwks_url: \"https://idp.example.test/jwks\"\n", p.issuer)
		if p.tenants != nil {
			entry += "    tenants: [" + quoteAll(p.tenants) + "]\n"
		}
		yaml := "issuers:\n" + entry + strings.Join(baselineLines(p), "\n") + "\n"
		got, err := core.ParseBaseline([]byte(yaml))
		if err != nil {
			t.Errorf("%s: %v\n%s", p.name, err, yaml)
			continue
		}
		want := core.Config{Issuers: []core.IssuerConfig{{}}}
		p.baseline(&want)
		if got.Issuers[0].Issuer != want.Issuers[0].Issuer || !slices.Equal(got.Issuers[0].Tenants, want.Issuers[0].Tenants) ||
			!slices.Equal(got.Audiences, want.Audiences) || got.AudienceClaim != want.AudienceClaim ||
			got.InsecureSkipAudience != want.InsecureSkipAudience || !slices.Equal(got.Algorithms, want.Algorithms) ||
			got.RefuseIDTokens != want.RefuseIDTokens || !slices.Equal(got.TokenTypes, want.TokenTypes) ||
			!slices.Equal(got.RequiredClaims, want.RequiredClaims) {
			t.Errorf("%s: the README's baseline parses to %+v, the cases run with %+v", p.name, got, want)
		}
	}
}

// issuerCell is the issuer of the provider's baseline, with its tenants
// when it is a template.
func issuerCell(p *provider) string {
	if p.tenants == nil {
		return "`" + p.issuer + "`"
	}
	return "`" + p.issuer + "` with `tenants: [" + quoteAll(p.tenants) + "]`"
}

// caseNames lists the provider's cases.
func caseNames(p *provider) string {
	var names []string
	for _, c := range p.cases() {
		names = append(names, "`"+c.name+"`")
	}
	return strings.Join(names, ", ")
}

// routeCheck is the provider's route check as Go.
func routeCheck(p *provider) string {
	if p.roles == nil {
		return "`core.RequireScopes(" + quoteAll(p.scopes) + ")`"
	}
	var checks []string
	for _, rc := range p.roles {
		checks = append(checks, "`core.RequireRoles("+quoteAll(append([]string{rc.Claim}, rc.Roles...))+")`")
	}
	return strings.Join(checks, " and ")
}

func quoteAll(list []string) string {
	q := make([]string, len(list))
	for i, s := range list {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
}

// TestReadmeProviderTable keeps the README's "Configure for your IdP" table
// equal to the provider-shape matrix, row for row; with -update
// (go generate) it rewrites the table in place.
func TestReadmeProviderTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	start := bytes.Index(data, []byte(readmeIdPHeading))
	if start < 0 {
		t.Fatalf("README.md has no %q section", strings.TrimSpace(readmeIdPHeading))
	}
	// The first table of the section: its lines, and where they are.
	lines := strings.Split(string(data[start:]), "\n")
	first, end := -1, -1
	for i, line := range lines {
		if strings.HasPrefix(line, "## ") && i > 1 {
			break
		}
		if strings.HasPrefix(line, "|") {
			if first < 0 {
				first = i
			}
			end = i + 1
		} else if first >= 0 {
			break
		}
	}
	want := providerTable()
	if *update {
		if first < 0 {
			t.Fatal("the README section has no table to rewrite")
		}
		lines = slices.Concat(lines[:first], want, lines[end:])
		out := append(data[:start:start], strings.Join(lines, "\n")...)
		if err := os.WriteFile("../README.md", out, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var got []string
	if first >= 0 {
		got = lines[first:end]
	}
	if !slices.Equal(got, want) {
		t.Errorf("the README's IdP table is stale: run go generate ./conformance; want:\n%s\ngot:\n%s",
			strings.Join(want, "\n"), strings.Join(got, "\n"))
	}
}

// TestProviderMatrix checks what the provider shapes promise: every IdP
// the matrix is said to cover has its three cases, each naming a public
// document; and each ID token is refused by the baseline's ID token
// setting alone: without it, the same token is no invalid_token.
func TestProviderMatrix(t *testing.T) {
	names := map[string]bool{}
	for _, p := range providers {
		names[p.name] = true
	}
	for _, want := range []string{"Auth0", "Auth0 (RFC 9068 profile)", "Okta", "Microsoft Entra ID (v1.0 tokens)", "Microsoft Entra ID (v2.0 tokens)",
		"Keycloak", "Amazon Cognito", "Google", "Spring Authorization Server", "ZITADEL", "Dex"} {
		if !names[want] {
			t.Errorf("no provider %s", want)
		}
	}
	keys := matrixKeys()
	for i := range providers {
		p := &providers[i]
		t.Run(p.slug, func(t *testing.T) {
			var own []*testCase
			for _, pc := range p.cases() {
				for j := range cases {
					if cases[j].name == pc.name && cases[j].group == gProviders {
						own = append(own, &cases[j])
					}
				}
			}
			if len(own) < 3 {
				t.Fatalf("%d cases, want an accepted access token, a forbidden one and a refused ID token", len(own))
			}
			for _, c := range own {
				if !strings.Contains(c.source, "https://") {
					t.Errorf("%s: source %q names no public document", c.name, c.source)
				}
			}
			id := *own[2]
			if !strings.HasSuffix(id.name, "-id-token") || id.want != InvalidToken {
				t.Fatalf("third case %s (%s), want the refused ID token", id.name, id.want)
			}
			setting := id.config
			id.config = func(c *core.Config) {
				setting(c)
				c.RefuseIDTokens, c.RequiredClaims, c.TokenTypes, c.AudienceClaim = false, nil, nil, ""
			}
			id.want, id.reason = Accept, ""
			h := goodHarness("good")
			v, _, err := runCase(keys, h, &id)
			if err != nil {
				t.Fatal(err)
			}
			if v.Outcome == InvalidToken {
				t.Errorf("without refuse_id_tokens, required_claims, token_types and audience_claim the ID token is still refused (%s): "+
					"the case does not show what the setting does", v.Reason)
			}
		})
	}
}
