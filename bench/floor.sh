#!/usr/bin/env bash
# Verify against the signature floor, in instructions per operation:
# callgrind counts instructions, so the ratio does not move with the load
# of a shared machine the way ns/op does. Needs valgrind (Debian: valgrind).
#
#   bash bench/floor.sh
#
# Each benchmark runs at 20 and at 120 iterations; the difference over 100
# is the cost of one operation, setup (key generation, signing) cancelled.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(mktemp -d)/core.test
trap 'rm -rf "$(dirname "$bin")"' EXIT
go test -c -o "$bin" ./core/

# cpu.rdtscp=off: valgrind 3.19 cannot decode RDTSCP, which the runtime's
# cputicks uses on CPUs that have it; the program would die of SIGILL.
count() { # bench pattern, iterations, function to count inside
  GODEBUG=asyncpreemptoff=1,cpu.rdtscp=off GOMAXPROCS=1 valgrind --tool=callgrind --callgrind-out-file=/dev/null \
    --toggle-collect="$3" "$bin" -test.run '^$' -test.bench "$1" -test.benchtime "$2x" 2>&1 |
    awk '/Collected/ {print $4}'
}

printf '%-6s %14s %14s %7s\n' alg verify floor ratio
# The floor's check is the closure floorCheck returns (func1 RS256, func2
# ES256, func3 EdDSA); Verify is counted whole.
for pair in RS256:func1 ES256:func2 EdDSA:func3; do
  alg=${pair%%:*} fn=${pair##*:}
  v20=$(count "^BenchmarkVerify\$/^$alg\$" 20 '*Verifier).Verify')
  v120=$(count "^BenchmarkVerify\$/^$alg\$" 120 '*Verifier).Verify')
  f20=$(count "^BenchmarkSignatureFloor\$/^$alg\$" 20 "*floorCheck.$fn")
  f120=$(count "^BenchmarkSignatureFloor\$/^$alg\$" 120 "*floorCheck.$fn")
  awk -v a="$alg" -v v=$(( (v120 - v20) / 100 )) -v f=$(( (f120 - f20) / 100 )) \
    'BEGIN { printf "%-6s %14d %14d %6.3fx\n", a, v, f, v / f }'
done
