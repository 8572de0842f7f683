#!/usr/bin/env bash
# Installs real VS Code (code-server, npm) and Debian's Chromium for the UI tests, into a cache folder
# outside the repository. Idempotent: each step checks its own result first. Prints where it installed.
#
#   usage: bash scripts/ui/install.sh            env: CS_VERSION (4.100.3), VAN_UI_CACHE (install dir),
#                                                     SKIP_APT=1 (skip Debian packages)
# code-server 4.100.x is the last line that runs on Node 20 (native ABI 115); 4.101+ needs Node 22.
set -euo pipefail

CS_VERSION="${CS_VERSION:-4.100.3}"
CS_DIR="${VAN_UI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vscode-skupper/code-server-$CS_VERSION}"
T0=$(date +%s)
step() { echo "=== [$(( $(date +%s) - T0 ))s] $*"; }

# node-gyp must build against local headers (no downloads)
if [ -z "${npm_config_nodedir:-}" ]; then
  for d in /usr /usr/local; do
    if [ -f "$d/include/node/node.h" ]; then export npm_config_nodedir="$d"; break; fi
  done
fi

APT_PKGS=(libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev ripgrep chromium python3 make g++ pkg-config curl)
if [ -z "${SKIP_APT:-}" ]; then
  missing=()
  for p in "${APT_PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    step "apt: ${missing[*]}"
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

STAMP="$CS_DIR/.installed"
if [ -f "$STAMP" ] && [ -x "$CS_DIR/node_modules/.bin/code-server" ]; then
  echo "code-server $CS_VERSION already installed"
else
  step "code-server $CS_VERSION (npm, install scripts off: its postinstall downloads)"
  mkdir -p "$CS_DIR"
  cd "$CS_DIR"
  [ -f package.json ] || echo '{"name":"cs-local","private":true}' > package.json
  have=$(node -p "try{require('./node_modules/code-server/package.json').version}catch(e){''}")
  [ "$have" = "$CS_VERSION" ] || npm install --no-audit --no-fund --ignore-scripts "code-server@$CS_VERSION"
  node -e "require('argon2')" 2>/dev/null || npm rebuild argon2
  node -e "require('argon2')"

  VS="$CS_DIR/node_modules/code-server/lib/vscode"
  step "lib/vscode dependencies"
  cd "$VS"
  if [ ! -f node_modules/@vscode/spdlog/package.json ] || [ ! -f node_modules/node-pty/package.json ]; then
    npm install --no-audit --no-fund --omit=dev --ignore-scripts
  fi
  NATIVE=(node-pty kerberos @parcel/watcher @vscode/spdlog native-watchdog @vscode/deviceid)
  need=()
  for m in "${NATIVE[@]}"; do node -e "require('$VS/node_modules/$m')" >/dev/null 2>&1 || need+=("$m"); done
  if [ ${#need[@]} -gt 0 ]; then step "native rebuild: ${need[*]}"; npm_config_yes=true npm rebuild "${need[@]}"; fi
  for m in "${NATIVE[@]}"; do node -e "require('$VS/node_modules/$m')"; done
  mkdir -p node_modules/@vscode/ripgrep/bin
  [ -x node_modules/@vscode/ripgrep/bin/rg ] || cp "$(command -v rg)" node_modules/@vscode/ripgrep/bin/rg
  [ -L node_modules.asar ] || { rm -rf node_modules.asar; ln -s node_modules node_modules.asar; }
  ln -sfn code-linux.sh bin/remote-cli/code-server
  ln -sfn browser-linux.sh bin/helpers/browser.sh
  step "built-in extensions' deps"
  cd "$VS/extensions"
  if [ ! -f node_modules/typescript/package.json ]; then
    npm install --no-audit --no-fund --omit=dev --ignore-scripts
    node ./postinstall.mjs >/dev/null
  fi
  date -u +%FT%TZ > "$STAMP"
fi

step "done"
echo "code-server: $CS_DIR/node_modules/.bin/code-server"
echo "chromium:    $(command -v chromium || echo MISSING)"
