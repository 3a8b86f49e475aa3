#!/usr/bin/env bash
# Builds the worker into build/ with worker-build (release: opt-level z, LTO, wasm-opt), then
# bundles the JavaScript entry (src/js/entry.mjs) with its glue into build/index.js.
# wrangler runs this as its [build] command. Skipped when nothing it depends on changed
# since the last build (build/.inputs-sha). SIVO_NO_OPT=1 skips wasm-opt for fast rebuilds;
# SIVO_KEEP_NAMES=1 keeps the wasm's names section (scripts/wasm-opt.sh), for profiles.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
flags=(--release)
[[ "${SIVO_NO_OPT:-}" == 1 ]] && flags+=(--no-opt)
inputs_sha="$( { echo "${flags[*]} names=${SIVO_KEEP_NAMES:-}"; find src crates -type f \( -name '*.rs' -o -name '*.mjs' \) -print0 | sort -z | xargs -0 sha256sum; sha256sum Cargo.toml Cargo.lock crates/*/Cargo.toml; } | sha256sum | cut -d' ' -f1)"
# The build stamp /_consent/health reports: the commit (SIVO_VERSION when scripts/deploy.sh
# sets it; else HEAD, with "-dirty" when tracked files differ from it) and the time of this
# build. Only the bundling step below changes with it, so it is always current.
build_stamp() {
  local commit=null
  if [[ -n "${SIVO_VERSION:-}" ]]; then
    commit="\"$SIVO_VERSION\""
  elif git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null 2>&1; then
    commit="$(git -C "$ROOT" rev-parse HEAD)"
    git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null || commit="$commit-dirty"
    commit="\"$commit\""
  fi
  printf '{"commit":%s,"builtAt":"%s"}' "$commit" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
}
if [[ -f build/index_bg.wasm && -f build/glue.js && -f build/.inputs-sha && "$(cat build/.inputs-sha)" == "$inputs_sha" ]]; then
  say "build/ is up to date; stamping $(build_stamp)"
else
  worker-build "${flags[@]}"
  # worker-build's glue, kept as build/glue.js so a rebuild of an unchanged tree only bundles.
  mv build/index.js build/glue.js
fi
# The entry (src/js/entry.mjs, and src/js/protocol.mjs, which checks the protocol it shares
# with wasm) proxies the site's pages and calls into wasm synchronously; it is bundled with
# worker-build's glue into the one module wrangler and the tests load.
cp src/js/*.mjs build/
"$ESBUILD_BIN" build/entry.mjs --bundle --format=esm --log-level=warning \
  --external:./index_bg.wasm '--external:cloudflare:*' --outfile=build/index.js \
  "--define:SIVO_BUILD=$(build_stamp)"
for module in src/js/*.mjs; do rm "build/${module##*/}"; done
echo "$inputs_sha" > build/.inputs-sha
