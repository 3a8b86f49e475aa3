#!/usr/bin/env bash
# Sets up what is missing, then runs the worker locally with wrangler dev on 127.0.0.1:8787,
# serving the demo site in www/ with local KV and D1 under .wrangler/state (the D1 migrations
# applied first). Ctrl-C stops it.
# Extra arguments go to wrangler dev (e.g. --var ORIGIN_URL:http://127.0.0.1:9000).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
"$ROOT/scripts/setup.sh"
cd "$ROOT"
say "applying the D1 migrations to the local database (.wrangler/state)"
wrangler d1 migrations apply CONSENT_DB --local >/dev/null || die "wrangler d1 migrations apply failed"
say "starting wrangler dev on http://127.0.0.1:8787 (first build about a minute); dashboard: /_consent/admin"
say "sample traffic for the dashboard: node scripts/demo-traffic.mjs (in another terminal)"
exec wrangler dev --ip 127.0.0.1 --port "${PORT:-8787}" --show-interactive-dev-session=false "$@"
