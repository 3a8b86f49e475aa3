#!/usr/bin/env bash
# Sets up what is missing, then runs every test the project has:
#   lints (fmt, clippy host + wasm32, actionlint) -> domain unit and property tests -> release build ->
#   the worker in workerd with real KV and D1 and a loopback origin -> Chromium against
#   wrangler dev -> the load test's and the benchmark's quick modes -> scripts/deploy.sh (dry runs,
#   faults, a stub wrangler).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/setup.sh" --test
cd "$ROOT"

say "cargo fmt --check"
cargo fmt --all -- --check || die "cargo fmt: run 'cargo fmt --all'"
say "cargo clippy (host)"
cargo clippy --workspace --all-targets -q -- -D warnings
say "cargo clippy (wasm32)"
cargo clippy --workspace --target wasm32-unknown-unknown -q -- -D warnings

say "actionlint (.github/workflows)"
"$ACTIONLINT_BIN" -no-color .github/workflows/*.yml || die "actionlint found a problem in .github/workflows"

say "domain tests (cargo test)"
cargo test --workspace -q

say "release build"
scripts/build.sh

node_test() { node --test --test-concurrency=1 --test-timeout=120000 --test-reporter=spec "$@"; }
say "the worker in workerd (miniflare, real local KV, loopback origin)"
node_test tests/workerd/*.test.mjs
say "the browser (Chromium, wrangler dev, demo site)"
node_test tests/browser/*.test.mjs

say "load test, quick mode (mixed traffic in workerd; every record checked; memory flat)"
node tests/load/load.mjs --quick > /dev/null || die "the load test found a 5xx, a wrong answer, a lost record or memory growth (test-artifacts/load/load-quick.md)"

say "benchmark, quick mode (keeps it from rotting; no timing is asserted; its output check must pass)"
node bench/run.mjs --quick > /dev/null

say "the deploy script (scripts/deploy.sh --dry-run for production and staging; each configuration fault; a stub wrangler and a loopback host)"
node_test tests/deploy/*.test.mjs

say "all tests passed"
