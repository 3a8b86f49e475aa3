#!/usr/bin/env bash
# Deploys the worker to one environment, or checks offline that it could. README "Deploying"
# is its manual; `scripts/deploy.sh --help` the summary.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: scripts/deploy.sh [--env staging|production] [--dry-run] [--percentage N] [options]

Deploys the worker to one environment (default: staging), step by step:
  1. sets up what is missing (Node 22, wrangler, the Rust toolchain: scripts/setup.sh);
  2. checks wrangler.toml for the environment: no placeholder id, no wrangler warning, the
     required secrets declared, every var set, ORIGIN_URL a real origin, D1 in the EU,
     invocation logs off;
  --dry-run stops after 3. bundling the worker offline (wrangler deploy --dry-run); nothing
     is sent anywhere. Otherwise:
  4. checks every required secret is set (wrangler secret list) and, if one is not, prints
     the commands that generate it, keep a copy and put it, and stops;
  5. finds the D1 database by name (creating it in the EU jurisdiction if missing) and names
     the KV namespace; 6. applies the D1 migrations remotely;
  7. uploads a version named by the commit (wrangler versions upload --message <sha>) and
     deploys it, to N% of traffic with --percentage N (the rest stays on the live version);
  8. smoke-tests every host of the environment against the new version: health "ok" with
     that commit, a page carrying the Consent Mode defaults and the settings link, not the
     demo site. On failure it prints the rollback command and exits 1.

Options:
  --env NAME          staging or production (any [env.NAME] of the config)   default: staging
  --dry-run           offline checks and bundle only
  --percentage N      send N% (1-100) of traffic to the new version           default: 100
  --smoke-url URL     smoke-test URL instead of https://<host> for each route (repeatable)
  --config FILE       the wrangler config                                     default: wrangler.toml
  --yes               do not ask before creating, migrating and deploying
  --allow-dirty       deploy although tracked files have uncommitted changes
  -h, --help          this text

A person's terminal stays interactive: wrangler and this script ask before a remote D1
migration, creating the database and deploying. With CI set (GitHub Actions sets CI=true)
or --yes, nothing is asked. Needs CLOUDFLARE_API_TOKEN (and CLOUDFLARE_ACCOUNT_ID) or
`wrangler login` for everything but --dry-run.
EOF
}

# Whether the caller is a CI job: read before env.sh, which sets CI=true for the other scripts.
caller_ci="${CI:-}"
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
if [[ -z "$caller_ci" || "$caller_ci" == false || "$caller_ci" == 0 ]]; then
  unset CI
  unattended=false
else
  export CI="$caller_ci"
  unattended=true
fi
cd "$ROOT"

env_name=staging dry_run=false percentage=100 config=wrangler.toml yes=false allow_dirty=false
smoke_urls=()
while (($#)); do
  case "$1" in
    --env) env_name="${2:?--env needs a name}"; shift ;;
    --env=*) env_name="${1#--env=}" ;;
    --dry-run) dry_run=true ;;
    --percentage) percentage="${2:?--percentage needs a number}"; shift ;;
    --smoke-url) smoke_urls+=("${2:?--smoke-url needs a URL}"); shift ;;
    --config) config="${2:?--config needs a file}"; shift ;;
    --yes | -y) yes=true ;;
    --allow-dirty) allow_dirty=true ;;
    -h | --help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
  shift
done
[[ "$percentage" =~ ^[0-9]+$ ]] && ((percentage >= 1 && percentage <= 100)) || die "--percentage must be 1-100, not $percentage"
[[ -f "$config" ]] || die "no wrangler config at $config"

# The wrangler to run: the pinned one (SIVO_WRANGLER lets the tests put a stub in its place).
WRANGLER="${SIVO_WRANGLER:-wrangler}"
w() { "$WRANGLER" "$@" --env "$env_name" --config "$config"; }
interactive() { ! $unattended && ! $yes && [[ -t 0 ]]; }
confirm() {
  if interactive; then
    local answer
    read -r -p "$1 [y/N] " answer
    [[ "$answer" == [yY]* ]] || die "stopped: nothing more was done"
  elif ! $unattended && ! $yes; then
    die "$1: no terminal to ask on; pass --yes (or run with CI=true)"
  fi
}
json() { node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>{const j=JSON.parse(s);$1})"; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

say "1. setting up what is missing (scripts/setup.sh)"
"$ROOT/scripts/setup.sh"

