#!/usr/bin/env bash
# Builds the worker into build/ with worker-build (release: opt-level z, LTO, wasm-opt).
# wrangler runs this as its [build] command; SIVO_NO_OPT=1 skips wasm-opt for fast rebuilds.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
flags=(--release)
[[ "${SIVO_NO_OPT:-}" == 1 ]] && flags+=(--no-opt)
exec worker-build "${flags[@]}"
