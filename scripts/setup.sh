#!/usr/bin/env bash
# Installs everything a clean machine lacks to build, run and test the project: Debian packages,
# npm dependencies, the Go-built test control plane and code-server. Idempotent; safe to re-run.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(socat stunnel4 python3-qpid-proton util-linux iproute2 openssl)
if [ -f scripts/ui/install.sh ]; then
  apt_packages+=(chromium libkrb5-dev libsecret-1-dev libxkbfile-dev libx11-dev ripgrep python3 make g++ pkg-config)
fi
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
fi

if [ -f test/cluster/build-controlplane.sh ]; then
  echo "setup: test control plane binary"
  bash test/cluster/build-controlplane.sh
fi

if [ -f scripts/ui/install.sh ]; then
  echo "setup: code-server"
  bash scripts/ui/install.sh
fi
echo "setup: done"
