#!/usr/bin/env bash
# worker-build's wasm-opt (WASM_OPT_BIN in env.sh): binaryen's, run with the arguments of
# Cargo.toml's [package.metadata.wasm-pack.profile.release] wasm-opt, to which worker-build
# always appends --debuginfo. That flag writes the names section (function and data names,
# ~50 KB gzipped) whatever passes ran, --strip-debug included. So when the arguments ask
# for --strip-debug, it is dropped here and the names really go.
# SIVO_KEEP_NAMES=1 (scripts/build.sh passes it on) keeps the names section instead, for
# profiles with named wasm frames (bench/investigations/profile.mjs): the same optimised code, named.
set -euo pipefail
args=("$@")
if [[ "${SIVO_KEEP_NAMES:-}" == 1 ]]; then
  kept=()
  for b in "${args[@]}"; do
    [[ "$b" == --strip-debug ]] || kept+=("$b")
  done
  exec "$BINARYEN_WASM_OPT" "${kept[@]}"
fi
for a in "${args[@]}"; do
  if [[ "$a" == --strip-debug ]]; then
    kept=()
    for b in "${args[@]}"; do
      [[ "$b" == --debuginfo || "$b" == -g ]] || kept+=("$b")
    done
    args=("${kept[@]}")
    break
  fi
done
exec "$BINARYEN_WASM_OPT" "${args[@]}"
