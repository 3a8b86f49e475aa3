#!/usr/bin/env bash
# The property tests of consent-core (crates/consent-core/tests/*.rs) at length:
# PROPTEST_CASES cases per property (default 1,000,000; a plain `cargo test` runs 2,000),
# in a release build, JOBS properties at a time (default 2), each one's time printed as it
# ends, then the total. Ignored properties (known bugs, see their reasons) are not run.
#
#   scripts/proptest-long.sh                           # every property, a million cases
#   PROPTEST_CASES=100000 scripts/proptest-long.sh     # a tenth of that
#   scripts/proptest-long.sh csp_                      # only properties whose name has csp_
#
# The same run in one command, without the per-property times:
#   PROPTEST_CASES=1000000 cargo test -p consent-core --release --test '*' -- --test-threads=2
set -euo pipefail
cd "$(dirname "$0")/.."
export PROPTEST_CASES="${PROPTEST_CASES:-1000000}"
jobs="${JOBS:-2}"
filter="${1:-}"

build_log=$(mktemp)
cargo test -p consent-core --release --test '*' --no-run 2>&1 | tee "$build_log" >&2
# One binary per test file: "Executable tests/gate.rs (target/release/deps/gate-…)".
mapfile -t binaries < <(sed -n 's/^ *Executable tests\/.*(\(.*\))$/\1/p' "$build_log")
rm -f "$build_log"
if [ "${#binaries[@]}" -eq 0 ]; then
    echo "proptest-long: no test binary was built" >&2
    exit 1
fi
# cargo test runs integration tests from the package: the regressions files are relative to it.
root=$PWD
cd crates/consent-core

# "<binary> <property>" for every property not ignored whose name has the filter.
list() { "$1" --list "${@:2}" 2>/dev/null | sed -n 's/: test$//p' | sort; }
names=()
for binary in "${binaries[@]}"; do
    binary="$root/$binary"
    while IFS= read -r name; do
        names+=("$binary $name")
    done < <(comm -23 <(list "$binary") <(list "$binary" --ignored) | grep -F -- "$filter" || true)
done
if [ "${#names[@]}" -eq 0 ]; then
    echo "proptest-long: no property matches '$filter'" >&2
    exit 1
fi

logs=$(mktemp -d)
echo "${#names[@]} properties, $PROPTEST_CASES cases each, $jobs at a time"
start=$(date +%s%N)
run_one() {
    local binary=${1% *} name=${1##* } logs=$2 t0 ms result=ok
    t0=$(date +%s%N)
    "$binary" --exact "$name" --test-threads=1 >"$logs/$name.log" 2>&1 || result=FAILED
    ms=$((($(date +%s%N) - t0) / 1000000))
    printf '%8d.%01d s  %-6s %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$result" "$name" |
        tee -a "$logs/summary"
}
export -f run_one
printf '%s\n' "${names[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$logs"
ms=$((($(date +%s%N) - start) / 1000000))

failed=$(grep -c ' FAILED ' "$logs/summary" || true)
for name in $(sed -n 's/.* FAILED *//p' "$logs/summary"); do
    echo "---- $name"
    cat "$logs/$name.log"
done
printf 'total: %d.%01d s for %d properties of %s cases; %d failed\n' \
    $((ms / 1000)) $((ms % 1000 / 100)) "${#names[@]}" "$PROPTEST_CASES" "$failed"
rm -rf "$logs"
[ "$failed" -eq 0 ]
