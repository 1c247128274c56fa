#!/usr/bin/env bash
# Installs kad's dependencies, builds it and runs every test: type-check of the tests, unit tests, then the
# integration tests (root, network namespaces, real peers, the UML kernel for IPVS). Prints
# 'N passed, N failed' as its last line.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || exit 1
npm run typecheck:test || exit 1

out=$(mktemp -d)
status=0
npx mocha --config .mocharc.json --reporter dot 'test/**/*.spec.ts' 2>&1 | tee "$out/unit.txt"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
npx mocha --config .mocharc.int.json --reporter dot 'test/**/*.int.ts' 2>&1 | tee "$out/int.txt"; [ "${PIPESTATUS[0]}" -eq 0 ] || status=1

count() { grep -hoE "^ +[0-9]+ $1" "$out"/*.txt | awk '{s+=$1} END {print s+0}'; }
passed=$(count passing); failed=$(count failing); skipped=$(count pending)
# leftovers are failures too: every test cleans up its namespaces
left=$(ip netns list 2>/dev/null | grep -c '^kad-' || true)
if [ "$left" -gt 0 ]; then echo "leftover namespaces: $(ip netns list | grep '^kad-' | tr '\n' ' ')"; status=1; fi
rm -rf "$out"
echo "${passed} passed, ${failed} failed, ${skipped} skipped"
exit $status