say "2. checking $config for [env.$env_name]"
facts="$(node scripts/lib/deploy-config.mjs --env "$env_name" --config "$config")" \
  || die "the configuration cannot be deployed: fix each problem above"
eval "$facts"
say "   worker $cfg_worker on ${cfg_hosts[*]}; D1 $cfg_d1_name ($cfg_d1_jurisdiction); KV $cfg_kv_title"

if $dry_run; then
  say "3. bundling offline (wrangler deploy --dry-run --env $env_name)"
  out="$ROOT/.wrangler/dry-run/$env_name"
  rm -rf "$out"
  # No banner: it is what would ask the npm registry for a newer wrangler.
  if ! WRANGLER_HIDE_BANNER=true "$WRANGLER" deploy --dry-run --env "$env_name" --config "$config" --outdir "$out" >"$work/dry-run.log" 2>&1; then
    cat "$work/dry-run.log" >&2
    die "wrangler deploy --dry-run failed"
  fi
  if grep -q "WARNING\|ERROR" "$work/dry-run.log"; then
    cat "$work/dry-run.log" >&2
    die "wrangler warned while bundling: fix each warning above"
  fi
  grep "Total Upload" "$work/dry-run.log" >&2 || die "wrangler printed no upload size: the bundle was not made"
  say "dry run passed for $env_name: the configuration is complete and the worker bundles (nothing was sent)"
  exit 0
fi

say "3. the commit to deploy"
sha="$(git rev-parse HEAD)" || die "not a git checkout: the version is named by its commit"
if [[ -n "$(git status --porcelain --untracked-files=no)" ]]; then
  if $allow_dirty; then
    say "   tracked files have uncommitted changes: the version is named $sha but differs from it"
  elif interactive; then
    confirm "Tracked files have uncommitted changes, so the version named $sha is not that commit. Deploy anyway?"
  else
    die "tracked files have uncommitted changes: commit them (the version is named by the commit) or pass --allow-dirty"
  fi
fi
say "   $sha ($(git log -1 --format=%s | cut -c1-72))"

say "4. checking the secrets of $cfg_worker (wrangler secret list)"
if w secret list --format json >"$work/secrets.json" 2>"$work/secrets.err"; then
  mapfile -t present < <(json 'for (const s of j) console.log(s.name)' <"$work/secrets.json")
elif grep -qi "not found" "$work/secrets.err"; then
  present=()   # no Worker yet: `wrangler secret put` creates it (a draft with no route)
else
  cat "$work/secrets.err" >&2
  die "wrangler secret list failed (logged in? CLOUDFLARE_API_TOKEN set?)"
fi
missing=()
for name in "${cfg_required_secrets[@]}"; do
  [[ " ${present[*]} " == *" $name "* ]] || missing+=("$name")
