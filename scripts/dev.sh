#!/usr/bin/env bash
# Sets up what is missing, then runs the worker locally with wrangler dev on 127.0.0.1:8787,
# serving the demo site in www/ with local KV under .wrangler/state. Ctrl-C stops it.
# Extra arguments go to wrangler dev (e.g. --var ORIGIN_URL:http://127.0.0.1:9000).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
say "starting wrangler dev on http://127.0.0.1:8787 (first build about a minute)"
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false "$@"
