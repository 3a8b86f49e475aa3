#!/usr/bin/env bash
# The project's pinned wrangler on Node 22, for the operator's commands (README "Deploying"):
#   scripts/wrangler.sh secret put AUDIT_LOG_KEY --env production < file
#   scripts/wrangler.sh rollback --env production
#   scripts/wrangler.sh tail --env production --format json
# The system's Node may be too old for wrangler (it needs 22.12); `npx wrangler` would fail.
# Unlike the other scripts it keeps a person's terminal interactive: scripts/env.sh's CI=true is
# dropped unless the caller set CI, so wrangler's confirmations are asked, not answered.
set -euo pipefail
caller_ci="${CI:-}"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ -z "$caller_ci" || "$caller_ci" == false || "$caller_ci" == 0 ]]; then unset CI; else export CI="$caller_ci"; fi
[[ -x "$ROOT/node_modules/.bin/wrangler" ]] && node --version >/dev/null 2>&1 \
  || die "wrangler or Node 22 is missing: run scripts/setup.sh first"
exec "$ROOT/node_modules/.bin/wrangler" "$@"
