package core_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// mutationGuard is one hand-made mutation of a check that no operator of
// the mutation tool makes (a removed call, a loosened string comparison),
// with the tests that must fail when it is applied. core/mutation.sh
// applies each one (TestMutationGuards, under the mutationguard build tag);
// TestMutationGuardsStillApply keeps the table in step with the code and
// with MUTATION.md.
type mutationGuard struct {
	check string // the rule, as MUTATION.md names it
	file  string // relative to core/
	from  string // occurs exactly once in file
	to    string
	// killers are "package:-run pattern", the package relative to core/.
	killers []string
}

var mutationGuards = []mutationGuard{
	// Mutants gremlins reported as lived or not covered, killed by a test
	// written after that run: applied here so that the kill is checked,
	// not assumed. The check names their position in that run.
	{
		check:   "gremlins verifier.go:256:8, d2 starts at 1",
		file:    "verifier.go",
		from:    "d2 := -1\n",
		to:      "d2 := 1\n",
		killers: []string{".:^TestMalformedDetail$/^one_dot_after_one_character$"},
	},
	{
		check:   "gremlins verifier.go:258:51, a dot right after the first one is not found",
		file:    "verifier.go",
		from:    "if i := strings.IndexByte(token[d1+1:], '.'); i >= 0 {",
		to:      "if i := strings.IndexByte(token[d1+1:], '.'); i > 0 {",
		killers: []string{".:^TestMalformedDetail$/^empty_payload$"},
	},
	{
		check:   "gremlins verifier.go:262:8, an empty header passes the split",
		file:    "verifier.go",
		from:    "if d1 <= 0 || d2 < 0 ||",
		to:      "if d1 < 0 || d2 < 0 ||",
		killers: []string{".:^TestMalformedDetail$/^empty_header$"},
	},
	{
		check:   "gremlins verifier.go:262:13, d1 <= 0 && d2 < 0",
		file:    "verifier.go",
		from:    "if d1 <= 0 || d2 < 0 ||",
		to:      "if d1 <= 0 && d2 < 0 ||",
		killers: []string{".:^TestMalformedDetail$/^empty_header$"},
	},
	{
		check:   "gremlins verifier.go:262:63, a dot right after the second one is not found",
		file:    "verifier.go",
		from:    "strings.IndexByte(token[d2+1:], '.') >= 0 {",
		to:      "strings.IndexByte(token[d2+1:], '.') > 0 {",
		killers: []string{".:^TestMalformedDetail$/^empty_third_and_fourth_segments$"},
	},
	{
		check: "gremlins verifier.go:639:9, any other audience in an array matches",
		file:  "verifier.go",
		from:  "if a == want {",
		to:    "if a != want {",
		killers: []string{
			".:^TestVerify$/^audience_array_without_ours$",
			"../conformance:^TestCacheOnAndOff$/^aud-array-without-ours$",
		},
	},
	{
		check:   "gremlins internal/jose/json.go:38:13, skipSpace skips nothing",
		file:    "internal/jose/json.go",
		from:    "for it.pos < len(it.data) {",
		to:      "for it.pos >= len(it.data) {",
		killers: []string{".:^TestVerify$/^JSON_whitespace_everywhere$"},
	},
	{
		check:   "gremlins internal/jose/json.go:41:10 (not covered), skipSpace steps back",
		file:    "internal/jose/json.go",
		from:    "case ' ', '\\t', '\\n', '\\r':\n\t\t\tit.pos++",
		to:      "case ' ', '\\t', '\\n', '\\r':\n\t\t\tit.pos--",
		killers: []string{".:^TestVerify$/^JSON_whitespace_everywhere$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:375:18 (not covered), a 200 at start taken for a 304",
		file:    "internal/jwks/remote.go",
		from:    "case err == nil && res.notModified && old == nil:",
		to:      "case (err == nil || res.notModified) && old == nil:",
		killers: []string{".:^TestKeyLifecycleRemoval$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:375:37 (not covered), any fetch at start refused",
		file:    "internal/jwks/remote.go",
		from:    "case err == nil && res.notModified && old == nil:",
		to:      "case err == nil && res.notModified || old == nil:",
		killers: []string{".:^TestKeyLifecycleRemoval$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:375:44 (not covered), a 304 with a held set refused",
		file:    "internal/jwks/remote.go",
		from:    "case err == nil && res.notModified && old == nil:",
		to:      "case err == nil && res.notModified && old != nil:",
		killers: []string{".:^TestKeyLifecycleETag$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:377:11 (not covered), a 304 never applied",
		file:    "internal/jwks/remote.go",
		from:    "case err == nil && res.notModified:",
		to:      "case err != nil && res.notModified:",
		killers: []string{".:^TestKeyLifecycleETag$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:377:18 (not covered), every answer taken for a 304",
		file:    "internal/jwks/remote.go",
		from:    "case err == nil && res.notModified:",
		to:      "case err == nil || res.notModified:",
		killers: []string{".:^TestKeyLifecycleRemoval$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:386:11 (not covered), a 200 never applied",
		file:    "internal/jwks/remote.go",
		from:    "\tcase err == nil:\n",
		to:      "\tcase err != nil:\n",
		killers: []string{".:^TestKeyLifecycleRemoval$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:467:26, a hook that returns logged as panicking",
		file:    "internal/jwks/remote.go",
		from:    "if r := recover(); r != nil {",
		to:      "if r := recover(); r == nil {",
		killers: []string{".:^TestKeyLifecycleStatsAndHooks$"},
	},
	{
		check:   "gremlins internal/jwks/remote.go:561:30, max-age capped at 15 hours",
		file:    "internal/jwks/remote.go",
		from:    "int64(365*24*time.Hour/time.Second)",
		to:      "int64(365/24*time.Hour/time.Second)",
		killers: []string{".:^TestKeyLifecycleLongMaxAge$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:83:11 (not covered), Serves with a kid",
		file:    "internal/jwks/set.go",
		from:    "case kid != \"\":",
		to:      "case kid == \"\":",
		killers: []string{".:^TestKeyLifecycleCacheHitNeedsItsKey$/^same_keys_fetched_again$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:85:18 (not covered), Serves without a kid",
		file:    "internal/jwks/set.go",
		from:    "case len(s.all) == 1:",
		to:      "case len(s.all) != 1:",
		killers: []string{".:^TestKeyLifecycleCacheHitNeedsItsKey$/^a_second_key_beside_the_only_one$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:150:12, duplicate kids kept",
		file:    "internal/jwks/set.go",
		from:    "if k.KID != \"\" && seen[k.KID] {",
		to:      "if k.KID == \"\" && seen[k.KID] {",
		killers: []string{"internal/jwks:^TestParseLimits$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:179:16 (not covered), only oct keys used",
		file:    "internal/jwks/set.go",
		from:    "case head.Kty == \"oct\":",
		to:      "case head.Kty != \"oct\":",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:183:16 (not covered), keys without use refused",
		file:    "internal/jwks/set.go",
		from:    "case head.Use != \"\" && head.Use != \"sig\":",
		to:      "case head.Use == \"\" && head.Use != \"sig\":",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:183:22 (not covered), use joined by or",
		file:    "internal/jwks/set.go",
		from:    "case head.Use != \"\" && head.Use != \"sig\":",
		to:      "case head.Use != \"\" || head.Use != \"sig\":",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:183:34 (not covered), use sig refused",
		file:    "internal/jwks/set.go",
		from:    "case head.Use != \"\" && head.Use != \"sig\":",
		to:      "case head.Use != \"\" && head.Use == \"sig\":",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:186:19 (not covered), keys without key_ops refused",
		file:    "internal/jwks/set.go",
		from:    "case head.KeyOps != nil && !slices.Contains(head.KeyOps, \"verify\"):",
		to:      "case head.KeyOps == nil && !slices.Contains(head.KeyOps, \"verify\"):",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:186:26 (not covered), key_ops joined by or",
		file:    "internal/jwks/set.go",
		from:    "case head.KeyOps != nil && !slices.Contains(head.KeyOps, \"verify\"):",
		to:      "case head.KeyOps != nil || !slices.Contains(head.KeyOps, \"verify\"):",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:189:16 (not covered), keys without alg refused",
		file:    "internal/jwks/set.go",
		from:    "case head.Alg != \"\" && !algs[head.Alg]:",
		to:      "case head.Alg == \"\" && !algs[head.Alg]:",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins internal/jwks/set.go:189:22 (not covered), alg joined by or",
		file:    "internal/jwks/set.go",
		from:    "case head.Alg != \"\" && !algs[head.Alg]:",
		to:      "case head.Alg != \"\" || !algs[head.Alg]:",
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins extract.go:76:13 (not covered), one token counts as two",
		file:    "extract.go",
		from:    "case found > 1:",
		to:      "case found >= 1:",
		killers: []string{".:^TestExtract$/^bearer$"},
	},
	{
		check:   "gremlins extract.go:76:13 (not covered), two tokens count as one",
		file:    "extract.go",
		from:    "case found > 1:",
		to:      "case found <= 1:",
		killers: []string{".:^TestExtract$/^bearer$"},
	},
	{
		check:   "gremlins extract.go:78:13 (not covered), a found token counts as none",
		file:    "extract.go",
		from:    "case found == 0 || token == \"\":",
		to:      "case found != 0 || token == \"\":",
		killers: []string{".:^TestExtract$/^bearer$"},
	},
	{
		check:   "gremlins extract.go:78:18 (not covered), an empty token passes",
		file:    "extract.go",
		from:    "case found == 0 || token == \"\":",
		to:      "case found == 0 && token == \"\":",
		killers: []string{".:^TestExtract$/^empty_query_token$"},
	},
	{
		check:   "gremlins extract.go:78:27 (not covered), a non-empty token counts as none",
		file:    "extract.go",
		from:    "case found == 0 || token == \"\":",
		to:      "case found == 0 || token != \"\":",
		killers: []string{".:^TestExtract$/^bearer$"},
	},
	{
		check:   "gremlins keys.go:25:19 (not covered), jwks_file case negated",
		file:    "keys.go",
		from:    `case is.JWKSFile != "":`,
		to:      `case is.JWKSFile == "":`,
		killers: []string{".:^TestJWKSFile$", ".:^TestJWKSInlineSkipsBadKeys$"},
	},
	{
		check:   "gremlins keys.go:33:21 (not covered), jwks_inline case negated",
		file:    "keys.go",
		from:    `case is.JWKSInline != "":`,
		to:      `case is.JWKSInline == "":`,
		killers: []string{".:^TestJWKSInlineSkipsBadKeys$"},
	},

	{
		check: "alg allowlist compared by prefix",
		file:  "verifier.go",
		from:  "m := v.methods[h.alg]\n",
		to: "m := v.methods[h.alg]\n" +
			"\tfor name, alg := range v.methods {\n\t\tif strings.HasPrefix(h.alg, name) {\n\t\t\tm = alg\n\t\t}\n\t}\n",
		killers: []string{
			".:^TestVerify$/^alg_with_a_suffix,_key_without_JWK_alg$",
			"../conformance:^TestCacheOnAndOff$/^alg-suffix-key-without-alg$",
		},
	},
	{
		check: "alg allowlist compared case-insensitively",
		file:  "verifier.go",
		from:  "m := v.methods[h.alg]\n",
		to: "m := v.methods[h.alg]\n" +
			"\tfor name, alg := range v.methods {\n\t\tif strings.EqualFold(h.alg, name) {\n\t\t\tm = alg\n\t\t}\n\t}\n",
		killers: []string{
			".:^TestVerify$/^alg_case-changed_Eddsa,_key_without_JWK_alg$",
			".:^TestVerify$/^alg_case-changed_rs256$",
			"../conformance:^TestCacheOnAndOff$/^alg-eddsa-case-changed$",
			"../conformance:^TestCacheOnAndOff$/^alg-lowercase-key-without-alg$",
		},
	},
	{
		check: "key type fit not checked",
		file:  "verifier.go",
		from:  "if !method.Fits(k.Pub) {",
		to:    "if false {",
		killers: []string{
			".:^TestVerify$/^EdDSA_under_an_RSA_kid$",
			"../conformance:^TestCacheOnAndOff$/^kid-eddsa-under-rsa-key$",
		},
	},
	{
		check: "EdDSA fits any key type",
		file:  "internal/jose/key.go",
		from:  "_, ok := pub.(ed25519.PublicKey)\n\t\treturn ok",
		to:    "return true",
		killers: []string{
			".:^TestVerify$/^EdDSA_under_an_RSA_kid$",
			".:^TestVerify$/^EdDSA_under_an_EC_kid$",
		},
	},
	{
		check: "signature not checked",
		file:  "verifier.go",
		from:  "if method.Verify(token[:d2], sig, key.Pub) != nil {",
		to:    "if method.Verify(token[:d2], sig, key.Pub) != nil && false {",
		killers: []string{
			".:^TestVerify$/^tampered_payload$",
			"../conformance:^TestCacheOnAndOff$/^sig-tampered-payload$",
		},
	},
	{
		check: "ECDSA signature also accepted in DER form",
		file:  "internal/jose/sig.go",
		from:  "if !ok || len(sig) != 2*a.size {",
		to: "if ok && len(sig) != 2*a.size {\n" +
			"\t\t\tvar buf [64]byte\n\t\t\tif ecdsa.VerifyASN1(k, a.digest(msg, &buf), sig) {\n\t\t\t\treturn nil\n\t\t\t}\n\t\t}\n" +
			"\t\tif !ok || len(sig) != 2*a.size {",
		killers: []string{
			".:^TestVerify$/^ES256_signature_in_ASN.1_DER_form$",
			"../conformance:^TestCacheOnAndOff$/^sig-ecdsa-asn1$",
		},
	},
	{
		check: "crit not refused",
		file:  "verifier.go",
		from:  `return newError(ReasonHeaderInvalid, "crit names an unsupported extension")`,
		to:    `_ = newError(ReasonHeaderInvalid, "crit names an unsupported extension")`,
		killers: []string{
			".:^TestVerify$/^crit_present$",
			"../conformance:^TestCacheOnAndOff$/^crit-unknown-extension$",
		},
	},
	{
		check: "b64 not read",
		file:  "verifier.go",
		from:  `case "b64":`,
		to:    `case "b64 (ignored)":`,
		killers: []string{
			".:^TestVerify$/^b64_false_without_crit$",
			"../conformance:^TestCacheOnAndOff$/^b64-false-without-crit$",
		},
	},
	{
		check: "audience compared case-insensitively",
		file:  "verifier.go",
		from:  "if c.audN == nil && c.aud1 == want {",
		to:    "if c.audN == nil && strings.EqualFold(c.aud1, want) {",
		killers: []string{
			".:^TestVerify$/^audience_case_changed$",
			"../conformance:^TestCacheOnAndOff$/^aud-case-changed$",
		},
	},
	{
		check:   "client_id not compared with the audiences",
		file:    "verifier.go",
		from:    "if !slices.Contains(v.audiences, c.clientID) {",
		to:      "if !slices.Contains(v.audiences, c.clientID) && false {",
		killers: []string{".:^TestAudienceClaim$/^client_id_of_another_client$", ".:^ExampleConfig_audienceClaim$"},
	},
	{
		check:   "a missing client_id passes",
		file:    "verifier.go",
		from:    "if !c.hasClientID {",
		to:      "if false {",
		killers: []string{".:^TestAudienceClaim$/^client_id_missing$"},
	},
	{
		check:   "an aud beside client_id not checked",
		file:    "verifier.go",
		from:    "if !c.hasAud {",
		to:      "if true {",
		killers: []string{".:^TestAudienceClaim$/^aud_of_another_service$", ".:^TestAudienceClaim$/^aud_empty_string$"},
	},
	{
		check:   "a non-string client_id taken as absent",
		file:    "verifier.go",
		from:    "bad, c.hasClientID = !ok, ok",
		to:      "bad, c.hasClientID = false, ok",
		killers: []string{".:^TestAudienceClaim$/^client_id_a_number$"},
	},
	{
		check: "cache hit skips the time checks",
		file:  "verifier.go",
		from:  "} else if err := v.checkTimes(c, now); err != nil {",
		to:    "} else if err := (*Error)(nil); err != nil {",
		killers: []string{
			".:^TestCacheRechecksTimesWhenTheClockStepsBack$",
			"../conformance:^TestCacheOnAndOff$/^nbf-after-clock-stepped-back$",
		},
	},
	{
		check: "cache hit skips the served-key guard",
		file:  "verifier.go",
		from:  "if !v.stillServed(c, now) {",
		to:    "if false {",
		killers: []string{
			".:^TestKeyLifecycleCacheHitNeedsItsKey$",
			".:^TestCacheDropsRemovedKeys$",
			"../conformance:^TestCacheOnAndOff$/^rotation-removed-key-after-acceptance$",
		},
	},
	{
		check:   "served-key guard ignores the JWK alg",
		file:    "internal/jwks/set.go",
		from:    "cur.Thumbprint == thumbprint && cur.Alg == alg",
		to:      "cur.Thumbprint == thumbprint",
		killers: []string{".:^TestKeyLifecycleCacheHitNeedsItsKey$/^its_JWK_alg_changed$"},
	},
	{
		check:   "key set fingerprint ignores the JWK alg",
		file:    "internal/jwks/set.go",
		from:    `k.KID+"="+k.Thumbprint+"/"+k.Alg`,
		to:      `k.KID+"="+k.Thumbprint`,
		killers: []string{".:^TestKeyLifecycleCacheHitNeedsItsKey$/^its_JWK_alg_changed$"},
	},
	{
		check: "negative kid cache never expires",
		file:  "internal/jwks/remote.go",
		from:  "if now.Before(until) {",
		to:    "if _ = until; true {",
		killers: []string{
			".:^TestKeyLifecycleNegativeKIDExpires$",
			"internal/jwks:^TestNegativeKIDCacheBounded$",
		},
	},
	{
		check:   "https-to-http redirect followed by the transport not refused",
		file:    "internal/jwks/remote.go",
		from:    `if strings.HasPrefix(url, "https:") && resp.Request != nil && resp.Request.URL.Scheme != "https" {`,
		to:      `if false {`,
		killers: []string{".:^TestKeyLifecycleRedirectToHTTPRefused$/^the_transport_follows$"},
	},
}

// TestMutationGuardsStillApply fails when a refactor moves the code a hand
// mutation rewrites, or when MUTATION.md stops listing a guard: either
// way, the table must be brought up to date with the check.
func TestMutationGuardsStillApply(t *testing.T) {
	doc, err := os.ReadFile("MUTATION.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range mutationGuards {
		src, err := os.ReadFile(filepath.FromSlash(g.file))
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(src), g.from); n != 1 {
			t.Errorf("%s: the code it mutates occurs %d times in %s, want once", g.check, n, g.file)
		}
		if !strings.Contains(string(doc), "| "+g.check+" |") {
			t.Errorf("%s: not in MUTATION.md's table of hand mutations", g.check)
		}
		if len(g.killers) == 0 {
			t.Errorf("%s: no test named to kill it", g.check)
		}
	}
}
