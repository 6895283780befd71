#!/usr/bin/env bash
# Mutation testing of the verifier: core, core/internal/jose and
# core/internal/jwks. Slow (about an hour on two busy cores), so it is not
# part of `go test work`; run it after changing a check or its tests:
#
#   bash core/mutation.sh            # gremlins, then the hand mutations
#   bash core/mutation.sh gremlins   # only gremlins
#   bash core/mutation.sh guard      # only the hand mutations
#
# MUTATION_JSON=file keeps gremlins' machine-readable report.
# MUTATION_ONLY=regexp mutates only the files (relative to core/) it
# matches, e.g. MUTATION_ONLY='^(verifier|cache|keys)\.go$'.
# core/MUTATION.md records the last score and argues every survivor.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
what=${1:-all}

tmp=$(mktemp -d)
# gremlins runs go mod download in the module root, which writes the sums
# of every workspace module's dependencies into go.work.sum: put it back.
cp go.work.sum "$tmp/go.work.sum"
trap 'cp "$tmp/go.work.sum" go.work.sum; rm -rf "$tmp"' EXIT

if [[ $what == all || $what == gremlins ]]; then
  # Pinned: a newer gremlins may generate other mutants, and the score in
  # MUTATION.md would stop being comparable.
  GOBIN=$tmp/bin GOFLAGS= go install github.com/go-gremlins/gremlins/cmd/gremlins@v0.6.0

  # gremlins tests a mutant with the tests of the mutant's own package, but
  # the checks of internal/jose and internal/jwks are exercised through
  # core's tests (a signature check is only meaningful in a verification).
  # This go, first on PATH, widens each mutant's test run (the only
  # `go test` gremlins runs with -failfast) to every package under core/,
  # without vet: a mutant is killed by a test, not by a vet complaint, nor
  # by TestMutationGuardsStillApply, which fails when a snippet the hand
  # mutations rewrite changes, whatever the change does.
  # Every other go command passes through unchanged.
  realgo=$(command -v go)
  mkdir "$tmp/shim"
  cat >"$tmp/shim/go" <<EOF
#!/usr/bin/env bash
if [[ \$1 == test && " \$* " == *" -failfast "* ]]; then
  set -- "\${@:1:\$#-1}" -vet=off -skip '^TestMutationGuardsStillApply\$' ./...
fi
exec "$realgo" "\$@"
EOF
  chmod +x "$tmp/shim/go"

  # Scope: the files that judge a token (verifier, cache, claims, keys,
  # extract, policy) and both internal packages. Left out: baseline.go,
  # config.go, errors.go and hooks.go, which parse and validate the
  # baseline at start, hold the reason table and render responses; see
  # MUTATION.md.
  # The default operators plus INVERT_LOGICAL (&& and ||), which reach
  # the shape of a check rather than its constants. Two workers for two cores; a mutant that
  # hangs (a loop that never ends) is cut at ten times the coverage run, which
  # mostly comes from the build cache while each mutant compiles afresh.
  exclude=(--exclude-files '^(baseline|config|errors|hooks)\.go$')
  if [[ -n ${MUTATION_ONLY:-} ]]; then
    while read -r f; do
      [[ $f =~ $MUTATION_ONLY ]] || exclude+=(--exclude-files "^${f//./\\.}\$")
    done < <(cd core && find . -name '*.go' ! -name '*_test.go' | sed 's|^\./||')
  fi
  start=$(date +%s)
  (cd core && PATH=$tmp/shim:$PATH "$tmp/bin/gremlins" unleash "$root/core" \
    --coverpkg ./core/... "${exclude[@]}" --invert-logical \
    --workers 2 --timeout-coefficient 10 --output "$tmp/gremlins.json")
  echo "gremlins took $(($(date +%s) - start))s"
  if [[ -n ${MUTATION_JSON:-} ]]; then cp "$tmp/gremlins.json" "$MUTATION_JSON"; fi
  if command -v jq >/dev/null; then
    # One line per mutant that was not killed, for MUTATION.md.
    jq -r '.files[] | .file_name as $f | .mutations[] | select(.status != "KILLED")
      | "\(.status) \(.type) \($f):\(.line):\(.column)"' "$tmp/gremlins.json" | sort -k3,3V
  fi
fi

if [[ $what == all || $what == guard ]]; then
  # The mutations no gremlins operator makes (a removed call, a loosened
  # string comparison), and gremlins' survivors killed by a later test,
  # each applied with go test -overlay: every one must make its named tests
  # fail. The table is mutationGuards in core/mutation_guards_test.go, the
  # runner core/mutation_guard_apply_test.go.
  go test -tags mutationguard -run '^TestMutationGuards$' -count=1 -v ./core/ | grep -E '^(=== RUN|--- |    |ok|FAIL|PASS)'
fi