done
if ((${#missing[@]})); then
  {
    echo
    echo "Not set for $env_name: ${missing[*]}. A secret cannot be read back from Cloudflare, so"
    echo "generate each into a private file, store that copy in the company's secret store first,"
    echo "then put it (README \"Keys: generating and rotating\" says which form each key takes):"
    echo
    for name in "${missing[@]}"; do
      file="$name.$env_name.key"
      echo "  (umask 077 && openssl rand -base64 32 > $file)"
      echo "  # store the content of $file in the secret store as \"sivo-consent $env_name $name\""
      echo "  scripts/wrangler.sh secret put $name --env $env_name < $file"
      echo "  shred -u $file"
      echo
    done
    echo "Then run scripts/deploy.sh --env $env_name again."
  } >&2
  die "required secrets are not set: ${missing[*]}"
fi
for name in "${cfg_optional_secrets[@]}"; do
  [[ " ${present[*]} " == *" $name "* ]] && say "   optional $name is set"
done
say "   ${cfg_required_secrets[*]} set"

say "5. the D1 database and the KV namespace"
w d1 list --json >"$work/d1.json" || die "wrangler d1 list failed"
d1_found="$(DB="$cfg_d1_name" json 'const d=j.find(x=>x.name===process.env.DB);if(d)console.log(`${d.uuid} ${d.jurisdiction??"-"}`)' <"$work/d1.json")"
if [[ -z "$d1_found" ]]; then
  confirm "Create the D1 database $cfg_d1_name in the EU jurisdiction?"
  w d1 create "$cfg_d1_name" --jurisdiction eu || die "wrangler d1 create $cfg_d1_name failed"
  say "   D1 $cfg_d1_name created in the EU jurisdiction"
else
  read -r d1_id d1_jurisdiction <<<"$d1_found"
  [[ "$d1_jurisdiction" == eu || "$d1_jurisdiction" == - ]] \
    || die "D1 $cfg_d1_name ($d1_id) is in jurisdiction \"$d1_jurisdiction\", not eu: a database cannot move; create a new one under another database_name and move the data"
  say "   D1 $cfg_d1_name ($d1_id)"
fi
w kv namespace list >"$work/kv.json" || die "wrangler kv namespace list failed"
kv_found="$(TITLE="$cfg_kv_title" json 'const n=j.find(x=>x.title===process.env.TITLE);if(n)console.log(n.id)' <"$work/kv.json")"
if [[ -n "$cfg_kv_id" ]]; then
  say "   KV namespace $cfg_kv_id (the id in $config)"
elif [[ -n "$kv_found" ]]; then
  say "   KV namespace $cfg_kv_title ($kv_found), kept bound by wrangler"
else
  say "   KV namespace $cfg_kv_title: none yet; wrangler creates it with the upload (KV has no jurisdiction setting)"
fi

say "6. applying the D1 migrations to $cfg_d1_name (remote)"
w d1 migrations apply CONSENT_DB --remote || die "the D1 migrations failed: nothing was uploaded or deployed"

# The live version, to share traffic with and to roll back to.
previous=""
if w deployments status --json >"$work/deployment.json" 2>/dev/null; then
  previous="$(json 'const v=[...(j.versions??[])].sort((a,b)=>b.percentage-a.percentage)[0];if(v)console.log(v.version_id)' <"$work/deployment.json")"
fi
if ((percentage < 100)); then
  previous_tag=""
  if [[ -n "$previous" ]] && w versions view "$previous" --json >"$work/previous.json" 2>/dev/null; then
    previous_tag="$(json 'console.log(j.annotations?.["workers/tag"]??"")' <"$work/previous.json")"
  fi
  if [[ -z "$previous_tag" ]]; then
    say "   no live version uploaded by this script (a first deploy, or the draft \`wrangler secret put\` made): deploying to 100%"
    percentage=100
  fi
fi

say "7. uploading and deploying $sha to $env_name (${cfg_hosts[*]}) at $percentage%"
confirm "Upload and deploy commit ${sha:0:12} to $env_name at $percentage% of traffic?"
export SIVO_VERSION="$sha"   # scripts/build.sh (wrangler's [build] command) compiles it into health
WRANGLER_OUTPUT_FILE_PATH="$work/upload.jsonl" w versions upload --message "$sha" --tag "${sha:0:12}" \
  || die "wrangler versions upload failed: nothing was deployed"
version_id="$(node -e "const e=require('fs').readFileSync(process.argv[1],'utf8').trim().split('\\n').filter(Boolean).map(l=>JSON.parse(l)).filter(e=>e.type==='version-upload').pop();if(e?.version_id)console.log(e.version_id)" "$work/upload.jsonl" 2>/dev/null || true)"
[[ -n "$version_id" ]] || die "wrangler versions upload reported no version id"
say "   version $version_id"
specs=("$version_id@$percentage")
((percentage < 100)) && specs+=("$previous@$((100 - percentage))")
w versions deploy "${specs[@]}" --yes --message "deploy $sha" || die "wrangler versions deploy failed: the live version is unchanged ($previous)"

say "8. smoke test"
((${#smoke_urls[@]})) || for host in "${cfg_hosts[@]}"; do smoke_urls+=("https://$host"); done
if ! node scripts/lib/deploy-smoke.mjs --commit "$sha" --worker "$cfg_worker" --version-id "$version_id" \
  --timeout "${SIVO_SMOKE_TIMEOUT:-90}" "${smoke_urls[@]}"; then
  if [[ -n "$previous" ]]; then
    echo "Roll back: scripts/wrangler.sh rollback $previous --env $env_name --message \"smoke test failed for ${sha:0:12}\"" >&2
    echo "(README \"Rollback\": it does not undo the D1 migrations or any KV or D1 data)" >&2
  fi
  die "the smoke test failed on $env_name: version $version_id is deployed at $percentage%"
fi
if ((percentage < 100)); then
  say "deployed ${sha:0:12} to $percentage% of $env_name; the rest stays on $previous."
  say "all traffic: scripts/wrangler.sh versions deploy $version_id@100 --env $env_name; back: scripts/wrangler.sh rollback $previous --env $env_name"
else
  say "deployed ${sha:0:12} to $env_name (version $version_id)${previous:+; the previous version was $previous}"
fi
