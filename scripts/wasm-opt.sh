#!/usr/bin/env bash
# worker-build's wasm-opt (WASM_OPT_BIN in env.sh): binaryen's, run with the arguments of
# Cargo.toml's [package.metadata.wasm-pack.profile.release] wasm-opt, to which worker-build
# always appends --debuginfo. That flag writes the names section (function and data names,
# ~50 KB gzipped) whatever passes ran, --strip-debug included. So when the arguments ask
# for --strip-debug, it is dropped here and the names really go.
set -euo pipefail
args=("$@")
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
